"""Math (issue 11, item 1): Pandoc's TeX syntax, MathML in the EPUB, vector SVG in the PDF, numbered equations."""

from __future__ import annotations

import os
import re
import time
import zipfile
from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader

from essaybook import log
from essaybook.commands.build import build as build_book
from essaybook.convert import make_markdown
from test_bad_input import SLUG, TITLE, TOML, build, make_project
from test_hostile import assert_success, assert_warned, epub_texts

from conftest import BOOKS, EPOCH, Built, copy_project, epubcheck_messages

MATHML = "http://www.w3.org/1998/Math/MathML"


def spans(markdown_text: str) -> list[tuple[str, str]]:
    """(class, TeX) of each math element Python-Markdown makes of ``markdown_text``."""
    out = make_markdown().convert(markdown_text)
    return re.findall(r'<(?:span|div) class="(math [a-z]+)"[^>]*>(.*?)</(?:span|div)>', out, re.DOTALL)


# ----------------------------------------------------------------------------------- Pandoc's dollar rules


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Let $x^2$ be.", [("math inline", "x^2")]),
        ("It costs $5 and $6 today.", []),  # a closing $ preceded by a space
        ("From $20,000 to $30,000.", []),  # a closing $ followed by a digit
        ("$ x$ and $x $ are not math.", []),  # a space after the opening or before the closing $
        (r"Escaped \$x$ is a dollar.", []),
        ("Code `$x$` stays code.", []),
        ("Two $a$ and $b$.", [("math inline", "a"), ("math inline", "b")]),
        ("Display $$a + b$$ here.", [("math display", "a + b")]),
        (r"Inline \(a_1\) too.", [("math inline", "a_1")]),
        (r"Display \[ a_1 \] too.", [("math display", "a_1")]),
        ("Emphasis marks $a_1 * b_2 * c$ stay TeX.", [("math inline", "a_1 * b_2 * c")]),
        (r"Braces $\{x\}$ and $a\$b$ keep their backslashes.", [("math inline", r"\{x\}"), ("math inline", r"a\$b")]),
        ("$$a$$", [("math display", "a")]),
    ],
)
def test_pandoc_dollar_rules(source: str, expected: list[tuple[str, str]]) -> None:
    assert spans(source) == expected


def test_escaped_dollar_prints_a_dollar_and_code_blocks_keep_theirs() -> None:
    out = make_markdown().convert("Pay \\$10.\n\n```\n$x$ and \\$\n```\n")
    assert "Pay $10." in out
    assert "$x$ and \\$" in out
    assert "math" not in out


def test_display_equation_alone_in_its_paragraph_is_a_block_with_its_label() -> None:
    out = make_markdown().convert("$$\ne^{i\\pi} + 1 = 0\n$$ {#eq:euler}\n")
    assert out.startswith('<div class="math display" id="eq:euler">e^{i\\pi} + 1 = 0</div>'), out


def test_math_off_leaves_dollars_as_text() -> None:
    out = make_markdown(math=False).convert("It costs $5 and $6, and $x^2$ is text.")
    assert "$5 and $6, and $x^2$ is text." in out
    assert "math" not in out


# ------------------------------------------------------------------------------------------ the math book


def chapters_of(epub: Path) -> dict[str, str]:
    with zipfile.ZipFile(epub) as z:
        return {name: z.read(name).decode() for name in z.namelist() if name.startswith("EPUB/text/chapter")}


def test_math_book_builds_without_warnings_and_epubcheck_is_clean(math_book: Built) -> None:
    assert math_book.warnings == []
    assert epubcheck_messages(math_book.epub) == []


