"""One layout unit -> its pages as a PDF file and what the assembly needs to know about them.

Runs in a worker process (or in the build's own process for ``-j 1`` and small jobs): takes and returns
plain data only, and never logs; WeasyPrint's messages go back with the result.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from weasyprint.urls import URLFetcherResponse

from essaybook.fetcher import RestrictedFetcher
from essaybook.forked import end_with_parent
from essaybook.layout import styles
from essaybook.layout.images import printed_images
from essaybook.layout.jobs import Job, Result
from essaybook.layout.units import rewrite_target_counters, without_margin_boxes
from essaybook.limits import deadline
from essaybook.renderers import atomic_output
from essaybook.renderers.pdf import MessageCollector, add_xmp_language, layout_with_notes, metadata_finisher
from essaybook.urls import ASSET_SCHEME


class _Fetcher(RestrictedFetcher):
    """Records every file it reads (the cache checks them before trusting an entry); with ``numbered``,
    serves stylesheets with their ``target-counter()`` page numbers rewritten, with ``bare``, without their
    margin boxes (see units.py)."""

    def __init__(self, roots: list[Path], assets: dict[str, Path], numbered: bool, bare: bool) -> None:
        super().__init__(roots, assets=assets)
        self.numbered = numbered
        self.bare = bare
        self.loaded: list[str] = []

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> Any:
        response = super().fetch(url, headers)
        parts = urlsplit(url)
        if parts.scheme.lower() == ASSET_SCHEME:
            self.loaded.append(str(self.assets[parts.path]))
        elif parts.scheme.lower() == "file":
            self.loaded.append(url2pathname(parts.path))
        if not ((self.numbered or self.bare) and url.lower().endswith(".css")):
            return response
        try:
            body = response.read()
        finally:
            if hasattr(response, "close"):
                response.close()
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:  # not ours to rewrite (an imported sheet in another encoding): as it is
            return URLFetcherResponse(url, body=body, headers={"Content-Type": "text/css"})
        if self.numbered:
            text = rewrite_target_counters(text)
        if self.bare:
            text = without_margin_boxes(text)
        return URLFetcherResponse(url, body=text.encode("utf-8"), headers={"Content-Type": "text/css; charset=utf-8"})


def run(job: Job) -> Result:
    """Lay out ``job`` and write its pages to ``job.target`` (created atomically)."""
    parsed = None
    if job.sheets:  # parsed once per build and process (before the job's own folder: they outlive it)
        parsed = styles.styles_for(
            job.sheets, job.base_url, job.numbered, _bare(job), lambda: _fetcher(job), _collecting
        )
    # WeasyPrint copies the @font-face fonts into a temporary folder per document and removes it only when
    # its FontConfiguration is collected, which a worker's exit does not wait for: 1.8 MB left in /tmp per
    # chapter. Everything it makes in a temporary folder during the job goes into one removed afterwards.
    global _job_folder
    folder = _job_folder = tempfile.mkdtemp(prefix="essaybook-job-")
    saved, tempfile.tempdir = tempfile.tempdir, folder
    try:
        return _run(job, parsed)
    finally:
        tempfile.tempdir = saved
        _job_folder = None
        shutil.rmtree(folder, ignore_errors=True)


def _fetcher(job: Job) -> _Fetcher:
    return _Fetcher([Path(r) for r in job.roots], {h: Path(p) for h, p in job.assets}, job.numbered, _bare(job))


def _bare(job: Job) -> bool:
    """The job's stylesheets are read without margin boxes: it draws no furniture (a chapter, or a skeleton
    that only measures where pages fall, which margin boxes never change)."""
    return not job.furniture or job.measure


_job_folder: str | None = None
"""The running job's temporary folder (see :func:`run`), for :func:`_stop`."""


def _stop(signum: int, frame: object) -> None:
    """SIGTERM in a worker (the build stopped, failed or died): remove the job's temporary folder and end now.

    Not an exception: the build's own SIGTERM handler, inherited through fork, raised KeyboardInterrupt, which
    the pool's worker loop caught and reported, and then it took the next queued job and wrote its PDF into
    the layout cache after the build had removed its temporary cache folder.
    """
    if _job_folder is not None:
        shutil.rmtree(_job_folder, ignore_errors=True)
    os._exit(128 + signum)


@contextlib.contextmanager
def _collecting() -> Iterator[list[str]]:
    """WeasyPrint's messages while the block runs, in the list yielded."""
    collect = MessageCollector()
    weasy_log = logging.getLogger("weasyprint")
    weasy_log.addHandler(collect)
    try:
        yield collect.messages
    finally:
        weasy_log.removeHandler(collect)


