"""The layout cache in ``.essaybook-cache/``: laid-out units kept between builds, safe to delete at any time.

An entry is a PDF and a JSON record, both named by the key (a hash of everything the layout read from the
build: the unit's HTML, the settings written into it, the essaybook and WeasyPrint versions). The record
is written last, with the PDF's hash and the hash of every file the layout loaded (stylesheets, fonts,
images); an entry is trusted only when all of them still match. A build killed mid-way leaves at most a
PDF without a record, or a temporary file, and neither is ever used; two builds at once write the same
bytes under the same name.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

from essaybook import __version__

FOLDER = ".essaybook-cache"
_FORMAT = "layout-3"  # 2: results record the printed images (layout/images.py); 3: figures deferred (filling.py)
_KEEP_DAYS = 14
_WEASYPRINT = version("weasyprint")  # from the package metadata: importing WeasyPrint takes half a second


def key_of(*parts: object) -> str:
    """A cache key from JSON-serialisable parts and the versions of everything that lays out."""
    digest = hashlib.sha256()
    digest.update(json.dumps([_FORMAT, __version__, _WEASYPRINT, *parts], sort_keys=True).encode())
    return digest.hexdigest()[:40]


def file_digest(path: Path) -> str | None:
    """SHA-256 of a regular file's bytes, or None when it is not a readable regular file."""
    try:
        if not path.is_file():
            return None
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    except OSError:
        return None


class LayoutCache:
    """Entries under ``folder``; without a folder (``--no-cache``), a temporary one removed by :meth:`close`.

    ``read_only`` (``essaybook check``, which writes nothing in the project): entries are read from
    ``folder`` and new ones go to a temporary folder.
    """

    def __init__(self, folder: Path | None, read_only: bool = False) -> None:
        self.temporary = folder is None or read_only
        self.shared = folder
        self.folder = Path(tempfile.mkdtemp(prefix="essaybook-layout-")) if self.temporary else Path(folder)  # type: ignore[arg-type]
        self._digests: dict[str, str | None] = {}
        self._where: dict[tuple[str, str], Path] = {}
        self.hits = 0
        self.misses = 0

    def close(self) -> None:
        if self.temporary:
            shutil.rmtree(self.folder, ignore_errors=True)

    def pdf(self, kind: str, key: str) -> Path:
        """Where a new entry's PDF is written."""
        return self.folder / kind / f"{key}.pdf"

    def path_of(self, kind: str, key: str) -> Path:
        """The PDF of an entry that :meth:`load` trusted or :meth:`store` recorded."""
        return self._where.get((kind, key), self.pdf(kind, key))

    def digest(self, path: str) -> str | None:
        """A file's hash, computed once per build."""
        if path not in self._digests:
            self._digests[path] = file_digest(Path(path))
        return self._digests[path]

    def load(self, kind: str, key: str) -> dict[str, Any] | None:
        """The record of a trusted entry (its PDF intact, every file it loaded unchanged), else None."""
        folders = [self.folder] + ([self.shared] if self.shared is not None and self.shared != self.folder else [])
        for folder in folders:
            data = self._load(folder, kind, key)
            if data is not None:
                self.hits += 1
                self._where[(kind, key)] = folder / kind / f"{key}.pdf"
                return data
        self.misses += 1
        return None

    def _load(self, folder: Path, kind: str, key: str) -> dict[str, Any] | None:
        pdf, record_path = folder / kind / f"{key}.pdf", folder / kind / f"{key}.json"
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        trusted = (
            isinstance(record, dict)
            and record.get("format") == _FORMAT
            and file_digest(pdf) == record.get("pdf")
            and all(self.digest(path) == digest for path, digest in record.get("loaded", {}).items())
        )
        if not trusted:
            return None
        if folder == self.folder:  # kept fresh for prune(); a read-only cache (check) touches nothing
            now = time.time()
            for path in (pdf, record_path):
                with contextlib.suppress(OSError):
                    os.utime(path, (now, now))
        data = record.get("data")
        return data if isinstance(data, dict) else None

    def store(self, kind: str, key: str, data: dict[str, Any], loaded: list[str]) -> None:
        """Record the entry whose PDF is already at :meth:`pdf` (written atomically by the worker)."""
        pdf = self.pdf(kind, key)
        record = {
            "format": _FORMAT,
            "pdf": file_digest(pdf),
            "loaded": {path: self.digest(path) for path in sorted(set(loaded))},
            "data": data,
        }
        self._where[(kind, key)] = pdf
        target = pdf.with_suffix(".json")
        temp = target.with_name(f".{target.name}.pid{os.getpid()}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)  # a measured-only entry has no PDF that made it
            temp.write_text(json.dumps(record), encoding="utf-8")
            os.replace(temp, target)
        except OSError:
            temp.unlink(missing_ok=True)  # a cache that cannot be written only costs time

    def prune(self) -> None:
        """Forget entries no build has used for two weeks, and temporary files left by killed builds."""
        if self.temporary or not self.folder.is_dir():
            return
        limit = time.time() - _KEEP_DAYS * 86400
        for path in self.folder.glob("*/*"):
            try:
                stat = path.stat()
                stale_temp = path.name.endswith(".tmp") and stat.st_mtime < time.time() - 3600
                if stale_temp or stat.st_mtime < limit:
                    path.unlink()
            except OSError:
                continue


def cache_folder(root: Path) -> Path:
    """Where a book project keeps its cache."""
    return root / FOLDER
