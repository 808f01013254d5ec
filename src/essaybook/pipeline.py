"""The staged pipeline every command drives: load -> convert -> compose -> lay out -> write PDF | package EPUB.

One :class:`Pipeline` over a book project runs the stages and keeps what each produced, so a command asks for
the result it needs and the stages before it run once:

1. :meth:`~Pipeline.load`: ``manuscript/book.toml``, the theme and the chapter files -> :class:`Project`
2. :meth:`~Pipeline.convert`: Markdown -> XHTML fragments, every chapter (the conversion cache in
   ``.essaybook-cache/convert/`` answers for each chapter whose first pass would read the same) or, with
   :meth:`~Pipeline.reconvert`, one
3. :meth:`~Pipeline.compose_print`, :meth:`~Pipeline.compose_epub`: Jinja2 -> the print HTML, the EPUB's
   XHTML documents and navigation (a chapter's document is composed again only when it was converted again)
4. :meth:`~Pipeline.lay_out`: the printed pages, chapter by chapter from the layout cache in
   ``.essaybook-cache/`` where nothing a chapter reads changed (see :mod:`essaybook.layout`)
5. :meth:`~Pipeline.write_pdf`, :meth:`~Pipeline.package_epub`: the output files, written atomically

Progress ("Step 1/6 ...") and reporting belong to the commands (:mod:`essaybook.commands`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import jinja2
from lxml import etree
from pygments.formatters import HtmlFormatter
from pygments.util import ClassNotFound

from essaybook import citations, compose, convert_cache, log, stylesheets
from essaybook.compose import ANCHOR_SCHEME, EPUB_NS, GENERATED_COVER, ComposedEpub, PrintDocument, matters
from essaybook.config import Config, key_line, load_config, read_config
from essaybook.convert import Conversion, convert_book
from essaybook.cover import typographic_cover
from essaybook.diagnostics import project_file
from essaybook.errors import ConfigError, EssaybookError, ManuscriptError, RenderError
from essaybook.fonts import check_coverage
from essaybook.labels import labels_for
from essaybook.layout.book import Settings, Unsplittable, lay_out_book
from essaybook.layout.cache import LayoutCache, cache_folder
from essaybook.layout.images import printed_images, report_resolution
from essaybook.limits import layout_seconds
from essaybook.manuscript import find_chapters, read_chapter, resolve_meta, slug_of
from essaybook.model import Book, Chapter, Meta
from essaybook.paths import read_regular
from essaybook.production import POINTS_PER_INCH, PRESETS, minimum_inside_margin, printed_pages
from essaybook.renderers import atomic_output
from essaybook.renderers.epub import render_epub
from essaybook.renderers.pdf import lay_out, pdf_options, report_layout, write_pdf
from essaybook.renderers.results import EpubResult, PdfResult
from essaybook.stylesheets import EpubStyles
from essaybook.text import smarten
from essaybook.themes import BASE_THEME, Theme, environment, load_theme

DEFAULT_CODE_STYLE = "xcode"


def project_root(root: Path) -> Path:
    """``root`` as an absolute path, once it is known to be a book project (a folder with ``manuscript/``).

    Raises :class:`EssaybookError` otherwise: the one place that says what a book project is.
    """
    if not root.is_dir():
        raise EssaybookError("no such book project folder", file=root)
    root = root.absolute()
    if not (root / "manuscript").is_dir():
        raise ManuscriptError("no manuscript/ folder; a book project keeps its chapters in manuscript/*.md", file=root)
    return root


@dataclass
class Project:
    """A loaded book project (step 1) and, once converted, its chapters' XHTML and metadata (step 2)."""

    root: Path
    config: Config
    theme: Theme
    book: Book
    meta: Meta | None
    """Set by :meth:`Pipeline.convert` (the default title needs the converted first chapter)."""
    code_css: str
    chapter_files: list[Path] = field(default_factory=list)
    """The chapter files found, in reading order, with any that could not be read (``check``)."""

    @property
    def require_meta(self) -> Meta:
        if self.meta is None:
            raise RuntimeError("Pipeline.convert() has not run")
        return self.meta

    @property
    def body_start(self) -> str | None:
        """Id of the chapter that opens the body in the book layout (printed page 1)."""
        if self.layout != "book":
            return None
        kinds = matters(self.book)
        return next((c.id for c in self.book.chapters if kinds[c.id] != "front"), None)

    @property
    def layout(self) -> str:
        if self.config.pdf.layout != "auto":
            return self.config.pdf.layout
        return "essay" if len(self.book.chapters) == 1 else "book"


