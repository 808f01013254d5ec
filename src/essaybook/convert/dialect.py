"""Markup of other tools: Pandoc's and Quarto's constructs (read by :mod:`essaybook.pandoc`) given their
elements, and other tools' syntax essaybook does not read named in a warning."""

from __future__ import annotations

from lxml import html

from essaybook.convert.context import Context
from essaybook.pandoc import finish_tree, report_dialects


def report(source: str, ctx: Context) -> str:
    """Warn once per kind of another tool's syntax the chapter uses (see :func:`essaybook.pandoc.report_dialects`)."""
    report_dialects(ctx.lines, ctx.display, ctx.chapter.body_line, ctx.warnings)
    return source


def pandoc_tree(root: html.HtmlElement, ctx: Context) -> None:
    """Fenced divs given their semantic element, image sizes their CSS (see :func:`essaybook.pandoc.finish_tree`)."""
    finish_tree(
        root, lambda message, near: ctx.warn(message, kind="image-size", line=ctx.attribute_line(*near.split("=", 1)))
    )
