"""Math (see :mod:`essaybook.mathtex`): TeX drawn as MathML and SVG in each chapter, and references to
numbered equations resolved across the book."""

from __future__ import annotations

from lxml import html

from essaybook import mathtex
from essaybook.convert.context import Context


def render(root: html.HtmlElement, ctx: Context) -> None:
    """Each equation the Markdown extension marked, as MathML (EPUB) and SVG (PDF); TeX that does not read is
    shown as written, with a warning."""
    mathtex.render(root, lambda message, tex: ctx.warn(message, kind="math", near=tex.split("\n")[0]))


def link(root: html.HtmlElement, ctx: Context) -> None:
    """References to numbered equations (``@eq:x``) get their number and a link, from every chapter's labels."""
    mathtex.link(
        root,
        mathtex.label_numbers([c.anchors for c in ctx.book.chapters]),
        lambda message, near: ctx.warn(message, kind="math-ref", near=near),
    )