@dataclass
class Layout:
    """The print layout, whichever way it was made: what the EPUB needs, and how to write the PDF."""

    pages: int
    page_starts: list[tuple[str, str]]
    """(page label, anchor of the block the page begins with)."""
    write: Callable[[Meta, Config, Path], PdfResult]
    laid_out: int | None = None
    """Layout units WeasyPrint laid out in this run (the others came from the cache); None for one document."""


def epub_cover(meta: Meta, theme: Theme) -> tuple[str, str, bytes]:
    """The EPUB's cover image: ``cover-image`` when set, else a typographic cover in the theme's font."""
    if meta.cover_image is not None:
        return meta.cover_image.href, meta.cover_image.media_type, read_regular(meta.cover_image.source)
    faces = theme.text_faces()
    if faces is None:
        raise RenderError(
            f"theme {theme.name!r} declares no font in its fonts.css to draw the EPUB's cover with",
            hint="set cover-image in [book], or fix the theme's fonts.css",
        )
    return GENERATED_COVER, "image/png", typographic_cover(meta, *faces)


class Pipeline:
    """The stages over the book project at ``root``, each run once and its result kept until :meth:`load`.

    A stage asked for before the stages it needs runs them first (without progress output), so
    ``Pipeline(root).package_epub(target)`` builds an EPUB. ``cache``: use ``.essaybook-cache/`` (True), only
    read it (``"read"``: ``check`` writes nothing into the project), or not at all (False). ``jobs``: worker
    processes for the book layout (default: the machine's cores). ``tolerant`` (``check``): problems of
    loading and converting go to :func:`log.recoverable`, so that inside :func:`log.collecting` they are
    recorded and the stages go on with what they could read; nothing is fetched from the network then.

    Use it as a context manager (or call :meth:`close`): the layout cache's temporary folder is removed and,
    after a run without an error, old cache entries are pruned.
    """

    def __init__(
        self, root: Path, *, cache: bool | str = True, jobs: int | None = None, tolerant: bool = False
    ) -> None:
        self._given = root
        self.root = root.absolute()
        self.cache = cache
        self.jobs = jobs
        self.tolerant = tolerant
        self.project: Project | None = None
        self.converted = False
        """True once :meth:`convert` ran on the loaded project (even when, tolerant, it gave up)."""
        self.printed: PrintDocument | None = None
        self.layout: Layout | None = None
        self._layout_for_pdf = False
        """Whether :attr:`layout` went as far as the PDF needs (the furniture)."""
        self._conversion: Conversion | None = None
        self._layout_cache: LayoutCache | None = None
        self._env: jinja2.Environment | None = None
        self._epub_styles: EpubStyles | None = None
        self._composed: dict[int, tuple[Chapter, str]] = {}
        """id() of a converted chapter -> (that chapter, its composed EPUB XHTML)."""
        self._proxies: dict[int, tuple[Chapter, Chapter]] = {}
        self._compose_key: tuple[Any, ...] = ()
        self._covers: dict[tuple[Any, ...], tuple[str, str, bytes]] = {}

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if kind is None and self._layout_cache is not None:
            self._layout_cache.prune()
        self.close()

    def close(self) -> None:
        """Remove the layout cache's temporary folder (when it has one)."""
        if self._layout_cache is not None:
            self._layout_cache.close()
            self._layout_cache = None

    # Step 1 -------------------------------------------------------------------------------------------

    def load(self) -> Project:
        """Read the settings, the theme and the chapter files; nothing converted yet. Forgets earlier results."""
        self.project = self.printed = self.layout = self._conversion = None
        self.converted = False
        self._forget_styles()
        root = self.root = project_root(self._given)
        toml = root / "manuscript" / "book.toml"
        config, problems = self._config(toml)
        try:
            theme = load_theme(config.theme.name, root, config.source)
        except ConfigError as error:
            if not any(problem.key == "theme.name" for problem in problems):  # read_config may have said so
                self._recover(error, "config")
            name = BASE_THEME if error.key == "theme.name" else config.theme.name
            try:
                theme = load_theme(name, root, config.source)
            except ConfigError as again:  # a stylesheet in styles/ cannot be used: go on without styles/
                if again.file != error.file or again.detail != error.detail:
                    self._recover(again, "config")
                theme = load_theme(name, root, config.source, styles=False)
        code_css = _code_css(config.theme.code_style)
        if code_css is None:
            unknown = ConfigError(
                f"unknown Pygments style {config.theme.code_style!r}",
                file=toml,
                key="theme.code-style",
                hint="e.g. 'xcode', 'default', 'bw'",
            )
            self._recover(unknown, "config")
            config = dataclasses.replace(config, theme=dataclasses.replace(config.theme, code_style=DEFAULT_CODE_STYLE))
            code_css = _code_css(DEFAULT_CODE_STYLE) or ""
        try:
            paths = find_chapters(root, config)
        except ManuscriptError as error:  # no chapter files at all
            self._recover(error, "missing-chapter")
            paths = []
        chapters: list[Chapter] = []
        for path in paths:
            try:
                chapters.append(read_chapter(path, root, len(chapters)))
            except ManuscriptError as error:  # unreadable: the book goes on without it
                self._recover(error, "unreadable-chapter")
        book = Book(root=root, chapters=chapters)
        # check reaches no network and writes nothing into the project (fetched images are kept there).
        book.allow_remote = config.book.allow_remote and not self.tolerant
        book.math = config.book.math
        book.numbering = config.book.numbering
        book.label_overrides = dict(config.labels)
        self._citations(book, config, toml)
        self.project = Project(
            root=root, config=config, theme=theme, book=book, meta=None, code_css=code_css, chapter_files=paths
        )
        return self.project

    def _citations(self, book: Book, config: Config, toml: Path) -> None:
        """Load the bibliography and style; add the back-matter reference list when no chapter places it."""
        title = labels_for(config.book.lang or "en", dict(config.labels))["references"]
        try:
            book.citations = citations.load_library(config, toml, title)
        except ManuscriptError as error:  # a bibliography that does not parse, a .csl that is no style
            self._recover(error, "bibliography")
            book.citations = citations.Library([], b"", title, failed=True)
        placed = any(citations.places_references(c.markdown) for c in book.chapters)
        if book.citations is not None and not book.citations.failed and not placed:
            chapter = citations.references_chapter(book, title)
            book.citations.generated = str(chapter.source)
            book.chapters.append(chapter)

    def _recover(self, error: EssaybookError, kind: str) -> None:
        """Raise ``error``; when tolerant, pass it to :func:`log.recoverable` (which records it in
        :func:`log.collecting`) and return, so that the stage goes on without what failed."""
        if not self.tolerant:
            raise error
        log.recoverable(error, kind)

    def _config(self, toml: Path) -> tuple[Config, list[ConfigError]]:
        """The settings and, when tolerant, every problem in them (each already recorded)."""
        if not self.tolerant:
            return load_config(toml), []
        try:
            config, problems = read_config(toml)
        except ConfigError as error:  # not TOML at all: every setting keeps its default
            self._recover(error, "config")
            return Config(source=toml), [error]
        for problem in problems:
            self._recover(problem, "config")
        if config.book.chapters == ():  # reported above; every chapter file is read instead
            config = dataclasses.replace(config, book=dataclasses.replace(config.book, chapters=None))
        return config, problems

    # Step 2 -------------------------------------------------------------------------------------------

    def convert(self) -> Project:
        """Convert every chapter to XHTML, then resolve the metadata that needs their titles.

        With the cache on, a chapter's first pass is read from ``.essaybook-cache/convert/`` (its warnings
        logged again) when nothing it read changed, and a new one is recorded there (not with ``"read"``);
        the result is the same as without the cache.
        """
        project = self.project or self.load()
        self.printed = self.layout = None
        self.converted = True
        book, config = project.book, project.config
        if not book.chapters:  # only when tolerant: the problem is recorded already
            return project
        code_style, lang = config.theme.code_style, config.book.lang or "en"
        store = None
        if self.cache:
            store = convert_cache.ChapterStore(cache_folder(project.root), project.root, read_only=self.cache == "read")
        try:
            self._conversion = convert_book(book, code_style, lang, store)
            if store is not None:
                log.LOGGER.debug(
                    "        %d of the %d chapters converted, the others from the cache",
                    self._conversion.first_passes,
                    len(book.chapters),
                )
        except ManuscriptError as error:  # input no book needs (nesting, runaway paragraphs): conversion stops
            self._recover(error, "manuscript")
        try:
            self.resolve_meta()
        except ConfigError as error:
            self._recover(error, "config")
        return project

    @property
    def reconvertible(self) -> bool:
        """True when :meth:`reconvert` can convert single chapters (the book was converted in this process)."""
        return self.project is not None and self._conversion is not None

    def reconvert(self, chapter: Chapter) -> list[Chapter]:
        """Read ``chapter``'s file again and convert it alone, with the chapters whose links into it changed.

        Returns the chapters converted (see :meth:`Conversion.reconvert`); on an error the book is left as it
        was. :meth:`resolve_meta` is not run again: a chapter's title may be the book's.
        """
        if self._conversion is None:
            raise RuntimeError("reconvert() needs convert() to have run in this pipeline first")
        self.printed = self.layout = None
        return self._conversion.reconvert(read_chapter(chapter.source, self.root, chapter.index))

    def resolve_meta(self) -> Meta:
        """Title, language, identifier and cover from the settings and the converted chapters."""
        project = self._loaded()
        project.meta = resolve_meta(project.config, project.book)
        return project.meta

    def check_fonts(self, pdf: bool = True) -> list[str]:
        """Warn about characters no font can draw, each with its place; with ``pdf`` (a PDF is to be written),
        stop when a whole script would print as boxes, unless ``[pdf] allow-missing-glyphs`` accepts them (see
        :func:`essaybook.fonts.check_coverage`).

        Returns the scripts that would print as boxes.
        """
        project = self._loaded()
        texts = [(f"manuscript/{c.rel}", c.markdown) for c in project.book.chapters]
        first_lines = {f"manuscript/{c.rel}": c.body_line for c in project.book.chapters}
        settings = project.config.book
        printed = [settings.title or "", settings.subtitle or "", *settings.author]  # title page, running heads
        if any(printed):
            texts.insert(
                0, (project_file(project.config.source, project.root) or "manuscript/book.toml", "\n".join(printed))
            )
        book_lang = project.meta.lang if project.meta is not None else project.config.book.lang or "en"
        langs = {book_lang, *(c.lang for c in project.book.chapters if c.lang)}
        allowed = project.config.pdf.allow_missing_glyphs
        return check_coverage(
            project.theme.fonts(),
            texts,
            first_lines,
            langs=sorted(langs),
            stop=pdf,
            allowed_by="allow-missing-glyphs = true in [pdf]" if allowed else None,
        )

    def slug(self) -> str:
        """The outputs' file name stem (``dist/<slug>.pdf``), without converting when book.toml sets the title."""
        project = self.project or self.load()
        settings = project.config.book
        if settings.title:
            return slug_of(smarten(settings.title, settings.lang or "en"))  # as resolve_meta derives it
        return (project.meta or self.convert().require_meta).slug

    # Step 3 -------------------------------------------------------------------------------------------

    @property
    def env(self) -> jinja2.Environment:
        """The theme's Jinja environment."""
        if self._env is None:
            self._env = environment(self._loaded().theme)
        return self._env

    def compose_print(self) -> PrintDocument:
        """The whole book as one print HTML document (cut into chapters for the book layout)."""
        project = self._converted()
        meta, book = project.require_meta, project.book
        self.printed = compose.compose_print(
            book,
            meta,
            project.config,
            project.theme,
            self.env,
            project.layout,
            project.code_css,
            split=project.layout == "book",
        )
        self.layout = None
        return self.printed

    def epub_styles(self) -> EpubStyles:
        """The EPUB's stylesheets (the theme's, the code's, the project's cleaned) and the files they use."""
        if self._epub_styles is None:
            project = self._loaded()
            self._epub_styles = stylesheets.epub_styles(
                project.theme, project.root, project.code_css, project.config.epub.embed_fonts
            )
        return self._epub_styles

    def compose_epub(self, page_list: bool = False) -> ComposedEpub:
        """The EPUB's XHTML documents and navigation; with ``page_list``, the printed pages' break markers.

        A chapter's document is composed again only when the chapter was converted again since the last
        call (the preview); the others are reused while the metadata, the matter of each chapter, the
        settings, the styles and the pages stay the same.
        """
        project = self._converted()
        book, config = project.book, project.config
        meta = project.require_meta
        pages = self.page_list() if page_list else []
        key = (dataclasses.replace(meta, modified=""), tuple(matters(book).items()), config, tuple(pages))
        if key != self._compose_key:
            self._composed.clear()
            self._compose_key = key
        fresh = {id(c) for c in book.chapters if self._composed.get(id(c), (None,))[0] is not c}
        # The other chapters stand in with their ids only: links into them still name the right file.
        stand_ins = [c if id(c) in fresh else self._proxy(c) for c in book.chapters]
        styles = project.theme.project_styles
        composed = compose.compose_epub(
            dataclasses.replace(book, chapters=stand_ins),
            meta,
            config,
            self.epub_styles().hrefs,
            self.env,
            pages,
            check_templates=styles is not None and (styles / "templates").is_dir(),
        )
        documents = []
        for document in composed.documents:
            if document.chapter is not None:
                chapter = book.chapters[document.chapter.index]
                if id(chapter) in fresh:
                    self._composed[id(chapter)] = (chapter, document.xhtml)
                document = dataclasses.replace(document, chapter=chapter, xhtml=self._composed[id(chapter)][1])
            documents.append(document)
        current = {id(c) for c in book.chapters}
        for table in (self._composed, self._proxies):
            for stale in [k for k in table if k not in current]:
                del table[stale]
        return dataclasses.replace(composed, documents=documents)

    def _proxy(self, chapter: Chapter) -> Chapter:
        """``chapter`` with a fragment that holds only its ids (cheap to compose, same link targets)."""
        known = self._proxies.get(id(chapter))
        if known is not None and known[0] is chapter:
            return known[1]
        root = etree.fromstring(f'<div xmlns:epub="{EPUB_NS}">{chapter.html}</div>')
        ids = [e.get("id") for e in root.iter() if e.get("id")]
        proxy = dataclasses.replace(chapter, html="".join(f'<span id="{escape(i)}"></span>' for i in ids if i))
        self._proxies[id(chapter)] = (chapter, proxy)
        return proxy

    def epub_cover(self) -> tuple[str, str, bytes]:
        """(href, media type, bytes) of the EPUB's cover image; a drawn cover is kept while its text is the same."""
        project = self._converted()
        meta, theme = project.require_meta, project.theme
        if meta.cover_image is not None:
            return epub_cover(meta, theme)
        key = (meta.title, meta.subtitle, meta.authors, theme.dirs)
        if key not in self._covers:
            self._covers = {key: epub_cover(meta, theme)}
        return self._covers[key]

    def epub_files(self, composed: ComposedEpub) -> dict[str, str | bytes | Path]:
        """Every file the EPUB holds besides its package documents, by name inside it: XHTML text, bytes, or
        the file to read (the preview serves these)."""
        project = self._converted()
        meta, theme, config, book = project.require_meta, project.theme, project.config, project.book
        styles = self.epub_styles()
        files: dict[str, str | bytes | Path] = {}
        files.update((href, content) for href, content in styles.sheets)
        files.update(styles.files)
        if config.epub.embed_fonts:
            files.update((f"fonts/{font.name}", font) for font in theme.fonts())
        files.update((asset.href, asset.source) for asset in book.assets.values())
        if meta.cover_image is not None:
            files[meta.cover_image.href] = meta.cover_image.source
        else:
            href, _, data = self.epub_cover()
            files[href] = data
        files.update((d.name, d.xhtml) for d in composed.documents)
        return files

    def reload_theme(self) -> None:
        """Resolve the theme and ``styles/`` again (a stylesheet or template changed): what used them goes."""
        project = self._loaded()
        project.theme = load_theme(project.config.theme.name, project.root, project.config.source)
        self._forget_styles()
        self.printed = self.layout = None

    def _forget_styles(self) -> None:
        self._env = self._epub_styles = None
        self._composed.clear()
        self._proxies.clear()
        self._covers.clear()

    # Step 4 -------------------------------------------------------------------------------------------

    def lay_out(self, pdf: bool = True) -> Layout:
        """The printed pages: chapter by chapter in worker processes (book layout), else as one document.

        Without ``pdf``, only as far as the EPUB's page list needs (the PDF cannot then be written).
        """
        printed = self.printed or self.compose_print()
        if self._layout_cache is None:
            folder = cache_folder(self.root) if self.cache else None
            self._layout_cache = LayoutCache(folder, read_only=self.cache == "read")
        jobs = self.jobs or os.cpu_count() or 1
        self.layout = _lay_out(self._converted(), printed, self._layout_cache, jobs, pdf)
        self._layout_for_pdf = pdf
        _check_inside_margin(self._converted(), self.layout.pages)
        return self.layout

    def page_list(self) -> list[tuple[str, int, int]]:
        """The printed pages as (label, chapter index, block number): where each begins in the text."""
        layout = self.layout or self.lay_out(pdf=False)
        assert self.printed is not None
        by_anchor = {anchor: (chapter, block) for chapter, block, anchor in self.printed.blocks}
        return [(label, *by_anchor[anchor]) for label, anchor in layout.page_starts]

    # Step 5 -------------------------------------------------------------------------------------------

    def write_pdf(self, target: Path) -> PdfResult:
        """Write the laid-out book to ``target`` as a PDF."""
        layout = self.layout if self.layout is not None and self._layout_for_pdf else self.lay_out()
        project = self._converted()
        return layout.write(project.require_meta, project.config, target)

    def package_epub(self, target: Path) -> EpubResult:
        """Package the EPUB, with the printed pages as its page list, into ``target``."""
        project = self._converted()
        composed = self.compose_epub(page_list=True)
        assert self.layout is not None
        book, meta, config, theme = project.book, project.require_meta, project.config, project.theme
        return render_epub(
            composed,
            self.epub_styles(),
            list(book.assets.values()),
            theme.fonts() if config.epub.embed_fonts else [],
            meta,
            target,
            cover=self.epub_cover(),
            images=book.images,
            images_without_alt=book.images_without_alt,
            page_list=bool(self.layout.page_starts),
        )

    # ------------------------------------------------------------------------------------------------

    def _loaded(self) -> Project:
        return self.project or self.load()

    def _converted(self) -> Project:
        return self.project if self.project is not None and self.converted else self.convert()


