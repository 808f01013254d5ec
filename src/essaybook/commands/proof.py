"""Proof sheets: a built PDF -> PNG images of its pages (one contact sheet, or chosen pages at full size).

The pages are rasterised with PDFium (pypdfium2) and composed with Pillow; the same PDF always gives the same
PNG bytes (no timestamps, packaged fonts).
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
from PIL import Image, ImageDraw, ImageFilter, ImageFont, features

from essaybook import log
from essaybook.errors import EssaybookError
from essaybook.fonts import code_points, fc_list
from essaybook.renderers import atomic_output
from essaybook.themes import BASE_THEME, themes_dir

SHEET_WIDTH = 1800
"""Default sheet width in pixels: crisp when a README shows it at half size."""
DEFAULT_DPI = 150
MAX_HEIGHT = 16384
"""Tallest sheet written; image viewers and browsers struggle beyond it."""
MIN_THUMB = 90
"""Narrowest page thumbnail (at the default width) that still shows a page's layout."""
MAX_THUMB = 420
"""Widest page thumbnail (at the default width); a sheet is for glancing, --pages for reading."""
MIN_WIDTH = 900
"""Narrowest sheet (at the default width), to leave room for the title line."""
_ASPECT = 0.75
"""A sheet is given more columns until it is no taller than this fraction of its width."""

_BACKGROUND = (243, 242, 239)
_BORDER = (140, 140, 140)
_INK = (34, 34, 34)
_MUTED = (105, 105, 105)


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when it lies below it, for shorter messages."""
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# --- Which PDF ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookPdf:
    """The PDF to proof and what the project says about how it opens."""

    path: Path
    book_layout: bool | None
    """True for the book layout, False for an essay, None when no project was read (``--pdf``)."""
    rtl: bool = False


def newest_source(root: Path) -> tuple[Path, int] | None:
    """The most recently changed file or folder under ``manuscript/`` and ``styles/`` (hidden names skipped).

    Folders count because removing a file changes only its folder's time.
    """
    newest: tuple[Path, int] | None = None
    for top in (root / "manuscript", root / "styles"):
        if not top.is_dir():
            continue
        for folder, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for path in [Path(folder), *(Path(folder, f) for f in files if not f.startswith("."))]:
                try:
                    stamp = path.stat().st_mtime_ns
                except OSError:  # a dangling link or a file removed while we look
                    continue
                if newest is None or stamp > newest[1]:
                    newest = (path, stamp)
    return newest


def project_pdf(root: Path) -> BookPdf:
    """``root/dist/<slug>.pdf``, built first (PDF only) when it is missing or older than a source."""
    # Imported here: the pipeline loads WeasyPrint, which proofing a given PDF does not need.
    from essaybook.commands.build import build
    from essaybook.manuscript import direction_of
    from essaybook.pipeline import Pipeline

    pipeline = Pipeline(root, cache=False)  # only looks; the build, when one is needed, uses the cache
    project = pipeline.load()
    path = project.root / "dist" / f"{pipeline.slug()}.pdf"
    newest = newest_source(project.root)
    reason = None
    if not path.is_file():
        reason = f"{_shown(path)} does not exist yet"
    elif newest is not None and newest[1] > path.stat().st_mtime_ns:
        reason = f"{_shown(path)} is older than {_shown(newest[0])}"
    if reason is not None:
        log.LOGGER.info("%s; building the PDF first", reason)
        result = build(project.root, epub=False)
        assert result.pdf is not None
        path = result.pdf.path
    rtl = direction_of(project.config.book.lang or "en") == "rtl"
    return BookPdf(path=path, book_layout=project.layout == "book", rtl=rtl)


# --- Reading the PDF ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PdfPages:
    """What the sheet needs to know about a PDF's pages."""

    path: Path
    title: str
    labels: tuple[str, ...]
    """Each page's label as a viewer shows it (/PageLabels), or its number when the PDF has none."""
    sizes: tuple[tuple[float, float], ...]
    """Each page's width and height in points."""


