"""Pandoc's Markdown (issue 14, item 1): tests/books/pandoc built once, both outputs read back."""

from __future__ import annotations

import re
import zipfile
from xml.etree import ElementTree as ET

from pypdf import PdfReader

from conftest import Built, epubcheck_messages
from test_epub import Epub

X = "{http://www.w3.org/1999/xhtml}"
LITERAL = (":::", "^[", "]{.", "]{", "{{#", "\\newpage", "\\pagebreak", "% ")
"""Pandoc syntax that must not be left in either output as text."""


def chapter(built: Built, stem: str) -> ET.Element:
    return Epub(built.epub).xml(f"text/chapter-{stem}.xhtml")


def text_of(element: ET.Element) -> str:
    return " ".join("".join(element.itertext()).split())


def pdf_pages(built: Built) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(built.pdf).pages]


def test_builds_without_warnings_and_epubcheck_is_clean(pandoc: Built) -> None:
    assert pandoc.warnings == []
    assert epubcheck_messages(pandoc.epub) == []


def test_no_literal_syntax_left_in_either_output(pandoc: Built) -> None:
    pdf_text = "\n".join(pdf_pages(pandoc))
    with zipfile.ZipFile(pandoc.epub) as z:
        xhtml = {name: z.read(name).decode("utf-8") for name in z.namelist() if name.endswith(".xhtml")}
    texts = {name: " ".join("".join(ET.fromstring(data).itertext()).split()) for name, data in xhtml.items()}
    for literal in LITERAL:
        assert literal not in pdf_text, literal
        for name, text in texts.items():
            assert literal not in text, (literal, name)
    assert "A sentence with an inline note." in pdf_text and "Text after the boxes." in pdf_text


def test_title_block_and_metadata_file_give_the_book_metadata(pandoc: Built) -> None:
    epub = Epub(pandoc.epub)
    assert epub.meta("dc:title") == ["Notes from the Margin"]
    assert epub.meta("dc:creator") == ["Ada Example", "Ben Sample"]
    assert epub.meta("dc:date") == ["2026-02-01"]
    assert epub.meta("dc:subject") == ["Pandoc", "Markdown"]  # book.toml's keywords
    assert epub.meta("dc:publisher") == ["Pandoc Press"]  # from meta.yaml
    assert epub.meta("dc:identifier") == ["urn:isbn:9780000000019"]
    # The title block is taken out of the text: the title is the book's, not printed again in the chapter.
    assert "Notes from the Margin" not in text_of(chapter(pandoc, "01-opening"))
    assert "Ada Example" not in text_of(chapter(pandoc, "01-opening"))
    info = PdfReader(pandoc.pdf).metadata
    assert info is not None and info.title == "Notes from the Margin"


def test_inline_notes_are_numbered_with_the_others_in_both_outputs(pandoc: Built) -> None:
    root = chapter(pandoc, "01-opening")
    refs = [a for a in root.iter(f"{X}a") if a.get("class") == "noteref"]
    assert [a.text for a in refs] == ["1", "2", "3"]
    notes = [text_of(n) for n in root.iter(f"{X}aside") if n.get("class") == "footnote"]
    assert [n.split(" ", 1)[1] for n in notes] == [
        "An inline note with [brackets] and code ] inside. ↩",
        "The usual note. ↩",
        "The third note. ↩",
    ]
    opening = next(page for page in pdf_pages(pandoc) if page.startswith("Opening"))
    assert re.search(r"1\.\s*An inline note with \[brackets\] and code \] inside\.", opening)
    assert re.search(r"2\.\s*The usual note\.", opening) and re.search(r"3\.\s*The third note\.", opening)


