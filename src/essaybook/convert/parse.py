"""Markdown -> an lxml tree of the chapter's fragment (Python-Markdown with essaybook's extensions), and back
to XHTML text."""

from __future__ import annotations

from typing import Any, ClassVar

import markdown
from lxml import etree, html
from pygments.formatters import HtmlFormatter

from essaybook import citations, contentmodel, crossrefs, mathtex
from essaybook.convert import embedded
from essaybook.mdext import EssaybookExtension
from essaybook.pandoc import PandocExtension
from essaybook.text import QUOTES


class _Formatter(HtmlFormatter):  # type: ignore[misc]
    """Pygments' HTML formatter with its style tables built once per style.

    codehilite makes a new formatter for every code block, and building the tables took 0.7 ms of the 0.74 ms
    each costs: 0.7 s for the thousand blocks of a long technical book. The tables are only read afterwards.
    """

    _tables: ClassVar[dict[Any, tuple[Any, Any]]] = {}
    ttype2class: dict[Any, str]
    class2style: dict[str, Any]

    def _create_stylesheet(self) -> None:
        key = (self.style, self.classprefix)
        if key not in self._tables:
            super()._create_stylesheet()
            self._tables[key] = (self.ttype2class, self.class2style)
        else:
            self.ttype2class, self.class2style = self._tables[key]


def make_markdown(
    code_style: str = "xcode", lang: str = "en", math: bool = True, cite: tuple[bool, bool] = (False, False)
) -> markdown.Markdown:
    """The Python-Markdown instance for chapters in ``lang`` (reset between chapters); ``math``: TeX between
    dollars is math (:mod:`essaybook.mathtex`), else plain text; ``cite``: (a bibliography is set, its style is a
    note style) for :mod:`essaybook.citations`."""
    quotes = QUOTES.get(lang.split("-")[0].lower(), {})
    md = markdown.Markdown(
        extensions=[
            "footnotes",
            "tables",
            "fenced_code",
            "codehilite",
            "attr_list",
            "def_list",
            "abbr",
            "admonition",
            "smarty",
            "md_in_html",
            "sane_lists",
            EssaybookExtension(),
            PandocExtension(),
            *([mathtex.MathExtension()] if math else []),
            crossrefs.CrossrefExtension(),
            citations.CitationExtension(*cite),
        ],
        extension_configs={
            "footnotes": {"SEPARATOR": "-", "BACKLINK_TEXT": "\u21a9", "BACKLINK_TITLE": "Back to note %d"},
            "codehilite": {
                "guess_lang": False,
                "css_class": "codehilite",
                "pygments_style": code_style,
                "pygments_formatter": _Formatter,
            },
            "smarty": {"substitutions": quotes},
        },
        output_format="xhtml",
    )
    md.preprocessors.register(embedded.SvgBlocks(md), "essaybook-svg", 30)  # before essaybook's own custom tags
    md.block_level_elements.append("svg")  # a drawing on its own lines is not put in a <p>
    return md


def parse(converted: str) -> html.HtmlElement:
    """Python-Markdown's output as the children of one ``<div>`` (void elements out of places they cannot be)."""
    if not converted.strip():
        return html.fragment_fromstring("<div></div>")
    root = html.fragment_fromstring(converted, create_parent="div")
    contentmodel.hoist_void(root)
    return root


def serialize(root: html.HtmlElement) -> str:
    """The fragment under ``root`` as XHTML text (text before its first element escaped)."""
    text = "".join(str(etree.tostring(child, encoding="unicode", method="xml", with_tail=True)) for child in root)
    if root.text and root.text.strip():
        text = _escape(root.text) + text
    return text


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