@contextmanager
def open_pdf(path: Path) -> Iterator[tuple[pdfium.PdfDocument, PdfPages]]:
    """Open ``path`` with PDFium and read its labels, sizes and title; close it afterwards."""
    if not path.is_file():
        raise EssaybookError("no such PDF file", file=_shown(path))
    try:
        document = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        raise EssaybookError(f"not a readable PDF: {str(exc).rstrip('.')}", file=_shown(path)) from None
    try:
        count = len(document)
        if count == 0:
            raise EssaybookError("the PDF has no pages", file=_shown(path))
        labels = tuple(document.get_page_label(i) or str(i + 1) for i in range(count))
        sizes = []
        for index in range(count):
            page = document[index]
            sizes.append(page.get_size())
            page.close()
        title = document.get_metadata_value("Title").strip() or path.stem
        yield document, PdfPages(path=path, title=title, labels=labels, sizes=tuple(sizes))
    finally:
        document.close()


def _render(document: pdfium.PdfDocument, pages: PdfPages, index: int, scale: float) -> Image.Image:
    """Page ``index`` as an RGB image, ``scale`` pixels per point."""
    page = document[index]
    try:
        image: Image.Image = page.render(scale=scale).to_pil()
    except pdfium.PdfiumError as exc:
        message = f"cannot draw page {pages.labels[index]} (PDF page {index + 1}): {str(exc).rstrip('.')}"
        raise EssaybookError(message, file=_shown(pages.path)) from None
    finally:
        page.close()
    return image.convert("RGB")


# --- Page labels and --pages -------------------------------------------------------------------------------

