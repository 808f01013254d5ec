"""Stage 4 for the book layout: units laid out in parallel (and cached) -> furniture -> one assembled PDF.

1. Every unit (each chapter, each display page) is laid out as its own WeasyPrint document, in a pool of
   worker processes, without folios or running heads; a unit already in the cache is not laid out again.
2. A pagination skeleton (the book with each unit cut to one or two empty pages of the same parity) finds
   the blank versos and the side each unit starts on; meanwhile the printed contents, which print other
   units' page numbers, are laid out with the numbers a book of recto-opening chapters would have.
3. The contents are laid out again if those numbers were wrong, and the furniture skeletons (the book with
   each unit reduced to its number of empty pages, in parts) draw folios and running heads with the
   theme's own CSS.
4. The units' pages, blank pages and furniture are assembled into one PDF (layout/assemble.py).

Any step whose result disagrees with the one-document layout (a unit that does not begin a page, which a
theme without page breaks between chapters gives) raises :class:`Unsplittable`; the build then lays the
book out as one document."""

from __future__ import annotations

import functools
import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from essaybook import log
from essaybook.compose import PrintDocument
from essaybook.errors import EssaybookError, RenderError
from essaybook.layout import assemble, styles, units
from essaybook.layout.cache import LayoutCache, key_of
from essaybook.layout.fontshare import FONT_SUFFIXES
from essaybook.layout.jobs import Job, Result
from essaybook.limits import LayoutTimeout
from essaybook.renderers.pdf import label_list, label_ranges, layout_failure, roman, starts_of


class Unsplittable(Exception):
    """The book cannot be laid out unit by unit; the message says why (for --debug)."""


@dataclass
class Settings:
    """What every unit's layout shares."""

    identity: list[int]
    """The project folder's identity (see convert_cache.project_identity), part of every key."""
    base_url: str
    roots: tuple[str, ...]
    assets: tuple[tuple[str, str], ...]
    stops: frozenset[str]
    """Heading ids (see renderers.pdf.layout_with_notes)."""
    blocks: dict[str, list[str]]
    """Chapter id -> anchors of its blocks in order."""
    options: dict[str, Any]
    xmp: tuple[str, tuple[str, ...]] | None
    body_start: str | None
    cover: bool
    sources: dict[str, str] = field(default_factory=dict)
    """Chapter id -> its file ("manuscript/ch.md"), for messages."""
    stylesheets: tuple[str, ...] = ()
    """The project's own stylesheets the print layout reads ("styles/x.css"), for messages."""
    seconds: float = 0
    """The time limit of each job (0: none), see essaybook.limits."""
    spine_bleed: str | None = None
    """The side of the first page ("right" or "left") when the bleed is to be taken off the spine edge (see
    production.trim_spine_bleed); None to keep the pages as laid out."""


@dataclass
class BookLayout:
    """The laid-out book: labels and EPUB page starts as the one-document layout gives them, and the PDF."""

    pages: int
    labels: list[tuple[int, str]]
    page_starts: list[tuple[str, str]]
    displaced: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    write: Callable[[Path], None] = lambda target: None
    laid_out: int = 0
    """Units laid out by this build (the others came from the cache)."""
    images: list[tuple[str, float, float]] = field(default_factory=list)
    """The raster images printed: see layout/images.py."""


@dataclass
class _Task:
    kind: str
    key: str
    job: Job
    source: str | None = None
    """The chapter file the unit holds ("manuscript/ch.md"), for messages; None for the display pages."""
    stylesheets: tuple[str, ...] = ()
    """The project's stylesheets the unit reads, for messages."""


