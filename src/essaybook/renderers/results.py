"""What the renderers report back: plain data, importable without the renderers (and WeasyPrint) behind them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PdfResult:
    """The PDF written: where, and how many pages."""

    path: Path
    pages: int


@dataclass(frozen=True)
class EpubResult:
    """The EPUB written: where, and how many files it holds."""

    path: Path
    files: int
