"""The book as the preview holds it: the project watched, re-converted chapter by chapter, published as a Site.

A watcher polls ``manuscript/`` and ``styles/``; a changed chapter is converted again alone through the
pipeline (:meth:`Pipeline.reconvert`), then the EPUB's documents are composed again (only those of the
chapters converted again) and published as one immutable :class:`Site`.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from essaybook import log
from essaybook.diagnostics import Diagnostic
from essaybook.errors import EssaybookError
from essaybook.model import Chapter
from essaybook.pipeline import Pipeline, Project
from essaybook.themes import Theme

SETTLE_SECONDS = 0.05
"""How long a changed file must stay unchanged before it is read."""


def _problem_of(exc: BaseException, root: Path) -> Diagnostic:
    """Why a rebuild failed: shown at the top of every page until the next good rebuild."""
    if isinstance(exc, EssaybookError):
        return exc.diagnostic("build", root)
    message = f"internal error: {type(exc).__name__}: {exc}"
    return Diagnostic("error", "internal", message, hint="a bug in essaybook; please report it")


@dataclass(frozen=True)
class Site:
    """One published state of the book: what the server answers with until the next rebuild."""

    generation: int
    title: str = ""
    files: dict[str, str | bytes | Path] = field(default_factory=dict)
    """URL path without the leading slash (the file's name inside the EPUB) -> XHTML text, bytes or a file."""
    spine: tuple[tuple[str, str], ...] = ()
    """(path, title) of the documents in reading order."""
    warnings: tuple[Diagnostic, ...] = ()
    problem: Diagnostic | None = None
    """Set when the latest rebuild failed; ``files`` are then those of the last good one (if any)."""
    built: int = 0
    """Generation whose build ``files`` come from (0: none built yet)."""
    head: str = ""
    """Markup the preview adds to the head of every page (:func:`reading_view`)."""


class _Capture(logging.Filter):
    """Takes essaybook's warnings off the console while a rebuild runs; the preview shows them in the page."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Diagnostic] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            self.messages.append(log.diagnostic_of(record))
            return False
        return True


@contextmanager
def _captured() -> Iterator[list[Diagnostic]]:
    capture = _Capture()
    log.LOGGER.addFilter(capture)
    try:
        yield capture.messages
    finally:
        log.LOGGER.removeFilter(capture)


def _snapshot(root: Path) -> dict[Path, tuple[int, int]]:
    """(mtime, size) of every file under manuscript/ and styles/: what the watcher compares."""
    found: dict[Path, tuple[int, int]] = {}
    stack = [root / "manuscript", root / "styles"]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not entry.name.startswith("."):
                        stack.append(Path(entry.path))
                elif entry.is_file() and not entry.name.startswith(".") and not entry.name.endswith("~"):
                    # Hidden files and backups are editors' (swap files, atomic-save temporaries), not the book's.
                    info = entry.stat()
                    found[Path(entry.path)] = (info.st_mtime_ns, info.st_size)
            except OSError:
                continue
    return found


class Builder:
    """The book as the preview holds it: loaded, converted, and re-converted chapter by chapter on change.

    The pipeline composes incrementally too (see :meth:`Pipeline.compose_epub`); what the builder adds is the
    watcher, the warnings of each chapter, and the last site that built.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.absolute()
        # Without the conversion cache: the book must stay re-convertible chapter by chapter.
        self.pipeline = Pipeline(self.root, cache=False)
        self.generation = 0
        self.last_good: Site | None = None
        self.failed: set[Path] = set()
        """Chapters whose latest re-conversion failed: tried again on every change."""
        self._seen = _snapshot(self.root)
        self._load_warnings: list[Diagnostic] = []
        self._chapter_warnings: dict[Path, list[Diagnostic]] = {}
        self._shown_warnings: set[Diagnostic] = set()
        self._style_warnings: list[Diagnostic] | None = None
        """What the EPUB's stylesheets warned about when they were last read (None: to be read again)."""

    @property
    def project(self) -> Project | None:
        return self.pipeline.project

    # The watcher ------------------------------------------------------------------------------------

    def changes(self) -> set[Path]:
        """Files added, removed or modified since the last call."""
        now = _snapshot(self.root)
        if now != self._seen:
            # An editor that saves in place truncates, then writes: wait until the files hold still, so that a
            # save in progress is not converted half-written.
            for _ in range(20):
                time.sleep(SETTLE_SECONDS)
                again = _snapshot(self.root)
                if again == now:
                    break
                now = again
        changed = {p for p in now.keys() | self._seen.keys() if now.get(p) != self._seen.get(p)}
        self._seen = now
        return changed

    def rebuild(self, changed: set[Path] | None = None) -> Site | None:
        """Bring the book up to date with ``changed`` files (everything when None) and publish a new site.

        Returns None when none of ``changed`` is part of the book (an editor's backup, an unused file).
        """
        if changed is not None and not self._relevant(changed):
            return None
        start = time.perf_counter()
        self.generation += 1
        what = "the book"
        styles_changed = changed is None or any(p.is_relative_to(self.root / "styles") for p in changed)
        try:
            with _captured() as messages:
                if changed is None or self._needs_full(changed):
                    self._full(messages)
                else:
                    if styles_changed:
                        self.pipeline.reload_theme()
                        self._style_warnings = None
                    what = self._partial(changed, messages)
                site = self._publish(messages)
        except Exception as exc:
            if log.debugging():
                traceback.print_exc()
            problem = _problem_of(exc, self.root)
            previous = self.last_good or Site(generation=0, title=self.root.name)
            site = Site(
                generation=self.generation,
                title=previous.title,
                files=previous.files,
                spine=previous.spine,
                warnings=previous.warnings,
                problem=problem,
                built=previous.built,
            )
            log.report(problem)
            return site
        self.last_good = site
        for warning in site.warnings:
            if warning not in self._shown_warnings:
                log.warn(warning)
        self._shown_warnings = set(site.warnings)
        verb = "Built" if self.generation == 1 else "Rebuilt"
        log.LOGGER.info("%s %s in %.2f s", verb, what, time.perf_counter() - start)
        return site

    def _needs_full(self, changed: set[Path]) -> bool:
        if self.project is None or not self.pipeline.reconvertible:
            return True
        manuscript = self.root / "manuscript"
        chapters = {c.source for c in self.project.book.chapters}
        for path in changed:
            if path == manuscript / "book.toml":
                return True
            # A chapter file that appears or disappears changes the book's order (or is an error to report).
            if (
                path.suffix == ".md"
                and path.is_relative_to(manuscript)
                and (path not in chapters or not path.is_file())
            ):
                return True
        return False

    def _relevant(self, changed: set[Path]) -> bool:
        if self.project is None or self.failed or self._needs_full(changed):
            return True
        book = self.project.book
        used = {c.source for c in book.chapters} | set(book.assets)
        return any(
            path.is_relative_to(self.root / "styles")
            or path in used
            or path.resolve() in used
            or any(path.name in c.markdown for c in book.chapters)
            for path in changed
        )

    def _full(self, messages: list[Diagnostic]) -> None:
        self.failed.clear()
        self._style_warnings = None
        project = self.pipeline.load()
        self.pipeline.convert()
        self._chapter_warnings = {}
        self._load_warnings = self._file_warnings(project.book.chapters, messages, fallback=None)
        messages.clear()

    def _partial(self, changed: set[Path], messages: list[Diagnostic]) -> str:
        """Re-convert the chapters that changed (and those that use a changed image); return what was done."""
        assert self.project is not None
        book = self.project.book
        by_source = {c.source: c for c in book.chapters}
        todo = [by_source[p] for p in sorted(changed | self.failed) if p in by_source]
        others = [p for p in changed if p not in by_source and p.is_relative_to(self.root / "manuscript")]
        for path in others:
            # An image (or other file) a chapter names: its chapters are converted again, so an image that
            # appears or disappears is found or reported as the build would.
            todo.extend(c for c in book.chapters if path.name in c.markdown and c not in todo)
        converted: list[Chapter] = []
        error: Exception | None = None
        for chapter in todo:
            before = len(messages)
            try:
                done = self.pipeline.reconvert(chapter)
            except Exception as exc:
                # The other changed chapters are still converted; the first error is the one shown.
                self.failed.add(chapter.source)
                error = error or exc
                del messages[before:]
                continue
            self.failed.discard(chapter.source)
            self._file_warnings(done, messages[before:], fallback=chapter.source)
            converted.extend(done)
        messages.clear()
        if error is not None:
            raise error
        if not converted:
            return "the styles" if changed else "nothing"
        names = ", ".join(f"manuscript/{c.rel}" for c in converted[:3])
        more = f" and {len(converted) - 3} more" if len(converted) > 3 else ""
        return names + more

    def _file_warnings(
        self, chapters: list[Chapter], messages: list[Diagnostic], fallback: Path | None
    ) -> list[Diagnostic]:
        """Replace the warnings of ``chapters`` with ``messages``, each filed under the chapter it names (else
        under ``fallback``); return those that name no chapter when there is no fallback."""
        for chapter in chapters:
            self._chapter_warnings[chapter.source] = []
        sources = {f"manuscript/{c.rel}": c.source for c in chapters}
        unowned = []
        for message in messages:
            owner = sources.get(message.file or "", fallback)
            if owner is None:
                unowned.append(message)
            else:
                self._chapter_warnings.setdefault(owner, []).append(message)
        return unowned

    def _publish(self, messages: list[Diagnostic]) -> Site:
        """Compose the EPUB's documents from the current book: the site the server answers with."""
        assert self.project is not None
        book, pipeline = self.project.book, self.pipeline
        meta = pipeline.resolve_meta()
        if self._style_warnings is None:
            before = len(messages)
            pipeline.epub_styles()
            self._style_warnings = messages[before:]
            del messages[before:]
        messages.extend(self._style_warnings)
        composed = pipeline.compose_epub()
        files = pipeline.epub_files(composed)
        view_files, head = reading_view(self.project.theme, self.project.config.epub.embed_fonts)
        files.update(view_files)
        spine = [(d.name, d.title) for d in composed.spine]
        order = {c.source: i for i, c in enumerate(book.chapters)}
        chapter_warnings = sorted(self._chapter_warnings.items(), key=lambda item: order.get(item[0], len(order)))
        # ``messages`` now holds what composing warned about (book.toml defaults, stylesheets).
        warnings = [*self._load_warnings, *messages, *[m for _, found in chapter_warnings for m in found]]
        return Site(
            generation=self.generation,
            title=meta.title,
            files=files,
            spine=tuple(spine),
            warnings=tuple(dict.fromkeys(warnings)),
            built=self.generation,
            head=head,
        )


READING_CSS = (
    "body { max-width: 36em; margin: 2.5em auto 4em; padding: 0 1.5em; }\nimg, svg, table, pre { max-width: 100%; }\n"
)
"""The preview's page: a readable measure, centred (a reading system sets its own; a browser window does not)."""


def reading_view(theme: Theme, embed_fonts: bool) -> tuple[dict[str, str | bytes | Path], str]:
    """What the preview adds to the EPUB's files, and the markup it adds to each page's head, so that the book
    reads in its theme's fonts at a readable measure: the theme's ``fonts.css`` and font files (an EPUB
    carries them only with ``[epub] embed-fonts``), served under the names the EPUB would give them."""
    files: dict[str, str | bytes | Path] = {}
    head = ""
    fonts_css = theme.find_css("fonts.css", project=False)
    if fonts_css is not None and not embed_fonts:
        href = f"theme/{fonts_css.parent.parent.name}-fonts.css"  # stylesheets.epub_styles' name for it
        files[href] = fonts_css
        files.update((f"fonts/{font.name}", font) for font in theme.fonts())
        head += f'<link rel="stylesheet" href="/{href}"/>\n'
    head += f'<style id="essaybook-reading">{READING_CSS}</style>\n'
    return files, head
