"""A chapter's first pass as JSON data for the conversion cache (:mod:`essaybook.convert_cache`), and its
replay: what the passes did to the chapter, its book and its parser, done again without running them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lxml import etree, html

from essaybook import log
from essaybook.convert.context import Context, Record
from essaybook.convert.images import file_state
from essaybook.diagnostics import Diagnostic
from essaybook.model import Asset, Heading, Target


def entry_of(ctx: Context, root: html.HtmlElement) -> dict[str, Any] | None:
    """A first pass as JSON data for :func:`replay`; None when it cannot be kept."""
    record, chapter = ctx.record, ctx.chapter
    tree = tree_json(root)
    if tree is None or not record.cacheable:
        return None
    return {
        "id": chapter.id,
        "title": chapter.title,
        "has_title_heading": chapter.has_title_heading,
        "headings": [[h.level, h.text, h.id] for h in chapter.headings],
        "anchors": chapter.anchors,
        "targets": [[t.kind, t.label, t.id, t.caption] for t in chapter.targets],
        "tree": tree,
        "taken": record.taken,
        "reported": record.reported,
        "files": record.files,
        "blocks": record.blocks,
        "blocks_added": record.blocks_added,
        "ids": sorted(record.ids),
        "replaced": sorted(record.replaced),
        "images": record.images,
        "images_without_alt": record.images_without_alt,
        "directives": record.directives,
        "assets": [[str(a.source), a.href, a.media_type, a.used_at] for a in record.assets],
        "warnings": [w.as_dict() for w in ctx.warnings],
    }


def replay(entry: dict[str, Any], ctx: Context, blocks: list[str]) -> html.HtmlElement | None:
    """Do to ``ctx``'s chapter, its book and its parser's custom ``blocks`` what the first pass :func:`entry_of`
    kept did, and return its tree.

    Only when every read it recorded gives the same answer now (each id it asked for is taken or free as then,
    each raw HTML tag reported or not, each image path the same file, the same custom block elements known);
    otherwise, or when ``entry`` is not what :func:`entry_of` makes, None and nothing is changed.
    """
    book, chapter = ctx.book, ctx.chapter
    try:
        taken = {str(name): bool(was) for name, was in entry["taken"].items()}
        reported = {str(tag): bool(was) for tag, was in entry["reported"].items()}
        files = {
            str(path): (bool(a), bool(b), str(c), str(d), str(e)) for path, (a, b, c, d, e) in entry["files"].items()
        }
        known, added = [str(tag) for tag in entry["blocks"]], [str(tag) for tag in entry["blocks_added"]]
        if (
            set(known) != set(blocks)
            or any((name in book.ids) != was for name, was in taken.items())
            or any((tag in book.replaced_tags) != was for tag, was in reported.items())
            or any(file_state(Path(path), book.root) != state for path, state in files.items())
        ):
            return None
        record = Record(
            ids={str(name) for name in entry["ids"]},
            replaced={str(tag) for tag in entry["replaced"]},
            images=int(entry["images"]),
            images_without_alt=int(entry["images_without_alt"]),
            directives=[(str(file), int(line)) for file, line in entry["directives"]],
            taken=taken,
            reported=reported,
            files=files,
            blocks=known,
            blocks_added=added,
            assets=[Asset(Path(source), str(href), str(kind), str(at)) for source, href, kind, at in entry["assets"]],
        )
        headings = [Heading(int(level), str(text), str(id_)) for level, text, id_ in entry["headings"]]
        anchors = {str(name): str(id_) for name, id_ in entry["anchors"].items()}
        targets = [
            Target(str(kind), str(label), str(id_), str(caption)) for kind, label, id_, caption in entry["targets"]
        ]
        title = entry["title"]
        warnings = [Diagnostic.from_dict(w) for w in entry["warnings"]]
        root = tree_of(entry["tree"])
        chapter_id, has_title_heading = str(entry["id"]), bool(entry["has_title_heading"])
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return None
    book.ids |= record.ids
    book.replaced_tags |= record.replaced
    book.images += record.images
    book.images_without_alt += record.images_without_alt
    for asset in record.assets:
        book.assets.setdefault(asset.source, asset)
    blocks.extend(added)
    chapter.id, chapter.headings, chapter.anchors, chapter.targets = chapter_id, headings, anchors, targets
    chapter.title = None if title is None else str(title)
    chapter.has_title_heading = has_title_heading
    ctx.record = record
    for warning in warnings:
        ctx.warnings.append(warning)
        log.report(warning)
    return root


def tree_json(root: html.HtmlElement) -> list[list[Any]] | None:
    """``root``'s elements in document order as [parent's index, tag, attributes, text, tail], for :func:`tree_of`.

    None when the tree holds anything but elements (the first pass leaves no comments).
    """
    index: dict[etree._Element, int] = {}
    nodes: list[list[Any]] = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            return None
        parent = element.getparent()
        index[element] = len(nodes)
        nodes.append(
            [
                -1 if element is root or parent is None else index[parent],
                element.tag,
                list(element.attrib.items()),
                element.text,
                element.tail,
            ]
        )
    return nodes


def tree_of(nodes: list[list[Any]]) -> html.HtmlElement:
    """The tree :func:`tree_json` wrote, attributes in their order."""
    root = html.Element(nodes[0][1])
    elements: list[etree._Element] = []
    for parent, tag, attributes, text, tail in nodes:
        if elements and not 0 <= parent < len(elements):
            raise ValueError(f"no parent {parent} for element {len(elements)}")
        # MathML and SVG (see mathtex) keep their namespace as the default one, as the first pass made them.
        nsmap = {None: tag[1 : tag.index("}")]} if tag.startswith("{") else None
        element = etree.SubElement(elements[parent], tag, nsmap=nsmap) if elements else root
        for name, value in attributes:
            element.set(name, value)
        element.text, element.tail = text, tail
        elements.append(element)
    return root
