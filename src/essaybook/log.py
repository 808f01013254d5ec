"""Progress and warnings: what each log level means and how the CLI shows it.

INFO is a pipeline stage going by ("Step 2/5 ...") and the closing summary; WARNING is something in the
book the user should fix (it never stops the build unless ``--strict``); DEBUG is for ``--debug``.
A warning is a :class:`Diagnostic` carried on its log record: the terminal prints its text, ``check`` and the
preview read its fields.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO, TypeVar, overload

from essaybook.diagnostics import Diagnostic
from essaybook.errors import EssaybookError

LOGGER = logging.getLogger("essaybook")


_LEVELS = {"error": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO}


def diagnostic_of(record: logging.LogRecord) -> Diagnostic:
    """The :class:`Diagnostic` a record carries; one of kind 'other' for a record logged without one."""
    found = getattr(record, "diagnostic", None)
    if isinstance(found, Diagnostic):
        return found
    level = "error" if record.levelno >= logging.ERROR else "warning" if record.levelno >= logging.WARNING else "info"
    return Diagnostic(level, "other", record.getMessage())


class _CountingHandler(logging.Handler):
    """Keeps the warnings (and errors) logged, so that ``--strict`` can fail the build."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: list[Diagnostic] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(diagnostic_of(record))


class _CliFormatter(logging.Formatter):
    def __init__(self, color: bool) -> None:
        super().__init__()
        self.color = color

    def format(self, record: logging.LogRecord) -> str:
        found = getattr(record, "diagnostic", None)
        message = str(found) if isinstance(found, Diagnostic) else record.getMessage()
        if record.levelno >= logging.WARNING:
            prefix = "warning: " if record.levelno == logging.WARNING else "error: "
            if self.color:
                prefix = f"\033[33m{prefix}\033[0m"
            return prefix + message
        return message


class _TerminalHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """stderr, clearing a progress line first so that a warning never lands in the middle of a bar."""

    def emit(self, record: logging.LogRecord) -> None:
        with _terminal_lock:
            if _live_line[0]:
                self.stream.write("\r\033[K")
                _live_line[0] = None
            super().emit(record)


_counter = _CountingHandler()
_debug = False
_live = False
"""Whether progress bars and timers may draw: stderr is a terminal and stages are shown (not -q)."""
_terminal_lock = threading.Lock()
_live_line: list[str | None] = [None]
"""Who drew the line the cursor sits on ("bar" or "timer"), which the next output must clear first."""
T = TypeVar("T")
LONG_BOOK = 20
"""Chapters from which conversion and packaging show a progress bar."""


def setup(verbosity: int = 0, debug: bool = False) -> None:
    """Send essaybook's log to stderr: -1 quiet (warnings only), 0 stages, 1+ details."""
    global _debug, _live
    _debug = debug
    LOGGER.handlers.clear()
    LOGGER.propagate = False
    handler = _TerminalHandler(sys.stderr)
    terminal = sys.stderr.isatty()
    handler.setFormatter(_CliFormatter(color=terminal))
    level = logging.DEBUG if debug or verbosity > 0 else logging.INFO if verbosity == 0 else logging.WARNING
    _live = terminal and verbosity >= 0
    handler.setLevel(level)
    LOGGER.setLevel(logging.DEBUG)
    LOGGER.addHandler(handler)
    _counter.seen.clear()
    LOGGER.addHandler(_counter)
    # WeasyPrint reports unloadable resources and CSS it ignores as warnings on its own logger.
    wp = logging.getLogger("weasyprint")
    wp.handlers.clear()
    wp.addHandler(handler if debug else logging.NullHandler())
    wp.propagate = False


def debugging() -> bool:
    """Whether ``--debug`` was given: tracebacks and library messages are wanted."""
    return _debug


def diagnostics_seen() -> list[Diagnostic]:
    """The warnings (and errors) logged since :func:`setup`."""
    return list(_counter.seen)


def warnings_seen() -> list[str]:
    """The warnings (and errors) logged since :func:`setup`, as the terminal showed them."""
    return [str(d) for d in _counter.seen]


def report(diagnostic: Diagnostic) -> None:
    """Log ``diagnostic`` at its level; the record carries it as ``record.diagnostic``."""
    LOGGER.log(_LEVELS[diagnostic.level], "%s", diagnostic, extra={"diagnostic": diagnostic})


@overload
def warn(problem: Diagnostic, /) -> None: ...


@overload
def warn(
    problem: str,
    /,
    *,
    kind: str,
    file: str | None = None,
    line: int | None = None,
    hint: str | None = None,
    more: int = 0,
) -> None: ...


def warn(
    problem: Diagnostic | str,
    /,
    *,
    kind: str | None = None,
    file: str | None = None,
    line: int | None = None,
    hint: str | None = None,
    more: int = 0,
) -> None:
    """Log a problem in the book that does not stop the build: a :class:`Diagnostic`, or the fields of one.

    ``file`` is relative to the book project (``manuscript/ch.md``); ``kind`` is the problem's code in
    ``essaybook check``.
    """
    if isinstance(problem, str):
        if kind is None:
            raise TypeError("warn() needs a kind for a message")
        problem = Diagnostic("warning", kind, problem, file, line, hint, more)
    report(problem)


