"""`essaybook preview`: the served reading view, rebuilds and reloads, errors in the page, containment, the PDF."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from essaybook import log
from essaybook.commands.build import build
from essaybook.commands.preview import Preview
from essaybook.compose import compose_epub
from essaybook.pipeline import load_project
from essaybook.stylesheets import epub_styles
from essaybook.themes import environment

CHAPTERS = {
    "book.toml": '[book]\ntitle = "Preview Test"\nlang = "en"\n',
    "01-one.md": "# One\n\nThe first chapter. See [the second part](02-two.md#second-part).\n",
    "02-two.md": "# Two\n\nThe second chapter.\n\n![](images/dot.png)\n\n## Second part\n\nMore text.\n",
}


def write_book(root: Path) -> Path:
    for name, text in CHAPTERS.items():
        (root / "manuscript" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "manuscript" / name).write_text(text, encoding="utf-8")
    (root / "manuscript" / "images").mkdir()
    Image.new("RGB", (8, 8), "red").save(root / "manuscript" / "images" / "dot.png")
    return root


def wait_until(condition: Callable[[], Any], timeout: float = 15.0, what: str = "the condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def get(preview: Preview, path: str) -> tuple[int, dict[str, str], str]:
    """GET ``path`` exactly as written (no URL normalisation on the way)."""
    connection = http.client.HTTPConnection("127.0.0.1", preview.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def without_script(page: str) -> str:
    """The page as the EPUB holds it: without the lines the preview adds to its head (the theme's fonts, the
    reading measure, the script)."""
    page = re.sub(r'<link rel="stylesheet" href="/theme/\w+-fonts\.css"/>\n', "", page)
    page = re.sub(r'<style id="essaybook-reading">[^<]*</style>\n', "", page)
    return re.sub(r'<script src="/_essaybook/client.js" data-generation="\d+" defer="defer"></script>\n', "", page)


def status(preview: Preview) -> dict[str, Any]:
    return json.loads(get(preview, "/_essaybook/status")[2])  # type: ignore[no-any-return]


class Events:
    """A client of the preview's Server-Sent Events stream, read in the background."""

    def __init__(self, preview: Preview) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", preview.port, timeout=30)
        self.connection.request("GET", "/_essaybook/events")
        self.response = self.connection.getresponse()
        assert self.response.getheader("Content-Type") == "text/event-stream"
        self.events: list[tuple[str, str]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        name = ""
        try:
            for raw in self.response.fp:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    self.events.append((name, line[6:]))
        except (OSError, ValueError):
            pass  # closed by the test or the server

    def close(self) -> None:
        self.connection.close()


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return write_book(tmp_path / "book")


@pytest.fixture
def running(book: Path) -> Iterator[Preview]:
    """A preview of ``book`` (no PDF) on a free port, its watcher polling in a thread."""
    log.setup(verbosity=-1)
    preview = Preview(book, port=0, pdf=False)
    stop = threading.Event()
    watcher = threading.Thread(target=preview.watch, args=(stop,), daemon=True)
    watcher.start()
    yield preview
    stop.set()
    watcher.join()
    preview.close()


def chapter_page(preview: Preview, title: str) -> str:
    return next(d["href"] for d in status(preview)["spine"] if d["title"] == title)


def test_pages_are_the_epubs_documents_plus_one_script(running: Preview, book: Path) -> None:
    code, headers, _ = get(running, "/")
    assert code == 302 and headers["Location"] == "/nav.xhtml"
    code, headers, nav = get(running, "/nav.xhtml")
    assert code == 200 and headers["Content-Type"].startswith("application/xhtml+xml")
    assert 'href="text/chapter-01-one.xhtml#chapter-01-one"' in nav
    assert 'href="text/chapter-02-two.xhtml#chapter-02-two"' in nav
    assert [d["href"] for d in status(running)["spine"]] == [
        "/text/cover.xhtml",
        "/text/titlepage.xhtml",
        "/nav.xhtml",
        "/text/chapter-01-one.xhtml",
        "/text/chapter-02-two.xhtml",
    ]
    # The reader's EPUB holds the same documents; the preview adds the script and no page-break markers.
    build(book, pdf=False)
    with zipfile.ZipFile(next((book / "dist").glob("*.epub"))) as epub:
        for name in ("nav.xhtml", "text/chapter-01-one.xhtml", "text/chapter-02-two.xhtml", "text/cover.xhtml"):
            served = without_script(get(running, "/" + name)[2])
            packed = epub.read(f"EPUB/{name}").decode()
            packed = re.sub(r"<span [^>]*doc-pagebreak[^>]*/>", "", packed)
            packed = re.sub(r'<nav epub:type="page-list".*?</nav>\n', "", packed, flags=re.S)
            assert served == packed, name
    for asset in ("/images/images/dot.png", "/theme/classic-epub.css", "/theme/code.css", "/cover/cover.png"):
        assert get(running, asset)[0] == 200, asset
    assert get(running, "/_essaybook/client.js")[1]["Content-Type"].startswith("text/javascript")


def test_pages_read_in_the_themes_fonts_at_a_readable_measure(running: Preview) -> None:
    """Issue 12 item 9: the theme's fonts, served from the theme's files though the EPUB does not embed them, and
    a measure of 36 em centred, after the book's own stylesheets."""
    from essaybook.themes import themes_dir

    _, _, page = get(running, chapter_page(running, "One"))
    head = page[: page.index("</head>")]
    assert head.index('href="../theme/classic-epub.css"') < head.index(
        '<link rel="stylesheet" href="/theme/classic-fonts.css"/>'
    )
    assert "max-width: 36em; margin: 2.5em auto" in head[head.index("essaybook-reading") :]
    code, headers, css = get(running, "/theme/classic-fonts.css")
    assert code == 200 and headers["Content-Type"].startswith("text/css") and "@font-face" in css
    fonts = re.findall(r"url\(\.\./(fonts/[^)]+)\)", css)
    assert "fonts/LinLibertine_R.otf" in fonts
    for font in fonts:
        connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=10)
        connection.request("GET", "/" + font)
        response = connection.getresponse()
        assert response.status == 200 and response.getheader("Content-Type") == "font/otf", font
        assert response.read() == (themes_dir() / "classic" / font).read_bytes()
        connection.close()
    # Only the fonts the theme uses, by their exact names: nothing else of the themes folder.
    for path in ("/fonts/OFL.txt", "/fonts/../css/fonts.css", "/theme/classic-print.css", "/fonts/", "/fonts"):
        assert get(running, path)[0] == 404, path


