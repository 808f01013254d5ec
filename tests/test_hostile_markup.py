"""Hostile markup: raw HTML that breaks the XHTML content model, from real books and READMEs.

Each case is one chapter of a single book (built once, EPUBChecked once): its EPUB document must pass EPUBCheck,
a warning must name the chapter and the line the markup is on, and the content must still be there.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result
from lxml import etree, html

from essaybook import contentmodel
from test_bad_input import TOML, build, describe, make_project
from test_hostile import assert_success, chapter_file

from conftest import epubcheck_messages


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x80" * 6 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@dataclass(frozen=True)
class Case:
    id: str
    markup: str
    """Chapter body from line 5 on."""
    warning: str
    """What the warning about it says (besides the chapter and line)."""
    kept: tuple[str, ...]
    """What the chapter's EPUB document must still hold."""


CASES = [
    Case(
        "table-cell-outside-a-table",  # property run: the <span> a stray <td> became kept its rowspan (EPUBCheck)
        '<em><td rowspan="2" colspan="3" headers="h">the cell</td></em>',
        "<td> outside a <tr>; kept as <span>",
        ('<span class="td">the cell</span>',),
    ),
    Case(
        "inline-svg-inside-a-list",  # property run: <svg> kept as inline SVG straight inside <ul> failed EPUBCheck
        '<ul><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle r="5"/>'
        "<text>Drawn</text></svg></ul>",
        "<svg> directly inside <ul>; put in a <li>",
        ("Drawn", "<li>"),
    ),
    Case(
        "attribute-name-with-a-brace",  # property run: alt=""quoted" {{#include …}}" made the build exit 3
        '<figure>\n<img src="pic.png" alt=""quoted" {{#include x.rs}} text">\n'
        "<figcaption>Kept caption</figcaption>\n</figure>",
        "not an attribute name",
        ("Kept caption", "pic.png"),
    ),
    Case(
        "figure-br-after-caption",
        '<figure>\n<img src="pic.png" alt="A grey square">\n<figcaption>The caption</figcaption>\n<br><br>\n</figure>',
        "<figcaption> in the middle of its <figure>",
        ("The caption", "pic.png"),
    ),
    Case(
        "picture-source-img",
        '<picture>\n<source srcset="pic.png" media="(min-width: 600px)">\n<img src="pic.png" alt="Kept image">\n'
        "</picture>",
        "<source> removed",
        ('alt="Kept image"', "../images/pic.png"),
    ),
    Case(
        "raw-img-percent-and-auto",
        '<img src="pic.png" alt="Square" width="75%" height="auto">',
        "height='auto' is no length",
        ('style="width: 75%"',),
    ),
    Case("li-outside-list", "<li>An orphan item</li>\n<li>Another</li>", "<li> outside a", ("<ul", "An orphan item")),
    Case("row-outside-table", "<tr><td>Lonely row</td></tr>", "<tr> outside a", ("<table", "Lonely row")),
    Case("cell-outside-row", "<td>Lonely cell</td>", "<td> outside a <tr>", ("<tr", "Lonely cell")),
    Case("dd-without-dl", "<dd>A definition alone</dd>", "<dd> outside a", ("A definition alone",)),
    Case(
        "dl-definition-first-and-paragraph",
        "<dl><dd>Definition first</dd><p>Paragraph in a list</p><dt>Term</dt><dd>Def</dd></dl>",
        "<dd> before any <dt>",
        ("Definition first", "Paragraph in a list", "Term"),
    ),
    Case(
        "details-summary-last",
        "<details>The body text<summary>Late summary</summary></details>",
        "<summary> is not the first",
        ("<summary>Late summary</summary>The body text",),
    ),
    Case(
        "details-without-summary",
        "<details>\n<p>Hidden body without a summary</p>\n</details>",
        "<details> without a <summary>",
        ("Hidden body without a summary",),
    ),
    Case(
        "paragraph-and-text-in-list",
        "<ul><p>Paragraph in a list</p><li>Item</li>Stray text</ul>",
        "directly inside <ul>; put in a <li>",
        ("<li><p>Paragraph in a list</p></li>", "Stray text"),
    ),
    Case(
        "two-figcaptions",
        '<figure><figcaption>First caption</figcaption><img src="pic.png" alt="x"><figcaption>Second caption'
        "</figcaption></figure>",
        "a second <figcaption>",
        ("First caption", "Second caption"),
    ),
    Case("div-in-heading", "<h2>Heading text <div>block in a heading</div></h2>", "<div> inside <h2>", ("block in",)),
    Case("div-in-pre", "<pre><div>block in pre</div></pre>", "<div> inside <pre>", ("block in pre",)),
    Case("blockquote-in-q", "<q><blockquote>quoted block</blockquote></q>", "<blockquote>", ("quoted block",)),
    Case("dfn-in-dfn", "<dfn><dfn>nested term</dfn></dfn>", "<dfn> may not stand inside <dfn>", ("nested term",)),
    Case("header-in-header", "<header><header>inner header</header></header>", "<header> may not", ("inner header",)),
    Case("main-in-footer", "<footer><main>main in a footer</main></footer>", "<main> may not", ("main in a footer",)),
    Case("heading-in-address", "<address><h2>Heading in address</h2></address>", "<h2> may not", ("Heading in",)),
    Case("bdo-without-dir", "<bdo>reversed text</bdo>", "<bdo> without a dir", ("reversed text",)),
    Case(
        "col-in-table",
        '<table><col span="2"><tr><td>a</td><td>b</td></tr></table>',
        "<col> directly inside <table>",
        ("<colgroup",),
    ),
    Case(
        "two-captions",
        "<table><caption>One</caption><caption>Two</caption><tr><td>1</td></tr></table>",
        "a second <caption>",
        ("One", "Two"),
    ),
    Case("lonely-summary", "<summary>Lonely summary</summary>", "<summary> outside a <details>", ("Lonely summary",)),
    Case("lonely-figcaption", "<figcaption>Lonely caption</figcaption>", "<figcaption> outside", ("Lonely caption",)),
    Case(
        "table-parts-out-of-order",
        "<table><tfoot><tr><td>foot</td></tr></tfoot><thead><tr><th>head</th></tr></thead>"
        "<tbody><tr><td>body</td></tr></tbody></table>",
        "out of order",
        ("<thead><tr><th>head</th></tr></thead><tbody><tr><td>body</td></tr></tbody><tfoot>",),
    ),
    Case("ol-start-word", '<ol start="x" type="z"><li>item</li></ol>', "the start attribute of <ol>", ("item",)),
    Case("colspan-zero", '<table><tr><td colspan="0" rowspan="-1">c</td></tr></table>', "colspan", ("c</td>",)),
    Case("dir-sideways", '<p dir="sideways">Sideways text</p>', "the dir attribute of <p>", ("Sideways text",)),
    Case("time-garbage", '<time datetime="garbage">Tuesday</time>', "datetime attribute of <time>", ("Tuesday",)),
    Case("role-unknown", '<span role="bogus">Role text</span>', "the role attribute", ("Role text",)),
    Case("aria-hidden-maybe", '<span aria-hidden="maybe">Aria text</span>', "aria-hidden", ("Aria text",)),
    Case("lang-underscore", '<span lang="en_US">Language</span>', 'lang="en_US"', ('lang="en-US"',)),
    Case("reversed-no", '<ol reversed="no"><li>Counted down</li></ol>', 'reversed="no"', ('reversed="reversed"',)),
    Case("data-without-value", "<data>No value</data>", "<data> without a value", ("No value",)),
    Case(
        "link-around-a-block",
        '<a href="#top"><div>A block that is a link</div></a>',
        "<div> inside <p>",
        ('href="#', "<div>A block that is a link</div></a>"),
    ),
    Case(
        "readme-centred-logo-and-cells",
        '<p align="center"><img src="pic.png" alt="Logo" width="120"></p>\n\n'
        '<table><tr><td width="30%" valign="top" align="right">cell</td></tr></table>\n\n'
        '<h2>Centred <div align="center">x</div></h2>',
        "<div> inside <h2>",
        ('style="text-align: center"', 'width="120"', 'style="width: 30%; vertical-align: top; text-align: right"'),
    ),
    Case("link-type-nonsense", '<a href="#top" type="nonsense">typed link</a>', "the type attribute", ("typed",)),
]


