"""Hostile projects against the limits (issue 13, item 4): metadata lengths, stylesheet size and kind, the layout's
time limit, and every problem in a user's file exiting 1 with that file named (never 3, "internal error")."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from essaybook.limits import LAYOUT_SECONDS_ENV, METADATA_LENGTHS, STYLESHEET_BYTES
from test_bad_input import CHAPTER, SLUG, TOML, assert_user_error, build, make_project
from test_hostile import assert_success, assert_warned, timed

NO_PDF = ("--no-pdf",)
SECOND = "# Two\n\nAnother paragraph.\n"


def toml_with(**book: str | list[str]) -> str:
    lines = ["[book]", 'lang = "en"']
    for key, value in book.items():
        lines.append(f"{key} = {value!r}")  # Python's repr of these is TOML (literal strings)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------- metadata


@pytest.mark.parametrize("key", ["title", "subtitle", "publisher", "rights", "description", "identifier"])
def test_metadata_longer_than_its_limit_names_the_key(tmp_path: Path, key: str) -> None:
    value = "word " * (METADATA_LENGTHS[key] // 5 + 1)
    root = make_project(
        tmp_path, {"manuscript/book.toml": toml_with(**{"title": "T", key: value}), "manuscript/a.md": CHAPTER}
    )
    result = timed(lambda: build(root, *NO_PDF))
    assert_user_error(
        result, root, "book.toml:", f"book.{key}", "characters long", f"limit is {METADATA_LENGTHS[key]:,}"
    )


def test_an_author_name_longer_than_its_limit(tmp_path: Path) -> None:
    toml = toml_with(title="T", author=["Ann", "B" * (METADATA_LENGTHS["author"] + 1)])
    root = make_project(tmp_path, {"manuscript/book.toml": toml, "manuscript/a.md": CHAPTER})
    assert_user_error(timed(lambda: build(root, *NO_PDF)), root, "book.toml:", "book.author", "limit is 200")


def test_too_many_authors(tmp_path: Path) -> None:
    toml = toml_with(title="T", author=[f"Author {n}" for n in range(101)])
    root = make_project(tmp_path, {"manuscript/book.toml": toml, "manuscript/a.md": CHAPTER})
    assert_user_error(timed(lambda: build(root, *NO_PDF)), root, "book.author", "101 entries", "limit is 100")


def test_a_front_matter_title_longer_than_its_limit_names_chapter_and_line(tmp_path: Path) -> None:
    chapter = f"---\nlang: en\ntitle: {'x' * 501}\n---\n\n# Heading\n\nText.\n"
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-a.md": chapter})
    assert_user_error(timed(lambda: build(root, *NO_PDF)), root, "manuscript/01-a.md:3", "title", "limit is 500")


def test_a_title_at_the_limit_is_laid_out_in_bounded_time(tmp_path: Path) -> None:
    """The title is printed on the title page, in the running heads and on the cover: 500 characters of one
    unbreakable word and 100 authors at their limit still make a book within the hostile time limit."""
    toml = toml_with(title="W" * 500, subtitle="word " * 99, author=["A" * 200] * 100)
    files = {"manuscript/book.toml": toml, "manuscript/01-a.md": CHAPTER, "manuscript/02-b.md": SECOND}
    root = make_project(tmp_path, files)
    assert_success(timed(lambda: build(root, "--no-cache")))


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[book]\ntitle = "Bell\\u0007"\nlang = "en"\n', "book.title"),
        ('[book]\ntitle = "T"\nauthor = ["Ann", "Esc\\u001b[31m"]\nlang = "en"\n', "book.author"),
        ('[book]\ntitle = "T"\nsubtitle = "Next line\\u0085"\nlang = "en"\n', "book.subtitle"),
        ('[book]\ntitle = "T"\nsubject = ["ok", "\\uffff"]\nlang = "en"\n', "book.subject"),
    ],
)
def test_control_characters_in_book_toml_metadata(tmp_path: Path, toml: str, key: str) -> None:
    """Before: the EPUB step failed with "internal error: XMLSyntaxError" after the PDF was written."""
    root = make_project(tmp_path, {"manuscript/book.toml": toml, "manuscript/a.md": CHAPTER})
    assert_user_error(timed(lambda: build(root)), root, "book.toml:", key, "U+")


@pytest.mark.parametrize(
    ("front", "key", "line"),
    [('title: "Bell\\a"', "title", 2), ('lang: en\nauthor: ["Ann", "Nul\\0"]', "author", 3)],
)
def test_control_characters_in_front_matter(tmp_path: Path, front: str, key: str, line: int) -> None:
    chapter = f"---\n{front}\n---\n\n# Heading\n\nText.\n"
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-a.md": chapter})
    assert_user_error(timed(lambda: build(root)), root, f"manuscript/01-a.md:{line}", key, "control character")


@pytest.mark.parametrize("epoch", ["99999999999999", "-5", "abc", "1_000", "253402300800"])
def test_out_of_range_source_date_epoch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, epoch: str) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/a.md": CHAPTER})
    assert_user_error(timed(lambda: build(root, *NO_PDF)), root, "SOURCE_DATE_EPOCH", repr(epoch))


# --------------------------------------------------------------------------------------------- stylesheets


def test_a_stylesheet_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    css = 'p { font-family: "Caf\xe9"; }\n'.encode("latin-1")
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/a.md": CHAPTER, "styles/x.css": css})
    assert_user_error(timed(lambda: build(root)), root, "styles/x.css", "UTF-8")


def test_a_stylesheet_larger_than_the_limit_is_refused_before_layout(tmp_path: Path) -> None:
    css = b"/* padding */" + b" " * STYLESHEET_BYTES + b"p { color: red }\n"
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/a.md": CHAPTER, "styles/big.css": css})
    result = timed(lambda: build(root))
    message = assert_user_error(result, root, "styles/big.css", "too large", f"{STYLESHEET_BYTES:,}")
    assert "Step 4" not in result.output, message  # refused while loading, not after a layout


def test_a_folder_named_like_a_stylesheet(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/a.md": CHAPTER, "styles/x.css/a": ""})
    assert_user_error(timed(lambda: build(root)), root, "styles/x.css", "not a regular file")


def test_a_styles_folder_linked_outside_the_project(tmp_path: Path) -> None:
    """Before: exit 3 ("ValueError: ... is not in the subpath of ...") from the EPUB's stylesheets."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "a.css").write_text("p { color: red }\n")
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/a.md": CHAPTER})
    (root / "styles").symlink_to(outside, target_is_directory=True)
    assert_user_error(timed(lambda: build(root)), root, "styles", "outside the book project")