_ROMAN = (
    *((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"), (40, "xl")),
    *((10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")),
)
_DASH, _TIMES = "\u2013", "\u00d7"  # en dash for ranges, multiplication sign for sizes


def _to_roman(number: int) -> str:
    digits = ""
    for value, letters in _ROMAN:
        count, number = divmod(number, value)
        digits += letters * count
    return digits


def _roman_value(label: str) -> int | None:
    """The value of a lower- or upper-case roman numeral, or None when ``label`` is not one."""
    if not label or not re.fullmatch(r"[ivxlcdm]+", label.lower()):
        return None
    values = dict((letters, value) for value, letters in _ROMAN if len(letters) == 1)
    total = 0
    lower = label.lower()
    for i, char in enumerate(lower):
        value = values[char]
        following = values[lower[i + 1]] if i + 1 < len(lower) else 0
        total += -value if value < following else value
    return total if total > 0 and _to_roman(total) == lower else None


def _successor(label: str) -> str | None:
    """The label that follows ``label`` in a numbered run ("9" -> "10", "iv" -> "v"), if it is numbered."""
    if label.isdigit():
        return str(int(label) + 1)
    value = _roman_value(label)
    if value is None:
        return None
    following = _to_roman(value + 1)
    return following.upper() if label.isupper() else following


def describe_labels(labels: Sequence[str], limit: int = 12) -> str:
    """The labels as a writer reads them, numbered runs joined: "Cover, Inside cover, i-x, 1-7" (with en dashes)."""
    runs: list[str] = []
    start = 0
    for i in range(1, len(labels) + 1):
        if i < len(labels) and _successor(labels[i - 1]) == labels[i]:
            continue
        runs.append(labels[start] if i - 1 == start else f"{labels[start]}{_DASH}{labels[i - 1]}")
        start = i
    shown = ", ".join(runs[:limit])
    return shown + (f" and {len(runs) - limit} more" if len(runs) > limit else "")


def select_pages(spec: str, labels: Sequence[str], pdf: Path) -> list[int]:
    """Indices of the pages ``spec`` names, in the order given, each once.

    ``spec`` is a comma-separated list of printed page labels ("7", "iii", "Cover"; case does not matter)
    and ranges of them ("1-3", "i-iv", "x-2": every page from the first label to the second in book order).
    A label that several pages carry names the first of them.
    """
    where: dict[str, int] = {}
    for index, label in enumerate(labels):
        where.setdefault(label.casefold(), index)

    def fail(message: str) -> EssaybookError:
        return EssaybookError(
            f"--pages {spec!r}: {message}", file=_shown(pdf), hint=f"its pages are {describe_labels(labels)}"
        )

    chosen: list[int] = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            raise fail("an empty item; separate labels and ranges with single commas")
        if item.casefold() in where:
            found = [where[item.casefold()]]
        elif "-" in item:
            found = []
            # A label may itself hold a hyphen, so every split point is tried.
            for at in (m.start() for m in re.finditer("-", item)):
                first, last = item[:at].strip().casefold(), item[at + 1 :].strip().casefold()
                if first in where and last in where:
                    if where[first] > where[last]:
                        raise fail(f"the range {item!r} runs backwards ({item[at + 1 :]} comes first in the book)")
                    found = list(range(where[first], where[last] + 1))
                    break
            else:
                missing = [p.strip() for p in item.split("-", 1) if p.strip().casefold() not in where]
                names = " or ".join(repr(p) for p in missing) or repr(item)
                raise fail(f"the book has no page labelled {names}")
        else:
            raise fail(f"the book has no page labelled {item!r}")
        chosen.extend(i for i in found if i not in chosen)
    return chosen


def page_file_names(labels: Sequence[str], indices: Sequence[int], stem: str) -> list[str]:
    """``<stem>-page-<label>.png`` for each page, the label made safe for a file name and unique."""
    names: list[str] = []
    for index in indices:
        part = re.sub(r"[^0-9a-z]+", "-", labels[index].lower()).strip("-") or str(index + 1)
        name = f"{stem}-page-{part}.png"
        if name in names:
            name = f"{stem}-page-{part}-{index + 1}.png"
        names.append(name)
    return names


# --- Sheet layout ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tile:
    """One page on the sheet: its index in the PDF and its picture's box (left, top, right, bottom) in px."""

    page: int
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class SheetPlan:
    """Where everything goes on a sheet."""

    width: int
    height: int
    columns: int
    """Spreads (or single pages) per row."""
    rows: int
    tiles: tuple[Tile, ...]
    scale: float
    """Pixels per point of the page thumbnails."""
    shown: int
    """How many pages (from the first) fit on the sheet."""
    unit: float
    """Sizes of the sheet's furniture (margins, type) relative to the default width."""

    def px(self, size: float) -> int:
        """``size`` pixels of a sheet of the default width, scaled to this one."""
        return _px(size, self.unit)


def _px(size: float, unit: float) -> int:
    return max(1, round(size * unit))


# Furniture sizes in pixels at the default width.
_MARGIN, _HEADER, _LABEL, _GAP = 40, 132, 44, 40


def spread_units(count: int, spreads: bool, rtl: bool = False) -> list[tuple[int | None, ...]]:
    """Pages grouped as the book opens, each group in left-to-right order; None is an empty place.

    In spreads, the first page is a recto on its own (right of the spine, or left in a right-to-left book),
    then versos and rectos pair up.
    """
    if not spreads:
        return [(i,) for i in range(count)]
    units: list[tuple[int | None, ...]] = [(None, 0)]
    for verso in range(1, count, 2):
        units.append((verso, verso + 1 if verso + 1 < count else None))
    return [tuple(reversed(unit)) for unit in units] if rtl else units


def plan_sheet(
    sizes: Sequence[tuple[float, float]], *, spreads: bool, rtl: bool = False, width: int = SHEET_WIDTH
) -> SheetPlan:
    """Lay out thumbnails of pages of ``sizes`` (points) on a sheet at most ``width`` pixels wide.

    Columns are added until the sheet is at most three quarters as tall as wide, but never so many that a page
    is narrower than :data:`MIN_THUMB`; pages that then do not fit within :data:`MAX_HEIGHT` are left off
    (``shown`` says how many made it). Pages are at most :data:`MAX_THUMB` wide, so a short PDF gives a
    narrower sheet. Right-to-left books run from the right.
    """
    unit = width / SHEET_WIDTH
    margin, header, label, gap = (_px(size, unit) for size in (_MARGIN, _HEADER, _LABEL, _GAP))
    slot_w = max(w for w, _ in sizes)
    slot_h = max(h for _, h in sizes)
    units = spread_units(len(sizes), spreads, rtl)
    per_unit = 2 if spreads else 1
    inner = width - 2 * margin

    def measure(columns: int) -> tuple[float, int, int]:
        """Thumbnail scale (px per pt), row pitch and sheet height for ``columns`` per row."""
        scale = min((inner - (columns - 1) * gap) / columns / per_unit, MAX_THUMB * unit) / slot_w
        pitch = math.floor(slot_h * scale) + label + gap
        rows = math.ceil(len(units) / columns)
        return scale, pitch, header + rows * pitch - gap + margin

    columns = 1
    while columns < len(units):
        scale, _, height = measure(columns)
        if height <= _ASPECT * width or measure(columns + 1)[0] * slot_w < MIN_THUMB * unit:
            break
        columns += 1
    scale, pitch, height = measure(columns)
    if height > MAX_HEIGHT:
        rows = max(1, (MAX_HEIGHT - header - margin + gap) // pitch)
        units = units[: rows * columns]
        height = header + rows * pitch - gap + margin
    rows = math.ceil(len(units) / columns)
    unit_w = per_unit * slot_w * scale
    used = min(width, math.ceil(2 * margin + columns * unit_w + (columns - 1) * gap))
    width = max(used, round(MIN_WIDTH * unit))
    tiles: list[Tile] = []
    for number, group in enumerate(units):
        row, column = divmod(number, columns)
        if rtl:
            column = columns - 1 - column
        left = margin + column * (unit_w + gap)
        top = header + row * pitch
        for place, page in enumerate(group):
            if page is None:
                continue
            w, h = round(sizes[page][0] * scale), round(sizes[page][1] * scale)
            slot_left = left + place * unit_w / per_unit
            if not spreads:
                x = round(slot_left + (unit_w - w) / 2)
            elif place == 0:  # a left-hand page meets the spine with its right edge
                x = round(slot_left + unit_w / 2) - w
            else:
                x = round(slot_left)
            y = top + round((slot_h * scale - h) / 2)
            tiles.append(Tile(page, (x, y, x + w, y + h)))
    shown = 1 + max(t.page for t in tiles)
    return SheetPlan(width, height, columns, rows, tuple(tiles), scale, shown, unit)


# --- Drawing -----------------------------------------------------------------------------------------------


def _font(bold: bool, size: int) -> Any:
    name = "LinLibertine_RB.otf" if bold else "LinLibertine_R.otf"
    return ImageFont.truetype(str(themes_dir() / BASE_THEME / "fonts" / name), size)


def _drawn(text: str) -> frozenset[int]:
    """The code points of ``text`` a font must have: every character but spaces and controls."""
    return frozenset(ord(ch) for ch in text if not ch.isspace() and unicodedata.category(ch)[0] != "C")


def _machine_fonts(needed: frozenset[int]) -> list[Path]:
    """Font files fontconfig says have every code point of ``needed``, bold ones first; [] without fc-list."""
    query = ":charset=" + " ".join(f"{point:x}" for point in sorted(needed))
    listing = fc_list("--format", "%{file}\t%{style[0]}\n", query)
    found = sorted([*line.split("\t", 1), ""][:2] for line in listing.splitlines() if line.strip())
    # Bold first (the title line is bold), then upright regular, then the rest; by file name within each.
    rank = {"bold": 0, "regular": 1, "book": 1}
    found.sort(key=lambda item: (rank.get(item[1].strip().lower(), 2), item[0]))
    return [Path(file) for file, _ in found]


def title_font_file(text: str) -> Path | None:
    """A font file with a glyph for every character of ``text`` (checked in its cmap), or None when no font
    on this machine has them all.

    The theme's bold serif comes first, then every font shipped with the themes, then the machine's fonts
    that fontconfig finds for those characters (an Arabic or Chinese title usually needs one of these).
    """
    needed = _drawn(text) | {ord("…")}
    shipped = themes_dir() / BASE_THEME / "fonts" / "LinLibertine_RB.otf"
    candidates = [shipped, *sorted(p for p in themes_dir().glob("*/fonts/*") if p.suffix in (".otf", ".ttf"))]
    for path in [*candidates, *_machine_fonts(needed)]:
        if needed <= code_points(path):
            return path
    return None


def _is_rtl(text: str) -> bool:
    """Whether ``text`` reads from right to left: its first strong character is Arabic or Hebrew."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False


def _title_font(text: str, size: int) -> Any:
    """The sheet's title font for ``text`` (see :func:`title_font_file`), laid out with Raqm when Pillow has
    it, so that Arabic is joined and right-to-left text runs from the right.

    Without Raqm (Pillow built without libraqm), Pillow's basic layout draws each character's own glyph in
    the order stored: a right-to-left title then comes out unjoined and backwards; the log says so.
    """
    path = title_font_file(text)
    if path is None:
        log.LOGGER.info("No font on this machine draws every character of the title %r; the sheet shows boxes", text)
        return _font(True, size)
    raqm = features.check("raqm")
    if not raqm and _is_rtl(text):
        log.LOGGER.info("Pillow has no Raqm layout here: the sheet's right-to-left title is not shaped")
    engine = ImageFont.Layout.RAQM if raqm else ImageFont.Layout.BASIC
    return ImageFont.truetype(str(path), size, layout_engine=engine)


def _fit(draw: ImageDraw.ImageDraw, text: str, font: Any, width: float) -> str:
    """``text``, cut with an ellipsis to fit ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _size_name(size: tuple[float, float]) -> str:
    return f"{size[0] / 72 * 25.4:.0f} {_TIMES} {size[1] / 72 * 25.4:.0f} mm"


def draw_sheet(document: pdfium.PdfDocument, pages: PdfPages, plan: SheetPlan, spreads: bool) -> Image.Image:
    """Draw the sheet ``plan`` describes: title line, page thumbnails with a shadow and a border, labels."""
    px = plan.px
    sheet = Image.new("RGB", (plan.width, plan.height), _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    margin = px(_MARGIN)

    title_font, detail_font = _title_font(pages.title, px(36)), _font(False, px(22))
    title = _fit(draw, pages.title, title_font, plan.width - 2 * margin)
    if _is_rtl(pages.title):  # set from the right, as the pages of a right-to-left book run
        draw.text((plan.width - margin, margin), title, _INK, title_font, anchor="ra")
    else:
        draw.text((margin, margin), title, _INK, title_font)
    count = len(pages.labels)
    sizes = sorted(set(pages.sizes), key=pages.sizes.index)
    details = [
        f"{count} page{'s' * (count != 1)}",
        ", ".join(_size_name(s) for s in sizes[:3]) + (" and more sizes" if len(sizes) > 3 else ""),
        "spreads as the book opens" if spreads else "single pages",
        pages.path.name,
    ]
    if plan.shown < count:
        details.insert(1, f"pages {pages.labels[0]}{_DASH}{pages.labels[plan.shown - 1]} shown")
    detail = _fit(draw, "  ·  ".join(details), detail_font, plan.width - 2 * margin)
    if _is_rtl(pages.title):
        draw.text((plan.width - margin, margin + px(48)), detail, _MUTED, detail_font, anchor="ra")
    else:
        draw.text((margin, margin + px(48)), detail, _MUTED, detail_font)

    shadow = Image.new("L", sheet.size, 0)
    shadow_draw = ImageDraw.Draw(shadow)
    offset = px(3)
    for tile in plan.tiles:
        left, top, right, bottom = tile.box
        shadow_draw.rectangle((left + offset, top + offset, right + offset - 1, bottom + offset - 1), fill=70)
    sheet.paste((0, 0, 0), mask=shadow.filter(ImageFilter.GaussianBlur(px(4))))

    label_font = _font(False, px(22))
    line = px(1)
    for tile in plan.tiles:
        left, top, right, bottom = tile.box
        # Rendering at twice the size and scaling down gives smoother type than PDFium's small sizes.
        picture = _render(document, pages, tile.page, 2 * plan.scale)
        picture = picture.resize((right - left, bottom - top), Image.Resampling.LANCZOS)
        sheet.paste(picture, (left, top))
        draw.rectangle((left - line, top - line, right + line - 1, bottom + line - 1), outline=_BORDER, width=line)
        label = _fit(draw, pages.labels[tile.page], label_font, right - left)
        draw.text(((left + right) / 2, bottom + px(30)), label, _MUTED, label_font, anchor="ms")
    return sheet


# --- The command -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProofResult:
    """What ``essaybook proof`` wrote."""

    files: tuple[Path, ...]
    pages: int
    """Pages drawn (on the sheet, or one file each)."""


def _save(image: Image.Image, target: Path, dpi: int | None = None) -> None:
    with atomic_output(target) as temp:
        options: dict[str, Any] = {"dpi": (dpi, dpi)} if dpi else {}
        try:
            image.save(temp, format="PNG", **options)
        except OSError as exc:
            raise EssaybookError(f"cannot write the image: {exc}", file=_shown(target)) from None


def _wants_spreads(source: BookPdf, labels: Sequence[str]) -> bool:
    if source.book_layout is not None:
        return source.book_layout
    # Without a project: a book's body starts at arabic 1 after roman-numbered front matter.
    romans = [i for i, label in enumerate(labels) if _roman_value(label) is not None]
    return bool(romans) and any(label.isdigit() for label in labels[romans[0] :])


def proof(
    project: Path,
    *,
    pdf: Path | None = None,
    pages: str | None = None,
    output: Path | None = None,
    dpi: int = DEFAULT_DPI,
    spreads: bool | None = None,
    width: int = SHEET_WIDTH,
) -> ProofResult:
    """Write a proof of the book's PDF: a contact sheet, or with ``pages`` those pages at ``dpi``.

    The PDF is ``pdf`` when given, else ``project/dist/<slug>.pdf``, built first when missing or stale.
    The sheet goes to ``output`` (default: beside the PDF as ``<stem>-proof.png``; an existing folder takes
    that name); chosen pages go into the folder ``output`` (default: the PDF's) as ``<stem>-page-<label>.png``.
    ``spreads`` None means spreads for the book layout and single pages for an essay.
    """
    source = BookPdf(path=pdf, book_layout=None) if pdf is not None else project_pdf(project)
    stem = source.path.stem
    with open_pdf(source.path) as (document, info):
        if pages is not None:
            chosen = select_pages(pages, info.labels, source.path)
            folder = output if output is not None else source.path.parent
            files = []
            for index, name in zip(chosen, page_file_names(info.labels, chosen, stem), strict=True):
                target = folder / name
                _save(_render(document, info, index, dpi / 72), target, dpi)
                files.append(target)
            listed = ", ".join(_shown(f) for f in files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
            log.LOGGER.info("Wrote %s (%d dpi)", listed, dpi)
            return ProofResult(files=tuple(files), pages=len(files))

        use_spreads = _wants_spreads(source, info.labels) if spreads is None else spreads
        plan = plan_sheet(info.sizes, spreads=use_spreads, rtl=source.rtl, width=width)
        if plan.shown < len(info.labels):
            log.warn(
                f"the sheet has room for the first {plan.shown} of {len(info.labels)} pages; "
                "give a larger --width, or use --pages for the others",
                kind="proof-pages-left-out",
                file=_shown(source.path),
            )
        target = output if output is not None else source.path.with_name(f"{stem}-proof.png")
        if target.is_dir():
            target = target / f"{stem}-proof.png"
        _save(draw_sheet(document, info, plan, use_spreads), target)
    log.LOGGER.info(
        "Wrote %s (%d page%s%s, %d x %d px)",
        _shown(target),
        plan.shown,
        "s" * (plan.shown != 1),
        f" in {len(spread_units(plan.shown, True))} spreads" if use_spreads else "",
        plan.width,
        plan.height,
    )
    return ProofResult(files=(target,), pages=plan.shown)