class _Runner:
    """Runs jobs through the cache, in a process pool when more than one is left to do."""

    def __init__(self, cache: LayoutCache, jobs: int) -> None:
        self.cache = cache
        self.jobs = max(1, jobs)
        self.pool: ProcessPoolExecutor | None = None
        self.laid_out = 0
        self.folder: str | None = None
        """Where this build's layout processes keep the fonts of their parsed stylesheets (layout/styles.py)."""

    def close(self, interrupted: bool = False) -> None:
        """Stop the workers: after their current unit, or at once when the build was ``interrupted`` (Ctrl-C,
        ``kill``, an error), so that nothing goes on writing after the build has stopped."""
        if self.pool is not None:
            if interrupted:
                processes = list(getattr(self.pool, "_processes", {}).values())  # no public way to stop them
                for process in processes:
                    process.terminate()
                for process in processes:  # each ends at once (worker._stop): wait, so none writes after the build
                    process.join(timeout=10)
            self.pool.shutdown(wait=not interrupted, cancel_futures=True)
        if self.folder is not None:
            styles.end()
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def run(self, tasks: Sequence[_Task], what: str = "units") -> list[Result]:
        start, before = time.perf_counter(), self.laid_out
        try:
            return self._run(tasks, what)
        finally:
            log.LOGGER.debug(
                "        %s: %d of %d laid out in %.2f s",
                what,
                self.laid_out - before,
                len(tasks),
                time.perf_counter() - start,
            )

    def _run(self, tasks: Sequence[_Task], what: str) -> list[Result]:
        results: dict[int, Result] = {}

        todo: list[tuple[int, _Task]] = []
        for number, task in enumerate(tasks):
            data = self.cache.load(task.kind, task.key)
            result = _result(data) if data is not None else None
            if result is not None:
                results[number] = result
            else:
                todo.append((number, task))
        if not todo:
            return [results[number] for number in range(len(tasks))]
        from essaybook.layout.worker import quiet_worker, run  # imports WeasyPrint: only when there is work

        if self.folder is None:  # before the workers are forked: they start with this build's empty state
            self.folder = tempfile.mkdtemp(prefix="essaybook-layout-")
            styles.begin(self.folder)
        if len(todo) > 1 and self.jobs > 1 and self.pool is None and "fork" in multiprocessing.get_all_start_methods():
            # fork: the workers start with essaybook and WeasyPrint already imported (where there is no fork,
            # as on Windows, the chapters are laid out one after the other in this process).
            context = multiprocessing.get_context("fork")
            self.pool = ProcessPoolExecutor(self.jobs, mp_context=context, initializer=quiet_worker)
        if len(todo) > 1 and self.pool is not None:
            # The longest first, so that no long chapter is left to run alone at the end.
            todo.sort(key=lambda item: -len(item[1].job.html))
            futures: dict[Future[Result], tuple[int, _Task]] = {
                self.pool.submit(run, task.job): (number, task) for number, task in todo
            }
            done = as_completed(futures)
            for _ in log.progress(range(len(todo)), what):
                future = next(done)
                number, task = futures[future]
                results[number] = self._store(task, _named(task, future.result))
        else:
            for _, (number, task) in zip(log.progress(range(len(todo)), what), todo, strict=True):
                results[number] = self._store(task, _named(task, functools.partial(run, task.job)))
        return [results[number] for number in range(len(tasks))]

    def _store(self, task: _Task, result: Result) -> Result:
        self.laid_out += 1
        self.cache.store(task.kind, task.key, result.as_json(), result.loaded)
        return result


def _result(data: dict[str, Any]) -> Result | None:
    """A cached record as a :class:`Result`; None when it has another shape (it is laid out again)."""
    try:
        return Result(**data)
    except TypeError:
        return None


def _named(task: _Task, call: Callable[[], Result]) -> Result:
    """``call()``, a failure of WeasyPrint or of a worker process reported as a :class:`RenderError` that
    names the chapter (the traceback stays attached for ``--debug``)."""
    furniture = task.kind in ("skeleton", "pagination")
    what = task.source or ("the page furniture" if furniture else "the title and contents pages")
    try:
        return call()
    except BrokenProcessPool:
        raise RenderError(
            f"a layout process stopped while laying out {what}", file=task.source, hint="out of memory? try -j 1"
        ) from None
    except (Exception, LayoutTimeout) as exc:
        if isinstance(exc, EssaybookError):
            raise
        raise layout_failure(exc, what, task.source, task.stylesheets) from exc


