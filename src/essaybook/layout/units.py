"""The print document cut into layout units: one WeasyPrint document per chapter or display page.

The frame (the templated print HTML with each chapter's content left out as a placeholder comment) is parsed
as the HTML parser WeasyPrint itself uses parses it (layout/parse.py). Every element of ``<body>`` that holds
a chapter's placeholder is a chapter unit; every other element beside the chapters (cover, title pages, the
printed contents) is a unit of its own; the wrappers around them (front and body matter, which name their
pages) are kept around each unit. Units begin on a new page in the book layout (pages.css breaks before every
chapter and after every display page); :mod:`essaybook.layout.book` checks that this holds.
"""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import tinycss2
import tinyhtml5

from essaybook.compose import ANCHOR_SCHEME, PAGE_PLACEHOLDER, PLACEHOLDER
from essaybook.layout import parse

_VOID = frozenset(
    "area base br col embed hr img input link meta param source track wbr basefont bgsound frame keygen".split()
)
_RAW = frozenset({"script", "style", "xmp", "iframe", "noembed", "noframes", "plaintext", "noscript"})
_NAMESPACES = {
    "http://www.w3.org/1999/xlink": "xlink",
    "http://www.w3.org/XML/1998/namespace": "xml",
    "http://www.w3.org/2000/xmlns/": "xmlns",
}
_UNIT_ID = "essaybook-unit-"
_MARGIN_BOXES = frozenset(
    (
        "top-left-corner top-left top-center top-right top-right-corner right-top right-middle right-bottom "
        "bottom-right-corner bottom-right bottom-center bottom-left bottom-left-corner left-bottom left-middle left-top"
    ).split()
)
UNIT_CSS = (
    "/* essaybook: folios and running heads are drawn once the page numbers are known (layout/book.py); the\n"
    "   units' stylesheets are read without their margin boxes (units.without_margin_boxes). */\n"
    "@page { marks: none !important; }\n"
)
"""Injected into every unit: the page furniture is left to the skeleton document."""


_NESTING = frozenset({"media", "supports", "layer", "document"})
"""At-rules whose block holds rules (and so may hold ``@page`` rules)."""


def without_margin_boxes(css: str) -> str:
    """``css`` without the margin boxes of its ``@page`` rules (``@top-center { ... }``), also inside
    ``@media``, ``@supports`` and ``@layer``; everything else as written.

    A unit is laid out without page furniture. WeasyPrint (70) computes the style of every margin box a sheet
    declares on every page, drawn or not: with none declared, a unit lays out about 2 % faster. A sheet with a
    parse error where this rewrites it is returned as it is (WeasyPrint then reports the error as always).
    """

    def rules(parsed: list[Any]) -> str:
        out = []
        for rule in parsed:
            if rule.type == "error":
                raise ValueError(rule.message)
            if rule.type == "at-rule" and rule.content is not None and rule.lower_at_keyword == "page":
                kept = []
                for item in tinycss2.parse_blocks_contents(rule.content):
                    if item.type == "error":
                        raise ValueError(item.message)
                    if item.type == "at-rule" and item.lower_at_keyword in _MARGIN_BOXES:
                        continue
                    kept.append(item.serialize() + (";" if item.type == "declaration" else ""))
                out.append(f"@{rule.at_keyword}{tinycss2.serialize(rule.prelude)}{{{''.join(kept)}}}")
            elif rule.type == "at-rule" and rule.content is not None and rule.lower_at_keyword in _NESTING:
                inner = rules(tinycss2.parse_rule_list(rule.content))
                out.append(f"@{rule.at_keyword}{tinycss2.serialize(rule.prelude)}{{{inner}}}")
            else:
                out.append(rule.serialize())
        return "".join(out)

    if "@" not in css:
        return css
    try:
        return rules(tinycss2.parse_stylesheet(css))
    except Exception:  # a parse error, or a node tinycss2 cannot serialise: only a saving is lost, never a rule
        return css


TARGET_COUNTER = re.compile(r"target-counter\(\s*attr\(\s*href(?:\s+url)?\s*\)\s*,\s*page\s*(?:,\s*([\w-]+)\s*)?\)")
"""``target-counter(attr(href url), page[, style])``: in a unit, replaced by the page number written in."""


