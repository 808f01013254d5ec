"""A layout document's HTML parsed for WeasyPrint with lxml's C parser instead of WeasyPrint's own.

WeasyPrint always parses with tinyhtml5, a pure-Python HTML5 parser: 1.6 s of CPU time for the Rust book's
layout units, paid again on every re-layout (notes, figures) and skeleton. The documents essaybook lays out
are its own serialisations (layout/units.py, compose.py), so libxml2's HTML parser, through lxml, reads them
into the same tree in a tenth of the time, given corrections for where HTML5's tree construction differs (a
newline after ``<pre>``, ``<tr>`` outside a row group, white space after ``</body>``) and a fallback to
WeasyPrint's parser for what it does not share (foreign SVG and MathML content, HTML5-only void and raw-text
elements, entities beyond XML's, text straight inside tables, nesting past libxml2's limit). The test suite
compares the two trees for every document it lays out (conftest.parsed_as_weasyprint_parses).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from lxml import etree
from lxml import html as lxml_html

if TYPE_CHECKING:
    from weasyprint import HTML

_FALLBACK = re.compile(
    r"<(?:svg|math|wbr|source|track|template|noscript|script|textarea|xmp|plaintext|iframe|noembed|noframes"
    r"|select|frameset|frame|image|keygen|menuitem|base|isindex)[\s/>]"
    r"|&(?!(?:amp|lt|gt|quot|nbsp|#[0-9]+|#[xX][0-9a-fA-F]+);)|\x00",
    re.IGNORECASE,
)
"""What libxml2 reads otherwise than HTML5: those documents go to WeasyPrint's own parser."""
_NEWLINE_DROPPED = frozenset({"pre", "listing"})
"""HTML5 drops a newline right after these start tags; libxml2 keeps it."""
_TABLE_PARTS = frozenset({"table", "thead", "tbody", "tfoot", "tr"})


def tree(text: str) -> ET.Element | None:
    """``text`` parsed as tinyhtml5 (with ``namespace_html_elements=False``) parses it, or None when it holds
    something this parser does not read the same way."""
    if _FALLBACK.search(text):
        return None
    try:
        converted = _convert(lxml_html.document_fromstring(text, parser=_PARSER))
    except (ValueError, etree.LxmlError):  # WeasyPrint's parser then reads it (and reports what it finds)
        return None
    end = _END.search(text)
    return _html_level(converted, end.group(1) if end else "")


_END = re.compile(r"</html\s*>(\s*)\Z", re.IGNORECASE)


def _html_level(html: ET.Element, trailing: str) -> ET.Element | None:
    """HTML5's placing of the white space around ``<head>`` and ``<body>``: none before the head, what follows
    the body (inside ``<html>`` or after it, ``trailing``, which libxml2 drops) at the body's end; None for
    anything else there."""
    children = list(html)
    if [child.tag for child in children] != ["head", "body"] or (html.text or "").strip():
        return None
    body = children[1]
    after = (body.tail or "") + (html.tail or "") + trailing
    if after.strip():
        return None
    html.text = body.tail = html.tail = None
    if after:
        if len(body):
            body[-1].tail = (body[-1].tail or "") + after
        else:
            body.text = (body.text or "") + after
    return html


_PARSER = lxml_html.HTMLParser(remove_comments=False, remove_pis=False, recover=True)


_DEPTH = 240
"""Deeper documents go to WeasyPrint's parser: libxml2 flattens everything nested past 255 levels."""


def _convert(source: Any, depth: int = 0) -> ET.Element:
    """An lxml element as an ElementTree one, with HTML5's row groups and dropped newlines."""
    if depth > _DEPTH:
        raise ValueError("nested too deeply for libxml2")
    tag = source.tag
    element: Any
    if tag is etree.Comment:
        element = ET.Comment(source.text)
    elif isinstance(tag, str):
        element = ET.Element(tag, dict(source.attrib))
        text = source.text
        if tag in _NEWLINE_DROPPED and text and text.startswith("\n"):
            text = text[1:] or None
        element.text = text
        for child in source:
            element.append(_convert(child, depth + 1))
        if tag in _TABLE_PARTS and (
            (element.text or "").strip() or any((child.tail or "").strip() for child in element)
        ):
            raise ValueError("text straight inside a table, which HTML5 moves before it")
        if tag == "table":
            _row_groups(element)
    else:  # a processing instruction or an entity: not in essaybook's own documents
        raise ValueError(f"unexpected node {tag!r}")
    element.tail = source.tail
    return element  # type: ignore[no-any-return]


def _row_groups(table: ET.Element) -> None:
    """Every run of ``<tr>`` straight inside ``table`` wrapped in a ``<tbody>``, as HTML5 implies one."""
    children = list(table)
    if not any(child.tag == "tr" for child in children):
        return
    for child in children:
        table.remove(child)
    group: ET.Element | None = None
    for child in children:
        if child.tag == "tr" or (group is not None and not isinstance(child.tag, str)):  # a comment in the group
            if group is None:
                group = ET.SubElement(table, "tbody")
            group.append(child)
        else:
            group = None
            table.append(child)


def weasyprint_html(text: str, base_url: str, fetcher: Any) -> HTML:
    """``weasyprint.HTML(string=text, ...)`` for print, parsed by :func:`tree` where it can be."""
    import cssselect2
    from weasyprint import HTML

    parsed = tree(text)
    if parsed is None:
        return HTML(string=text, base_url=base_url, url_fetcher=fetcher, media_type="print")
    # WeasyPrint takes no parsed tree: an empty document is made, and the tree its render() reads is replaced
    # (the base URL stays: _FALLBACK sends a document with a <base> to WeasyPrint's parser).
    page = HTML(string="<html></html>", base_url=base_url, url_fetcher=fetcher, media_type="print")
    page.wrapper_element = cssselect2.ElementWrapper.from_html_root(parsed, content_language=None)
    page.etree_element = page.wrapper_element.etree_element
    return page