def test_fenced_divs_are_semantic_blocks(pandoc: Built) -> None:
    root = chapter(pandoc, "02-divs")
    kinds = [a.get("class") for a in root.iter(f"{X}aside")]
    assert kinds == [
        "callout callout-note",
        "callout callout-warning",  # nested in the note, closed by a longer fence
        "callout callout-tip",
        "callout callout-important",
        "callout callout-caution",
        "callout callout-tip",
        "callout callout-warning",
    ]
    note = next(root.iter(f"{X}aside"))
    nested = note.find(f"{X}aside")
    assert nested is not None and nested.get("id") == "careful"
    titles = [text_of(p) for p in root.iter(f"{X}p") if p.get("class") == "callout-title"]
    assert titles == ["Mind the gap", "A tip’s own title"]
    # A callout's title heading is no section: it is not in the navigation.
    nav = text_of(Epub(pandoc.epub).xml("nav.xhtml"))
    assert "A tip’s own title" not in nav
    roles = {a.get("role") for a in root.iter(f"{X}aside")}
    assert roles == {"note", "doc-tip"}
    epigraph = next(e for e in root.iter(f"{X}div") if e.get("class") == "epigraph")
    assert epigraph.get("role") == "doc-epigraph" and "Emerson" in text_of(epigraph)
    dedication = next(e for e in root.iter(f"{X}section") if e.get("class") == "dedication")
    assert dedication.get("role") == "doc-dedication"
    plain = next(e for e in root.iter(f"{X}div") if e.get("class") == "columns")
    assert plain.get("id") == "cols"


def test_bracketed_spans_and_image_sizes(pandoc: Built) -> None:
    root = chapter(pandoc, "01-opening")
    assert text_of(next(s for s in root.iter(f"{X}span") if s.get("class") == "smallcaps")) == "Small caps"
    assert text_of(next(root.iter(f"{X}u"))) == "underlined"
    assert text_of(next(root.iter(f"{X}mark"))) == "marked"
    french = next(s for s in root.iter(f"{X}span") if s.get("lang"))
    assert french.get("lang") == "fr" and text_of(french) == "en français"
    images = list(root.iter(f"{X}img"))
    assert [img.get("style") for img in images] == ["width: 50%", "height: 3cm"]
    assert all(img.get("width") is None and img.get("height") is None for img in images)


def test_newpage_breaks_pages_in_print_only(pandoc: Built) -> None:
    pages = pdf_pages(pandoc)
    after = [i for i, page in enumerate(pages) if "After the page break." in page]
    second = [i for i, page in enumerate(pages) if "After the second page break." in page]
    opening = next(i for i, page in enumerate(pages) if page.startswith("Opening"))
    assert after == [opening + 1] and second == [opening + 2]
    assert pages[after[0]].startswith("After the page break.")
    root = chapter(pandoc, "01-opening")
    assert not [e for e in root.iter() if "page-break" in (e.get("class") or "")]


def test_chapter_front_matter_and_metadata_blocks(pandoc: Built) -> None:
    root = chapter(pandoc, "03-meta")
    by_class = {e.get("class"): e for e in root.iter() if e.get("class")}
    assert text_of(by_class["chapter-subtitle"]) == "What front matter carries"
    assert text_of(by_class["chapter-author"]) == "Cleo Contributor"
    assert text_of(by_class["chapter-date"]) == "2026-03-01"
    abstract = by_class["abstract"]
    assert abstract.get("role") == "doc-abstract"
    assert [text_of(p) for p in abstract] == ["A short abstract of the chapter.", "In two paragraphs."]
    # The YAML block between the paragraphs is metadata, not a rule and a heading; the later --- stays a rule.
    body = next(e for e in root.iter(f"{X}section") if "chapter" in (e.get("class") or "").split())
    assert [e.tag.removeprefix(X) for e in body][-4:] == ["p", "p", "hr", "p"]
    assert not root.findall(f".//{X}h2")
    page = next(p for p in pdf_pages(pandoc) if p.startswith("Metadata"))
    for text in ("What front matter carries", "Cleo Contributor", "2026-03-01", "In two paragraphs."):
        assert text in page