def _stem(number: int, case: Case) -> str:
    return f"{number:02d}-{case.id}"


@dataclass
class Built:
    root: Path
    result: Result
    messages: list[str]


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Built:
    files: dict[str, str | bytes] = {"manuscript/book.toml": TOML, "manuscript/pic.png": _png()}
    for number, case in enumerate(CASES, start=1):
        files[f"manuscript/{_stem(number, case)}.md"] = f"# Case {case.id}\n\nBefore.\n\n{case.markup}\n\nAfter.\n"
    root = make_project(tmp_path_factory.mktemp("markup"), files)
    # Not timed like a single hostile build: 38 chapters of page layout (for the page list) on a loaded machine.
    result = build(root, "--no-pdf")
    assert_success(result)
    epub = next((root / "dist").glob("*.epub"))
    return Built(root, result, epubcheck_messages(epub))


@pytest.mark.parametrize(("number", "case"), list(enumerate(CASES, start=1)), ids=[c.id for c in CASES])
def test_broken_content_model_is_mended_and_named(book: Built, number: int, case: Case) -> None:
    stem = _stem(number, case)
    document = chapter_file(book.root, stem)
    assert [m for m in book.messages if f"{stem}.xhtml" in m] == [], document
    lines = range(5, 5 + case.markup.count("\n") + 1)
    warned = [
        line
        for line in book.result.output.splitlines()
        if line.startswith("warning:") and case.warning in line and f"manuscript/{stem}.md:" in line
    ]
    assert warned, f"no warning holding {case.warning!r} for {stem}\n{describe(book.result)}"
    found = re.search(rf"manuscript/{re.escape(stem)}\.md:(\d+)", warned[0])
    assert found and int(found.group(1)) in lines, warned[0]
    for kept in case.kept:
        assert kept in document, f"{kept!r} missing\n{document}"
    assert "Before." in document and "After." in document


