"""Stage 4a: print HTML -> PDF with WeasyPrint (fonts from the theme, files only from the project)."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration

from essaybook import log
from essaybook.config import Config
from essaybook.errors import RenderError
from essaybook.fetcher import RestrictedFetcher
from essaybook.model import Meta
from essaybook.renderers import atomic_output


@dataclass(frozen=True)
class PdfResult:
    """What the PDF renderer reports back."""

    path: Path
    pages: int


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def render_pdf(document: str, project: Path, theme_roots: tuple[Path, ...], meta: Meta, config: Config,
               target: Path) -> PdfResult:
    """Lay out ``document`` and write the PDF to ``target`` atomically."""
    fetcher = RestrictedFetcher([project, *theme_roots])
    collect = _Collect()
    weasy_log = logging.getLogger("weasyprint")
    weasy_log.addHandler(collect)
    try:
        rendered = HTML(string=document, base_url=project.resolve().as_uri() + "/", url_fetcher=fetcher,
                        media_type="print").render(font_config=FontConfiguration())
        options: dict[str, object] = {
            # A stable file identifier keeps the PDF byte-identical across runs (WeasyPrint hashes the time).
            "pdf_identifier": hashlib.md5(meta.identifier.encode()).hexdigest().encode(),
            "pdf_tags": config.pdf.tagged,
        }
        if config.pdf.variant:
            options["pdf_variant"] = config.pdf.variant
        with atomic_output(target) as temp:
            rendered.write_pdf(str(temp), **options)
    except RenderError:
        raise
    except OSError as exc:
        raise RenderError(f"cannot write the PDF: {exc.strerror or exc}", file=target) from None
    finally:
        weasy_log.removeHandler(collect)
    for url in fetcher.refused:
        log.warn(f"PDF: refused to load {url}: it lies outside the book project")
    for message in collect.messages:
        if "Failed to load" in message or "failed to load" in message:
            if not any(url in message for url in fetcher.refused):
                log.warn(f"PDF: {message}")
        else:
            log.LOGGER.debug("WeasyPrint: %s", message)
    return PdfResult(path=target, pages=len(rendered.pages))
