"""Hostile cases around inline SVG and MathML, SVGs named by stylesheets, and Markdown that Python-Markdown
reads in quadratic time.

One book (built once, both outputs; its EPUB checked once): raw ``<svg>`` and ``<math>`` are kept, cleaned, in
both outputs; a stylesheet's SVG background reaches WeasyPrint cleaned; a chapter of runaway ``[`` converts
quickly and reads the same.
"""

from __future__ import annotations

import re
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result
from pypdf import PdfReader

from essaybook import log
from essaybook.convert import guards
from essaybook.convert.context import Context
from essaybook.convert.parse import make_markdown, parse, serialize
from essaybook.errors import ManuscriptError
from essaybook.fetcher import RestrictedFetcher
from essaybook.model import Book, Chapter
from test_bad_input import TOML, build, make_project
from test_hostile import assert_success, chapter_file

from conftest import epubcheck_messages

HOSTILE_SVG = """<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 10 10"
     onload="alert(1)">
  <script>alert(2)</script>
  <image href="file:///etc/passwd" width="10" height="10"/>
  <image xlink:href="http://example.org/track.png" width="10" height="10"/>
  <rect width="10" height="10" fill="#eee"/>
  <text>&secret;</text>
</svg>
"""

INLINE = """# Drawings and equations

Before.

<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 40" width="300" height="60" onclick="steal()">
<script>alert(1)</script>
<linearGradient id="shade"><stop offset="0" stop-color="#ccc"/><stop offset="1" stop-color="#fff"/></linearGradient>
<rect width="200" height="40" fill="url(#shade)"/>
<foreignObject width="10" height="10"><p>smuggled</p></foreignObject>
<text x="10" y="25">Inline drawing text</text>
</svg>

A clean one, kept as written:

<svg viewBox="0 0 100 20" width="150" height="30"><rect width="100" height="20" fill="#ddd"/>\
<text x="5" y="15">Second drawing</text></svg>

Inline <math><mi>x</mi><mo>=</mo><mn>2</mn></math> in a sentence.

<math display="block" href="javascript:steal()"><mfrac><mi>a</mi><mi>b</mi></mfrac>
<annotation-xml encoding="text/html"><b>html in math</b></annotation-xml></math>

After.
"""
BRACKETS = 20_000


@dataclass
class Built:
    root: Path
    result: Result
    messages: list[str]
    seconds: float


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Built:
    files: dict[str, str | bytes] = {
        "manuscript/book.toml": TOML,
        "manuscript/01-inline.md": INLINE,
        "manuscript/02-brackets.md": "# Brackets\n\n" + "[a " * BRACKETS + "\n\n![b [c\n",
        "styles/print.css": "h1 { background: url(hostile.svg) no-repeat; }\n",
        "styles/hostile.svg": HOSTILE_SVG,
    }
    root = make_project(tmp_path_factory.mktemp("embedded"), files)
    started = time.perf_counter()
    result = build(root)
    seconds = time.perf_counter() - started
    assert_success(result)
    epub = next((root / "dist").glob("*.epub"))
    return Built(root, result, epubcheck_messages(epub), seconds)


def _warnings(book: Built, fragment: str) -> list[str]:
    return [line for line in book.result.output.splitlines() if line.startswith("warning:") and fragment in line]


def test_the_epub_passes_epubcheck(book: Built) -> None:
    assert book.messages == []


def test_inline_svg_is_kept_cleaned_and_declared(book: Built) -> None:
    document = chapter_file(book.root, "01-inline")
    assert "Inline drawing text" in document and "Second drawing" in document
    assert "viewBox=" in document and "<linearGradient" in document
    for gone in ("script", "alert", "steal", "smuggled", "foreignObject", "onclick"):
        assert gone not in document, gone
    # Ids are made the drawing's own (two drawings may both call a gradient 'shade'); references follow them.
    assert 'id="svg1-01-inline-shade"' in document and "url(#svg1-01-inline-shade)" in document
    with zipfile.ZipFile(next((book.root / "dist").glob("*.epub"))) as epub:
        opf = epub.read(next(n for n in epub.namelist() if n.endswith(".opf"))).decode()
    item = re.search(r'<item [^>]*href="text/chapter-01-inline\.xhtml"[^>]*>', opf)
    assert item and "svg" in item.group(0) and "mathml" in item.group(0), opf
    (warning,) = _warnings(book, "inline <svg>")
    assert "manuscript/01-inline.md:5" in warning and "scripts" in warning and "HTML inside it" in warning


def test_inline_mathml_is_kept_without_html_or_links(book: Built) -> None:
    document = chapter_file(book.root, "01-inline")
    assert "<mfrac>" in document and "<mi>x</mi>" in document
    assert "html in math" not in document and "javascript" not in document and "annotation-xml" not in document
    (warning,) = _warnings(book, "inline <math>")
    assert "manuscript/01-inline.md:19" in warning and "href" in warning


def test_the_pdf_draws_inline_svg_and_mathml(book: Built) -> None:
    reader = PdfReader(next((book.root / "dist").glob("*.pdf")))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    assert "Inline drawing text" in text and "Second drawing" in text
    assert "x=2" not in text.replace(" ", "")  # drawn as an equation (paths), not printed as MathML's text


