"""Hostile manuscripts: input written to hang, exhaust, leak or crash the build.

Each case must finish in bounded time and either succeed with a warning naming the chapter, or fail with
exit 1 and one clear ``Error:`` message -- never exit 3 (internal error), never a traceback, never a hang.
"""

from __future__ import annotations

import io
import re
import struct
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from PIL import Image

from essaybook.errors import EXIT_USER
from test_bad_input import SLUG, TITLE, TOML, assert_user_error, build, describe, make_project

from conftest import epubcheck_messages

NO_PDF = ("--no-pdf",)
LIMIT = 30.0  # seconds any single hostile build may take


def timed(call: Callable[[], Result]) -> Result:
    start = time.monotonic()
    result = call()
    elapsed = time.monotonic() - start
    assert elapsed < LIMIT, f"the build took {elapsed:.1f} s (limit {LIMIT:.0f} s)\n{describe(result)}"
    return result


def assert_no_crash(result: Result) -> None:
    detail = describe(result)
    assert result.exception is None or isinstance(result.exception, SystemExit), detail
    assert result.exit_code != 3, detail
    assert "Traceback" not in result.output, detail


def assert_success(result: Result) -> None:
    assert_no_crash(result)
    assert result.exit_code == 0, describe(result)


def warnings_of(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("warning:")]


def assert_warned(result: Result, *fragments: str) -> str:
    """One warning line holds every fragment; returns it."""
    for line in warnings_of(result):
        if all(fragment in line for fragment in fragments):
            return line
    raise AssertionError(f"no warning holding {fragments!r}\n{describe(result)}")


def epub_texts(root: Path) -> dict[str, str]:
    """Every text entry of the built EPUB, by name."""
    with zipfile.ZipFile(root / "dist" / f"{SLUG}.epub") as z:
        return {
            name: z.read(name).decode("utf-8", "replace")
            for name in z.namelist()
            if name.endswith((".xhtml", ".opf", ".ncx", ".css", ".xml"))
        }


def chapter_file(root: Path, stem: str) -> str:
    """The EPUB content document of the chapter file ``manuscript/{stem}.md``."""
    texts = epub_texts(root)
    names = [name for name in texts if name.endswith(f"text/chapter-{stem}.xhtml")]
    assert len(names) == 1, sorted(texts)
    return texts[names[0]]


def chapter(body: str, title: str = TITLE) -> str:
    return f"# {title}\n\n{body}"


