"""Nothing lost: interrupted and concurrent builds leave dist/ whole and free of temporary files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

from pypdf import PdfReader

from conftest import BOOKS, EPOCH, copy_project


def _start(project: Path, *options: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH)
    return subprocess.Popen(
        [sys.executable, "-m", "essaybook", "build", *(options or ("-q",)), str(project)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_a_killed_build_keeps_the_previous_outputs(tmp_path: Path) -> None:
    project = copy_project(BOOKS / "features", tmp_path / "book")
    dist = project / "dist"
    dist.mkdir()
    (dist / "a-book-of-features.pdf").write_bytes(b"%PDF-1.7 previous good build")
    (dist / "a-book-of-features.epub").write_bytes(b"PK previous good build")
    build = _start(project, "-v")
    assert build.stderr is not None
    seen = b""
    while not seen.startswith(b"Step 4"):  # page layout, the longest stage
        seen = build.stderr.readline()
        assert seen, "the build ended before laying out pages"
    build.send_signal(signal.SIGTERM)
    _, stderr = build.communicate(timeout=120)
    assert build.returncode == 130, stderr.decode()
    assert b"earlier outputs are unchanged" in stderr
    assert (dist / "a-book-of-features.pdf").read_bytes() == b"%PDF-1.7 previous good build"
    assert (dist / "a-book-of-features.epub").read_bytes() == b"PK previous good build"
    assert sorted(p.name for p in dist.iterdir()) == ["a-book-of-features.epub", "a-book-of-features.pdf"]


def test_debris_of_a_build_killed_outright_is_removed_next_time(tmp_path: Path) -> None:
    project = copy_project(BOOKS / "features", tmp_path / "book")
    dist = project / "dist"
    dist.mkdir()
    stale = dist / ".a-book-of-features.pdf.pid999999999.x1y2z3.tmp"  # no such process
    stale.write_bytes(b"half a PDF")
    build = _start(project)
    build.communicate(timeout=300)
    assert build.returncode == 0
    assert sorted(p.name for p in dist.iterdir()) == ["a-book-of-features.epub", "a-book-of-features.pdf"]


def test_two_builds_at_once_do_not_corrupt_each_other(tmp_path: Path) -> None:
    project = copy_project(BOOKS / "features", tmp_path / "book")
    builds = [_start(project), _start(project)]
    for build in builds:
        _, stderr = build.communicate(timeout=300)
        assert build.returncode == 0, stderr.decode()
    dist = project / "dist"
    assert sorted(p.name for p in dist.iterdir()) == ["a-book-of-features.epub", "a-book-of-features.pdf"]
    assert len(PdfReader(str(dist / "a-book-of-features.pdf")).pages) > 10
    with zipfile.ZipFile(dist / "a-book-of-features.epub") as epub:
        assert epub.testzip() is None
