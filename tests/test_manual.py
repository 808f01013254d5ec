"""The user manual (docs/manual/, an essaybook book) and the README: built clean, valid, and true to the code.

The manual is built once per session (the ``manual`` fixture in conftest.py) and is the largest real book the
suite builds. Every ``essaybook`` command line the README and the manual show must parse, and every
``book.toml`` the manual shows must load without a problem. Two parts of the manual are generated from the
code and checked here so they cannot drift: the ``book.toml`` reference in 40-configuration.md (from
config.py's dataclass fields and their docstrings, and labels.py) and each command's options in
70-commands.md (from the click commands). When a key or an option changes, refresh them with::

    ESSAYBOOK_UPDATE_GOLDEN=1 pytest tests/test_manual.py -k generated
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import io
import os
import re
import shlex
import tomllib
from collections.abc import Iterator
from pathlib import Path

import click
import pikepdf
import pytest

from essaybook.cli import main
from essaybook.config import Config, read_config
from essaybook.labels import KEYS as LABEL_KEYS
from essaybook.labels import LABELS

from conftest import REPO, Built, epubcheck_messages

MANUAL = REPO / "docs" / "manual"
CHAPTERS = MANUAL / "manuscript"
README = REPO / "README.md"
CONFIG_CHAPTER = CHAPTERS / "40-configuration.md"
COMMANDS_CHAPTER = CHAPTERS / "70-commands.md"
UPDATE = bool(os.environ.get("ESSAYBOOK_UPDATE_GOLDEN"))
BEGIN = "<!-- generated: {name} (tests/test_manual.py; ESSAYBOOK_UPDATE_GOLDEN=1 refreshes it) -->"
END = "<!-- end of generated: {name} -->"


# --------------------------------------------------------------------------------------------- the manual


def test_manual_chapters_are_numbered_files_in_name_order() -> None:
    """Chapters are found by name, never listed, so chapters written at the same time slot in by number."""
    names = sorted(path.name for path in CHAPTERS.glob("*.md"))
    assert names, CHAPTERS
    assert [n for n in names if not re.fullmatch(r"\d\d-[a-z0-9-]+\.md", n)] == []
    settings = tomllib.loads((CHAPTERS / "book.toml").read_text(encoding="utf-8"))
    assert "chapters" not in settings.get("book", {})


def test_manual_builds_without_warnings(manual: Built) -> None:
    assert manual.warnings == []


def _title(chapter: Path) -> str:
    """The chapter's ``# Title`` heading (outside its front matter and code blocks)."""
    text = chapter.read_text(encoding="utf-8")
    if text.startswith("---\n"):
        text = text[text.index("\n---\n", 3) + 5 :]
    text = re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)
    heading = re.search(r"^# (.+)$", text, re.MULTILINE)
    assert heading, f"{chapter.name} has no '# Title' heading"
    return heading.group(1).strip()


def test_manual_pdf_has_every_chapter_in_its_outline(manual: Built) -> None:
    titles = [_title(path) for path in sorted(CHAPTERS.glob("*.md"))]
    with pikepdf.open(manual.pdf) as pdf, pdf.open_outline() as outline:
        top = [item.title for item in outline.root]
        assert len(pdf.pages) > 40
    assert [t for t in top if t in titles] == titles


def test_manual_epub_passes_epubcheck(manual: Built) -> None:
    assert epubcheck_messages(manual.epub) == []


# --------------------------------------------------------------------------------------------- generated parts