def _task(
    settings: Settings,
    cache: LayoutCache,
    kind: str,
    document: units.Document,
    first: str,
    blocks: Sequence[str],
    ids: frozenset[str] = frozenset(),
    source: str | None = None,
    **extra: Any,
) -> _Task:
    stops = settings.stops & ids
    options = sorted(settings.options.items())
    if extra.get("furniture"):
        # The skeleton's pages are drawn as artifacts: it needs no structure tree and claims no conformance.
        options = [(k, v) for k, v in options if k not in ("pdf_tags", "pdf_variant")]
    printable = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in options]
    key = key_of(
        kind,
        document.html,
        [list(sheet) for sheet in document.sheets],
        settings.identity,
        settings.base_url,
        printable,
        first,
        list(blocks),
        sorted(stops),
        repr(sorted(extra.items())),
    )
    job = Job(
        html=document.html,
        sheets=document.sheets,
        base_url=settings.base_url,
        roots=settings.roots,
        assets=settings.assets,
        stops=stops,
        blocks=tuple(blocks),
        first=first,
        options=tuple(options),
        target=str(cache.pdf(kind, key)),
        seconds=settings.seconds,
        **extra,
    )
    return _Task(kind, key, job, source, settings.stylesheets)


def _skeleton_task(
    settings: Settings, cache: LayoutCache, frame: units.Frame, pages: list[int], kind: str = "skeleton"
) -> _Task:
    """The skeleton of the book; as ``kind`` "pagination", only measured (no PDF is written)."""
    document = units.skeleton_html(frame, pages)
    return _task(settings, cache, kind, document, "", [], furniture=True, measure=kind == "pagination")


def _unit_task(
    settings: Settings,
    cache: LayoutCache,
    frame: units.Frame,
    unit: units.Unit,
    lead: bool,
    numbers: dict[str, dict[str, str]] | None,
) -> _Task:
    base = unit.index == 0
    document = units.unit_html(frame, unit, numbers, base=base, lead=lead)
    blocks = settings.blocks.get(unit.chapter_id or "", [])
    return _task(
        settings,
        cache,
        "units",
        document,
        unit.root_id,
        blocks,
        unit.ids,
        settings.sources.get(unit.chapter_id or ""),
        numbered=unit.numbered,
        xmp=settings.xmp if base else None,
    )


def _numbers(number: int) -> dict[str, str]:
    return {"decimal": str(number), "lower-roman": roman(number), "upper-roman": roman(number).upper()}


def lay_out_book(
    printed: PrintDocument, settings: Settings, cache: LayoutCache, jobs: int, pdf: bool = True
) -> BookLayout:
    """Lay the book out unit by unit (see the module docstring); without ``pdf``, only as far as the EPUB's
    page list needs (no furniture, and :attr:`BookLayout.write` must not be called)."""
    try:
        frame = units.split(printed.frame, printed.fragments, printed.running, printed.ids, printed.referred)
    except ValueError as exc:
        raise Unsplittable(str(exc)) from None
    if len(frame.units) < 2:
        raise Unsplittable("the print document has fewer than two units")
    runner = _Runner(cache, jobs)
    try:
        laid = _lay_out(frame, settings, cache, runner, pdf)
    except BaseException:
        runner.close(interrupted=True)
        raise
    runner.close()
    return laid


def _guessed_plan(frame: units.Frame, pages: list[int]) -> list[assemble.Placed]:
    """The pagination of a book whose chapters open on right-hand pages and whose other units follow on."""
    plan: list[assemble.Placed] = []
    for unit in frame.units:
        if unit.chapter_id is not None and len(plan) % 2:
            plan.append(assemble.Placed(None, 0))
        plan.extend(assemble.Placed(unit.index, number) for number in range(pages[unit.index]))
    return plan