# --------------------------------------------------------------------------------------------- images


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE svg [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><text x="0" y="20">&lol9;</text></svg>
"""


def build_with_image(tmp_path: Path, name: str, content: str | bytes) -> tuple[Path, Result]:
    """Full build (PDF and EPUB) of a chapter that shows the image ``name`` on line 5."""
    files = {
        "manuscript/book.toml": TOML,
        "manuscript/01-one.md": chapter(f"Before.\n\n![x]({name})\n\nAfter.\n"),
        f"manuscript/{name}": content,
    }
    root = make_project(tmp_path, files)
    return root, timed(lambda: build(root))


def test_svg_billion_laughs_does_not_hang(tmp_path: Path) -> None:
    """Case 1: an SVG with exponential entity expansion; WeasyPrint parses SVGs for the PDF (full build)."""
    root, result = build_with_image(tmp_path, "bomb.svg", BILLION_LAUGHS)
    assert_no_crash(result)
    if result.exit_code == EXIT_USER:
        assert_user_error(result, root, "bomb.svg")
    else:
        assert result.exit_code == 0, describe(result)
        assert "lollollol" not in "".join(epub_texts(root).values())


@pytest.mark.parametrize(
    "size",
    [
        pytest.param(1_000_000, id="1MB"),
        pytest.param(11_000_000, id="11MB"),  # beyond libxml2's 10 MB text limit
    ],
)
def test_huge_data_uri_image_is_dropped_quickly(tmp_path: Path, size: int) -> None:
    """Case 2: a data: URI image on one line is dropped with a warning, in bounded time, losing nothing else.

    50 MB takes about a minute (see the report); 1 MB keeps the suite fast, 11 MB crosses libxml2's 10 MB limit.
    """
    body = "Before.\n\n![x](data:image/png;base64," + "A" * size + ")\n\nAfter the image.\n"
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-one.md": chapter(body)})
    result = timed(lambda: build(root, *NO_PDF))
    assert_success(result)
    text = chapter_file(root, "01-one")
    assert "After the image." in text
    assert "AAAAAAAAAAAAAAAA" not in text
    assert_warned(result, "manuscript/01-one.md:5", "data: image removed")


def huge_png() -> bytes:
    """A valid 1x1 PNG whose IHDR (with a correct CRC) claims 100000 x 100000 pixels."""
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1), "white").save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", 100_000, 100_000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def test_png_claiming_huge_dimensions(tmp_path: Path) -> None:
    """Case 3: a decompression-bomb header in a PNG (full build): refused with the image named, or a warning."""
    root, result = build_with_image(tmp_path, "huge.png", huge_png())
    assert_no_crash(result)
    if result.exit_code == EXIT_USER:
        assert_user_error(result, root, "huge.png")
    else:
        assert result.exit_code == 0, describe(result)
        assert_warned(result, "huge.png")


@pytest.mark.parametrize(
    ("name", "content"),
    [pytest.param("bomb.svg", BILLION_LAUGHS, id="svg"), pytest.param("huge.png", huge_png(), id="png")],
)
def test_unloadable_image_error_names_chapter_and_line(tmp_path: Path, name: str, content: str | bytes) -> None:
    """Cases 1 and 3: the refusal names the chapter, line and file as written, like a missing image does."""
    root, result = build_with_image(tmp_path, name, content)
    message = assert_user_error(result, root, "manuscript/01-one.md:5", name)
    assert "essaybook:" not in message, describe(result)


# --------------------------------------------------------------------------------------------- raw HTML


def test_unclosed_div_stays_in_its_chapter(tmp_path: Path) -> None:
    """Case 4: a <div> never closed in chapter 1 cannot swallow chapter 2 (chapters convert separately)."""
    files = {
        "manuscript/book.toml": TOML,
        "manuscript/01-one.md": "<div>\n\n# First\n\nText of the first chapter.\n",
        "manuscript/02-two.md": "# Second\n\nText of the second chapter.\n",
    }
    root = make_project(tmp_path, files)
    result = timed(lambda: build(root, *NO_PDF))
    assert_success(result)
    assert "Text of the second chapter." in chapter_file(root, "02-two")
    assert "Text of the first chapter." in "".join(epub_texts(root).values())


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            "Before the comment.\n\n<!-- a note to self\n\nAfter the comment.\n\n## Later\n\nThe end.\n", id="own-block"
        ),
        pytest.param(
            "Before the comment. <!-- inline note\n\nAfter the comment.\n\n## Later\n\nThe end.\n", id="inline"
        ),
        pytest.param(
            "Before the comment.\n\n<!--\nnote\nAfter the comment.\n\n## Later\n\nThe end.\n", id="same-block"
        ),
    ],
)
def test_unclosed_comment_loses_nothing_silently(tmp_path: Path, body: str) -> None:
    """Case 5: text after an unclosed <!-- must reach the book, or the loss must be reported."""
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-one.md": chapter(body)})
    result = timed(lambda: build(root, *NO_PDF))
    assert_success(result)
    text = chapter_file(root, "01-one")
    assert "Before the comment." in text and "The end." in text
    assert "After the comment." in text, f"text after the unclosed comment vanished\n{describe(result)}"
    # The writer meant a comment and gets text: the warning says where and how to close it.
    assert_warned(result, "manuscript/01-one.md:", "<!--", "never closed")


def test_comments_in_code_and_closed_comments_are_no_warning(tmp_path: Path) -> None:
    body = (
        "Code: `<!--` opens a comment.\n\n```html\n<!-- an example, never closed\n```\n\n"
        "<!-- a closed\ncomment -->\n\nText <!-- inline --> goes on.\n"
    )
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-one.md": chapter(body)})
    result = timed(lambda: build(root, *NO_PDF))
    assert_success(result)
    assert warnings_of(result) == []


def test_control_characters_are_removed_with_a_warning(tmp_path: Path) -> None:
    """Case 6: NUL, BEL and ESC cannot appear in XHTML; the warning names chapter and line."""
    body = "Clean line.\n\nBell\x07 nul\x00 escape\x1b[31m red.\n"
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-one.md": chapter(body)})
    result = timed(lambda: build(root, *NO_PDF))
    assert_success(result)
    assert_warned(result, "manuscript/01-one.md:5", "control characters")
    text = chapter_file(root, "01-one")
    assert "Bell nul escape[31m red." in text
    assert not any(c in text for c in "\x00\x07\x1b")


def test_long_single_paragraph_is_set(tmp_path: Path) -> None:
    """Case 7a: one paragraph of 50 KB without a blank line is laid out in bounded time."""
    body = ("word " * 10_000) + "\n"
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-one.md": chapter(body)})
    result = timed(lambda: build(root, *NO_PDF))
    assert_success(result)
    assert "word word word" in chapter_file(root, "01-one")


def test_five_megabyte_paragraph_is_refused_quickly(tmp_path: Path) -> None:
    """Case 7b: a 5 MB chapter with no blank line would take WeasyPrint minutes: a clear error instead."""
    body = ("word " * 12 + "\n") * 85_000
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-one.md": chapter(body)})
    result = timed(lambda: build(root, *NO_PDF))
    assert_user_error(result, root, "manuscript/01-one.md:", "too long to set", "blank lines")


@pytest.mark.parametrize(
    ("html", "warning"),
    [
        pytest.param(
            '<p>Look: <img src="file:///etc/passwd" alt="secrets"> here.</p>', "file:///etc/passwd", id="img-file-url"
        ),
        pytest.param(
            '<object data="file:///etc/passwd" type="text/plain">fallback</object>', "<object> removed", id="object"
        ),
        pytest.param('<iframe src="file:///etc/passwd"></iframe>', "<iframe> removed", id="iframe"),
        pytest.param(
            '<svg><use href="http://example.invalid/x.svg#a"/></svg>',
            "inline <svg>: references outside the image removed",
            id="svg-use",
        ),
        pytest.param('<link rel="stylesheet" href="http://example.invalid/evil.css">', "<link> removed", id="link"),
    ],
)
def test_embedding_raw_html_is_removed(tmp_path: Path, html: str, warning: str) -> None:
    """Case 8: raw HTML reaching for files or the network is removed with a warning; nothing leaks."""
    body = f"Before.\n\n{html}\n\nAfter.\n"
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-one.md": chapter(body)})
    result = timed(lambda: build(root, *NO_PDF))
    assert_success(result)
    assert_warned(result, "manuscript/01-one.md:5", warning)
    text = "".join(epub_texts(root).values())
    assert "After." in text
    assert "root:" not in text and "/etc/passwd" not in text and "example.invalid" not in text


def test_embedding_raw_html_full_build_leaks_nothing_into_pdf(tmp_path: Path) -> None:
    """Case 8, full build: the PDF holds nothing of /etc/passwd either."""
    body = (
        'Before.\n\n<img src="file:///etc/passwd" alt="x">\n\n<object data="/etc/passwd"></object>\n\n'
        '<link rel="stylesheet" href="file:///etc/passwd">\n\nAfter.\n'
    )
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-one.md": chapter(body)})
    result = timed(lambda: build(root))
    assert_success(result)
    pdf = (root / "dist" / f"{SLUG}.pdf").read_bytes()
    assert b"root:x:0:0" not in pdf and b"/etc/passwd" not in pdf


# --------------------------------------------------------------------------------------------- paths


def test_symlinked_chapter_outside_the_project(tmp_path: Path) -> None:
    """Case 9: a listed chapter that is a symlink to a file outside the project."""
    outside = tmp_path / "secret.md"
    outside.write_text("# Secret\n\nNot part of the book.\n", encoding="utf-8")
    toml = TOML + 'chapters = ["01-one.md", "02-link.md"]\n'
    files = {"manuscript/book.toml": toml, "manuscript/01-one.md": chapter("Text.\n")}
    root = make_project(tmp_path, files)
    (root / "manuscript" / "02-link.md").symlink_to(outside)
    result = timed(lambda: build(root, *NO_PDF))
    assert_user_error(result, root, "book.toml", "book.chapters", "02-link.md", "outside the book project")


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param("/etc/passwd", id="absolute"),
        pytest.param("../../etc/passwd", id="dotdot"),
        pytest.param("../../outside.md", id="dotdot-existing"),
    ],
)
def test_chapter_path_escaping_the_project(tmp_path: Path, entry: str) -> None:
    """Case 10: an absolute path or a ../ escape in ``chapters``."""
    (tmp_path / "outside.md").write_text("# Outside\n", encoding="utf-8")
    toml = TOML + f'chapters = ["01-one.md", "{entry}"]\n'
    root = make_project(tmp_path, {"manuscript/book.toml": toml, "manuscript/01-one.md": chapter("Text.\n")})
    result = timed(lambda: build(root, *NO_PDF))
    assert_user_error(result, root, "book.toml", "book.chapters", entry, "outside the book project")


@pytest.mark.parametrize("cover", ["../../etc/passwd", "/etc/passwd"])
def test_cover_image_outside_the_project(tmp_path: Path, cover: str) -> None:
    """Case 11: ``cover-image`` reaching outside the project."""
    toml = TOML + f'cover-image = "{cover}"\n'
    root = make_project(tmp_path, {"manuscript/book.toml": toml, "manuscript/01-one.md": chapter("Text.\n")})
    result = timed(lambda: build(root, *NO_PDF))
    assert_user_error(result, root, "book.toml", "book.cover-image")


@pytest.mark.parametrize("listed", [False, True], ids=["discovered", "listed"])
def test_directory_named_like_a_chapter(tmp_path: Path, listed: bool) -> None:
    """Case 12: a directory ``x.md`` is skipped when chapters are discovered and an error when listed."""
    toml = TOML + ('chapters = ["01-one.md", "x.md"]\n' if listed else "")
    root = make_project(tmp_path, {"manuscript/book.toml": toml, "manuscript/01-one.md": chapter("Text.\n")})
    (root / "manuscript" / "x.md").mkdir()
    result = timed(lambda: build(root, *NO_PDF))
    if listed:
        assert_user_error(result, root, "book.toml", "book.chapters", "x.md")
    else:
        assert_success(result)
        assert "Text." in chapter_file(root, "01-one")


def test_unclosed_inline_tag_does_not_swallow_blocks(tmp_path: Path) -> None:
    """An <em> never closed must not wrap the paragraphs and notes after it (invalid XHTML)."""
    body = "Text.[^1]\n\n[^1]: The note.\n\n<div>unclosed\n\n<em>unclosed emphasis\n\nA later paragraph.\n"
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-one.md": chapter(body)})
    result = timed(lambda: build(root, *NO_PDF))
    assert_success(result)
    assert_warned(result, "manuscript/01-one.md:9", "<em> is never closed")
    assert "A later paragraph." in chapter_file(root, "01-one")
    assert epubcheck_messages(root / "dist" / f"{SLUG}.epub") == []


# ------------------------------------------------------------------------ Pandoc's Markdown (issue 14)

PANDOC_WARNED = {
    # Kept small, as "span-brackets" below: unclosed brackets are Python-Markdown's quadratic case.
    "unclosed-notes": ("A ^[" * 2_000 + "\n", "A ^[A ^[", ()),
    "notes-in-notes": ("x" + "^[" * 900 + "deep" + "]" * 900 + "\n", "deep", ()),
    "stray-fences": (":::\n\n" * 5_000, ":::", ("manuscript/01-one.md:3 and 4999 more places", "closes no fenced div")),
    "unclosed-divs": ("::: note\n" * 40 + "Never closed.\n", "Never closed.", ()),
    # Kept small: Python-Markdown's own link pattern is quadratic in unclosed brackets (40,000 take minutes
    # with or without spans); the span pattern adds nothing to it.
    "span-brackets": ("[" * 2_000 + "x]{.a}\n", "x", ()),
    "many-spans": ("[a]{.b} " * 10_000 + "\n", '<span class="b">a</span> <span class="b">a</span>', ()),
    "liquid-line": ("{%a " * 20_000 + "%}\n", "{%a", ("manuscript/01-one.md:3", "Liquid/Jekyll tags")),
    "latex-every-line": ("\\foo\n\n" * 3_000, "\\foo", ("and 2999 more places", "LaTeX commands")),
    "div-attributes": (
        '::: {#x" .a<b lang=zz-!! dir=up title="<script>" onclick=alert(1) .callout-note}\nText.\n:::\n',
        "Text.",
        ("lang='zz-!!' is not a BCP 47 language tag",),
    ),
    "image-size": ("![a](a.png){width=url(javascript:x) height=-3cm}\n", "", ("width='url(javascript:x)'",)),
}
"""Pandoc-flavoured chapter bodies written to hang, break or inject: body, text the EPUB keeps, warning."""


@pytest.mark.parametrize("name", list(PANDOC_WARNED))
def test_hostile_pandoc_markdown_builds_in_bounded_time(tmp_path: Path, name: str) -> None:
    """Cases 44-53: each builds in bounded time, with the warnings named, and a valid EPUB."""
    body, kept, warned = PANDOC_WARNED[name]
    files: dict[str, str | bytes] = {"manuscript/book.toml": TOML, "manuscript/01-one.md": chapter(body)}
    if "a.png" in body:
        image = io.BytesIO()
        Image.new("RGB", (4, 4)).save(image, "PNG")
        files["manuscript/a.png"] = image.getvalue()
    root = make_project(tmp_path, files)
    result = timed(lambda: build(root, *NO_PDF))
    assert_success(result)
    if warned:
        assert_warned(result, *warned)
    text = chapter_file(root, "01-one")
    assert kept in text
    assert not re.search(r"<script|\sonclick=|javascript", text)
    if name in ("div-attributes", "notes-in-notes", "image-size"):
        assert epubcheck_messages(root / "dist" / f"{SLUG}.epub") == []


def test_fenced_divs_nested_too_deep_are_refused(tmp_path: Path) -> None:
    """Case 54: two hundred nested fenced divs: one error naming the chapter and line."""
    body = "".join(f"{':' * (3 + n)} d{n}\n" for n in range(200)) + "x\n" + ":::\n" * 200
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-one.md": chapter(body)})
    result = timed(lambda: build(root, *NO_PDF))
    assert_user_error(result, root, "manuscript/01-one.md:53", "fenced divs (:::) nested deeper than 50 levels")


@pytest.mark.parametrize(
    ("toml", "meta", "fragments"),
    [
        ('metadata-file = "../../etc/passwd"\n', None, ("book.toml", "book.metadata-file", "outside the book project")),
        ('metadata-file = "meta.yaml"\n', "title: [unclosed\n", ("meta.yaml", "not a YAML metadata file")),
        ('metadata-file = "meta.yaml"\n', "- a list\n", ("meta.yaml", "expected a mapping")),
        ('metadata-file = "meta.yaml"\n', "author: {first: x}\n", ("meta.yaml", "author", "expected text")),
        ('metadata-file = "missing.yaml"\n', None, ("book.metadata-file", "cannot read 'missing.yaml'")),
        ('keywords = ["a"]\nsubject = ["b"]\n', None, ("book.keywords", "both 'keywords' and 'subject' are set")),
    ],
    ids=["outside", "not-yaml", "not-mapping", "wrong-type", "missing", "keywords-and-subject"],
)
def test_bad_metadata_file_or_keywords(tmp_path: Path, toml: str, meta: str | None, fragments: tuple[str, ...]) -> None:
    """Cases 55-60: [book] metadata-file and keywords, wrong: one error naming the file (and key)."""
    files: dict[str, str | bytes] = {"manuscript/book.toml": TOML + toml, "manuscript/01-one.md": chapter("Text.\n")}
    if meta is not None:
        files["manuscript/meta.yaml"] = meta
    root = make_project(tmp_path, files)
    result = timed(lambda: build(root, *NO_PDF))
    assert_user_error(result, root, *fragments)


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        ('labels = "Inhalt"\n', ("book.toml", "labels", "expected a table [labels]")),
        ('\n[labels]\ncontents = ["Inhalt"]\n', ("book.toml:6", "labels.contents", "expected a string")),
        ('\n[labels]\nnotez = "Noten"\n', ("book.toml:6", "labels.notez", "did you mean 'notes'?")),
        ('\n[labels]\npage-reference = "S."\n', ("book.toml:6", "labels.page-reference", "{page}")),
        ('\n[labels]\ncontents = "  "\n', ("book.toml:6", "labels.contents", "is blank")),
        ('\n[pdf]\nlinks = "margin"\n', ("book.toml:6", "pdf.links", "footnote, after, none")),
        ('\n[pdf]\ncode-colour = "grey"\n', ("book.toml:6", "pdf.code-colour", "true or false")),
    ],
    ids=[
        "labels-not-a-table",
        "label-not-a-string",
        "unknown-label",
        "label-loses-placeholder",
        "blank-label",
        "unknown-links",
        "code-colour-not-bool",
    ],
)
def test_bad_labels_and_print_settings(tmp_path: Path, extra: str, fragments: tuple[str, ...]) -> None:
    """Issue 12: [labels] and the new [pdf] settings are checked like the rest of book.toml."""
    toml = extra + TOML if extra.startswith("labels =") else TOML + extra
    root = make_project(tmp_path, {"manuscript/book.toml": toml, "manuscript/01-one.md": chapter("Text.\n")})
    result = timed(lambda: build(root, *NO_PDF))
    assert_user_error(result, root, *fragments)


def test_hostile_urls_and_code_print_and_package(tmp_path: Path) -> None:
    """Issue 12: bare addresses of every awkward shape, an 18,000-character one (a break after each of its
    thousands of slashes and dots), links in headings and notes, code indented 160 columns (the nesting limit
    allows no more) with tabs and a 5,000-character line: the build finishes, the EPUB is valid."""
    long_url = "https://example.org/" + "a/b-c.d_e" * 2_000
    body = (
        "## A heading with https://example.org/heading and [a link](https://example.org/h)\n\n"
        f'See https://en.wikipedia.org/wiki/Foo_(bar)), (https://example.org/x). and "https://example.org/q".\n'
        f"Also https:// alone, http://, `https://example.org/in-code` and {long_url}.[^n]\n\n"
        "[^n]: A note with [a link](https://example.org/note) and https://example.org/bare.\n\n"
        "```\n" + "\t" * 12 + "deep\n" + " " * 160 + "deeper " + "x" * 5_000 + "\n\n\n```\n"
    )
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-one.md": chapter(body)})
    result = timed(lambda: build(root))
    assert_success(result)
    text = chapter_file(root, "01-one")
    assert 'href="https://en.wikipedia.org/wiki/Foo_(bar)"' in text
    assert 'href="https://example.org/x"' in text and 'href="https://example.org/q"' in text
    assert 'href="https://example.org/in-code"' not in text and f'href="{long_url}"' in text
    assert 'href="https://"' not in text and 'href="http://"' not in text
    assert epubcheck_messages(root / "dist" / f"{SLUG}.epub") == []
