"""Stage 4 renderers: each turns composed documents into one output file, written atomically."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from essaybook.errors import RenderError

_TEMP_RE = re.compile(r"^\..+\.pid(\d+)\.[^.]+\.tmp$")


@contextlib.contextmanager
def atomic_output(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` only if the block succeeds.

    A failure or interruption leaves ``target`` as it was and removes the temporary file. The name carries
    the process id, so a file left by a killed build can be told from one a running build still writes.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.pid{os.getpid()}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise RenderError(f"cannot write to the output folder: {exc.strerror}", file=target.parent) from None
    os.close(fd)
    temp = Path(name)
    try:
        yield temp
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def staged(targets: list[Path]) -> Iterator[list[Path]]:
    """Temporary paths beside ``targets``, renamed over them together once the block succeeds.

    Nothing in the output folder changes until every output is ready: a failure while writing the second
    output leaves the previous build's files as they were, not a new PDF beside an old EPUB.
    """
    temps: list[Path] = []
    try:
        for target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f".{target.name}.pid{os.getpid()}.", suffix=".tmp", dir=target.parent)
            os.close(fd)
            temps.append(Path(name))
    except OSError as exc:
        for temp in temps:
            temp.unlink(missing_ok=True)
        raise RenderError(f"cannot write to the output folder: {exc.strerror}", file=targets[0].parent) from None
    try:
        yield temps
        for temp in temps:
            os.chmod(temp, 0o644)
        for temp, target in zip(temps, targets, strict=True):
            os.replace(temp, target)
    except BaseException:
        for temp in temps:
            temp.unlink(missing_ok=True)
        raise


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete temporary files that builds killed outright (SIGKILL, power loss) left in ``folder``."""
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for path in folder.iterdir():
        match = _TEMP_RE.match(path.name)
        if match is None:
            continue
        try:
            os.kill(int(match.group(1)), 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
            removed.append(path)
        except (PermissionError, OverflowError):
            continue
    return removed
