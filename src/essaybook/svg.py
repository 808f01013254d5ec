"""SVG images as an EPUB may carry them: no scripts, nothing loaded from outside the image, no local paths.

An SVG is a document, not pixels: drawing programs leave scripts, links to files on the author's machine
(``file:///home/…``, ``inkscape:export-filename``) and images on the web in it. EPUBCheck refuses remote
resources and undeclared scripts (RSC-006, OPF-014), and a local path must never travel inside the book.
:func:`clean_svg` removes them; the conversion reports what it removed, the EPUB and the PDF both use the
cleaned image.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import tinycss2
from lxml import etree

from essaybook.stylesheets import map_style, map_urls

_EDITOR_NAMESPACES = (
    "http://www.inkscape.org/namespaces/inkscape",
    "http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd",
    "http://ns.adobe.com/",
    "http://www.bohemiancoding.com/sketch/ns",
)
"""Drawing programs' own markup: it draws nothing and holds the author's file paths."""
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_REFERRING = frozenset({"image", "use", "feImage"})
"""Elements that draw only what their ``href`` names."""
_LOCAL_PATH_RE = re.compile(r"^\s*(?:file:|/|[A-Za-z]:[\\/]|\\\\|~/)", re.IGNORECASE)
_URL_VALUE_RE = re.compile(r"url\(\s*['\"]?\s*([^'\")\s]*)", re.IGNORECASE)
_DATA_IMAGE_RE = re.compile(r"data:image/(?:png|jpeg|gif|webp)[;,]", re.IGNORECASE)


class BadSvg(ValueError):
    """An SVG that is not well-formed XML; the message says where."""


@dataclass
class CleanSvg:
    """An SVG after :func:`clean_svg`, and what was taken out of it (for one warning)."""

    data: bytes
    removed: list[str] = field(default_factory=list)


def _parser() -> etree.XMLParser:
    # No entity expansion (a "billion laughs" SVG stays small), no DTD, no network.
    return etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False)


def _clean_css(text: str, local: Callable[[str], str | None]) -> str | None:
    """A <style> element's rules with every declaration that loads from outside the image left out; None when
    nothing changed."""
    changed = False
    out = []
    for rule in tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True):
        if rule.type == "at-rule" and rule.lower_at_keyword == "import":
            changed = True
            continue
        if rule.type != "qualified-rule":
            out.append(rule.serialize())
            continue
        kept = []
        for item in tinycss2.parse_blocks_contents(rule.content, skip_comments=True, skip_whitespace=True):
            if item.type != "declaration":
                continue
            value = map_urls(item.value, local)
            if value is None:
                changed = True
                continue
            kept.append(f"{item.name}:{tinycss2.serialize(value)}{' !important' if item.important else ''}")
        out.append(f"{tinycss2.serialize(rule.prelude)}{{{';'.join(kept)}}}")
    return "".join(out) if changed else None


def clean_svg(data: bytes) -> CleanSvg:
    """``data`` without scripts, event handlers, references to anything outside the image, entity references
    and drawing programs' metadata. Raises :class:`BadSvg` when it is not well-formed XML."""
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise BadSvg(f"it is not well-formed XML, or too large to read ({exc.msg})") from None
    removed: set[str] = set()
    ids = {node.get("id") for node in root.iter() if isinstance(node.tag, str) and node.get("id")}

    def inside(url: str) -> str | None:
        """``url`` when it stays inside the image: a fragment it defines (EPUBCheck RSC-012) or a data: image."""
        if url.startswith("#"):
            return url if url[1:] in ids else None
        return url if _DATA_IMAGE_RE.match(url) else None

    def drop(node: etree._Element, what: str) -> None:
        parent = node.getparent()
        if parent is not None:
            if node.tail:
                previous = node.getprevious()
                if previous is not None:
                    previous.tail = (previous.tail or "") + node.tail
                else:
                    parent.text = (parent.text or "") + node.tail
            parent.remove(node)
            removed.add(what)

    for node in list(root.iter()):
        if isinstance(node, etree._Entity):
            drop(node, "entity references")
            continue
        if not isinstance(node.tag, str):
            continue
        namespace, _, local = node.tag.rpartition("}")
        if local == "script":
            drop(node, "scripts")
            continue
        if namespace.lstrip("{").startswith(_EDITOR_NAMESPACES):
            drop(node, "drawing-program metadata")
            continue
        if local == "style" and node.text:
            cleaned = _clean_css(node.text, inside)
            if cleaned is not None:
                node.text = cleaned
                removed.add("references outside the image")
        for name, value in list(node.attrib.items()):
            attribute_ns, _, attribute = name.rpartition("}")
            if attribute_ns.lstrip("{").startswith(_EDITOR_NAMESPACES):
                del node.attrib[name]
                removed.add("drawing-program metadata")
            elif attribute.lower().startswith("on"):
                del node.attrib[name]
                removed.add("scripts")
            elif name in ("href", _XLINK_HREF) and inside(value.strip()) is None:
                del node.attrib[name]
                removed.add("references outside the image")
                if local in _REFERRING:
                    drop(node, "references outside the image")  # it would draw nothing, and WeasyPrint
                    break  # would ask its fetcher for the URL None
            elif attribute == "style" and "url(" in value.lower():
                node.attrib[name] = map_style(value, lambda url, _line: inside(url), lambda _: None)
                if node.attrib[name] != value:
                    removed.add("references outside the image")
            elif any(inside(url) is None for url in _URL_VALUE_RE.findall(value)) or _LOCAL_PATH_RE.match(value):
                del node.attrib[name]
                removed.add("references outside the image" if "url(" in value.lower() else "local file paths")
    if not removed:
        return CleanSvg(data)
    etree.cleanup_namespaces(root)
    return CleanSvg(etree.tostring(root, encoding="utf-8", xml_declaration=True), sorted(removed))


def without_doctype(data: bytes) -> bytes:
    """``data`` (a well-formed SVG) without its document type declaration, whose entities another XML parser
    might expand or fetch; unchanged when it has none."""
    if b"<!doctype" not in data.lower():
        return data
    root = etree.fromstring(data, _parser())
    return bytes(etree.tostring(root, encoding="utf-8", xml_declaration=True))
