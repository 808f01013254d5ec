"""Separately laid-out units + the furniture skeleton -> one PDF, as if WeasyPrint had laid out the book whole.

pikepdf (QPDF) does the merge: it copies pages and everything they reference between files while keeping
one mapping per source file, so the structure tree copied after the pages points at the copied pages
(``/Pg``), links keep their structure parents and nothing is duplicated. What a page-merging tool would
drop is rebuilt here: the structure tree's ``/ParentTree`` numbers, named destinations, links between
units, the outline, page labels, and the document metadata (Info, XMP, output intents) of the first unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from pikepdf import Array, Dictionary, Name, String

from essaybook.compose import ANCHOR_SCHEME
from essaybook.layout.fontshare import share_fonts
from essaybook.production import trim_spine_bleed

_CATALOG_KEYS = ("/Lang", "/MarkInfo", "/ViewerPreferences", "/Metadata", "/OutputIntents", "/PageMode")


@dataclass(frozen=True)
class Placed:
    """A page of the book: page ``page`` of unit ``unit``, or a blank page (``unit`` None)."""

    unit: int | None
    page: int


def _indirect(pdf: pikepdf.Pdf, obj: pikepdf.Object) -> pikepdf.Object:
    return obj if obj.is_indirect else pdf.make_indirect(obj)


def _outline(
    items: Sequence[pikepdf.OutlineItem], pages: dict[tuple[int, int], pikepdf.Object]
) -> list[pikepdf.OutlineItem]:
    copied = []
    for item in items:
        destination = item.destination
        target: Array | None = None
        if isinstance(destination, Array) and len(destination) >= 1:
            page = pages.get(destination[0].objgen)
            if page is not None:
                target = Array([page, *list(destination)[1:]])
        new = pikepdf.OutlineItem(item.title, destination=target)
        new.is_closed = item.is_closed
        new.children.extend(_outline(item.children, pages))
        copied.append(new)
    return copied


def assemble(
    units: Sequence[Path],
    plan: Sequence[Placed],
    furniture: Sequence[tuple[Path, int]],
    labels: Sequence[tuple[int, str]],
    target: Path,
    fonts: Sequence[Path] = (),
    font_cache: Path | None = None,
    outline_kinds: Sequence[str] = (),
    spine_bleed: str | None = None,
) -> int:
    """Write the book to ``target``: ``plan`` orders the units' pages (and blank pages); ``furniture[i]``
    (a PDF and a page of it) is drawn over page ``i`` of the book as an artifact; ``labels`` are page-label
    ranges (start, "/r" | "/D" | literal label). The units' subsets of the font files in ``fonts`` become one
    per font (see fontshare.py; ``font_cache`` keeps them between builds). ``outline_kinds`` (one per unit,
    default "") nests the outline as a book with parts: a "part" unit's first entry takes the entries of the
    "in-part" units after it as its children. ``spine_bleed``: the side of the first page, when the bleed is
    to be taken off the spine edge (production.trim_spine_bleed). Returns the number of pages.
    """
    sources = [pikepdf.open(path) for path in units]
    skeletons = {path: pikepdf.open(path) for path in dict.fromkeys(path for path, _ in furniture)}
    drawn = [(skeletons[path], skeletons[path].pages[page]) for path, page in furniture]
    out = pikepdf.new()
    try:
        base = sources[0]
        # Page objects of each source (by object number) -> the copy in ``out``.
        copied: list[dict[tuple[int, int], pikepdf.Object]] = [{} for _ in sources]
        owner: list[int | None] = []
        for placed in plan:
            if placed.unit is None:
                box = drawn[len(owner)][1]
                page = out.add_blank_page(page_size=(float(box.mediabox[2]), float(box.mediabox[3])))
                page.obj.MediaBox = Array(box.obj.MediaBox)
                for key in ("/TrimBox", "/BleedBox"):
                    if key in box.obj:
                        page.obj[key] = Array(box.obj[key])
                if "/StructTreeRoot" in base.Root:
                    page.obj.Tabs = Name.S
                owner.append(None)
                continue
            source_page = sources[placed.unit].pages[placed.page]
            out.pages.append(source_page)
            copied[placed.unit][source_page.obj.objgen] = out.pages[-1].obj
            owner.append(placed.unit)
        _merge_structure(out, sources, owner)
        _merge_names(out, sources, copied)
        _merge_outline(out, sources, copied, outline_kinds)
        share_fonts(out, fonts, font_cache)
        _overlay(out, drawn)
        for key in _CATALOG_KEYS:
            if key in base.Root:
                value = base.Root[key]
                out.Root[key] = out.copy_foreign(value) if value.is_indirect else _copy_direct(out, base, value)
        if "/Info" in base.trailer:
            out.trailer.Info = out.copy_foreign(base.trailer.Info)
        nums = Array()
        for start, style in labels:
            nums.append(start)
            nums.append(Dictionary(S=Name(style)) if style.startswith("/") else Dictionary(P=String(style)))
        out.Root.PageLabels = Dictionary(Nums=nums)
        if spine_bleed is not None:
            trim_spine_bleed(out, spine_bleed)
        # Object streams, as WeasyPrint writes them: the structure tree's dictionaries compress well (PDF/A-1,
        # a PDF 1.4 format, has none).
        streams = pikepdf.ObjectStreamMode.generate if base.pdf_version >= "1.5" else pikepdf.ObjectStreamMode.disable
        out.save(target, deterministic_id=True, min_version=base.pdf_version, object_stream_mode=streams)
        return len(out.pages)
    finally:
        out.close()
        for skeleton in skeletons.values():
            skeleton.close()
        for source in sources:
            source.close()


def _copy_direct(out: pikepdf.Pdf, source: pikepdf.Pdf, value: pikepdf.Object) -> pikepdf.Object:
    """Copy a direct object (and what it references) from ``source``."""
    return out.copy_foreign(source.make_indirect(value))


def _merge_structure(out: pikepdf.Pdf, sources: Sequence[pikepdf.Pdf], owner: list[int | None]) -> None:
    """One structure tree: the units' top elements under one Document, the parent tree renumbered."""
    if not all("/StructTreeRoot" in s.Root for s in sources):
        return
    root = out.make_indirect(Dictionary(Type=Name.StructTreeRoot))
    document = out.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Document, P=root, K=Array()))
    root.K = Array([document])
    nums = Array()
    pages_by_unit: dict[int, list[pikepdf.Object]] = {}
    for index, unit in enumerate(owner):
        if unit is not None:
            pages_by_unit.setdefault(unit, []).append(out.pages[index].obj)
    global_index = {page.objgen: i for i, page in enumerate(p.obj for p in out.pages)}
    entries: list[tuple[int, pikepdf.Object]] = []
    next_key = len(out.pages)
    namespaces = None
    for unit, source in enumerate(sources):
        tree = out.copy_foreign(source.Root.StructTreeRoot)
        if "/Namespaces" in tree and namespaces is None:
            namespaces = tree.Namespaces
        for top in tree.K:
            for child in top.K:
                if isinstance(child, Dictionary):
                    child.P = document
                document.K.append(child)
        unit_pages = pages_by_unit.get(unit, [])
        remap: dict[int, int] = {}
        old_nums = list(tree.ParentTree.Nums)
        for old_key, value in zip(old_nums[0::2], old_nums[1::2], strict=True):
            key = int(old_key)
            if key < len(unit_pages):
                page = unit_pages[key]
                page.StructParents = global_index[page.objgen]
                entries.append((global_index[page.objgen], value))
            else:
                remap[key] = next_key
                entries.append((next_key, value))
                next_key += 1
        for page in unit_pages:
            for annotation in page.get("/Annots", Array()):
                if "/StructParent" in annotation and int(annotation.StructParent) in remap:
                    annotation.StructParent = remap[int(annotation.StructParent)]
    for key, value in sorted(entries, key=lambda e: e[0]):
        nums.append(key)
        nums.append(value)
    root.ParentTree = out.make_indirect(Dictionary(Nums=nums))
    root.ParentTreeNextKey = next_key
    if namespaces is not None:
        root.Namespaces = namespaces
        document.NS = namespaces[0]
    out.Root.StructTreeRoot = root


