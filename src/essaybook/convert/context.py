"""What one chapter's conversion knows and reports (:class:`Context`), and what it took from the book
(:class:`Record`, so that re-converting the chapter or replaying it from the cache can give it back)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from essaybook import log
from essaybook.diagnostics import Diagnostic
from essaybook.model import Asset, Book, Chapter


class Context:
    """What one chapter's normalisation needs to know and report."""

    def __init__(self, book: Book, chapter: Chapter) -> None:
        self.book = book
        self.chapter = chapter
        self.display = f"manuscript/{chapter.rel}"
        self.lines = chapter.markdown.split("\n")
        self.record = Record()
        self.warnings: list[Diagnostic] = []
        self.by_path: dict[Path, Chapter] = {}
        self.lang = "en"
        """The book's language (set for the finish passes)."""
        """Every chapter of the book by its resolved source: set for the book-wide finish passes only."""

    def line_of(self, needle: str) -> int | None:
        """Line of the first occurrence of ``needle`` in the chapter (case-blind for HTML tag names)."""
        if not needle:
            return None
        lowered = needle.lower()
        for number, line in enumerate(self.lines):
            if needle in line or (needle.startswith("<") and lowered in line.lower()):
                return self.chapter.body_line + number
        return None

    def where(self, needle: str) -> str:
        line = self.line_of(needle)
        return f"{self.display}:{line}" if line else self.display

    def attribute_line(self, name: str, value: str) -> int | None:
        """The line where an attribute ``name`` with ``value`` is written (raw HTML or ``{: name=value }``)."""
        first = value.split("\n")[0]
        for needle in (f'{name}="{first}', f"{name}='{first}", f"{name}={first}", f"{name}="):
            line = self.line_of(needle)
            if line is not None:
                return line
        return None

    def warn(
        self, message: str, *, kind: str, near: str = "", line: int | None = None, hint: str | None = None
    ) -> None:
        """Warn about this chapter at ``line``, or else at the first line that holds ``near``."""
        line = line if line is not None else self.line_of(near)
        self.report(Diagnostic("warning", kind, message, self.display, line, hint))

    def report(self, diagnostic: Diagnostic) -> None:
        """Log ``diagnostic`` as a warning of this chapter (kept with its cache entry)."""
        self.warnings.append(diagnostic)
        log.warn(diagnostic)

    def unique_id(self, wanted: str) -> str:
        candidate, n = wanted, 1
        while self._taken(candidate):
            n += 1
            candidate = f"{wanted}-{n}"
        self.book.ids.add(candidate)
        self.record.ids.add(candidate)
        return candidate

    def _taken(self, candidate: str) -> bool:
        taken = candidate in self.book.ids
        self.record.taken.setdefault(candidate, taken and candidate not in self.record.ids)
        return taken

    def first_report(self, tag: str) -> bool:
        """True the first time the book meets raw HTML ``tag`` (the one time it is warned about)."""
        reported = tag in self.book.replaced_tags
        self.record.reported.setdefault(tag, reported and tag not in self.record.replaced)
        if not reported:
            self.book.replaced_tags.add(tag)
            self.record.replaced.add(tag)
        return not reported


@dataclass
class Record:
    """What converting one chapter took from the book, so that re-converting it can give it back first."""

    ids: set[str] = field(default_factory=set)
    replaced: set[str] = field(default_factory=set)
    """Raw HTML tags whose one warning this chapter gave."""
    images: int = 0
    images_without_alt: int = 0
    directives: list[tuple[str, int]] = field(default_factory=list)
    """(chapter file, line) of each mdBook directive."""
    lookups: list[tuple[Path, str, str | None]] = field(default_factory=list)
    """Each internal link as (target chapter's resolved source, fragment, book-wide id it resolved to)."""
    taken: dict[str, bool] = field(default_factory=dict)
    """Each id the chapter asked whether it was free, and whether an earlier chapter had taken it."""
    reported: dict[str, bool] = field(default_factory=dict)
    """Each raw HTML tag the chapter replaced, and whether an earlier chapter had reported it."""
    files: dict[str, tuple[bool, bool, str, str, str]] = field(default_factory=dict)
    """Each image path the chapter looked at, and what it found there (see :func:`images.file_state`)."""
    assets: list[Asset] = field(default_factory=list)
    """The asset of each image shown, as this chapter registers it when no earlier one did."""
    blocks: list[str] = field(default_factory=list)
    """Custom block elements (``<Listing>``) the chapters before it had registered with its parser."""
    blocks_added: list[str] = field(default_factory=list)
    """Those it registered; they stay block-level in the chapters after it."""
    cacheable: bool = True
    """False when the chapter read what no cache entry can vouch for (an image from the network)."""
