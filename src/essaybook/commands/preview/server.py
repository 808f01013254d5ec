"""The live preview: book project -> the EPUB's XHTML served on 127.0.0.1, rebuilt and reloaded on every save.

The :class:`Builder` publishes a :class:`Site` after every change; open pages hold a small script
(``preview_client.js``) that listens on a Server-Sent Events stream and reloads when a new generation is
published. The :class:`PdfWorker` rebuilds the PDF in the background.
"""

from __future__ import annotations

import errno
import html
import json
import re
import shutil
import signal
import tempfile
import threading
from contextlib import suppress
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import click

from essaybook import log
from essaybook.commands.preview.builder import Builder, Site
from essaybook.commands.preview.pdf import PdfStatus, PdfWorker
from essaybook.diagnostics import Diagnostic
from essaybook.errors import EssaybookError
from essaybook.model import FONT_TYPES, IMAGE_TYPES
from essaybook.paths import read_regular
from essaybook.pipeline import project_root
from essaybook.themes import themes_dir

DEFAULT_PORT = 8000
PORT_TRIES = 100
"""How many ports after the wanted one are tried before giving up."""
POLL_SECONDS = 0.1
PREFIX = "/_essaybook/"
"""URL space of the preview's own endpoints; no file of an EPUB can live there (the leading underscore)."""
KEEPALIVE_SECONDS = 15.0
_CONTENT_TYPES = {".xhtml": "application/xhtml+xml; charset=utf-8", ".css": "text/css; charset=utf-8"}
_CONTENT_TYPES |= IMAGE_TYPES | FONT_TYPES


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
    return (resources.files(__package__) / "preview_client.js").read_bytes()


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
    """A document as the reader sees it, in the theme's fonts at a readable measure (``site.head``), plus the
    reload script and, while the build fails, the error."""
    script = f'<script src="{PREFIX}client.js" data-generation="{site.generation}" defer="defer"></script>\n'
    xhtml = xhtml.replace("</head>", site.head + script + "</head>", 1)
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
        self.roots: list[Path] = [themes_dir()]
        """Folders a served file must lie in when it is read (the project is added once it is known)."""
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
        if not self._local_host():
            # DNS rebinding: a page on another site whose name now points at 127.0.0.1 must not read the book.
            self._send(HTTPStatus.FORBIDDEN, b"the preview answers only to 127.0.0.1 and localhost\n", "text/plain")
            return
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

    def _local_host(self) -> bool:
        """Whether the request's Host names this machine's loopback address and this server's port."""
        host = self.headers.get("Host")
        if host is None:  # HTTP/1.0 without a Host: not a browser, so not a rebinding attack
            return True
        port = self.server.server_address[1]
        return host.strip().lower() in {f"{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]")}

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
                # Checked on the file opened: an image swapped for a link to a file elsewhere is not served.
                data = read_regular(body, within=self.server.roots)
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
        self.server.roots.append(root)
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