def _code_css(style: str) -> str | None:
    """The Pygments rules for code blocks in ``style``, or None when Pygments has no such style."""
    try:
        return str(HtmlFormatter(style=style).get_style_defs(".codehilite"))
    except ClassNotFound:
        return None


def load_project(root: Path) -> Project:
    """Steps 1 and 2 without progress output nor cache: read settings and chapters, convert the Markdown."""
    return Pipeline(root, cache=False).convert()


def _manuscript_name(source: Path, root: Path) -> str:
    """An image file as the manuscript names it (relative to manuscript/ when it lies there)."""
    manuscript = (root / "manuscript").resolve()
    resolved = source.resolve()
    return resolved.relative_to(manuscript).as_posix() if resolved.is_relative_to(manuscript) else source.name


def _check_inside_margin(project: Project, pages: int) -> None:
    """Warn when ``[pdf] margin-inside`` is below what the preset's print service asks for at this page count."""
    config = project.config
    preset = PRESETS.get(config.pdf.preset or "")
    have = config.pdf.margin_inside_pt
    need = minimum_inside_margin(preset, printed_pages(pages)) if preset is not None else None
    if preset is None or need is None or have is None or have >= need * POINTS_PER_INCH - 0.01:
        return
    toml = project.root / "manuscript" / "book.toml"
    log.warn(
        f"the inside margin {config.pdf.margin_inside} is below the {need} in {preset.service} asks for at "
        f"{printed_pages(pages)} pages",
        kind="print-margin",
        file="manuscript/book.toml",
        line=key_line(toml, "pdf", "margin-inside") or key_line(toml, "pdf", "preset"),
        hint=f'set margin-inside = "{need}in" or more in [pdf]',
    )


