"""Reading a PDF back the way a reader or a checker does (pypdf)."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypdf import PdfReader


@dataclass
class OutlineItem:
    title: str
    page: int
    depth: int


def outline(reader: PdfReader) -> list[OutlineItem]:
    items: list[OutlineItem] = []

    def walk(nodes: list[Any], depth: int) -> None:
        for node in nodes:
            if isinstance(node, list):
                walk(node, depth + 1)
            else:
                items.append(OutlineItem(str(node.title), reader.get_destination_page_number(node), depth))

    walk(reader.outline, 0)
    return items


def page_text(reader: PdfReader, index: int) -> str:
    return reader.pages[index].extract_text() or ""


def fonts(reader: PdfReader) -> dict[str, bool]:
    """BaseFont name -> whether its program is embedded, for every font used on every page."""
    found: dict[str, bool] = {}
    for page in reader.pages:
        resources = page.get("/Resources")
        if resources is None:
            continue
        font_dict = resources.get_object().get("/Font")
        if font_dict is None:
            continue
        for ref in font_dict.get_object().values():
            font = ref.get_object()
            name = str(font.get("/BaseFont"))
            descriptor = font.get("/FontDescriptor")
            if descriptor is None and "/DescendantFonts" in font:
                descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            embedded = descriptor is not None and any(
                key in descriptor.get_object() for key in ("/FontFile", "/FontFile2", "/FontFile3")
            )
            found[name] = embedded
    return found


def folio(reader: PdfReader, index: int) -> str:
    """The page number printed at the foot of page ``index`` (last word of the page's text)."""
    words = page_text(reader, index).split()
    return words[-1] if words else ""


_TOC_LINE = re.compile(r"^(?P<title>.+?)[\s.]*?\s*(?P<number>[0-9]+|[ivxlc]+)$")


def toc_numbers(text: str) -> list[tuple[str, str]]:
    """(entry title, printed page number) in order, from the text of a table-of-contents page."""
    result = []
    for line in text.splitlines():
        match = _TOC_LINE.match(line.strip())
        if match and ". ." in line:  # entries have dot leaders; the folio line does not
            title = re.sub(r"[\s.]+$", "", match.group("title")).strip()
            result.append((title, match.group("number")))
    return result


def text_in_band(reader: PdfReader, index: int, top: bool, band: float = 0.09) -> str:
    """Text drawn in the top (or bottom) ``band`` of the page height: running heads, folios."""
    page = reader.pages[index]
    height = float(page.mediabox.height)
    parts: list[str] = []

    def visit(text: str, cm: Any, tm: Any, _font: Any, _size: Any) -> None:
        y = tm[5] * cm[3] + cm[5]
        if text.strip() and ((y > height * (1 - band)) if top else (y < height * band)):
            parts.append(text)

    page.extract_text(visitor_text=visit)
    return " ".join("".join(parts).split())


def open_pdf(path: Path) -> PdfReader:
    return PdfReader(str(path))


def horizontal_rules(path: Path, index: int, dpi: int = 100) -> list[tuple[float, float]]:
    """Solid horizontal lines on page ``index`` as (start, end) fractions of the page width, top to bottom.

    A rule is a pixel row holding one dark run at least 30 px long (text never makes runs that long).
    """
    import pypdfium2

    document = pypdfium2.PdfDocument(str(path))
    try:
        image = document[index].render(scale=dpi / 72, grayscale=True).to_pil()
    finally:
        document.close()
    width, height = image.size
    pixels = image.load()
    rules: list[tuple[float, float]] = []
    for y in range(height):
        runs, start = [], None
        for x in range(width):
            dark = pixels[x, y] < 128  # type: ignore[index]
            if dark and start is None:
                start = x
            elif not dark and start is not None:
                runs.append((start, x))
                start = None
        long_runs = [(a, b) for a, b in runs if b - a >= 30]
        if len(long_runs) == 1:
            span = (long_runs[0][0] / width, long_runs[0][1] / width)
            if not rules or abs(rules[-1][0] - span[0]) > 0.01 or abs(rules[-1][1] - span[1]) > 0.01:
                rules.append(span)
    return rules


def text_lines(path: Path, index: int) -> list[tuple[str, float, float, float]]:
    """The text runs pdfium finds on page ``index``, top to bottom: (text, left, right, baseline box bottom) in
    points from the page's lower left corner."""
    import pypdfium2

    document = pypdfium2.PdfDocument(str(path))
    try:
        textpage = document[index].get_textpage()
        runs = []
        for number in range(textpage.count_rects()):
            left, bottom, right, top = textpage.get_rect(number)
            text = textpage.get_text_bounded(left, bottom, right, top).strip()
            if text:
                runs.append((text, left, right, bottom))
        textpage.close()
    finally:
        document.close()
    return sorted(runs, key=lambda run: -run[3])


def page_lines(path: Path, index: int) -> list[tuple[str, float, float, float]]:
    """The printed lines of page ``index``, top to bottom: (text, left, right, bottom) in points. Characters
    are grouped by the foot of their loose boxes (the font's descent, the same for every glyph of a line) and
    read left to right; pdfium's own runs break at every change of font or colour and may interleave."""
    import pypdfium2

    document = pypdfium2.PdfDocument(str(path))
    chars: list[tuple[str, float, float, float]] = []
    try:
        textpage = document[index].get_textpage()
        for number in range(textpage.count_chars()):
            char = textpage.get_text_range(number, 1)
            left, bottom, right, _ = textpage.get_charbox(number, loose=True)
            if char.strip() and char != "\u200b":
                chars.append((char, left, right, bottom))
        textpage.close()
    finally:
        document.close()
    lines: list[list[tuple[str, float, float, float]]] = []
    for char in sorted(chars, key=lambda c: -c[3]):
        line = next((line for line in lines if abs(line[0][3] - char[3]) < 2), None)
        if line is None:
            lines.append([char])
        else:
            line.append(char)
    result = []
    for line in lines:
        line.sort(key=lambda c: c[1])
        text = line[0][0]
        for previous, char in itertools.pairwise(line):
            text += (" " if char[1] - previous[2] > 1.5 else "") + char[0]
        result.append((text, line[0][1], max(c[2] for c in line), min(c[3] for c in line)))
    return result
