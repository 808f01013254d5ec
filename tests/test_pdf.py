"""The PDF read back: page size, layout, outline, metadata, fonts, folios, notes at the page foot."""

from __future__ import annotations

import pytest
from pikepdf import Pdf

from conftest import Built
from pdfread import folio, fonts, horizontal_rules, open_pdf, outline, page_text, text_in_band, toc_numbers

MM = 72 / 25.4


def test_sample_is_an_a5_essay(sample: Built) -> None:
    reader = open_pdf(sample.pdf)
    box = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(148 * MM, abs=0.5)
    assert float(box.height) == pytest.approx(210 * MM, abs=0.5)
    first = page_text(reader, 0)
    # Essay layout: the title block opens page 1 and the text follows on the same page.
    assert "Open Source Move" in first.splitlines()[0]
    assert "For most of its short history" in first
    assert "Contents" not in first
    assert reader.page_labels[:3] == ["1", "2", "3"]
    assert [folio(reader, i) for i in range(len(reader.pages))] == [str(i + 1) for i in range(len(reader.pages))]


def test_sample_has_no_blank_pages(sample: Built) -> None:
    reader = open_pdf(sample.pdf)
    for index in range(len(reader.pages)):
        assert len(page_text(reader, index).split()) > 20, f"page {index + 1} is (nearly) blank"


def test_sample_outline_and_metadata(sample: Built) -> None:
    reader = open_pdf(sample.pdf)
    items = outline(reader)
    assert items[0].title == "OpenAI\u2019s Open Source Move: A New Era for AI?"
    assert items[0].depth == 0
    sections = [i.title for i in items if i.depth == 1]
    assert sections == [
        "What was actually opened",
        "Why now",
        "The case for optimism",
        "The case for caution",
        "A new era?",
    ]
    meta = reader.metadata
    assert meta is not None
    assert meta.title == "OpenAI\u2019s Open Source Move: A New Era for AI?"
    assert meta["/Creator"].startswith("essaybook ")
    assert meta["/CreationDate"].startswith("D:20260101")
    assert reader.trailer["/Root"]["/Lang"] == "en"


def test_every_font_is_embedded_and_from_the_theme(sample: Built, features: Built) -> None:
    for built in (sample, features):
        used = fonts(open_pdf(built.pdf))
        assert used, "no fonts found"
        assert all(used.values()), f"not embedded: {[n for n, e in used.items() if not e]}"
        # Latin text never falls back to whatever the machine has installed.
        assert all("Essaybook-" in name for name in used), used


def test_footnotes_sit_at_the_foot_of_the_page_that_cites_them(sample: Built) -> None:
    reader = open_pdf(sample.pdf)
    notes = {
        "The models were published as open": "turning point.",
        "Open-weight model families from several": "learned to build on them.",
        "Labs that publish weights usually describe": "justify the bet.",
    }
    for note, citing_text in notes.items():
        pages = [i for i in range(len(reader.pages)) if note in page_text(reader, i).replace("\n", " ")]
        assert len(pages) == 1, note
        text = page_text(reader, pages[0]).replace("\n", " ")
        assert citing_text in text, f"note {note!r} is not on the page of its reference"
        # At the foot: after the body text of that page.
        assert text.index(note) > text.index(citing_text)


def test_the_footnote_rule_is_short_and_starts_at_the_text_edge(sample: Built) -> None:
    # A5 with 20 mm at the gutter and 15 mm at the fore-edge: the text block is 113 mm of 148.
    text_block = 113 / 148
    for index in range(len(open_pdf(sample.pdf).pages)):
        rules = horizontal_rules(sample.pdf, index)
        assert len(rules) == 1, (index, rules)  # every page of the sample holds a note
        start, end = rules[0]
        gutter_left = index % 2 == 0  # page 1 is a right-hand page: its gutter is on the left
        assert start == pytest.approx((20 if gutter_left else 15) / 148, abs=0.01)
        assert end - start == pytest.approx(text_block / 3, abs=0.02)


def test_a_footnote_wraps_like_a_paragraph_not_at_its_source_lines(sample: Built) -> None:
    # The third note's source breaks its lines before "much" and before "question."; WeasyPrint used to
    # honour those breaks once the note had wrapped, leaving "open" and "question." on lines of their own.
    reader = open_pdf(sample.pdf)
    page = next(i for i in range(len(reader.pages)) if "Labs that publish" in page_text(reader, i))
    lines = page_text(reader, page).splitlines()
    first = next(i for i, line in enumerate(lines) if "Labs that publish" in line)
    note = lines[first : first + 3]
    assert note[-1].endswith("open question."), note


