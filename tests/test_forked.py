"""essaybook.forked: a stage run in a forked process hands back its result, warnings and reads, or None."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from essaybook import log, paths
from essaybook.forked import Forked

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or (os.cpu_count() or 1) < 2, reason="needs fork, 2 cores")


def test_the_result_warnings_and_reads_come_back(tmp_path: Path) -> None:
    source = tmp_path / "image.png"
    source.write_bytes(b"png")
    log.setup(verbosity=-1)

    def work() -> tuple[int, bytes]:
        log.warn("the image is small", kind="image-resolution", file="manuscript/a.md", line=3)
        return os.getpid(), paths.read_regular(source)

    with paths.tracking() as read:
        child = Forked.start(work)
        assert child is not None
        result = child.result()
    assert result is not None
    pid, data = result
    assert pid != os.getpid() and data == b"png"
    assert [(d.kind, d.file, d.line) for d in log.diagnostics_seen()] == [("image-resolution", "manuscript/a.md", 3)]
    assert read == {str(source)}


def test_a_failure_gives_none_and_reports_nothing() -> None:
    log.setup(verbosity=-1)

    def work() -> int:
        log.warn("said before failing", kind="other")
        raise RuntimeError("disk full")

    child = Forked.start(work)
    assert child is not None
    assert child.result() is None
    assert log.diagnostics_seen() == []


def test_stop_ends_the_child_at_once(tmp_path: Path) -> None:
    marker = tmp_path / "written"

    def work() -> None:
        time.sleep(30)
        marker.write_text("late")

    child = Forked.start(work)
    assert child is not None
    started = time.monotonic()
    child.stop()
    assert time.monotonic() - started < 5
    time.sleep(0.2)
    assert not marker.exists()


def test_stop_after_the_result_closes_no_other_file(tmp_path: Path) -> None:
    """The pipe's descriptor is closed once: stop() after result() must not close a file that took its number
    (that file then failed as it was collected, an unraisable exception in the test suite)."""
    other = tmp_path / "other"
    other.write_bytes(b"kept")
    child = Forked.start(lambda: 1)
    assert child is not None
    reader = child.reader
    assert child.result() == 1
    with open(os.open(other, os.O_RDONLY), "rb") as opened:  # likely given the pipe's old number
        child.stop()
        assert opened.read() == b"kept", reader
