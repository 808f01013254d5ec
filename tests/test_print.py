"""Parts, print production (bleed at the outer edges, presets, the print cover) and image resolution (issue 12,
items 6-8), read back from tests/books/parts: a kdp-6x9 book with two parts, front and back matter."""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pikepdf
import pytest

from essaybook.commands.cover import geometry, make_cover
from essaybook.config import load_config
from essaybook.errors import ConfigErrors
from essaybook.production import PAPERS, PRESETS

from conftest import Books, Built, epubcheck_messages
from pdfread import open_pdf, outline, page_lines, page_text, text_in_band

XHTML = "{http://www.w3.org/1999/xhtml}"
INCH = 72.0


@pytest.fixture(scope="session")
def parts(build_book: Books) -> Built:
    """tests/books/parts: a book in two parts with a preface and an appendix."""
    return build_book("parts")


def _index_of(reader: object, text: str) -> int:
    pages = [page_text(reader, i) for i in range(len(reader.pages))]  # type: ignore[attr-defined]
    return next(i for i, t in enumerate(pages) if t.strip().startswith(text))


# --- Parts -------------------------------------------------------------------------------------------------


def test_part_pages_open_on_rectos_without_folio_and_count(parts: Built) -> None:
    reader = open_pdf(parts.pdf)
    labels = reader.page_labels
    first, second = _index_of(reader, "Part I\n"), _index_of(reader, "Part II")
    for index in (first, second):
        assert index % 2 == 0, "a part opens on a right-hand page"
        assert text_in_band(reader, index, top=False) == "" and text_in_band(reader, index, top=True) == ""
        assert page_text(reader, index + 1).strip() == "", "the part page's verso is blank"
    assert "The Near Shore" in page_text(reader, first) and "walk the harbour" in page_text(reader, first)
    # The body begins with Part I: it is page 1, its blank verso 2, the first chapter 3 (and prints it).
    assert labels[first] == "1"
    lighthouse = _index_of(reader, "The Lighthouse")
    assert labels[lighthouse] == "3" and text_in_band(reader, lighthouse, top=False) == "3"
    assert labels[first - 1] != "1" and labels[second] == "7"


def test_a_part_introduction_stands_on_the_titles_axis(parts: Built) -> None:
    """The introduction under a centred part title is a narrower block centred on the same axis, not body text
    at the full measure flush with the left margin."""
    reader = open_pdf(parts.pdf)
    index = next(i for i in range(len(reader.pages)) if "The Near Shore" in page_text(reader, i)[:40])
    label, title, first, *_ = page_lines(parts.pdf, index)
    axis = (title[1] + title[2]) / 2
    assert (label[1] + label[2]) / 2 == pytest.approx(axis, abs=1.0)
    assert (first[1] + first[2]) / 2 == pytest.approx(axis, abs=1.0)  # a full, justified line of the block
    with pikepdf.open(parts.pdf) as pdf:
        trim = [float(v) for v in pdf.pages[index].obj.TrimBox]
    measure = trim[2] - trim[0] - 35 * 72 / 25.4  # the default inside (20 mm) and outside (15 mm) margins
    assert first[2] - first[1] == pytest.approx(0.8 * measure, abs=1.0)


def test_contents_and_outline_nest_the_chapters_of_each_part(parts: Built) -> None:
    reader = open_pdf(parts.pdf)
    items = [(i.title, i.depth) for i in outline(reader)]
    assert items == [
        ("Preface", 0),
        ("Part I: The Near Shore", 0),
        ("The Lighthouse", 1),
        ("The lamp", 2),
        ("The Market", 1),
        ("Part II: The Far Shore", 0),
        ("The Crossing", 1),
        ("Tide Tables", 0),  # back matter is in no part
    ]
    contents = page_lines(parts.pdf, _index_of(reader, "Contents"))
    left = {text.split(".")[0].strip(): start for text, start, _, _ in contents}
    part, chapter, appendix = left["Part I The Near Shore"], left["The Lighthouse"], left["Tide Tables"]
    assert chapter > part + 5 and abs(appendix - part) < 0.5


def test_epub_navigation_nests_parts_and_is_valid(parts: Built) -> None:
    with zipfile.ZipFile(parts.epub) as epub:
        nav = ET.fromstring(epub.read("EPUB/nav.xhtml"))
        part_page = next(n for n in epub.namelist() if n.endswith(".xhtml") and b'epub:type="part"' in epub.read(n))
        opening = ET.fromstring(epub.read(part_page))
    toc = next(n for n in nav.iter(f"{XHTML}nav") if n.get("id") == "toc")
    top = toc.find(f"{XHTML}ol")
    assert top is not None
    entries = [("".join(li.find(f"{XHTML}a").itertext()), li) for li in top.findall(f"{XHTML}li")]  # type: ignore[union-attr]
    assert [title for title, _ in entries] == [
        "Preface",
        "Part I: The Near Shore",
        "Part II: The Far Shore",
        "Tide Tables",
    ]
    children = entries[1][1].findall(f"{XHTML}ol/{XHTML}li/{XHTML}a")
    assert ["".join(a.itertext()) for a in children] == ["The Lighthouse", "The Market"]
    section = next(s for s in opening.iter(f"{XHTML}section"))
    assert section.get("role") == "doc-part" and section.get("aria-label") == "Part I: The Near Shore"
    assert epubcheck_messages(parts.epub) == []


# --- Print production --------------------------------------------------------------------------------------