def _escape(text: str, attribute: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("\u00a0", "&nbsp;")
    if attribute:
        return text.replace('"', "&quot;")
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag


def _attribute_name(name: str) -> str:
    if name.startswith("{"):
        namespace, local = name[1:].split("}", 1)
        prefix = _NAMESPACES.get(namespace)
        return f"{prefix}:{local}" if prefix else local
    return name


def serialize(element: ET.Element, out: list[str]) -> None:
    """HTML serialization of a tree parsed by tinyhtml5 (which the same parser reads back identically)."""
    tag = element.tag
    if not isinstance(tag, str):  # a comment (processing instructions do not survive HTML parsing)
        out.append(f"<!--{element.text or ''}-->")
        out.append(_escape(element.tail or ""))
        return
    name = _name(tag)
    out.append("<" + name)
    for key, value in element.attrib.items():
        out.append(f' {_attribute_name(key)}="{_escape(value, True)}"')
    out.append(">")
    if name in _VOID and not tag.startswith("{"):
        out.append(_escape(element.tail or ""))
        return
    text = element.text or ""
    if name in ("pre", "textarea", "listing") and text.startswith("\n"):
        text = "\n" + text  # the parser drops one newline right after the start tag
    out.append(text if name in _RAW else _escape(text))
    for child in element:
        serialize(child, out)
    out.append(f"</{name}>")
    out.append(_escape(element.tail or ""))


def _placeholder(element: ET.Element) -> str | None:
    """The chapter id whose placeholder is a direct child of ``element``."""
    for child in element:
        if not isinstance(child.tag, str) and (child.text or "").startswith(PLACEHOLDER):
            return (child.text or "")[len(PLACEHOLDER) :]
    return None


def _holds_placeholder(element: ET.Element) -> bool:
    return any(
        not isinstance(e.tag, str) and (e.text or "").startswith(PLACEHOLDER)
        for e in element.iter()
        if e is not element
    )


def _groups_pages(element: ET.Element) -> bool:
    """Whether ``element`` only groups several identified sections (front matter's copyright page and
    contents): each is then a unit of its own, so each starts on the side of the spread it should."""
    children = [c for c in element if isinstance(c.tag, str)]
    return len(children) >= 2 and all(c.get("id") and c.tag in _SECTIONING for c in children)


_SECTIONING = frozenset({"section", "nav", "div", "article", "aside", "header", "footer"})


@dataclass
class Unit:
    """One layout unit: an element of the frame with the wrappers around it."""

    index: int
    root: ET.Element
    wrappers: list[ET.Element]
    chapter_id: str | None
    """The chapter it holds, or None for a display page or the printed contents."""
    root_id: str
    ids: frozenset[str] = frozenset()
    """Every id in the unit (its frame part and its chapter's content)."""
    links: list[str] = field(default_factory=list)
    """Ids the unit's frame part links to in other units: they need page numbers (the printed contents)."""

    @property
    def numbered(self) -> bool:
        """Whether the unit prints page numbers of other units, so is laid out once those are known."""
        return bool(self.links)


@dataclass
class Frame:
    """The parsed frame and its units, in document order."""

    html: ET.Element
    head: ET.Element
    body: ET.Element
    units: list[Unit]
    fragments: dict[str, str]
    running: dict[str, str]


def split(
    frame_html: str,
    fragments: dict[str, str],
    running: dict[str, str],
    chapter_ids: dict[str, frozenset[str]],
    referred: dict[str, list[str]] | None = None,
) -> Frame:
    """Parse the frame and find its units (see the module docstring); ``chapter_ids`` are the ids in each
    chapter's content (compose.PrintDocument.ids), ``referred`` the ids whose page numbers each chapter's
    cross-references print (compose.PrintDocument.referred): those chapters are numbered units too."""
    html = parse.tree(frame_html)
    if html is None:
        html = tinyhtml5.parse(frame_html, namespace_html_elements=False)
    head, body = html.find("head"), html.find("body")
    if head is None or body is None:
        raise ValueError("the print template produced no <head> or <body>")
    found: list[tuple[ET.Element, list[ET.Element], str | None]] = []

    def walk(parent: ET.Element, wrappers: list[ET.Element]) -> None:
        for child in parent:
            if not isinstance(child.tag, str):
                continue
            chapter = _placeholder(child)
            if chapter is None and (_holds_placeholder(child) or _groups_pages(child)):
                walk(child, [*wrappers, child])
            else:
                found.append((child, wrappers, chapter))

    walk(body, [])
    units: list[Unit] = []
    for index, (root, wrappers, chapter) in enumerate(found):
        if not root.get("id"):
            root.set("id", f"{_UNIT_ID}{index}")
        frame_ids = {e.get("id", "") for e in root.iter() if isinstance(e.tag, str) and e.get("id")}
        content_ids = chapter_ids.get(chapter, frozenset()) if chapter is not None else frozenset()
        units.append(Unit(index, root, wrappers, chapter, root.get("id", ""), frozenset(frame_ids | content_ids)))
    owner = {i: unit for unit in units for i in unit.ids}
    for unit in units:
        for a in unit.root.iter("a"):
            href = a.get("href", "")
            if href.startswith("#") and href[1:] not in unit.ids and href[1:] in owner:
                a.set("href", ANCHOR_SCHEME + href[1:])
                unit.links.append(href[1:])
        if unit.chapter_id is not None:
            # The pages its cross-references print, its own pages' too: those are known only once it is laid out
            # (the unit is laid out again with them, like one that refers to another chapter).
            unit.links.extend(
                target
                for target in dict.fromkeys((referred or {}).get(unit.chapter_id, []))
                if target in owner and target not in unit.links
            )
    return Frame(html, head, body, units, fragments, running)


def _shell(frame: Frame, unit: Unit, keep_meta: bool, extra_css: str) -> tuple[ET.Element, ET.Element]:
    """A copy of ``<html>`` with the head (metadata only when ``keep_meta``) and an empty body; and the
    innermost wrapper of ``unit`` in it, where the unit goes."""
    html = ET.Element(frame.html.tag, dict(frame.html.attrib))
    head = ET.SubElement(html, "head", dict(frame.head.attrib))
    for child in frame.head:
        if (
            not keep_meta
            and isinstance(child.tag, str)
            and (child.tag == "title" or (child.tag == "meta" and "charset" not in child.attrib))
        ):
            continue
        head.append(copy.deepcopy(child))
    style = ET.SubElement(head, "style")
    style.text = extra_css
    body_attributes = dict(frame.body.attrib)
    if not keep_meta:
        # Only the running heads read the title from here, and the skeleton draws those: a new title then
        # does not lay out every chapter again.
        body_attributes.pop("data-book-title", None)
    body = ET.SubElement(html, "body", body_attributes)
    parent = body
    for wrapper in unit.wrappers:
        parent = ET.SubElement(parent, wrapper.tag, dict(wrapper.attrib))
    return html, parent


Sheet = tuple[str, str]
"""A stylesheet taken out of a unit's document: ("link", its href as written) or ("style", its text)."""


@dataclass(frozen=True)
class Document:
    """A unit's HTML, and the stylesheets taken out of it, in document order (see layout/styles.py)."""

    html: str
    sheets: tuple[Sheet, ...]


_TOKENS = re.compile(r"[^\t\n\f\r ]+")


def _lift(html: ET.Element) -> tuple[Sheet, ...]:
    """Take out of ``html`` the stylesheets WeasyPrint would apply to it, in document order; the ones it
    ignores stay. The tests are weasyprint.css.find_stylesheets' own (type, media, rel, href)."""
    found: list[tuple[ET.Element, Sheet]] = []
    for element in html.iter():
        if not isinstance(element.tag, str) or _name(element.tag) not in ("style", "link"):
            continue
        if element.get("type", "text/css").split(";", 1)[0].strip() != "text/css":
            continue
        media = [query.strip() for query in (element.get("media", "").strip() or "all").split(",")]
        if "all" not in media and "print" not in media:
            continue
        if _name(element.tag) == "style":
            found.append((element, ("style", (element.text or "") + "".join(c.tail or "" for c in element))))
            continue
        rel = [token.translate(_ASCII_LOWER) for token in _TOKENS.findall(element.get("rel", ""))]
        if element.get("href") and "stylesheet" in rel and "alternate" not in rel:
            found.append((element, ("link", element.get("href", ""))))
    parents = {child: parent for parent in html.iter() for child in parent}
    for element, _ in found:
        parent = parents[element]
        if element.tail:  # the text after it stays where it was
            index = list(parent).index(element)
            if index:
                previous = parent[index - 1]
                previous.tail = (previous.tail or "") + element.tail
            else:
                parent.text = (parent.text or "") + element.tail
        parent.remove(element)
    return tuple(sheet for _, sheet in found)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _document(html: ET.Element, fragments: dict[str, str]) -> Document:
    sheets = _lift(html)
    out = ["<!DOCTYPE html>\n"]
    serialize(html, out)
    text = "".join(out)
    text = re.sub(
        r"<!--" + re.escape(PLACEHOLDER) + r"([^>]*?)-->", lambda m: fragments.get(m.group(1), m.group(0)), text
    )
    return Document(text, sheets)


def unit_html(
    frame: Frame, unit: Unit, numbers: dict[str, dict[str, str]] | None = None, base: bool = False, lead: bool = False
) -> Document:
    """The complete HTML document of one unit.

    ``numbers`` gives, for each id the unit links to, its page number by counter style ("decimal",
    "lower-roman", "upper-roman"), written into ``data-essaybook-page-<style>`` attributes that the unit's
    ``target-counter()`` rules are rewritten to read. ``base``: keep the document metadata (title,
    authors, dates), which the assembled PDF takes from this unit only. ``lead``: start with a page that
    is then left out, so the unit begins on the other side of a spread.
    """
    html, parent = _shell(frame, unit, base, UNIT_CSS)
    if lead:
        ET.SubElement(parent, "div", {"style": "break-after: page; height: 0; margin: 0; padding: 0"})
    root = copy.deepcopy(unit.root)
    if unit.numbered:
        for a in root.iter("a"):
            target = a.get("href", "")[len(ANCHOR_SCHEME) :] if a.get("href", "").startswith(ANCHOR_SCHEME) else None
            if target is None:
                continue
            for style in ("decimal", "lower-roman", "upper-roman"):
                a.set(f"data-essaybook-page-{style}", (numbers or {}).get(target, {}).get(style, "000"))
    parent.append(root)
    root.tail = "\n"
    fragments = frame.fragments
    if unit.numbered and unit.chapter_id in fragments:
        # The chapter's cross-references carry essaybook-page:<style>:<id> placeholders (compose) for the numbers.
        text = fragments[unit.chapter_id]
        for target in unit.links:
            for style in ("decimal", "lower-roman"):
                number = (numbers or {}).get(target, {}).get(style, "000")
                text = text.replace(f'"{PAGE_PLACEHOLDER}{style}:{_escape(target, True)}"', f'"{number}"')
        fragments = {**fragments, unit.chapter_id: text}
    return _document(html, fragments)


def rewrite_target_counters(css: str) -> str:
    """``target-counter(attr(href url), page[, style])`` -> the page number written on the link."""
    return TARGET_COUNTER.sub(lambda m: f"attr(data-essaybook-page-{m.group(1) or 'decimal'})", css)


PAGE_CLASS = "essaybook-page"
SKELETON_CSS = f"""/* essaybook: the page furniture alone, drawn over the separately laid-out pages. */
html, body {{ background: none !important; }}
body * {{ visibility: hidden !important; }}
.{PAGE_CLASS} {{ display: block !important; height: 0 !important; margin: 0 !important; padding: 0 !important;
  border: 0 !important; break-before: auto; break-after: auto; float: none !important; position: static !important; }}
.{PAGE_CLASS} + .{PAGE_CLASS} {{ break-before: page !important; }}
.essaybook-running {{ height: 0 !important; margin: 0 !important; padding: 0 !important; border: 0 !important;
  overflow: hidden !important; line-height: 0 !important; bookmark-level: none !important; }}
@page {{ background: none !important; }}
"""


def page_anchor(unit: int, page: int) -> str:
    return f"{PAGE_CLASS}-{unit}-{page}"


def skeleton_html(
    frame: Frame, pages: list[int], keep: range | None = None, counter: tuple[int, int] | None = None
) -> Document:
    """The whole book with every unit's content replaced by ``pages[i]`` empty pages: laid out, it draws
    folios and running heads exactly where the one-document layout would (same CSS, named pages, breaks).

    ``keep``: only these units, and the one before them (the furniture of a part of the book; the units
    left out are removed with the wrappers they leave empty). ``counter``: (page number in this document,
    the page counter it has in the book), set with ``counter-reset``.
    """
    html = copy.deepcopy(frame.html)
    head = html.find("head")
    assert head is not None
    for child in list(head):  # the book's metadata (its dates) does not change the furniture
        if isinstance(child.tag, str) and (
            child.tag == "title" or (child.tag == "meta" and "charset" not in child.attrib)
        ):
            head.remove(child)
    style = ET.SubElement(head, "style")
    style.text = SKELETON_CSS
    roots = {u.root_id: u for u in frame.units}
    targets = [(e, roots[e.get("id", "")]) for e in html.iter() if isinstance(e.tag, str) and e.get("id") in roots]
    for element, unit in targets:
        for child in list(element):
            element.remove(child)
        element.text = None
        if unit.chapter_id is not None:
            # The running-head string is set from the chapter's title heading (pages.css).
            title = ET.SubElement(element, "h1", {"class": "essaybook-running chapter-title"})
            title.text = frame.running.get(unit.chapter_id, "")
        for number in range(pages[unit.index]):
            ET.SubElement(element, "div", {"class": PAGE_CLASS, "id": page_anchor(unit.index, number)})
    if keep is not None:
        kept = set(keep) | ({keep.start - 1} if keep.start > 0 else set())
        parents = {child: parent for parent in html.iter() for child in parent}
        for element, unit in targets:
            if unit.index not in kept:
                parents[element].remove(element)
        wrappers = {(w.tag, tuple(sorted(w.attrib.items()))) for u in frame.units for w in u.wrappers}
        for element in reversed(list(html.iter())):  # innermost first
            signature = (element.tag, tuple(sorted(element.attrib.items())))
            if element in parents and not len(element) and signature in wrappers:
                parents[element].remove(element)
    if counter is not None:
        style.text += f"@page :nth({counter[0]}) {{ counter-reset: page {counter[1]} !important; }}\n"
    return _document(html, {})
