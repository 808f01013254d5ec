"""Page filling (issue 12, item 4): long tables and code blocks break across pages (a table repeating its header
row) instead of leaving a page half empty, a heading keeps two lines of what follows, a definition term stays
with its definition, and an image in a table cell is scaled down to a thumbnail."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pypdfium2
import pypdfium2.raw as pdfium_c
import pytest
from PIL import Image

from essaybook import log
from essaybook.commands.build import build

from conftest import EPOCH, REPO
from pdfread import open_pdf, page_lines, page_text

TABLE_ROWS = 70
CODE_LINES = 70
TERMS = 24


def _chapter() -> str:
    intro = "This paragraph opens the chapter and fills a few lines of the first page before the table. " * 4
    rows = "\n".join(f"| item {n:02} | value {n * 7} |" for n in range(1, TABLE_ROWS + 1))
    code = "\n".join(f"let line_{n:02} = {n};" for n in range(1, CODE_LINES + 1))
    prose = "A line of prose that keeps the reader company between two headings of the chapter. "
    sections = "\n\n".join(f"## Section {n}\n\n" + prose * (2 + (n * 5) % 9) for n in range(1, 13))
    terms = "\n\n".join(
        f"Term {n:02}\n:   The definition of term {n:02}, " + "which runs on for a line or two. " * (1 + n % 4)
        for n in range(1, TERMS + 1)
    )
    before = "A paragraph of the section that the figure belongs to, written before the figure. " * 12
    after = "\n\n".join(
        f"After the figure, paragraph {n}: " + "it goes on about the figure. " * 9 for n in (1, 2, 3, 4)
    )
    caption = '<span class="caption">Figure 1: A tall figure, captioned in a paragraph of its own</span>'
    figure = f"{before}\n\n![A tall figure](images/tall.png)\n\n{caption}\n\n{after}"
    icons = "\n".join(f'| <img src="images/icon.png" alt="Icon {n}"/> | Icon {n} |' for n in range(1, 4))
    return (
        f"# Filling\n\n{figure}\n\n## Table\n\n{intro}\n\n| Name | Amount |\n|------|--------|\n{rows}\n\n{intro}\n\n"
        f"```\n{code}\n```\n\n{sections}\n\n## Terms\n\n{terms}\n\n## Icons\n\n| Icon | Meaning |\n|---|---|\n{icons}\n"
    )


def _build(root: Path, theme: str) -> Path:
    manuscript = root / "manuscript"
    (manuscript / "images").mkdir(parents=True)
    (manuscript / "book.toml").write_text(
        f'[book]\ntitle = "Filling"\nauthor = "A. Writer"\nlang = "en"\n\n[theme]\nname = "{theme}"\n',
        encoding="utf-8",
    )
    (manuscript / "01-filling.md").write_text(_chapter(), encoding="utf-8")
    # Large enough to print sharp at any size up to the text width: only the cap in a table cell makes it small.
    Image.new("RGB", (1600, 1600), (200, 60, 40)).save(manuscript / "images" / "icon.png")
    Image.new("RGB", (1400, 2400), (60, 90, 160)).save(manuscript / "images" / "tall.png")
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    log.setup(verbosity=-1)
    result = build(root, epub=False)
    assert log.warnings_seen() == []
    assert result.pdf is not None
    return result.pdf.path


@pytest.fixture(scope="module", params=["classic", "modern"])
def filled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp(f"filling-{request.param}"), request.param)


def _underfilled() -> ModuleType:
    spec = importlib.util.spec_from_file_location("underfilled", REPO / "scripts" / "underfilled.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["underfilled"] = module
    spec.loader.exec_module(module)
    return module


def _lines(pdf: Path) -> list[list[str]]:
    """Each page's printed lines, top to bottom, spaces removed."""
    count = len(open_pdf(pdf).pages)
    return [["".join(text.split()) for text, _, _, _ in page_lines(pdf, index)] for index in range(count)]


def test_a_long_table_breaks_with_its_header_row_repeated(filled: Path) -> None:
    pages = _lines(filled)
    holding = [n for n, lines in enumerate(pages) if any(line.startswith("item") for line in lines)]
    assert len(holding) >= 2, "the table fits one page: make it longer"
    # It starts on the page where the paragraph before it ends (not moved whole to the next page).
    first = pages[holding[0]]
    header = next(i for i, line in enumerate(first) if line.lower() == "nameamount")
    assert header > 0 and first[header - 1].endswith("beforethetable.")
    for n in holding:
        header = next(i for i, line in enumerate(pages[n]) if line.lower() == "nameamount")
        first_row = next(i for i, line in enumerate(pages[n]) if line.startswith("item"))
        assert header < first_row
    rows = [line for n in holding for line in pages[n] if line.startswith("item")]
    assert len(rows) == TABLE_ROWS  # each row once, none cut


