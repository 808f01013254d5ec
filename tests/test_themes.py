"""Themes: the modern theme builds both test books as well as classic does, with its own fonts, and the search
path (project ``styles/`` -> chosen theme -> classic -> base) lets a project replace and still reuse theme files."""

from __future__ import annotations

from pathlib import Path

import pytest
from pikepdf import Pdf
from pypdf import PdfReader

from essaybook import log
from essaybook.commands.build import build
from essaybook.config import load_config
from essaybook.errors import ConfigErrors
from essaybook.stylesheets import epub_styles
from essaybook.themes import available, environment, load_theme, themes_dir

from conftest import FEATURES_LOW_RESOLUTION, Books, Built, epubcheck_messages
from pdfread import open_pdf, outline, page_lines, page_text, text_in_band
from test_epub import NS, Epub

LISTING_WARNING = (
    "manuscript/part2/03-links.md:15: raw HTML <listing> is not an XHTML element; kept its content as <figure>"
)


@pytest.fixture(scope="session")
def modern_sample(build_book: Books) -> Built:
    """The repository's sample essay in the modern theme."""
    return build_book("sample", theme="modern")


@pytest.fixture(scope="session")
def modern_features(build_book: Books) -> Built:
    """tests/books/features (book layout) in the modern theme (conftest's features_modern: one build)."""
    return build_book("features", theme="modern")


def pdf_fonts(path: Path) -> dict[str, bool]:
    """BaseFont name (subset prefix removed) -> whether its program is embedded, over every page."""
    found: dict[str, bool] = {}
    with Pdf.open(path) as pdf:
        for page in pdf.pages:
            for font in page.Resources.get("/Font", {}).values():
                descriptor = font.get("/FontDescriptor")
                if descriptor is None and "/DescendantFonts" in font:
                    descriptor = font.DescendantFonts[0].get("/FontDescriptor")
                embedded = descriptor is not None and any(
                    k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")
                )
                found[str(font.BaseFont).split("+", 1)[-1]] = embedded
    return found


def test_there_are_two_built_in_themes() -> None:
    assert available() == ["classic", "modern"]


def test_modern_builds_both_books_with_no_new_warnings(modern_sample: Built, modern_features: Built) -> None:
    assert modern_sample.warnings == []
    assert modern_features.warnings == [LISTING_WARNING, *FEATURES_LOW_RESOLUTION]  # the ones classic logs


