"""Progress and warnings: what each log level means and how the CLI shows it.

INFO is a pipeline stage going by ("Step 2/5 ...") and the closing summary; WARNING is something in the
book the user should fix (it never stops the build unless ``--strict``); DEBUG is for ``--debug``.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from essaybook.errors import EssaybookError

LOGGER = logging.getLogger("essaybook")


class _CountingHandler(logging.Handler):
    """Counts warnings so that ``--strict`` can fail the build."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.warnings: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.warnings.append(record.getMessage())


class _CliFormatter(logging.Formatter):
    def __init__(self, color: bool) -> None:
        super().__init__()
        self.color = color

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
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
    _counter.warnings.clear()
    LOGGER.addHandler(_counter)
    # WeasyPrint reports unloadable resources and CSS it ignores as warnings on its own logger.
    wp = logging.getLogger("weasyprint")
    wp.handlers.clear()
    wp.addHandler(handler if debug else logging.NullHandler())
    wp.propagate = False


def debugging() -> bool:
    """Whether ``--debug`` was given: tracebacks and library messages are wanted."""
    return _debug


def warnings_seen() -> list[str]:
    """Messages of the warnings logged since :func:`setup`."""
    return list(_counter.warnings)


def warn(message: str, kind: str | None = None) -> None:
    """Log a problem in the book that does not stop the build; ``kind`` is its code in ``essaybook check``."""
    LOGGER.warning(message, extra={"kind": kind})


@dataclass
class Collected:
    """What :func:`collecting` gathered: warnings and recoverable errors, each with its kind (or None)."""

    warnings: list[tuple[str | None, str]] = field(default_factory=list)
    errors: list[tuple[str | None, EssaybookError]] = field(default_factory=list)


_collected: Collected | None = None


def recoverable(error: EssaybookError, kind: str | None = None) -> None:
    """Raise ``error``; inside :func:`collecting`, record it instead and return, so the caller skips the item."""
    if _collected is None:
        raise error
    _collected.errors.append((kind, error))


@contextmanager
def collecting(progress: bool = True) -> Iterator[Collected]:
    """Gather warnings and recoverable errors instead of printing or raising them (``essaybook check``).

    Progress (INFO) still reaches the terminal unless ``progress`` is false; DEBUG always does.
    """
    global _collected
    found = Collected()

    def capture(record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            found.warnings.append((getattr(record, "kind", None), record.getMessage()))
            return False
        return progress or record.levelno != logging.INFO

    saved, _collected = _collected, found
    LOGGER.addFilter(capture)
    try:
        yield found
    finally:
        LOGGER.removeFilter(capture)
        _collected = saved


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