def test_a_stylesheet_linked_outside_the_project(tmp_path: Path) -> None:
    secret = tmp_path / "secret.css"
    secret.write_text("p::after { content: 'TOP SECRET' }\n")
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/a.md": CHAPTER, "styles/ok.css": ""})
    (root / "styles" / "theme").mkdir()
    (root / "styles" / "theme" / "print.css").symlink_to(secret)
    result = timed(lambda: build(root))
    assert_user_error(result, root, "styles/theme/print.css", "outside the book project")


# --------------------------------------------------------------------------------------------- layout

DROP_CAPS = "p::first-letter { float: left; font-size: 3em; line-height: 3 }\n"
"""Makes WeasyPrint 70 raise an AssertionError where a floated first letter meets a page break."""
LONG = "# Long\n\n" + ("word " * 40 + "\n\n") * 80


@pytest.mark.parametrize(("layout", "chapters"), [("book", 2), ("essay", 1)])
def test_a_weasyprint_failure_names_the_chapter_and_the_stylesheets(tmp_path: Path, layout: str, chapters: int) -> None:
    """Before: the essay layout exited 3 ("internal error: AssertionError:"); the book layout named the chapter
    but not the stylesheets."""
    files = {
        "manuscript/book.toml": TOML + f'[pdf]\nlayout = "{layout}"\n',
        "manuscript/02-long.md": LONG,
        "styles/drop-caps.css": DROP_CAPS,
        "styles/colours.css": "h1 { color: navy }\n",
    }
    if chapters == 2:
        files["manuscript/01-a.md"] = CHAPTER
    root = make_project(tmp_path, files)
    message = assert_user_error(
        timed(lambda: build(root, "--no-cache")),
        root,
        "manuscript/02-long.md: WeasyPrint failed",
        "styles/colours.css, styles/drop-caps.css",
        "AssertionError",
    )
    assert "01-a.md" not in message