def _merge_names(
    out: pikepdf.Pdf, sources: Sequence[pikepdf.Pdf], copied: list[dict[tuple[int, int], pikepdf.Object]]
) -> None:
    """All named destinations in one sorted name tree; links between units point at them."""
    dests: dict[str, Array] = {}
    for source, pages in zip(sources, copied, strict=True):
        names = source.Root.get("/Names")
        if names is None or "/Dests" not in names:
            continue
        flat = list(names.Dests.get("/Names", Array()))
        for name, dest in zip(flat[0::2], flat[1::2], strict=True):
            target = pages.get(dest[0].objgen)
            if target is not None:
                dests.setdefault(str(name), Array([target, *list(dest)[1:]]))
    if dests:
        flat_out = Array()
        for dest_name in sorted(dests):
            flat_out.append(String(dest_name))
            flat_out.append(dests[dest_name])
        out.Root.Names = Dictionary(Dests=out.make_indirect(Dictionary(Names=flat_out)))
    for out_page in out.pages:
        for annotation in out_page.obj.get("/Annots", Array()):
            action = annotation.get("/A")
            uri = str(action.get("/URI", "")) if action is not None else ""
            if uri.startswith(ANCHOR_SCHEME):
                anchor = uri[len(ANCHOR_SCHEME) :]
                del annotation["/A"]
                annotation.Dest = String(anchor)
                if "/Contents" in annotation:
                    annotation.Contents = String(anchor)