def test_the_whole_book_passes_epubcheck(book: Built) -> None:
    assert book.messages == []


# ----------------------------------------------------------------------------------------- the table itself


def _fragment(markup: str) -> etree._Element:
    """``markup`` as written, in a <div> (parsed as XML, so that no HTML parser mends it first)."""
    return etree.fromstring(f"<div>{markup}</div>")


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        pytest.param('<p>a <a href="#x">b <div>c</div> d</a> e</p>', '<p>a <a href="#x">b </a></p><a href="#x">'),
        pytest.param("<span><li>x</li></span>", '<span><span class="li">x</span></span>'),
        pytest.param('<a href="#a">out <a href="#b">in</a></a>', '<a href="#a">out <span class="a">in</span></a>'),
        pytest.param("<table>stray<tr><td>c</td></tr></table>", "<div>stray</div>\n<table>"),
        pytest.param("<p>a<p>b</p>c</p>", "<p>a</p><p>b</p><p>c</p>"),
        pytest.param("<ol>\u00a0</ol>", "<ol><li>\u00a0</li>\n</ol>"),  # found by the thorough property run
        pytest.param("<ul><li>a</li><div>b</div>c<li>d</li></ul>", "<ul><li>a</li><li><div>b</div>c</li>\n<li>d</li>"),
        pytest.param("<div><td>1</td><td>2</td></div>", "<table><tr><td>1</td><td>2</td></tr></table>"),
        pytest.param("<picture><img src='a.png' alt=''/><span>x</span></picture>", "</picture><span>x</span>"),
    ],
)
def test_repairs_keep_what_they_can(markup: str, expected: str) -> None:
    root = _fragment(markup)
    contentmodel.repair(root)
    text = etree.tostring(root, encoding="unicode")
    assert expected in text, text
    assert contentmodel.problems(root) == []


