"""Whether ``build`` would write what the output folder already holds: the record of the last build.

A build that succeeds records, in ``.essaybook-cache/build/``, everything its outputs depend on: the state of
every file and folder under ``manuscript/`` and ``styles/`` (path, size, modification time, SHA-256) taken as
the build *started*, the other files it read (a metadata file, images elsewhere in the project), essaybook's
own files, the versions of the libraries it runs, the system's font folders, the command's options and the
environment variables that change the output, the SHA-256 of each output it wrote, and its diagnostics.

The next build with the same options compares all of that first; when everything matches it writes nothing,
repeats the diagnostics and stops (a writer who runs ``build`` twice waits for nothing). Anything that does
not match, cannot be read or looks unusual (a symbolic link to a folder, remote images) means the whole
pipeline runs, whose own caches then redo only what changed. Like git's index, a file's digest is taken again
unless its size, times and inode match the record and it last changed well before the recorded scan.
This module imports nothing heavy: it runs before the pipeline is loaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from essaybook import __version__
from essaybook.diagnostics import Diagnostic
from essaybook.paths import inside

_FORMAT = "build-1"
_FOLDER = "build"
_TREES = ("manuscript", "styles")
_RACY_NS = 2_000_000_000
"""A file changed this close before a scan may change again within the same timestamp: hash it again."""
_ENV = ("SOURCE_DATE_EPOCH",)
_ENV_PREFIX = "ESSAYBOOK_"
_FONT_DIRS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.fonts",
    "~/.local/share/fonts",
    "/etc/fonts",
    "~/.config/fontconfig",
    "/Library/Fonts",
    "~/Library/Fonts",
    "/System/Library/Fonts",
)
"""Where fontconfig and macOS find fonts: a font installed or removed changes a folder's time here."""

Entry = list[Any]
"""``[relative path, kind ('f', 'd' or '?'), size, mtime_ns, ctime_ns, inode, sha256 or None, link mtime_ns]``."""


@dataclass
class Snapshot:
    """The inputs of a build as it starts."""

    scanned_ns: int
    trees: list[Entry]
    setting: dict[str, Any]
    trusted: bool = True
    """False when something the record cannot follow was seen (a symbolic link to a folder)."""


@dataclass
class Record:
    """A successful build as :func:`save` wrote it."""

    snapshot: Snapshot
    extras: dict[str, str]
    """Other files the build read: absolute path -> SHA-256."""
    outputs: dict[str, str]
    """Absolute path of each output -> SHA-256."""
    diagnostics: list[Diagnostic]
    summary: dict[str, Any] = field(default_factory=dict)
    """What the build reported: ``pages``, ``pdf_pages``, ``epub_files``."""


def _digest(path: str) -> str | None:
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    except OSError:
        return None


def _package_state() -> list[list[Any]]:
    """essaybook's own files (code, themes, fonts): an edited checkout counts as a new version."""
    package = Path(__file__).parent
    found = []
    for folder, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")):
                continue
            with contextlib.suppress(OSError):
                info = os.stat(os.path.join(folder, name))
                found.append([os.path.relpath(os.path.join(folder, name), package), info.st_size, info.st_mtime_ns])
    return found


def _installed() -> list[Any]:
    """Python's version and the distributions installed where it imports from (their ``.dist-info`` folders
    carry name and version): an upgraded library counts as a change. Listing folders is cheap where reading
    every distribution's metadata (importlib.metadata) would cost this shortcut a third of its time."""
    found: list[Any] = [sys.version]
    for entry in sys.path:
        if not entry.endswith(("site-packages", "dist-packages")):
            continue
        with contextlib.suppress(OSError):
            found.append([entry, sorted(n for n in os.listdir(entry) if n.endswith((".dist-info", ".egg-info")))])
    return found


def _font_state() -> list[list[Any]]:
    found = []
    for start in _FONT_DIRS:
        for folder, dirs, _files in os.walk(os.path.expanduser(start)):
            dirs.sort()
            with contextlib.suppress(OSError):
                found.append([folder, os.stat(folder).st_mtime_ns])
    return found


def _scan(root: Path, previous: Snapshot | None) -> tuple[list[Entry], bool]:
    """Every file and folder under the trees; digests reused from ``previous`` where git's rule allows."""
    known = {entry[0]: entry for entry in previous.trees} if previous else {}
    limit = previous.scanned_ns - _RACY_NS if previous else 0
    entries: list[Entry] = []
    trusted = True
    for tree in _TREES:
        for folder, dirs, files in os.walk(root / tree):
            dirs.sort()
            for name in dirs:
                if os.path.islink(os.path.join(folder, name)):
                    trusted = False  # os.walk does not follow it, but a build may read through it
            for name in ["", *sorted(files)]:
                path = os.path.join(folder, name) if name else folder
                rel = os.path.relpath(path, root)
                if os.path.islink(path) and not inside(Path(path), root):
                    trusted = False  # never read outside the project, not even to hash it; the build refuses it
                    entries.append([rel, "?", 0, 0, 0, 0, None, 0])
                    continue
                try:
                    info = os.stat(path)
                except OSError:
                    entries.append([rel, "?", 0, 0, 0, 0, None, 0])
                    continue
                kind = "d" if stat.S_ISDIR(info.st_mode) else "f" if stat.S_ISREG(info.st_mode) else "?"
                # The book's date comes from lstat() times (manuscript.build_time), a link's own included.
                link = os.lstat(path).st_mtime_ns if os.path.islink(path) else 0
                entry: Entry = [rel, kind, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, None, link]
                if kind == "f":
                    old = known.get(rel)
                    if old is not None and old[:6] == entry[:6] and info.st_mtime_ns < limit:
                        entry[6] = old[6]
                    else:
                        entry[6] = _digest(path)
                elif kind == "d":
                    entry[2] = entry[5] = 0  # a folder's size and inode say nothing the listing does not
                entries.append(entry)
    return entries, trusted