def test_an_edit_sends_reload_and_serves_the_new_text(running: Preview, book: Path) -> None:
    events = Events(running)
    try:
        wait_until(lambda: events.events, what="the first status event")
        assert json.loads(events.events[0][1])["generation"] == 1
        # An editor's swap file and a file no chapter uses are no reason to rebuild.
        (book / "manuscript" / ".02-two.md.swp").write_text("swap")
        (book / "manuscript" / "notes.txt").write_text("to do")
        time.sleep(0.5)
        assert status(running)["generation"] == 1
        (book / "manuscript" / "02-two.md").write_text(CHAPTERS["02-two.md"] + "\nA sentence added later.\n")
        wait_until(lambda: ("reload", "2") in events.events, what="the reload event")
    finally:
        events.close()
    page = get(running, "/text/chapter-02-two.xhtml")[2]
    assert "A sentence added later." in page and 'data-generation="2"' in page


def test_only_the_changed_chapter_is_converted_and_ids_stay(running: Preview, book: Path) -> None:
    chapters = running.builder.project.book.chapters  # type: ignore[union-attr]
    one, two = chapters
    (book / "manuscript" / "02-two.md").write_text(CHAPTERS["02-two.md"] + "\n## One\n\nSame title as chapter one.\n")
    wait_until(lambda: status(running)["generation"] == 2)
    assert chapters[0] is one and chapters[1] is not two  # chapter one was not converted again
    assert [h.id for h in chapters[1].headings] == ["two", "second-part", "one-2"]
    # A renamed heading: the link in chapter one follows it (chapter one is converted again for it).
    (book / "manuscript" / "02-two.md").write_text(CHAPTERS["02-two.md"].replace("## Second part", "## Part two"))
    wait_until(lambda: status(running)["generation"] == 3)
    assert chapters[0] is not one
    # The anchor is gone: the link leads to the chapter.
    assert 'href="chapter-02-two.xhtml#chapter-02-two"' in get(running, "/text/chapter-01-one.xhtml")[2]
    assert any("no heading or anchor 'second-part'" in w for w in status(running)["warnings"])
    # What the preview serves is what a full conversion of the same files composes.
    project = load_project(book)
    env = environment(project.theme)
    styles = epub_styles(project.theme, project.root, project.code_css, False)
    for document in compose_epub(project.book, project.require_meta, project.config, styles.hrefs, env).documents:
        assert without_script(get(running, "/" + document.name)[2]) == document.xhtml, document.name


