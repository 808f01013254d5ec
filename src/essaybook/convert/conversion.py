"""The convert stage's driver: each chapter through the source passes, Python-Markdown and the chapter passes
(or from the conversion cache), then every chapter through the finish passes; chapters re-converted alone for
the live preview; every chapter's EPUB file name."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from pathlib import Path
from typing import Any, Protocol

import markdown
from lxml import html

from essaybook import citations, crossrefs, log
from essaybook.convert import passes
from essaybook.convert.ahead import Ahead
from essaybook.convert.cache import entry_of, replay
from essaybook.convert.context import Context, Record
from essaybook.convert.links import resolve
from essaybook.convert.parse import make_markdown, parse, serialize
from essaybook.errors import ManuscriptError
from essaybook.model import Book, Chapter


class ChapterCache(Protocol):
    """Keeps first passes between builds (see :mod:`essaybook.convert_cache`); ``inputs`` is what names one."""

    def load(self, inputs: list[Any]) -> dict[str, Any] | None:
        """The entry stored for ``inputs``, if any (JSON data, not yet checked)."""

    def store(self, inputs: list[Any], entry: dict[str, Any]) -> None:
        """Keep ``entry`` (JSON data) for ``inputs``."""


def convert_book(
    book: Book, code_style: str = "xcode", lang: str = "en", cache: ChapterCache | None = None
) -> Conversion:
    """Convert every chapter in place: ``html``, ``headings``, ``anchors`` and the book's assets.

    ``lang`` is the book's language; a chapter's own ``lang`` picks its quotation marks. With ``cache``, a
    chapter's first pass is taken from it when nothing the pass read changed, and the result is the same
    as without. The returned :class:`Conversion` can re-convert single chapters later
    (:meth:`Pipeline.reconvert`, for the live preview).
    """
    conversion = Conversion(book, code_style, lang, cache)
    conversion.convert_all()
    return conversion


class Conversion:
    """A converted book whose chapters can be re-converted one at a time, without converting the others.

    A re-converted chapter's ids are made unique against every other chapter's, so the others keep theirs
    (a full build may number a duplicate differently); chapters whose links into it now resolve to other
    ids are re-converted with it.
    """

    def __init__(
        self, book: Book, code_style: str = "xcode", lang: str = "en", cache: ChapterCache | None = None
    ) -> None:
        self.book = book
        self.code_style = code_style
        self.lang = lang
        self.cache = cache
        self.first_passes = 0
        """Chapters converted from their Markdown so far (the others came from :attr:`cache`)."""
        self._parsers: dict[str, tuple[markdown.Markdown, int]] = {}
        """Python-Markdown per language, with how many block-level elements it knows of itself."""
        self._blocks: dict[str, list[str]] = {}
        """Per language, the custom block elements chapters registered, in order (see :mod:`essaybook.mdext`)."""
        self._records: dict[Path, Record] = {}

    def convert_all(self) -> None:
        """Convert every chapter of a book that has not been converted yet.

        Each chapter's first pass (in reading order, against the ids and tags the chapters before it took) comes
        from :attr:`cache` when an entry's every read still holds; the book-wide steps after it always run.
        """
        ahead = Ahead.start(self)
        trees = []
        try:
            for index, chapter in enumerate(log.progress(self.book.chapters)):
                if ahead is not None and index == ahead.first:
                    ahead.wait()
                trees.append(self.first_pass_cached(chapter))
        finally:
            if ahead is not None:
                ahead.stop()
        _report_directives([where for _, _, ctx in trees for where in ctx.record.directives])
        if not citations.cite_book(self.book.citations, trees):  # nothing cited: no reference list
            generated = [t for t in trees if str(t[0].source) == self.book.citations.generated]
            trees = [t for t in trees if t not in generated]
            for chapter, _, _ in generated:
                self.book.chapters.remove(chapter)
        by_path = self._by_path()
        for chapter, root, ctx in trees:
            self._finish(chapter, root, ctx, by_path)
        name_files(self.book)

    def reconvert(self, chapter: Chapter) -> list[Chapter]:
        """Put ``chapter`` (read again from its file) in place of the book's chapter at ``chapter.index``.

        Returns the chapters that were converted: ``chapter`` first, then any whose links now resolve
        differently or whose cross-references and captions print numbers that changed. On an error the book is
        left as it was and the error is raised.
        """
        old = self.book.chapters[chapter.index]
        if old.source.resolve() != chapter.source.resolve():
            raise ValueError(f"{chapter.rel} is not the chapter at index {chapter.index}")
        numbered = crossrefs.signature(self.book)
        self._replace(chapter)
        renumbered = crossrefs.signature(self.book) != numbered
        converted = [chapter]
        by_path = self._by_path()
        for other in list(self.book.chapters):
            if other is chapter:
                continue
            lookups = self._records[other.source.resolve()].lookups
            if (renumbered and crossrefs.depends(other)) or any(
                resolve(by_path[target], fragment, self.book) != found for target, fragment, found in lookups
            ):
                fresh = dataclasses.replace(
                    other,
                    id="",
                    html="",
                    headings=[],
                    anchors={},
                    targets=[],
                    has_title_heading=False,
                    title=other.title if other.title_given else None,
                )
                self._replace(fresh)
                converted.append(fresh)
        name_files(self.book)
        return converted

    def _replace(self, chapter: Chapter) -> None:
        key = chapter.source.resolve()
        old, record = self.book.chapters[chapter.index], self._records.pop(key)
        self._give_back(record, -1)
        self.book.chapters[chapter.index] = chapter
        ctx = Context(self.book, chapter)
        try:
            root = self._first_pass(chapter, ctx)[1]
            _report_directives(ctx.record.directives)
            citations.cite_chapter(self.book.citations, chapter, root, ctx)
            self._finish(chapter, root, ctx, self._by_path())
        except BaseException:
            self._give_back(ctx.record, -1)
            self.book.chapters[chapter.index] = old
            self._give_back(record, 1)
            self._records[key] = record
            raise

    def _give_back(self, record: Record, sign: int) -> None:
        """Remove (``sign`` -1) or restore (+1) what a chapter's conversion added to the book."""
        book = self.book
        if sign < 0:
            book.ids -= record.ids
            book.replaced_tags -= record.replaced
        else:
            book.ids |= record.ids
            book.replaced_tags |= record.replaced
        book.images += sign * record.images
        book.images_without_alt += sign * record.images_without_alt

    def _by_path(self) -> dict[Path, Chapter]:
        return {c.source.resolve(): c for c in self.book.chapters}

    def _lang_of(self, chapter: Chapter) -> str:
        return (chapter.lang or self.lang).split("-")[0].lower()

    def first_pass_cached(self, chapter: Chapter) -> tuple[Chapter, html.HtmlElement, Context]:
        """:meth:`_first_pass` from :attr:`cache` when it has a trusted entry, else run (and kept there)."""
        ctx = Context(self.book, chapter)
        if self.cache is None:
            return self._first_pass(chapter, ctx)
        inputs = self.inputs(chapter)
        entry = self.cache.load(inputs)
        blocks = self._blocks.setdefault(self._lang_of(chapter), [])
        root = replay(entry, ctx, blocks) if entry is not None else None
        if root is not None:
            return chapter, root, ctx
        result = self._first_pass(chapter, ctx)
        entry = entry_of(ctx, result[1])
        if entry is not None:
            self.cache.store(inputs, entry)
        return result

    def inputs(self, chapter: Chapter) -> list[Any]:
        """What names a chapter's cache entry: all its first pass reads but the book-wide state the entry
        records and :func:`~essaybook.convert.cache.replay` checks."""
        return [
            self.code_style,
            self.lang,
            self.book.allow_remote,
            self.book.math,
            cite_mode(self.book),
            str(self.book.root),
            chapter.rel,
            str(chapter.source),
            chapter.markdown,
            chapter.body_line,
            chapter.title,
            chapter.title_given,
            chapter.lang,
        ]

    def _first_pass(self, chapter: Chapter, ctx: Context) -> tuple[Chapter, html.HtmlElement, Context]:
        """Everything but what needs every chapter's ids: the source passes, Markdown, the chapter passes."""
        self.first_passes += 1
        source = chapter.markdown
        for run in passes.SOURCE:
            source = run(source, ctx)
        root = parse(self._markdown(source, ctx))
        for tree_pass in passes.CHAPTER:
            tree_pass(root, ctx)
        return chapter, root, ctx

    def _markdown(self, source: str, ctx: Context) -> str:
        """``source`` converted by the parser of the chapter's language, which keeps the custom block elements
        the chapters before it registered (recorded in ``ctx``, with those this one adds)."""
        chapter_lang = self._lang_of(ctx.chapter)
        if chapter_lang not in self._parsers:
            md = make_markdown(self.code_style, chapter_lang, self.book.math, cite_mode(self.book))
            self._parsers[chapter_lang] = md, len(md.block_level_elements)
        md, builtin = self._parsers[chapter_lang]
        # The parser is shared on purpose: a custom element one chapter registers stays block-level in the
        # chapters after it (a <Listing> whose caption holds a '>' is only recognised as registered before).
        blocks = self._blocks.setdefault(chapter_lang, [])
        ctx.record.blocks = list(blocks)
        md.block_level_elements[builtin:] = blocks
        md.reset()
        try:
            return md.convert(source)
        except RecursionError:
            raise ManuscriptError("nesting too deep to convert", file=ctx.display) from None
        finally:
            ctx.record.blocks_added = md.block_level_elements[builtin + len(blocks) :]
            blocks.extend(ctx.record.blocks_added)

    def _finish(self, chapter: Chapter, root: html.HtmlElement, ctx: Context, by_path: dict[Path, Chapter]) -> None:
        """The finish passes, with every chapter's ids known; then the chapter's XHTML."""
        ctx.by_path, ctx.lang = by_path, self.lang
        for tree_pass in passes.FINISH:
            tree_pass(root, ctx)
        chapter.html = serialize(root)
        self._records[chapter.source.resolve()] = ctx.record


