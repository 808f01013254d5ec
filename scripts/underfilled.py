"""Count a book PDF's under-filled pages: mid-chapter pages whose content ends above half the text block.

    python scripts/underfilled.py book.pdf [--list] [--fraction 0.5]

A page counts when it is neither blank, nor the last page of a chapter (the page before the next level-1
bookmark, or the book's last page), nor before the first chapter bookmark, and its lowest content (text, image
or rule; running heads and folios left out) ends above ``fraction`` of the text block's height.

The furniture and the text block are read from the PDF itself: the running heads and folios are the objects at
the top and bottom edges of many pages at the same height; the text block runs from the highest content to the
lowest content that at least 5 % of the pages reach.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

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
        index = dest.get_index() if dest is not None else None
        if item.level == 0 and index is not None:
            chapters.append((index, item.get_title()))
    return pages, sorted(chapters)


def _furniture(pages: list[Page]) -> tuple[set[float], set[float]]:
    """The tops of running heads (at the head) and the bottoms of folios (at the foot) seen on many pages."""
    heads = Counter(max(top for _, top in p.boxes) for p in pages if p.boxes)
    feet = Counter(min(bottom for bottom, _ in p.boxes) for p in pages if p.boxes)
    least = max(2, int(FURNITURE_SHARE * len(pages)))
    return {y for y, n in heads.items() if n >= least}, {y for y, n in feet.items() if n >= least}


def _body(page: Page, heads: set[float], feet: set[float]) -> list[tuple[float, float]]:
    """The page's objects less its running head and folio (each a line of objects at a furniture height)."""
    boxes = page.boxes
    if not boxes:
        return []
    top = max(t for _, t in boxes)
    if top in heads:  # the head line: every object that overlaps the head's band
        low = min(b for b, t in boxes if t == top)
        boxes = [(b, t) for b, t in boxes if t < low]
    if boxes:
        bottom = min(b for b, _ in boxes)
        if bottom in feet:
            high = max(t for b, t in boxes if b == bottom)
            boxes = [(b, t) for b, t in boxes if b > high]
    return boxes


def measure(path: Path, fraction: float = 0.5) -> Report:
    """Read ``path`` and return its under-filled pages (see the module's docstring)."""
    pages, chapters = _read(path)
    heads, feet = _furniture(pages)
    bodies = {p.index: _body(p, heads, feet) for p in pages}
    tops = sorted((max(t for _, t in b) for b in bodies.values() if b), reverse=True)
    bottoms = sorted(min(bt for bt, _ in b) for b in bodies.values() if b)
    if not tops:
        return Report(len(pages), 0, [])
    share = max(0, len(tops) // 20)
    block_top, block_bottom = tops[share], bottoms[share]
    starts = [index for index, _ in chapters]
    last_pages = {start - 1 for start in starts} | {len(pages) - 1}
    # A chapter opening on a recto may leave a blank verso before it: the chapter's last page is the one before.
    for start in starts:
        back = start - 1
        while back >= 0 and not bodies.get(back):
            back -= 1
        last_pages.add(back)
    first_chapter = starts[0] if starts else 0
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