@contextmanager
def withheld() -> Iterator[list[Diagnostic]]:
    """The warnings and errors logged while the block runs, kept in the list yielded instead of shown (and no
    progress drawn): for work in a forked process, whose parent reports them (essaybook.forked)."""
    global _live
    kept: list[Diagnostic] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            kept.append(diagnostic_of(record))

    handlers, live = list(LOGGER.handlers), _live
    LOGGER.handlers[:] = [_Keep(logging.WARNING)]
    _live = False
    try:
        yield kept
    finally:
        LOGGER.handlers[:] = handlers
        _live = live


@dataclass
class Collected:
    """What :func:`collecting` gathered: the warnings, and the recoverable errors with their kinds."""

    root: Path | None = None
    """The book project: files of errors are made relative to it."""
    warnings: list[Diagnostic] = field(default_factory=list)
    errors: list[Diagnostic] = field(default_factory=list)


_collected: Collected | None = None


def recoverable(error: EssaybookError, kind: str) -> None:
    """Raise ``error``; inside :func:`collecting`, record it as a Diagnostic of ``kind`` instead and return,
    so the caller skips the item."""
    if _collected is None:
        raise error
    _collected.errors.append(error.diagnostic(kind, _collected.root))


@contextmanager
def collecting(progress: bool = True, *, root: Path | None = None) -> Iterator[Collected]:
    """Gather warnings and recoverable errors instead of printing or raising them (``essaybook check``).

    Progress (INFO) still reaches the terminal unless ``progress`` is false; DEBUG always does. Errors are
    recorded with their files relative to ``root``.
    """
    global _collected
    found = Collected(root=root)

    def capture(record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            found.warnings.append(diagnostic_of(record))
            return False
        return progress or record.levelno != logging.INFO

    saved, _collected = _collected, found
    LOGGER.addFilter(capture)
    try:
        yield found
    finally:
        LOGGER.removeFilter(capture)
        _collected = saved


class _JsonLines(logging.Handler):
    def __init__(self, stream: TextIO) -> None:
        super().__init__(logging.WARNING)
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        self.write(diagnostic_of(record))

    def write(self, diagnostic: Diagnostic) -> None:
        # One line at a time and flushed: a build that is killed still leaves what it found.
        self.stream.write(json.dumps(diagnostic.as_dict(), ensure_ascii=False) + "\n")
        self.stream.flush()


@contextmanager
def recording(path: Path, root: Path) -> Iterator[None]:
    """Also write each warning, and the :class:`EssaybookError` that stops the body, to ``path`` as JSON lines.

    The preview reads the Diagnostics of the PDF build it runs in a subprocess from there.
    """
    with path.open("w", encoding="utf-8") as stream:
        handler = _JsonLines(stream)
        LOGGER.addHandler(handler)
        try:
            yield
        except EssaybookError as error:
            handler.write(error.diagnostic("build", root))
            raise
        finally:
            LOGGER.removeHandler(handler)


def read_recording(path: Path) -> list[Diagnostic]:
    """The Diagnostics :func:`recording` wrote to ``path`` (none when it is missing)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        try:
            found.append(Diagnostic.from_dict(json.loads(line)))
        except (ValueError, TypeError):  # the last line of a build that was killed while writing it
            continue
    return found


def _draw(text: str, owner: str) -> None:
    """Replace the live line on the terminal with ``text`` (no newline); a timer never overwrites a bar."""
    with _terminal_lock:
        if owner == "timer" and _live_line[0] == "bar":
            return
        sys.stderr.write("\r\033[K" + text)
        sys.stderr.flush()
        _live_line[0] = owner


def _clear() -> None:
    with _terminal_lock:
        if _live_line[0]:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            _live_line[0] = None


def progress(items: Sequence[T], what: str = "chapters") -> Iterator[T]:
    """Yield ``items``; for a long book on a terminal, draw a bar of how many are done meanwhile.

    Nothing is drawn with ``-q``, when stderr is not a terminal, or for fewer than :data:`LONG_BOOK` items.
    """
    total = len(items)
    if not _live or total < LONG_BOOK:
        yield from items
        return
    width = 30
    try:
        for done, item in enumerate(items):
            filled = width * done // total
            _draw(f"        [{'#' * filled}{' ' * (width - filled)}] {done}/{total} {what}", "bar")
            yield item
    finally:
        _clear()


@contextmanager
def step(number: int, total: int, what: str) -> Iterator[None]:
    """Log a pipeline stage as it starts and, at debug level, how long it took.

    On a terminal, a stage that runs longer than two seconds shows its running time until it ends.
    """
    LOGGER.info("Step %d/%d  %s", number, total, what)
    start = time.perf_counter()
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(1.0):
            elapsed = time.perf_counter() - start
            if elapsed >= 2:
                _draw(f"        {elapsed:.0f} s", "timer")

    ticker = threading.Thread(target=tick, daemon=True) if _live else None
    if ticker is not None:
        ticker.start()
    try:
        yield
    finally:
        if ticker is not None:
            stop.set()
            ticker.join()
            _clear()
    LOGGER.debug("        %s took %.2f s", what, time.perf_counter() - start)
