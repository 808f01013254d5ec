"""The live preview: book project -> the EPUB's XHTML served on 127.0.0.1, rebuilt and reloaded on every save.

A watcher polls the project; a changed chapter is re-converted alone (:meth:`Conversion.reconvert`), then the
EPUB documents are composed again and published as one immutable :class:`Site`. Open pages hold a small
script that listens on a Server-Sent Events stream and reloads when a new generation is published. The PDF
is built by ``essaybook build`` in a subprocess, in the background, and served from a temporary folder.
"""

from __future__ import annotations

import errno
import html
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import click

from essaybook import log
from essaybook.diagnostics import Diagnostic
from essaybook.errors import EssaybookError
from essaybook.model import FONT_TYPES, IMAGE_TYPES, Chapter
from essaybook.pipeline import Pipeline, Project, project_root

DEFAULT_PORT = 8000
PORT_TRIES = 100
"""How many ports after the wanted one are tried before giving up."""
POLL_SECONDS = 0.1
SETTLE_SECONDS = 0.05
"""How long a changed file must stay unchanged before it is read."""
PREFIX = "/_essaybook/"
"""URL space of the preview's own endpoints; no file of an EPUB can live there (the leading underscore)."""
KEEPALIVE_SECONDS = 15.0
_CONTENT_TYPES = {".xhtml": "application/xhtml+xml; charset=utf-8", ".css": "text/css; charset=utf-8"}
_CONTENT_TYPES |= IMAGE_TYPES | FONT_TYPES


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


# ------------------------------------------------------------------------------------------------ building


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
        )


# ---------------------------------------------------------------------------------------------- the PDF


@dataclass(frozen=True)
class PdfStatus:
    """The background PDF: the newest one built (if any) and what the worker is doing now."""

    state: str = "off"
    """'off' (not built in this preview), 'building', 'ready' or 'failed' (the newest attempt failed)."""
    generation: int = 0
    """The site generation the served PDF was built after (0: none yet)."""
    path: Path | None = None
    message: str = ""
    warnings: tuple[Diagnostic, ...] = ()


class PdfWorker:
    """Builds the PDF with ``essaybook build`` in a subprocess, one at a time; the newest request wins.

    Requests made while a build runs collapse into one build of the newest state once it ends. Each build
    writes into its own folder under ``folder`` (atomically, as every build does), so the file served is
    never half-written.
    """

    def __init__(self, root: Path, folder: Path, hub: Hub) -> None:
        self.root = root
        self.folder = folder
        self.hub = hub
        self._cond = threading.Condition()
        self._wanted = 0
        self._started = 0
        self._stopping = False
        self._process: subprocess.Popen[str] | None = None
        self._thread = threading.Thread(target=self._run, name="essaybook-pdf", daemon=True)
        self._thread.start()

    def request(self, generation: int) -> None:
        with self._cond:
            self._wanted = max(self._wanted, generation)
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()  # the build unwinds on SIGTERM and removes its temporary files
        self._thread.join(timeout=15)
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stopping or self._wanted > self._started)
                if self._stopping:
                    return
                generation = self._started = self._wanted
            self.hub.set_pdf(building=True)
            self._build(generation)

    def _build(self, generation: int) -> None:
        out = self.folder / f"pdf-{generation}"
        record = self.folder / f"pdf-{generation}.jsonl"
        command = [sys.executable, "-m", "essaybook", "build", str(self.root), "--no-epub", "-q", "-o", str(out)]
        command += ["--diagnostics-json", str(record)]
        with self._cond:
            if self._stopping:
                return
            # A session of its own: Ctrl-C in the terminal is for the preview, which then stops the build.
            self._process = process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        with suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, process.pid, 10)  # the preview itself stays responsive
        _, stderr = process.communicate()
        with self._cond:
            self._process = None
            if self._stopping:
                return
        diagnostics = log.read_recording(record)
        record.unlink(missing_ok=True)
        warnings = tuple(d for d in diagnostics if d.level == "warning")
        found = sorted(out.glob("*.pdf"))
        if process.returncode == 0 and found:
            previous = self.hub.pdf.path
            self.hub.set_pdf(generation=generation, path=found[0], warnings=warnings, failed="")
            if previous is not None and previous.parent != out:
                shutil.rmtree(previous.parent, ignore_errors=True)
        else:
            error = next((str(d) for d in diagnostics if d.level == "error"), None)
            # Not an error of the book (a bug, a crash): the last thing the build printed says what.
            lines = [line.strip() for line in stderr.splitlines() if line.strip() and not line.startswith("warning: ")]
            self.hub.set_pdf(
                failed=error or (lines[-1] if lines else f"the PDF build exited with {process.returncode}")
            )
            shutil.rmtree(out, ignore_errors=True)


