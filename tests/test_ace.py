"""DAISY Ace finds no accessibility violations in the EPUBs (skipped where Ace is absent, except in CI)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import Built

_HARNESS_ACE = Path("/tmp/harness/ace/node_modules/.bin/ace-puppeteer")
_HARNESS_CHROMIUM = Path("/tmp/harness/bin/chromium-quiet")


def _ace() -> tuple[str, dict[str, str]]:
    env = dict(os.environ, PUPPETEER_SKIP_DOWNLOAD="1")
    ace = os.environ.get("ESSAYBOOK_ACE") or shutil.which("ace")
    if not ace and _HARNESS_ACE.exists():
        ace = str(_HARNESS_ACE)
        env.setdefault("PUPPETEER_EXECUTABLE_PATH", str(_HARNESS_CHROMIUM))
    if not ace or not Path(ace).exists():
        if os.environ.get("CI"):
            pytest.fail("DAISY Ace is not installed; .ci/run installs it")
        pytest.skip("DAISY Ace is not installed (.ci/run or ../shared/tools/install-validators sets it up)")
    return ace, env


def violations(epub: Path, out: Path) -> list[str]:
    ace, env = _ace()
    subprocess.run([ace, "-f", "-s", "-o", str(out), str(epub)], env=env, capture_output=True, timeout=600, check=False)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    found = []
    for document in report["assertions"]:
        for check in document["assertions"]:
            if check["earl:result"]["earl:outcome"] == "fail":
                found.append(
                    f"{document['earl:testSubject']['url']}: {check['earl:test']['dct:title']} "
                    f"({check['earl:test'].get('earl:impact')})"
                )
    return found


@pytest.mark.parametrize(
    "book", ["sample", "features", "math_book", "pandoc", "manual", "crossrefs_book", "nonfiction"]
)
def test_ace_reports_no_violations(book: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    built: Built = request.getfixturevalue(book)
    assert violations(built.epub, tmp_path / "ace") == []
