"""Convert-ahead: the second half of a long book's first passes, converted meanwhile in a forked process into
the conversion cache."""

from __future__ import annotations

import contextlib
import os
import re
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from essaybook import log
from essaybook.convert.ids import slugify
from essaybook.forked import worth_forking
from essaybook.model import Book, Chapter

if TYPE_CHECKING:
    from essaybook.convert.conversion import Conversion


class Ahead:
    """The second half of a long book's first passes, converted meanwhile in a forked process into the cache.

    The chapters after :attr:`first` are converted there against the book as it would stand had the chapters
    before them taken no ids and registered nothing; each result goes into the cache like any first pass.
    When the build's own conversion reaches :attr:`first`, it waits for that process and goes on as usual:
    an entry is used only where every read it recorded gives the same answer in the real book (an id the
    first half took, say, or a custom element it registered, makes that chapter be converted again here).
    The process writes nothing else and says nothing (the warnings of an entry are reported when it is used).
    """

    MIN_CHAPTERS = 8
    MIN_BYTES = 200_000
    """Less Markdown to convert than this is not worth a process."""

    def __init__(self, pid: int, first: int) -> None:
        self.pid = pid
        self.first = first

    @classmethod
    def start(cls, conversion: Conversion) -> Ahead | None:
        store = conversion.cache
        if store is None or getattr(store, "read_only", True) or not worth_forking():
            return None
        chapters = conversion.book.chapters
        todo = [c.index for c in chapters if store.load(conversion.inputs(c)) is None]
        sizes = {c.index: len(c.markdown) for c in chapters}
        total = sum(sizes[index] for index in todo)
        if len(todo) < cls.MIN_CHAPTERS or total < cls.MIN_BYTES:
            return None
        done, first = 0, todo[-1]
        for index in todo:
            done += sizes[index]
            if done >= total / 2:
                first = index + 1
                break
        if first >= len(chapters):
            return None
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child's work shows in the parent's cache hits
            code = 0
            try:
                log.LOGGER.disabled = True
                guess_ids(conversion.book, chapters[:first])
                ahead = type(conversion)(conversion.book, conversion.code_style, conversion.lang, store)
                for chapter in chapters[first:]:
                    with contextlib.suppress(Exception):
                        ahead.first_pass_cached(chapter)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        return cls(pid, first)

    def wait(self) -> None:
        """Until the process has converted its chapters."""
        if self.pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.pid = 0

    def stop(self) -> None:
        """End the process now, if it still runs (the conversion stopped before :attr:`first`)."""
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self.wait()


_HEADING_LINE = re.compile(r"^#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_FENCE = re.compile(r"^(`{3,}|~{3,}).*?^\1", re.MULTILINE | re.DOTALL)
_INLINE_MARKS = re.compile(r"[`*_]|\]\([^)]*\)|[\[\]]|\{[^}]*\}\s*$")


def guess_ids(book: Book, chapters: list[Chapter]) -> None:
    """Take in ``book`` the ids ``chapters`` would most likely take (their own, their ATX headings'), so that
    the chapters after them, converted ahead (:class:`Ahead`), number a repeated heading as the real book
    does. A wrong guess only costs time: the chapter's entry then does not replay."""

    def take(wanted: str) -> None:
        candidate, n = wanted, 1
        while candidate in book.ids:
            n += 1
            candidate = f"{wanted}-{n}"
        book.ids.add(candidate)

    for chapter in chapters:
        take(slugify(chapter.title or Path(chapter.rel).stem, "chapter"))
        for found in _HEADING_LINE.finditer(_FENCE.sub("", chapter.markdown)):
            take(slugify(_INLINE_MARKS.sub("", found.group(1))))