def _markdown_text(text: str) -> str:
    """``text`` (a docstring or a help text) as Markdown that prints it as written."""
    text = re.sub(r"``([^`]+)``", r"`\1`", " ".join(text.split()))
    parts = re.split(r"(`[^`]+`)", text)
    return "".join(
        part
        if part.startswith("`")
        # \[ would open display math (essaybook reads \[...\] as TeX), so brackets are written as character references
        else re.sub(r"([*_$])", r"\\\1", html.escape(part, quote=False)).replace("[", "&#91;").replace("]", "&#93;")
        for part in parts
    )


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{value}`"


def _default(value: object) -> str:
    return "optional" if value is None or value == () else f"default {_toml_value(value)}"


def _kind(annotation: str) -> str:
    if "tuple[str, ...]" in annotation:
        return "text or a list of text"
    if annotation.startswith("bool"):
        return "true or false"
    if annotation.startswith("int"):
        return "a whole number"
    return "text"


def config_reference() -> str:
    """Every ``book.toml`` key: per section, its value's kind, its default and its docstring; then [labels]."""
    lines: list[str] = []
    for section in dataclasses.fields(Config):
        if section.name in ("source", "labels"):
            continue
        cls = section.default_factory  # type: ignore[misc]
        lines += [f"### [{section.name}]", "", _markdown_text(cls.__doc__ or ""), ""]
        for key in dataclasses.fields(cls):
            lines += [
                f"`{key.name.replace('_', '-')}`",
                f":   {_kind(str(key.type))}, {_default(key.default)}. {_markdown_text(key.metadata['doc'])}",
                "",
            ]
    lines += [
        "### [labels]",
        "",
        "The words essaybook prints for you. Each key is optional; the English words are shown, and a text in "
        "braces is filled in by essaybook, so keep it.",
        "",
    ]
    for key in LABEL_KEYS:
        lines += [f"`{key}`", f":   default in English: {_toml_value(LABELS['en'][key].replace(chr(0xA0), ' '))}", ""]
    return "\n".join(lines).rstrip() + "\n"


def command_reference(name: str) -> str:
    """The usage line and every option of ``essaybook NAME`` (or of ``essaybook`` itself for ``""``)."""
    root = click.Context(main, info_name="essaybook", **main.context_settings)
    command: click.Command = main.commands[name] if name else main
    context = click.Context(command, info_name=name, parent=root) if name else root
    usage = " ".join(["essaybook", *([name] if name else []), *command.collect_usage_pieces(context)])
    lines = [f"`{usage}`", ""]
    for param in command.get_params(context):
        record = param.get_help_record(context) if isinstance(param, click.Option) else None
        if record is None:
            continue
        opts, help_text = record
        lines += [f"`{opts}`", f":   {_markdown_text(help_text)}", ""]
    return "\n".join(lines).rstrip() + "\n"


def _blocks(text: str) -> Iterator[tuple[str, str]]:
    for found in re.finditer(r"<!-- generated: (.+?) \(.*?-->\n(.*?)<!-- end of generated: \1 -->", text, re.DOTALL):
        yield found.group(1), found.group(2)


def _check_generated(path: Path, expected: dict[str, str]) -> None:
    text = path.read_text(encoding="utf-8")
    found = dict(_blocks(text))
    missing = [name for name in expected if name not in found]
    assert not missing, (
        f"{path.name} has no generated block for: {', '.join(missing)}; document it and add the lines "
        f"{BEGIN.format(name=missing[0])!r} and {END.format(name=missing[0])!r}, then refresh with "
        "ESSAYBOOK_UPDATE_GOLDEN=1"
    )
    stale = [name for name in expected if found[name] != "\n" + expected[name] + "\n"]
    if stale and UPDATE:
        for name in stale:
            text = text.replace(
                f"{BEGIN.format(name=name)}\n{found[name]}{END.format(name=name)}",
                f"{BEGIN.format(name=name)}\n\n{expected[name]}\n{END.format(name=name)}",
            )
        path.write_text(text, encoding="utf-8")
        return
    assert not stale, (
        f"{path.name}: the generated {', '.join(stale)} no longer match the code; refresh them with "
        "ESSAYBOOK_UPDATE_GOLDEN=1 pytest tests/test_manual.py -k generated (and say in the chapter what changed)"
    )
    extra = [name for name in found if name not in expected]
    assert not extra, f"{path.name} documents what the code no longer has: {', '.join(extra)}"


def test_generated_config_reference_matches_config_py() -> None:
    _check_generated(CONFIG_CHAPTER, {"book.toml reference": config_reference()})


def test_generated_options_match_every_command() -> None:
    expected = {"options of essaybook": command_reference("")}
    expected |= {f"options of essaybook {name}": command_reference(name) for name in main.commands}
    _check_generated(COMMANDS_CHAPTER, expected)


def _toml_blocks(text: str) -> list[str]:
    return re.findall(r"^```toml\n(.*?)^```", text, re.DOTALL | re.MULTILINE)


_SOURCES = {
    ".bib": "@book{knuth1984, author = {Knuth, Donald}, title = {Literate Programming}, year = {1984}}\n",
    ".json": '[{"id": "web", "type": "webpage", "title": "A page"}]\n',
    ".yaml": "- id: web\n  type: webpage\n  title: A page\n",
}
_STYLE = (
    '<?xml version="1.0" encoding="utf-8"?>\n<style xmlns="http://purl.org/net/xbiblio/csl" class="in-text" '
    'version="1.0"><info><title>A style</title><id>a</id><updated>2026-01-01T00:00:00+00:00</updated></info>'
    '<citation><layout><text variable="title"/></layout></citation></style>\n'
)


@pytest.mark.parametrize(
    "path",
    [p for p in sorted(CHAPTERS.glob("*.md")) if _toml_blocks(p.read_text(encoding="utf-8"))],
    ids=lambda p: p.name,
)
def test_book_toml_examples_are_valid_settings(path: Path, tmp_path: Path) -> None:
    """Every ``book.toml`` the manual shows is one essaybook accepts: no renamed key or value left behind."""
    for number, block in enumerate(_toml_blocks(path.read_text(encoding="utf-8")), 1):
        toml = tmp_path / str(number) / "manuscript" / "book.toml"
        toml.parent.mkdir(parents=True)
        toml.write_text(block, encoding="utf-8")
        (toml.parent / "meta.yaml").write_text("title: A metadata file\n", encoding="utf-8")
        book = tomllib.loads(block).get("book", {})
        named = book.get("bibliography", [])
        for name in [named] if isinstance(named, str) else named:  # the files it names, as a writer has them
            source = toml.parent / name
            source.parent.mkdir(parents=True, exist_ok=True)
            source.write_text(_SOURCES[source.suffix], encoding="utf-8")
        if str(book.get("csl", "")).endswith(".csl"):
            style = toml.parent / book["csl"]
            style.parent.mkdir(parents=True, exist_ok=True)
            style.write_text(_STYLE, encoding="utf-8")
        _, problems = read_config(toml)
        assert [str(p) for p in problems] == [], f"{path.name}, toml block {number}"


# --------------------------------------------------------------------------------------------- README


def _shown_commands(text: str) -> Iterator[list[str]]:
    """Every ``essaybook ...`` command line in the console and shell blocks of ``text``, as words.

    In a block that shows a session (lines starting ``$ ``) only those lines are commands; the rest is output.
    """
    blocks: list[list[str]] = []
    fence: str | None = None  # the info string of the open code block
    for line in text.splitlines():
        if line.startswith("```"):
            fence = line[3:].strip() if fence is None else None
            blocks.append([])
        elif fence in ("console", "sh", "shell", "bash"):
            blocks[-1].append(line)
    for block in blocks:
        session = any(line.startswith("$ ") for line in block)
        for line in block:
            if session and not line.startswith("$ "):
                continue
            for part in re.split(r"&&|\||;", line.removeprefix("$ ").split("  #")[0]):
                if part.strip().startswith("essaybook"):
                    yield shlex.split(part, comments=True)


