"""What the terminal shows: stages, a progress bar for long books, -q and -v, colours only on a terminal."""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from essaybook import log
from essaybook.cli import main


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _long_book(root: Path, chapters: int) -> Path:
    (root / "manuscript").mkdir(parents=True)
    (root / "manuscript" / "book.toml").write_text('[book]\ntitle = "Long"\nlang = "en"\n', encoding="utf-8")
    for number in range(1, chapters + 1):
        (root / "manuscript" / f"{number:02}.md").write_text(f"# Chapter {number}\n\nText.\n", encoding="utf-8")
    return root


def test_progress_bar_counts_chapters_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    log.setup()
    seen = []
    for item in log.progress(list(range(log.LONG_BOOK)), "chapters"):
        seen.append(item)
        if item == 3:
            log.warn("a warning in the middle", kind="test", file="manuscript/04.md", line=1)
    shown = terminal.getvalue()
    assert seen == list(range(log.LONG_BOOK))
    assert f"0/{log.LONG_BOOK} chapters" in shown and f"{log.LONG_BOOK - 1}/{log.LONG_BOOK} chapters" in shown
    # The warning clears the bar's line first, and the bar is cleared at the end.
    assert "\r\033[Kwarning: manuscript/04.md:1" in shown.replace("\033[33m", "").replace("\033[0m", "")
    assert shown.endswith("\r\033[K")


def test_no_bar_for_a_short_book_quiet_mode_or_a_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    log.setup()
    assert list(log.progress(list(range(log.LONG_BOOK - 1)))) == list(range(log.LONG_BOOK - 1))
    log.setup(verbosity=-1)
    assert list(log.progress(list(range(50)))) == list(range(50))
    assert terminal.getvalue() == ""
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    log.setup()
    list(log.progress(list(range(50))))
    log.warn("plain", kind="test")
    assert pipe.getvalue() == "warning: plain\n"  # no bar, no colour, no control codes


def test_colour_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    log.setup()
    log.warn("coloured", kind="test")
    assert terminal.getvalue() == "\033[33mwarning: \033[0mcoloured\n"


def test_stages_default_quiet_and_verbose(tmp_path: Path) -> None:
    root = _long_book(tmp_path / "book", 2)
    runner = CliRunner()
    default = runner.invoke(main, ["build", "--no-pdf", str(root)])
    assert default.exit_code == 0, default.output
    assert "Step 1/5" in default.output and "Step 5/5  Packaging EPUB" in default.output
    assert "Wrote " in default.output and " took " not in default.output
    assert "\r" not in default.output and "\033[" not in default.output  # not a terminal: plain lines
    quiet = runner.invoke(main, ["build", "-q", "--no-pdf", str(root)])
    assert quiet.exit_code == 0 and quiet.output == ""
    again = runner.invoke(main, ["build", "--no-pdf", str(root)])  # nothing changed: one line says so
    assert again.exit_code == 0 and again.output.startswith("Up to date: ") and "Step" not in again.output
    verbose = runner.invoke(main, ["build", "-v", "--no-pdf", "--no-cache", str(root)])
    assert verbose.exit_code == 0
    assert "Converting Markdown took" in verbose.output and "Step 1/5" in verbose.output


def test_a_long_stage_shows_its_running_time_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    log.setup()
    with log.step(1, 1, "Laying out pages"):
        time.sleep(2.3)
    shown = terminal.getvalue()
    assert shown.startswith("Step 1/1  Laying out pages\n")
    assert "\r\033[K        2 s" in shown and shown.endswith("\r\033[K")  # drawn, then cleared
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    log.setup()
    with log.step(1, 1, "Laying out pages"):
        time.sleep(2.3)
    assert pipe.getvalue() == "Step 1/1  Laying out pages\n"