def _page_numbers(
    frame: units.Frame,
    settings: Settings,
    results: list[Result],
    plan: list[assemble.Placed],
    owners: dict[str, units.Unit],
) -> tuple[list[tuple[int, str]], dict[str, dict[str, str]]]:
    """The page labels of ``plan`` and the printed number of every page the units link to."""
    where = {(p.unit, p.page): index for index, p in enumerate(plan) if p.unit is not None}
    body = owners.get(settings.body_start or "") if settings.body_start else None
    first_body = None
    if body is not None and settings.body_start in results[body.index].anchors:
        first_body = where.get((body.index, results[body.index].anchors[settings.body_start or ""]))
    labels = label_ranges(first_body, settings.cover)
    printed_labels = label_list(labels, len(plan))
    numbers: dict[str, dict[str, str]] = {}
    for unit in frame.units:
        for target in unit.links:
            owner = owners.get(target)
            if owner is None or target not in results[owner.index].anchors:
                continue
            page = where[(owner.index, results[owner.index].anchors[target])]
            start = max(start for start, _ in labels if start <= page)
            if not printed_labels[page].startswith(("Cover", "Inside")):
                numbers[target] = _numbers(page - start + 1)
    return labels, numbers


def _ltr_sides(frame: units.Frame, pages: list[int], reduced: Result) -> Callable[[int], str] | None:
    """:func:`_sides_of`, or None for a book whose first page is a verso (right to left)."""
    if not reduced.sides or reduced.sides[0] != "right":
        return None
    return _sides_of(frame, pages, reduced)


def _guessed_sides(frame: units.Frame, pages: list[int], plan: list[assemble.Placed]) -> Callable[[int], str] | None:
    """Unit index -> the side of its last page in ``plan``, for a book declared left to right (else None)."""
    if frame.html.get("dir", "").strip().lower() != "ltr":
        return None
    last = {p.unit: index for index, p in enumerate(plan) if p.unit is not None}

    def side_of(unit: int) -> str:
        return "right" if last[unit] % 2 == 0 else "left"

    return side_of


def _reduced(pages: list[int]) -> list[int]:
    """Page counts cut to 1 or 2 of the same parity: the same spreads, so the same blank pages between units."""
    return [count if count <= 2 else 2 - count % 2 for count in pages]


def _expand(pages: list[int], reduced: list[assemble.Placed]) -> list[assemble.Placed]:
    """The pagination of the reduced skeleton with every unit at its full length."""
    plan: list[assemble.Placed] = []
    for placed in reduced:
        if placed.unit is None:
            plan.append(placed)
        elif placed.page == 0:
            plan.extend(assemble.Placed(placed.unit, number) for number in range(pages[placed.unit]))
    return plan


