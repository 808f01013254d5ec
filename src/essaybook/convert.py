"""Stage 2: chapter Markdown -> well-formed XHTML fragments with book-wide ids, resolved links and assets.

Python-Markdown does the conversion; the result is then normalised on an lxml tree, because raw HTML is
stashed by Python-Markdown and never reaches its treeprocessors: one pass over the final tree is the only
place that sees Markdown and raw HTML alike (ids, links, images, notes, XHTML repair).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import re
import signal
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import markdown
from lxml import etree, html

from essaybook import citations, contentmodel, log, mathtex
from essaybook.diagnostics import Diagnostic
from essaybook.errors import ManuscriptError
from essaybook.langtag import is_language_tag
from essaybook.mdext import EssaybookExtension
from essaybook.media import IMAGE_SUFFIX, NAMES, sniff_file, suffix_fits
from essaybook.model import IMAGE_TYPES, ROLES, Asset, Book, Chapter, Heading
from essaybook.pandoc import MAX_DIV_NESTING, NOTE_PREFIX, PandocExtension, finish_tree, report_dialects, too_deep
from essaybook.paths import inside, read_regular
from essaybook.remote import CACHE, RemoteError, fetch_image
from essaybook.stylesheets import map_style
from essaybook.svg import BadSvg, clean_svg
from essaybook.text import QUOTES
from essaybook.urls import BadUrl, is_web, normalise

_DATA_URI_RE = re.compile(r"data:[^\s)\"'>]{1024,}")
_DIRECTIVE_RE = re.compile(r"\{\{#(?:include|rustdoc_include|playground|title)\b")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_ATTR_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")

# HTML elements an EPUB 3 content document may hold (XHTML5, minus scripting, forms and embedding), and those
# that hold text only: both from the content model's table.
_ELEMENTS = frozenset(contentmodel.SPECS) - {"body"}
_INLINE = frozenset(
    tag
    for tag, spec in contentmodel.SPECS.items()
    if contentmodel.PHRASING in spec.categories and spec.content in ("phrasing", "empty") and not spec.children
) | {"a"}
_DANGEROUS = frozenset(
    [
        "script",
        "style",
        "iframe",
        "object",
        "embed",
        "form",
        "input",
        "button",
        "select",
        "textarea",
        "frame",
        "frameset",
        "applet",
        "base",
        "link",
        "meta",
        "noscript",
        "template",
        "canvas",
        "audio",
        "video",
        "source",
        "track",
        "math",
        "svg",
    ]
)
_GLOBAL_ATTRS = contentmodel.GLOBAL_ATTRIBUTES
_ELEMENT_ATTRS = {tag: spec.attributes for tag, spec in contentmodel.SPECS.items()}


def make_markdown(
    code_style: str = "xcode", lang: str = "en", math: bool = True, cite: tuple[bool, bool] = (False, False)
) -> markdown.Markdown:
    """The Python-Markdown instance for chapters in ``lang`` (reset between chapters); ``math``: TeX between
    dollars is math (:mod:`essaybook.mathtex`), else plain text; ``cite``: (a bibliography is set, its style is a
    note style) for :mod:`essaybook.citations`."""
    quotes = QUOTES.get(lang.split("-")[0].lower(), {})
    return markdown.Markdown(
        extensions=[
            "footnotes",
            "tables",
            "fenced_code",
            "codehilite",
            "attr_list",
            "def_list",
            "abbr",
            "admonition",
            "smarty",
            "md_in_html",
            "sane_lists",
            EssaybookExtension(),
            PandocExtension(),
            *([mathtex.MathExtension()] if math else []),
            citations.CitationExtension(*cite),
        ],
        extension_configs={
            "footnotes": {"SEPARATOR": "-", "BACKLINK_TEXT": "\u21a9", "BACKLINK_TITLE": "Back to note %d"},
            "codehilite": {"guess_lang": False, "css_class": "codehilite", "pygments_style": code_style},
            "smarty": {"substitutions": quotes},
        },
        output_format="xhtml",
    )


def slugify(text: str, fallback: str = "section") -> str:
    """A readable id from heading text: lower case, letters and digits of any script, hyphens."""
    text = unicodedata.normalize("NFKC", text).lower()
    slug = re.sub(r"[^\w]+", "-", text, flags=re.UNICODE).strip("-_")
    slug = slug[:60].strip("-") or fallback
    if not slug[0].isalpha():
        slug = f"{fallback}-{slug}"
    return slug


def web_slug(text: str) -> str:
    """The anchor GitHub and mdBook give a heading: lower case, punctuation dropped, each space a hyphen."""
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


class _Context:
    """What one chapter's normalisation needs to know and report."""

    def __init__(self, book: Book, chapter: Chapter) -> None:
        self.book = book
        self.chapter = chapter
        self.display = f"manuscript/{chapter.rel}"
        self.lines = chapter.markdown.split("\n")
        self.record = _Record()
        self.warnings: list[Diagnostic] = []

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

    def warn(
        self, message: str, *, kind: str, near: str = "", line: int | None = None, hint: str | None = None
    ) -> None:
        """Warn about this chapter at ``line``, or else at the first line that holds ``near``."""
        line = line if line is not None else self.line_of(near)
        diagnostic = Diagnostic("warning", kind, message, self.display, line, hint)
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
class _Record:
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
    """Each image path the chapter looked at, and what it found there (see :func:`_file_state`)."""
    assets: list[Asset] = field(default_factory=list)
    """The asset of each image shown, as this chapter registers it when no earlier one did."""
    blocks: list[str] = field(default_factory=list)
    """Custom block elements (``<Listing>``) the chapters before it had registered with its parser."""
    blocks_added: list[str] = field(default_factory=list)
    """Those it registered; they stay block-level in the chapters after it."""
    cacheable: bool = True
    """False when the chapter read what no cache entry can vouch for (an image from the network)."""


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
        self._records: dict[Path, _Record] = {}

    def convert_all(self) -> None:
        """Convert every chapter of a book that has not been converted yet.

        Each chapter's first pass (in reading order, against the ids and tags the chapters before it took) comes
        from :attr:`cache` when an entry's every read still holds; the book-wide steps after it always run.
        """
        ahead = _Ahead.start(self)
        trees = []
        try:
            for index, chapter in enumerate(log.progress(self.book.chapters)):
                if ahead is not None and index == ahead.first:
                    ahead.wait()
                trees.append(self._first_pass_cached(chapter))
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
        differently. On an error the book is left as it was and the error is raised.
        """
        old = self.book.chapters[chapter.index]
        if old.source.resolve() != chapter.source.resolve():
            raise ValueError(f"{chapter.rel} is not the chapter at index {chapter.index}")
        self._replace(chapter)
        converted = [chapter]
        by_path = self._by_path()
        for other in list(self.book.chapters):
            if other is chapter:
                continue
            lookups = self._records[other.source.resolve()].lookups
            if any(_resolve(by_path[target], fragment, self.book) != found for target, fragment, found in lookups):
                fresh = dataclasses.replace(
                    other,
                    id="",
                    html="",
                    headings=[],
                    anchors={},
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
        ctx = _Context(self.book, chapter)
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

    def _give_back(self, record: _Record, sign: int) -> None:
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

    def _first_pass_cached(self, chapter: Chapter) -> tuple[Chapter, html.HtmlElement, _Context]:
        """:meth:`_first_pass` from :attr:`cache` when it has a trusted entry, else run (and kept there)."""
        ctx = _Context(self.book, chapter)
        if self.cache is None:
            return self._first_pass(chapter, ctx)
        inputs = self._inputs(chapter)
        entry = self.cache.load(inputs)
        blocks = self._blocks.setdefault(self._lang_of(chapter), [])
        root = _replay(entry, ctx, blocks) if entry is not None else None
        if root is not None:
            return chapter, root, ctx
        result = self._first_pass(chapter, ctx)
        entry = _entry(ctx, result[1])
        if entry is not None:
            self.cache.store(inputs, entry)
        return result

    def _inputs(self, chapter: Chapter) -> list[Any]:
        """What names a chapter's cache entry: all its first pass reads but the book-wide state the entry
        records and :func:`_replay` checks."""
        return [
            self.code_style,
            self.lang,
            self.book.allow_remote,
            self.book.math,
            _cite_mode(self.book),
            str(self.book.root),
            chapter.rel,
            str(chapter.source),
            chapter.markdown,
            chapter.body_line,
            chapter.title,
            chapter.title_given,
            chapter.lang,
        ]

    def _first_pass(self, chapter: Chapter, ctx: _Context) -> tuple[Chapter, html.HtmlElement, _Context]:
        """Everything but links (which need every chapter's ids): Markdown, ids, notes, images, figures."""
        self.first_passes += 1
        book = self.book
        images, without_alt = book.images, book.images_without_alt
        chapter_lang = self._lang_of(chapter)
        if chapter_lang not in self._parsers:
            md = make_markdown(self.code_style, chapter_lang, book.math, _cite_mode(book))
            self._parsers[chapter_lang] = md, len(md.block_level_elements)
        md, builtin = self._parsers[chapter_lang]
        # The parser is shared on purpose: a custom element one chapter registers stays block-level in the
        # chapters after it (a <Listing> whose caption holds a '>' is only recognised as registered before).
        blocks = self._blocks.setdefault(chapter_lang, [])
        ctx.record.blocks = list(blocks)
        md.block_level_elements[builtin:] = blocks
        source = chapter.markdown
        if _CONTROL_RE.search(source):
            line = next(i for i, text in enumerate(ctx.lines) if _CONTROL_RE.search(text)) + chapter.body_line
            ctx.warn("control characters removed (XHTML cannot hold them)", kind="control-characters", line=line)
            source = _CONTROL_RE.sub("", source)
        _check_nesting(source, ctx)
        _check_comments(ctx)
        _check_divs(ctx)
        report_dialects(ctx.lines, ctx.display, chapter.body_line, ctx.warnings)
        # Long data: URIs are cut before parsing: libxml2 stops at 10 MB of text and would drop the rest of the
        # chapter, and embedded images are not kept anyway (see _images).
        source = _DATA_URI_RE.sub("data:,", source)
        for found in _DIRECTIVE_RE.finditer(source):
            ctx.record.directives.append((ctx.display, source[: found.start()].count("\n") + chapter.body_line))
        md.reset()
        try:
            converted = md.convert(source)
        except RecursionError:
            raise ManuscriptError("nesting too deep to convert", file=ctx.display) from None
        finally:
            ctx.record.blocks_added = md.block_level_elements[builtin + len(blocks) :]
            blocks.extend(ctx.record.blocks_added)
        root = _parse(converted)
        chapter.id = ctx.unique_id(slugify(chapter.title or Path(chapter.rel).stem, "chapter"))
        _check_paragraphs(root, ctx)
        finish_tree(
            root,
            lambda message, near: ctx.warn(message, kind="image-size", line=_attribute_line(ctx, *near.split("=", 1))),
        )
        _clean(root, ctx)
        _assign_ids(root, ctx)
        _notes(root, ctx)
        _landmarks(root, ctx)
        _table_headers(root)
        try:
            _images(root, ctx)
        finally:
            ctx.record.images = book.images - images
            ctx.record.images_without_alt = book.images_without_alt - without_alt
        _figures(root)
        mathtex.render(root, lambda message, tex: ctx.warn(message, kind="math", near=tex.split("\n")[0]))
        return chapter, root, ctx

    def _finish(self, chapter: Chapter, root: html.HtmlElement, ctx: _Context, by_path: dict[Path, Chapter]) -> None:
        _links(root, ctx, by_path)
        mathtex.link(
            root,
            mathtex.label_numbers([c.anchors for c in self.book.chapters]),
            lambda message, near: ctx.warn(message, kind="math-ref", near=near),
        )
        _fit(root, ctx)
        chapter.html = "".join(_serialize(child) for child in root)
        if root.text and root.text.strip():
            chapter.html = _escape(root.text) + chapter.html
        self._records[chapter.source.resolve()] = ctx.record


def _cite_mode(book: Book) -> tuple[bool, bool]:
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


class _Ahead:
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
    def start(cls, conversion: Conversion) -> _Ahead | None:
        store = conversion.cache
        if (
            store is None
            or getattr(store, "read_only", True)
            or not hasattr(os, "fork")
            or (os.cpu_count() or 1) < 2
            or threading.active_count() > 1  # a fork copies no other thread, so no lock they hold is freed
        ):
            return None
        chapters = conversion.book.chapters
        todo = [c.index for c in chapters if store.load(conversion._inputs(c)) is None]
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
                _guess_ids(conversion.book, chapters[:first])
                ahead = Conversion(conversion.book, conversion.code_style, conversion.lang, store)
                for chapter in chapters[first:]:
                    with contextlib.suppress(Exception):
                        ahead._first_pass_cached(chapter)
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


def _guess_ids(book: Book, chapters: list[Chapter]) -> None:
    """Take in ``book`` the ids ``chapters`` would most likely take (their own, their ATX headings'), so that
    the chapters after them, converted ahead (:class:`_Ahead`), number a repeated heading as the real book
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


def _entry(ctx: _Context, root: html.HtmlElement) -> dict[str, Any] | None:
    """A first pass as JSON data for :func:`_replay`; None when it cannot be kept."""
    record, chapter = ctx.record, ctx.chapter
    tree = _tree_json(root)
    if tree is None or not record.cacheable:
        return None
    return {
        "id": chapter.id,
        "title": chapter.title,
        "has_title_heading": chapter.has_title_heading,
        "headings": [[h.level, h.text, h.id] for h in chapter.headings],
        "anchors": chapter.anchors,
        "tree": tree,
        "taken": record.taken,
        "reported": record.reported,
        "files": record.files,
        "blocks": record.blocks,
        "blocks_added": record.blocks_added,
        "ids": sorted(record.ids),
        "replaced": sorted(record.replaced),
        "images": record.images,
        "images_without_alt": record.images_without_alt,
        "directives": record.directives,
        "assets": [[str(a.source), a.href, a.media_type, a.used_at] for a in record.assets],
        "warnings": [w.as_dict() for w in ctx.warnings],
    }


def _replay(entry: dict[str, Any], ctx: _Context, blocks: list[str]) -> html.HtmlElement | None:
    """Do to ``ctx``'s chapter, its book and its parser's custom ``blocks`` what the first pass :func:`_entry`
    kept did, and return its tree.

    Only when every read it recorded gives the same answer now (each id it asked for is taken or free as then,
    each raw HTML tag reported or not, each image path the same file, the same custom block elements known);
    otherwise, or when ``entry`` is not what :func:`_entry` makes, None and nothing is changed.
    """
    book, chapter = ctx.book, ctx.chapter
    try:
        taken = {str(name): bool(was) for name, was in entry["taken"].items()}
        reported = {str(tag): bool(was) for tag, was in entry["reported"].items()}
        files = {
            str(path): (bool(a), bool(b), str(c), str(d), str(e)) for path, (a, b, c, d, e) in entry["files"].items()
        }
        known, added = [str(tag) for tag in entry["blocks"]], [str(tag) for tag in entry["blocks_added"]]
        if (
            set(known) != set(blocks)
            or any((name in book.ids) != was for name, was in taken.items())
            or any((tag in book.replaced_tags) != was for tag, was in reported.items())
            or any(_file_state(Path(path), book.root) != state for path, state in files.items())
        ):
            return None
        record = _Record(
            ids={str(name) for name in entry["ids"]},
            replaced={str(tag) for tag in entry["replaced"]},
            images=int(entry["images"]),
            images_without_alt=int(entry["images_without_alt"]),
            directives=[(str(file), int(line)) for file, line in entry["directives"]],
            taken=taken,
            reported=reported,
            files=files,
            blocks=known,
            blocks_added=added,
            assets=[Asset(Path(source), str(href), str(kind), str(at)) for source, href, kind, at in entry["assets"]],
        )
        headings = [Heading(int(level), str(text), str(id_)) for level, text, id_ in entry["headings"]]
        anchors = {str(name): str(id_) for name, id_ in entry["anchors"].items()}
        title = entry["title"]
        warnings = [Diagnostic.from_dict(w) for w in entry["warnings"]]
        root = _tree_of(entry["tree"])
        chapter_id, has_title_heading = str(entry["id"]), bool(entry["has_title_heading"])
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return None
    book.ids |= record.ids
    book.replaced_tags |= record.replaced
    book.images += record.images
    book.images_without_alt += record.images_without_alt
    for asset in record.assets:
        book.assets.setdefault(asset.source, asset)
    blocks.extend(added)
    chapter.id, chapter.headings, chapter.anchors = chapter_id, headings, anchors
    chapter.title = None if title is None else str(title)
    chapter.has_title_heading = has_title_heading
    ctx.record = record
    for warning in warnings:
        ctx.warnings.append(warning)
        log.report(warning)
    return root


def _tree_json(root: html.HtmlElement) -> list[list[Any]] | None:
    """``root``'s elements in document order as [parent's index, tag, attributes, text, tail], for :func:`_tree_of`.

    None when the tree holds anything but elements (the first pass leaves no comments).
    """
    index: dict[etree._Element, int] = {}
    nodes: list[list[Any]] = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            return None
        parent = element.getparent()
        index[element] = len(nodes)
        nodes.append(
            [
                -1 if element is root or parent is None else index[parent],
                element.tag,
                list(element.attrib.items()),
                element.text,
                element.tail,
            ]
        )
    return nodes


def _tree_of(nodes: list[list[Any]]) -> html.HtmlElement:
    """The tree :func:`_tree_json` wrote, attributes in their order."""
    root = html.Element(nodes[0][1])
    elements: list[etree._Element] = []
    for parent, tag, attributes, text, tail in nodes:
        if elements and not 0 <= parent < len(elements):
            raise ValueError(f"no parent {parent} for element {len(elements)}")
        # MathML and SVG (see mathtex) keep their namespace as the default one, as the first pass made them.
        nsmap = {None: tag[1 : tag.index("}")]} if tag.startswith("{") else None
        element = etree.SubElement(elements[parent], tag, nsmap=nsmap) if elements else root
        for name, value in attributes:
            element.set(name, value)
        element.text, element.tail = text, tail
        elements.append(element)
    return root


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


def _resolve(target: Chapter, fragment: str, book: Book) -> str | None:
    """The book-wide id a link to ``fragment`` in ``target`` leads to (the chapter itself when empty)."""
    if not fragment:
        return target.id
    return target.anchors.get(fragment) or (fragment if fragment in book.ids else None)


MAX_NESTING = 50
"""Deepest nesting of blockquotes or lists a chapter may have; deeper input would exhaust the stack."""
_QUOTE_RE = re.compile(r"^(?:[ \t]{0,3}>)+")


_FENCE_RE = re.compile(r"^\s{0,3}(```|~~~)")
_CODE_SPAN_RE = re.compile(r"`+[^`]*`+")


def _check_comments(ctx: _Context) -> None:
    """Warn about an HTML comment that is opened and never closed: Python-Markdown then prints it as text.

    Code (fenced blocks and code spans) is skipped: an HTML example there is text on purpose.
    """
    fenced = False
    opened: int | None = None
    for number, line in enumerate(ctx.lines):
        if _FENCE_RE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        text = _CODE_SPAN_RE.sub("", line)
        position = 0
        while True:
            if opened is None:
                start = text.find("<!--", position)
                if start < 0:
                    break
                opened, position = number, start + 4
            else:
                end = text.find("-->", position)
                if end < 0:
                    break
                opened, position = None, end + 3
    if opened is not None:
        ctx.warn(
            "an HTML comment (<!--) is never closed; it and the text after it are printed as they are written",
            kind="unclosed-comment",
            line=ctx.chapter.body_line + opened,
            hint="close it with -->",
        )


def _check_nesting(source: str, ctx: _Context) -> None:
    """Refuse absurdly deep blockquotes and lists before Python-Markdown and WeasyPrint recurse into them."""
    for number, line in enumerate(source.split("\n")):
        quotes = _QUOTE_RE.match(line)
        depth = quotes.group(0).count(">") if quotes else 0
        indent = len(line) - len(line.lstrip(" \t"))
        if depth > MAX_NESTING or indent > 4 * MAX_NESTING:
            what = "blockquotes" if depth > MAX_NESTING else "indented blocks (lists or code)"
            raise ManuscriptError(
                f"{what} nested deeper than {MAX_NESTING} levels",
                file=ctx.display,
                line=ctx.chapter.body_line + number,
                hint="no book needs that; flatten the structure",
            )


def _check_divs(ctx: _Context) -> None:
    """Refuse fenced divs nested absurdly deep, as :func:`_check_nesting` does blockquotes."""
    line = too_deep(ctx.lines)
    if line is not None:
        raise ManuscriptError(
            f"fenced divs (:::) nested deeper than {MAX_DIV_NESTING} levels",
            file=ctx.display,
            line=ctx.chapter.body_line + line,
            hint="no book needs that; close each div with its own ::: line",
        )


MAX_PARAGRAPH = 100_000
"""Characters one paragraph may hold: line breaking a longer one takes WeasyPrint minutes."""


def _check_paragraphs(root: html.HtmlElement, ctx: _Context) -> None:
    """Refuse a runaway paragraph (a file with no blank lines) before page layout spends minutes on it."""
    for element in root.iter("p", "li", "dd", "td", "th"):
        if element.tag != "p" and element.find(".//p") is not None:
            continue  # its paragraphs are checked one by one
        text = element.text_content()
        if len(text) > MAX_PARAGRAPH:
            raise ManuscriptError(
                f"a paragraph of {len(text):,} characters is too long to set (the limit is {MAX_PARAGRAPH:,})",
                file=ctx.display,
                line=ctx.line_of(text.strip()[:40]),
                hint="separate paragraphs with blank lines",
            )


def _parse(converted: str) -> html.HtmlElement:
    if not converted.strip():
        return html.fragment_fromstring("<div></div>")
    root = html.fragment_fromstring(converted, create_parent="div")
    contentmodel.hoist_void(root)
    return root


def _serialize(element: etree._Element) -> str:
    return str(etree.tostring(element, encoding="unicode", method="xml", with_tail=True))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clean(root: html.HtmlElement, ctx: _Context) -> None:
    """Make raw HTML fit XHTML in an EPUB: known elements and attributes only, no scripts or embeds."""
    for node in list(root.iter(etree.Comment, etree.ProcessingInstruction)):
        _drop_keep_tail(node)
    for element in list(root.iter()):
        if not isinstance(element.tag, str) or element is root:
            continue
        tag = element.tag.lower()
        if tag in _DANGEROUS:
            ctx.warn(
                f"<{tag}> removed; an e-book and a printed page cannot hold it", kind="unsafe-html", near="<" + tag
            )
            _drop_keep_tail(element)
            continue
        if tag not in _ELEMENTS:
            block = any(isinstance(c.tag, str) and c.tag not in _INLINE for c in element.iterdescendants())
            caption = (element.get("caption") or "").strip()
            new = ("figure" if caption else "div") if block else "span"
            if new == "figure":
                # A captioned wrapper such as mdBook's <Listing caption="…"> reads as a captioned figure.
                if "<code>" not in caption:  # plain attribute text: escape it, then `code` spans
                    caption = caption.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                    caption = re.sub(r"`([^`]+)`", r"<code>\1</code>", caption)
                figcaption = html.fragment_fromstring(f"<figcaption>{caption}</figcaption>")
                for inner in list(figcaption.iter()):
                    if inner is not figcaption and inner.tag not in ("code", "em", "strong", "i", "b"):
                        inner.drop_tag()
                element.insert(0, figcaption)
                del element.attrib["caption"]
                figcaption.tail, element.text = element.text, None
            if ctx.first_report(tag):
                ctx.warn(
                    f"raw HTML <{tag}> is not an XHTML element; kept its content as <{new}>",
                    kind="raw-html",
                    near="<" + tag,
                )
            for name, value in list(element.attrib.items()):
                if name not in _GLOBAL_ATTRS and _ATTR_NAME_RE.match(name) and not name.startswith("data-"):
                    element.attrib[f"data-{name.lower()}"] = value
            element.tag = new
            element.attrib["class"] = (element.get("class", "") + f" x-{_css_name(tag)}").strip()
            tag = new
        allowed = _ELEMENT_ATTRS.get(tag, frozenset())
        for name in list(element.attrib):
            lower = name.lower()
            keep = lower == "epub:type" or (
                _ATTR_NAME_RE.match(name)
                and (lower in _GLOBAL_ATTRS or lower in allowed or lower.startswith(("data-", "aria-")))
            )
            if not keep:
                css = contentmodel.as_css(tag, lower, element.attrib[name])
                if css:  # <p align="center">, <img align="right">, <td width="30%">: the look is kept as CSS
                    style = element.get("style", "").strip().rstrip(";")
                    element.set("style", f"{style}; {css}" if style else css)
                del element.attrib[name]
            elif lower in ("href", "src") and element.attrib[name].strip().lower().startswith(
                ("javascript:", "vbscript:")
            ):
                ctx.warn("script link removed", kind="unsafe-html", near=element.attrib[name][:30])
                del element.attrib[name]
            elif (
                lower in ("lang", "hreflang") and element.attrib[name] and not _mendable_language(element.attrib[name])
            ):
                value = element.attrib.pop(name)
                ctx.warn(
                    f"{lower}={value!r} is not a BCP 47 language tag; the attribute is left out",
                    kind="lang",
                    line=_attribute_line(ctx, lower, value),
                    hint="write a tag such as 'en', 'de-CH' or 'zh-Hant'",
                )
            elif lower == "cite":
                _cite(element, name, ctx)
            elif lower == "style":
                _style(element, name, ctx)
    # An unclosed inline tag in raw HTML (<em> never closed) swallows the blocks after it, which XHTML forbids:
    # keep its content, drop the tag.
    for element in list(root.iter()):
        if not isinstance(element.tag, str) or element is root or element.tag not in _INLINE:
            continue
        inner = next((d for d in element.iterdescendants() if isinstance(d.tag, str) and d.tag not in _INLINE), None)
        if inner is not None:
            closed = any(f"</{element.tag}" in line.lower() for line in ctx.lines)
            if closed and element.tag == "a":
                continue  # a link around a block: the content-model check keeps the link (see _fit)
            ctx.warn(
                f"<{element.tag}> holds a <{inner.tag}>, which it may not; its tag is left out, its content kept"
                if closed
                else f"<{element.tag}> is never closed; it is left out so the paragraphs after it stay paragraphs",
                kind="unclosed-html",
                near="<" + element.tag,
            )
            element.drop_tag()


def _mendable_language(value: str) -> bool:
    """A BCP 47 tag, or one written the POSIX way (``en_US``), which the content model mends."""
    return is_language_tag(value) or is_language_tag(value.replace("_", "-"))


def _attribute_line(ctx: _Context, name: str, value: str) -> int | None:
    """The line where an attribute ``name`` with ``value`` is written (raw HTML or ``{: name=value }``)."""
    first = value.split("\n")[0]
    for needle in (f'{name}="{first}', f"{name}='{first}", f"{name}={first}", f"{name}="):
        line = ctx.line_of(needle)
        if line is not None:
            return line
    return None


def _cite(element: etree._Element, name: str, ctx: _Context) -> None:
    """A ``cite`` URL (of a quotation or an edit) made valid, or left out when it is no web link."""
    value = element.attrib[name]
    try:
        element.attrib[name] = normalise(value)
    except BadUrl as exc:
        del element.attrib[name]
        ctx.warn(f"cite={value!r} is left out: {exc}", kind="bad-url", line=_attribute_line(ctx, "cite", value))


_DATA_IMAGE_RE = re.compile(r"data:image/(?:png|jpeg|gif|webp|svg\+xml)[;,]", re.IGNORECASE)


def _style(element: etree._Element, name: str, ctx: _Context) -> None:
    """A ``style`` attribute under the policy stylesheets follow: each ``url()`` is a file in the book project
    (packed into the EPUB like an image), a data: image or a fragment; a declaration whose URL leads to the
    network, to ``file:`` or outside the project is left out with a warning, so no local path reaches the EPUB.
    """
    value = element.attrib[name]
    line = _attribute_line(ctx, "style", value)
    warned = False

    def change(url: str, _line: int) -> str | None:
        nonlocal warned
        if _DATA_IMAGE_RE.match(url) or url.startswith("#"):
            return url
        path = unquote(urlsplit(url).path)
        if _SCHEME_RE.match(url) or url.startswith(("/", "\\")) or "\\" in url or not path:
            warned = True
            ctx.warn(
                f"style: url({url}) is not a file in the book project; the declaration is left out",
                kind="css-url",
                line=line,
                hint="put images next to the chapter and refer to them by relative path",
            )
            return None
        href = _asset(ctx, ctx.chapter.source.parent / path, url, url, ctx.where(url), image=False)
        warned = warned or href is None
        return href

    def refused(declaration: str) -> None:
        if not warned:
            ctx.warn(f"style: {declaration!r} does not parse; it is left out", kind="css-url", line=line)

    cleaned = map_style(value, change, refused)
    if cleaned:
        element.attrib[name] = cleaned
    else:
        del element.attrib[name]


CONTENT_MODEL_HINT = "an EPUB's XHTML follows the HTML content model; EPUBCheck refuses it as written"


def _fit(root: html.HtmlElement, ctx: _Context) -> None:
    """Mend what raw HTML left outside the XHTML content model; one warning per kind of repair, at its first place."""
    grouped: dict[str, list[contentmodel.Repair]] = {}
    for repair in contentmodel.repair(root):
        grouped.setdefault(repair.message, []).append(repair)
    for message, same in grouped.items():
        line = next((found for needle in same[0].near if (found := ctx.line_of(needle))), None)
        diagnostic = Diagnostic(
            "warning", "content-model", message, ctx.display, line, CONTENT_MODEL_HINT, more=len(same) - 1
        )
        ctx.warnings.append(diagnostic)
        log.warn(diagnostic)


def _css_name(tag: str) -> str:
    return re.sub(r"[^a-z0-9-]", "-", tag.lower())


def _drop_keep_tail(node: etree._Element) -> None:
    parent = node.getparent()
    if parent is None:
        return
    tail = node.tail
    previous = node.getprevious()
    parent.remove(node)
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


def _assign_ids(root: html.HtmlElement, ctx: _Context) -> None:
    """Give every heading an id and make every id unique across the whole book."""
    chapter = ctx.chapter
    first = next((e for e in root if isinstance(e.tag, str)), None)
    shift = 0
    for element in root.iter():
        if element is root or not isinstance(element.tag, str):
            continue
        old = element.get("id")
        is_heading = element.tag in _HEADINGS
        if old is None and not is_heading:
            continue
        text = " ".join(element.text_content().split())
        local = old or slugify(text)
        new = ctx.unique_id(slugify(local) if old is None else _safe_id(old))
        element.set("id", new)
        chapter.anchors.setdefault(local, new)
        if is_heading:
            # Links written for GitHub or mdBook use their slugs, which keep every hyphen.
            chapter.anchors.setdefault(web_slug(text), new)
            written = int(element.tag[1])
            if not chapter.headings and written > 2:
                # A chapter that opens at h3 or deeper skips levels for screen readers: lift all its headings.
                shift = written - 2
                ctx.warn(
                    f"the chapter opens with a level-{written} heading; its headings "
                    f"are set {shift} level{'s' * (shift > 1)} higher",
                    kind="heading-level",
                    near=text[:40],
                )
            level = max(1, written - shift)
            previous = chapter.headings[-1].level if chapter.headings else level
            if level != written:
                element.tag = f"h{level}"
            if level > previous + 1:
                # Screen readers navigate by heading level; a skipped level reads as a missing section.
                ctx.warn(
                    f"heading level jumps from {previous} to {level} at '{text}'; set as level {previous + 1}",
                    kind="heading-level",
                    near=text[:40],
                )
                level = previous + 1
                element.tag = f"h{level}"
            if text:  # an empty heading has no place in a table of contents
                chapter.headings.append(Heading(level=level, text=text, id=new))
    if first is not None and first.tag in _HEADINGS and chapter.headings:
        heading = chapter.headings[0]
        chapter.has_title_heading = not chapter.title_given or chapter.title == heading.text
        if not chapter.title_given:
            chapter.title = heading.text
    elif not chapter.title_given and chapter.headings:
        chapter.title = chapter.headings[0].text
    if chapter.title is None:
        chapter.title = Path(chapter.rel).stem


def _safe_id(value: str) -> str:
    """``value`` as an id a link can name without escapes: no space, and none of the characters a URL
    fragment cannot hold as they are (``#``, ``%``, quotes, brackets)."""
    value = re.sub(r"[\s#%\"<>`{}|\\^\[\]]+", "-", value.strip())
    if not value or not (value[0].isalpha() or value[0] == "_"):
        value = f"id-{value}"
    return value


_LANDMARK_ROLES = {
    "banner": "Banner",
    "complementary": "Aside",
    "contentinfo": "Content information",
    "form": "Form",
    "main": "Main",
    "navigation": "Navigation",
    "region": "Region",
    "search": "Search",
    "doc-acknowledgments": "Acknowledgments",
    "doc-afterword": "Afterword",
    "doc-appendix": "Appendix",
    "doc-bibliography": "Bibliography",
    "doc-chapter": "Chapter",
    "doc-conclusion": "Conclusion",
    "doc-credits": "Credits",
    "doc-endnotes": "Notes",
    "doc-epilogue": "Epilogue",
    "doc-errata": "Errata",
    "doc-foreword": "Foreword",
    "doc-glossary": "Glossary",
    "doc-index": "Index",
    "doc-introduction": "Introduction",
    "doc-pagelist": "Page list",
    "doc-part": "Part",
    "doc-preface": "Preface",
    "doc-prologue": "Prologue",
    "doc-toc": "Contents",
}
"""ARIA and DPUB-ARIA landmark roles, with the word a label made for one starts with."""
_IMPLICIT_ROLES = {"aside": "complementary", "nav": "navigation", "main": "main"}
"""Elements that are landmarks without a role attribute (header and footer are not inside a chapter's section)."""


def _landmark_role(element: etree._Element) -> str | None:
    roles = (element.get("role") or "").split()
    if roles:
        return roles[0] if roles[0] in _LANDMARK_ROLES else None
    if element.tag == "section" and (
        element.get("aria-label") or element.get("aria-labelledby") or element.get("title")
    ):
        return "region"
    return _IMPLICIT_ROLES.get(str(element.tag))


def _landmarks(root: html.HtmlElement, ctx: _Context) -> None:
    """Label landmarks that share a role in the chapter, so each role and label pair is unique (Ace's
    ``landmark-unique``): a reader's list of landmarks must tell them apart. The chapter's own section (made by
    the template, with its role) counts as the first of its role; a label is the landmark's first heading,
    else its role and number ("Aside 2")."""
    chapter_role = ROLES[ctx.chapter.role][1]
    seen: dict[tuple[str, str], int] = {(chapter_role, ""): 1}
    count: dict[str, int] = {chapter_role: 1}
    for element in root.iter():
        if not isinstance(element.tag, str) or element is root:
            continue
        role = _landmark_role(element)
        if role is None:
            continue
        count[role] = count.get(role, 0) + 1
        name = " ".join((element.get("aria-label") or element.get("title") or "").split())
        if element.get("aria-labelledby") and not element.get("aria-label"):
            name = "#" + element.get("aria-labelledby", "")
        if (role, name) in seen:
            heading = next(element.iter(*_HEADINGS), None)
            wanted = " ".join(heading.text_content().split()) if heading is not None else ""
            wanted = wanted or f"{_LANDMARK_ROLES[role]} {count[role]}"
            name, n = wanted, 1
            while (role, name) in seen:
                n += 1
                name = f"{wanted} ({n})"
            element.set("aria-label", name)
        seen[(role, name)] = 1


def _table_headers(root: html.HtmlElement) -> None:
    """A header cell with no text is a data cell (Ace's ``empty-table-header``): a screen reader would announce
    an empty header for every cell of its column or row. A Markdown table's blank corner cell is the usual case."""
    for th in list(root.iter("th")):
        named = th.get("aria-label") or th.get("title") or any(img.get("alt") for img in th.iter("img"))
        if not th.text_content().strip() and not named:
            th.tag = "td"
            for name in ("scope", "abbr"):
                th.attrib.pop(name, None)


def _notes(root: html.HtmlElement, ctx: _Context) -> None:
    """Python-Markdown footnotes -> EPUB 3 note references and notes (print reshapes them later)."""
    container = root.find(".//div[@class='footnote']")
    if container is None:
        return
    ids: dict[str, str] = {}
    section = html.Element("section", {"class": "footnotes", "role": "doc-endnotes"})
    section.set("epub:type", "footnotes")
    items = {item.get("id", ""): item for item in container.iterfind(".//li")}
    # Python-Markdown prints every defined note, referenced or not; an unreferenced one would have a dangling
    # backlink and no place on a printed page. A note cited only by unreferenced notes is unreferenced too.
    cited: set[str] = set()
    inside_notes = set(container.iter())
    sources = [element for element in root.iter() if element not in inside_notes]
    sources_before = [a for a in sources if a.tag == "a"]

    def target(ref: etree._Element) -> str:
        # Ids are already unique in the book (fn-a may now be fn-a-2); hrefs are rewritten later, in _links.
        local = (ref.get("href") or "")[1:]
        return ctx.chapter.anchors.get(local, local)

    while True:
        found = {target(a) for a in sources if a.tag == "a" and a.get("class") == "footnote-ref" and target(a) in items}
        if found <= cited:
            break
        cited |= found
        sources = [e for note in found for e in items[note].iter()]
    if any(note_id.startswith("fn-" + NOTE_PREFIX) for note_id in items):
        items = _in_reference_order(items, [target(a) for a in sources_before if a.get("class") == "footnote-ref"])
    number = 0
    for note_id, item in items.items():
        if note_id not in cited:
            key = note_id.removeprefix("fn-")
            if not ctx.line_of(f"[^{key}]:"):  # renamed to keep ids unique in the book: fn-a -> fn-a-2
                key = re.sub(r"-\d+$", "", key)
            ctx.warn(
                f"footnote [^{key}] is never referenced; it is left out",
                kind="footnote-unreferenced",
                near=f"[^{key}]:",
            )
            continue
        number += 1
        aside = etree.SubElement(section, "aside", {"id": note_id, "class": "footnote", "role": "doc-footnote"})
        aside.set("epub:type", "footnote")
        ids[f"#{note_id}"] = str(number)
        for child in list(item):
            aside.append(child)
        first = aside.find("p")
        label = html.Element("span", {"class": "note-label"})
        label.text = f"{number}. "
        if first is not None:
            label.tail = first.text
            first.text = None
            first.insert(0, label)
        for back in aside.iterfind(".//a[@class='footnote-backref']"):
            back.set("href", f"#{target(back)}")
            back.attrib.pop("title", None)
            back.set("role", "doc-backlink")
            back.set("class", "backlink")
            back.set("aria-label", f"Back to reference {number}")
    parent = container.getparent()
    assert parent is not None
    parent.replace(container, section)
    for sup in list(root.iterfind(".//sup")):
        ref = sup.find("a[@class='footnote-ref']")
        if ref is None:
            continue
        ref.set("id", sup.get("id", ""))
        ref.set("href", f"#{target(ref)}")
        ref.text = ids.get(ref.get("href", ""), ref.text)
        ref.set("class", "noteref")
        ref.set("role", "doc-noteref")
        ref.set("epub:type", "noteref")
        ref.tail = sup.tail
        sup_parent = sup.getparent()
        assert sup_parent is not None
        sup_parent.replace(sup, ref)
    # A note cited twice gets a backlink per citation (fnref-a, fnref2-a); a citation inside raw HTML that
    # was removed (a form, a script) leaves its backlink leading nowhere.
    present = {element.get("id") for element in root.iter() if isinstance(element.tag, str)}
    for back in list(root.iterfind(".//a[@class='backlink']")):
        if back.get("href", "")[1:] not in present:
            _drop_keep_tail(back)


def _in_reference_order(items: dict[str, etree._Element], cited: list[str]) -> dict[str, etree._Element]:
    """``items`` ordered as the text first cites them (notes cited nowhere last): Pandoc numbers notes so, and
    an inline note ``^[…]``, whose definition Python-Markdown only sees at the chapter's end, must take its place
    among the others."""
    first = {note_id: place for place, note_id in reversed(list(enumerate(cited)))}
    return dict(sorted(items.items(), key=lambda item: first.get(item[0], len(cited))))


def _images(root: html.HtmlElement, ctx: _Context) -> None:
    """Resolve each image next to its chapter, keep it inside the project, register it as an asset."""
    book, chapter = ctx.book, ctx.chapter
    for img in list(root.iter("img")):
        src = (img.get("src") or "").strip()
        near = "data:" if src.startswith("data:") else src
        where = ctx.where(near) if src else ctx.display
        book.images += 1
        if "<" in img.get("alt", ""):
            # Markdown such as `code` in alt text comes through as escaped markup; alt text is plain.
            img.set("alt", html.fromstring(f"<span>{img.get('alt')}</span>").text_content())
        if not img.get("alt"):
            ctx.warn(
                f"image {src!r} has no alt text; readers who cannot see it get nothing", kind="image-alt", near=near
            )
            book.images_without_alt += 1
            img.set("alt", "")
        if src.startswith("data:"):
            ctx.warn(
                "embedded data: image removed; save it as a file next to the chapter", kind="data-image", near=near
            )
            _drop_keep_tail(img)
            continue
        remote = src.lower().startswith(("http://", "https://"))
        if remote and book.allow_remote:
            ctx.record.cacheable = False  # a download that failed may succeed next time
            try:
                path, _ = fetch_image(src, book.root)
            except RemoteError as exc:
                ctx.warn(f"image {src!r} is left out: {exc}", kind="remote-image", near=near)
                _drop_keep_tail(img)
                continue
        elif not src or _SCHEME_RE.match(src) or src.startswith("//"):
            ctx.warn(
                f"image {src!r} is not a file in the book project; it is left out",
                kind="remote-image" if remote else "image-path",
                near=near,
                hint="set allow-remote = true in [book] to fetch it" if remote else "only local files are read",
            )
            _drop_keep_tail(img)
            continue
        elif unquote(urlsplit(src.replace("\\", "/")).path).startswith("/"):
            ctx.warn(
                f"image {src!r} is an absolute path; use a path relative to the chapter", kind="image-path", near=near
            )
            _drop_keep_tail(img)
            continue
        else:
            # A backslash is a slash in a URL (WHATWG), and in paths written on Windows.
            path = chapter.source.parent / unquote(urlsplit(src.replace("\\", "/")).path)
        href = _asset(ctx, path, src, near, where)
        if href is None:
            _drop_keep_tail(img)
            continue
        img.set("src", href)


def _asset(ctx: _Context, path: Path, src: str, near: str, where: str, image: bool = True) -> str | None:
    """Register the file at ``path`` (written ``src`` in the chapter) as an EPUB asset; its href, or None when
    it cannot be one (reported: an error for a missing or unreadable ``image``, else a warning).

    The media type comes from the file's bytes, not its name: a PNG saved as ``.jpg`` is packed as
    ``….jpg.png`` with a warning (EPUBCheck wants the name to match the type, PKG-022).
    """
    book = ctx.book
    what = "image" if image else "url()"
    is_inside, is_file, resolved_name, media_type, _ = ctx.record.files.setdefault(
        str(path), _file_state(path, book.root)
    )
    if not is_inside:
        ctx.warn(f"{what} {src!r} lies outside the book project; it is left out", kind="image-path", near=near)
        return None
    if not is_file or not media_type.startswith("image/"):
        if not is_file:
            message, kind = f"{what} {src!r} not found (looked for {path})", "missing-image"
            hint = "paths are relative to the chapter file"
        else:
            kind = "image-type"
            message = f"{what} {src!r} has an unsupported type: its bytes are no PNG, JPEG, GIF, WebP or SVG image"
            hint = "save it as " + ", ".join(sorted({k[1:] for k in IMAGE_TYPES}))
        if image:
            log.recoverable(ManuscriptError(message, file=ctx.display, line=ctx.line_of(src), hint=hint), kind=kind)
        else:
            ctx.warn(f"{message}; the declaration is left out", kind=kind, near=near, hint=hint)
        return None
    if media_type == "image/svg+xml" and not _svg_fits(ctx, Path(resolved_name), src, near, what, image):
        return None
    resolved = Path(resolved_name)
    rel = resolved.relative_to(book.root.resolve()).as_posix()
    if rel.startswith("manuscript/"):
        rel = rel[len("manuscript/") :]
    elif rel.startswith(CACHE.as_posix()):
        rel = "remote" + rel[len(CACHE.as_posix()) :]
    safe = re.sub(r"[^A-Za-z0-9._/-]", "_", rel)
    if safe != rel:  # 写真.png and 画像.png would both be __.png
        folder, slash, base = safe.rpartition("/")
        stem, dot, suffix = base.rpartition(".")
        tag = hashlib.sha1(rel.encode("utf-8")).hexdigest()[:8]
        safe = folder + slash + (f"{stem}-{tag}.{suffix}" if dot and stem else f"{base}-{tag}")
    if not suffix_fits(rel, media_type):
        ctx.warn(
            f"{what} {src!r} is {NAMES[media_type]} file, but its name says otherwise; "
            f"the EPUB carries it as {media_type}",
            kind="image-type",
            near=near,
            hint=f"rename it to end in {IMAGE_SUFFIX[media_type]}",
        )
        safe += IMAGE_SUFFIX[media_type]
    href = "images/" + safe
    asset = Asset(source=resolved, href=href, media_type=media_type, used_at=where)
    ctx.record.assets.append(asset)
    book.assets.setdefault(resolved, asset)
    return href


def _svg_fits(ctx: _Context, path: Path, src: str, near: str, what: str, image: bool) -> bool:
    """Whether the SVG at ``path`` can be packed (it is well-formed XML); names what :func:`clean_svg` will take
    out of it (scripts, outside references, local paths) in a warning."""
    try:
        cleaned = clean_svg(read_regular(path))
    except (BadSvg, OSError) as exc:
        message = f"{what} {src!r} cannot be used: {exc}"
        if image:
            log.recoverable(ManuscriptError(message, file=ctx.display, line=ctx.line_of(src)), kind="image-type")
        else:
            ctx.warn(message, kind="image-type", near=near)
        return False
    if cleaned.removed:
        ctx.warn(
            f"{what} {src!r}: {', '.join(cleaned.removed)} left out of the image (an e-book's images may not "
            "load anything from outside the book or run scripts)",
            kind="svg-content",
            near=near,
        )
    return True


def _file_state(path: Path, root: Path) -> tuple[bool, bool, str, str, str]:
    """What an image path is: inside the project, a regular file (symlinks followed), its resolved path, the
    media type its bytes show ('' when none an EPUB carries) and, for an SVG (whose content the conversion
    reports on), its size and modification time."""
    if not inside(path, root):
        return False, False, "", "", ""
    if not path.is_file():
        return True, False, "", "", ""
    try:
        media_type = sniff_file(path) or ""
        stat = path.stat()
    except OSError:
        return True, False, "", "", ""
    stamp = f"{stat.st_size}:{stat.st_mtime_ns}" if media_type == "image/svg+xml" else ""
    return True, True, str(path.resolve()), media_type, stamp


def _figures(root: html.HtmlElement) -> None:
    """An image alone in its paragraph becomes a figure; its title, if any, becomes the caption."""
    for p in list(root.iter("p")):
        children = [c for c in p if isinstance(c.tag, str)]
        if len(children) != 1 or children[0].tag != "img" or (p.text or "").strip() or (children[0].tail or "").strip():
            continue
        img = children[0]
        figure = html.Element("figure")
        for name in ("id", "class"):
            if p.get(name):
                figure.set(name, p.get(name, ""))
        img.tail = None
        figure.append(img)
        caption = img.attrib.pop("title", "").strip()
        if caption:
            figcaption = html.Element("figcaption")
            figcaption.text = caption
            figure.append(figcaption)
        figure.tail = p.tail
        parent = p.getparent()
        if parent is not None:
            parent.replace(p, figure)


def _links(root: html.HtmlElement, ctx: _Context, by_path: dict[Path, Chapter]) -> None:
    """Point ``#x``, ``other.md`` and ``other.md#x`` at book-wide ids; unwrap links that lead nowhere."""
    chapter = ctx.chapter
    for a in list(root.iter("a")):
        href = a.get("href")
        if href is None or a.get("class") in ("noteref", "backlink"):
            continue
        href = href.strip()
        if is_web(href):
            try:
                a.set("href", normalise(href))
            except BadUrl as exc:
                ctx.warn(f"link {href!r} is kept as plain text: {exc}", kind="bad-url", near=href)
                _unwrap(a)
            continue
        if _SCHEME_RE.match(href) or href.startswith("//"):
            ctx.warn(f"link {href!r} removed (not a web or mail link)", kind="link-scheme", near=href)
            _unwrap(a)
            continue
        parts = urlsplit(href.replace("\\", "/"))
        target = chapter
        if parts.path:
            path = (chapter.source.parent / unquote(parts.path)).resolve()
            found = by_path.get(path)
            if found is None and path.suffix in (".html", ".htm", ".xhtml"):
                # Books moved from mdBook or a static site link to the rendered page of a chapter.
                found = by_path.get(path.with_suffix(".md"))
            if found is None:
                ctx.warn(
                    f"link {href!r} does not lead to a chapter of this book; kept as plain text",
                    kind="broken-link",
                    near=parts.path,
                )
                _unwrap(a)
                continue
            target = found
        fragment = unquote(parts.fragment)
        resolved = _resolve(target, fragment, ctx.book)
        ctx.record.lookups.append((target.source.resolve(), fragment, resolved))
        if not fragment:
            a.set("href", f"#{target.id}")
            continue
        if resolved is None:
            ctx.warn(
                f"link {href!r}: no heading or anchor '{fragment}' in manuscript/{target.rel}; "
                "it points at the chapter instead",
                kind="broken-anchor",
                near=href,
            )
            resolved = target.id
        a.set("href", f"#{resolved}")


def _unwrap(a: etree._Element) -> None:
    span = a
    for name in list(span.attrib):
        if name not in ("id", "class", "lang"):
            del span.attrib[name]
    span.tag = "span"
