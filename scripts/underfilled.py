"""Count a book PDF's under-filled pages: pages whose text ends in the upper half, not a chapter's last page.

A page's text is its words (``pdftotext -bbox``, from poppler) less the folio and running head in the top and
bottom tenths of the page. A chapter opens on a page where a top-level outline entry begins whose tallest word is
as tall as the tallest on any such page (a chapter title, not a section's: a section file laid out as a chapter
of its own has a top-level entry too, but a smaller title). A chapter's last page is the page before the next
chapter opens, blank pages between them skipped. Blank pages, and the pages before the first chapter (half-title,
title, copyright, contents), do not count.

    python scripts/underfilled.py book.pdf [--list] [--until N]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

from pypdf import PdfReader

_PAGE_RE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.S)
_WORD_RE = re.compile(r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">')
MARGIN = 0.1
"""The share of the page height at the top and at the bottom where the folio and running heads are."""


def pages(pdf: Path) -> list[tuple[float | None, float]]:
    """For each page: where its last line of text ends, as a share of the page height from the top (None: no
    text), and the height of its tallest word."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    found: list[tuple[float | None, float]] = []
    for _width, height, body in _PAGE_RE.findall(out):
        h = float(height)
        words = [(float(y_min) / h, float(y_max) / h) for y_min, y_max in _WORD_RE.findall(body)]
        words = [(top, bottom) for top, bottom in words if top > MARGIN and bottom < 1 - MARGIN]
        end = max((bottom for _, bottom in words), default=None)
        found.append((end, max((bottom - top for top, bottom in words), default=0.0)))
    return found


def chapter_starts(pdf: Path) -> set[int]:
    """0-based pages where a top-level outline entry (a chapter, a part) begins."""
    reader = PdfReader(str(pdf))
    starts = set()
    for item in reader.outline:
        if not isinstance(item, list):
            try:
                starts.add(reader.get_destination_page_number(item))
            except Exception:  # an entry without a page
                continue
    return starts


def underfilled(pdf: Path) -> tuple[int, list[int]]:
    """(pages, the 1-based numbers of the under-filled pages)."""
    found_pages = pages(pdf)
    ends = [end for end, _ in found_pages]
    entries = chapter_starts(pdf)
    tallest = max((found_pages[i][1] for i in entries), default=0.0)
    starts = {i for i in entries if found_pages[i][1] >= 0.9 * tallest}
    found = []
    first = min(starts, default=0)
    for index, end in enumerate(ends):
        if index < first or end is None or end >= 0.5:
            continue
        following = index + 1
        while following < len(ends) and ends[following] is None and following not in starts:
            following += 1  # blank pages before a recto
        if following >= len(ends) or following in starts:
            continue  # a chapter's (or the book's) last page
        found.append(index + 1)
    return len(ends), found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdf", type=Path)
    parser.add_argument("--list", action="store_true", help="List the under-filled pages.")
    parser.add_argument("--until", type=int, default=None, metavar="N", help="Count pages 1 to N only.")
    args = parser.parse_args()
    pages, found = underfilled(args.pdf)
    if args.until is not None:
        pages, found = min(pages, args.until), [page for page in found if page <= args.until]
    print(f"{args.pdf}: {pages} pages, {len(found)} under-filled")
    if args.list:
        print(" ".join(map(str, found)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