@pytest.mark.parametrize("book", ["modern_sample", "modern_features"])
def test_modern_epubs_pass_epubcheck(book: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(book)
    assert epubcheck_messages(built.epub) == []


def test_modern_pdf_embeds_the_theme_fonts_and_only_those(modern_sample: Built, modern_features: Built) -> None:
    fonts = pdf_fonts(modern_features.pdf) | pdf_fonts(modern_sample.pdf)
    assert all(fonts.values()), fonts
    assert {
        "Essaybook-Modern-Serif",
        "Essaybook-Modern-Serif-Italic",
        "Essaybook-Modern-Serif-Bold",
        "Essaybook-Modern-Sans-Semi-Bold",
        "Essaybook-Modern-Mono",
    } <= set(fonts)
    assert all(name.startswith("Essaybook-Modern-") for name in fonts), fonts  # no Libertine, no machine font


def test_modern_keeps_the_book_structure_of_classic(features: Built, modern_features: Built) -> None:
    classic, modern = PdfReader(features.pdf), PdfReader(modern_features.pdf)
    assert [(i.title, i.depth) for i in outline(modern)] == [(i.title, i.depth) for i in outline(classic)]
    labels = modern.page_labels
    assert labels[:3] == ["Cover", "Inside cover", "i"]
    assert "1" in labels and labels.index("1") % 2 == 0  # the body opens on a right-hand page
    assert modern.metadata is not None and modern.metadata.title.startswith("A Book of Features")


def test_modern_has_its_own_page_furniture(features: Built, modern_features: Built) -> None:
    """Running heads in tracked capitals at the outer corner of the head, folios at the outer corner of the foot,
    where classic sets its heads in italics and centres its folios."""
    modern = PdfReader(modern_features.pdf)
    labels = modern.page_labels
    left, right = labels.index("2"), labels.index("3")  # a left- and a right-hand page inside the first chapter
    assert (text_in_band(modern, left, top=True), text_in_band(modern, left, top=False)) == ("A BOOK OF FEATURES", "2")
    assert text_in_band(modern, right, top=True) == "MARKDOWN, ALL OF IT"
    width = float(modern.pages[left].mediabox.width)
    for index, label in ((left, "2"), (right, "3")):
        [(_, x0, x1, _)] = [line for line in page_lines(modern_features.pdf, index) if line[0] == label]
        assert (x1 < width / 4) if index == left else (x0 > width * 3 / 4), (label, x0, x1)
    classic = PdfReader(features.pdf)
    text = page_text(classic, classic.page_labels.index("2"))
    assert "A Book of Features" in text and "A BOOK OF FEATURES" not in text


def test_modern_openings_and_contents_carry_only_a_folio_at_the_foot(modern_features: Built) -> None:
    """Issue 12 item 1: no running head (and no folio in the head) where a chapter opens or on the contents and
    the preface; their folio at the foot, as classic does; the numbering counts every page."""
    reader = PdfReader(modern_features.pdf)
    labels = reader.page_labels
    for words, label in (("Contents", "ix"), ("Preface", "xi"), ("Markdown, all of it", "1"), ("Links and", "5")):
        index = labels.index(label)
        assert page_text(reader, index).startswith(words), (words, index)
        assert text_in_band(reader, index, top=True) == "", f"a head on the page of {words!r}"
        assert text_in_band(reader, index, top=False) == label, f"the folio of {words!r}"


def test_modern_epub_links_the_modern_stylesheets(modern_features: Built) -> None:
    epub = Epub(modern_features.epub)
    doc = epub.xml("text/chapter-02-markdown.xhtml")
    links = [link.get("href") for link in doc.iter(f"{{{NS['x']}}}link")]
    assert links == [
        "../theme/modern-common.css",
        "../theme/base-features.css",
        "../theme/modern-epub.css",
        "../theme/base-epub-features.css",
        "../theme/code.css",
        "../styles/book.css",
    ]
    assert not [h for h in epub.manifest() if "classic" in h]


def test_fonts_and_cover_faces_come_from_the_chosen_theme(tmp_path: Path) -> None:
    modern, classic = load_theme("modern", tmp_path, None), load_theme("classic", tmp_path, None)
    assert [p.name for p in modern.fonts()] == [
        "NotoSerif-Regular.ttf",
        "NotoSerif-Italic.ttf",
        "NotoSerif-Bold.ttf",
        "NotoSerif-BoldItalic.ttf",
        "Inter-SemiBold.otf",
        "NotoSansMono-Regular.ttf",
    ]
    assert [p.name for p in modern.text_faces() or ()] == ["NotoSerif-Regular.ttf", "NotoSerif-Italic.ttf"]
    assert [p.name for p in classic.text_faces() or ()] == ["LinLibertine_R.otf", "LinLibertine_RI.otf"]
    assert len(classic.fonts()) == 5


def test_modern_theme_is_small_and_licensed() -> None:
    folder = themes_dir() / "modern"
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert size < 500_000, size
    licence = (folder / "fonts" / "OFL.txt").read_text(encoding="utf-8")
    assert "SIL Open Font License 1.1" in licence and "PERMISSION & CONDITIONS" in licence
    assert "Noto Serif" in licence and "Inter" in licence and "Noto Sans Mono" in licence


def test_every_theme_builds_on_the_shared_stylesheets_which_a_project_can_replace(tmp_path: Path) -> None:
    """themes/base/ is no theme: its stylesheets stand around each theme's own, in CSS_ORDER's order, and a file of
    the same name in styles/theme/ replaces one of them as it replaces a theme's (cleaned for the EPUB likewise)."""
    for name in available():
        theme = load_theme(name, tmp_path, None)
        shown = {
            output: [f"{p.parent.parent.name}/{p.name}" for p in theme.css(output)] for output in ("print", "epub")
        }
        assert shown == {
            "print": [
                f"{name}/fonts.css",
                f"{name}/common.css",
                "base/features.css",
                "base/pages.css",
                f"{name}/print.css",
                "base/print-features.css",
            ],
            "epub": [
                f"{name}/fonts.css",
                f"{name}/common.css",
                "base/features.css",
                f"{name}/epub.css",
                "base/epub-features.css",
            ],
        }
    (tmp_path / "styles" / "theme").mkdir(parents=True)
    (tmp_path / "styles" / "theme" / "features.css").write_text(".callout { border: none; }\n", encoding="utf-8")
    theme = load_theme("modern", tmp_path, None)
    assert theme.css("print")[2] == tmp_path / "styles" / "theme" / "features.css"
    assert epub_styles(theme, tmp_path, "", embed_fonts=False).hrefs == [
        "theme/modern-common.css",
        "styles/theme/features.css",
        "theme/modern-epub.css",
        "theme/base-epub-features.css",
        "theme/code.css",
    ]


def test_unknown_theme_is_reported_with_the_other_config_problems(tmp_path: Path) -> None:
    toml = tmp_path / "book.toml"
    toml.write_text('[pdf]\ntoc-depth = 9\n\n[theme]\nname = "fancy"\n', encoding="utf-8")
    with pytest.raises(ConfigErrors) as caught:
        load_config(toml)
    messages = [p.message for p in caught.value.problems]
    assert len(messages) == 2
    assert messages[1] == f"{toml}:5: theme.name: unknown theme 'fancy' (built-in themes: classic, modern)"


def test_theme_prefix_reaches_the_chosen_theme_and_classic(tmp_path: Path) -> None:
    env = environment(load_theme("modern", tmp_path, None))
    classic = (themes_dir() / "classic" / "templates" / "book.html").as_posix()
    # modern ships no templates of its own: "!modern/" falls back to classic's, as an unprefixed name does.
    assert env.get_template("!modern/book.html").filename == classic
    assert env.get_template("!classic/book.html").filename == classic
    assert env.get_template("book.html").filename == classic


MACROS = """{% import "!THEME/_macros.html" as original %}
{% macro title_block(meta, tag="header", cls="title-block") %}
{{ original.title_block(meta, tag, cls) }}<p class="motto">Set in the project's own template.</p>
{% endmacro %}
{% macro toc_list(entries, href) %}{{ original.toc_list(entries, href) }}{% endmacro %}
"""


@pytest.mark.parametrize("theme", ["classic", "modern"])
def test_project_template_overrides_and_reuses_the_original(tmp_path: Path, theme: str) -> None:
    files = {
        "manuscript/book.toml": f'[book]\ntitle = "Overrides"\nlang = "en"\n\n[theme]\nname = "{theme}"\n',
        "manuscript/01-one.md": "# One\n\nText.\n",
        "manuscript/02-two.md": "# Two\n\nMore text.\n",
        "styles/templates/_macros.html": MACROS.replace("THEME", theme),
        "styles/templates/chapter.xhtml": (
            '{% extends "!classic/chapter.xhtml" %}'
            '{% block after_content %}<p class="signature">Signed, the project.</p>{% endblock %}'
        ),
        "styles/templates/book.html": (
            f'{{% extends "!{theme}/book.html" %}}'
            "{% block copyright_extra %}<p>Printed in Lisbon.</p>{{ super() }}{% endblock %}"
        ),
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    log.setup(verbosity=-1)
    result = build(tmp_path)
    assert log.warnings_seen() == []
    assert result.epub is not None and result.pdf is not None
    epub = Epub(result.epub.path)
    assert b"Set in the project's own template." in epub.read("text/titlepage.xhtml")
    chapter = epub.read("text/chapter-02-two.xhtml")
    assert b"More text." in chapter  # through "!classic/chapter.xhtml"
    assert chapter.index(b"More text.") < chapter.index(b"Signed, the project.")  # the block after the text
    copyright_page = " ".join(page_text(open_pdf(result.pdf.path), 3).split())
    assert "Printed in Lisbon. Typeset with essaybook" in copyright_page  # the block, then super()
