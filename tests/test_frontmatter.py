"""Display pages and generated words (issue 12, items 1 and 5): the title page centred, the copyright page,
dedication and epigraph without folios or invented headings, dates and labels in the book's language."""

from __future__ import annotations

from pathlib import Path

import pytest

from essaybook import log
from essaybook.commands.build import build
from essaybook.config import read_config
from essaybook.labels import DATE_FORMATS, KEYS, LABELS, MONTHS, PLACEHOLDERS, labels_for

from conftest import Built
from pdfread import open_pdf, page_text, text_in_band, text_lines
from test_epub import EPUB_TYPE, NS, Epub

MM = 72 / 25.4


def _page_with(path: Path, words: str) -> int:
    reader = open_pdf(path)
    return next(i for i in range(len(reader.pages)) if words in page_text(reader, i))


def _text_block_centre(built: Built, index: int) -> float:
    """The horizontal centre of the text block of page ``index`` (6x9 in, default margins; index 0 is a recto)."""
    inside, outside, width = 20 * MM, 15 * MM, 432.0
    left = inside if index % 2 == 0 else outside
    right = width - (outside if index % 2 == 0 else inside)
    return (left + right) / 2


def test_title_page_lines_are_centred_on_the_text_block(features: Built) -> None:
    index = _page_with(features.pdf, "Every Markdown feature")
    lines = text_lines(features.pdf, index)
    assert [line[0] for line in lines][:4] == [
        "A Book of Features",
        "Every Markdown feature essaybook supports",
        "Ada Example, Ben Sample",
        "2026",  # the year alone on a title page
    ]
    centre = _text_block_centre(features, index)
    for text, left, right, _ in lines:
        assert (left + right) / 2 == pytest.approx(centre, abs=1.0), f"{text!r} is off the axis"


def test_title_page_imprint_stands_at_the_foot(features: Built) -> None:
    """The publisher's line ends the title page's text block, level with the foot of the copyright block
    (a percentage margin once left it floating half-way down)."""
    title = text_lines(features.pdf, _page_with(features.pdf, "Every Markdown feature"))
    copyright_page = text_lines(features.pdf, _page_with(features.pdf, "ISBN 978"))
    imprint = next(line for line in title if line[0] == "Test Press")
    assert imprint == title[-1]
    assert imprint[3] == pytest.approx(copyright_page[-1][3], abs=3.0)


def test_dedication_and_epigraph_are_display_pages(features: Built) -> None:
    reader = open_pdf(features.pdf)
    dedication = _page_with(features.pdf, "For everyone who reads")
    epigraph = _page_with(features.pdf, "The purpose of a book")
    # No heading made from the file name, anywhere.
    for index in (dedication, epigraph):
        assert "00-" not in page_text(reader, index) and "Dedication" not in page_text(reader, index)
    lines = text_lines(features.pdf, dedication)
    assert len(lines) == 2
    centre = _text_block_centre(features, dedication)
    for text, left, right, _ in lines:
        assert (left + right) / 2 == pytest.approx(centre, abs=1.0), f"{text!r} is off the axis"
    # The epigraph's source is set under it, to the right.
    quote, *_, source = text_lines(features.pdf, epigraph)
    assert source[0].startswith("\u2014 Attributed") and source[2] > quote[2] - 1 and source[1] > quote[1] + 20


def test_display_pages_carry_no_folio_but_count(features: Built) -> None:
    reader = open_pdf(features.pdf)
    labels = reader.page_labels
    for words in ("Every Markdown feature", "ISBN 978", "For everyone who reads", "The purpose of a book"):
        index = _page_with(features.pdf, words)
        assert text_in_band(reader, index, top=False) == "", f"a folio on the page of {words!r}"
        assert text_in_band(reader, index, top=True) == "", f"a running head on the page of {words!r}"
    # The numbering counts them: the contents page's folio is its label, in the roman run from the half-title.
    contents = _page_with(features.pdf, "Contents")
    assert text_in_band(reader, contents, top=False) == labels[contents]
    assert labels[2 : contents + 1] == ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix"][: contents - 1]


def test_dates_are_written_in_the_books_language(features: Built) -> None:
    reader = open_pdf(features.pdf)
    text = " ".join(page_text(reader, i) for i in range(len(reader.pages)))
    assert "2026-01-15" not in text
    assert "Published by Test Press, 15 January 2026" in page_text(reader, _page_with(features.pdf, "ISBN 978"))


def test_modern_title_and_display_pages(features_modern: Built) -> None:
    reader = open_pdf(features_modern.pdf)
    title = _page_with(features_modern.pdf, "Every Markdown feature")
    lines = text_lines(features_modern.pdf, title)
    # The modern title page is set flush left: every line on the same left edge.
    lefts = [left for text, left, _, _ in lines if text != "Test Press"]
    assert max(lefts) - min(lefts) < 1.0, lines
    for words in ("Every Markdown feature", "ISBN 978", "For everyone who reads", "The purpose of a book"):
        index = _page_with(features_modern.pdf, words)
        assert text_in_band(reader, index, top=True) == "", f"a folio or head on the page of {words!r}"
        assert text_in_band(reader, index, top=False) == "", f"a folio on the page of {words!r}"


def test_untitled_dedication_has_a_proper_title_in_the_epub(features: Built) -> None:
    epub = Epub(features.epub)
    doc = epub.xml("text/chapter-00-dedication.xhtml")
    assert doc.findtext(".//x:title", namespaces=NS) == "Dedication"
    section = doc.find(".//x:section", NS)
    assert section is not None and section.get(EPUB_TYPE) == "dedication"
    assert section.find("x:h1", NS) is None
    assert "00-dedication" not in "".join(doc.itertext())