def _merge_outline(
    out: pikepdf.Pdf,
    sources: Sequence[pikepdf.Pdf],
    copied: list[dict[tuple[int, int], pikepdf.Object]],
    kinds: Sequence[str] = (),
) -> None:
    # Each unit is laid out alone, so WeasyPrint puts a chapter's title (bookmark-level 2 in a part) at the top
    # of that unit's outline: the nesting under its part is made here.
    items: list[pikepdf.OutlineItem] = []
    part: pikepdf.OutlineItem | None = None
    for index, (source, pages) in enumerate(zip(sources, copied, strict=True)):
        kind = kinds[index] if index < len(kinds) else ""
        with source.open_outline() as outline:
            found = _outline(outline.root, pages)
        if kind == "in-part" and part is not None:
            part.children.extend(found)
            continue
        items.extend(found)
        part = found[0] if kind == "part" and found else None
    if items:
        with out.open_outline() as outline:
            outline.root.extend(items)


def _overlay(out: pikepdf.Pdf, drawn: Sequence[tuple[pikepdf.Pdf, pikepdf.Page]]) -> None:
    """Draw ``drawn[i]`` (a page and its PDF) over page ``i`` of the book, marked as an artifact (PDF/UA 7.1)."""
    for index, (page, (owner, furniture)) in enumerate(zip(out.pages, drawn, strict=True)):
        form = out.copy_foreign(_indirect(owner, furniture.as_form_xobject()))
        name = Name(f"/EssaybookFurniture{index}")
        resources = page.obj.get("/Resources")
        if resources is None:
            resources = page.obj.Resources = Dictionary()
        if "/XObject" not in resources:
            resources.XObject = Dictionary()
        resources.XObject[name] = form
        # WeasyPrint leaves its flipped coordinate system in force at the end of a page: restore the default.
        page.contents_add(pikepdf.Stream(out, b"q\n"), prepend=True)
        page.contents_add(pikepdf.Stream(out, b"\nQ\n/Artifact BMC q " + name.unparse() + b" Do Q EMC\n"))
