"""Every bound on what a build accepts, in one place (the manual's "Limits and safety" chapter lists them for users).

A manuscript may come from anyone: these keep the work of one build bounded and its messages clear. Each is
far beyond what a real book needs.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

METADATA_LENGTHS: dict[str, int] = {
    "title": 500,
    "subtitle": 500,
    "author": 200,
    "publisher": 500,
    "rights": 2_000,
    "description": 10_000,
    "identifier": 500,
    "subject": 200,
}
"""Characters in each metadata value (``[book]`` and chapter front matter; per name for authors and subjects).
The title is printed on the title page, in running heads and on the cover: a longer one takes minutes of
layout for nothing."""

METADATA_ENTRIES = 100
"""Authors, and subjects, a book may list."""

STYLESHEET_BYTES = 2 * 1024 * 1024
"""Size of each stylesheet in ``styles/`` (a theme's whole CSS is under 50 kB)."""

YAML_ALIAS_VALUES = 10_000
"""Values a chapter's front matter may reach through YAML aliases (a "billion laughs" grows to gigabytes)."""

LAYOUT_SECONDS = 120.0
"""Seconds WeasyPrint may spend laying out one chapter (or the whole book, where it is one document)."""

LAYOUT_SECONDS_ENV = "ESSAYBOOK_LAYOUT_TIMEOUT"
"""Environment variable that sets :data:`LAYOUT_SECONDS` for one run (seconds; a slow machine may need more)."""


def layout_seconds() -> float:
    """The per-chapter layout time limit: :data:`LAYOUT_SECONDS_ENV` when set, else :data:`LAYOUT_SECONDS`.

    Raises :class:`essaybook.errors.EssaybookError` when the variable is not a positive number.
    """
    from essaybook.errors import EssaybookError

    value = os.environ.get(LAYOUT_SECONDS_ENV)
    if not value:
        return LAYOUT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < 1e6:
        raise EssaybookError(
            f"{LAYOUT_SECONDS_ENV} must be a number of seconds above 0, found {value!r}", file="environment"
        )
    return seconds


class LayoutTimeout(BaseException):
    """Raised inside a layout that ran past its time limit.

    A BaseException, like KeyboardInterrupt: WeasyPrint catches Exception around image and font loading, and
    a timeout raised there must not be logged as a broken image while the layout goes on.
    """

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`LayoutTimeout` in this thread when the block runs longer than ``seconds`` (0: no limit).

    SIGALRM, so only in the main thread of a process (a layout worker's, or the build's with ``-j 1``) on a
    platform that has it; elsewhere (the preview's build thread, Windows) the block runs without a limit. A
    single call into a C library (one HarfBuzz shaping) is not interrupted; WeasyPrint's layout is Python.
    """
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if seconds <= 0 or not usable:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise LayoutTimeout(seconds)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