# ------------------------------------------------------------------------------------------------ serving


class Hub:
    """The published site and PDF state, shared by the watcher, the PDF worker and the request threads."""

    def __init__(self, site: Site) -> None:
        self._cond = threading.Condition()
        self.site = site
        self.pdf = PdfStatus()
        self.version = 0
        """Counts every change of site or PDF state; event streams wait on it."""
        self.closing = False
        self.loaded: list[tuple[int, int]] = []
        """(generation, warnings shown) reported by each page the browser loaded."""

    def publish(self, site: Site) -> None:
        with self._cond:
            self.site = site
            self.version += 1
            self._cond.notify_all()

    def set_pdf(
        self,
        *,
        building: bool = False,
        generation: int | None = None,
        path: Path | None = None,
        warnings: tuple[Diagnostic, ...] | None = None,
        failed: str | None = None,
    ) -> None:
        with self._cond:
            old = self.pdf
            if building:
                self.pdf = PdfStatus("building", old.generation, old.path, old.message, old.warnings)
            elif failed:
                self.pdf = PdfStatus("failed", old.generation, old.path, failed, old.warnings)
            else:
                self.pdf = PdfStatus("ready", generation or old.generation, path, "", warnings or ())
            self.version += 1
            self._cond.notify_all()

    def snapshot(self) -> tuple[int, Site, PdfStatus]:
        with self._cond:
            return self.version, self.site, self.pdf

    def wait(self, version: int, timeout: float) -> bool:
        """Wait until something changed after ``version``; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self.version != version or self.closing, timeout)

    def report_loaded(self, generation: int, warnings: int) -> None:
        with self._cond:
            self.loaded.append((generation, warnings))
            self._cond.notify_all()

    def wait_loaded(self, generation: int, timeout: float) -> bool:
        """Wait until a browser reported a page of ``generation`` loaded (for tests and tools)."""
        with self._cond:
            return self._cond.wait_for(lambda: any(g == generation for g, _ in self.loaded), timeout)

    def close(self) -> None:
        with self._cond:
            self.closing = True
            self._cond.notify_all()

    def status(self) -> dict[str, Any]:
        """What the page's toolbar shows, as JSON."""
        _, site, pdf = self.snapshot()
        # Those the page does not list already (the PDF build converts the whole book again).
        pdf_only = [d for d in pdf.warnings if d not in site.warnings]
        return {
            "generation": site.generation,
            "title": site.title,
            "spine": [{"href": "/" + name, "title": title} for name, title in site.spine],
            "warnings": [str(d) for d in site.warnings],
            "diagnostics": [d.as_dict() for d in site.warnings],
            "problem": _problem_json(site.problem) if site.problem else None,
            "pdf": {
                "state": pdf.state,
                "href": PREFIX + "book.pdf" if pdf.path is not None else None,
                "stale": pdf.path is not None and pdf.generation < site.built,
                "message": pdf.message,
                "warnings": [str(d) for d in pdf_only],
                "diagnostics": [d.as_dict() for d in pdf_only],
            },
        }


def _problem_json(problem: Diagnostic) -> dict[str, Any]:
    """The failed build's error for the page: its fields, ``where`` and ``message`` with the hint, as shown."""
    return problem.as_dict() | {"where": problem.where, "message": problem.detail}


def _client_script() -> bytes:
    return (resources.files("essaybook") / "preview_client.js").read_bytes()


_STYLE_BOX = (
    "all:initial;display:block;box-sizing:border-box;margin:0;padding:1em 1.25em;background:#fff1f0;color:#5a0b05;"
    "border-bottom:4px solid #c62828;font:15px/1.5 system-ui,sans-serif;white-space:pre-wrap"
)
_STYLE_TITLE = "all:initial;display:block;font:bold 17px/1.5 system-ui,sans-serif;color:#c62828"
_STYLE_WHERE = "all:initial;font:bold 15px/1.5 ui-monospace,monospace;color:#5a0b05"
_STYLE_TEXT = "all:initial;font:15px/1.5 system-ui,sans-serif;color:#5a0b05"
_STYLE_NOTE = "all:initial;display:block;margin-top:.5em;font:italic 13px/1.5 system-ui,sans-serif;color:#6d4c41"
_BODY_RE = re.compile(r"<body\b[^>]*>")


