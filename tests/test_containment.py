"""A manuscript never makes the build read outside the book project or reach the network."""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from essaybook import log
from essaybook.commands.build import build

from conftest import epubcheck_messages
from test_epub import Epub


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Recorder.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Recorder.requests = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_nothing_outside_the_project_is_read_or_fetched(tmp_path: Path, server: str) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG not really")
    project = tmp_path / "book"
    (project / "manuscript").mkdir(parents=True)
    (project / "styles").mkdir()
    (project / "manuscript" / "link.png").symlink_to(secret)
    (project / "manuscript" / "book.toml").write_text('[book]\ntitle = "Sealed"\nlang = "en"\n', encoding="utf-8")
    (project / "manuscript" / "one.md").write_text(
        "# Sealed\n\n"
        f"![remote]({server}/pixel.png)\n\n"
        "![escape](../../secret.png)\n\n"
        f"![absolute]({secret})\n\n"
        "![symlink](link.png)\n\n"
        f'<p><img src="{server}/raw.png" alt="raw"> <img src="file://{secret}" alt="file"></p>\n\n'
        f'<iframe src="{server}/frame"></iframe>\n\n'
        '<script>alert("x")</script>\n\n'
        "Text stays.\n",
        encoding="utf-8",
    )
    (project / "styles" / "remote.css").write_text(
        f'@import url("{server}/import.css");\nbody {{ background: url("{server}/bg.png"); }}\n'
        f'p {{ background: url("file://{secret}"); }}\n',
        encoding="utf-8",
    )
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1767225600")
    log.setup(verbosity=-1)
    result = build(project)
    warnings = "\n".join(log.warnings_seen())
    assert _Recorder.requests == []
    for fragment in (
        "pixel.png",
        "../../secret.png",
        "link.png",
        "raw.png",
        "<iframe>",
        "<script>",
        "import.css",
        "bg.png",
    ):
        assert fragment in warnings, fragment
    assert "manuscript/one.md:3" in warnings  # the remote image's line
    assert result.epub is not None and result.pdf is not None
    epub = Epub(result.epub.path)
    assert [h for h in epub.manifest() if h.endswith(".png")] == ["cover/cover.png"]  # the drawn cover only
    for name in epub.zip.namelist():
        assert b"not really" not in epub.zip.read(name)
    assert b"not really" not in result.pdf.path.read_bytes()
    assert "Text stays." in epub.read("text/one.xhtml").decode()
    assert epubcheck_messages(result.epub.path) == []


class _ImageServer(http.server.BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []
    png: ClassVar[bytes] = b""

    def do_GET(self) -> None:
        _ImageServer.requests.append(self.path)
        if self.path == "/ok.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(self.png)
        elif self.path == "/redirect.png":
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()
        elif self.path == "/page.png":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>not an image</html>")
        else:
            self.send_error(404)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_allow_remote_fetches_images_once_and_only_images(tmp_path: Path) -> None:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, "PNG")
    _ImageServer.png = buffer.getvalue()
    _ImageServer.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ImageServer)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        project = tmp_path / "book"
        (project / "manuscript").mkdir(parents=True)
        (project / "manuscript" / "book.toml").write_text(
            '[book]\ntitle = "Open"\nlang = "en"\nallow-remote = true\n', encoding="utf-8"
        )
        (project / "manuscript" / "one.md").write_text(
            f"# Open\n\n![A red block]({url}/ok.png)\n\n![gone]({url}/missing.png)\n\n"
            f"![bounce]({url}/redirect.png)\n\n![html]({url}/page.png)\n\n![ftp](ftp://127.0.0.1/x.png)\n",
            encoding="utf-8",
        )
        os.environ.setdefault("SOURCE_DATE_EPOCH", "1767225600")
        log.setup(verbosity=-1)
        result = build(project)
        warnings = log.warnings_seen()
        assert sorted(_ImageServer.requests) == ["/missing.png", "/ok.png", "/page.png", "/redirect.png"]
        assert any("one.md:5" in w and "404" in w for w in warnings), warnings
        assert any("one.md:7" in w and "redirect.png" in w for w in warnings), warnings
        assert any("one.md:9" in w and "text/html" in w for w in warnings), warnings
        assert any("one.md:11" in w and "ftp://" in w for w in warnings), warnings
        assert result.epub is not None and result.pdf is not None
        epub = Epub(result.epub.path)
        images = [h for h in epub.manifest() if h.startswith("images/")]
        assert len(images) == 1 and images[0].startswith("images/remote/")
        assert epub.zip.read("EPUB/" + images[0]) == _ImageServer.png
        assert epubcheck_messages(result.epub.path) == []
        # The download is cached in the project: a rebuild asks for nothing that worked before.
        _ImageServer.requests = []
        build(project)
        assert "/ok.png" not in _ImageServer.requests
    finally:
        httpd.shutdown()
        httpd.server_close()