def _lay_out(frame: units.Frame, settings: Settings, cache: LayoutCache, runner: _Runner, pdf: bool) -> BookLayout:
    lead = [False] * len(frame.units)
    owners = {target: u for u in frame.units for target in u.ids}
    tasks = [_unit_task(settings, cache, frame, u, False, None) for u in frame.units]
    results = runner.run(tasks, "chapters")
    for _attempt in range(5):
        pages = [r.pages for r in results]
        # Where blank pages fall and which side each unit starts on depend only on the parity of the units
        # before it: a skeleton of one or two pages a unit finds them in a fraction of the time.
        reduced_task = _skeleton_task(settings, cache, frame, _reduced(pages), kind="pagination")
        guesses: list[_Task] = []
        if _attempt == 0:
            # Meanwhile, the printed contents with the page numbers a book whose chapters open on rectos would
            # have: most often right, and then laid out already when the real numbers are known.
            guessed = _guessed_plan(frame, pages)
            guessed_labels, guess = _page_numbers(frame, settings, results, guessed, owners)
            guesses = [_unit_task(settings, cache, frame, u, lead[u.index], guess) for u in frame.units if u.numbered]
            if pdf:
                # And the furniture of the body's parts as that pagination gives it, on the worker the
                # skeleton leaves free: where the front matter is paginated otherwise (a title page on a
                # recto), the body's parts still come out the same, and are then found in the cache.
                guessed_sides = _guessed_sides(frame, pages, guessed)
                body_parts = _chunks(frame, pages, guessed, guessed_labels, guessed_sides, runner.jobs)[1:]
                guesses.extend(_furniture_task(settings, cache, frame, pages, chunk) for chunk in body_parts)
        reduced = runner.run([reduced_task, *guesses], "pagination")[0]
        plan = _expand(pages, _plan(frame, _reduced(pages), reduced))
        # A unit must begin on the side of the spread the one-document layout gives it.
        redo = []
        for unit in frame.units:
            if pages[unit.index]:
                wanted = reduced.sides[reduced.anchors[units.page_anchor(unit.index, 0)]]
                if results[unit.index].sides[0] != wanted:
                    lead[unit.index] = not lead[unit.index]
                    redo.append(unit)
        labels, numbers = _page_numbers(frame, settings, results, plan, owners)
        again = {u.index: _unit_task(settings, cache, frame, u, lead[u.index], numbers) for u in redo}
        for unit in frame.units:
            if unit.numbered and unit.index not in again:
                task = _unit_task(settings, cache, frame, unit, lead[unit.index], numbers)
                if task.key != tasks[unit.index].key:
                    again[unit.index] = task
        if not again:
            break
        batch = list(again.values())
        if pdf:
            # Most often the printed contents keep their length: lay the furniture out meanwhile.
            chunks = _chunks(frame, pages, plan, labels, _ltr_sides(frame, pages, reduced), runner.jobs)
            batch.extend(_furniture_task(settings, cache, frame, pages, chunk) for chunk in chunks)
        done = runner.run(batch, "contents")
        for (index, task), result in zip(again.items(), done, strict=False):
            tasks[index], results[index] = task, result
    else:
        raise Unsplittable("page counts did not settle")
    pages = [r.pages for r in results]
    furniture: list[tuple[Path, int]] = []
    furniture_tasks: list[_Task] = []
    furniture_results: list[Result] = []
    if pdf:
        chunks = _chunks(frame, pages, plan, labels, _ltr_sides(frame, pages, reduced), runner.jobs)
        furniture_tasks = [_furniture_task(settings, cache, frame, pages, chunk) for chunk in chunks]
        furniture_results = runner.run(furniture_tasks, "furniture")
        parts = _furniture_pages(chunks, furniture_tasks, furniture_results, plan, cache)
        if parts is not None:
            furniture = parts
        else:
            # A part of the book did not paginate alone as it does in the whole: draw the whole at once.
            whole = _skeleton_task(settings, cache, frame, pages)
            skeleton = runner.run([whole], "furniture")[0]
            if _plan(frame, pages, skeleton) != plan:
                raise Unsplittable("the skeleton paginates differently from its reduced version")
            furniture_tasks, furniture_results = [whole], [skeleton]
            furniture = [(cache.path_of(whole.kind, whole.key), index) for index in range(len(plan))]
    unit_paths = [cache.path_of(t.kind, t.key) for t in tasks]
    starts = _page_starts(plan, results, label_list(labels, len(plan)))
    final_key = key_of("book", [t.key for t in tasks], [t.key for t in furniture_tasks], labels, settings.spine_bleed)

    def write(target: Path) -> None:
        if not furniture:
            raise RuntimeError("lay_out_book() was told no PDF would be written")
        if cache.load("book", final_key) is not None:
            shutil.copyfile(cache.path_of("book", final_key), target)
            return
        cached = cache.pdf("book", final_key)
        cached.parent.mkdir(parents=True, exist_ok=True)
        temp = cached.with_name(f".{cached.name}.pid{os.getpid()}.tmp")
        try:
            fonts = sorted({Path(f) for r in results for f in r.loaded if f.lower().endswith(FONT_SUFFIXES)})
            assemble.assemble(
                unit_paths,
                plan,
                furniture,
                labels,
                temp,
                fonts,
                cache.folder / "fonts",
                _outline_kinds(frame),
                settings.spine_bleed,
            )
            os.replace(temp, cached)
        finally:
            temp.unlink(missing_ok=True)
        # The units' keys do not cover the files they loaded (the cache checks those), so the book records them.
        loaded = [f for r in [*results, *furniture_results] for f in r.loaded]
        cache.store("book", final_key, {"pages": len(plan)}, loaded)
        for old in cached.parent.iterdir():  # only the latest assembled book is worth keeping
            if not old.name.startswith((final_key, ".")):
                old.unlink(missing_ok=True)
        shutil.copyfile(cached, target)

    return BookLayout(
        pages=len(plan),
        labels=labels,
        page_starts=starts,
        displaced=[n for r in results for n in r.displaced],
        refused=[u for r in results for u in r.refused],
        failed=[u for r in results for u in r.failed],
        messages=[m for r in [*results, *furniture_results] for m in r.messages],
        images=[tuple(i) for r in results for i in r.images],  # type: ignore[misc]
        write=write,
        laid_out=runner.laid_out,
    )


