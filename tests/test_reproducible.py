"""Same input, same bytes: builds in other folders, locales and time zones give identical files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import EPOCH, REPO, copy_project


def _build(project: Path, lang: str, tz: str) -> tuple[bytes, bytes]:
    env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH, LANG=lang, LC_ALL=lang, TZ=tz, PYTHONHASHSEED="random")
    subprocess.run(
        [sys.executable, "-m", "essaybook", "build", "-q", str(project)],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    dist = project / "dist"
    return next(dist.glob("*.pdf")).read_bytes(), next(dist.glob("*.epub")).read_bytes()


def test_builds_are_byte_identical_across_folders_locales_and_time_zones(tmp_path: Path) -> None:
    first = _build(copy_project(REPO, tmp_path / "a"), "C.UTF-8", "UTC")
    second = _build(copy_project(REPO, tmp_path / "deeper" / "b"), "de_DE.UTF-8", "Asia/Tokyo")
    assert first[0] == second[0], "PDF differs"
    assert first[1] == second[1], "EPUB differs"