def test_book_layout_cover_half_title_title_page_and_folios(features: Built) -> None:
    reader = open_pdf(features.pdf)
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx((432, 648), abs=0.5)  # 6x9 in
    labels = reader.page_labels
    assert labels[:3] == ["Cover", "Inside cover", "i"]
    assert page_text(reader, 0).strip() == ""  # the cover is the image alone
    with Pdf.open(features.pdf) as pdf:
        assert "/XObject" in pdf.pages[0].Resources
    assert page_text(reader, 2).strip() == "A Book of Features"  # half-title
    assert page_text(reader, 4).startswith("A Book of Features\nEvery Markdown feature")  # title page
    body = labels.index("1")
    roman = ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii"]
    assert labels[2:body] == roman[: body - 2]
    assert labels[body:] == [str(n) for n in range(1, len(labels) - body + 1)]
    # Printed folios agree with the page labels wherever a folio is printed.
    for index, label in enumerate(labels):
        folio_text = text_in_band(reader, index, top=False)
        if folio_text:
            assert folio_text == label, f"page {index}: folio {folio_text!r} != label {label!r}"


def test_toc_numbers_are_the_pages_where_chapters_begin(features: Built) -> None:
    reader = open_pdf(features.pdf)
    toc_page = next(i for i in range(len(reader.pages)) if page_text(reader, i).startswith("Contents"))
    printed = toc_numbers(page_text(reader, toc_page))
    labels = reader.page_labels
    # The TOC lists the outline's first two levels, in the same order.
    # The untitled dedication and epigraph have no heading: no outline entry, no line in the contents.
    expected = [(item.title, labels[item.page]) for item in outline(reader) if item.depth <= 1]
    assert printed == expected
    assert printed[0][0] == "Preface" and printed[0][1].isalpha()  # front matter in roman
    assert ("Markdown, all of it", "1") in printed


def test_chapters_open_on_right_hand_pages_and_blank_pages_are_blank(features: Built) -> None:
    reader = open_pdf(features.pdf)
    chapters = [i for i in outline(reader) if i.depth == 0]
    assert [c.title for c in chapters] == [
        "Preface",
        "Markdown, all of it",
        "Links and Pictures",
        "Appendix: Colophon of Tests",
    ]
    for chapter in chapters:
        assert chapter.page % 2 == 0, f"{chapter.title} opens on a left-hand page"  # index 0 is a right page
    blank = [i for i in range(len(reader.pages)) if not page_text(reader, i).strip()]
    openings = {c.page for c in chapters}
    inner = [i for i in blank if i > 1]  # after the cover and its inside page
    assert inner, "the features book should have blank versos"
    for index in inner:
        assert index % 2 == 1, f"page {index} is blank but a right-hand page"
        assert index + 1 in openings or index + 1 == len(reader.pages) or page_text(reader, index + 1).strip(), index
        with Pdf.open(features.pdf) as pdf:
            assert not pdf.pages[index].get("/Annots")  # nothing at all on a blank verso


def test_running_heads(features: Built) -> None:
    reader = open_pdf(features.pdf)
    labels = reader.page_labels
    opening = labels.index("1")  # "Markdown, all of it" opens on a right-hand page
    assert text_in_band(reader, opening, top=True) == ""  # no running head on an opening page
    assert text_in_band(reader, opening, top=False) == "1"  # its folio at the foot
    left = labels.index("2")  # the chapter's second page is a left-hand page: the book's title
    assert text_in_band(reader, left, top=True) == "A Book of Features"
    assert text_in_band(reader, left, top=False) == "2"
    right = labels.index("3")  # its third page, a right-hand page: the chapter's title
    assert text_in_band(reader, right, top=True) == "Markdown, all of it"
    assert text_in_band(reader, right, top=False) == "3"


def test_essay_running_heads(sample: Built) -> None:
    reader = open_pdf(sample.pdf)
    title = "OpenAI\u2019s Open Source Move: A New Era for AI?"
    heads = [text_in_band(reader, i, top=True) for i in range(len(reader.pages))]
    assert heads[0] == ""  # the title block opens page 1
    assert set(heads[1:]) == {title}  # no author: the title on both sides


def test_notes_numbered_per_chapter(features: Built) -> None:
    reader = open_pdf(features.pdf)
    text = " ".join(page_text(reader, i) for i in range(len(reader.pages)))
    assert "1. The first footnote" in text or "1.\u00a0The first footnote" in text
    assert "1. Notes are numbered per chapter" in text or "1.\u00a0Notes are numbered per chapter" in text


def test_metadata_in_info_and_xmp(sample: Built) -> None:
    with Pdf.open(sample.pdf) as pdf:
        info = pdf.docinfo
        assert str(info["/Title"]) == "OpenAI\u2019s Open Source Move: A New Era for AI?"
        assert str(info["/Keywords"]) == "Artificial intelligence, Open source software"
        assert str(info["/Creator"]).startswith("essaybook ")
        assert str(info["/CreationDate"]) == "D:20260101000000Z"
        with pdf.open_metadata() as xmp:
            assert xmp["dc:title"] == "OpenAI\u2019s Open Source Move: A New Era for AI?"
            assert xmp["dc:language"] == {"en"}
            assert xmp["dc:subject"] == {"Artificial intelligence", "Open source software"}
            assert xmp["xmp:CreatorTool"].startswith("essaybook ")
            assert xmp["xmp:CreateDate"] == "2026-01-01T00:00:00Z"
