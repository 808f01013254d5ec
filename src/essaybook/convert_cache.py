"""Chapters' first conversion passes kept between builds (``.essaybook-cache/convert/``), safe to delete.

An entry is one JSON file (never pickle: a project folder from someone else must not run code), named by a
hash of what the chapter's first pass reads apart from book-wide state (its text and front matter, its path,
the project folder and the settings), the folder's identity (device and inode) and the versions of
essaybook, Python-Markdown, Pygments and lxml. The entry records the book-wide state the pass read: the ids
and raw HTML tags the chapters before it had taken, the custom block elements they registered, the image
files it looked at. It is trusted only while all of that reads the same (:func:`essaybook.convert.cache.replay`),
so an edit converts again exactly the chapters whose result can differ. Entries are written atomically
(a temporary file, then a rename); one that does not parse is ignored. The layout cache prunes old ones.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

from essaybook import __version__

_KIND = "convert"
_FORMAT = "chapter-6"  # 2: media types by their bytes, landmarks, empty th; 3: math; 4: targets; 5: inline SVG, MathML
# 5: raw SVG and MathML kept (cleaned), runaway openers as references
# The math renderers' versions too: an entry keeps each equation's MathML and SVG as they drew it.
_VERSIONS = [
    __version__,
    *(version(name) for name in ("markdown", "pygments", "lxml", "latex2mathml", "ziamath", "ziafont")),
]


def project_identity(root: Path) -> list[int]:
    """The project folder's device and inode: a cache copied in with someone else's project never matches."""
    stat = root.stat()
    return [stat.st_dev, stat.st_ino]


class ChapterStore:
    """First-pass entries under ``folder/convert/`` for the project at ``root`` (a :class:`ChapterCache`).

    ``read_only`` (``essaybook check``, which writes nothing into the project): entries are read, never written.
    """

    def __init__(self, folder: Path, root: Path, read_only: bool = False) -> None:
        self.folder = folder / _KIND
        self.read_only = read_only
        self._identity = [_FORMAT, _VERSIONS, project_identity(root)]

    def _path(self, inputs: list[Any]) -> Path:
        digest = hashlib.sha256(json.dumps([self._identity, inputs]).encode())
        return self.folder / f"{digest.hexdigest()[:40]}.json"

    def load(self, inputs: list[Any]) -> dict[str, Any] | None:
        """The entry for ``inputs``, or None when there is none or it does not parse."""
        path = self._path(inputs)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not self.read_only:
            now = time.time()
            with contextlib.suppress(OSError):
                os.utime(path, (now, now))  # pruning goes by the time an entry was last used
        return entry if isinstance(entry, dict) else None

    def store(self, inputs: list[Any], entry: dict[str, Any]) -> None:
        """Write ``entry`` for ``inputs`` atomically (a cache that cannot be written only costs time)."""
        if self.read_only:
            return
        target = self._path(inputs)
        temp = target.with_name(f".{target.name}.pid{os.getpid()}.tmp")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            temp.write_text(json.dumps(entry, ensure_ascii=False), encoding="utf-8")
            os.replace(temp, target)
        except (OSError, ValueError):
            with contextlib.suppress(OSError):
                temp.unlink()