# ------------------------------------------------------------------------------------------ the word tables


def test_every_language_has_every_word_with_its_placeholders() -> None:
    assert set(LABELS) >= {"en", "de", "fr", "es", "it", "pt", "nl", "ar", "zh", "ja"}
    for lang, words in LABELS.items():
        assert tuple(words) == KEYS, lang
        for key, text in words.items():
            assert text.strip(), (lang, key)
            for name in PLACEHOLDERS[key]:
                assert "{" + name + "}" in text, (lang, key)
        assert len(MONTHS[lang]) == 12 and lang in DATE_FORMATS
    assert len({words["contents"] for words in LABELS.values()}) == len(LABELS)  # each really translated


@pytest.mark.parametrize(
    ("lang", "full", "month"),
    [
        ("en", "15 January 2026", "March 2026"),
        ("en-GB", "15 January 2026", "March 2026"),
        ("de", "15. Januar 2026", "März 2026"),
        ("fr", "15 janvier 2026", "mars 2026"),
        ("es", "15 de enero de 2026", "marzo de 2026"),
        ("it", "15 gennaio 2026", "marzo 2026"),
        ("pt-BR", "15 de janeiro de 2026", "março de 2026"),
        ("nl", "15 januari 2026", "maart 2026"),
        ("ar", "15 يناير 2026", "مارس 2026"),
        ("zh-Hans", "2026年1月15日", "2026年3月"),
        ("ja", "2026年1月15日", "2026年3月"),
        ("fi", "15 January 2026", "March 2026"),  # no table: English
    ],
)
def test_dates_by_language(lang: str, full: str, month: str) -> None:
    labels = labels_for(lang)
    assert labels.date("2026-01-15") == full
    assert labels.date("2026-03") == month
    assert labels.date("2026") == "2026"
    assert labels.date("2026-01-15", year_only=True) == "2026"


def _tiny(root: Path, toml: str) -> None:
    (root / "manuscript").mkdir(parents=True)
    (root / "manuscript" / "book.toml").write_text(toml, encoding="utf-8")
    (root / "manuscript" / "01.md").write_text("# One\n\nText.\n", encoding="utf-8")
    (root / "manuscript" / "02.md").write_text("# Two\n\nMore text.\n", encoding="utf-8")


@pytest.mark.parametrize("lang", ["en", "de", "fr", "es", "it", "pt", "nl", "ar", "zh", "ja"])
def test_generated_words_in_the_epub_follow_the_language(tmp_path: Path, lang: str) -> None:
    _tiny(tmp_path, f'[book]\ntitle = "T"\nlang = "{lang}"\ncover-image = "c.png"\n')
    (tmp_path / "manuscript" / "c.png").write_bytes(
        (Path(__file__).parent / "books/options/manuscript/images/cover.png").read_bytes()
    )
    log.setup(verbosity=-1)
    result = build(tmp_path, pdf=False)
    assert result.epub is not None and log.warnings_seen() == []
    epub = Epub(result.epub.path)
    words = LABELS[lang]
    nav = epub.xml("nav.xhtml")
    assert nav.findtext(".//x:title", namespaces=NS) == words["contents"]
    assert nav.findtext(".//x:h1", namespaces=NS) == words["contents"]
    landmarks = [
        a.text for a in nav.iter(f"{{{NS['x']}}}a") if a.get(EPUB_TYPE) in ("cover", "titlepage", "bodymatter")
    ]
    assert landmarks == [words["cover"], words["title-page"], words["start-of-content"]]
    cover = epub.xml("text/cover.xhtml")
    assert cover.findtext(".//x:title", namespaces=NS) == words["cover"]
    img = cover.find(".//x:img", NS)
    assert img is not None and img.get("alt") == words["cover-of"].replace("{title}", "T")


def test_labels_are_overridden_in_book_toml_and_checked(tmp_path: Path) -> None:
    _tiny(
        tmp_path,
        (
            '[book]\ntitle = "T"\nlang = "fi"\n\n[labels]\ncontents = "Sisällys"\n'
            'published-by = "Kustantaja {publisher}"\n'
        ),
    )
    log.setup(verbosity=-1)
    result = build(tmp_path, pdf=False)
    assert result.epub is not None
    # Finnish has no table: one warning, naming the words that stay English and where to translate them.
    found = [d for d in log.diagnostics_seen() if d.kind == "labels"]
    assert len(found) == 1 and found[0].file == "manuscript/book.toml" and found[0].line == 3
    assert "'fi'" in found[0].message and "[labels]" in (found[0].hint or "")
    nav = Epub(result.epub.path).xml("nav.xhtml")
    assert nav.findtext(".//x:h1", namespaces=NS) == "Sisällys"

    toml = tmp_path / "bad.toml"
    toml.write_text(
        '[labels]\ncontens = "Inhalt"\npublished-by = "Verlag"\nnotes = 3\ndedication = " "\n', encoding="utf-8"
    )
    _, problems = read_config(toml)
    by_key = {p.key: p for p in problems}
    assert set(by_key) == {"labels.contens", "labels.published-by", "labels.notes", "labels.dedication"}
    assert by_key["labels.contens"].hint == "did you mean 'contents'?" and by_key["labels.contens"].line == 2
    assert "{publisher}" in str(by_key["labels.published-by"])
    assert "expected a string" in str(by_key["labels.notes"])
