"""Code and links on paper (issue 12, items 2 and 3): wrapped code hangs under its indentation, code and URLs
never take a hyphen, code prints in greys by default, external links print their address, cross-references
their page, and bare addresses are links."""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pypdfium2
import pytest

from essaybook import log
from essaybook.commands.build import BuildResult, build
from essaybook.compose import grey_code_css
from essaybook.config import read_config

from conftest import Built
from pdfread import open_pdf, outline, page_lines, page_text, text_in_band
from test_epub import NS, Epub


def _page_with(path: Path, words: str) -> int:
    reader = open_pdf(path)
    return next(i for i in range(len(reader.pages)) if words in page_text(reader, i))


def _joined(path: Path, index: int) -> str:
    """The page's text with its line ends removed (and the zero-width breaks <wbr> leaves), so that a word
    broken across lines reads as printed: with a hyphen only if one was added."""
    text = page_text(open_pdf(path), index).replace("\u200b", "")
    return "".join(text.splitlines())


@pytest.mark.parametrize("book", ["features", "features_modern"])
def test_wrapped_code_lines_hang_under_their_indentation(book: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(book)
    index = _page_with(built.pdf, "def wrapped")
    # Keyed by the text without spaces, in order.
    ordered = [("".join(text.split()), left) for text, left, _, _ in page_lines(built.pdf, index)]
    lines = dict(ordered)
    start = lines["defwrapped(first_argument,second_argument):"]
    ch = (lines["iffirst_argument:"] - start) / 4  # the second line is indented by four spaces
    assert ch > 3
    at = next(n for n, (text, _) in enumerate(ordered) if text.startswith("returnfirst_argument"))
    first, continued = ordered[at][1], ordered[at + 1][1]
    assert not ordered[at + 1][0].startswith("return")  # the line did wrap
    assert first == pytest.approx(start + 8 * ch, abs=0.5)
    # The continuation starts at the line's own indentation (8) plus the hang (2).
    assert continued == pytest.approx(start + 10 * ch, abs=0.5)
    assert lines["returnNone"] == pytest.approx(start + 4 * ch, abs=0.5)  # after an empty line, as written


def test_code_spans_and_urls_never_take_a_hyphen(features: Built) -> None:
    index = _page_with(features.pdf, "A bare address in the text")
    joined = _joined(features.pdf, index)
    for written in (
        "https://www.w3.org/TR/css-gcpm-3/#footnotes",
        "https://example.org/a/rather/long/path/to/a-resource/that-runs/past-the-end/of-a-line/index.html",
        "manuscript/part2/images/figure-with-a-very-long-name-indeed.png",
        "essaybook.compose.print_fragment(chapter, notes, book)",
        "a_very_long_identifier_name_that_must_break",
    ):
        assert written in joined, written
    # They did break across lines, so the test tests something.
    lines = page_text(open_pdf(features.pdf), index).splitlines()
    assert not any("https://example.org/a/rather/long/path/to/a-resource/that-runs" in line for line in lines)


@pytest.mark.parametrize("book", ["features", "features_modern"])
def test_code_prints_in_greys_by_default(book: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(book)
    index = _page_with(built.pdf, "def greet")
    assert _colours(built.pdf, index) == 0


def _colours(path: Path, index: int) -> int:
    """Pixels of page ``index`` that are not grey (rendered at 72 dpi)."""
    document = pypdfium2.PdfDocument(str(path))
    try:
        image = document[index].render(scale=1).to_pil().convert("RGB")
    finally:
        document.close()
    pixels = image.tobytes()
    return sum(1 for i in range(0, len(pixels), 3) if max(pixels[i : i + 3]) - min(pixels[i : i + 3]) > 24)


def test_grey_code_css_keeps_the_order_of_lightness() -> None:
    css = (
        ".codehilite .k { color: #A90D91 } .codehilite .c { color: #177500 } "
        ".codehilite .err { background-color: #FF0000 }"
    )
    grey = grey_code_css(css)
    assert "#A90D91" not in grey and "#177500" not in grey
    keyword, comment = (int(grey.split(f"{sel} {{ color: #")[1][:2], 16) for sel in (".k", ".c"))
    assert keyword < comment <= 0x73  # a comment is lighter than a keyword, still readable
    assert "background-color: #" in grey and int(grey.split("background-color: #")[1][:2], 16) >= 0xE6


def test_external_links_print_their_address_at_the_foot_of_the_page(features: Built) -> None:
    reader = open_pdf(features.pdf)
    index = _page_with(features.pdf, "A bare address in the text")
    foot = text_in_band(reader, index, top=False, band=0.2).replace("\u200b", "")
    assert "1. https://python-markdown.github.io/extensions/" in foot
    # A link whose text is its address gets no note.
    assert "css-gcpm" not in foot and "example.org" not in foot
    assert "documentation1 tells more" in page_text(reader, index).replace("\n", " ")
    # A link in a written note prints its address after it (a note cannot hold a note).
    assert "2. A note may link too: the W3C (https://www.w3.org/)." in foot


def test_cross_chapter_links_print_their_page(features: Built) -> None:
    reader = open_pdf(features.pdf)
    labels = reader.page_labels
    index = _page_with(features.pdf, "A bare address in the text")
    text = " ".join(page_text(reader, index).split())
    chapters = {item.title: labels[item.page] for item in outline(reader)}
    assert f"tables (p. {chapters['Tables']})" in text
    assert f"the chapter on links (p. {chapters['Links and Pictures']})" in text
    assert chapters["Links and Pictures"] == "5"


def test_bare_urls_become_links_in_both_outputs(features: Built) -> None:
    bare = "https://example.org/a/rather/long/path/to/a-resource/that-runs/past-the-end/of-a-line/index.html"
    with pikepdf.Pdf.open(features.pdf) as pdf:
        uris = {
            str(annotation.A.URI)
            for page in pdf.pages
            for annotation in page.get("/Annots", [])
            if "/A" in annotation and "/URI" in annotation.A
        }
    assert bare in uris and "https://python-markdown.github.io/extensions/" in uris
    doc = Epub(features.epub).xml("text/chapter-04-appendix.xhtml")
    links = {a.get("href"): "".join(a.itertext()) for a in doc.iter(f"{{{NS['x']}}}a")}
    assert links[bare] == bare  # the sentence's comma stays outside
    assert "https://python-markdown.github.io/extensions/" in links


def _essay(tmp_path: Path, pdf_settings: str) -> BuildResult:
    manuscript = tmp_path / "manuscript"
    manuscript.mkdir(parents=True)
    (manuscript / "book.toml").write_text(f'[book]\ntitle = "E"\nlang = "en"\n\n[pdf]\n{pdf_settings}\n')
    (manuscript / "essay.md").write_text(
        "# E\n\nRead [the guide](https://example.com/guide/) and <https://example.com/plain>, "
        "[example.com/short](https://www.example.com/short/).\n\n"
        '```python\ndef f():\n    return "colour"  # a comment\n```\n',
        encoding="utf-8",
    )
    log.setup(verbosity=-1)
    return build(tmp_path, epub=False)


def test_links_after_the_text_or_not_at_all_and_code_in_colour(tmp_path: Path) -> None:
    after = _essay(tmp_path / "after", 'links = "after"\ncode-colour = true')
    assert after.pdf is not None
    text = "".join(page_text(open_pdf(after.pdf.path), 0).replace("\u200b", "").split())  # no spaces, no line ends
    # A link whose text is its address (with or without the scheme) is not repeated.
    assert "Readtheguide(https://example.com/guide/)andhttps://example.com/plain,example.com/short." in text
    assert _colours(after.pdf.path, 0) > 0  # code-colour = true: Pygments' colours
    none = _essay(tmp_path / "none", 'links = "none"')
    assert none.pdf is not None
    text = " ".join(page_text(open_pdf(none.pdf.path), 0).split())
    assert "Read the guide and https://example.com/plain, example.com/short." in text
    assert _colours(none.pdf.path, 0) == 0


def test_links_setting_is_checked(tmp_path: Path) -> None:
    toml = tmp_path / "book.toml"
    toml.write_text('[pdf]\nlinks = "sidenote"\ncode-colour = "grey"\npage-references = 1\n', encoding="utf-8")
    _, problems = read_config(toml)
    by_key = {p.key: str(p) for p in problems}
    assert set(by_key) == {"pdf.links", "pdf.code-colour", "pdf.page-references"}
    assert "footnote, after, none" in by_key["pdf.links"] and ":2:" in by_key["pdf.links"]
    assert "true or false" in by_key["pdf.code-colour"]


def test_only_code_lines_that_can_wrap_become_blocks() -> None:
    """A line shorter than the page's narrowest code measure cannot wrap: it stays text, the others hang."""
    from lxml import html as lxml_html

    from essaybook.compose import _code_lines, code_wrap_length
    from essaybook.config import Config

    assert 30 <= code_wrap_length(Config(None)) <= 45  # A5 with the default margins
    pre = lxml_html.fragment_fromstring(
        '<pre><code><span class="k">fn</span> main() {\n    let x = "a long line that can wrap";\n}\n</code></pre>'
    )
    _code_lines(pre, 20)
    code = pre.find("code")
    assert code is not None
    blocks = code.findall("span[@class='code-line']")
    assert ["".join(b.itertext()) for b in blocks] == ['    let x = "a long line that can wrap";\n']
    assert "".join(code.itertext()) == 'fn main() {\n    let x = "a long line that can wrap";\n}\n'
    assert code[0].get("class") == "k"  # the short first line kept its token span, outside any block


@pytest.mark.parametrize("indent", ["        ", '<span class="w">        </span>'])
def test_a_lines_indentation_goes_into_its_first_token(indent: str) -> None:
    """WeasyPrint broke a wrapped comment after its bare indentation (an empty line, then the whole comment
    hanging); the indentation is put in the token's own span, so the line breaks within the comment."""
    from lxml import html as lxml_html

    from essaybook.compose import _code_lines

    comment = "# Front matter between fences is settings, not prose, so it is left out of the count."
    pre = lxml_html.fragment_fromstring(f'<pre><code>{indent}<span class="c1">{comment}</span>\n</code></pre>')
    _code_lines(pre, 20)
    line = pre.find("code/span[@class='code-line']")
    assert line is not None and not line.text and len(line) == 1
    assert (line[0].get("class"), line[0].text) == ("c1", f"        {comment}")
    assert "".join(line.itertext()) == f"        {comment}\n"


def test_plain_tokens_are_those_that_print_in_the_codes_own_colour() -> None:
    """Token spans that change nothing on paper are left out of the print document (a sixth of the Rust book's
    layout time): those with no rule, or only the code's own colour, and no stylesheet naming their class."""
    from pygments.formatters import HtmlFormatter

    from essaybook.compose import PlainTokens, plain_tokens

    xcode = HtmlFormatter(style="xcode").get_style_defs(".codehilite")
    for css in (xcode, grey_code_css(xcode)):
        plain = plain_tokens(css, "")
        assert {"n", "o", "p", "w"} <= plain.always  # names and operators in black, no rule for the others
        assert not {"k", "c1", "s", "mi", "nb"} & plain.always  # keywords, comments, strings, numbers, builtins
        assert {"k", "c1"} <= plain.blank  # only a colour: plain where they hold nothing but white space
    # A style with its own text colour on .codehilite: its tokens in that colour are plain, others are not.
    monokai = plain_tokens(HtmlFormatter(style="monokai").get_style_defs(".codehilite"), "")
    assert "n" in monokai.always and "o" not in monokai.always
    # A style that also makes a token bold, underlines it or gives it a background keeps its spans.
    assert "n" not in plain_tokens(".codehilite .n { color: #000; font-weight: bold }", "").blank
    assert "err" not in plain_tokens(HtmlFormatter(style="default").get_style_defs(".codehilite"), "").blank
    # A stylesheet that names the class keeps its spans; one that imports another keeps every span.
    assert "n" not in plain_tokens(xcode, "pre .n, .x { color: red }").always
    assert "o" in plain_tokens(xcode, "pre .n, .x { color: red }").always
    assert "n" in plain_tokens(xcode, "/* .n in a comment */").always
    assert plain_tokens(xcode, '@IMPORT "more.css";') == PlainTokens()


def test_plain_token_spans_are_left_out_of_printed_code() -> None:
    from lxml import html as lxml_html

    from essaybook.compose import PlainTokens, _code_lines

    pre = lxml_html.fragment_fromstring(
        '<pre><span></span><code><span class="w">    </span><span class="k">fn</span><span class="k"> </span>'
        '<span class="n">main</span><span class="p">()</span> <span class="n" id="kept">x</span>'
        '<span class="s">"a\nb"</span><span class="o">;</span>\n</code></pre>'
    )
    _code_lines(pre, 0, PlainTokens(frozenset({"n", "o", "p", "w"}), frozenset({"n", "o", "p", "w", "k", "s"})))
    assert [child.tag for child in pre] == ["code"]  # Pygments' empty span before it is gone too
    lines = pre.findall("code/span[@class='code-line']")
    assert ["".join(line.itertext()) for line in lines] == ['    fn main() x"a\n', 'b";\n']
    first, second = ([(child.get("class"), child.get("id"), child.text) for child in line] for line in lines)
    # The indentation joins the first kept token; a blank span of a colour-only class goes; one with an id stays.
    assert first == [("k", None, "    fn"), ("n", "kept", "x"), ("s", None, '"a')]
    assert lines[0][0].tail == " main() " and not lines[0].text
    assert second == [("s", None, 'b"')] and lines[1][0].tail == ";\n"


def test_the_print_document_leaves_plain_token_spans_out(tmp_path: Path) -> None:
    from essaybook.pipeline import Pipeline

    root = tmp_path / "book"
    (root / "manuscript").mkdir(parents=True)
    (root / "manuscript" / "01.md").write_text(
        "# One\n\n```python\ndef greet(name):\n    return name\n```\n", encoding="utf-8"
    )
    html = Pipeline(root, cache=False).compose_print().html
    assert '<span class="k">def</span>' in html and 'class="n"' not in html and "greet(name):" in html
    (root / "styles").mkdir()
    (root / "styles" / "code.css").write_text(".codehilite .n { color: #0a0a0a; }\n", encoding="utf-8")
    html = Pipeline(root, cache=False).compose_print().html
    assert '<span class="k">return</span> <span class="n">name</span>' in html