@pytest.mark.parametrize(("layout", "jobs"), [("book", "2"), ("book", "1"), ("essay", "1")])
def test_a_layout_past_the_time_limit_names_the_chapter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str, jobs: str
) -> None:
    monkeypatch.setenv(LAYOUT_SECONDS_ENV, "3")
    slow = "# Slow\n\n" + ("word " * 60 + "\n\n") * 1500  # about 240 pages: 15 s of layout
    files = {"manuscript/book.toml": TOML + f'[pdf]\nlayout = "{layout}"\n', "manuscript/02-slow.md": slow}
    if layout == "book":
        files["manuscript/01-a.md"] = CHAPTER
    # An essay of several chapters names the one being laid out when the time runs out, if it was laying out
    # boxes then (not parsing or styling the whole document): one chapter here, so the test cannot race.
    root = make_project(tmp_path, files)
    result = timed(lambda: build(root, "--no-cache", "-j", jobs))
    assert_user_error(
        result, root, "manuscript/02-slow.md: laying out this chapter took longer", "3 s", LAYOUT_SECONDS_ENV
    )


def test_a_layout_time_limit_that_is_no_number(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LAYOUT_SECONDS_ENV, "soon")
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/a.md": CHAPTER})
    assert_user_error(timed(lambda: build(root)), root, LAYOUT_SECONDS_ENV, "'soon'")


# --------------------------------------------------------------------------------------------- no PDF of boxes

LINEAR_B = "".join(chr(0x10000 + n) for n in range(12))  # a script no font here (nor, mostly, anywhere) draws
CHINESE = "这是一本用中文写的书。它的每一页都应该印出汉字，而不是空白的方框。"


