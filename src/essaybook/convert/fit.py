"""The content model: what raw HTML left outside XHTML's rules mended (see :mod:`essaybook.contentmodel`)."""

from __future__ import annotations

from lxml import html

from essaybook import contentmodel
from essaybook.convert.context import Context
from essaybook.diagnostics import Diagnostic

CONTENT_MODEL_HINT = "an EPUB's XHTML follows the HTML content model; EPUBCheck refuses it as written"


def content_model(root: html.HtmlElement, ctx: Context) -> None:
    """Mend what raw HTML left outside the XHTML content model; one warning per kind of repair, at its first place."""
    grouped: dict[str, list[contentmodel.Repair]] = {}
    for repair in contentmodel.repair(root):
        grouped.setdefault(repair.message, []).append(repair)
    for message, same in grouped.items():
        line = next((found for needle in same[0].near if (found := ctx.line_of(needle))), None)
        ctx.report(
            Diagnostic("warning", "content-model", message, ctx.display, line, CONTENT_MODEL_HINT, more=len(same) - 1)
        )
