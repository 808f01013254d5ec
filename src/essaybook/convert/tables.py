"""Tables a screen reader can read: no empty header cells."""

from __future__ import annotations

from lxml import html

from essaybook.convert.context import Context


def table_headers(root: html.HtmlElement, ctx: Context) -> None:
    """A header cell with no text is a data cell (Ace's ``empty-table-header``): a screen reader would announce
    an empty header for every cell of its column or row. A Markdown table's blank corner cell is the usual case."""
    for th in list(root.iter("th")):
        named = th.get("aria-label") or th.get("title") or any(img.get("alt") for img in th.iter("img"))
        if not th.text_content().strip() and not named:
            th.tag = "td"
            for name in ("scope", "abbr"):
                th.attrib.pop(name, None)
