"""One embedded program per font in the assembled PDF, instead of one subset per laid-out unit.

Each unit's PDF embeds its own subset of every font it uses; assembled as they are, a 100-chapter book
would carry 100 copies of each font. WeasyPrint subsets with the original glyph ids kept (HarfBuzz's
RETAIN_GIDS), so every unit's text addresses glyphs by their ids in the original font: one subset of the
original holding the union of the glyphs the units use serves them all, under one font dictionary whose
widths and ToUnicode map are the union of the units' (the resource names in the pages stay as they are). A
font that is not one of the files the layout loaded (a system font found by fontconfig) keeps its per-unit
subsets.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pikepdf
from pikepdf import Dictionary, Name

FONT_SUFFIXES = (".otf", ".ttf")
_DROP_TABLES = ["BASE", "DSIG", "EBDT", "EBLC", "EBSC", "GPOS", "GSUB", "JSTF", "LTSH", "PCLT", "SVG "]


def _identity(font: Any) -> tuple[str, str, int, int]:
    """What a subset keeps of its original: names, units per em and creation time (from ``head``)."""
    name = font["name"]
    return (
        str(name.getDebugName(6) or ""),
        str(name.getDebugName(4) or ""),
        int(font["head"].unitsPerEm),
        int(font["head"].created),
    )


def _used(widths: Iterable[Any]) -> set[int]:
    """Glyph ids listed in a CIDFont's ``/W`` array (``c [w …]`` and ``c_first c_last w`` forms)."""
    items = list(widths)
    used: set[int] = set()
    index = 0
    while index < len(items) - 1:
        first = int(items[index])
        if isinstance(items[index + 1], pikepdf.Array):
            used.update(range(first, first + len(items[index + 1])))
            index += 2
        else:
            used.update(range(first, int(items[index + 1]) + 1))
            index += 3
    return used


