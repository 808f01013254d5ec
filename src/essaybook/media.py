"""What a file is by its bytes: the media type an EPUB manifest must give it, whatever its name says."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from essaybook.paths import NotRegularFile

IMAGE_SUFFIX = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/svg+xml": ".svg",
}
"""The usual file name ending of each image type an EPUB 3 may carry (core media types)."""
FONT_SUFFIX = {"font/otf": ".otf", "font/ttf": ".ttf", "font/woff": ".woff", "font/woff2": ".woff2"}
"""The same for fonts."""
NAMES = {
    "image/png": "a PNG",
    "image/jpeg": "a JPEG",
    "image/gif": "a GIF",
    "image/webp": "a WebP",
    "image/svg+xml": "an SVG",
    "font/otf": "an OpenType font",
    "font/ttf": "a TrueType font",
    "font/woff": "a WOFF font",
    "font/woff2": "a WOFF2 font",
}
"""What each type is called in a message, with its article."""
HEAD = 64 * 1024
"""Bytes read to tell a type: enough for an SVG's XML declaration, comments and doctype before <svg>."""

# An XML prologue: declaration, comments, processing instructions and a doctype (with an internal subset).
_PROLOGUE_RE = re.compile(
    rb"(?:\s+|<\?[^>]*\?>|<!--.*?-->|<!DOCTYPE(?:[^\[>]*\[.*?\])?[^>]*>)*", re.DOTALL | re.IGNORECASE
)
_SVG_ROOT_RE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?svg[\s/>]")


def sniff(data: bytes) -> str | None:
    """The image or font media type ``data`` starts as (magic numbers), or None when it is neither."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"OTTO"):
        return "font/otf"
    if data.startswith((b"\x00\x01\x00\x00", b"true")):
        return "font/ttf"
    if data.startswith(b"wOFF"):
        return "font/woff"
    if data.startswith(b"wOF2"):
        return "font/woff2"
    text = data.removeprefix(b"\xef\xbb\xbf")
    prologue = _PROLOGUE_RE.match(text)
    if _SVG_ROOT_RE.match(text, prologue.end() if prologue else 0):
        return "image/svg+xml"
    return None


def sniff_file(path: Path) -> str | None:
    """:func:`sniff` on the first :data:`HEAD` bytes of ``path`` (a regular file; a FIFO is refused unopened)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(path)
        return sniff(os.read(fd, HEAD))
    finally:
        os.close(fd)


def suffix_fits(name: str, media_type: str) -> bool:
    """Whether the file name ``name`` ends the way files of ``media_type`` are named."""
    suffix = Path(name).suffix.lower()
    if media_type == "image/jpeg":
        return suffix in (".jpg", ".jpeg")
    return suffix == (IMAGE_SUFFIX | FONT_SUFFIX).get(media_type)