def test_a_long_code_block_breaks_where_the_page_ends(filled: Path) -> None:
    pages = _lines(filled)
    holding = [n for n, lines in enumerate(pages) if any(line.startswith("letline_") for line in lines)]
    assert len(holding) >= 2
    assert sum(line.startswith("letline_") for n in holding for line in pages[n]) == CODE_LINES
    # At least three lines on each side of the break (pre's orphans and widows).
    assert all(sum(line.startswith("letline_") for line in pages[n]) >= 3 for n in holding)


def test_headings_keep_two_lines_of_what_follows(filled: Path) -> None:
    for lines in _lines(filled):
        for at, line in enumerate(lines):
            if (line.startswith("Section") and line[7:].isdigit()) or line in ("Table", "Terms", "Icons"):
                below = [text for text in lines[at + 1 :] if not text.isdigit()]  # less a folio
                assert len(below) >= 2, f"{line} is stranded at a page foot"


def test_a_definition_term_stays_with_its_definition(filled: Path) -> None:
    reader = open_pdf(filled)
    texts = ["".join(page_text(reader, n).split()) for n in range(len(reader.pages))]
    for n in range(1, TERMS + 1):
        term = next(i for i, text in enumerate(texts) if f"Term{n:02}" in text.replace(f"term{n:02}", ""))
        assert f"Thedefinitionofterm{n:02}," in texts[term], f"term {n:02} is parted from its definition"


def test_an_image_in_a_table_prints_as_a_thumbnail(filled: Path) -> None:
    document = pypdfium2.PdfDocument(str(filled))
    try:
        heights = []
        for page in document:
            page_height = page.get_height()
            for image in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,)):
                _, bottom, _, top = image.get_bounds()
                heights.append((top - bottom) / page_height)
    finally:
        document.close()
    assert len(heights) == 4  # the three icons and the tall figure
    assert sorted(heights)[2] <= 0.121


def test_no_mid_chapter_page_is_left_half_empty(filled: Path) -> None:
    report = _underfilled().measure(filled)
    assert report.counted >= 3
    assert report.under == []


def test_text_flows_on_before_a_figure_that_does_not_fit(filled: Path) -> None:
    document = pypdfium2.PdfDocument(str(filled))
    try:
        tall = next(
            index
            for index, page in enumerate(document)
            for image in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,))
            if image.get_bounds()[3] - image.get_bounds()[1] > 0.3 * page.get_height()
        )
    finally:
        document.close()
    pages = _lines(filled)
    # The text written after the figure fills the page the figure did not fit on; the figure follows it.
    assert any(line.startswith("Afterthefigure,paragraph1") for line in pages[tall - 1])
    # Its caption, written as a paragraph under it, goes with it.
    assert any(line.startswith("Figure1:Atallfigure") for line in pages[tall])
    from essaybook.layout.filling import GAP_SHARE

    full = _underfilled().measure(filled, fraction=1 - GAP_SHARE)  # what a figure may leave empty: less than this
    assert tall - 1 not in [page.index for page, _, _ in full.under]


def test_only_short_blocks_are_kept_whole() -> None:
    from lxml import etree

    from essaybook.compose import KEEP_LINES, _keep_short_blocks

    def code(lines: int) -> str:
        return "<pre><code>" + "\n".join(f"line {n}" for n in range(lines)) + "\n</code></pre>"

    def table(rows: int) -> str:
        return "<table>" + "<tr><td>x</td></tr>" * rows + "</table>"

    root = etree.fromstring(
        "<div>"
        + code(KEEP_LINES)
        + code(KEEP_LINES + 1)
        + table(KEEP_LINES)
        + table(KEEP_LINES + 1)
        + '<figure class="wide"><img src="a.png" alt="a"/></figure>'
        + "<figure><figcaption>Listing</figcaption>"
        + code(KEEP_LINES + 4)
        + "</figure>"
        + '<div class="admonition"><p>short</p></div>'
        + '<div class="admonition"><p>'
        + "long " * 200
        + "</p></div></div>"
    )
    _keep_short_blocks(root)
    kept = [(element.tag, "keep-whole" in (element.get("class") or "")) for element in root]
    assert kept == [
        ("pre", True),
        ("pre", False),
        ("table", True),
        ("table", False),
        ("figure", True),
        ("figure", False),
        ("div", True),
        ("div", False),
    ]
    assert root[4].get("class") == "wide keep-whole"


def test_a_caption_written_as_a_paragraph_keeps_its_figure_in_place() -> None:
    from essaybook.layout.filling import _is_caption

    assert _is_caption('<p><span class="caption">Figure 4-2: The representation</span></p>')
    assert _is_caption("<p>Figure 3: A map of the coast</p>")
    assert _is_caption("<p><em>Listing 7-21</em>: the new file</p>")
    assert not _is_caption("<p>Figures of speech are the subject of this chapter.</p>")
