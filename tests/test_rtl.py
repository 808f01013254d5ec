"""A right-to-left book in print (issue 12 item 5): rectos on the left, the gutter at their right edge, running
heads and folios mirrored, indents from the right, code left to right. Read back from the PDF's geometry."""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader

from conftest import Built, build_once, epubcheck_messages
from pdfread import open_pdf, page_lines, page_text, text_in_band
from test_epub import NS, Epub

MM = 72 / 25.4
INSIDE, OUTSIDE = 22 * MM, 10 * MM
PARAGRAPH = "هذا نص عربي قصير يملأ السطر ويستمر حتى يصل إلى نهاية الصفحة. " * 3
BODY = "\n\n".join([PARAGRAPH] * 9)
TOML = f"""[book]
title = "كتاب الاختبار"
lang = "ar"
author = "مؤلف"

[pdf]
page-size = "A6"
margin-inside = "{INSIDE / MM:g}mm"
margin-outside = "{OUTSIDE / MM:g}mm"

[theme]
name = "modern"
"""
CHAPTERS = {
    "01-first.md": f"# الفصل الأول\n\n{BODY}\n\n- عنصر أول\n- عنصر ثان\n\n```\nprint('hello')\n```\n\n{BODY}\n",
    "02-second.md": f"# الفصل الثاني\n\n{BODY}\n",
}


