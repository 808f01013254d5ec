"""The driver: load -> convert -> compose -> render (PDF | EPUB). The only module that imports every stage."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pygments.formatters import HtmlFormatter
from pygments.util import ClassNotFound

from essaybook import convert_cache, log
from essaybook.compose import (
    ANCHOR_SCHEME,
    GENERATED_COVER,
    PrintDocument,
    compose_epub,
    compose_print,
    matters,
)
from essaybook.config import Config, load_config
from essaybook.convert import convert_book
from essaybook.cover import typographic_cover
from essaybook.errors import ConfigError, EssaybookError, ManuscriptError, RenderError
from essaybook.fetcher import RestrictedFetcher
from essaybook.fonts import check_coverage
from essaybook.layout.book import Settings, Unsplittable, lay_out_book
from essaybook.layout.cache import LayoutCache, cache_folder
from essaybook.manuscript import load_book, resolve_meta
from essaybook.model import Book, Meta
from essaybook.renderers import atomic_output, remove_stale_temporaries
from essaybook.renderers.epub import EpubResult, render_epub
from essaybook.renderers.pdf import PdfResult, lay_out, pdf_options, report_layout, write_pdf
from essaybook.stylesheets import epub_styles
from essaybook.themes import Theme, environment, load_theme


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when it lies below it, for shorter messages."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class BuildResult:
    """What a build wrote."""

    pdf: PdfResult | None
    epub: EpubResult | None
    seconds: float
    warnings: int
    pages: int = 0
    """Printed pages (laid out even when no PDF is written)."""
    laid_out: int | None = None
    """Layout units (chapters, display pages) WeasyPrint laid out in this build; None for a one-document layout."""

    def summary(self) -> str:
        parts = []
        if self.pdf:
            parts.append(f"{_shown(self.pdf.path)} ({self.pdf.pages} pages)")
        if self.epub:
            parts.append(f"{_shown(self.epub.path)} ({self.epub.files} files)")
        warned = f", {self.warnings} warning{'s' if self.warnings != 1 else ''}" if self.warnings else ""
        return f"Wrote {' and '.join(parts) or 'nothing'} in {self.seconds:.1f} s{warned}"


@dataclass
class Project:
    """A loaded and converted book, ready to compose."""

    root: Path
    config: Config
    theme: Theme
    book: Book
    meta: Meta | None
    """Set by :func:`convert_project` (the default title needs the converted first chapter)."""
    code_css: str

    @property
    def require_meta(self) -> Meta:
        if self.meta is None:
            raise RuntimeError("convert_project() has not run")
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


def load_project(root: Path) -> Project:
    """Steps 1 and 2 without progress output: read settings and chapters, convert the Markdown."""
    project = load_sources(root)
    convert_project(project)
    return project


def load_sources(root: Path) -> Project:
    """Step 1: settings, theme and chapter files; nothing converted yet."""
    if not root.is_dir():
        raise EssaybookError("no such book project folder", file=root)
    root = root.absolute()
    toml = root / "manuscript" / "book.toml"
    if not (root / "manuscript").is_dir():
        raise ManuscriptError("no manuscript/ folder; a book project keeps its chapters in manuscript/*.md", file=root)
    config = load_config(toml)
    theme = load_theme(config.theme.name, root, config.source)
    try:
        code_css = HtmlFormatter(style=config.theme.code_style).get_style_defs(".codehilite")
    except ClassNotFound:
        raise ConfigError(
            f"unknown Pygments style {config.theme.code_style!r}",
            file=toml,
            key="theme.code-style",
            hint="e.g. 'xcode', 'default', 'bw'",
        ) from None
    book = load_book(root, config)
    book.allow_remote = config.book.allow_remote
    return Project(root=root, config=config, theme=theme, book=book, meta=None, code_css=code_css)


def convert_project(project: Project, cache: Path | None = None) -> None:
    """Step 2: Markdown to XHTML fragments, then the metadata that needs chapter titles.

    With ``cache`` (a folder), an unchanged book's conversion is read from there (its warnings logged
    again) and a new one is recorded.
    """
    settings = (project.config.theme.code_style, project.config.book.lang, project.config.book.allow_remote)
    key = convert_cache.conversion_key(project.book, settings) if cache is not None else None
    if cache is None or key is None or not convert_cache.load(cache, key, project.book):
        with convert_cache.Recorder() as recorder:
            convert_book(project.book, project.config.theme.code_style, project.config.book.lang or "en")
        if cache is not None and key is not None:
            convert_cache.store(cache, key, project.book, recorder)
    project.meta = resolve_meta(project.config, project.book)


def _check_output(out_dir: Path) -> None:
    """Fail before any work is done if ``out_dir`` cannot take files; create nothing."""
    probe = out_dir.absolute()
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise RenderError(
            f"the output folder cannot be created: {probe} is a file",
            file=out_dir,
            hint="choose another folder with -o",
        )
    if not os.access(probe, os.W_OK | os.X_OK):
        raise RenderError(
            "the output folder cannot be written: permission denied", file=out_dir, hint="choose another folder with -o"
        )


def epub_cover(meta: Meta, theme: Theme) -> tuple[str, str, bytes]:
    """The EPUB's cover image: ``cover-image`` when set, else a typographic cover in the theme's font."""
    if meta.cover_image is not None:
        return meta.cover_image.href, meta.cover_image.media_type, meta.cover_image.source.read_bytes()
    faces = theme.text_faces()
    if faces is None:
        raise RenderError(
            f"theme {theme.name!r} declares no font in its fonts.css to draw the EPUB's cover with",
            hint="set cover-image in [book], or fix the theme's fonts.css",
        )
    return GENERATED_COVER, "image/png", typographic_cover(meta, *faces)


def build(
    root: Path,
    out_dir: Path | None = None,
    pdf: bool = True,
    epub: bool = True,
    strict: bool = False,
    jobs: int | None = None,
    cache: bool | str = True,
) -> BuildResult:
    """Build the book project at ``root`` into ``out_dir`` (default ``root/dist``).

    The print layout is computed even without ``pdf``: the EPUB's page list follows the printed pages (from
    the layout cache when nothing changed). ``jobs``: worker processes for the layout (default: the
    machine's cores); ``cache``: keep laid-out chapters in ``.essaybook-cache/`` between builds ("read": use
    what is there but write nothing into the project).
    """
    start = time.perf_counter()
    root = root.absolute()
    total = 4 + pdf + epub
    with log.step(1, total, f"Loading {_shown(root / 'manuscript')}"):
        project = load_sources(root)
        out = out_dir if out_dir is not None else root / "dist"
        _check_output(out)
        for stale in remove_stale_temporaries(out):
            log.LOGGER.debug("        removed %s, left by an interrupted build", stale.name)
    with log.step(2, total, "Converting Markdown"):
        convert_project(project, cache_folder(root) if cache is True else None)
    book, meta, config, theme = project.book, project.require_meta, project.config, project.theme
    log.LOGGER.info(
        "        %d chapter%s, %s layout", len(book.chapters), "s" * (len(book.chapters) != 1), project.layout
    )
    env = environment(theme)
    with log.step(3, total, "Composing HTML"):
        printed = compose_print(
            book, meta, config, theme, env, project.layout, project.code_css, split=project.layout == "book"
        )
    layout_cache = LayoutCache(cache_folder(root) if cache else None, read_only=cache == "read")
    try:
        with log.step(4, total, "Laying out pages (WeasyPrint)"):
            check_coverage(theme.fonts(), ((f"manuscript/{c.rel}", c.markdown) for c in book.chapters))
            layout = _lay_out(project, printed, layout_cache, jobs or os.cpu_count() or 1)
        # The EPUB's stylesheets are checked before anything is written, so --strict sees their warnings too.
        styles = epub_styles(theme, root, project.code_css, config.epub.embed_fonts) if epub else None
        if strict and log.warnings_seen():
            raise EssaybookError(f"{len(log.warnings_seen())} warning(s) with --strict; nothing was written")
        number = 5
        pdf_result = epub_result = None
        if pdf:
            with log.step(number, total, "Writing PDF"):
                pdf_result = layout.write(meta, config, out / f"{meta.slug}.pdf")
            number += 1
        if styles is not None:
            with log.step(number, total, "Packaging EPUB (ebooklib)"):
                by_anchor = {anchor: (chapter, block) for chapter, block, anchor in printed.blocks}
                pages = [(label, *by_anchor[anchor]) for label, anchor in layout.page_starts]
                composed = compose_epub(book, meta, config, styles.hrefs, env, pages)
                epub_result = render_epub(
                    composed,
                    styles,
                    list(book.assets.values()),
                    theme.fonts() if config.epub.embed_fonts else [],
                    meta,
                    out / f"{meta.slug}.epub",
                    cover=epub_cover(meta, theme),
                    images=book.images,
                    images_without_alt=book.images_without_alt,
                    page_list=bool(pages),
                )
        layout_cache.prune()
    finally:
        layout_cache.close()
    result = BuildResult(
        pdf=pdf_result,
        epub=epub_result,
        seconds=time.perf_counter() - start,
        warnings=len(log.warnings_seen()),
        pages=layout.pages,
        laid_out=layout.laid_out,
    )
    log.LOGGER.info(result.summary())
    return result


@dataclass
class _Laid:
    """The print layout, whichever way it was made: what the EPUB needs, and how to write the PDF."""

    pages: int
    page_starts: list[tuple[str, str]]
    write: Callable[[Meta, Config, Path], PdfResult]
    laid_out: int | None = None


def _lay_out(project: Project, printed: PrintDocument, cache: LayoutCache, jobs: int) -> _Laid:
    """Chapter by chapter in parallel (book layout), else as one WeasyPrint document."""
    book, meta, config, theme, root = project.book, project.require_meta, project.config, project.theme, project.root
    assets = {a.href: a.source for a in book.assets.values()}
    if meta.cover_image is not None:
        assets[meta.cover_image.href] = meta.cover_image.source
    uses = {a.href: a.used_at for a in book.assets.values()}
    heading_ids = frozenset(h.id for c in book.chapters for h in c.headings)
    cover = meta.cover_image is not None and config.pdf.cover
    if project.layout == "book":
        blocks: dict[str, list[str]] = {}
        ids = {c.index: c.id for c in book.chapters}
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
        )
        try:
            laid = lay_out_book(printed, settings, cache, jobs)
        except Unsplittable as exc:
            log.LOGGER.debug("        laying the book out as one document: %s", exc)
        else:
            log.LOGGER.debug("        %d of the layout units laid out, the others from the cache", laid.laid_out)
            report_layout(laid.displaced, laid.refused, laid.failed, laid.messages, uses)

            def write_book(meta: Meta, config: Config, target: Path) -> PdfResult:
                try:
                    with atomic_output(target) as temp:
                        laid.write(temp)
                except OSError as exc:
                    raise RenderError(f"cannot write the PDF: {exc.strerror or exc}", file=target) from None
                return PdfResult(path=target, pages=laid.pages)

            return _Laid(laid.pages, laid.page_starts, write_book, laid.laid_out)
        html = printed.html.replace(f'href="{ANCHOR_SCHEME}', 'href="#')
    else:
        html = printed.html
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
    )

    def write_one(meta: Meta, config: Config, target: Path) -> PdfResult:
        return write_pdf(layout, meta, config, target)

    return _Laid(len(layout.rendered.pages), layout.page_starts, write_one)
