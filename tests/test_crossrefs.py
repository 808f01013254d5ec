"""Cross-references and numbering (issue 11, item 3): labelled figures, tables, listings, equations and sections,
``@fig:x`` references in both outputs, Pandoc table captions, lists of figures and tables, page references."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from pypdf import PdfReader

from essaybook.config import read_config
from essaybook.convert import make_markdown
from essaybook.crossrefs import ranges
from essaybook.pipeline import Pipeline
from test_bad_input import TOML, build, make_project
from test_hostile import assert_success, assert_warned

from conftest import BOOKS, Built, epubcheck_messages

XHTML = "{http://www.w3.org/1999/xhtml}"
EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"

EXPECTED = {
    "fig:harbour": "1.1",
    "fig:wall": "1.2",
    "fig:delta": "2.1",
    "fig-panel": "2.2",
    "tbl:tides": "1.1",
    "tbl:rivers": "2.1",
    "lst:tide": "1.1",
    "lst-flow": "2.1",
    "eq:tide": "1.1",
    "eq:energy": "2.1",
}
"""Each label of tests/books/crossrefs and its number (numbering by chapter)."""


def documents(epub: Path) -> dict[str, ET.Element]:
    with zipfile.ZipFile(epub) as z:
        return {
            name.removeprefix("EPUB/"): ET.fromstring(z.read(name)) for name in z.namelist() if name.endswith(".xhtml")
        }


def text(element: ET.Element) -> str:
    return "".join(element.itertext())


# ----------------------------------------------------------------------------------------------- Markdown


def html(source: str) -> str:
    return make_markdown().convert(source)


@pytest.mark.parametrize(
    "source",
    [
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n: Caption {#tbl:x}\n",
        "| a | b |\n|---|---|\n| 1 | 2 |\n: Caption {#tbl:x}\n",  # no blank line before the caption
        "Table: Caption {#tbl:x}\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",  # before the table
        "| a | b |\n|---|---|\n| 1 | 2 |\n\ntable: Caption\nover two lines {#tbl:x}\n",
    ],
)
def test_a_pandoc_table_caption_is_no_definition_list(source: str) -> None:
    out = html(source)
    assert "<dd>" not in out and "<dl>" not in out
    assert re.search(
        r'<p class="essaybook-table-caption" id="tbl:x">Caption( over two lines)?</p>', " ".join(out.split())
    )


def test_a_label_without_caption_text_labels_the_table() -> None:
    out = html("| a |\n|---|\n| 1 |\n\n: {#tbl:x}\n")
    assert '<p class="essaybook-table-caption" id="tbl:x"></p>' in out and "{#" not in out


def test_caption_lines_inside_code_and_away_from_tables_are_left_alone() -> None:
    out = html("```\n| a | b |\n|---|---|\n\n: not a caption\n```\n\nTerm\n: a definition\n")
    assert "essaybook-table-caption" not in out
    assert "<dd>a definition</dd>" in out and ": not a caption" in out


def test_references_as_pandoc_crossref_and_quarto_write_them() -> None:
    out = html(
        "See @fig:a, @Fig:b, [@fig:a; @tbl:b], [-@lst:c], @fig-d, @sec:e.\n\n"
        "Not `@fig:code`, nor me@fig:mail, nor \\@fig:escaped, nor [@fig:a](link).\n"
    )
    found = re.findall(r'data-crossref="([^"]+)"', out)
    assert found == ["fig:a", "Fig:b", "fig:a;tbl:b", "-lst:c", "fig-d", "sec:e"]


def test_three_or_more_consecutive_numbers_print_as_a_range() -> None:
    assert ranges(["1", "2", "3", "5"]) == [(0, 2), (3, 3)]
    assert ranges(["1.1", "1.2", "2.1"]) == [(0, 0), (1, 1), (2, 2)]
    assert ranges(["2.1", "2.2", "2.3", "2.4", "??"]) == [(0, 3), (4, 4)]


def test_a_captioned_fence_keeps_its_language_and_options() -> None:
    out = html('```{#lst:x .python caption="Loop" hl_lines="1"}\nfor x in y:\n    pass\n```\n')
    assert '<div class="essaybook-listing" data-caption="Loop" id="lst:x">' in out
    assert '<span class="hll"><span class="k">for</span>' in out  # Python highlighting, first line marked


# --------------------------------------------------------------------------------------------- the book


def test_the_book_warns_only_about_its_missing_label_and_epubcheck_is_clean(crossrefs_book: Built) -> None:
    assert [w.split(" (")[0] for w in crossrefs_book.warnings] == [
        "manuscript/01-harbour.md:35: @fig:nowhere names no figure of this book; printed as ??"
    ]
    assert "label the figure: ![Caption](file.png){#fig:name}" in crossrefs_book.warnings[0]
    assert epubcheck_messages(crossrefs_book.epub) == []


def test_captions_are_numbered_by_chapter_in_the_epub(crossrefs_book: Built) -> None:
    docs = documents(crossrefs_book.epub)
    numbered: dict[str, str] = {}
    for doc in docs.values():
        for element in doc.iter():
            if element.get("id") in EXPECTED:
                label = element.find(f".//{XHTML}span[@class='caption-number']")
                label = label if label is not None else element.find(f"{XHTML}span[@class='eqno']")
                assert label is not None, element.get("id")
                numbered[element.get("id", "")] = text(label)
    assert numbered == {
        key: f"({number})" if key.startswith("eq") else f"{word} {number}:".replace(" ", "\u00a0", 1)
        for key, number in EXPECTED.items()
        for word in [{"fig": "Figure", "tbl": "Table", "lst": "Listing", "eq": ""}[key[:3].rstrip(":-")]]
    }
    chapter_one = next(d for name, d in docs.items() if "harbour" in name)
    assert [text(c) for c in chapter_one.iter(f"{XHTML}caption")] == [
        "Table\u00a01.1: Tides on the first of May",
        "Ships in port",  # a caption with no label: not numbered
    ]
    chapter_two = next(d for name, d in docs.items() if "rivers" in name)
    captions = [text(c) for c in chapter_two.iter(f"{XHTML}caption")]
    assert captions == ["Table\u00a02.1: Long rivers"]


def test_every_reference_links_to_what_it_names_and_prints_its_number(crossrefs_book: Built) -> None:
    docs = documents(crossrefs_book.epub)
    links = 0
    for doc in docs.values():
        for a in doc.iter(f"{XHTML}a"):
            if a.get("class") not in ("crossref", "eqref"):
                continue
            target = a.get("href", "").rpartition("#")[2]
            shown = text(a)
            if target.startswith("sec"):
                assert shown in ("Rivers", "Measuring")
            else:
                assert shown.endswith(EXPECTED[target] + (")" if target.startswith("eq") else "")), (target, shown)
            links += 1
    assert links == 23
    first = " ".join(text(next(d for n, d in docs.items() if "harbour" in n)).split())
    assert "shown in Figure 1.1, and its tides in Table 1.1." in first
    assert "The sea wall (1.2) is older." in first  # [-@fig:wall]: the number alone
    assert "Both pictures together: Figures 1.1 and 1.2." in first
    assert "computes (1.1)." in first
    assert "A missing one: ??." in first
    second = " ".join(text(next(d for n, d in docs.items() if "rivers" in n)).split())
    assert "See Figures 1.1, 1.2 and 2.1 and Table 1.1 and Figure 2.1, and Measuring." in second
    assert "Equation (2.1) and (1.1)" in second


def test_the_epub_navigation_lists_figures_and_tables(crossrefs_book: Built) -> None:
    nav = documents(crossrefs_book.epub)["nav.xhtml"]
    navs = {n.get(EPUB_TYPE): n for n in nav.iter(f"{XHTML}nav")}
    figures = [(a.get("href"), text(a)) for a in navs["loi"].iter(f"{XHTML}a")]
    assert figures == [
        ("text/chapter-01-harbour.xhtml#fig:harbour", "1.1 The harbour at low tide"),
        ("text/chapter-01-harbour.xhtml#fig:wall", "1.2 The old sea wall"),
        ("text/chapter-02-rivers.xhtml#fig:delta", "2.1 The river delta"),
        ("text/chapter-02-rivers.xhtml#fig-panel", "2.2 Two views of the river"),
    ]
    assert [text(a) for a in navs["lot"].iter(f"{XHTML}a")] == ["1.1 Tides on the first of May", "2.1 Long rivers"]
    landmarks = {a.get(EPUB_TYPE): a.get("href") for a in navs["landmarks"].iter(f"{XHTML}a")}
    assert landmarks["loi"] == "nav.xhtml#list-of-figures" and landmarks["lot"] == "nav.xhtml#list-of-tables"


def test_the_pdf_numbers_captions_and_prints_the_pages_of_references(crossrefs_book: Built) -> None:
    reader = PdfReader(crossrefs_book.pdf)
    labels = reader.page_labels
    pages = [" ".join(page.extract_text().split()) for page in reader.pages]

    def page_of(needle: str) -> str:
        return labels[next(i for i, t in enumerate(pages) if needle in t)]

    for caption in (
        "Figure 1.1: The harbour",
        "Figure 1.2: The old sea wall",
        "Table 1.1: Tides on",
        "Listing 1.1: Tide",
    ):
        assert any(caption in t for t in pages), caption
    rivers = next(t for t in pages if t.startswith("Rivers") or " Rivers Back in" in t)
    wall, tides, measuring = (
        page_of("Figure 1.2: The old sea wall"),
        page_of("Table 1.1: Tides"),
        page_of("Measuring Figure"),
    )
    assert f"Figure 1.2 (p. {wall}) and Table 1.1 (p. {tides})" in rivers
    assert f"and Measuring (p. {measuring})" in rivers
    # References within a chapter print their target's page as well (the unit is laid out again with them).
    text = " ".join(pages)
    assert f"tides in Table 1.1 (p. {tides})" in text
    assert f"The code in Listing 1.1 (p. {page_of('Listing 1.1: Tide')})" in text
    assert f"Figure 2.2 (p. {page_of('Figure 2.2')})" in text
    assert wall == "1" and tides in ("1", "2")
    # The lists: front matter after the contents, back matter after the last chapter, each with its pages.
    front = next(i for i, t in enumerate(pages) if t.startswith("List of Figures"))
    back = next(i for i, t in enumerate(pages) if t.startswith("List of Tables"))
    assert labels[front] in ("vi", "vii") and back == len(pages) - 1
    assert re.search(rf"1\.2 The old sea wall[ .]+{wall}\b", pages[front])
    assert re.search(rf"1\.1 Tides on the first of May[ .]+{tides}\b", pages[back])
    assert re.search(rf"2\.1 The river delta[ .]+{page_of('Figure 2.1: The river delta')}\b", pages[front])


# ---------------------------------------------------------------------------------------------- settings


def test_numbering_through_the_book_and_the_words_of_the_language(tmp_path: Path) -> None:
    body = (
        "# Eins\n\n![Hafen](h.png){#fig:a}\n\n| a |\n|---|\n| 1 |\n\n: Gezeiten {#tbl:t}\n\n"
        "Siehe [@fig:a; @fig:b] und @tbl:t, dann @fig:missing.\n"
    )
    root = make_project(
        tmp_path,
        {
            "manuscript/book.toml": '[book]\ntitle = "T"\nlang = "de"\nnumbering = "book"\n',
            "manuscript/01.md": body,
            "manuscript/02.md": "# Zwei\n\n![Fluss](h.png){#fig:b}\n",
            "manuscript/h.png": (BOOKS / "crossrefs/manuscript/images/harbour.png").read_bytes(),
        },
    )
    result = build(root, "--no-pdf")
    assert_success(result)
    assert_warned(result, "01.md:11", "@fig:missing", "??")
    with zipfile.ZipFile(next((root / "dist").glob("*.epub"))) as z:
        xhtml = re.sub(
            r"[ \t\n]+", " ", z.read(next(n for n in z.namelist() if n.endswith("chapter-01.xhtml"))).decode()
        )
    assert "Siehe Abbildungen" in xhtml and ">1</a> und <a" in xhtml and ">2</a> und <a" in xhtml
    assert "Tabelle\u00a01</a>" in xhtml and "Abbildung\u00a01:</span> Hafen" in xhtml


def test_numbering_and_list_settings_are_checked(tmp_path: Path) -> None:
    toml = tmp_path / "book.toml"
    toml.write_text(TOML + 'numbering = "section"\nlist-of-figures = "middle"\n', encoding="utf-8")
    _, problems = read_config(toml)
    messages = [str(p) for p in problems]
    assert any("book.numbering" in m and "'section'" in m and "book, chapter" in m for m in messages), messages
    assert any("book.list-of-figures" in m and "front, back" in m for m in messages), messages


def test_reconverting_a_chapter_renumbers_the_references_of_the_others(tmp_path: Path) -> None:
    image = (BOOKS / "crossrefs/manuscript/images/harbour.png").read_bytes()
    root = make_project(
        tmp_path,
        {
            "manuscript/book.toml": TOML,
            "manuscript/01.md": "# One\n\n![Harbour](h.png){#fig:a}\n",
            "manuscript/02.md": "# Two\n\nSee @fig:b and @fig:a.\n\n![Delta](h.png){#fig:b}\n",
            "manuscript/03.md": "# Three\n\nNo references here.\n",
            "manuscript/h.png": image,
        },
    )
    pipeline = Pipeline(root, cache=False)
    pipeline.convert()
    book = pipeline.project.book if pipeline.project else None
    assert book is not None
    assert "Figure\u00a02</a> and <a" in book.chapters[1].html
    (root / "manuscript/01.md").write_text("# One\n\n![Sea](h.png){#fig:s}\n\n![Harbour](h.png){#fig:a}\n")
    converted = pipeline.reconvert(book.chapters[0])
    assert [c.rel for c in converted] == ["01.md", "02.md"]
    assert "Figure\u00a03</a> and <a" in book.chapters[1].html and "Figure\u00a02</a>" in book.chapters[1].html
    assert "Figure\u00a03:</span> Delta" in book.chapters[1].html


def test_labels_on_the_wrong_thing_are_warned_about_and_headings_named_like_labels_are_not(tmp_path: Path) -> None:
    body = (
        "# One\n\n## Fig trees\n\n## Fig trees\n\nInline ![x](h.png){#fig:inline} here.\n\n"
        "A paragraph.\n{: #tbl:para }\n\n![a](h.png){#fig:twice}\n\n![b](h.png){#fig:twice}\n"
    )
    image = (BOOKS / "crossrefs/manuscript/images/harbour.png").read_bytes()
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01.md": body, "manuscript/h.png": image})
    result = build(root, "--no-pdf")
    assert_success(result)
    assert_warned(result, "01.md:7", "{#fig:inline} is not alone in its paragraph")
    assert_warned(result, "01.md:10", "{#tbl:para} is on no table")
    assert_warned(result, "label fig:twice is used more than once")
    assert "fig-trees" not in result.output


def test_pandoc_metadata_lof_and_lot_ask_for_the_lists(tmp_path: Path) -> None:
    (tmp_path / "meta.yaml").write_text("title: T\nlof: true\nlot: false\n", encoding="utf-8")
    toml = tmp_path / "book.toml"
    toml.write_text('[book]\nlang = "en"\nmetadata-file = "meta.yaml"\n', encoding="utf-8")
    settings, problems = read_config(toml)
    assert problems == []
    assert (settings.book.list_of_figures, settings.book.list_of_tables) == ("front", None)
