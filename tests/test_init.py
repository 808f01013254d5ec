"""``essaybook init``: a new project that builds cleanly, a refusal that writes nothing, and a theme copied out
for editing whose edits show in the output."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from pypdf import PdfReader

from essaybook import config, log
from essaybook.cli import main
from essaybook.commands.build import BuildResult, build
from essaybook.errors import EXIT_USER
from essaybook.themes import available

from conftest import EPOCH, epubcheck_messages
from pdfread import outline, page_text
from test_epub import NS, Epub

STARTER = [
    "manuscript/book.toml",
    "manuscript/01-welcome.md",
    "manuscript/02-images-and-links.md",
    "manuscript/images/harbour.png",
    "styles/custom.css",
    ".gitignore",
]


def run_init(*args: str) -> Result:
    return CliRunner().invoke(main, ["init", *args])


def files_under(root: Path) -> list[str]:
    """Every file under ``root`` but the build's cache (``.essaybook-cache/``, which init's .gitignore lists)."""
    found = (p.relative_to(root) for p in root.rglob("*") if p.is_file())
    return sorted(rel.as_posix() for rel in found if rel.parts[0] != ".essaybook-cache")


def build_quietly(root: Path, **options: bool) -> tuple[BuildResult, list[str]]:
    log.setup(verbosity=-1)
    result = build(root, **options)
    return result, log.warnings_seen()


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result, BuildResult, list[str]]:
    """A project made by ``essaybook init`` with no options, then built once."""
    root = tmp_path_factory.mktemp("init") / "my-book"
    result = run_init(str(root))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", EPOCH)
        built, warnings = build_quietly(root)
    return root, result, built, warnings


def test_init_writes_the_starter_project_and_says_what_next(
    fresh: tuple[Path, Result, BuildResult, list[str]],
) -> None:
    root, result, _, _ = fresh
    assert result.exit_code == 0, result.output
    assert files_under(root) == sorted([*STARTER, "dist/my-book.epub", "dist/my-book.pdf"])
    assert ".essaybook-cache/" in (root / ".gitignore").read_text(encoding="utf-8")
    for rel in STARTER:
        assert rel in result.output
    assert "essaybook build" in result.output and f"cd {root}" in result.output


def test_starter_book_toml_is_valid_and_explains_every_setting(
    fresh: tuple[Path, Result, BuildResult, list[str]],
) -> None:
    root = fresh[0]
    text = (root / "manuscript" / "book.toml").read_text(encoding="utf-8")
    assert tomllib.loads(text)["book"] == {"title": "My Book", "author": "Your Name", "lang": "en"}
    for section in (config.BookSettings, config.PdfSettings, config.EpubSettings, config.ThemeSettings):
        for field in dataclasses.fields(section):
            key = field.name.replace("_", "-")
            assert f"{key} = " in text, f"book.toml does not mention {key}"
    for name in available():
        assert f'"{name}"' in text
    # With every commented setting switched on, the file is still valid.
    uncommented = "\n".join(line[2:] if line.startswith("# ") and " = " in line else line for line in text.splitlines())
    _write(root.parent / "meta.yaml", "publisher: A Press\n")  # the Pandoc metadata file it names
    config.load_config(_write(root.parent / "all-on.toml", uncommented))


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_initialised_book_builds_without_warnings_into_a_valid_epub(
    fresh: tuple[Path, Result, BuildResult, list[str]],
) -> None:
    _, _, built, warnings = fresh
    assert warnings == []
    assert built.pdf is not None and built.epub is not None
    reader = PdfReader(built.pdf.path)
    assert [i.title for i in outline(reader) if i.depth == 0] == ["Welcome", "Images and Links"]
    assert epubcheck_messages(built.epub.path) == []
    epub = Epub(built.epub.path)
    first = epub.xml("text/chapter-01-welcome.xhtml")
    tags = {element.tag.split("}")[1] for element in first.iter()}
    assert {"h2", "em", "strong", "blockquote", "ul", "table", "pre", "aside", "code"} <= tags
    hrefs = [a.get("href") for a in first.iter(f"{{{NS['x']}}}a")]
    assert "chapter-02-images-and-links.xhtml#chapter-02-images-and-links" in hrefs
    second = epub.xml("text/chapter-02-images-and-links.xhtml")
    image = next(second.iter(f"{{{NS['x']}}}img"))
    assert image.get("alt", "").startswith("A red and white lighthouse")
    assert any(h.endswith("harbour.png") for h in epub.manifest())


def test_init_refuses_a_folder_that_is_not_empty_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    (tmp_path / "drafts").mkdir()
    result = run_init(str(tmp_path), "--theme", "modern")
    assert result.exit_code == EXIT_USER
    assert "not empty" in result.output and "drafts/, notes.txt" in result.output
    assert "Traceback" not in result.output
    assert files_under(tmp_path) == ["notes.txt"] and [p.name for p in (tmp_path / "drafts").iterdir()] == []


def test_init_accepts_a_folder_holding_only_a_git_repository(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    assert run_init(str(tmp_path)).exit_code == 0
    assert (tmp_path / "manuscript" / "book.toml").is_file()


def test_init_refuses_an_unknown_theme_and_lists_the_built_in_ones(tmp_path: Path) -> None:
    result = run_init(str(tmp_path / "book"), "--theme", "fancy")
    assert result.exit_code == EXIT_USER
    assert "unknown theme 'fancy'" in result.output and "classic, modern" in result.output
    assert not (tmp_path / "book").exists()


def test_init_with_a_theme_copies_it_out_and_edits_take_effect(tmp_path: Path) -> None:
    root = tmp_path / "styled"
    result = run_init(str(root), "--theme", "modern")
    assert result.exit_code == 0, result.output
    assert 'name = "modern"' in (root / "manuscript" / "book.toml").read_text(encoding="utf-8")
    copied = files_under(root / "styles")
    assert {"theme/common.css", "theme/print.css", "theme/epub.css", "templates/book.html"} <= set(copied)
    assert "templates/chapter.xhtml" in copied and "custom.css" in copied
    # Edit the copies: a template, the print stylesheet and the e-book stylesheet.
    template = root / "styles" / "templates" / "titlepage.xhtml"
    template.write_text(
        template.read_text(encoding="utf-8").replace(
            "</section>", '<p class="edited">Edited title page</p>\n</section>'
        ),
        encoding="utf-8",
    )
    with (root / "styles" / "theme" / "print.css").open("a", encoding="utf-8") as css:
        css.write('\n@page :left { @top-left { content: "EDITED RUNNING HEAD"; } }\n')
    with (root / "styles" / "theme" / "epub.css").open("a", encoding="utf-8") as css:
        css.write("\n.edited { font-weight: bold; }\n")
    built, warnings = build_quietly(root)
    assert warnings == []
    assert built.pdf is not None and built.epub is not None
    reader = PdfReader(built.pdf.path)
    assert any("EDITED RUNNING HEAD" in page_text(reader, i) for i in range(len(reader.pages)))
    epub = Epub(built.epub.path)
    assert b"Edited title page" in epub.read("text/titlepage.xhtml")
    assert b".edited" in epub.read("styles/theme/epub.css")
    # The copies replace the theme's files instead of adding to them: no stylesheet comes twice (the rules every
    # theme shares, themes/base/, still apply around them).
    doc = epub.xml("text/chapter-01-welcome.xhtml")
    assert [link.get("href") for link in doc.iter(f"{{{NS['x']}}}link")] == [
        "../styles/theme/common.css",
        "../theme/base-features.css",
        "../styles/theme/epub.css",
        "../theme/base-epub-features.css",
        "../theme/code.css",
        "../styles/custom.css",
    ]
    assert not [href for href in epub.manifest() if href.startswith("theme/modern-")]
