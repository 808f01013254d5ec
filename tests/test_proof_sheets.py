"""The proof sheets in docs/ (issue 12): present, PNG, light enough for the README, the shape of spreads.

No book is built here: ``scripts/proof_sheets.py`` makes the sheets, and its ``--check`` is what is run.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from PIL import Image

REPO = Path(__file__).resolve().parent.parent


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("proof_sheets", REPO / "scripts" / "proof_sheets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_sheets_in_docs_pass_the_scripts_check() -> None:
    assert _script().check() == []


def test_check_names_a_missing_or_wrong_sheet(tmp_path: Path) -> None:
    script = _script()
    Image.new("RGB", (300, 900), "white").save(tmp_path / "proof-front-matter-classic.png")
    (tmp_path / "proof-code-spread-classic.png").write_bytes(b"not an image")
    problems = "\n".join(script.check(tmp_path))
    assert "proof-front-matter-classic.png: 300 x 900 px is not the shape" in problems
    assert "proof-code-spread-classic.png: not an image" in problems
    assert "proof-front-matter-modern.png: missing" in problems