def _check_command_line(words: list[str]) -> str | None:
    """Why ``words`` is not a command line essaybook accepts, or None when it is."""
    name, args = (words[1], words[2:]) if len(words) > 1 and not words[1].startswith("-") else ("", words[1:])
    if name and name not in main.commands:
        return f"no such command {name!r}"
    command: click.Command = main.commands[name] if name else main
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # --help and --version print, then exit
            command.make_context(name or "essaybook", args)
    except click.exceptions.Exit:
        return None
    except click.ClickException as exc:
        if "does not exist" in exc.format_message():  # an example's folder (~/books/…): the option is real
            return None
        return exc.format_message()
    return None


@pytest.mark.parametrize("path", [README, *sorted(CHAPTERS.glob("*.md"))], ids=lambda p: p.name)
def test_every_command_shown_is_real(path: Path) -> None:
    """Each ``essaybook`` line in a console block parses: the command exists and takes those options."""
    wrong = []
    for words in _shown_commands(path.read_text(encoding="utf-8")):
        problem = _check_command_line(words)
        if problem:
            wrong.append(f"{shlex.join(words)}: {problem}")
    assert wrong == []


def test_readme_keeps_the_two_commands() -> None:
    """The sample build and exactly the test command that .ci/run calls."""
    readme = README.read_text(encoding="utf-8")
    assert "pip install -e . && essaybook build" in readme
    assert "pip install -e '.[test]' && pytest" in readme
    ci = REPO / ".ci" / "run"
    if ci.is_file():
        assert "pip install -e '.[test]' && pytest" in ci.read_text(encoding="utf-8")


def test_readme_links_lead_to_files() -> None:
    readme = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    local = [t for t in targets if not re.match(r"[a-z]+:", t)]
    assert any(t.startswith("docs/manual/manuscript/") for t in local)
    assert [t for t in local if not (REPO / t).exists()] == []


def test_readme_is_short() -> None:
    """A newcomer reads it in three minutes: everything else is in the manual."""
    assert len(README.read_text(encoding="utf-8").split()) < 1300
