"""Remote images, fetched only when the book allows it (``[book] allow-remote = true``).

Without that setting nothing in essaybook opens a network connection. With it, an ``http(s)`` image in a
chapter is downloaded once into ``<project>/.essaybook-cache/remote/`` and then treated like a local file, so a
rebuild is offline and the EPUB carries the image (EPUB 3 does not allow remote images).
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from essaybook import __version__
from essaybook.model import IMAGE_TYPES

CACHE = Path(".essaybook-cache") / "remote"
"""Where downloads are kept, relative to the book project."""
MAX_BYTES = 20 * 1024 * 1024
TIMEOUT = 15.0
_BY_TYPE = {media_type: suffix for suffix, media_type in reversed(IMAGE_TYPES.items())}


class RemoteError(Exception):
    """A remote image that could not be fetched; the message says why, for a warning."""


def _opener() -> urllib.request.OpenerDirector:
    # Only http(s), and redirects only to http(s): urllib's default opener also follows file: and ftp:.
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPRedirectHandler(),
        urllib.request.HTTPErrorProcessor(),
        urllib.request.HTTPDefaultErrorHandler(),
    ):
        opener.add_handler(handler)
    return opener


def fetch_image(url: str, root: Path) -> tuple[Path, str]:
    """Download the image at ``url`` (http or https) into the project's cache; return the file and media type.

    A cached download is reused without a request. Raises :class:`RemoteError` for another scheme, a network
    or HTTP error, a body over 20 MB, or a type an EPUB cannot carry.
    """
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise RemoteError("only http and https images can be fetched")
    key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]
    folder = root / CACHE
    for known, known_type in IMAGE_TYPES.items():
        cached = folder / f"{key}{known}"
        if cached.is_file():
            return cached, known_type
    request = urllib.request.Request(url, headers={"User-Agent": f"essaybook/{__version__}"})
    try:
        with _opener().open(request, timeout=TIMEOUT) as response:
            media_type = response.headers.get_content_type()
            body = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise RemoteError(f"the server answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RemoteError(f"it could not be fetched ({reason})") from None
    if len(body) > MAX_BYTES:
        raise RemoteError("it is larger than 20 MB")
    if media_type == "application/octet-stream":  # servers that do not know the type: trust the file name
        media_type = IMAGE_TYPES.get(Path(urlsplit(url).path).suffix.lower()) or media_type
    suffix = _BY_TYPE.get(media_type)
    if suffix is None:
        raise RemoteError(f"the server sent {media_type}, not an image type an EPUB can carry")
    if not _looks_like(body, media_type):
        raise RemoteError(f"the server said {media_type}, but the data is not one")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{key}{suffix}"
    partial = target.with_name(f"{target.name}.{os.getpid()}.part")
    partial.write_bytes(body)
    partial.replace(target)
    return target, IMAGE_TYPES[suffix]


def _looks_like(body: bytes, media_type: str) -> bool:
    """Whether ``body`` starts the way a file of ``media_type`` does."""
    if media_type == "image/png":
        return body.startswith(b"\x89PNG\r\n\x1a\n")
    if media_type == "image/jpeg":
        return body.startswith(b"\xff\xd8")
    if media_type == "image/gif":
        return body.startswith((b"GIF87a", b"GIF89a"))
    if media_type == "image/webp":
        return body[:4] == b"RIFF" and body[8:12] == b"WEBP"
    return b"<svg" in body[:4096]