def _outline_kinds(frame: units.Frame) -> list[str]:
    """For assemble.assemble(): "part" for a part's title page, "in-part" for a chapter of a part
    (book.html gives them those classes), else ""."""
    kinds = []
    for unit in frame.units:
        classes = unit.root.get("class", "").split()
        kinds.append("part" if "part-page" in classes else "in-part" if "in-part" in classes else "")
    return kinds


def _plan(frame: units.Frame, pages: list[int], skeleton: Result) -> list[assemble.Placed]:
    """Each skeleton page -> the unit page it carries, or a blank page; checks the skeleton's pagination."""
    where: dict[int, assemble.Placed] = {}
    for unit in frame.units:
        for number in range(pages[unit.index]):
            index = skeleton.anchors.get(units.page_anchor(unit.index, number))
            if index is None or index in where:
                raise Unsplittable(f"unit {unit.root_id!r} does not begin a page of its own")
            where[index] = assemble.Placed(unit.index, number)
    plan = []
    previous = (-1, -1)
    for index in range(skeleton.pages):
        placed = where.get(index)
        if placed is None:
            if not skeleton.blank[index]:
                raise Unsplittable(f"page {index + 1} of the skeleton holds no unit page")
            plan.append(assemble.Placed(None, 0))
            continue
        assert placed.unit is not None
        if (placed.unit, placed.page) <= previous:
            raise Unsplittable("the skeleton's pages are out of order")
        previous = (placed.unit, placed.page)
        plan.append(placed)
    return plan


CHUNK_PAGES = 120
"""The furniture of a book this many pages long or longer is laid out in parts."""


@dataclass(frozen=True)
class _Chunk:
    """A run of units whose furniture is laid out as one document: ``units`` (after ``prefix`` pages of the
    unit before them, which set the side and the running head), the book's pages ``first`` to ``last``
    (exclusive) and the page counter at ``first``."""

    units: range
    prefix: int
    first: int
    last: int
    counter: int


def _sides_of(frame: units.Frame, pages: list[int], reduced: Result) -> Callable[[int], str]:
    """Unit index -> the side of the spread its last page is on, as the reduced skeleton laid it out."""
    reduced_pages = _reduced(pages)

    def side_of(unit: int) -> str:
        return reduced.sides[reduced.anchors[units.page_anchor(unit, reduced_pages[unit] - 1)]]

    return side_of