def test_a_valid_tree_is_left_alone() -> None:
    markup = (
        '<section><h2>T</h2><p>a <a href="#x">b</a></p><a href="#y"><div>block link</div></a>'
        "<figure><img src='a.png' alt=''/><figcaption>c</figcaption></figure><p>x<wbr/>y<br/></p>"
        "<details><summary>s</summary><p>d</p></details><dl><dt>t</dt><dd>d</dd></dl>"
        "<table><caption>c</caption><thead><tr><th scope='col'>h</th></tr></thead><tbody><tr><td>x</td></tr></tbody>"
        "</table><ruby>漢<rt>kan</rt></ruby><ol start='3' reversed=''><li value='7'>x</li></ol></section>"
    )
    root = _fragment(markup)
    before = etree.tostring(root)
    assert contentmodel.repair(root) == []
    assert etree.tostring(root) == before


TEMPLATE = """<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" lang="en" xml:lang="en">
<head><meta charset="utf-8"/><title>{{ chapter.title }}</title>
<style>body { background: url(https://example.com/tracker.png); }</style></head>
<body>
<section id="{{ chapter.id }}" epub:type="chapter" role="doc-chapter">
<p class="wrapped">{{ chapter.content }}</p>
<span><li>A list item the template left alone</li></span>
<div style="background: url(file:///etc/passwd); color: red">A styled div</div>
<div style="background-image: url('/home/writer/logo.png')">Another</div>
</section>
</body>
</html>
"""


def test_a_template_breaking_the_content_model_is_mended_and_named(tmp_path: Path) -> None:
    """A project's chapter.xhtml that wraps the chapter in a <p>, and styles with URLs to the network, to
    file: and to an absolute path: every document is checked after composing."""
    files = {
        "manuscript/book.toml": TOML,
        "manuscript/01-one.md": "# One\n\nFirst paragraph.\n\n- a list\n",
        "styles/templates/chapter.xhtml": TEMPLATE,
    }
    root = make_project(tmp_path, files)
    result = build(root, "--no-pdf")
    assert_success(result)
    warned = [line for line in result.output.splitlines() if line.startswith("warning: manuscript/01-one.md")]
    assert any("chapter.xhtml" in line and "<h1> inside <p>" in line for line in warned), describe(result)
    assert any("chapter.xhtml" in line and "<li> outside a" in line for line in warned), describe(result)
    assert any("chapter.xhtml" in line and "url(" in line and "2 more" in line for line in warned), describe(result)
    document = chapter_file(root, "01-one")
    assert "First paragraph." in document and "A list item the template left alone" in document
    for leaked in ("example.com", "file:", "/home/writer"):
        assert leaked not in document
    assert 'style="color: red"' in document
    assert epubcheck_messages(next((root / "dist").glob("*.epub"))) == []


@pytest.mark.parametrize(
    ("element", "attribute", "value", "css"),
    [
        ("p", "align", "Center", "text-align: center"),
        ("img", "align", "right", "float: right"),
        ("td", "width", "30%", "width: 30%"),
        ("table", "width", "600", "width: 600px"),
        ("td", "valign", "top", "vertical-align: top"),
        ("p", "align", "center; background: url(file:///etc/passwd)", None),
        ("td", "width", "calc(1px + url(x))", None),
        ("span", "align", "center", None),
    ],
)
def test_presentational_attributes_become_css_only_from_known_values(
    element: str, attribute: str, value: str, css: str | None
) -> None:
    assert contentmodel.as_css(element, attribute, value) == css


def test_what_follows_a_source_is_not_swallowed_by_it() -> None:
    """libxml2's HTML parser nests the <img> after <source> inside it; hoist_void moves it back out."""
    root = html.fragment_fromstring(
        '<picture><source srcset="a.png"><img src="a.png" alt="kept">tail</picture><p>x<wbr>y</wbr>z</p>',
        create_parent="div",
    )
    contentmodel.hoist_void(root)
    source, img = root[0]
    assert (source.tag, img.tag, img.get("alt"), img.tail, len(source)) == ("source", "img", "kept", "tail", 0)
    assert etree.tostring(root[1], encoding="unicode") == "<p>x<wbr/>yz</p>"