def test_a_stylesheet_svg_reaches_weasyprint_cleaned(tmp_path: Path) -> None:
    (tmp_path / "hostile.svg").write_text(HOSTILE_SVG, encoding="utf-8")
    fetcher = RestrictedFetcher([tmp_path])
    served = fetcher.fetch((tmp_path / "hostile.svg").as_uri()).read()
    for gone in (b"passwd", b"example.org", b"script", b"alert", b"onload", b"ENTITY", b"DOCTYPE"):
        assert gone not in served, gone
    assert b"<rect" in served
    data = "data:image/svg+xml," + HOSTILE_SVG.replace("#", "%23").replace("\n", " ")
    assert b"passwd" not in fetcher.fetch(data).read()


def test_the_book_with_a_hostile_stylesheet_svg_loads_nothing_outside(book: Built) -> None:
    assert not _warnings(book, "refused to load"), book.result.output
    assert "passwd" not in book.result.output


def test_runaway_brackets_convert_quickly_and_read_the_same(book: Built) -> None:
    document = chapter_file(book.root, "02-brackets")
    assert document.count("[a ") == BRACKETS and "![b [c" in document
    assert not _warnings(book, "02-brackets")


# ------------------------------------------------------------------------------ the openers pass, measured

log.setup(verbosity=-1)


def _context(markdown: str) -> Context:
    chapter = Chapter(source=Path("/nowhere/ch.md"), rel="ch.md", index=0, markdown=markdown, body_line=1)
    return Context(Book(root=Path("/nowhere"), chapters=[chapter]), chapter)


PATHOLOGICAL = {
    "brackets": "[a " * BRACKETS,
    "brackets-closed-once-at-the-end": "[a " * BRACKETS + "]",
    "image-openers": "![a " * BRACKETS,
    "note-openers": "[^a " * BRACKETS,
    "links-never-closed": "[a](" * BRACKETS,
    "tags-never-closed": "x <a " * BRACKETS,
    "brackets-one-per-line": "[a\n" * BRACKETS,
    "backtick-runs": "".join("`" * (i % 50 + 1) + "a " for i in range(BRACKETS)),
    "math-openers": "\\(a " * BRACKETS,
}


@pytest.mark.parametrize("source", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_runaway_openers_convert_in_linear_time(source: str) -> None:
    ctx = _context(source)
    md = make_markdown()
    started = time.perf_counter()
    md.convert(guards.openers(source, ctx))
    # 20,000 '[' took minutes before the pass (135 s for 10,000); now about a second (more on a loaded machine)
    assert time.perf_counter() - started < 5
    assert ctx.warnings == []


SAME = [
    "[a " * 60 + "[link](https://example.org) `[code` $[x$ <span title='['>s</span>",
    "[a " * 60 + "\n\n```\n[[[[\n```\n\n    [indented\n\n[x][y]\n\n[y]: https://example.org",
    "![a " * 60 + "[^n]\n\n[^n]: A note [with [nested] brackets]",
    "\\[x\\] " + "[a (b <c " * 60 + "<em>kept</em> [ok](#x)",
    "[a " * 60 + "``code ` [span`` [b](#y) \\[ \\( [",
    "\\(x^2\\) and \\[y\\] " + "\\(a \\[b " * 40 + "`\\(code`",
]


@pytest.mark.parametrize("source", SAME)
def test_the_openers_pass_changes_nothing_in_the_output(source: str) -> None:
    md = make_markdown()
    changed = guards.openers(source, _context(source))
    assert changed != source
    before, after = (serialize(parse(md.reset().convert(text))) for text in (source, changed))
    assert after == before


def test_brackets_nested_absurdly_deep_are_text_with_a_warning() -> None:
    source = "Intro.\n\n" + "[" * 5000 + "a" + "]" * 5000
    ctx = _context(source)
    md = make_markdown()
    started = time.perf_counter()
    out = serialize(parse(md.convert(guards.openers(source, ctx))))
    assert time.perf_counter() - started < 2.5
    assert out.count("[") == 5000
    assert [(w.kind, w.line) for w in ctx.warnings] == [("runaway-markup", 3)]


def test_normal_text_is_left_alone() -> None:
    source = "A [link](#x), [another] and (parentheses) <em>a</em>.\n\n" * 200
    assert guards.openers(source, _context(source)) == source


@pytest.mark.parametrize(
    "paragraph",
    ["`a` " * 20_000, "*a* " * 20_000, "[a](#b) " * 20_000, "word " * 40_000],
    ids=["code-spans", "emphasis", "links", "plain-text"],
)
def test_a_paragraph_python_markdown_would_take_minutes_on_is_refused_first(paragraph: str) -> None:
    source = "Intro.\n\n```\n" + "`a` " * 20_000 + "\n```\n\n" + paragraph + "\n"
    started = time.perf_counter()
    with pytest.raises(ManuscriptError) as refused:
        guards.long_paragraphs(source, _context(source))
    assert time.perf_counter() - started < 0.5
    assert refused.value.line == 7 and "separate paragraphs" in (refused.value.hint or "")


def test_many_short_paragraphs_and_lists_are_not_one_paragraph() -> None:
    source = ("Some `code` and *emphasis*.\n\n" + "- `a` *b* [c](#d)\n" * 3000 + "\n") * 2
    assert guards.long_paragraphs(source, _context(source)) == source
