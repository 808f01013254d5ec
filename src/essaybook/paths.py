"""Path rules shared by the stages: containment in the book project and natural ordering."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from essaybook.errors import EssaybookError


class NotRegularFile(OSError):
    """A path the build would read is a FIFO, a device, a socket or a folder, not a file."""

    def __init__(self, path: Path | str) -> None:
        super().__init__(errno.EINVAL, "not a regular file (a named pipe, device or folder)", str(path))


class OutsideFile(OSError):
    """A path the build would read leads (through a symbolic link) outside the folders it may read."""

    def __init__(self, path: Path | str) -> None:
        super().__init__(errno.EACCES, "it leads outside the book project", str(path))


class TooLarge(OSError):
    """A file the build would read is larger than the limit for its kind (see essaybook.limits)."""

    def __init__(self, path: Path | str, size: int, limit: int) -> None:
        super().__init__(errno.EFBIG, f"{size:,} bytes; the limit is {limit:,}", str(path))


_read: set[str] | None = None


@contextlib.contextmanager
def tracking() -> Iterator[set[str]]:
    """Collect the absolute paths :func:`read_regular` reads in this process while the block runs."""
    global _read
    _read, previous = set(), _read
    try:
        yield _read
    finally:
        _read = previous


def tracked() -> set[str] | None:
    """The set :func:`tracking` is collecting into, or None outside it."""
    return _read


def read_regular(path: Path | str, within: list[Path] | None = None, limit: int | None = None) -> bytes:
    """The bytes of ``path``, checked to be a regular file when it is opened, so that a named pipe or a
    device put in place of a stylesheet, chapter or image is refused instead of blocking the build.

    ``within``: the file opened must lie inside one of these folders, checked on what was opened, so a
    symbolic link swapped in after an earlier check cannot lead elsewhere. ``limit``: the most bytes the file
    may hold (:class:`TooLarge` otherwise, checked on what was opened and while reading).
    """
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer; fstat checks what was opened.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(path)
        if within is not None:
            opened = Path(f"/proc/self/fd/{fd}")
            real = Path(os.readlink(opened)) if opened.is_symlink() else Path(os.path.realpath(path))
            if not any(inside(real, root) for root in within):
                raise OutsideFile(path)
        if limit is not None and os.fstat(fd).st_size > limit:
            raise TooLarge(path, os.fstat(fd).st_size, limit)
        chunks, size = [], 0
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            size += len(chunk)
            if limit is not None and size > limit:  # it grew while being read
                raise TooLarge(path, size, limit)
        if _read is not None:
            _read.add(os.path.abspath(path))
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path: Path | str, error: type[EssaybookError], file: Path | str, what: str = "", **where: Any) -> str:
    """The text of ``path`` as UTF-8 (a leading byte-order mark dropped), read by :func:`read_bytes` (``where``: its
    ``within`` and ``limit``). Raises ``error`` naming ``file``: why ``what`` ("the stylesheet") cannot be read,
    or the line and byte that are not UTF-8."""
    return decode_utf8(read_bytes(path, error, file, what or "the file", **where), error, file)


def read_bytes(
    path: Path | str,
    error: type[EssaybookError],
    file: Path | str,
    what: str = "the file",
    *,
    within: list[Path] | None = None,
    limit: int | None = None,
) -> bytes:
    """:func:`read_regular`, with ``error`` naming ``file`` when ``what`` cannot be read."""
    try:
        return read_regular(path, within, limit)
    except OutsideFile:
        raise error(
            f"{what} leads outside the book project (to {Path(path).resolve()})",
            file=file,
            hint="copy the file into the project instead of linking to it",
        ) from None
    except TooLarge as exc:
        raise error(f"{what} is too large: {exc.strerror}", file=file) from None
    except OSError as exc:
        raise error(f"cannot read {what}: {exc.strerror}", file=file) from None


def decode_utf8(raw: bytes, error: type[EssaybookError], file: Path | str) -> str:
    """``raw`` as UTF-8 text (a leading byte-order mark dropped); ``error`` naming ``file``, the line and the
    byte where it is not UTF-8."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
            file=file,
            line=raw[: exc.start].count(b"\n") + 1,
            hint="save it as UTF-8",
        ) from None


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
