"""Count a book PDF's under-filled pages: mid-chapter pages whose content ends above half the text block.

    python scripts/underfilled.py book.pdf [--list] [--fraction 0.5]

A page counts when it is neither blank, nor the last page of a chapter (the page before a blank page or before
a chapter's opening, which has no running head or a first line sunk below the text block's top, or the book's
last page), nor before the first chapter bookmark, and its lowest content (text, image or rule; running heads
and folios left out) ends above ``fraction`` of the text block's height.

The furniture and the text block are read from the PDF itself: the running heads and folios are the objects at
the top and bottom edges of many pages at the same height (within 1.5 pt); the text block's top is where most
pages begin, its foot the lowest content that at least 5 % of the pages reach.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

SINK = 0.1
"""A page whose content starts this share of the text block's height below its top opens a chapter."""
FURNITURE_SHARE = 0.15
"""A band (top or bottom edge of a page's content, to the point) on at least this share of pages is furniture."""


@dataclass
class Page:
    index: int
    label: str
    boxes: list[tuple[float, float]]  # (bottom, top) of each content object, PDF points from the page foot
    first_text: str


@dataclass
class Report:
    pages: int
    counted: int
    under: list[tuple[Page, float, str]]  # page, its fill (0..1), the chapter it is in


def _read(path: Path) -> tuple[list[Page], list[tuple[int, str]]]:
    pdf = pdfium.PdfDocument(str(path))
    pages: list[Page] = []
    for index in range(len(pdf)):
        page = pdf[index]
        width, height = page.get_size()
        boxes: list[tuple[float, float]] = []
        kinds = (pdfium_c.FPDF_PAGEOBJ_TEXT, pdfium_c.FPDF_PAGEOBJ_IMAGE, pdfium_c.FPDF_PAGEOBJ_PATH)
        for obj in page.get_objects(filter=kinds):
            left, bottom, right, top = obj.get_bounds()
            if (right - left) * (top - bottom) >= 0.8 * width * height:
                continue  # a page-sized background or cover image
            boxes.append((round(bottom, 1), round(top, 1)))
        text = page.get_textpage().get_text_range()
        first = next((line.strip() for line in text.splitlines() if line.strip()), "")
        label = pdf.get_page_label(index) or str(index + 1)
        pages.append(Page(index, label, boxes, first[:60]))
    chapters: list[tuple[int, str]] = []
    for item in pdf.get_toc():
        dest = item.get_dest()
        at = dest.get_index() if dest is not None else None
        if item.level == 0 and at is not None:
            chapters.append((int(at), item.get_title()))
    return pages, sorted(chapters)


def _furniture(pages: list[Page]) -> tuple[set[int], set[int]]:
    """The tops of running heads (at the head) and the bottoms of folios (at the foot) seen on many pages."""
    heads = Counter(round(max(top for _, top in p.boxes)) for p in pages if p.boxes)
    feet = Counter(round(min(bottom for bottom, _ in p.boxes)) for p in pages if p.boxes)
    least = max(2, int(FURNITURE_SHARE * len(pages)))
    return {y for y, n in heads.items() if n >= least}, {y for y, n in feet.items() if n >= least}


def _near(y: float, bands: set[int]) -> bool:
    return any(abs(y - band) <= 1.5 for band in bands)


def _body(page: Page, heads: set[int], feet: set[int]) -> list[tuple[float, float]]:
    """The page's objects less its running head and folio (each a line of objects at a furniture height)."""
    boxes = page.boxes
    if not boxes:
        return []
    top = max(t for _, t in boxes)
    if _near(top, heads):  # the head line: every object that overlaps the head's band
        low = min(b for b, t in boxes if t == top)
        boxes = [(b, t) for b, t in boxes if t < low]
    if boxes:
        bottom = min(b for b, _ in boxes)
        if _near(bottom, feet):
            high = max(t for b, t in boxes if b == bottom)
            boxes = [(b, t) for b, t in boxes if b > high]
    return boxes


def measure(path: Path, fraction: float = 0.5) -> Report:
    """Read ``path`` and return its under-filled pages (see the module's docstring)."""
    pages, chapters = _read(path)
    heads, feet = _furniture(pages)
    bodies = {p.index: _body(p, heads, feet) for p in pages}
    tops = Counter(round(max(t for _, t in b)) for b in bodies.values() if b)
    bottoms = sorted(min(bt for bt, _ in b) for b in bodies.values() if b)
    if not tops:
        return Report(len(pages), 0, [])
    # A full page's first line sits at the block's top: the commonest top. Its foot: the lowest one that at
    # least 5 % of the pages reach.
    block_top, block_bottom = tops.most_common(1)[0][0], bottoms[len(bottoms) // 20]
    height = block_top - block_bottom

    headed = {p.index for p in pages if heads and any(_near(t, heads) for _, t in p.boxes)}

    def opens_chapter(index: int) -> bool:
        """A chapter opening has no running head, or sinks its first line well below the text block's top; or
        the page is blank."""
        body = bodies.get(index)
        return not body or index not in headed or max(t for _, t in body) < block_top - SINK * height

    # The last page of a chapter is followed by a blank page or by the next chapter's opening. (The bookmarks
    # cannot say where a chapter ends: a chapter's sections may be bookmarked at its own level.)
    last_pages = {index for index in range(len(pages)) if index + 1 == len(pages) or opens_chapter(index + 1)}
    first_chapter = chapters[0][0] if chapters else 0
    under: list[tuple[Page, float, str]] = []
    counted = 0
    for page in pages:
        body = bodies[page.index]
        if page.index < first_chapter or page.index in last_pages or not body:
            continue
        counted += 1
        lowest = min(b for b, _ in body)
        fill = (block_top - lowest) / (block_top - block_bottom)
        if fill < fraction:
            chapter = next((title for index, title in reversed(chapters) if index <= page.index), "")
            under.append((page, fill, chapter))
    return Report(len(pages), counted, under)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdf", type=Path)
    parser.add_argument("--fraction", type=float, default=0.5, help="filled less than this counts (default 0.5)")
    parser.add_argument("--list", action="store_true", help="list each under-filled page and what follows it")
    args = parser.parse_args(argv)
    report = measure(args.pdf, args.fraction)
    if args.list:
        pages, _ = _read(args.pdf) if report.under else ([], [])
        for page, fill, chapter in report.under:
            after = pages[page.index + 1].first_text if page.index + 1 < len(pages) else ""
            print(f"p. {page.label:>5} (pdf {page.index + 1:>4}) {fill:4.0%} filled  [{chapter[:40]}]  next: {after}")
    print(f"{len(report.under)} under-filled of {report.counted} mid-chapter pages ({report.pages} pages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
