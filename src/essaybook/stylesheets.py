"""Stage 3 (CSS): a project's stylesheets -> EPUB-safe CSS plus the project files they reference.

WeasyPrint reads CSS through the restricted fetcher; the EPUB carries the CSS files themselves, so every
``url()`` and ``@import`` in them is checked here: data: URLs and files inside the project stay (the files
are packed), everything else is dropped with a warning naming the stylesheet and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import tinycss2

from essaybook import log
from essaybook.model import FONT_TYPES, IMAGE_TYPES
from essaybook.paths import inside, read_regular
from essaybook.themes import Theme, read_stylesheet

_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
MEDIA_TYPES = FONT_TYPES | IMAGE_TYPES
"""What a stylesheet may pull into the EPUB."""


@dataclass
class EpubCss:
    """A stylesheet as the EPUB will carry it, and the project files its ``url()`` values need."""

    text: str
    files: list[Path] = field(default_factory=list)


def _urls(tokens: list[Any]) -> list[str]:
    found = []
    for token in tokens:
        if token.type == "url":
            found.append(token.value)
        elif token.type == "function":
            if token.lower_name == "url":
                found.extend(t.value for t in token.arguments if t.type == "string")
            else:
                found.extend(_urls(token.arguments))
        elif token.type in ("() block", "[] block", "{} block"):
            found.extend(_urls(token.content))
    return found


def clean_for_epub(path: Path, root: Path) -> EpubCss:
    """Parse ``path`` and keep only what an EPUB can carry without reaching outside ``root``."""
    display = path.relative_to(root).as_posix() if inside(path, root) else path.name
    text = read_stylesheet(path, root)
    files: list[Path] = []

    def allowed(url: str, line: int) -> bool:
        if url.startswith("data:") or url.startswith("#"):
            return True
        if _SCHEME_RE.match(url) or url.startswith("/"):
            log.warn(
                f"url({url}) is not a file in the book project; left out of the EPUB",
                kind="css-url",
                file=display,
                line=line,
            )
            return False
        target = path.parent / unquote(urlsplit(url).path)
        if not inside(target, root) or not target.is_file():
            log.warn(
                f"url({url}) is missing or outside the book project; left out of the EPUB",
                kind="css-url",
                file=display,
                line=line,
            )
            return False
        if target.suffix.lower() not in MEDIA_TYPES:
            log.warn(
                f"url({url}) is not a font or image type an EPUB can carry; left out",
                kind="css-url",
                file=display,
                line=line,
            )
            return False
        files.append(target.resolve())
        return True

    def clean_rules(rules: list[Any]) -> str:
        out = []
        for rule in rules:
            if rule.type == "at-rule" and rule.lower_at_keyword == "import":
                log.warn(
                    "@import left out of the EPUB; put each stylesheet in styles/",
                    kind="css-import",
                    file=display,
                    line=rule.source_line,
                )
                continue
            if rule.type in ("qualified-rule", "at-rule") and rule.content is not None:
                nested = rule.type == "at-rule" and rule.lower_at_keyword in ("media", "supports", "layer")
                if nested:
                    body = clean_rules(tinycss2.parse_blocks_contents(rule.content))
                else:
                    body = clean_declarations(tinycss2.parse_blocks_contents(rule.content))
                head = tinycss2.serialize(rule.prelude)
                prefix = f"@{rule.at_keyword}" if rule.type == "at-rule" else ""
                out.append(f"{prefix}{head}{{{body}}}")
                continue
            out.append(rule.serialize())
        return "".join(out)

    def clean_declarations(items: list[Any]) -> str:
        kept = []
        for item in items:
            if item.type == "declaration" and not all(allowed(u, item.source_line) for u in _urls(item.value)):
                continue
            if item.type == "qualified-rule" or item.type == "at-rule":
                kept.append(clean_rules([item]))
                continue
            kept.append(item.serialize() + (";" if item.type == "declaration" else ""))
        return "".join(kept)

    rules = tinycss2.parse_stylesheet(text, skip_comments=False, skip_whitespace=False)
    return EpubCss(text=clean_rules(rules), files=files)


@dataclass
class EpubStyles:
    """Every stylesheet the EPUB carries, in cascade order, and the files they reference."""

    sheets: list[tuple[str, bytes]]
    """(href inside the EPUB, content)."""
    files: list[tuple[str, Path]]
    """(href inside the EPUB, source file)."""

    @property
    def hrefs(self) -> list[str]:
        return [href for href, _ in self.sheets]


def epub_styles(theme: Theme, root: Path, code_css: str, embed_fonts: bool) -> EpubStyles:
    """Theme CSS (under ``theme/``), the code highlighting CSS, then the project's cleaned ``styles/*.css``.

    A theme stylesheet the project replaces in ``styles/theme/`` keeps its place in the cascade but is
    cleaned like the project's own. Project files keep their project-relative paths inside the EPUB, so
    relative ``url()`` values stay valid.
    """
    sheets: list[tuple[str, bytes]] = []
    files: dict[str, Path] = {}

    def add_project_sheet(path: Path) -> None:
        cleaned = clean_for_epub(path, root)
        sheets.append((path.resolve().relative_to(root.resolve()).as_posix(), cleaned.text.encode()))
        for file in cleaned.files:
            files[file.relative_to(root.resolve()).as_posix()] = file

    for path in theme.theme_css("epub"):
        if theme.project_styles is not None and inside(path, theme.project_styles):
            add_project_sheet(path)
        elif path.name != "fonts.css" or embed_fonts:
            sheets.append((f"theme/{path.parent.parent.name}-{path.name}", read_regular(path)))
    sheets.append(("theme/code.css", code_css.encode()))
    for path in theme.project_css("epub"):
        add_project_sheet(path)
    return EpubStyles(sheets=sheets, files=sorted(files.items()))
