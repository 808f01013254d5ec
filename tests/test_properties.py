"""Property-based tests: generated manuscripts mixing every Markdown feature, raw HTML and arbitrary Unicode.

Every generated book must build (exit 0, or exit 1 with one clear message for input the tool refuses, never
an internal error or a traceback), and every EPUB written must pass EPUBCheck with no error or warning.

Profiles (``ESSAYBOOK_HYPOTHESIS=ci|thorough``): ``ci`` (the default) runs a small derandomised set so the
suite stays fast and repeatable; ``thorough`` runs 200 random examples per test (or
``ESSAYBOOK_HYPOTHESIS_EXAMPLES``), for a run by hand::

    ESSAYBOOK_HYPOTHESIS=thorough pytest tests/test_properties.py
"""

from __future__ import annotations

import os
import shutil
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from lxml import etree

from essaybook import contentmodel
from essaybook.cli import main

from conftest import EPOCH, epubcheck_messages

settings.register_profile(
    "ci",
    max_examples=6,
    derandomize=True,
    deadline=None,
    database=None,
    # A failing example is reported as generated: shrinking it can take many minutes of builds.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    max_examples=int(os.environ.get("ESSAYBOOK_HYPOTHESIS_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("ESSAYBOOK_HYPOTHESIS", "ci"))


def _png() -> bytes:
    """A 2x2 grey PNG, written by hand so the generator needs no image library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x80" * 6 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


# Arbitrary Unicode (surrogates cannot be written as UTF-8, so Hypothesis leaves them out), plus words
# and scripts chosen to exercise shaping, direction, quotes and hyphenation.
WORDS = st.sampled_from(
    [
        "the",
        "essay",
        "Übergrößenträger",
        "naïve",
        "«guillemets»",
        '"quoted"',
        "it's",
        "مرحبا",
        "שלום",
        "漢字",
        "かな",
        "Ελληνικά",
        "Кириллица",
        "x²",
        "—",
        "…",
        "&amp;",
        "&nbsp;",
        "&#x1F600;",
        "a_b_c",
        "*",
        "`",
        "[",
        "]",
        "<",
        ">",
        "\\",
        "{{#include x.rs}}",
        "\u200b",
        "\u00ad",
        "\u202e",
    ]
)
UNICODE = st.text(min_size=1, max_size=40)
TEXT = st.lists(st.one_of(WORDS, UNICODE), min_size=1, max_size=12).map(" ".join)


@st.composite
def inline(draw: st.DrawFn) -> str:
    text = draw(TEXT)
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return f"*{text}*"
    if kind == 1:
        return f"**{text}**"
    if kind == 2:
        return f"`{text.replace('`', '')}`"
    if kind == 3:
        return f"[{text}](#{draw(st.sampled_from(['top', 'missing', 'chapter-one']))})"
    if kind == 4:
        return f"[{text}]({draw(st.sampled_from(['ch1.md', 'ch2.md#intro', 'https://example.org/x', 'mailto:a@b.c']))})"
    if kind == 5:
        return f"{text}[^{draw(st.sampled_from(['a', 'b', 'long']))}]"
    if kind == 6:
        return draw(RAW_INLINE).replace("TEXT", text)
    return text


RAW_INLINE = st.sampled_from(
    [
        "<span class='x'>TEXT</span>",
        "<b>TEXT",
        "<i>TEXT</i></b>",
        "<kbd>TEXT</kbd>",
        "<sup>TEXT</sup>",
        "<a href='javascript:alert(1)'>TEXT</a>",
        "<img src='pic.png'>",
        "<img src='/etc/passwd' alt='TEXT'>",
        "<span onclick='x()'>TEXT</span>",
        "<!-- TEXT -->",
        "<br>",
        "<abbr title='TEXT'>T</abbr>",
        "<u>TEXT</u>",
        "<font color=red>TEXT</font>",
    ]
)

RAW_BLOCK = st.sampled_from(
    [
        "<div class='note'>\nTEXT\n</div>",
        "<div markdown='1'>\n*TEXT*\n</div>",
        "<script>alert('TEXT')</script>",
        "<form><input value='TEXT'></form>",
        "<iframe src='https://example.org/'></iframe>",
        "<svg width='10' height='10'><rect width='10' height='10'/><text>TEXT</text></svg>",
        "<table><tr><td>TEXT</td></tr></table>",
        "<details><summary>TEXT</summary>TEXT</details>",
        "<aside>TEXT",
        "<p>TEXT</p></div>",
        "<!-- TEXT",
        "<object data='x.swf'></object>",
        "<style>body { color: red }</style>",
        "<center>TEXT</center>",
    ]
)


@st.composite
def paragraph(draw: st.DrawFn) -> str:
    return " ".join(draw(st.lists(inline(), min_size=1, max_size=5)))


@st.composite
def block(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.integers(0, 13 if depth < 2 else 9))
    if kind == 0:
        return f"{'#' * draw(st.integers(1, 6))} {draw(TEXT)}"
    if kind == 1:
        return f"{draw(TEXT)}\n{draw(st.sampled_from(['===', '---']))}"
    if kind == 2:
        marker = draw(st.sampled_from(["-", "*", "1."]))
        return "\n".join(f"{marker} {draw(paragraph())}" for _ in range(draw(st.integers(1, 4))))
    if kind == 3:
        lang = draw(st.sampled_from(["", "python", "rust,ignore", "nosuchlanguage", "html"]))
        return f"```{lang}\n{draw(UNICODE)}\n{draw(TEXT)}\n```"
    if kind == 4:
        columns = draw(st.integers(1, 4))
        row = " | ".join(draw(TEXT).replace("|", "/") for _ in range(columns))
        return f"| {row} |\n|{'---|' * columns}\n| {row} |"
    if kind == 5:
        return f'![{draw(st.sampled_from(["", "A grey square"]))}](pic.png "{draw(TEXT).replace(chr(34), "")}")'
    if kind == 6:
        return draw(RAW_BLOCK).replace("TEXT", draw(TEXT))
    if kind == 7:
        return "* * *"
    if kind == 8:
        return f"Term {draw(TEXT)}\n: {draw(paragraph())}"
    if kind == 9:
        return draw(paragraph())
    inner = draw(block(depth + 1))
    if kind in (10, 11):
        return "\n".join("> " + line for line in inner.splitlines())
    return "- item\n\n" + "\n".join("    " + line for line in inner.splitlines())


@st.composite
def chapter(draw: st.DrawFn, number: int) -> str:
    front = ""
    if draw(st.booleans()):
        title = draw(TEXT).replace("\n", " ").replace('"', "'").replace("\\", "/")
        front = f'---\ntitle: "{title}"\n---\n\n'
    blocks = draw(st.lists(block(), min_size=1, max_size=8))
    notes = "\n\n".join(f"[^{name}]: {draw(paragraph())}" for name in ("a", "b", "long") if draw(st.booleans()))
    return front + f"# Chapter {number} {{#chapter-one}}\n\n" + "\n\n".join(blocks) + "\n\n" + notes + "\n"


@st.composite
def manuscript(draw: st.DrawFn) -> dict[str, str]:
    count = draw(st.integers(1, 3))
    return {f"ch{number}.md": draw(chapter(number)) for number in range(1, count + 1)}


def _write(root: Path, chapters: dict[str, str]) -> None:
    (root / "manuscript").mkdir(parents=True)
    (root / "manuscript" / "pic.png").write_bytes(_png())
    # Random text holds scripts no font here draws; the PDF is written anyway (boxes), as these books test the rest.
    (root / "manuscript" / "book.toml").write_text(
        '[book]\ntitle = "Generated"\nauthor = "Hypothesis"\nlang = "en"\n[pdf]\nallow-missing-glyphs = true\n',
        encoding="utf-8",
    )
    for name, text in chapters.items():
        (root / "manuscript" / name).write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("generated")


_counter = iter(range(1_000_000))


@given(chapters=manuscript())
def test_every_generated_book_builds_and_its_epub_passes_epubcheck(workdir: Path, chapters: dict[str, str]) -> None:
    # EPUBCheck results are cached by path, so every example gets a folder of its own.
    root = workdir / f"book{next(_counter)}"
    _write(root, chapters)
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    result = CliRunner().invoke(main, ["build", "-q", str(root)])
    shown = "\n\n".join(f"--- {name}\n{text}" for name, text in chapters.items())
    assert result.exit_code in (0, 1), f"exit {result.exit_code}\n{result.output}\n{shown}"
    assert "Traceback" not in result.output, result.output
    if result.exit_code == 1:
        # A refusal is an answer only when it is one message naming a chapter.
        assert result.output.count("Error:") == 1, result.output
        assert "manuscript/ch" in result.output, result.output
        assert not (root / "dist").exists() or not any((root / "dist").iterdir())
    else:
        epub = root / "dist" / "generated.epub"
        assert epub.is_file() and (root / "dist" / "generated.pdf").is_file()
        assert epubcheck_messages(epub) == [], shown
    shutil.rmtree(root / "manuscript")


# ------------------------------------------------------------------------------------------- raw HTML patterns

# Raw HTML as real books and READMEs write it: INNER is another pattern (or words), WIDTH an attribute value
# as found in the wild, TEXT a few words.
RAW_PATTERNS = [
    '<figure>\n<img src="pic.png" alt="TEXT">\n<figcaption>TEXT</figcaption>\nINNER\n</figure>',
    "<figure>INNER<figcaption>TEXT</figcaption>INNER</figure>",
    '<picture>\n<source srcset="pic.png" media="(min-width: 600px)">\n<img src="pic.png" alt="TEXT">\n</picture>',
    "<details>\n<summary>TEXT</summary>\n\nINNER\n\n</details>",
    "<details>INNER<summary>TEXT</summary></details>",
    "<details open><summary>TEXT</summary>INNER</details>",
    '<iframe src="https://www.youtube.com/embed/x" width="560" height="315" allowfullscreen></iframe>',
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle r="5"/><text>TEXT</text></svg>',
    "<math><mi>x</mi><mo>=</mo><mn>2</mn></math>",
    "<table>\n<tr><th></th><th>TEXT</th></tr>\n<tr><td>INNER</td><td>TEXT</td></tr>\n</table>",
    '<table><thead><tr><td>TEXT</td></tr></thead><tr><th colspan="WIDTH" scope="WIDTH">TEXT</th></tr></table>',
    "<table><tfoot><tr><td>TEXT</td></tr></tfoot>INNER<caption>TEXT</caption></table>",
    '<p align="center">\n<img src="pic.png" alt="TEXT" width="WIDTH">\n</p>',
    '<p align="center"><a href="https://example.org"><img src="pic.png" alt="TEXT"></a></p>',
    '<h1 align="center">TEXT</h1>',
    "<kbd>Ctrl</kbd>+<kbd>TEXT</kbd>",
    "x<sup>TEXT</sup> and H<sub>2</sub>O",
    '<div align="center">\n\nINNER\n\n</div>',
    "<br><br>",
    "<hr>",
    "<li>TEXT</li>",
    "<tr><td>TEXT</td></tr>",
    "<td>TEXT</td>",
    "<dd>TEXT</dd>",
    "<dt>TEXT</dt>",
    "<span>INNER</span>",
    '<a href="#top">INNER</a>',
    "<em>INNER</em>",
    "<p>INNER</p>",
    "<h3>INNER</h3>",
    "<pre>INNER</pre>",
    "<blockquote>INNER</blockquote>",
    "<ul>INNER</ul>",
    '<ol start="WIDTH" type="WIDTH">INNER</ol>',
    "<dl>INNER</dl>",
    "<q>INNER</q>",
    "![TEXT](pic.png){width=WIDTH}",
    '<img src="pic.png" alt="TEXT" width="WIDTH" height="WIDTH">',
    "<ruby>漢<rt>kan</rt>字<rp>(</rp><rt>ji</rt><rp>)</rp></ruby>",
    '<abbr title="TEXT">T</abbr>',
    "<caption>TEXT</caption>",
    "<figcaption>TEXT</figcaption>",
    "<summary>TEXT</summary>",
    '<time datetime="WIDTH">TEXT</time>',
    '<video controls src="x.mp4">TEXT</video>',
    "<center>INNER</center>",
    '<font size="2">INNER</font>',
    "<button>INNER</button>",
    "<address>INNER</address>",
    "<header>INNER</header>",
    "<main>INNER</main>",
    "<dfn>INNER</dfn>",
    '<span dir="WIDTH" hidden="WIDTH" role="WIDTH" aria-hidden="WIDTH" lang="WIDTH">TEXT</span>',
    '<td rowspan="WIDTH">TEXT</td>',
    "<colgroup><col></colgroup>",
    '<col span="WIDTH">',
    "<bdo>TEXT</bdo>",
    "<data>TEXT</data>",
    "<hgroup>INNER</hgroup>",
]
WIDTHS = st.sampled_from(["50%", "200", "200px", "auto", "", "-5", "0", "x", "12.5", "3em", "rtl", "row", "true"])
WORDS_ONLY = st.lists(WORDS.filter(lambda w: w not in ("<", ">", "\\", "`", "*", "[", "]")), min_size=1, max_size=4)


@st.composite
def raw_html(draw: st.DrawFn, depth: int = 0) -> str:
    pattern = draw(st.sampled_from(RAW_PATTERNS))
    while "INNER" in pattern:
        inner = draw(raw_html(depth + 1)) if depth < 2 and draw(st.booleans()) else " ".join(draw(WORDS_ONLY))
        pattern = pattern.replace("INNER", inner, 1)
    while "WIDTH" in pattern:
        pattern = pattern.replace("WIDTH", draw(WIDTHS), 1)
    while "TEXT" in pattern:
        pattern = pattern.replace("TEXT", " ".join(draw(WORDS_ONLY)), 1)
    return pattern


@st.composite
def raw_chapter(draw: st.DrawFn, number: int) -> str:
    parts = draw(st.lists(st.one_of(raw_html(), raw_html(), paragraph()), min_size=1, max_size=6))
    # A pattern on its own (a raw HTML block) or inside a paragraph's text (inline raw HTML).
    joiner = draw(st.sampled_from(["\n\n", "\n", " "]))
    return f"# Chapter {number}\n\n" + joiner.join(parts) + "\n"


@st.composite
def raw_manuscript(draw: st.DrawFn) -> dict[str, str]:
    count = draw(st.integers(2, 6))
    return {f"ch{number}.md": draw(raw_chapter(number)) for number in range(1, count + 1)}


PROFILE = os.environ.get("ESSAYBOOK_HYPOTHESIS", "ci")


@settings(max_examples=2 if PROFILE == "ci" else settings().max_examples)
@given(chapters=raw_manuscript())
def test_raw_html_books_pass_epubcheck_and_the_content_model(workdir: Path, chapters: dict[str, str]) -> None:
    """Books of real-world raw HTML (several chapters per EPUBCheck run): valid EPUBs, nothing left to mend."""
    root = workdir / f"raw{next(_counter)}"
    _write(root, chapters)
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    result = CliRunner().invoke(main, ["build", "-q", "--no-pdf", str(root)])
    shown = "\n\n".join(f"--- {name}\n{text}" for name, text in chapters.items())
    assert result.exit_code == 0, f"exit {result.exit_code}\n{result.output}\n{shown}"
    epub = root / "dist" / "generated.epub"
    with zipfile.ZipFile(epub) as z:
        for name in z.namelist():
            if name.endswith(".xhtml"):
                body = etree.fromstring(z.read(name)).find(f"{{{contentmodel.XHTML_NS}}}body")
                assert body is not None
                assert contentmodel.problems(body) == [], f"{name}\n{shown}"
    assert epubcheck_messages(epub) == [], shown
    shutil.rmtree(root / "manuscript")