def _problem_panel(problem: Diagnostic, last_good: bool) -> str:
    """The error box at the top of every page while the book does not build (inline styles: no theme CSS)."""
    where = f'<span style="{_STYLE_WHERE}">{html.escape(problem.where)}</span><span style="{_STYLE_TEXT}">: </span>'
    note = "Fix it and save: this page reloads by itself."
    if last_good:
        note += " Below: the last version that built."
    return (
        f'<div id="essaybook-error" role="alert" style="{_STYLE_BOX}">'
        f'<span style="{_STYLE_TITLE}">The book does not build</span>'
        f'{where if problem.where else ""}<span style="{_STYLE_TEXT}">{html.escape(problem.detail)}</span>'
        f'<span style="{_STYLE_NOTE}">{note}</span></div>'
    )


def _page(xhtml: str, site: Site) -> str:
    """A document as the reader sees it, plus the reload script and, while the build fails, the error."""
    script = f'<script src="{PREFIX}client.js" data-generation="{site.generation}" defer="defer"></script>\n'
    xhtml = xhtml.replace("</head>", script + "</head>", 1)
    if site.problem is not None:
        found = _BODY_RE.search(xhtml)
        if found is not None:
            panel = _problem_panel(site.problem, last_good=True)
            xhtml = xhtml[: found.end()] + panel + xhtml[found.end() :]
    return xhtml