def _run(job: Job, parsed: styles.Styles | None) -> Result:
    fetcher = _fetcher(job)
    collect = MessageCollector()
    weasy_log = logging.getLogger("weasyprint")
    weasy_log.addHandler(collect)
    try:
        with deadline(job.seconds):
            rendered, displaced = layout_with_notes(
                job.html,
                job.base_url,
                fetcher,
                job.stops,
                passes=1 if job.furniture else 5,
                styles=parsed,
                blocks=() if job.furniture else job.blocks,
            )
        start = next((i for i, page in enumerate(rendered.pages) if job.first in page.anchors), 0)
        kept = rendered.pages[start:]
        order = {anchor: i for i, anchor in enumerate(job.blocks)}
        anchors: dict[str, int] = {}
        tops: list[str | None] = []
        marked: list[bool] = []
        sides: list[str] = []
        blank: list[bool] = []
        for index, page in enumerate(kept):
            for anchor in page.anchors:
                anchors.setdefault(anchor, index)
            on_page = [(box[1], order[a]) for a, box in page.anchors.items() if a in order]
            tops.append(job.blocks[min(on_page)[1]] if on_page else None)
            marked.append(bool(page.anchors))
            page_type = page._page_box.page_type  # WeasyPrint keeps the side only on the page box
            sides.append(str(page_type.side))
            blank.append(bool(page_type.blank))
        if not job.measure:  # a pagination skeleton: only its measurements are wanted
            options = dict(job.options)
            if job.xmp is not None:
                add_xmp_language(rendered, *job.xmp)
            finisher = _deflating(metadata_finisher(xmp=job.xmp is not None and not options.get("pdf_variant")))
            with atomic_output(Path(job.target)) as temp:
                (rendered.copy(kept) if start else rendered).write_pdf(str(temp), finisher=finisher, **options)
    finally:
        weasy_log.removeHandler(collect)
    sheets = parsed.report() if parsed is not None else styles.Parsed(None, {})
    return Result(
        pages=len(kept),
        anchors=anchors,
        tops=tops,
        marked=marked,
        sides=sides,
        blank=blank,
        displaced=displaced,
        refused=sheets.refused + list(fetcher.refused),
        failed=sheets.failed + list(fetcher.failed),
        messages=sheets.messages + collect.messages,
        loaded=sorted(set(sheets.loaded + fetcher.loaded)),
        images=[] if job.furniture else printed_images(kept),
    )


_CONTENT_LEVEL = 6
_FONT_LEVEL = 1
_STREAM_START, _STREAM_END = b"\nstream\n", b"\nendstream"


def _deflating(finisher: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    """``finisher``, then every stream deflated at the level a unit's PDF needs, before the PDF is written.

    WeasyPrint's PDF writer (pydyf) deflates every stream at zlib's level 9: 3.5 s of CPU time for 120 of
    the Rust book's units, three quarters of it on font subsets that the assembly replaces with one shared
    subset (layout/fontshare.py). Level 6 gives pages and images within 2 % of level 9's size at a third of
    the time; font programs take level 1. The streams are handed to pydyf deflated, with their filter named,
    and pydyf is told not to compress them again.
    """

    def finish(document: Any, pdf: Any) -> None:
        import zlib

        import pydyf

        finisher(document, pdf)
        for obj in pdf.objects:
            if not isinstance(obj, pydyf.Stream) or not obj.compress:
                continue
            obj.compress = False
            whole = obj.data  # the dictionary, then the stream's bytes as pydyf serialises them
            raw = whole[whole.index(_STREAM_START) + len(_STREAM_START) : -len(_STREAM_END)]
            font = "Length1" in obj.extra or obj.extra.get("Subtype") in ("/OpenType", "/CIDFontType0C", "/Type1C")
            obj.stream = [zlib.compress(raw, _FONT_LEVEL if font else _CONTENT_LEVEL)]
            obj.extra["Filter"] = "/FlateDecode"

    return finish


def quiet_worker() -> None:
    """Pool initializer: WeasyPrint's log stays in the worker (each job collects its own messages), and the
    worker ends with the build that started it, even when that build is killed outright."""
    end_with_parent(signal.SIGTERM)
    weasy_log = logging.getLogger("weasyprint")
    weasy_log.handlers.clear()
    weasy_log.addHandler(logging.NullHandler())
    weasy_log.propagate = False
    signal.signal(signal.SIGTERM, _stop)