def test_a_broken_chapter_shows_its_error_and_recovers(running: Preview, book: Path) -> None:
    chapter = book / "manuscript" / "01-one.md"
    chapter.write_text("---\ntitle: one: two\n---\n\n# One\n")
    wait_until(lambda: status(running)["problem"], what="the error")
    code, _, page = get(running, "/text/chapter-01-one.xhtml")
    assert code == 200
    assert 'id="essaybook-error"' in page and "manuscript/01-one.md:2" in page and "invalid YAML front matter" in page
    assert "The first chapter." in page  # the last version that built stays below the error
    chapter.write_text("# One\n\nSee ![a picture](images/missing.png).\n")
    wait_until(lambda: "missing.png" in (status(running)["problem"] or {}).get("message", ""), what="the image error")
    assert status(running)["problem"]["where"] == "manuscript/01-one.md:3"
    assert "manuscript/01-one.md:3" in get(running, "/text/chapter-02-two.xhtml")[2]
    chapter.write_text("# One\n\nWhole again.\n")
    wait_until(lambda: status(running)["problem"] is None, what="the recovery")
    page = get(running, "/text/chapter-01-one.xhtml")[2]
    assert "Whole again." in page and "essaybook-error" not in page


def test_a_book_that_never_built_shows_the_error_then_the_book(book: Path) -> None:
    toml = book / "manuscript" / "book.toml"
    toml.write_text('[book]\ntitle = "Preview Test"\nlang = "en"\ncolour = "red"\n')
    log.setup(verbosity=-1)
    with Preview(book, port=0, pdf=False) as preview:
        code, _, page = get(preview, "/")
        assert code == 500 and "manuscript/book.toml:4" in page and "book.colour" in page
        assert get(preview, "/text/chapter-01-one.xhtml")[0] == 500
        toml.write_text(CHAPTERS["book.toml"])
        assert preview.poll()
        assert get(preview, "/")[0] == 302 and "The first chapter." in get(preview, "/text/chapter-01-one.xhtml")[2]


def test_urls_reach_only_the_books_files(running: Preview, book: Path) -> None:
    (book.parent / "secret.txt").write_text("TOP SECRET")
    assert running.server.server_address[0] == "127.0.0.1"
    for path in (
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/images/../../../secret.txt",
        "/images/..%2f..%2f..%2fsecret.txt",
        "/text/%2E%2E/%2E%2E/secret.txt",
        "/manuscript/book.toml",
        "/manuscript/01-one.md",
        "/images/%2e%2e/manuscript/images/dot.png",
        "//etc/passwd",
        "/" + str(book.parent / "secret.txt"),
        "/_essaybook/../secret.txt",
        "/_essaybook/%2e%2e/manuscript/book.toml",
        "/theme/../../../../../../etc/passwd",
    ):
        code, _, body = get(running, path)
        assert code == 404, path
        assert "SECRET" not in body and "root:" not in body and "[book]" not in body


