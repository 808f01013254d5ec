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
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pikepdf
from pikepdf import Dictionary, Name

from essaybook.layout import hbsubset
from essaybook.renderers import atomic_output

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
    """The original font cut to ``glyphs``, ids kept (as WeasyPrint subsets), with HarfBuzz where it can be
    loaded and fontTools where not; cached by file and glyph set."""
    key = hashlib.sha256(original.read_bytes() + repr(sorted(glyphs)).encode()).hexdigest()[:40]
    stored = cache / f"{key}.bin" if cache is not None else None
    if stored is not None and stored.is_file():
        return stored.read_bytes()
    data = hbsubset.subset(original.read_bytes(), glyphs, _DROP_TABLES)
    if data is None:
        data = _fonttools_subset(original, glyphs)
    if stored is not None:
        with atomic_output(stored) as temp:
            temp.write_bytes(data)
    return data


def _fonttools_subset(original: Path, glyphs: set[int]) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont

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
    buffer = io.BytesIO()
    with TTFont(original) as font:
        subsetter = subset.Subsetter(options)
        subsetter.populate(gids=sorted(glyphs))
        subsetter.subset(font)
        font.save(buffer)
    return buffer.getvalue()


def share_fonts(out: pikepdf.Pdf, originals: Sequence[Path], cache: Path | None = None) -> int:
    """Replace the per-unit subsets of each font in ``originals`` by one; return how many fonts were shared."""
    from fontTools.ttLib import TTFont, TTLibError

    known: dict[tuple[str, str, int, int], Path] = {}
    for path in originals:
        try:
            with TTFont(path, lazy=True) as font:
                known.setdefault(_identity(font), path)
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
                with TTFont(io.BytesIO(descriptor[key].read_bytes()), lazy=True) as program:
                    identity = _identity(program)
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
        replacement: dict[tuple[int, int], pikepdf.Object] = {}
        for bucket in _buckets(fonts_of[identity]):
            if len(bucket.fonts) > 1:
                merged = _merged_font(out, bucket)
                replacement.update((font.objgen, merged) for font in bucket.fonts)
        for page in out.pages:
            fonts = page.obj.get("/Resources", Dictionary()).get("/Font", Dictionary())
            for name, font in list(fonts.items()):
                if font.objgen in replacement:
                    fonts[Name(name)] = replacement[font.objgen]
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


@dataclass
class _Bucket:
    """Font dictionaries of one program that agree on every glyph's width and text: one dictionary serves them."""

    encoding: str
    widths: dict[int, float] = field(default_factory=dict)
    text: dict[int, str] = field(default_factory=dict)
    fonts: list[pikepdf.Object] = field(default_factory=list)

    def take(self, font: pikepdf.Object, encoding: str, widths: dict[int, float], text: dict[int, str]) -> bool:
        if encoding != self.encoding or any(self.widths.get(g, w) != w for g, w in widths.items()):
            return False
        if any(self.text.get(g, t) != t for g, t in text.items()):
            return False
        self.widths.update(widths)
        self.text.update(text)
        self.fonts.append(font)
        return True


def _buckets(fonts: list[pikepdf.Object]) -> list[_Bucket]:
    """``fonts`` in as few buckets as agree: a glyph may stand for different text in different chapters (the
    box drawn for a missing character, "…" typed as three periods), and a font with its own encoding CMap
    codes its glyphs differently; those keep a dictionary of their own."""
    buckets: list[_Bucket] = []
    for font in fonts:
        encoding = font.get("/Encoding")
        key = str(encoding) if isinstance(encoding, Name) else f"own {font.objgen}"
        text = _to_unicode(font)
        if text is None:
            continue
        widths = _widths(font.DescendantFonts[0])
        if not any(bucket.take(font, key, widths, text) for bucket in buckets):
            bucket = _Bucket(key)
            bucket.take(font, key, widths, text)
            buckets.append(bucket)
    return buckets


def _merged_font(out: pikepdf.Pdf, bucket: _Bucket) -> pikepdf.Object:
    """One Type0 font for the bucket's dictionaries: the union of their widths and text mappings."""
    first = bucket.fonts[0]
    widths, text = bucket.widths, bucket.text
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
