"""The converted book kept between builds (``.essaybook-cache/convert/``), so an unchanged book is not converted.

The key covers everything conversion reads: every file under ``manuscript/`` (chapters, book.toml, images),
the settings, and the essaybook version. The record is JSON (never pickle: a project folder from someone
else must not run code), holds the warnings conversion gave so that a cached build repeats them, and is
written atomically; a record that does not parse or whose image files are gone is ignored.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Any

from essaybook import log
from essaybook.diagnostics import Diagnostic
from essaybook.layout.cache import file_digest, key_of
from essaybook.model import Asset, Book, Chapter, Heading

_KIND = "convert"


def project_identity(root: Path) -> list[int]:
    """The project folder's device and inode: a cache copied in with someone else's project never matches."""
    stat = root.stat()
    return [stat.st_dev, stat.st_ino]


def conversion_key(book: Book, settings: object) -> str | None:
    """The key of ``book``'s conversion under ``settings``, or None when a file cannot be read."""
    files = []
    for folder, dirs, names in os.walk(book.manuscript_dir):  # symlinked folders are not followed
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            rel = path.relative_to(book.root).as_posix()
            if path.is_symlink():
                files.append((rel, "-> " + os.readlink(path)))
                continue
            if not path.is_file():
                continue
            digest = file_digest(path)
            if digest is None:
                return None
            files.append((rel, digest))
    chapters = [(c.rel, c.index, c.body_line) for c in book.chapters]
    return key_of(_KIND, str(book.root), project_identity(book.root), repr(settings), files, chapters)


def _chapter_json(chapter: Chapter) -> dict[str, Any]:
    data = dataclasses.asdict(chapter)
    data["source"] = str(chapter.source)
    return data


def _chapter(data: dict[str, Any]) -> Chapter:
    data = dict(data)
    data["source"] = Path(data["source"])
    data["headings"] = [Heading(**h) for h in data["headings"]]
    return Chapter(**data)


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Recorder:
    """Collects the warnings logged while converting (see :func:`store`)."""

    def __enter__(self) -> Recorder:
        self.capture = _Capture()
        log.LOGGER.addHandler(self.capture)
        return self

    def __exit__(self, *exc: object) -> None:
        log.LOGGER.removeHandler(self.capture)


def load(folder: Path, key: str, book: Book) -> bool:
    """Fill ``book`` from the record for ``key`` and log its warnings again; False when there is none."""
    try:
        record = json.loads((folder / _KIND / f"{key}.json").read_text(encoding="utf-8"))
        chapters = [_chapter(c) for c in record["chapters"]]
        assets = {
            Path(p): Asset(source=Path(a["source"]), **{k: v for k, v in a.items() if k != "source"})
            for p, a in record["assets"]
        }
        warnings = [Diagnostic.from_dict(w) for w in record["warnings"]]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if len(chapters) != len(book.chapters) or not all(a.source.is_file() for a in assets.values()):
        return False
    book.chapters = chapters
    book.assets = assets
    book.ids = set(record["ids"])
    book.images = int(record["images"])
    book.images_without_alt = int(record["images_without_alt"])
    book.replaced_tags = set(record["replaced_tags"])
    for diagnostic in warnings:
        log.report(diagnostic)
    return True


def store(folder: Path, key: str, book: Book, recorder: Recorder) -> None:
    """Record ``book``'s conversion under ``key`` (a cache that cannot be written only costs time)."""
    record = {
        "chapters": [_chapter_json(c) for c in book.chapters],
        "assets": [
            (str(path), {**dataclasses.asdict(asset), "source": str(asset.source)})
            for path, asset in book.assets.items()
        ],
        "ids": sorted(book.ids),
        "images": book.images,
        "images_without_alt": book.images_without_alt,
        "replaced_tags": sorted(book.replaced_tags),
        "warnings": [r.diagnostic.as_dict() for r in recorder.capture.records if hasattr(r, "diagnostic")],
    }
    target = folder / _KIND / f"{key}.json"
    temp = target.with_name(f".{target.name}.pid{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temp.write_text(json.dumps(record), encoding="utf-8")
        os.replace(temp, target)
    except OSError:
        with contextlib.suppress(OSError):
            temp.unlink()
