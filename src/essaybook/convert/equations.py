"""Math (see :mod:`essaybook.mathtex`): TeX drawn as MathML and SVG in each chapter (numbered equations are
referred to like figures: :mod:`essaybook.convert.xrefs`)."""

from __future__ import annotations

from lxml import html

from essaybook import mathtex
from essaybook.convert.context import Context


def render(root: html.HtmlElement, ctx: Context) -> None:
    """Each equation the Markdown extension marked, as MathML (EPUB) and SVG (PDF); TeX that does not read is
    shown as written, with a warning."""
    mathtex.render(root, lambda message, tex: ctx.warn(message, kind="math", near=tex.split("\n")[0]))