def test_a_port_in_use_gives_the_next_free_one(book: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        log.setup(verbosity=-1)
        with Preview(book, port=port, pdf=False) as preview:
            assert preview.port > port
            assert get(preview, "/")[0] == 302


def test_the_pdf_is_built_in_the_background_and_linked(book: Path) -> None:
    log.setup(verbosity=-1)
    with Preview(book, port=0) as preview:
        pdf = wait_until(lambda: status(preview)["pdf"]["state"] == "ready" and status(preview)["pdf"], 60, "the PDF")
        assert pdf["href"] == "/_essaybook/book.pdf" and not pdf["stale"]
        code, headers, _ = get(preview, pdf["href"])
        assert code == 200 and headers["Content-Type"] == "application/pdf"
        first = preview.hub.pdf.path
        assert first is not None and first.read_bytes().startswith(b"%PDF")
        laid_out = set((book / ".essaybook-cache" / "units").glob("*.json"))  # the build's layout cache
        assert len(laid_out) >= 2
        (book / "manuscript" / "01-one.md").write_text(CHAPTERS["01-one.md"] + "\nMore.\n")
        assert preview.poll()
        assert status(preview)["pdf"]["stale"]  # the older PDF stays linked while the new one is built
        wait_until(lambda: not status(preview)["pdf"]["stale"] and status(preview)["pdf"]["state"] == "ready", 60)
        assert not first.exists()
        # Rebuilt through the same cache: the edited chapter again (and the contents, if its pages moved),
        again = set((book / ".essaybook-cache" / "units").glob("*.json")) - laid_out
        assert 1 <= len(again) <= 3  # and the first page, which carries the dates, when SOURCE_DATE_EPOCH is unset
        folder = first.parent.parent
    assert not folder.exists()  # the temporary folder goes with the preview


def test_ctrl_c_stops_cleanly(book: Path, tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # essaybook as a terminal starts it: Ctrl-C raises KeyboardInterrupt. A test run started in the background
    # of a non-interactive shell (CI launched with `&`) hands its children SIGINT ignored, and Python then installs
    # no handler: the preview went on polling for 30 s (the thread dump below showed it). With faulthandler on
    # SIGUSR1: should it ever not stop, the failure shows where each thread was.
    preview = (
        "import faulthandler, runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "faulthandler.register(signal.SIGUSR1, all_threads=True); "
        "sys.argv = ['essaybook', *sys.argv[1:]]; runpy.run_module('essaybook', run_name='__main__')"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", preview, "preview", str(book), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"TMPDIR": str(temp)},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("Previewing Preview Test at http://127.0.0.1:") and "(Ctrl-C to stop)" in line
        assert any(temp.iterdir())  # the PDF's folder
        process.send_signal(signal.SIGINT)
        try:
            _, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGUSR1)
            time.sleep(2)
            process.kill()
            _, stderr = process.communicate()  # and the pipes are closed, not left to a later test's collection
            pytest.fail(f"the preview did not stop within 30 s of Ctrl-C; its threads then:\n{stderr}")
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr and stderr.rstrip().endswith("Stopped.")
    assert list(temp.iterdir()) == []


def test_chromium_reloads_the_page_after_an_edit(running: Preview, book: Path, tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium (.ci/run installs it)")
        pytest.skip("Chromium is not installed (CI installs it)")
    url = f"http://127.0.0.1:{running.port}/text/chapter-02-two.xhtml"
    command = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}"]
    browser = subprocess.Popen(
        [*command, "--no-first-run", "--disable-extensions", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert running.hub.wait_loaded(1, 30), "Chromium did not load the page"
        # The toolbar listed the build's one warning (the picture without alt text).
        assert (1, 1) in running.hub.loaded
        (book / "manuscript" / "02-two.md").write_text(CHAPTERS["02-two.md"] + "\nEdited while open.\n")
        assert running.hub.wait_loaded(2, 30), "the page did not reload after the edit"
    finally:
        os.killpg(browser.pid, signal.SIGTERM)
        try:
            browser.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(browser.pid, signal.SIGKILL)
            browser.wait()


def test_only_requests_for_this_machine_are_answered(running: Preview) -> None:
    """DNS rebinding: a page on another site whose name resolves to 127.0.0.1 must not read the book."""
    for host, expected in (
        (f"evil.example:{running.port}", 403),
        ("127.0.0.1", 403),
        (f"localhost:{running.port}", 302),
    ):
        connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=10)
        try:
            connection.putrequest("GET", "/", skip_host=True)
            connection.putheader("Host", host)
            connection.endheaders()
            response = connection.getresponse()
            assert response.status == expected, host
            response.read()
        finally:
            connection.close()


def test_an_image_swapped_for_a_link_outside_is_not_served(running: Preview, book: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"TOP SECRET")
    assert get(running, "/images/images/dot.png")[0] == 200
    image = book / "manuscript" / "images" / "dot.png"
    image.unlink()
    image.symlink_to(secret)  # while the preview runs, before it notices
    code, _, body = get(running, "/images/images/dot.png")
    assert code == 404 and "TOP SECRET" not in body