def _chunks(
    frame: units.Frame,
    pages: list[int],
    plan: list[assemble.Placed],
    labels: list[tuple[int, str]],
    side_of: Callable[[int], str] | None,
    jobs: int,
) -> list[_Chunk]:
    """The book's furniture in parts cut before body chapters (where the page counter runs on from the body's
    first page), so that the parts are laid out side by side and a part is laid out again only when its pages
    move. The first part ends at the first cut the counter allows (the front matter and the first chapter):
    its pagination is the one the book's first build has to wait for (see :func:`_lay_out`), so it is kept
    short; the others are of about equal length. One part for a right-to-left book (its first page is a
    verso), which ``side_of`` (see :func:`_sides_of`) is None for."""
    count = len(plan)
    body = next((start for start, style in labels if style == "/D"), None)
    parts = max(1, min(2 * jobs, count // CHUNK_PAGES))
    if parts == 1 or body is None or side_of is None:
        return [_Chunk(range(len(frame.units)), 0, 0, count, 0)]
    first_page = {p.unit: i for i, p in reversed(list(enumerate(plan))) if p.unit is not None}
    last_page = {p.unit: i for i, p in enumerate(plan) if p.unit is not None}
    starts, share = [0], float(count)
    for unit in frame.units[1:]:
        index = unit.index
        previous = index - 1
        if (
            unit.chapter_id is None
            or not pages[index]
            or not pages[previous]
            or first_page[index] <= body
            or first_page[previous] <= body
        ):
            continue
        if len(starts) == 1:
            starts.append(index)
            share = (count - first_page[index]) / (parts - 1)
            continue
        if first_page[index] - first_page[starts[-1]] >= share:
            starts.append(index)
    chunks = []
    for number, start in enumerate(starts):
        end = starts[number + 1] if number + 1 < len(starts) else len(frame.units)
        last = last_page[starts[number + 1] - 1] + 1 if number + 1 < len(starts) else count
        if start == 0:
            chunks.append(_Chunk(range(0, end), 0, 0, last, 0))
            continue
        previous_last = last_page[start - 1]
        # The prefix is one or two pages of the previous unit, so that its last page has its side in the book.
        prefix = 1 if side_of(start - 1) == "right" else 2
        chunks.append(_Chunk(range(start, end), prefix, previous_last + 1, last, previous_last + 1 - body + 1))
    return chunks


def _furniture_task(
    settings: Settings, cache: LayoutCache, frame: units.Frame, pages: list[int], chunk: _Chunk
) -> _Task:
    if chunk.first == 0:
        counts = [pages[u.index] if u.index in chunk.units else 0 for u in frame.units]
        keep = chunk.units if chunk.units.stop < len(frame.units) else None
        return _task(settings, cache, "skeleton", units.skeleton_html(frame, counts, keep), "", [], furniture=True)
    counts = [pages[u.index] if u.index in chunk.units else 0 for u in frame.units]
    counts[chunk.units.start - 1] = chunk.prefix
    document = units.skeleton_html(frame, counts, chunk.units, (chunk.prefix + 1, chunk.counter))
    return _task(settings, cache, "skeleton", document, "", [], furniture=True)


def _furniture_pages(
    chunks: list[_Chunk], tasks: list[_Task], results: list[Result], plan: list[assemble.Placed], cache: LayoutCache
) -> list[tuple[Path, int]] | None:
    """(furniture PDF, page) for every page of the book, or None when a part did not paginate as the book."""
    furniture: list[tuple[Path, int]] = []
    for chunk, task, result in zip(chunks, tasks, results, strict=True):
        if result.pages - chunk.prefix != chunk.last - chunk.first:
            return None
        where = {anchor: page for anchor, page in result.anchors.items() if anchor.startswith(units.PAGE_CLASS)}
        for offset, placed in enumerate(plan[chunk.first : chunk.last]):
            page = chunk.prefix + offset
            if placed.unit is None:
                if not result.blank[page]:
                    return None
            elif where.get(units.page_anchor(placed.unit, placed.page)) != page:
                return None
            furniture.append((cache.path_of(task.kind, task.key), page))
    return furniture if len(furniture) == len(plan) else None


def _page_starts(plan: list[assemble.Placed], results: list[Result], labels: list[str]) -> list[tuple[str, str]]:
    """renderers.pdf.page_starts over the assembled pages."""
    tops = [
        (results[p.unit].tops[p.page], results[p.unit].marked[p.page]) if p.unit is not None else (None, False)
        for p in plan
    ]
    return starts_of(tops, labels)
