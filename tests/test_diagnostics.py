"""Diagnostics as data: what the build logs, ``check`` reports and the preview lists carry file, line, kind, hint."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image

from essaybook import log
from essaybook.cli import main
from essaybook.commands.preview import Builder, Hub
from essaybook.diagnostics import Diagnostic
from essaybook.errors import ConfigError, ManuscriptError
from essaybook.pipeline import load_project

from conftest import Built

PROBLEMS = """# A

![](pic.png)

See [nowhere](nowhere.md) and [a lost heading](#no-such-heading).

![remote](https://example.org/r.png)

{{#include one.rs}}

{{#include two.rs}}
"""


def write_book(root: Path, chapter: str = PROBLEMS, toml: str = '[book]\ntitle = "T"\nlang = "en"\n') -> Path:
    (root / "manuscript").mkdir(parents=True)
    (root / "manuscript" / "book.toml").write_text(toml, encoding="utf-8")
    (root / "manuscript" / "a.md").write_text(chapter, encoding="utf-8")
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(buffer, "PNG")
    (root / "manuscript" / "pic.png").write_bytes(buffer.getvalue())
    return root


def places(diagnostics: list[Diagnostic]) -> list[tuple[str, str | None, int | None]]:
    return [(d.kind, d.file, d.line) for d in diagnostics]


def test_text_of_a_diagnostic() -> None:
    where = Diagnostic("warning", "image-alt", "image 'x.png' has no alt text", "manuscript/ch.md", 12)
    assert str(where) == "manuscript/ch.md:12: image 'x.png' has no alt text"
    assert where.where == "manuscript/ch.md:12"
    hinted = Diagnostic("error", "missing-image", "image 'x.png' not found", "manuscript/ch.md", hint="fix it")
    assert str(hinted) == "manuscript/ch.md: image 'x.png' not found (fix it)"
    assert hinted.detail == "image 'x.png' not found (fix it)"
    more = Diagnostic("warning", "mdbook-directive", "not expanded", "manuscript/ch.md", 3, more=1)
    assert str(more) == "manuscript/ch.md:3 and 1 more place: not expanded"
    assert str(Diagnostic("warning", "pdf-refused-url", "PDF: refused")) == "PDF: refused"
    assert Diagnostic.from_dict(json.loads(json.dumps(more.as_dict()))) == more
    assert set(more.as_dict()) == {"level", "kind", "message", "file", "line", "hint", "more"}
    with pytest.raises(ValueError, match="level"):
        Diagnostic("fatal", "x", "y")


def test_an_error_as_a_diagnostic(tmp_path: Path) -> None:
    error = ConfigError("unknown key", file=tmp_path / "manuscript" / "book.toml", line=3, key="book.x", hint="maybe y")
    diagnostic = error.diagnostic("config", tmp_path)
    assert diagnostic == Diagnostic("error", "config", "book.x: unknown key", "manuscript/book.toml", 3, "maybe y")
    assert str(error.diagnostic("config")) == error.message  # without a root the file stays as it was given
    # A column is the one thing the diagnostic leaves out.
    toml = ManuscriptError("invalid TOML", file="manuscript/book.toml", line=1, column=6)
    assert str(toml.diagnostic("config")) == "manuscript/book.toml:1: invalid TOML"


def test_warnings_carry_their_place_and_kind(tmp_path: Path) -> None:
    log.setup(verbosity=-1)
    load_project(write_book(tmp_path))
    diagnostics = log.diagnostics_seen()
    assert places(diagnostics) == [
        ("image-alt", "manuscript/a.md", 3),
        ("remote-image", "manuscript/a.md", 7),
        ("mdbook-directive", "manuscript/a.md", 9),
        ("broken-link", "manuscript/a.md", 5),
        ("broken-anchor", "manuscript/a.md", 5),
    ]
    assert all(d.level == "warning" and not d.message.startswith("manuscript/") for d in diagnostics)
    remote, directive = diagnostics[1], diagnostics[2]
    assert remote.hint == "set allow-remote = true in [book] to fetch it"
    assert (directive.more, directive.hint) == (1, "paste the included files in instead")
    # What the terminal showed is the diagnostics' text.
    assert log.warnings_seen() == [str(d) for d in diagnostics]


def test_the_features_book_warns_with_structure(features: Built) -> None:
    low = [(d.file, d.line) for d in features.diagnostics if d.kind == "image-resolution"]
    assert low == [("manuscript/02-markdown.md", 52), ("manuscript/part2/03-links.md", 9)]  # FEATURES_LOW_RESOLUTION
    assert [d for d in features.diagnostics if d.kind != "image-resolution"] == [
        Diagnostic(
            "warning",
            "raw-html",
            "raw HTML <listing> is not an XHTML element; kept its content as <figure>",
            "manuscript/part2/03-links.md",
            15,
        )
    ]


def test_collecting_holds_diagnostics(tmp_path: Path) -> None:
    root = write_book(tmp_path, "# A\n\n![a picture](missing.png)\n\n![](pic.png)\n")
    log.setup(verbosity=-1)
    with log.collecting(progress=False, root=root.absolute()) as found:
        load_project(root)
    assert places(found.errors) == [("missing-image", "manuscript/a.md", 3)]
    assert found.errors[0].hint == "paths are relative to the chapter file"
    assert places(found.warnings) == [("image-alt", "manuscript/a.md", 5)]


def check_json(root: Path) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["check", str(root), "--no-validators", "--format", "json"])
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_check_json_carries_file_line_and_hint(tmp_path: Path) -> None:
    toml = '[book]\ntitle = "T"\nlang = "en"\nchapters = ["a.md",\n  "gone.md"]\n'
    root = write_book(tmp_path, PROBLEMS + "\nCuneiform: \U00012000.\n\n![](lost.png)\n", toml)
    problems = check_json(root)["problems"]
    assert all(set(p) >= {"level", "kind", "file", "line", "message", "hint"} for p in problems)
    by_kind = {p["kind"]: p for p in problems}
    assert by_kind["missing-chapter"]["file"] == "manuscript/book.toml" and by_kind["missing-chapter"]["line"] == 5
    lost = by_kind["missing-image"]
    assert (lost["level"], lost["file"], lost["line"]) == ("error", "manuscript/a.md", 15)
    assert lost["hint"] == "paths are relative to the chapter file" and lost["hint"] not in lost["message"]
    remote = by_kind["remote-image"]
    assert (remote["file"], remote["line"]) == ("manuscript/a.md", 7)
    assert remote["hint"] == "set allow-remote = true in [book] to fetch it"
    assert (by_kind["mdbook-directive"]["line"], by_kind["mdbook-directive"]["more"]) == (9, 1)
    # The build names the file only; the check finds the line of the example character.
    assert (by_kind["font-coverage"]["file"], by_kind["font-coverage"]["line"]) == ("manuscript/a.md", 13)
    assert by_kind["image-alt"]["hint"] is None


def test_build_records_diagnostics_for_the_preview(tmp_path: Path) -> None:
    root = write_book(tmp_path / "book", "# A\n\n![](pic.png)\n")
    record = tmp_path / "record.jsonl"
    args = ["build", str(root), "--no-pdf", "-q", "-o", str(tmp_path / "out"), "--diagnostics-json", str(record)]
    assert CliRunner().invoke(main, args).exit_code == 0
    assert places(log.read_recording(record)) == [("image-alt", "manuscript/a.md", 3)]
    (root / "manuscript" / "book.toml").write_text('[book]\nlang = "en"\nchapters = ["gone.md"]\n', encoding="utf-8")
    assert CliRunner().invoke(main, args).exit_code == 1
    [error] = log.read_recording(record)
    assert (error.level, error.kind, error.file, error.line) == ("error", "build", "manuscript/book.toml", 3)
    assert error.message.startswith("book.chapters: chapter 'gone.md' does not exist")


def test_the_preview_lists_diagnostics(tmp_path: Path) -> None:
    root = write_book(tmp_path, "# A\n\n![](pic.png)\n\n[x](#nowhere)\n")
    log.setup(verbosity=-1)
    site = Builder(root).rebuild()
    assert site is not None and site.problem is None
    assert places(list(site.warnings)) == [("image-alt", "manuscript/a.md", 3), ("broken-anchor", "manuscript/a.md", 5)]
    status = Hub(site).status()
    assert status["warnings"] == [str(d) for d in site.warnings]
    assert [(d["kind"], d["file"], d["line"]) for d in status["diagnostics"]] == places(list(site.warnings))
    (root / "manuscript" / "a.md").write_text("# A\n\n![a picture](missing.png)\n", encoding="utf-8")
    failed = Builder(root).rebuild()
    assert failed is not None and failed.problem is not None
    problem = Hub(failed).status()["problem"]
    assert (problem["file"], problem["line"], problem["where"]) == ("manuscript/a.md", 3, "manuscript/a.md:3")
    assert problem["hint"] == "paths are relative to the chapter file" and problem["hint"] in problem["message"]