def test_bleed_is_at_the_three_outer_edges_only(parts: Built) -> None:
    bleed = 0.125 * INCH
    with pikepdf.open(parts.pdf) as pdf:
        for index, page in enumerate(pdf.pages):
            media = [float(v) for v in page.MediaBox]
            trim = [float(v) for v in page.TrimBox]
            assert [float(v) for v in page.BleedBox] == media
            assert trim == [0, 0, 6 * INCH, 9 * INCH]  # kdp-6x9
            assert media[1] == -bleed and media[3] == 9 * INCH + bleed  # top and bottom
            if index % 2 == 0:  # a recto: the spine is at its left
                assert media[0] == trim[0] and media[2] == trim[2] + bleed, index
            else:
                assert media[2] == trim[2] and media[0] == trim[0] - bleed, index


def test_preset_errors_name_the_key(tmp_path: Path) -> None:
    toml = tmp_path / "book.toml"
    toml.write_text('[pdf]\npreset = "kdp 6x9"\n', encoding="utf-8")
    with pytest.raises(ConfigErrors) as unknown:
        load_config(toml)
    assert "book.toml:2: pdf.preset: unknown preset 'kdp 6x9'" in str(unknown.value)
    assert "did you mean 'kdp-6x9'?" in str(unknown.value)
    toml.write_text('[pdf]\npreset = "lulu-a5"\npage-size = "6x9"\n', encoding="utf-8")
    with pytest.raises(ConfigErrors) as contradiction:
        load_config(toml)
    assert "pdf.page-size: '6x9' contradicts preset 'lulu-a5'" in str(contradiction.value)
    toml.write_text('[pdf]\npreset = "lulu-a5"\n', encoding="utf-8")
    config = load_config(toml)
    assert config.pdf.css_size == "148mm 210mm" and config.pdf.bleed == "0.125in" and config.pdf.bleed_at_spine


def test_cover_width_is_two_trims_a_spine_and_two_bleeds(parts: Built, tmp_path: Path) -> None:
    """300 pages of KDP white paper (0.002252 in a page): a 0.6756 in spine; the 6 x 9 in sheet with its
    0.125 in bleed is 12.9256 x 9.25 in."""
    config = load_config(parts.root / "manuscript" / "book.toml")
    shape = geometry(config, 300)
    assert shape.spine == pytest.approx(300 * 0.002252 * INCH)
    written = make_cover(parts.root, pages=300, output=tmp_path / "cover.pdf")
    proof = make_cover(parts.root, pages=300, proof=True, output=tmp_path / "proof.pdf")
    with pikepdf.open(written.path) as pdf:
        (page,) = pdf.pages
        media, trim = [float(v) for v in page.MediaBox], [float(v) for v in page.TrimBox]
    assert media[2] - media[0] == pytest.approx((2 * 6 + 300 * 0.002252 + 2 * 0.125) * INCH, abs=0.01)
    assert media[3] - media[1] == pytest.approx((9 + 2 * 0.125) * INCH, abs=0.01)
    assert trim[2] - trim[0] == pytest.approx((2 * 6 + 300 * 0.002252) * INCH, abs=0.01)
    # The spine carries the title at 300 pages (the front too): twice; at 20 pages it is too narrow for text.
    assert page_text(open_pdf(written.path), 0).count("Two Shores") == 2
    assert "spine 0.676 in (300 pages, white-50lb)" in " ".join(page_text(open_pdf(proof.path), 0).split())
    thin = make_cover(parts.root, output=tmp_path / "thin.pdf")  # counted in the built interior: 20 pages
    assert thin.geometry.pages == 20 and not thin.geometry.spine_text
    assert page_text(open_pdf(thin.path), 0).count("Two Shores") == 1
    assert "Two shores of one harbour" in page_text(open_pdf(thin.path), 0)  # the back: the description


def test_papers_and_presets_follow_the_published_figures() -> None:
    assert PAPERS["white-50lb"].inches_per_page == 0.002252 and PAPERS["cream-55lb"].inches_per_page == 0.0025
    kdp = PRESETS["kdp-6x9"]
    assert (kdp.page_size, kdp.bleed, kdp.bleed_at_spine) == ("6in 9in", "0.125in", False)
    assert [inches for _, inches in kdp.inside_margins] == [0.375, 0.5, 0.625, 0.75, 0.875]
    # IngramSpark publishes one minimum margin, 0.5 in, whatever the page count (manual: "Print production").
    assert PRESETS["ingramspark-6x9"].inside_margins == ((1200, 0.5),)


# --- Image resolution --------------------------------------------------------------------------------------


def test_low_resolution_image_warns_with_its_line(parts: Built) -> None:
    found = [d for d in parts.diagnostics if d.kind == "image-resolution"]
    assert [(d.file, d.line) for d in found] == [("manuscript/02-lighthouse.md", 9)]
    assert found[0].message.startswith("images/low.png prints at 96 pixels per inch (3.12 in wide)")
    # high.png (800 pixels at 40% of the text width) prints at 432 ppi: no warning.
    assert [d.kind for d in parts.diagnostics if d.level == "warning"] == ["image-resolution"]


def test_a_right_to_left_book_bleeds_away_from_its_spine_on_the_right() -> None:
    """Its first page is a left-hand page (bound at its right edge): production.trim_spine_bleed from 'left'."""
    from essaybook.production import trim_spine_bleed

    pdf = pikepdf.new()
    for _ in range(3):
        page = pdf.add_blank_page(page_size=(100, 200))
        page.obj.MediaBox = pikepdf.Array([-9, -9, 109, 209])
        page.obj.BleedBox = pikepdf.Array([-9, -9, 109, 209])
        page.obj.TrimBox = pikepdf.Array([0, 0, 100, 200])
    assert trim_spine_bleed(pdf, "left") == 3
    boxes = [[float(v) for v in page.MediaBox] for page in pdf.pages]
    assert boxes == [[-9, -9, 100, 209], [0, -9, 109, 209], [-9, -9, 100, 209]]
    assert [[float(v) for v in page.BleedBox] for page in pdf.pages] == boxes