def _subset(original: Path, glyphs: set[int], cache: Path | None) -> bytes:
    """The original font cut to ``glyphs``, ids kept (as WeasyPrint subsets); cached by file and glyph set."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    key = hashlib.sha256(original.read_bytes() + repr(sorted(glyphs)).encode()).hexdigest()[:40]
    stored = cache / f"{key}.bin" if cache is not None else None
    if stored is not None and stored.is_file():
        return stored.read_bytes()
    options = subset.Options(
        retain_gids=True,
        passthrough_tables=True,
        ignore_missing_glyphs=True,
        hinting=False,
        desubroutinize=True,
        notdef_outline=True,
        layout_closure=False,
    )
    options.drop_tables += _DROP_TABLES
    font = TTFont(original)
    subsetter = subset.Subsetter(options)
    subsetter.populate(gids=sorted(glyphs))
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    data = buffer.getvalue()
    if stored is not None:
        stored.parent.mkdir(parents=True, exist_ok=True)
        temp = stored.with_name(f".{stored.name}.pid{os.getpid()}.tmp")
        temp.write_bytes(data)
        os.replace(temp, stored)
    return data


def share_fonts(out: pikepdf.Pdf, originals: Sequence[Path], cache: Path | None = None) -> int:
    """Replace the per-unit subsets of each font in ``originals`` by one; return how many fonts were shared."""
    from fontTools.ttLib import TTFont, TTLibError

    known: dict[tuple[str, str, int, int], Path] = {}
    for path in originals:
        try:
            known.setdefault(_identity(TTFont(path, lazy=True)), path)
        except (TTLibError, OSError, KeyError, ValueError, AssertionError):
            continue
    groups: dict[tuple[str, str, int, int], list[tuple[pikepdf.Object, str, set[int]]]] = {}
    fonts_of: dict[tuple[str, str, int, int], list[pikepdf.Object]] = {}
    seen: set[tuple[int, int]] = set()
    for page in out.pages:
        fonts = page.obj.get("/Resources", Dictionary()).get("/Font", Dictionary())
        for font in fonts.values():
            if font.objgen in seen or font.get("/Subtype") != "/Type0":
                continue
            seen.add(font.objgen)
            cid_font = font.DescendantFonts[0]
            descriptor = cid_font.get("/FontDescriptor")
            key = next((k for k in ("/FontFile2", "/FontFile3") if descriptor is not None and k in descriptor), None)
            if descriptor is None or key is None or "/W" not in cid_font:
                continue
            try:
                identity = _identity(TTFont(io.BytesIO(descriptor[key].read_bytes()), lazy=True))
            except (TTLibError, KeyError, ValueError, AssertionError):
                continue
            if identity in known:
                groups.setdefault(identity, []).append((descriptor, key, _used(cid_font.W)))
                fonts_of.setdefault(identity, []).append(font)
    for identity, members in groups.items():
        if len(members) < 2:
            continue
        glyphs = {0}.union(*(used for _, _, used in members))
        data = _subset(known[identity], glyphs, cache)
        descriptor, key, _ = members[0]
        template = descriptor[key]
        stream = pikepdf.Stream(out, data)
        if "/Subtype" in template:
            stream.Subtype = template.Subtype
        if key == "/FontFile2":
            stream.Length1 = len(data)
        shared = out.make_indirect(stream)
        for descriptor, key, _ in members:
            descriptor[Name(key)] = shared
        merged = _merged_font(out, fonts_of[identity])
        if merged is not None:
            replaced = {font.objgen for font in fonts_of[identity]}
            for page in out.pages:
                fonts = page.obj.get("/Resources", Dictionary()).get("/Font", Dictionary())
                for name, font in list(fonts.items()):
                    if font.objgen in replaced:
                        fonts[Name(name)] = merged
    return sum(len(m) > 1 for m in groups.values())


_BFCHAR = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>")


def _to_unicode(font: pikepdf.Object) -> dict[int, str] | None:
    """A ToUnicode CMap of ``bfchar`` entries (as WeasyPrint writes them) as glyph id -> hex text; None else."""
    if "/ToUnicode" not in font:
        return {}
    data = font.ToUnicode.read_bytes()
    if b"bfrange" in data:
        return None
    return {
        int(glyph, 16): text.decode().lower() for glyph, text in _BFCHAR.findall(data.split(b"endcodespacerange")[-1])
    }


def _widths(cid_font: pikepdf.Object) -> dict[int, float]:
    items = list(cid_font.W)
    widths: dict[int, float] = {}
    index = 0
    while index < len(items) - 1:
        first = int(items[index])
        if isinstance(items[index + 1], pikepdf.Array):
            widths.update((first + i, float(w)) for i, w in enumerate(items[index + 1]))
            index += 2
        else:
            widths.update((glyph, float(items[index + 2])) for glyph in range(first, int(items[index + 1]) + 1))
            index += 3
    return widths


def _merged_font(out: pikepdf.Pdf, fonts: list[pikepdf.Object]) -> pikepdf.Object | None:
    """One Type0 font for ``fonts`` (subsets of one program): union of widths and text mappings; None when
    they disagree on a glyph (then each keeps its dictionary)."""
    first = fonts[0]
    if any(str(f.BaseFont) != str(first.BaseFont) or f.get("/Encoding") != first.get("/Encoding") for f in fonts):
        return None
    widths: dict[int, float] = {}
    text: dict[int, str] = {}
    for font in fonts:
        unicode = _to_unicode(font)
        if unicode is None:
            return None
        for glyph, width in _widths(font.DescendantFonts[0]).items():
            if widths.setdefault(glyph, width) != width:
                return None
        for glyph, value in unicode.items():
            if text.setdefault(glyph, value) != value:
                return None
    w = pikepdf.Array()
    run: list[float] = []
    start = previous = -2
    for glyph in sorted(widths):
        if glyph != previous + 1 and run:
            w.append(start)
            w.append(pikepdf.Array(run))
            run = []
        if not run:
            start = glyph
        run.append(widths[glyph])
        previous = glyph
    if run:
        w.append(start)
        w.append(pikepdf.Array(run))
    cid_font = Dictionary({k: v for k, v in first.DescendantFonts[0].items() if k != "/W"})
    cid_font.W = w
    merged = Dictionary({k: v for k, v in first.items() if k not in ("/DescendantFonts", "/ToUnicode")})
    merged.DescendantFonts = pikepdf.Array([out.make_indirect(cid_font)])
    if text:
        merged.ToUnicode = out.make_indirect(pikepdf.Stream(out, _cmap(text)))
    return out.make_indirect(merged)


def _cmap(text: dict[int, str]) -> bytes:
    """A ToUnicode CMap in the form WeasyPrint writes."""
    lines = [
        b"/CIDInit /ProcSet findresource begin",
        b"12 dict begin",
        b"begincmap",
        b"/CIDSystemInfo",
        b"<< /Registry (Adobe)",
        b"/Ordering (UCS)",
        b"/Supplement 0",
        b">> def",
        b"/CMapName /Adobe-Identity-UCS def",
        b"/CMapType 2 def",
        b"1 begincodespacerange",
        b"<0000> <ffff>",
        b"endcodespacerange",
    ]
    glyphs = sorted(text)
    for batch in range(0, len(glyphs), 100):
        chunk = glyphs[batch : batch + 100]
        lines.append(f"{len(chunk)} beginbfchar".encode())
        lines.extend(f"<{glyph:04x}> <{text[glyph]}>".encode() for glyph in chunk)
        lines.append(b"endbfchar")
    lines += [b"endcmap", b"CMapName currentdict /CMap defineresource pop", b"end", b"end"]
    return b"\n".join(lines)
