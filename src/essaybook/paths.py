"""Path rules shared by the stages: containment in the book project and natural ordering."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any


def inside(path: Path, root: Path) -> bool:
    """True when ``path`` (symlinks resolved) lies inside ``root``."""
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def natural_key(rel: str) -> list[Any]:
    """Sort key so that ``2-x.md`` comes before ``10-y.md``, folder by folder."""
    return [
        [(0, int(t)) if t.isdigit() else (1, t.lower()) for t in re.split(r"(\d+)", part) if t]
        for part in rel.split("/")
    ]