@pytest.fixture
def no_machine_fonts(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a machine with no fonts of its own: only the theme's fonts draw, whatever this one has."""
    from essaybook import fonts

    monkeypatch.setattr(fonts, "_system_fonts", lambda: ())


def test_a_book_in_a_language_no_font_draws_stops_before_writing(tmp_path: Path, no_machine_fonts: None) -> None:
    """Before: 669 pages of boxes written as a success, with one warning among many."""
    toml = '[book]\ntitle = "中文书"\nlang = "zh-Hans"\n'
    root = make_project(tmp_path, {"manuscript/book.toml": toml, "manuscript/01-a.md": f"# 第一章\n\n{CHINESE}\n"})
    message = assert_user_error(
        timed(lambda: build(root)),
        root,
        "Chinese, Japanese and Korean",
        "the book's language is written in it",
        "fonts-noto-cjk on Debian or Ubuntu",
        "google-noto-sans-cjk-fonts on Fedora",
        "font-noto-sans-cjk with Homebrew",
        "@font-face in styles/*.css",
        "allow-missing-glyphs = true in [pdf]",
    )
    assert "book.toml:" in message  # the title, printed on the title page, is the first undrawable text


def test_a_large_share_of_undrawable_text_stops_the_build(tmp_path: Path, no_machine_fonts: None) -> None:
    chapter = "# Tablets\n\nThe tablets read:\n\n" + "\n\n".join(LINEAR_B * 3 for _ in range(4)) + "\n"
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-a.md": chapter})
    assert_user_error(
        timed(lambda: build(root)),
        root,
        "manuscript/01-a.md:5: no font on this machine can draw Linear B text",
        "144 of the book's",
        "fonts-noto-core",
        "google-noto-sans-linear-b-fonts",
    )


def test_a_handful_of_undrawable_characters_are_each_named_with_their_place(
    tmp_path: Path, no_machine_fonts: None
) -> None:
    body = (
        "Some words.\n\n"
        + "A sign: \U00010000, "
        + "and words " * 40
        + "\n\nTwo more: \U00010001\U00010002 \U00010000.\n"
    )
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-a.md": f"# A\n\n{body}"})
    result = timed(lambda: build(root))
    assert_success(result)
    first = assert_warned(result, "manuscript/01-a.md:5 and 1 more place", "'\U00010000' (U+10000)", "Linear B")
    assert "fonts-noto-core" in first
    assert_warned(result, "manuscript/01-a.md:7:", "'\U00010001' (U+10001)")
    assert_warned(result, "manuscript/01-a.md:7:", "'\U00010002' (U+10002)")
    assert (root / "dist" / f"{SLUG}.pdf").read_bytes().startswith(b"%PDF")


def test_boxes_accepted_knowingly(tmp_path: Path, no_machine_fonts: None) -> None:
    toml = TOML + "[pdf]\nallow-missing-glyphs = true\n"
    root = make_project(tmp_path, {"manuscript/book.toml": toml, "manuscript/01-a.md": f"# A\n\n{LINEAR_B * 20}\n"})
    result = timed(lambda: build(root))
    assert_success(result)
    assert_warned(result, "manuscript/01-a.md:3", "Linear B text", "written anyway (allow-missing-glyphs = true")


def test_allow_missing_glyphs_must_be_a_boolean(tmp_path: Path) -> None:
    toml = TOML + '[pdf]\nallow-missing-glyphs = "yes"\n'
    root = make_project(tmp_path, {"manuscript/book.toml": toml, "manuscript/01-a.md": CHAPTER})
    assert_user_error(timed(lambda: build(root)), root, "book.toml:5", "pdf.allow-missing-glyphs", "true or false")


def test_an_epub_alone_needs_no_font_on_this_machine(tmp_path: Path, no_machine_fonts: None) -> None:
    toml = '[book]\ntitle = "中文书"\nlang = "zh"\n'
    root = make_project(tmp_path, {"manuscript/book.toml": toml, "manuscript/01-a.md": f"# 第一章\n\n{CHINESE}\n"})
    result = timed(lambda: build(root, *NO_PDF))
    assert_success(result)
    assert "font-coverage" not in result.output and "empty box" not in result.output


def test_check_reports_a_book_of_boxes_as_an_error(tmp_path: Path, no_machine_fonts: None) -> None:
    from test_bad_input import run

    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-a.md": f"# A\n\n{LINEAR_B * 20}\n"})
    result = timed(lambda: run("check", str(root), "--no-validators"))
    assert result.exit_code == 1, result.output
    assert "manuscript/01-a.md:3: error: no font on this machine can draw Linear B text" in result.stdout
    assert "[font-coverage]" in result.stdout


def test_a_failed_parallel_layout_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: the other workers, stopped with SIGTERM, went on to their next queued chapter and wrote its PDF
    into the temporary layout cache after the build had removed it (left in TMPDIR)."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    files = {
        "manuscript/book.toml": TOML,
        "manuscript/02-long.md": LONG,
        "styles/drop-caps.css": DROP_CAPS,
        **{f"manuscript/0{n}-more.md": "# More\n\n" + ("words " * 50 + "\n\n") * 30 for n in range(3, 8)},
    }
    root = make_project(tmp_path, files)
    result = timed(lambda: build(root, "--no-cache", "-j", "2"))
    assert_user_error(result, root, ".md: WeasyPrint failed")  # the first chapter to fail: 02-long.md or another
    assert sorted(p.name for p in temp.iterdir()) == []


def test_a_chapter_in_a_language_no_font_draws_stops_the_build(tmp_path: Path, no_machine_fonts: None) -> None:
    """The chapter's own language counts as the book's: a Japanese chapter in an English anthology."""
    japanese = "---\nlang: ja\n---\n\n# 第二章\n\nこれは日本語で書かれた章です。\n"
    files = {"manuscript/book.toml": TOML, "manuscript/01-a.md": CHAPTER, "manuscript/02-ja.md": japanese}
    root = make_project(tmp_path, files)
    assert_user_error(
        timed(lambda: build(root)), root, "manuscript/02-ja.md:5", "Chinese, Japanese and Korean", "fonts-noto-cjk"
    )


def test_a_book_full_of_emoji_names_the_emoji_fonts(tmp_path: Path, no_machine_fonts: None) -> None:
    chapter = "# Launch\n\n" + "Lift-off \U0001f680 " * 600 + "\n"
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-a.md": chapter})
    assert_user_error(
        timed(lambda: build(root)), root, "manuscript/01-a.md:3", "emoji and symbol text", "fonts-noto-color-emoji"
    )