def spine_bleed(meta: Meta, config: Config) -> str | None:
    """The side of the first page when the interior's bleed comes off the spine edge, else None (no bleed, or
    ``[pdf] bleed-at-spine``). A right-to-left book opens on a left-hand page, as WeasyPrint lays it out."""
    if not config.pdf.bleed or config.pdf.bleed_at_spine:
        return None
    return "left" if meta.direction == "rtl" else "right"


def _lay_out(project: Project, printed: PrintDocument, cache: LayoutCache, jobs: int, pdf: bool) -> Layout:
    """Chapter by chapter in parallel (book layout), else as one WeasyPrint document."""
    book, meta, config, theme, root = project.book, project.require_meta, project.config, project.theme, project.root
    assets = {a.href: a.source for a in book.assets.values()}
    if meta.cover_image is not None:
        assets[meta.cover_image.href] = meta.cover_image.source
    uses = {a.href: a.used_at for a in book.assets.values()}
    names = {a.href: _manuscript_name(a.source, root) for a in book.assets.values()}
    heading_ids = frozenset(h.id for c in book.chapters for h in c.headings)
    cover = meta.cover_image is not None and config.pdf.cover
    sources = {c.id: f"manuscript/{c.rel}" for c in book.chapters}
    # For messages: a WeasyPrint failure is most often caused by a rule in the project's own stylesheets.
    stylesheets = tuple(p.relative_to(root).as_posix() for p in theme.css("print") if p.is_relative_to(root))
    seconds = layout_seconds()
    if project.layout == "book":
        blocks: dict[str, list[str]] = {}
        hosts = compose.sections(book)  # a section file's blocks are laid out in its host chapter's unit
        ids = {c.index: hosts[c.id].id if c.id in hosts else c.id for c in book.chapters}
        for chapter_index, _, anchor in printed.blocks:
            blocks.setdefault(ids[chapter_index], []).append(anchor)
        settings = Settings(
            identity=convert_cache.project_identity(root),
            base_url=root.resolve().as_uri() + "/",
            roots=tuple(str(r) for r in [root, *theme.roots]),
            assets=tuple(sorted((href, str(path)) for href, path in assets.items())),
            stops=heading_ids,
            blocks=blocks,
            options=pdf_options(meta, config),
            xmp=(meta.lang, meta.subjects),
            body_start=project.body_start,
            cover=cover,
            sources=sources,
            stylesheets=stylesheets,
            seconds=seconds,
            spine_bleed=spine_bleed(meta, config),
        )
        try:
            laid = lay_out_book(printed, settings, cache, jobs, pdf)
        except Unsplittable as exc:
            log.LOGGER.debug("        laying the book out as one document: %s", exc)
        else:
            log.LOGGER.debug("        %d of the layout units laid out, the others from the cache", laid.laid_out)
            report_layout(laid.displaced, laid.refused, laid.failed, laid.messages, uses)
            if pdf:  # what the paper gets: a layout for the EPUB's page list alone says nothing of it
                report_resolution(laid.images, uses, names)

            def write_book(meta: Meta, config: Config, target: Path) -> PdfResult:
                try:
                    with atomic_output(target) as temp:
                        laid.write(temp)
                except OSError as exc:
                    raise RenderError(f"cannot write the PDF: {exc.strerror or exc}", file=target) from None
                return PdfResult(path=target, pages=laid.pages)

            return Layout(laid.pages, laid.page_starts, write_book, laid.laid_out)
        html = printed.html.replace(f'href="{ANCHOR_SCHEME}', 'href="#')
    else:
        html = printed.html
    from essaybook.fetcher import RestrictedFetcher  # imports WeasyPrint, which a cached build does not need

    fetcher = RestrictedFetcher([root, *theme.roots], assets=assets)
    layout = lay_out(
        html,
        fetcher,
        root,
        body_start=project.body_start,
        heading_ids=heading_ids,
        blocks=[anchor for _, _, anchor in printed.blocks],
        cover=cover,
        uses=uses,
        sources=sources,
        stylesheets=stylesheets,
        seconds=seconds * max(1, len(book.chapters)),  # one document: each chapter's time, all at once
    )

    if pdf:
        report_resolution(printed_images(layout.rendered.pages), uses, names)

    def write_one(meta: Meta, config: Config, target: Path) -> PdfResult:
        return write_pdf(layout, meta, config, target)

    return Layout(len(layout.rendered.pages), layout.page_starts, write_one)