def cite_mode(book: Book) -> tuple[bool, bool]:
    """(a bibliography is set, its style puts citations in notes): what the citation syntax turns into."""
    library = book.citations
    return (library is not None, library is not None and library.note)


_RESERVED_STEMS = frozenset({"cover", "titlepage"})
"""Names of the EPUB's own documents in text/, which no chapter may take."""


def name_files(book: Book) -> None:
    """Give every chapter its EPUB file name (:attr:`Chapter.file_stem`): ASCII, unique, stable across builds.

    Some reading systems and store pipelines mishandle non-ASCII names inside the zip, so the chapter's id is
    transliterated (``chapter-03-café`` -> ``chapter-03-cafe``, letters of other scripts left out); an id
    with nothing left becomes ``ch-<its place>`` (``ch-002``). Collisions are numbered in reading order.
    """
    taken = set(_RESERVED_STEMS)
    for chapter in book.chapters:
        ascii_id = unicodedata.normalize("NFKD", chapter.id).encode("ascii", "ignore").decode()
        stem = re.sub(r"[^A-Za-z0-9_]+", "-", ascii_id).strip("-_")[:60].strip("-_")
        if not re.search("[A-Za-z]", stem):
            stem = f"ch-{chapter.index + 1:03d}" + (f"-{stem}" if stem else "")
        unique, n = stem, 1
        while unique.lower() in taken:
            n += 1
            unique = f"{stem}-{n}"
        taken.add(unique.lower())
        chapter.file_stem = unique


def _report_directives(directives: list[tuple[str, int]]) -> None:
    if directives:
        (file, line), rest = directives[0], len(directives) - 1
        log.warn(
            "mdBook's {{#include}} directives are not expanded; those lines are printed as written",
            kind="mdbook-directive",
            file=file,
            line=line,
            hint="paste the included files in instead",
            more=rest,
        )
