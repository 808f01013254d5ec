"""`essaybook check`: every problem kind in text and JSON, exit codes, nothing written, validators on the sample."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image

from essaybook.cli import main
from essaybook.commands.check import Report, render_text
from essaybook.diagnostics import Diagnostic

from conftest import REPO, copy_project

TROUBLE = {
    "book.toml": """[book]
title = "Trouble"
lang = "en"
chapters = ["one.md", "two.md", "three.md", "missing.md"]
colour = "blue"

[pdf]
page-size = "B7"
""",
    "one.md": """# One

See [two](two.md), [nowhere](nowhere.md) and [a lost heading](two.md#no-such-heading).

![](pic.png)

![A lost picture](lost.png)

Read [the site](https://example.org/book) or [write](mailto:me@example.org).

Cuneiform: \U00012000.
""",
    "two.md": """---
title: Two: the sequel
---

# Two

Back to [one](one.md#one) and to [nothing](#also-missing).
""",
    "extra.md": "# Not in the list\n",
}


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.stdout)
        return data


def run_check(*args: str) -> Run:
    result = CliRunner().invoke(main, ["check", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def write_book(root: Path, files: dict[str, str | bytes]) -> Path:
    """A book project under ``root`` with ``files`` in manuscript/ (and a 4x4 PNG, pic.png)."""
    for name, content in files.items():
        path = root / "manuscript" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(buffer, "PNG")
    (root / "manuscript" / "pic.png").write_bytes(buffer.getvalue())
    return root


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and modification time."""
    return {p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


@pytest.fixture(scope="module")
def trouble(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run, Run, dict[str, tuple[int, int]]]:
    """A book with one of each problem, checked once as text and once as JSON (validators on: they skip)."""
    files: dict[str, str | bytes] = {**TROUBLE, "three.md": b"# Three\n\ncaf\xe9 [gone](gone.md)\n"}
    root = write_book(tmp_path_factory.mktemp("trouble"), files)
    before = snapshot(root)
    return root, run_check(str(root)), run_check(str(root), "--format", "json"), before


# kind, level, file, line (None: not known), a piece of the message
EXPECTED = [
    ("config", "error", "manuscript/book.toml", 5, "book.colour: unknown key"),
    ("config", "error", "manuscript/book.toml", 8, "pdf.page-size: unknown page size 'B7'"),
    ("missing-chapter", "error", "manuscript/book.toml", 4, "chapter 'missing.md' does not exist"),
    ("front-matter", "error", "manuscript/two.md", 2, "invalid YAML front matter"),
    ("encoding", "error", "manuscript/three.md", 3, "not valid UTF-8 (byte 0xe9"),
    ("unlisted-chapter", "warning", "manuscript/extra.md", None, "not in [book] chapters"),
    ("broken-link", "warning", "manuscript/one.md", 3, "link 'nowhere.md' does not lead to a chapter"),
    ("broken-link", "warning", "manuscript/three.md", 3, "link 'gone.md'"),
    ("broken-anchor", "warning", "manuscript/one.md", 3, "no heading or anchor 'no-such-heading'"),
    ("broken-anchor", "warning", "manuscript/two.md", 7, "no heading or anchor 'also-missing'"),
    ("missing-image", "error", "manuscript/one.md", 7, "image 'lost.png' not found"),
    ("image-alt", "warning", "manuscript/one.md", 5, "image 'pic.png' has no alt text"),
    ("external-link", "info", "manuscript/one.md", 9, "external link https://example.org/book"),
    ("external-link", "info", "manuscript/one.md", 9, "external link mailto:me@example.org"),
    ("font-coverage", "warning", "manuscript/one.md", 11, "no font can draw the Cuneiform character"),
    ("validators", "info", None, None, "EPUBCheck and Ace skipped: the book has errors"),
]


@pytest.mark.parametrize(
    ("kind", "level", "file", "line", "text"), EXPECTED, ids=[f"{e[0]}-{i}" for i, e in enumerate(EXPECTED)]
)
def test_each_problem_kind_in_text_and_json(
    trouble: tuple[Path, Run, Run, Any], kind: str, level: str, file: str | None, line: int | None, text: str
) -> None:
    _, as_text, as_json, _ = trouble
    problems = as_json.json["problems"]
    matching = [p for p in problems if p["kind"] == kind and text in p["message"]]
    assert matching, f"no {kind} problem with {text!r} in {problems}"
    assert matching[0]["level"] == level and matching[0]["file"] == file and matching[0]["line"] == line
    where = f"{file}:{line}: " if line else f"{file}: " if file else ""
    pattern = re.compile(rf"^{re.escape(where)}{level}: .*{re.escape(text)}.* \[{kind}\]$", re.MULTILINE)
    assert pattern.search(as_text.stdout), as_text.stdout


def test_report_lists_every_problem_once_in_reading_order(trouble: tuple[Path, Run, Run, Any]) -> None:
    _, as_text, as_json, _ = trouble
    data = as_json.json
    assert set(data) == {"project", "problems", "counts", "tools", "chapters", "seconds"}
    assert data["chapters"] == ["manuscript/one.md", "manuscript/two.md", "manuscript/three.md"]
    assert len(data["problems"]) == len(EXPECTED)
    assert data["counts"] == {"error": 6, "warning": 7, "info": 3}
    assert data["tools"]["epubcheck"]["status"] == "skipped"
    files = [p["file"] for p in data["problems"]]
    order = ["manuscript/book.toml", *data["chapters"], "manuscript/extra.md", None]
    assert files == sorted(files, key=order.index)  # grouped: settings, chapters in reading order, the rest
    lines = as_text.stdout.strip().split("\n")
    assert len(lines) == len(EXPECTED) + 2  # the problems, a blank line, the summary
    assert lines[-1].startswith("Checked 3 chapters in ") and "6 errors, 7 warnings, 3 info" in lines[-1]
    assert "\033[" not in as_text.stdout  # no colours off a terminal


def test_errors_exit_1_and_nothing_is_written(trouble: tuple[Path, Run, Run, Any]) -> None:
    root, as_text, as_json, before = trouble
    assert as_text.exit_code == 1 and as_json.exit_code == 1
    assert snapshot(root) == before
    assert not (root / "dist").exists()


def test_warnings_fail_only_with_strict(tmp_path: Path) -> None:
    root = write_book(tmp_path, {"a.md": "# A\n\n![](pic.png)\n"})
    assert run_check(str(root), "--no-validators").exit_code == 0
    strict = run_check(str(root), "--no-validators", "--strict", "--format", "json")
    assert strict.exit_code == 1
    assert [p["kind"] for p in strict.json["problems"]] == ["config", "image-alt"]  # no lang set; no alt text
    assert run_check(str(root), "--no-validators", "--strict", "-q").exit_code == 1


def test_info_never_fails(tmp_path: Path) -> None:
    root = write_book(tmp_path, {"book.toml": '[book]\nlang = "en"\n', "a.md": "# A\n\n<https://example.org>\n"})
    run = run_check(str(root), "--no-validators", "--strict")
    assert run.exit_code == 0
    assert "manuscript/a.md:3: info: external link https://example.org " in run.stdout


def test_all_config_errors_at_once_and_the_chapters_still_checked(tmp_path: Path) -> None:
    toml = '[book]\nlang = "english!"\n\n[pdf]\nmargin-top = 5\n\n[theme]\nname = "nope"\n\n[tome]\n'
    root = write_book(tmp_path, {"book.toml": toml, "a.md": "# A\n\n[x](#y)\n"})
    data = run_check(str(root), "--no-validators", "--format", "json").json
    config = [(p["line"], p["message"].split(":")[0]) for p in data["problems"] if p["kind"] == "config"]
    assert config == [(2, "book.lang"), (5, "pdf.margin-top"), (8, "theme.name"), (10, "tome")]
    assert [p["kind"] for p in data["problems"] if p["file"] == "manuscript/a.md"] == ["broken-anchor"]


def test_invalid_toml_is_one_error_and_the_chapters_still_checked(tmp_path: Path) -> None:
    root = write_book(tmp_path, {"book.toml": "[book\n", "a.md": "# A\n\n![](pic.png)\n"})
    data = run_check(str(root), "--no-validators", "--format", "json").json
    toml = [p for p in data["problems"] if "invalid TOML" in p["message"]]
    assert [(p["level"], p["kind"], p["file"], p["line"]) for p in toml] == [
        ("error", "config", "manuscript/book.toml", 1)
    ]
    assert "image-alt" in [p["kind"] for p in data["problems"]]


def test_not_a_book_project(tmp_path: Path) -> None:
    run = run_check(str(tmp_path))
    assert run.exit_code == 1 and run.stdout == ""
    assert "no manuscript/ folder" in run.stderr
    as_json = run_check(str(tmp_path), "--format", "json")
    assert as_json.exit_code == 1
    assert [(p["level"], p["kind"]) for p in as_json.json["problems"]] == [("error", "project")]
    assert "no manuscript/ folder" in as_json.json["problems"][0]["message"]
    assert "no manuscript/ folder" in as_json.stderr


def test_absent_validators_are_reported_as_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("essaybook.commands.check.find_epubcheck", lambda: (None, "EPUBCheck is not installed"))
    monkeypatch.setenv("ESSAYBOOK_ACE", str(tmp_path / "no-ace"))
    root = write_book(tmp_path / "book", {"book.toml": '[book]\nlang = "en"\n', "a.md": "# A\n"})
    run = run_check(str(root), "--format", "json")
    assert run.exit_code == 0
    tools = run.json["tools"]
    assert tools["epubcheck"] == {"status": "skipped", "reason": "EPUBCheck is not installed"}
    assert tools["ace"]["status"] == "skipped" and "no-ace, which does not exist" in tools["ace"]["reason"]
    assert {(p["level"], p["kind"]) for p in run.json["problems"]} == {("info", "epubcheck"), ("info", "ace")}
    text = run_check(str(root))
    assert "info: DAISY Ace skipped: ESSAYBOOK_ACE names" in text.stdout
    assert "EPUBCheck skipped, Ace skipped" in text.stdout.splitlines()[-1]


def test_sample_checks_clean_with_epubcheck_and_ace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The validators path, once: a temporary build outside the project, judged, then removed."""
    root = copy_project(REPO, tmp_path / "sample")
    (root / "dist").mkdir()
    (root / "dist" / "old.txt").write_text("kept\n", encoding="utf-8")
    before = snapshot(root)
    temp = tmp_path_factory.mktemp("check-temp")
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    run = run_check(str(root), "--format", "json", "--strict")
    data = run.json
    epubcheck = data["tools"]["epubcheck"]
    if epubcheck["status"] == "skipped" and not os.environ.get("CI"):
        pytest.skip(f"EPUBCheck cannot run here: {epubcheck['reason']}")
    assert epubcheck["status"] == "ran" and epubcheck["errors"] == 0 and epubcheck["warnings"] == 0
    if os.environ.get("ESSAYBOOK_ACE"):
        assert data["tools"]["ace"]["status"] == "ran" and data["tools"]["ace"]["violations"] == 0
    else:
        assert data["tools"]["ace"]["status"] == "skipped"
    assert [p for p in data["problems"] if p["level"] != "info"] == []
    assert run.exit_code == 0
    assert snapshot(root) == before
    assert list(temp.glob("essaybook-check-*")) == []


def test_text_lines_places_hints_and_colours(tmp_path: Path) -> None:
    report = Report(root=tmp_path)
    report.add(Diagnostic("warning", "mdbook-directive", "not expanded", "manuscript/a.md", 12, "paste them", more=3))
    report.add(Diagnostic("warning", "other", "something without a place"))
    lines = render_text(report).splitlines()
    assert lines[:2] == [
        "manuscript/a.md:12: warning: not expanded (paste them) (here and 3 more places) [mdbook-directive]",
        "warning: something without a place [other]",
    ]
    assert "\033[33mwarning\033[0m" in render_text(report, color=True)


# --------------------------------------------------------------------------------------------- which EPUBCheck


@pytest.fixture
def fake_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH holding only a folder for fake programs (and Java, linked in when this machine has it); the
    epubcheck package hidden, so the EPUBCheck on PATH is the one found."""
    from essaybook.commands import check

    folder = tmp_path / "bin"
    folder.mkdir()
    java = shutil.which("java")
    if java is not None:
        (folder / "java").symlink_to(java)
    monkeypatch.setenv("PATH", str(folder))
    monkeypatch.setattr(check, "_package_jar", lambda: None)
    return folder


def fake_program(folder: Path, text: str) -> Path:
    path = folder / "epubcheck"
    path.write_text(text)
    path.chmod(0o755)
    return path


def fake_jar(path: Path, version: str) -> Path:
    manifest = f"Manifest-Version: 1.0\nImplementation-Title: EPUBCheck\nImplementation-Version: {version}\n"
    with zipfile.ZipFile(path, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", manifest)
    path.chmod(0o755)  # as installed: executable, which the system cannot start (Exec format error)
    return path


def test_an_old_epubcheck_on_path_counts_as_absent(fake_path: Path) -> None:
    from essaybook.commands.check import find_epubcheck

    fake_program(fake_path, "#!/bin/sh\necho 'EPUBCheck v4.2.6'\n")
    validator, reason = find_epubcheck()
    assert validator is None
    assert "is EPUBCheck 4.2.6" in reason and "EPUBCheck 5 or newer" in reason and "essaybook[validators]" in reason


def test_a_recent_epubcheck_on_path_is_run_with_its_version(fake_path: Path) -> None:
    from essaybook.commands.check import find_epubcheck

    program = fake_program(fake_path, "#!/bin/sh\necho 'EPUBCheck v5.1.0'\n")
    validator, reason = find_epubcheck()
    assert validator is not None and reason == ""
    assert (validator.command, validator.version, validator.source) == (
        [str(program)],
        "5.1.0",
        f"epubcheck on PATH ({program})",
    )


def test_an_epubcheck_that_cannot_start_counts_as_absent(fake_path: Path) -> None:
    from essaybook.commands.check import find_epubcheck

    fake_program(fake_path, "PK\x03\x04 not a program\n")  # what the system makes of a jar: Exec format error
    validator, reason = find_epubcheck()
    assert validator is None and "cannot be started" in reason and "EPUBCheck 5 or newer" in reason


def test_a_link_to_an_old_jar_counts_as_absent(fake_path: Path, tmp_path: Path) -> None:
    """Debian's /usr/bin/epubcheck may be a link to a jar: the system cannot start it (Exec format error)."""
    from essaybook.commands.check import find_epubcheck

    if not (fake_path / "java").exists():
        pytest.skip("needs Java")
    (fake_path / "epubcheck").symlink_to(fake_jar(tmp_path / "epubcheck-4.2.6.jar", "4.2.6"))
    validator, reason = find_epubcheck()
    assert validator is None and "is EPUBCheck 4.2.6" in reason


def test_a_link_to_a_recent_jar_is_run_with_java(fake_path: Path, tmp_path: Path) -> None:
    from essaybook.commands.check import find_epubcheck

    if not (fake_path / "java").exists():
        pytest.skip("needs Java")
    jar = fake_jar(tmp_path / "epubcheck.jar", "5.2.1")
    (fake_path / "epubcheck").symlink_to(jar)
    validator, _ = find_epubcheck()
    assert validator is not None
    assert validator.command[-2:] == ["-jar", str(jar.resolve())] and validator.version == "5.2.1"
    assert validator.source == f"java -jar {jar.resolve()}"


def test_an_old_epubcheck_package_is_passed_over(
    fake_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from essaybook.commands import check

    if not (fake_path / "java").exists():
        pytest.skip("needs Java")
    monkeypatch.setattr(check, "_package_jar", lambda: fake_jar(tmp_path / "old.jar", "4.2.6"))
    validator, reason = check.find_epubcheck()
    assert validator is None and "the epubcheck package holds EPUBCheck 4.2.6" in reason


def test_check_reports_an_old_epubcheck_as_skipped_with_the_hint(fake_path: Path, tmp_path: Path) -> None:
    fake_program(fake_path, "#!/bin/sh\necho 'EPUBCheck v4.2.6'\nexit 1\n")
    root = write_book(tmp_path / "book", {"book.toml": '[book]\nlang = "en"\n', "a.md": "# A\n"})
    run = run_check(str(root), "--format", "json")
    assert run.exit_code == 0, run.stderr
    tool = run.json["tools"]["epubcheck"]
    assert tool["status"] == "skipped" and "EPUBCheck 4.2.6" in tool["reason"]