def _compared(entry: Entry) -> list[Any]:
    """What must be equal for an entry to count as unchanged: path, kind, time, digest, link time."""
    return [entry[0], entry[1], entry[3], entry[6], entry[7]]


def _record_path(root: Path, options: dict[str, Any]) -> Path:
    key = hashlib.sha256(json.dumps([_FORMAT, str(root), options], sort_keys=True).encode()).hexdigest()[:40]
    return root / ".essaybook-cache" / _FOLDER / f"{key}.json"


def _load(path: Path) -> Record | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != _FORMAT:
            return None
        snapshot = Snapshot(**data["snapshot"])
        return Record(
            snapshot=snapshot,
            extras=data["extras"],
            outputs=data["outputs"],
            diagnostics=[Diagnostic.from_dict(d) for d in data["diagnostics"]],
            summary=data["summary"],
        )
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


class BuildRecord:
    """The record for one project and one set of build options (``pdf``, ``epub``, output folder, ``strict``)."""

    def __init__(self, root: Path, options: dict[str, Any]) -> None:
        self.root = root.absolute()
        self.path = _record_path(self.root, options)
        self.previous = _load(self.path)
        scanned = time.time_ns()
        entries, trusted = _scan(self.root, self.previous.snapshot if self.previous else None)
        setting = {
            "essaybook": [__version__, _package_state()],
            "libraries": _installed(),
            "fonts": _font_state(),
            "environment": {
                name: value for name, value in os.environ.items() if name in _ENV or name.startswith(_ENV_PREFIX)
            },
            "options": options,
        }
        self.snapshot = Snapshot(scanned, entries, setting, trusted)

    def up_to_date(self) -> Record | None:
        """The previous build's record when nothing it depends on has changed, else None."""
        old = self.previous
        if old is None or not old.snapshot.trusted or not self.snapshot.trusted:
            return None
        if old.snapshot.setting != self.snapshot.setting:
            return None
        # Digests were reused only where the stat matched, so equal digests are equal contents; times are
        # compared too, because the newest one is the book's date when SOURCE_DATE_EPOCH is not set.
        if [_compared(e) for e in old.snapshot.trees] != [_compared(e) for e in self.snapshot.trees]:
            return None
        for path, digest in {**old.extras, **old.outputs}.items():
            if _digest(path) != digest:
                return None
        return old

    @staticmethod
    def output_digests(written: dict[Path, Path]) -> dict[str, str] | None:
        """Each output (target -> the temporary it was written as) with its SHA-256, taken before the rename
        so that a file another build renames into place later is never recorded as this build's."""
        digests = {}
        for target, temporary in written.items():
            digest = _digest(str(temporary))
            if digest is None:
                return None
            digests[str(target.absolute())] = digest
        return digests

    def save(
        self, extras: list[Path], outputs: dict[str, str], diagnostics: list[Diagnostic], summary: dict[str, Any]
    ) -> None:
        """Record this build: ``outputs`` from :meth:`output_digests`; ``extras``: other files the build read.
        Never raises: a record that cannot be written only costs the next build its shortcut."""
        # Files of the trees are in the snapshot already, essaybook's own in its package state.
        trees = {os.path.join(str(self.root), tree) + os.sep for tree in _TREES} | {str(Path(__file__).parent) + os.sep}
        extra_digests: dict[str, str] = {}
        for path in extras:
            absolute = str(path.absolute())
            if any(absolute.startswith(tree) for tree in trees):
                continue
            digest = _digest(absolute)
            if digest is None:
                return
            extra_digests[absolute] = digest
        data = {
            "format": _FORMAT,
            "snapshot": self.snapshot.__dict__,
            "extras": extra_digests,
            "outputs": outputs,
            "diagnostics": [d.as_dict() for d in diagnostics],
            "summary": summary,
        }
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=".record.", suffix=".tmp", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as stream:
                json.dump(data, stream)
            os.replace(name, self.path)

    def forget(self) -> None:
        """Remove the record (a build that fails leaves no record a later build could trust)."""
        with contextlib.suppress(OSError):
            self.path.unlink()
