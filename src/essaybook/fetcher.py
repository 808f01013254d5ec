"""The restricted URL fetcher: WeasyPrint may read the book project, the theme and data: URLs, nothing else."""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from weasyprint.urls import URLFetcher, URLFetcherResponse

from essaybook.media import sniff
from essaybook.paths import OutsideFile, inside, read_regular
from essaybook.svg import BadSvg, clean_svg, without_doctype
from essaybook.urls import ASSET_SCHEME


class RestrictedFetcher(URLFetcher):  # type: ignore[misc]
    """Refuses every URL outside ``roots``: files elsewhere, http(s), ftp and every other scheme.

    Refusals are recorded in :attr:`refused` so the build can name them; WeasyPrint itself only logs.
    """

    def __init__(self, roots: list[Path], assets: dict[str, Path] | None = None) -> None:
        super().__init__(timeout=10, allow_redirects=False)
        self.roots = [r.resolve() for r in roots]
        self.assets = assets or {}
        self.refused: list[str] = []
        self.failed: list[str] = []
        """Files inside the allowed folders that could not be read (missing, unreadable)."""

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> Any:
        if not isinstance(url, str):  # WeasyPrint asks for None where an SVG <image> has no href
            raise ValueError("no URL to load")
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "data":
            response = super().fetch(url, headers)
            if "svg" not in url[:64].lower():
                return response
            try:
                body = response.read()
            finally:
                if hasattr(response, "close"):
                    response.close()
            return URLFetcherResponse(url, body=self._svg(url, body), headers={"Content-Type": "image/svg+xml"})
        if scheme == ASSET_SCHEME and parts.path in self.assets:
            try:
                body = read_regular(self.assets[parts.path])
            except OSError:
                self.failed.append(str(self.assets[parts.path]))
                raise
            return URLFetcherResponse(url, body=self._svg(url, body))
        if scheme == "file":
            path = Path(url2pathname(parts.path))
            if any(inside(path, root) for root in self.roots):
                try:
                    # Read here, not by WeasyPrint: a named pipe in place of a stylesheet must not block.
                    data = self._svg(url, read_regular(path, within=self.roots))
                    kind = mimetypes.guess_type(path.name)[0] or "text/plain"  # as urllib's file handler says
                    return URLFetcherResponse(url, body=data, headers={"Content-Type": kind})
                except OutsideFile:
                    pass  # refused below, as any other URL outside the project
                except OSError:
                    self.failed.append(str(path))
                    raise
        self.refused.append(url)
        raise ValueError(f"essaybook refused to load {url} (outside the book project)")

    def _svg(self, url: str, body: bytes) -> bytes:
        """``body`` as served: an SVG (by its bytes, whatever the URL says) cleaned as :func:`clean_svg` cleans
        images in chapters, so that one a stylesheet names loads nothing from outside itself either (WeasyPrint
        reads an SVG's ``<image>`` and ``<use>`` references through this fetcher, but its XML parser would
        expand the entities of a DTD); not served when it is not well-formed."""
        if sniff(body) != "image/svg+xml" and not _SVG_URL_RE.search(url):
            return body
        try:
            return without_doctype(clean_svg(body).data)
        except BadSvg as exc:
            raise ValueError(f"essaybook refused to load {url}: {exc}") from None


_SVG_URL_RE = re.compile(r"\.svgz?(?:[?#]|$)|^data:image/svg", re.IGNORECASE)
