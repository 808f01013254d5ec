"""Every book.toml option changes the output it promises to change (tests/books/options sets them all)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from pikepdf import Pdf
from pypdf import PdfReader

from essaybook import log
from essaybook.commands.build import BuildResult, build

from conftest import Books, Built, epubcheck_messages
from pdfread import horizontal_rules, open_pdf, outline, page_text
from test_epub import EPUB_TYPE, NS, Epub


@pytest.fixture(scope="session")
def options(build_book: Books) -> Built:
    """tests/books/options: an essay in German with most [pdf] and [epub] options set."""
    return build_book("options")


def build_tiny(tmp_path: Path, files: dict[str, str], **options: bool) -> BuildResult:
    """Write a small book project (``files`` under manuscript/, book.toml among them) and build it."""
    for name, text in files.items():
        path = tmp_path / "manuscript" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    log.setup(verbosity=-1)
    return build(tmp_path, **options)


def test_options_epub_is_valid(options: Built) -> None:
    assert epubcheck_messages(options.epub) == []
    assert options.warnings == []


def test_letter_essay_with_two_chapters(options: Built) -> None:
    reader = open_pdf(options.pdf)
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == (612, 792)
    text = page_text(reader, 0)
    assert text.startswith("Optionen\nErika Mustermann")  # the essay's title block opens page 1
    assert "Le deuxième chapitre" in text  # essay layout: chapters run on, no page break
    assert "Inhalt" not in text and "Contents" not in text
    assert [i.title for i in outline(reader) if i.depth == 0] == ["Optionen", "Le deuxième chapitre"]


def test_endnotes_gather_at_the_end_of_the_chapter(options: Built) -> None:
    text = page_text(open_pdf(options.pdf), 0)
    note, chapter_end, next_chapter = (
        text.index("Eine Endnote"),
        text.index('print("bw")'),
        text.index("Le deuxième chapitre"),
    )
    assert chapter_end < note < next_chapter


def test_no_hyphenation_when_switched_off(options: Built, sample: Built) -> None:
    hyphen = "\u2010\n"
    assert hyphen in page_text(open_pdf(sample.pdf), 0)  # the sample is hyphenated
    assert hyphen not in page_text(open_pdf(options.pdf), 0)


def test_pdf_ua_variant_is_tagged_and_claimed(options: Built) -> None:
    with Pdf.open(options.pdf) as pdf:
        assert pdf.Root.Lang == "de"
        assert "/StructTreeRoot" in pdf.Root
        assert pdf.Root.MarkInfo.Marked
        xmp = pdf.Root.Metadata.read_bytes().decode()
        assert 'pdfuaid:part="1"' in xmp


def test_default_pdf_is_tagged(sample: Built) -> None:
    with Pdf.open(sample.pdf) as pdf:
        assert "/StructTreeRoot" in pdf.Root
        assert pdf.Root.Lang == "en"


def test_epub_fonts_cover_page_toc_depth_code_style_and_languages(options: Built) -> None:
    epub = Epub(options.epub)
    manifest = epub.manifest()
    fonts = [h for h, i in manifest.items() if i.get("media-type") == "font/otf"]
    assert len(fonts) == 5
    assert "theme/classic-fonts.css" in manifest
    assert "text/cover.xhtml" not in epub.spine()  # cover-page = false
    assert any("cover-image" in (i.get("properties") or "") for i in manifest.values())  # the image stays
    nav = epub.xml(next(h for h, i in manifest.items() if i.get("properties") == "nav"))
    toc = next(n for n in nav.iter(f"{{{NS['x']}}}nav") if n.get(EPUB_TYPE) == "toc")
    assert toc.find("x:ol/x:li/x:ol", NS) is None  # toc-depth = 1
    code_css = epub.read("theme/code.css").decode()
    assert ".codehilite .k { font-weight: bold }" in code_css  # the 'bw' Pygments style: no colours
    assert ".codehilite .s2 { font-style: italic }" in code_css
    assert epub.meta("dc:language") == ["de"]
    french = epub.xml("text/chapter-2-zweites.xhtml")
    assert french.get("lang") == "fr"
    assert french.findtext(".//x:p[@class='chapter-author']", namespaces=NS) == "Jean Dupont"


def test_no_book_toml_takes_title_from_first_heading_and_warns_about_language(tmp_path: Path) -> None:
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1767225600")
    result = build_tiny(tmp_path, {"note.md": "# A Quick Note\n\nHello.\n"}, epub=False)
    warnings = log.warnings_seen()
    assert result.pdf is not None and result.pdf.path.name == "a-quick-note.pdf"
    assert len(warnings) == 1 and "lang" in warnings[0] and "book.toml" in warnings[0]
    assert open_pdf(result.pdf.path).metadata.title == "A Quick Note"  # type: ignore[union-attr]


def test_print_interior_has_no_cover(options: Built) -> None:
    assert open_pdf(options.pdf).page_labels[0] == "1"


def test_bleed_and_crop_marks_set_the_print_boxes(tmp_path: Path) -> None:
    toml = '[book]\ntitle = "Bleed"\nlang = "en"\n[pdf]\npage-size = "5x8"\nbleed = "0.125in"\ncrop-marks = true\n'
    result = build_tiny(tmp_path, {"book.toml": toml, "a.md": "# Bleed\n\nText to trim.\n"}, epub=False)
    assert result.pdf is not None
    with Pdf.open(result.pdf.path) as pdf:
        page = pdf.pages[0]
        assert [float(v) for v in page.TrimBox] == pytest.approx([0, 0, 360, 576])  # 5 x 8 in
        # 0.125 in = 9 pt at the top, bottom and fore-edge; none at the spine (the left of this right-hand page).
        assert [float(v) for v in page.BleedBox] == pytest.approx([0, -9, 369, 585])
        assert [float(v) for v in page.MediaBox] == pytest.approx([0, -9, 369, 585])


def test_quotation_marks_follow_each_chapters_language(options: Built) -> None:
    text = page_text(open_pdf(options.pdf), 0).replace("\n", " ")
    assert "Er sagte: \u201eGuten Tag\u201c \u2013 und ging." in text  # German „…“
    assert "Il a dit : \u00ab\u202fBonjour\u202f\u00bb et il est parti." in text  # French « … » with narrow spaces


def test_missing_script_fonts_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from essaybook import fonts

    # As on a machine with fonts for Greek but none for CJK, whatever this one has installed.
    monkeypatch.setattr(fonts, "_system_covers", lambda code: None if code >= 0x3000 else "Some Sans")
    log.setup(verbosity=-1)
    boxes = fonts.check_coverage([], [("manuscript/a.md", "# 中文\n\n这是中文。"), ("manuscript/b.md", "Ελληνικά")])
    assert boxes == ["CJK"]
    # A handful of characters (no PDF stops here): one warning for each, with its place and the packages.
    found = log.diagnostics_seen()
    assert [(d.kind, d.file, d.message.split("'")[1], d.more) for d in found] == [
        ("font-coverage", "manuscript/a.md", char, more)
        for char, more in zip("中文这是。", [1, 1, 0, 0, 0], strict=True)
    ]
    assert found[0].message == (
        "no font can draw the Chinese, Japanese and Korean character '中' (U+4E2D); the PDF shows an empty box"
    )
    assert found[0].hint is not None
    assert all(name in found[0].hint for name in ("fonts-noto-cjk", "google-noto-sans-cjk-fonts", "font-noto-sans-cjk"))


def test_every_character_is_looked_up_not_only_the_first_of_its_script(monkeypatch: pytest.MonkeyPatch) -> None:
    from essaybook import fonts

    # A machine font draws the check mark, none the siren: the siren must not hide behind the check mark.
    monkeypatch.setattr(fonts, "_system_covers", lambda code: "Some Symbols" if code == 0x2713 else None)
    log.setup(verbosity=-1)
    text = "Done \u2713 and done again \u2713.\n\nAlarm \U0001f6a8!"
    assert fonts.check_coverage([], [("manuscript/a.md", text)], {"manuscript/a.md": 1}) == ["EMOJI"]
    (warning,) = log.diagnostics_seen()
    assert "'\U0001f6a8' (U+1F6A8)" in warning.message and warning.line == 3 and "others" not in warning.message


def test_the_machine_fonts_are_read_once() -> None:
    from essaybook import fonts

    fonts._system_fonts.cache_clear()
    first = fonts._system_fonts()
    assert fonts._system_fonts() is first  # one fc-list for the whole book, not one per character


def test_theme_fonts_cover_latin_greek_and_cyrillic() -> None:
    from essaybook import fonts
    from essaybook.themes import load_theme

    theme = load_theme("classic", Path("."), None)
    log.setup(verbosity=-1)
    assert fonts.check_coverage(theme.fonts(), [("a.md", "Ærøskøbing — Ελληνικά — Русский — œuvre «ß»")]) == []


def test_right_to_left_book(tmp_path: Path) -> None:
    toml = '[book]\ntitle = "كتاب"\nlang = "ar"\nauthor = "مؤلف"\n'
    result = build_tiny(
        tmp_path, {"book.toml": toml, "a.md": "# الفصل الأول\n\nهذا نص عربي قصير.[^1]\n\n[^1]: حاشية.\n"}
    )
    assert result.epub is not None and result.pdf is not None
    epub = Epub(result.epub.path)
    assert epub.opf.find("opf:spine", NS).get("page-progression-direction") == "rtl"  # type: ignore[union-attr]
    chapter = epub.xml(next(h for h in epub.spine() if h.startswith("text/") and "cover" not in h))
    assert chapter.get("dir") == "rtl" and chapter.get("lang") == "ar"
    with Pdf.open(result.pdf.path) as pdf:
        assert pdf.Root.Lang == "ar"
        assert pdf.Root.ViewerPreferences.Direction == "/R2L"  # the essay, laid out as one document, too
    text = page_text(open_pdf(result.pdf.path), 0)
    assert "هذا نص عربي قصير" in text and "حاشية" in text  # in logical order, the note at the page foot
    [(start, end)] = horizontal_rules(result.pdf.path, 0)
    # The short rule starts at the right edge of the text; a right-to-left book binds on the right, so the
    # first page's 20 mm gutter margin is there.
    assert end == pytest.approx(1 - 20 / 148, abs=0.01) and start > 0.5
    assert epubcheck_messages(result.epub.path) == []


def test_a_note_too_long_for_its_page_continues_on_the_next(tmp_path: Path) -> None:
    note = " ".join(f"Sentence {n} of a very long note." for n in range(150))
    body = "\n\n".join(f"Paragraph {n} of the text, long enough to take a line or two." for n in range(50))
    chapter = (
        f"# Long\n\nA short note.[^short] A long one.[^long]\n\n{body}\n\nA last note.[^last]\n\n"
        f"[^short]: Short.\n\n[^long]: {note}\n\n[^last]: The third note.\n"
    )
    toml = '[book]\ntitle = "Long"\nlang = "en"\n[pdf]\npage-size = "A6"\n'
    result = build_tiny(tmp_path, {"book.toml": toml, "a.md": chapter}, epub=False)
    assert result.pdf is not None
    assert log.warnings_seen() == []
    reader = open_pdf(result.pdf.path)
    pages = [" ".join(page_text(reader, i).split()) for i in range(len(reader.pages))]
    where = {int(n): i for i, text in enumerate(pages) for n in re.findall(r"Sentence (\d+) of", text)}
    assert set(where) == set(range(150))  # nothing dropped, nothing cut off
    # The note starts at the foot of the page that cites it and continues, in order, on the pages after.
    assert where[0] == 0 and "A long one." in pages[0] and "Short." in pages[0]
    assert max(where.values()) > 0
    assert [where[n] for n in range(150)] == sorted(where[n] for n in range(150))
    # Continuation parts carry no number of their own: the next note is number 3.
    last_page = next(i for i, text in enumerate(pages) if "The third note." in text)
    assert re.search(r"3\.\s*The third note\.", pages[last_page]), pages[last_page]
    for text in pages[1:]:
        assert not re.search(r"\b[4-9]\.\s*Sentence", text)
    assert "note.Sentence" not in "".join(pages)  # parts of one paragraph join with a space


def test_pdf_a_3b_variant_claims_conformance(tmp_path: Path) -> None:
    toml = '[book]\ntitle = "Archive"\nlang = "en"\n[pdf]\nvariant = "pdf/a-3b"\n'
    # Two chapters: the book layout, whose PDF is assembled from chapters laid out one by one.
    chapters = {"a.md": "# Archive\n\nKept for a long time.\n", "b.md": "# Later\n\nAnd longer.\n"}
    result = build_tiny(tmp_path, {"book.toml": toml, **chapters}, epub=False)
    assert result.pdf is not None and result.laid_out
    with Pdf.open(result.pdf.path) as pdf:
        xmp = pdf.Root.Metadata.read_bytes().decode()
        assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
        assert "/OutputIntents" in pdf.Root
        assert str(pdf.docinfo["/Title"]) == "Archive" and str(pdf.docinfo["/ModDate"]).startswith("D:2026")
        with pdf.open_metadata() as meta:
            assert meta["dc:language"] == {"en"}


def test_chinese_and_japanese_book_is_valid(tmp_path: Path) -> None:
    files = {
        # A machine without a CJK font would stop the build (no PDF of boxes): this test is about the EPUB.
        "book.toml": '[book]\ntitle = "书"\nlang = "zh"\n[pdf]\nallow-missing-glyphs = true\n',
        "1.md": "# 第一章\n\n这是中文。[^1]\n\n[^1]: 注释。\n",
        "2.md": "---\nlang: ja\n---\n\n# 第二章\n\nこれは日本語です。\n",
    }
    result = build_tiny(tmp_path, files)
    assert result.epub is not None and result.pdf is not None
    epub = Epub(result.epub.path)
    assert epub.meta("dc:language") == ["zh"]
    assert epub.xml("text/chapter-2.xhtml").get("lang") == "ja"
    assert epubcheck_messages(result.epub.path) == []


def _left_edge(reader: PdfReader, index: int) -> float:
    """Leftmost x of the body text (running heads in the top band left out)."""
    xs: list[float] = []
    top = float(reader.pages[index].mediabox.height) * 0.85

    def visit(text: str, cm: Any, tm: Any, _font: Any, _size: Any) -> None:
        if text.strip() and tm[5] * cm[3] + cm[5] < top:
            xs.append(tm[4] * cm[0] + cm[4])

    reader.pages[index].extract_text(visitor_text=visit)
    return min(xs)


def test_margins_are_mirrored_with_the_gutter_inside(tmp_path: Path) -> None:
    toml = (
        '[book]\ntitle = "Margins"\nlang = "en"\n[pdf]\npage-size = "A6"\nmargin-inside = "30mm"\n'
        'margin-outside = "8mm"\nhyphenate = false\n'
    )
    body = "\n\n".join("A line of text that fills the measure of the page and then some more." for _ in range(40))
    result = build_tiny(tmp_path, {"book.toml": toml, "a.md": f"# Margins\n\n{body}\n"}, epub=False)
    assert result.pdf is not None
    reader = open_pdf(result.pdf.path)
    mm = 72 / 25.4
    # The text block moves by the difference of the margins between a right-hand page (gutter on the left)
    # and a left-hand page (fore-edge on the left).
    assert _left_edge(reader, 0) - _left_edge(reader, 1) == pytest.approx((30 - 8) * mm, abs=1)
    assert _left_edge(reader, 2) == pytest.approx(_left_edge(reader, 0), abs=1)


def test_toc_depth_and_untagged_pdf(tmp_path: Path) -> None:
    toml = '[book]\ntitle = "Depth"\nlang = "en"\n[pdf]\ntoc-depth = 1\ntagged = false\n'
    files = {"book.toml": toml, "1.md": "# One\n\n## Section A\n\nText.\n", "2.md": "# Two\n\n## Section B\n\nText.\n"}
    result = build_tiny(tmp_path, files, epub=False)
    assert result.pdf is not None
    reader = open_pdf(result.pdf.path)
    contents = next(
        page_text(reader, i) for i in range(len(reader.pages)) if page_text(reader, i).startswith("Contents")
    )
    assert "One" in contents and "Two" in contents
    assert "Section A" not in contents and "Section B" not in contents
    with Pdf.open(result.pdf.path) as pdf:
        assert "/StructTreeRoot" not in pdf.Root


def test_generated_words_and_dates_in_german(options: Built) -> None:
    text = page_text(open_pdf(options.pdf), 0)
    lines = text.splitlines()
    assert lines[:3] == ["Optionen", "Erika Mustermann", "5. März 2026"]  # the essay's title block
    assert "Anmerkungen" in lines and "Notes" not in lines  # the endnotes' heading
    nav = Epub(options.epub).xml("nav.xhtml")
    assert nav.findtext(".//x:h1", namespaces=NS) == "Inhalt"