@pytest.fixture(scope="module")
def arabic(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("rtl")
    for name, text in {"book.toml": TOML, **CHAPTERS}.items():
        (root / "manuscript").mkdir(exist_ok=True)
        (root / "manuscript" / name).write_text(text, encoding="utf-8")
    return build_once(root)


def _body_lines(path: Path, reader: PdfReader, index: int) -> list[tuple[str, float, float, float]]:
    """The lines of the text block (the head and the foot left out)."""
    height = float(reader.pages[index].mediabox.height)
    return [line for line in page_lines(path, index) if 0.09 * height < line[3] < 0.91 * height]


def _foot(path: Path, reader: PdfReader, index: int) -> tuple[str, float, float, float]:
    height = float(reader.pages[index].mediabox.height)
    [line] = [line for line in page_lines(path, index) if line[3] < 0.09 * height]
    return line


def test_chapters_open_on_the_left_hand_rectos(arabic: Built) -> None:
    reader = open_pdf(arabic.pdf)
    labels = reader.page_labels
    # The first page is a left-hand page (a recto of a book bound on the right): rectos have even indexes.
    openings = [labels.index("1"), next(i for i in range(len(labels)) if "الفصل الثاني" in page_text(reader, i)[:30])]
    assert all(index % 2 == 0 for index in openings), openings
    blank = [i for i in range(len(labels)) if not page_text(reader, i).strip()]
    assert blank and all(index % 2 == 1 for index in blank), blank  # the blank pages are versos, on the right
    with pikepdf.open(arabic.pdf) as pdf:  # a viewer shows the spreads from the right
        assert pdf.Root.ViewerPreferences.Direction == "/R2L"


def test_the_gutter_is_at_the_right_of_left_hand_pages(arabic: Built) -> None:
    reader = open_pdf(arabic.pdf)
    opening = reader.page_labels.index("1")
    width = float(reader.pages[opening].mediabox.width)
    # The text is set flush right, ragged left (modern): its right edge is the text block's.
    for index in (opening + 1, opening + 2):  # a verso (right-hand) and a recto (left-hand) page of text
        lines = _body_lines(arabic.pdf, reader, index)
        left, right = min(line[1] for line in lines), max(line[2] for line in lines)
        margin = OUTSIDE if index % 2 else INSIDE
        assert width - right == pytest.approx(margin, abs=1.5), (index, left, right)
        assert left > width - right if index % 2 else left < width - right, (index, left, right)


def test_running_heads_and_folios_are_mirrored(arabic: Built) -> None:
    reader = open_pdf(arabic.pdf)
    labels = reader.page_labels
    opening = labels.index("1")
    width = float(reader.pages[opening].mediabox.width)
    assert text_in_band(reader, opening, top=True) == ""  # no head where the chapter opens
    assert _foot(arabic.pdf, reader, opening)[0] == "1"  # its folio at the foot
    verso, recto = opening + 1, opening + 2
    assert text_in_band(reader, recto, top=True) == "الفصل الأول"  # the chapter on a recto (left-hand page)
    assert text_in_band(reader, verso, top=True) == "كتاب الاختبار"  # the book on a verso (right-hand page)
    # Folios at the outer corner: the left edge of a left-hand page, the right edge of a right-hand one.
    for index in (opening, verso, recto):
        _, left, right, _ = _foot(arabic.pdf, reader, index)
        if index % 2:
            assert right == pytest.approx(width - OUTSIDE, abs=1.5)
        else:
            assert left == pytest.approx(OUTSIDE, abs=1.5)


def test_lists_indent_from_the_right_and_code_stays_left_to_right(arabic: Built) -> None:
    reader = open_pdf(arabic.pdf)
    index = next(i for i in range(len(reader.pages)) if "print('hello')" in page_text(reader, i))
    lines = _body_lines(arabic.pdf, reader, index)
    text_right = max(line[2] for line in lines)
    text_left = min(line[1] for line in lines)
    # Lines read left to right as printed: each item's dash is at its right end, inside the text block (in the
    # list's indent; with the indent on the left, the dash would hang outside the block at the right).
    items = [line for line in lines if line[0].endswith("\u2013")]
    assert len(items) == 2, lines
    for _, _, right, _ in items:
        assert 2 < text_right - right < 9.5 * 1.4, items
    [code] = [line for line in lines if "hello" in line[0]]
    # In its own order, not reordered right to left (pdfium reads the closing bracket of a /Direction /R2L
    # document mirrored; the PDF's own text has it right).
    assert code[0].startswith("print('hello'") and "print('hello')" in page_text(reader, index)
    assert code[1] - text_left < 12  # set from the left, inside the block's padding


def test_the_epub_marks_code_left_to_right(arabic: Built) -> None:
    """EPUB style sheets may not set `direction`: a code block of a right-to-left chapter carries dir="ltr"."""
    epub = Epub(arabic.epub)
    chapter = epub.xml("text/chapter-01-first.xhtml")
    [pre] = chapter.iter(f"{{{NS['x']}}}pre")
    assert chapter.get("dir") == "rtl" and pre.get("dir") == "ltr"
    assert epubcheck_messages(arabic.epub) == []


def test_the_copyright_block_starts_at_the_right(arabic: Built) -> None:
    """The copyright page's block is as wide as the text block, so its lines start at its right edge (an absolute
    box without left and right sat at the left, its right-aligned lines ending half-way across)."""
    reader = open_pdf(arabic.pdf)
    index = next(i for i in range(len(reader.pages)) if "essaybook" in page_text(reader, i))
    width = float(reader.pages[index].mediabox.width)
    margin = OUTSIDE if index % 2 else INSIDE
    lines = page_lines(arabic.pdf, index)
    assert len(lines) >= 3
    for text, _, right, _ in lines:
        assert width - right == pytest.approx(margin, abs=1.5), text


def test_contents_entries_start_under_the_contents_title(arabic: Built) -> None:
    """The chapters' lines of the contents start at the text block's right edge, like its title (the right-to-left
    list indent of common.css once pushed them 1.6 em in)."""
    reader = open_pdf(arabic.pdf)
    index = next(i for i in range(len(reader.pages)) if "المحتويات" in page_text(reader, i))
    title, *entries = [line for line in _body_lines(arabic.pdf, reader, index)]
    assert len(entries) == 2
    for _, _, right, _ in entries:
        assert right == pytest.approx(title[2], abs=1.0)


@pytest.fixture(scope="module")
def arabic_classic(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("rtl-classic")
    (root / "manuscript").mkdir()
    toml = TOML.replace('name = "modern"', 'name = "classic"')
    for name, text in {"book.toml": toml, **CHAPTERS}.items():
        (root / "manuscript" / name).write_text(text, encoding="utf-8")
    return build_once(root)


def test_classic_sets_arabic_flush_right_with_indents_on_the_right(arabic_classic: Built) -> None:
    """Justified, WeasyPrint left the lines of an Arabic paragraph short of both edges (its letters come from a
    fallback font) and put the first-line indent at the left, where it hid: the classic theme sets right-to-left
    text flush right, ragged left, each paragraph after the first indented 1.2 em from the right."""
    reader = open_pdf(arabic_classic.pdf)
    index = reader.page_labels.index("1") + 1  # a verso full of paragraphs, bound at its left edge
    width = float(reader.pages[index].mediabox.width)
    edge, indent = width - OUTSIDE, 1.2 * 10.5
    rights = [round(right - edge, 1) for _, _, right, _ in _body_lines(arabic_classic.pdf, reader, index)]
    assert rights and all(r == pytest.approx(0, abs=1.0) or r == pytest.approx(-indent, abs=1.0) for r in rights)
    assert sum(r == pytest.approx(-indent, abs=1.0) for r in rights) >= 2, rights  # paragraphs begin here
