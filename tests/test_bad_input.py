"""Bad input: every mistake in a book project ends the build with exit 1 and one message naming the place.

Each case builds a tiny project in ``tmp_path`` whose ``dist/`` already holds an earlier build (known bytes),
then checks that the command (a) exits with ``EXIT_USER``, (b) prints one ``Error:`` message naming the file
(and line or dotted key), (c) shows no traceback and (d) leaves ``dist/`` byte for byte as it was, with no
temporary files left behind.
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import traceback
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from essaybook import __version__
from essaybook.cli import main
from essaybook.errors import EXIT_USER
from essaybook.manuscript import slug_of

from conftest import epubcheck_messages

TITLE = "A Book of Mistakes"
SLUG = slug_of(TITLE)
OLD_PDF = b"%PDF-1.7\n% an earlier build that a failed build must leave alone\n%%EOF\n"
OLD_EPUB = b"PK\x03\x04 an earlier build that a failed build must leave alone\n"
README = Path(__file__).resolve().parents[1] / "README.md"

CHAPTER = f"# {TITLE}\n\nA paragraph.\n"
TOML = f'[book]\ntitle = "{TITLE}"\nlang = "en"\n'
NO_PDF = ("--no-pdf",)


# --------------------------------------------------------------------------------------------- helpers


def make_project(tmp_path: Path, files: Mapping[str, str | bytes]) -> Path:
    """A project folder holding ``files`` (relative path -> text or bytes) and a dist/ from an earlier build."""
    root = tmp_path / "book"
    root.mkdir()
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    dist = root / "dist"
    dist.mkdir()
    (dist / f"{SLUG}.pdf").write_bytes(OLD_PDF)
    (dist / f"{SLUG}.epub").write_bytes(OLD_EPUB)
    return root


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), prog_name="essaybook")


def build(root: Path, *options: str) -> Result:
    return run("build", str(root), *options)


def describe(result: Result) -> str:
    """Everything needed to understand a failed assertion."""
    text = f"exit code {result.exit_code}\n--- stdout+stderr ---\n{result.output}"
    if result.exc_info is not None and not isinstance(result.exception, SystemExit):
        text += "--- uncaught exception ---\n" + "".join(traceback.format_exception(*result.exc_info))
    return text


def assert_dist_untouched(root: Path) -> None:
    dist = root / "dist"
    assert sorted(p.name for p in dist.iterdir()) == sorted([f"{SLUG}.pdf", f"{SLUG}.epub"]), (
        "dist/ must hold the earlier outputs and nothing else (no temporary files)"
    )
    assert (dist / f"{SLUG}.pdf").read_bytes() == OLD_PDF, "a failed build changed dist/*.pdf"
    assert (dist / f"{SLUG}.epub").read_bytes() == OLD_EPUB, "a failed build changed dist/*.epub"


def assert_user_error(result: Result, root: Path, *fragments: str) -> str:
    """Exit 1, exactly one ``Error:`` message on stderr holding every fragment, no traceback, dist/ untouched.

    Returns the message (from ``Error:`` to the end of stderr).
    """
    detail = describe(result)
    # CliRunner turns an uncaught exception into exit code 1 too; only a deliberate exit counts.
    assert result.exception is None or isinstance(result.exception, SystemExit), detail
    assert result.exit_code == EXIT_USER, detail
    assert "Traceback" not in result.output, detail
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, f"expected one 'Error:' message on stderr\n{detail}"
    message = result.stderr[result.stderr.index("Error:") :]
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in the error message\n{detail}"
    assert_dist_untouched(root)
    return message


# --------------------------------------------------------------------------------------------- the project


def test_no_manuscript_folder(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"notes.txt": "not a book yet\n"})
    result = build(root)  # the full command, PDF and EPUB
    assert_user_error(result, root, str(root), "manuscript/")


def assert_clean_failure(result: Result, *fragments: str) -> None:
    """Exit 1, one ``Error:`` message holding every fragment, no traceback (for cases without a dist/)."""
    detail = describe(result)
    assert result.exception is None or isinstance(result.exception, SystemExit), detail
    assert result.exit_code == EXIT_USER, detail
    assert "Traceback" not in result.output, detail
    assert result.stderr.count("Error:") == 1, detail
    message = result.stderr[result.stderr.index("Error:") :]
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in the error message\n{detail}"


def test_no_manuscript_folder_creates_no_dist(tmp_path: Path) -> None:
    """A folder that is not a book project gains no dist/ from a failed build."""
    root = tmp_path / "not-a-book"
    root.mkdir()
    (root / "notes.txt").write_text("not a book\n", encoding="utf-8")
    result = build(root, *NO_PDF)
    assert_clean_failure(result, str(root), "manuscript/")
    assert sorted(p.name for p in root.iterdir()) == ["notes.txt"]


def test_missing_project_folder_is_not_created(tmp_path: Path) -> None:
    """A mistyped project path is reported as such, and nothing is created there."""
    root = tmp_path / "typo"
    result = build(root, *NO_PDF)
    assert_clean_failure(result, str(root), "no such")
    assert not root.exists(), f"the failed build created {sorted(str(p) for p in root.rglob('*'))}"


def test_manuscript_without_markdown_files(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/notes.txt": "not a chapter\n"})
    result = build(root, *NO_PDF)
    assert_user_error(result, root, "manuscript", "no chapters")


# --------------------------------------------------------------------------------------------- book.toml


def test_invalid_toml_names_file_line_and_column(tmp_path: Path) -> None:
    toml = f'[book]\ntitle = "{TITLE}"\nlang = \n'  # line 3, column 8: a key without a value
    root = make_project(tmp_path, {"manuscript/book.toml": toml, "manuscript/01-one.md": CHAPTER})
    result = build(root, *NO_PDF)
    assert_user_error(result, root, "book.toml:3:8", "TOML")


@pytest.mark.parametrize(
    ("toml", "fragments"),
    [
        pytest.param(
            f'[book]\ntitle = "{TITLE}"\ntitel = "x"\n',
            ("book.toml:3", "book.titel", "unknown key", "did you mean 'title'"),
            id="book-titel",
        ),
        pytest.param(
            f'[book]\ntitle = "{TITLE}"\nlang = "en"\n\n[pdf]\npage_size = "A5"\n',
            ("book.toml:6", "pdf.page_size", "unknown key", "did you mean 'page-size'"),
            id="pdf-page_size",
        ),
    ],
)
def test_unknown_key_suggests_the_known_one(tmp_path: Path, toml: str, fragments: tuple[str, ...]) -> None:
    root = make_project(tmp_path, {"manuscript/book.toml": toml, "manuscript/01-one.md": CHAPTER})
    result = build(root, *NO_PDF)
    assert_user_error(result, root, *fragments)


def test_wrong_type_names_dotted_key(tmp_path: Path) -> None:
    toml = f'[book]\ntitle = "{TITLE}"\nlang = 3\n'
    root = make_project(tmp_path, {"manuscript/book.toml": toml, "manuscript/01-one.md": CHAPTER})
    result = build(root, *NO_PDF)
    assert_user_error(result, root, "book.toml:3", "book.lang", "expected a string")


def test_blank_title_or_author_is_a_config_error(tmp_path: Path) -> None:
    # An EPUB's dc:title must hold text (EPUBCheck RSC-005); "&nbsp;" is blank too. Found by the property tests.
    toml = '[book]\ntitle = "&nbsp;"\nlang = "en"\nauthor = ["Ann", " "]\n'
    root = make_project(tmp_path, {"manuscript/book.toml": toml, "manuscript/01-one.md": CHAPTER})
    assert_user_error(build(root), root, "book.toml:2: book.title: is blank", "book.toml:4: book.author")


def test_blank_front_matter_title_falls_back_to_the_heading(tmp_path: Path) -> None:
    chapter = f'---\ntitle: "&nbsp;"\n---\n\n{CHAPTER}'
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-one.md": chapter})
    result = build(root, *NO_PDF)
    assert result.exit_code == 0, describe(result)
    assert "manuscript/01-one.md: front matter title is blank" in result.output
    epub = root / "dist" / f"{SLUG}.epub"
    with zipfile.ZipFile(epub) as archive:
        name = next(n for n in archive.namelist() if n.endswith("01-one.xhtml"))
        assert f"<title>{TITLE}</title>" in archive.read(name).decode()
    assert epubcheck_messages(epub) == []


def test_several_config_problems_reported_in_one_run(tmp_path: Path) -> None:
    toml = (
        f'[book]\ntitle = "{TITLE}"\n'
        'titel = "Typo"\n'  # line 3
        "lang = 3\n"  # line 4
        "\n[pdf]\n"
        'page-size = "A7"\n'
    )  # line 7
    root = make_project(tmp_path, {"manuscript/book.toml": toml, "manuscript/01-one.md": CHAPTER})
    result = build(root, *NO_PDF)
    message = assert_user_error(
        result,
        root,
        "book.toml:3",
        "book.titel",
        "did you mean 'title'",
        "book.toml:4",
        "book.lang",
        "expected a string",
        "book.toml:7",
        "pdf.page-size",
        "'A7'",
    )
    assert len(message.strip().splitlines()) >= 3, "each problem on a line of its own"


def test_listed_chapter_missing(tmp_path: Path) -> None:
    toml = TOML + 'chapters = ["01-one.md", "parts/02-missing.md"]\n'
    root = make_project(tmp_path, {"manuscript/book.toml": toml, "manuscript/01-one.md": CHAPTER})
    result = build(root, *NO_PDF)
    assert_user_error(result, root, "book.toml", "book.chapters", "parts/02-missing.md")


def test_unknown_page_size_lists_valid_names(tmp_path: Path) -> None:
    toml = TOML + '\n[pdf]\npage-size = "A7"\n'  # line 6
    root = make_project(tmp_path, {"manuscript/book.toml": toml, "manuscript/01-one.md": CHAPTER})
    result = build(root, *NO_PDF)
    assert_user_error(result, root, "book.toml:6", "pdf.page-size", "'A7'", "A5", "6x9")


def test_unknown_variant_lists_valid_ones(tmp_path: Path) -> None:
    toml = TOML + '\n[pdf]\nvariant = "pdf/x-9"\n'  # line 6
    root = make_project(tmp_path, {"manuscript/book.toml": toml, "manuscript/01-one.md": CHAPTER})
    result = build(root, *NO_PDF)
    assert_user_error(result, root, "book.toml:6", "pdf.variant", "'pdf/x-9'", "pdf/ua-1", "pdf/a-3b")


def test_font_that_cannot_be_loaded_is_an_error(tmp_path: Path) -> None:
    css = "@font-face { font-family: Mine; src: url(fonts/missing.woff2); }\nbody { font-family: Mine; }\n"
    root = make_project(
        tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-one.md": CHAPTER, "styles/mine.css": css}
    )
    result = build(root)
    assert_user_error(result, root, "cannot load", "styles/fonts/missing.woff2")


def test_unsupported_image_type_is_named(tmp_path: Path) -> None:
    chapter = f"# {TITLE}\n\n![a scan](scan.bmp)\n"
    root = make_project(
        tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-one.md": chapter, "manuscript/scan.bmp": b"BM"}
    )
    result = build(root, *NO_PDF)
    assert_user_error(result, root, "manuscript/01-one.md:3", "'scan.bmp'", "unsupported type", "png")


def test_unknown_theme_lists_the_built_in_ones(tmp_path: Path) -> None:
    toml = TOML + '\n[theme]\nname = "fancy"\n'
    root = make_project(tmp_path, {"manuscript/book.toml": toml, "manuscript/01-one.md": CHAPTER})
    result = build(root, *NO_PDF)
    assert_user_error(result, root, "book.toml", "theme.name", "'fancy'", "classic")


def test_crop_marks_without_bleed_contradict(tmp_path: Path) -> None:
    toml = TOML + "\n[pdf]\ncrop-marks = true\n"  # line 6
    root = make_project(tmp_path, {"manuscript/book.toml": toml, "manuscript/01-one.md": CHAPTER})
    result = build(root, *NO_PDF)
    assert_user_error(result, root, "book.toml:6", "pdf.crop-marks", "no bleed", 'bleed = "3mm"')


# --------------------------------------------------------------------------------------------- chapters


@pytest.mark.parametrize(
    ("chapter", "line"),
    [
        pytest.param(f"# {TITLE}\n\nSome text.\n\n![x](img/nope.png)\n\nMore text.\n", 5, id="plain"),
        pytest.param(f"---\nlang: en\n---\n# {TITLE}\n\n![x](img/nope.png)\n", 6, id="after-front-matter"),
    ],
)
def test_missing_image_names_chapter_line_and_image(tmp_path: Path, chapter: str, line: int) -> None:
    root = make_project(
        tmp_path,
        {
            "manuscript/book.toml": TOML,
            "manuscript/01-one.md": chapter,
            "manuscript/img/there.png": b"\x89PNG\r\n\x1a\n",
        },
    )
    result = build(root)  # the full command, PDF and EPUB
    assert_user_error(result, root, f"manuscript/01-one.md:{line}", "img/nope.png")


def test_invalid_yaml_front_matter(tmp_path: Path) -> None:
    chapter = f"---\nlang: en\ntitle: a: b\n---\n# {TITLE}\n"  # the bad mapping is on line 3 of the file
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-one.md": chapter})
    result = build(root, *NO_PDF)
    message = assert_user_error(result, root, "manuscript/01-one.md:3", "YAML")
    assert re.search(r"manuscript/01-one\.md:\d+", message)


def test_chapter_not_utf8_names_file_and_line(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-one.md": b"# T\n\n\xff\xfe bad\n"})
    result = build(root, *NO_PDF)
    assert_user_error(result, root, "manuscript/01-one.md:3", "UTF-8")


@pytest.mark.parametrize(
    ("rel", "extra"),
    [
        ("manuscript/book.toml", {}),
        ("manuscript/sources.bib", {"manuscript/book.toml": TOML + 'bibliography = "sources.bib"\n'}),
        ("styles/print.css", {}),
        ("styles/templates/book.html", {}),
    ],
)
def test_every_text_file_not_utf8_names_file_line_and_byte(tmp_path: Path, rel: str, extra: dict[str, str]) -> None:
    """Settings, bibliography, stylesheet and template are read alike (paths.read_text): one message with the
    file, the line and the byte that is not UTF-8."""
    files: dict[str, str | bytes] = {"manuscript/book.toml": TOML, "manuscript/01-one.md": CHAPTER, **extra}
    files[rel] = b"% first line\n\xe9t\xe9\n"
    root = make_project(tmp_path, files)
    result = build(root, *NO_PDF)
    assert_user_error(result, root, f"{rel}:2", "not valid UTF-8 (byte 0xe9 at offset 13)")


# --------------------------------------------------------------------------------------------- output


def test_output_folder_below_a_regular_file(tmp_path: Path) -> None:
    # Tests run as root, so chmod cannot make a folder unwritable; a path through a regular file can.
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-one.md": CHAPTER})
    blocker = tmp_path / "somefile"
    blocker.write_bytes(b"just a file\n")
    out = blocker / "out"
    result = build(root, "-o", str(out))  # the full command, PDF and EPUB
    assert_user_error(result, root, str(out))
    assert blocker.read_bytes() == b"just a file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book", "somefile"]


def test_debug_shows_traceback_and_still_exits_1(tmp_path: Path) -> None:
    chapter = f"# {TITLE}\n\nSome text.\n\n![x](img/nope.png)\n"
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-one.md": chapter})
    result = build(root, *NO_PDF, "--debug")
    detail = describe(result)
    assert result.exception is None or isinstance(result.exception, SystemExit), detail
    assert result.exit_code == EXIT_USER, detail
    assert "Traceback (most recent call last)" in result.stderr, detail
    assert "Error: manuscript/01-one.md:5" in result.stderr, detail
    assert_dist_untouched(root)


# --------------------------------------------------------------------------------------------- controls


def test_control_valid_project_replaces_outputs(tmp_path: Path) -> None:
    """The same set-up without a mistake does replace dist/ (so the checks above can fail), and leaves no debris."""
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-one.md": CHAPTER})
    result = build(root, "-q")  # the full command, PDF and EPUB
    assert result.exit_code == 0, describe(result)
    dist = root / "dist"
    assert sorted(p.name for p in dist.iterdir()) == sorted([f"{SLUG}.pdf", f"{SLUG}.epub"])
    pdf = (dist / f"{SLUG}.pdf").read_bytes()
    epub = (dist / f"{SLUG}.epub").read_bytes()
    assert pdf != OLD_PDF
    assert pdf.startswith(b"%PDF-")
    assert epub != OLD_EPUB
    assert epub.startswith(b"PK\x03\x04")
    assert epubcheck_messages(dist / f"{SLUG}.epub") == []


# --------------------------------------------------------------------------------------------- the CLI itself


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0, describe(result)
    assert "essaybook" in result.output
    assert __version__ in result.output
    assert importlib.metadata.version("essaybook") == __version__


def test_python_m_essaybook_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "essaybook", "--version"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert __version__ in done.stdout
    assert "Traceback" not in done.stderr


def listed_commands() -> list[str]:
    """The command names in the 'Commands:' section of ``essaybook --help``."""
    result = run("--help")
    assert result.exit_code == 0, describe(result)
    lines = result.output.splitlines()
    assert "Commands:" in lines, result.output
    names = []
    for line in lines[lines.index("Commands:") + 1 :]:
        if not line.startswith("  "):
            break
        if line.strip():
            names.append(line.split()[0])
    assert names, result.output
    return names


def test_every_command_has_help() -> None:
    for name in listed_commands():
        result = run(name, "--help")
        assert result.exit_code == 0, describe(result)
        assert f"Usage: essaybook {name}" in result.output
        command = main.commands[name]
        assert command.help, f"essaybook {name} has no help text"
        summary = " ".join(command.help.split("\n\n")[0].split())  # click rewraps the text
        assert summary in " ".join(result.output.split()), result.output


def test_every_command_in_readme() -> None:
    assert README.is_file(), f"{README} does not exist"
    readme = README.read_text(encoding="utf-8")
    missing = [name for name in listed_commands() if not re.search(rf"\bessaybook {re.escape(name)}\b", readme)]
    assert not missing, f"README.md does not mention: {', '.join(f'essaybook {m}' for m in missing)}"


# --------------------------------------------------------------------------------------------- build options


def test_strict_turns_warnings_into_an_error_and_writes_nothing(tmp_path: Path) -> None:
    chapter = f"# {TITLE}\n\nSee [elsewhere](notes.txt).\n"  # a link to a file that is not a chapter: a warning
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-one.md": chapter})
    result = build(root, "--strict")
    assert_user_error(result, root, "--strict", "nothing was written")
    assert "notes.txt" in result.output  # the warning itself is shown


def test_output_flags(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-one.md": CHAPTER})
    out = tmp_path / "elsewhere"
    result = build(root, "--no-epub", "-o", str(out))
    assert result.exit_code == 0, describe(result)
    assert sorted(p.name for p in out.iterdir()) == [f"{SLUG}.pdf"]
    assert "Step 1/5" in result.output and "Wrote" in result.output
    result = build(root, "--no-pdf", "-q", "-o", str(out / "epub-only"))
    assert result.exit_code == 0, describe(result)
    assert sorted(p.name for p in (out / "epub-only").iterdir()) == [f"{SLUG}.epub"]
    assert "Step" not in result.output and "Wrote" not in result.output  # -q: only warnings and errors
    result = build(root, "--no-pdf", "-v", "-o", str(out / "verbose"))
    assert re.search(r"took \d+\.\d\d s", result.output)  # -v: each stage's time


def test_nothing_to_build_is_a_usage_error(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-one.md": CHAPTER})
    result = build(root, "--no-pdf", "--no-epub")
    assert result.exit_code == 2
    assert "nothing to build" in result.output


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        pytest.param("> " * 10000 + "deep\n", "blockquotes nested deeper than 50 levels", id="blockquotes"),
        pytest.param("".join("    " * i + "- item\n" for i in range(300)), "nested deeper than 50", id="lists"),
    ],
)
def test_absurd_nesting_is_refused_quickly(tmp_path: Path, body: str, fragment: str) -> None:
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-one.md": f"# {TITLE}\n\n{body}"})
    result = build(root, *NO_PDF)
    assert_user_error(result, root, "manuscript/01-one.md:", fragment)


def test_deeply_nested_raw_html_is_an_error_not_a_crash(tmp_path: Path) -> None:
    chapter = f"# {TITLE}\n\n" + "<div>" * 5000 + "x" + "</div>" * 5000 + "\n"
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-one.md": chapter})
    result = build(root, *NO_PDF)
    assert_user_error(result, root, "nests elements too deeply")