def test_epub_holds_mathml_with_alttext_and_the_manifest_says_so(math_book: Built) -> None:
    with zipfile.ZipFile(math_book.epub) as z:
        opf = z.read("EPUB/content.opf").decode()
    documents = chapters_of(math_book.epub)
    for name, xhtml in documents.items():
        item = re.search(rf'<item href="{re.escape(name.removeprefix("EPUB/"))}"[^>]*>', opf)
        assert item is not None and 'properties="mathml"' in item.group(), item
        assert "<svg" not in xhtml  # the print rendering is left out
    first = next(xhtml for name, xhtml in documents.items() if "Einstein" in xhtml)
    assert f'<math xmlns="{MATHML}" display="inline" alttext="E = mc^2">' in first
    assert 'display="block" alttext="\\int_0^\\infty e^{-x^2}\\,dx = \\frac{\\sqrt{\\pi}}{2}"' in first
    assert "It costs $5 and $6 today, and $10 is a dollar sign" in first
    assert "<code>$x$</code>" in first
    # Numbered equations and references to them, across chapters.
    assert re.search(r'id="eq:gauss">.*?<span class="eqno">\(1\)</span></div>', first, re.DOTALL)
    assert '<a class="eqref" href="#eq:gauss">(1)</a>' in first
    second = next(xhtml for name, xhtml in documents.items() if "Back in the first chapter" in xhtml)
    assert re.search(r'<a class="eqref" href="chapter-01-[a-z-]+\.xhtml#eq:euler">\(2\)</a>', second)
    assert '<a class="eqref" href="#eq:gauss-law">(3)</a>' in second


def test_pdf_draws_math_as_paths_tagged_as_formulas_with_their_tex_as_alt_text(math_book: Built) -> None:
    text = "\n".join(page.extract_text() for page in PdfReader(math_book.pdf).pages)
    assert "Einstein wrote" in text and "and Pythagoras" in text
    assert "mc" not in text and "\\frac" not in text and "∫" not in text  # no text for the math
    assert "It costs $5 and $6 today" in text
    assert "(1)" in text and "(2)" in text and "(3)" in text
    alts: list[str] = []
    with pikepdf.open(math_book.pdf) as pdf:

        def walk(node: object) -> None:
            if isinstance(node, pikepdf.Array):
                for child in node:
                    walk(child)
            elif isinstance(node, pikepdf.Dictionary) and "/S" in node:
                if node.S in ("/Figure", "/Formula") and "/Alt" in node:
                    alts.append(f"{node.S} {node.Alt}")
                walk(node.get("/K"))

        walk(pdf.Root.StructTreeRoot.K)
    assert "/Formula E = mc^2" in alts and "/Formula \\frac{1}{2}" in alts and "/Formula e^{i\\pi} + 1 = 0" in alts
    assert len(alts) == 12 and all(alt.startswith("/Formula") for alt in alts)
    # Drawn as filled paths: the page with the first chapter fills curves (the glyphs' outlines).
    reader = PdfReader(math_book.pdf)
    page = next(p for p in reader.pages if "Einstein wrote" in p.extract_text())
    content = page.get_contents()
    assert content is not None
    ops = content.get_data()
    assert ops.count(b" c\n") + ops.count(b" c ") > 100  # Bézier curves of the glyph outlines


# ------------------------------------------------------------------------------------------ hostile math


def test_unreadable_tex_warns_with_line_and_is_shown_as_code(tmp_path: Path) -> None:
    body = (
        f"# {TITLE}\n\nFine $x$.\n\nBroken $\\frac{{a$ here.\n\nAlso $x^$ and $\\nosuchcommand y$.\n\n"
        "$$\\left( x$$\n\nAnd @eq:nowhere.\n\n$\\begin{nosuch} a \\end{nosuch}$ and $a & b$.\n\n"
        "$$\\begin{aligned} a &= b \\\\ c &= d \\end{aligned}$$\n"
    )
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01.md": body})
    result = build(root)
    assert_success(result)
    assert_warned(result, "01.md:5", "\\frac{a", "shown as TeX code")
    assert_warned(result, "01.md:7", "x^", "shown as TeX code")
    assert_warned(result, "01.md:7", "\\nosuchcommand")
    assert_warned(result, "01.md:9", "\\left( x")
    assert_warned(result, "01.md:11", "@eq:nowhere", "??")
    assert_warned(result, "01.md:13", "unknown environment nosuch")
    assert_warned(result, "01.md:13", "'&' outside an alignment")
    assert not any("aligned" in line for line in result.output.splitlines() if line.startswith("warning:"))
    xhtml = next(text for name, text in epub_texts(root).items() if name.startswith("EPUB/text/chapter"))
    assert re.search(r'<code[^>]*class="math-error"[^>]*>\\frac\{a</code>', xhtml)
    assert re.search(r'<code[^>]*class="math-error"[^>]*>\\nosuchcommand y</code>', xhtml)
    assert 'alttext="x"' in xhtml
    assert re.search(r'alttext="\\begin\{aligned\}[^"]*"><mrow><mtable', xhtml)  # as align*
    assert '<span class="eqref unresolved">??</span>' in xhtml


