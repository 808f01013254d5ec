"""Math, citations and cross-references in one book (issue 11): each as its own test book elsewhere, here mixed,
as a textbook or a paper mixes them."""

from __future__ import annotations

import re

import pikepdf
from pypdf import PdfReader

from conftest import Built, epubcheck_messages
from test_epub import Epub


def test_the_mixed_book_builds_without_a_warning_and_passes_epubcheck(nonfiction: Built) -> None:
    assert nonfiction.warnings == []
    assert epubcheck_messages(nonfiction.epub) == []


def test_every_reference_number_and_citation_prints_as_the_style_and_the_labels_say(nonfiction: Built) -> None:
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(nonfiction.pdf).pages).split())
    text = text.replace("\u2010 ", "").replace("- ", "")  # words hyphenated across lines
    # Citations (Chicago author-date, as Pandoc's citeproc prints them) and their locators.
    assert "described by Knuth (Knuth 1984, 97)" in text and "those of Lamport (1994)" in text
    assert "(see Hoare 1972, chap. 2; Knuth 1984)" in text
    # Numbered by chapter: the figure, equation, table and listing of chapter 1, a figure of chapter 2.
    assert "shown in Figure 1.1 and given as (1.1)" in text and "see Table 1.1" in text
    assert "Equation (1.1) predicts" in text and "Listing 1.1 gives the curve of Figure 2.1" in text
    assert "close to the harbour of 1.1." in text  # [-@fig:harbour]: the number alone
    assert "As Method showed" in text  # @sec: prints the section's title
    for caption in ("Figure 1.1: The harbour at low tide", "Table 1.1: The two", "Listing 1.1: The sum in Python"):
        assert caption in text
    # The reference list where ::: {#refs} stands, entries as Pandoc's citeproc prints them.
    assert "Knuth, Donald E. 1984. “Literate Programming.” The Computer Journal 27 (2): 97–111." in text
    assert "Lamport, Leslie. 1994. LaTeX: A Document Preparation System. 2nd ed. Addison-Wesley." in text
    assert re.search(r"List of Figures 1\.1 The harbour at low tide[ .]+1 2\.1 The predicted curve[ .]+3", text)


def test_the_equation_is_a_formula_with_its_tex_and_the_epub_carries_mathml(nonfiction: Built) -> None:
    alts = []
    with pikepdf.open(nonfiction.pdf) as pdf:

        def walk(node: object) -> None:
            if isinstance(node, pikepdf.Array):
                for child in node:
                    walk(child)
            elif isinstance(node, pikepdf.Dictionary) and "/S" in node:
                if node.S == "/Formula" and "/Alt" in node:
                    alts.append(str(node.Alt))
                walk(node.get("/K"))

        walk(pdf.Root.StructTreeRoot.K)
    assert r"h(t) = \sum_{k=1}^{n} a_k \cos(\omega_k t + \varphi_k)" in alts and r"T_k = 2\pi / \omega_k" in alts
    epub = Epub(nonfiction.epub)
    chapters = [i for i in epub.opf.findall(".//{*}item") if "mathml" in (i.get("properties") or "")]
    assert len(chapters) == 1
    body = epub.read(chapters[0].get("href")).decode()
    assert 'alttext="h(t) = \\sum_{k=1}^{n} a_k \\cos(\\omega_k t + \\varphi_k)"' in body
    ids = set(re.findall(r'id="([^"]+)"', body))
    assert {href.split("#")[1] for href in re.findall(r'href="(#[^"]+)"', body)} <= ids  # every link lands


def test_a_list_of_figures_in_the_back_prints_no_other_chapters_head(nonfiction: Built) -> None:
    """The book layout's furniture once carried the last chapter's running head ("Results") onto the list of
    figures that follows it; the list, like the contents, has none."""
    from pdfread import open_pdf, page_text, text_in_band

    reader = open_pdf(nonfiction.pdf)
    index = next(i for i in range(len(reader.pages)) if page_text(reader, i).startswith("List of Figures"))
    assert index > reader.page_labels.index("1")  # in the back matter
    assert text_in_band(reader, index, top=True) == ""
