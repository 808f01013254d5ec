"""``essaybook build``: the pipeline's stages as numbered steps -> ``dist/<slug>.pdf`` and ``dist/<slug>.epub``."""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from pathlib import Path

from essaybook import log, paths
from essaybook.buildrecord import BuildRecord, Record
from essaybook.errors import EssaybookError, RenderError
from essaybook.renderers.results import EpubResult, PdfResult


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
    unchanged: bool = False
    """Nothing the outputs depend on changed since the last build: nothing was written."""

    def summary(self) -> str:
        parts = []
        if self.pdf:
            parts.append(f"{_shown(self.pdf.path)} ({self.pdf.pages} pages)")
        if self.epub:
            parts.append(f"{_shown(self.epub.path)} ({self.epub.files} files)")
        warned = f", {self.warnings} warning{'s' if self.warnings != 1 else ''}" if self.warnings else ""
        if self.unchanged:
            unchanged = "nothing changed since the last build"
            return f"Up to date: {' and '.join(parts)}, {unchanged} ({self.seconds:.1f} s){warned}"
        return f"Wrote {' and '.join(parts) or 'nothing'} in {self.seconds:.1f} s{warned}"


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
    out = out_dir if out_dir is not None else root / "dist"
    record = None
    if cache is True and (root / "manuscript").is_dir():
        options = {"pdf": pdf, "epub": epub, "out": str(out.absolute()), "strict": strict}
        record = BuildRecord(root, options)
        previous = record.up_to_date()
        if previous is not None:
            return _unchanged(previous, pdf, epub, start)
    # The pipeline (and WeasyPrint behind it) is imported only when there is something to build.
    from essaybook.forked import Forked
    from essaybook.pipeline import Pipeline
    from essaybook.renderers import remove_stale_temporaries, staged

    total = 4 + pdf + epub
    with Pipeline(root, cache=cache, jobs=jobs) as pipeline, paths.tracking() as read:
        with log.step(1, total, f"Loading {_shown(root / 'manuscript')}"):
            pipeline.load()
            _check_output(out)
            for stale in remove_stale_temporaries(out):
                log.LOGGER.debug("        removed %s, left by an interrupted build", stale.name)
        with log.step(2, total, "Converting Markdown"):
            project = pipeline.convert()
        chapters = len(project.book.chapters)
        log.LOGGER.info("        %d chapter%s, %s layout", chapters, "s" * (chapters != 1), project.layout)
        with log.step(3, total, "Composing HTML"):
            pipeline.compose_print()
        with log.step(4, total, "Laying out pages (WeasyPrint)"):
            if pdf:  # an EPUB is drawn with the reading system's fonts
                pipeline.check_fonts()
            layout = pipeline.lay_out(pdf)
        if epub:  # checked before anything is written, so --strict sees the stylesheets' warnings too
            pipeline.epub_styles()
        if strict and log.warnings_seen():
            raise EssaybookError(f"{len(log.warnings_seen())} warning(s) with --strict; nothing was written")
        slug = project.require_meta.slug
        pdf_result = epub_result = None
        targets = [out / f"{slug}.{suffix}" for suffix, wanted in (("pdf", pdf), ("epub", epub)) if wanted]
        with staged(targets) as temps:  # dist/ changes only once every output is written
            # The EPUB is packaged in a forked process while this one assembles the PDF (essaybook.forked).
            beside = Forked.start(lambda: pipeline.package_epub(temps[-1])) if pdf and epub else None
            try:
                if pdf:
                    with log.step(5, total, "Writing PDF"):
                        pdf_result = dataclasses.replace(pipeline.write_pdf(temps[0]), path=targets[0])
                if epub:
                    with log.step(5 + pdf, total, "Packaging EPUB (ebooklib)"):
                        packaged = beside.result() if beside is not None else None
                        if packaged is None:
                            packaged = pipeline.package_epub(temps[-1])
                        epub_result = dataclasses.replace(packaged, path=targets[-1])
            finally:
                if beside is not None:
                    beside.stop()
            written = BuildRecord.output_digests(dict(zip(targets, temps, strict=True))) if record else None
    result = BuildResult(
        pdf=pdf_result,
        epub=epub_result,
        seconds=time.perf_counter() - start,
        warnings=len(log.warnings_seen()),
        pages=layout.pages,
        laid_out=layout.laid_out,
    )
    if record is not None and written is not None and not project.book.allow_remote:  # a server's image may change
        used = [asset.source for asset in project.book.assets.values()]
        summary = {
            "pages": layout.pages,
            "pdf_pages": pdf_result.pages if pdf_result else 0,
            "epub_files": epub_result.files if epub_result else 0,
        }
        record.save([*used, *map(Path, sorted(read))], written, log.diagnostics_seen(), summary)
    log.LOGGER.info(result.summary())
    return result


def _unchanged(previous: Record, pdf: bool, epub: bool, start: float) -> BuildResult:
    """The result of a build that found its outputs up to date: its diagnostics again, nothing written."""
    for diagnostic in previous.diagnostics:
        log.report(diagnostic)
    summary = previous.summary
    paths_of = sorted(Path(p) for p in previous.outputs)
    pdf_path = next((p for p in paths_of if p.suffix == ".pdf"), None)
    epub_path = next((p for p in paths_of if p.suffix == ".epub"), None)
    result = BuildResult(
        pdf=PdfResult(path=pdf_path, pages=summary["pdf_pages"]) if pdf and pdf_path else None,
        epub=EpubResult(path=epub_path, files=summary["epub_files"]) if epub and epub_path else None,
        seconds=time.perf_counter() - start,
        warnings=len(previous.diagnostics),
        pages=summary["pages"],
        laid_out=0,
        unchanged=True,
    )
    log.LOGGER.info(result.summary())
    return result