def test_math_false_leaves_dollars_as_text_in_both_outputs(tmp_path: Path) -> None:
    body = f"# {TITLE}\n\nIt costs $5 and $6, and $x$ is $y$ dollars.\n"
    root = make_project(tmp_path, {"manuscript/book.toml": TOML + "math = false\n", "manuscript/01.md": body})
    result = build(root)
    assert_success(result)
    xhtml = next(text for name, text in epub_texts(root).items() if name.startswith("EPUB/text/chapter"))
    assert "It costs $5 and $6, and $x$ is $y$ dollars." in xhtml
    assert "<math" not in xhtml
    text = "\n".join(p.extract_text() for p in PdfReader(root / "dist" / f"{SLUG}.pdf").pages)
    assert "$x$ is $y$ dollars" in text


def test_math_setting_must_be_a_boolean(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"manuscript/book.toml": TOML + 'math = "yes"\n', "manuscript/01.md": "# T\n"})
    result = build(root)
    assert result.exit_code == 1
    assert "book.math" in result.output and "Traceback" not in result.output


def test_a_chapter_with_math_replayed_from_the_caches_gives_the_same_outputs(tmp_path: Path, passes: list[str]) -> None:
    root = copy_project(BOOKS / "math", tmp_path)
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    laid_out: list[int] = []

    def outputs(out: str, cache: bool) -> tuple[bytes, bytes]:
        log.setup(verbosity=-1)
        result = build_book(root, root / out, cache=cache, jobs=1)
        assert result.pdf is not None and result.epub is not None
        assert log.warnings_seen() == []
        if cache:
            laid_out.append(result.laid_out or 0)
        return result.pdf.path.read_bytes(), result.epub.path.read_bytes()

    cold = outputs("cold", False)
    outputs("first", True)
    passes.clear()
    assert outputs("again", True) == cold
    assert passes == []  # every chapter replayed from the conversion cache
    assert laid_out[0] > 0 and laid_out[1] == 0  # and every layout unit came from the layout cache


@pytest.mark.parametrize(
    ("tex", "reason"),
    [
        ("{" * 1900 + "x" + "}" * 1900, "cannot be read"),
        ("\\frac{" * 300 + "x" + "}{y}" * 300, "nested too deep"),
        (" + ".join(f"x_{{{i}}}" for i in range(1000)), "longer than 4000 characters"),
    ],
)
def test_monstrous_tex_is_refused_quickly_as_code(tmp_path: Path, tex: str, reason: str) -> None:
    body = f"# {TITLE}\n\nBefore.\n\n$${tex}$$\n\nAfter.\n"
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01.md": body})
    started = time.monotonic()
    result = build(root)
    assert time.monotonic() - started < 60
    assert_success(result)
    assert_warned(result, "01.md:5", "shown as TeX code", reason)
    xhtml = next(text for name, text in epub_texts(root).items() if name.startswith("EPUB/text/chapter"))
    assert re.search(r'<code[^>]*class="math-error"', xhtml) and "After." in xhtml


def test_a_link_inside_tex_is_not_kept(tmp_path: Path) -> None:
    body = f"# {TITLE}\n\nSee $\\href{{javascript:alert(1)}}{{x}}$ here.\n"
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01.md": body})
    assert_success(build(root))
    xhtml = next(text for name, text in epub_texts(root).items() if name.startswith("EPUB/text/chapter"))
    assert "<math" in xhtml and 'href="javascript' not in xhtml