def _error_page(site: Site) -> str:
    """The page served while no version of the book has built yet."""
    assert site.problem is not None
    script = f'<script src="{PREFIX}client.js" data-generation="{site.generation}" defer="defer"></script>'
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" lang="en" xml:lang="en"><head><meta charset="utf-8"/>'
        f"<title>The book does not build</title>{script}</head><body>"
        f"{_problem_panel(site.problem, last_good=False)}</body></html>\n"
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], hub: Hub) -> None:
        self.hub = hub
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "essaybook-preview"

    def log_message(self, format: str, *args: Any) -> None:
        log.LOGGER.debug("        %s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        with suppress(BrokenPipeError, ConnectionResetError):  # the browser went away (a reload, a closed tab)
            self._get()

    def _get(self) -> None:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        hub = self.server.hub
        site = hub.site
        if path == "/":
            if site.files:
                self._send(HTTPStatus.FOUND, b"", "text/plain", {"Location": "/nav.xhtml"})
            else:
                self._send(HTTPStatus.INTERNAL_SERVER_ERROR, _error_page(site).encode(), _CONTENT_TYPES[".xhtml"])
            return
        if path.startswith(PREFIX):
            self._endpoint(path[len(PREFIX) :], parse_qs(parts.query))
            return
        self._file(path[1:], site)

    def _file(self, name: str, site: Site) -> None:
        """Only files of the EPUB being previewed: the lookup is by exact name, so no URL reaches elsewhere."""
        body = site.files.get(name)
        suffix = Path(name).suffix.lower()
        if body is None:
            if site.problem is not None and not site.files:
                self._send(HTTPStatus.INTERNAL_SERVER_ERROR, _error_page(site).encode(), _CONTENT_TYPES[".xhtml"])
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not a file of this book\n", "text/plain; charset=utf-8")
            return
        if isinstance(body, str):
            data = _page(body, site).encode("utf-8")
        elif isinstance(body, Path):
            try:
                data = body.read_bytes()
            except OSError:
                self._send(HTTPStatus.NOT_FOUND, b"the file is gone\n", "text/plain; charset=utf-8")
                return
        else:
            data = body
        self._send(HTTPStatus.OK, data, _CONTENT_TYPES.get(suffix, "application/octet-stream"))

    def _endpoint(self, name: str, query: dict[str, list[str]]) -> None:
        hub = self.server.hub
        if name == "client.js":
            self._send(HTTPStatus.OK, _client_script(), "text/javascript; charset=utf-8")
        elif name == "status":
            self._send(HTTPStatus.OK, json.dumps(hub.status()).encode(), "application/json")
        elif name == "events":
            self._events()
        elif name == "loaded":
            try:
                generation = int(query.get("generation", ["0"])[0])
                warnings = int(query.get("warnings", ["-1"])[0])
            except ValueError:
                self._send(HTTPStatus.BAD_REQUEST, b"generation and warnings are numbers\n", "text/plain")
                return
            hub.report_loaded(generation, warnings)
            self._send(HTTPStatus.NO_CONTENT, b"", "text/plain")
        elif name == "book.pdf":
            self._pdf()
        else:
            self._send(HTTPStatus.NOT_FOUND, b"no such preview endpoint\n", "text/plain; charset=utf-8")

    def _pdf(self) -> None:
        pdf = self.server.hub.pdf
        if pdf.path is None:
            text = "the PDF is being built; try again in a moment" if pdf.state == "building" else pdf.message
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, (text or "no PDF").encode() + b"\n", "text/plain; charset=utf-8")
            return
        try:
            data = pdf.path.read_bytes()
        except OSError:
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, b"the PDF is being replaced; reload\n", "text/plain")
            return
        headers = {"Content-Disposition": f'inline; filename="{pdf.path.name}"'}
        self._send(HTTPStatus.OK, data, "application/pdf", headers)

    def _events(self) -> None:
        """Server-Sent Events: ``status`` (JSON) on connect and on every change, ``reload`` on a new generation."""
        hub = self.server.hub
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        version, site, _ = hub.snapshot()
        generation = site.generation
        self._event("status", json.dumps(hub.status()))
        while not hub.closing:
            if not hub.wait(version, KEEPALIVE_SECONDS):
                self.wfile.write(b": keep-alive\n\n")
                self.wfile.flush()
                continue
            if hub.closing:
                break
            version, site, _ = hub.snapshot()
            if site.generation != generation:
                generation = site.generation
                self._event("reload", str(generation))
            self._event("status", json.dumps(hub.status()))
        self.close_connection = True

    def _event(self, name: str, data: str) -> None:
        self.wfile.write(f"event: {name}\ndata: {data}\n\n".encode())
        self.wfile.flush()

    def _send(self, status: HTTPStatus, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(body)


def _bind(port: int, hub: Hub) -> _Server:
    """A server on 127.0.0.1 at ``port`` or, when it is taken, the next free port."""
    last = min(port + PORT_TRIES, 65536)
    for candidate in range(port, last):
        try:
            return _Server(("127.0.0.1", candidate), hub)
        except OSError as exc:
            if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                raise
    raise EssaybookError(f"no free port from {port} to {last - 1} on 127.0.0.1", hint="choose one with --port")


class Preview:
    """A running preview of the book project at ``root``: builder, web server and PDF worker.

    The constructor builds the book once (a build error is shown in the page, not raised) and starts
    serving; :meth:`poll` or :meth:`watch` pick up changes; :meth:`close` stops everything and removes the
    temporary folder. Raises :class:`EssaybookError` only when ``root`` is no book project or no port is free.
    """

    def __init__(self, root: Path, port: int = DEFAULT_PORT, pdf: bool = True) -> None:
        root = project_root(root.absolute())
        self.builder = Builder(root)
        site = self.builder.rebuild()
        assert site is not None
        self.hub = Hub(site)
        self.server = _bind(port, self.hub)
        self.port: int = self.server.server_address[1]
        self._folder = Path(tempfile.mkdtemp(prefix="essaybook-preview-"))
        self._pdf: PdfWorker | None = None
        try:
            self._pdf = PdfWorker(root, self._folder, self.hub) if pdf else None
            self._thread = threading.Thread(target=self.server.serve_forever, name="essaybook-http", daemon=True)
            self._thread.start()
        except BaseException:
            self.close()
            raise
        if self._pdf is not None and site.problem is None:
            self._pdf.request(site.generation)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def poll(self) -> bool:
        """Rebuild and publish if a file changed since the last look; True when it did."""
        changed = self.builder.changes()
        if not changed:
            return False
        site = self.builder.rebuild(changed)
        if site is None:
            return False
        self.hub.publish(site)
        if self._pdf is not None and site.problem is None:
            self._pdf.request(site.generation)
        return True

    def watch(self, stop: threading.Event | None = None) -> None:
        """Poll for changes until ``stop`` is set (or, without one, until interrupted)."""
        stop = stop or threading.Event()
        while not stop.is_set():
            self.poll()
            stop.wait(POLL_SECONDS)

    def close(self) -> None:
        self.hub.close()
        if getattr(self, "_thread", None) is not None:
            self.server.shutdown()
        self.server.server_close()
        if self._pdf is not None:
            self._pdf.stop()
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> Preview:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(root: Path, port: int = DEFAULT_PORT) -> None:
    """Preview the book project at ``root`` until Ctrl-C or SIGTERM, then stop cleanly and return (exit 0)."""
    try:
        preview = Preview(root, port)
    except KeyboardInterrupt:
        log.LOGGER.info("Stopped.")
        return
    try:
        if preview.port != port:
            log.LOGGER.info("Port %d is in use; using %d", port, preview.port)
        click.echo(f"Previewing {preview.hub.site.title or root} at {preview.url} (Ctrl-C to stop)")
        preview.watch()
    except KeyboardInterrupt:
        pass
    finally:
        if threading.current_thread() is threading.main_thread():
            # A second Ctrl-C must not cut the clean-up short.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        preview.close()
    log.LOGGER.info("Stopped.")
