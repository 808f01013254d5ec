"""The restricted URL fetcher: WeasyPrint may read the book project, the theme and data: URLs, nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from weasyprint.urls import URLFetcher

from essaybook.paths import inside


class RestrictedFetcher(URLFetcher):  # type: ignore[misc]
    """Refuses every URL outside ``roots``; remote URLs only when ``allow_remote``.

    Refusals are recorded in :attr:`refused` so the build can name them; WeasyPrint itself only logs.
    """

    def __init__(self, roots: list[Path], allow_remote: bool = False) -> None:
        super().__init__(timeout=10, allow_redirects=False)
        self.roots = [r.resolve() for r in roots]
        self.allow_remote = allow_remote
        self.refused: list[str] = []

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> Any:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            path = Path(url2pathname(parts.path))
            if any(inside(path, root) for root in self.roots):
                return super().fetch(url, headers)
        elif scheme in ("http", "https") and self.allow_remote:
            return super().fetch(url, headers)
        self.refused.append(url)
        raise ValueError(f"essaybook refused to load {url} (outside the book project)")
