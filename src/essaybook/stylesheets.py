"""Stage 3 (CSS): a project's stylesheets -> EPUB-safe CSS plus the project files they reference.

WeasyPrint reads CSS through the restricted fetcher; the EPUB carries the CSS files themselves, so every
``url()`` and ``@import`` in them is checked here: data: URLs and files inside the project stay (the files
are packed), everything else is dropped with a warning naming the stylesheet and line.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import tinycss2
import tinycss2.ast

from essaybook import log
from essaybook.media import FONT_SUFFIX, IMAGE_SUFFIX, NAMES, sniff_file, suffix_fits
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
    files: list[tuple[str, Path, str]] = field(default_factory=list)
    """(name inside the EPUB relative to the project, source file, media type by its bytes)."""


def _css_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\a ") + '"'


def map_urls(tokens: list[Any], change: Callable[[str], str | None]) -> list[Any] | None:
    """``tokens`` with each ``url()`` value replaced by ``change(value)``; None when ``change`` refuses one
    (returns None) or the tokens hold a parse error (a bad ``url(`` that would hide what it loads)."""
    out: list[Any] = []
    for token in tokens:
        if token.type == "error":
            return None
        if token.type == "url" or (token.type == "function" and token.lower_name == "url"):
            if token.type == "url":
                value = token.value
            else:
                strings = [t for t in token.arguments if t.type == "string"]
                if len(strings) != 1:
                    return None
                value = strings[0].value
            new = change(value)
            if new is None:
                return None
            line, column = token.source_line, token.source_column
            out.append(tinycss2.ast.URLToken(line, column, new, f"url({_css_string(new)})"))
        elif token.type == "function":
            arguments = map_urls(token.arguments, change)
            if arguments is None:
                return None
            out.append(tinycss2.ast.FunctionBlock(token.source_line, token.source_column, token.name, arguments))
        elif token.type in ("() block", "[] block", "{} block"):
            content = map_urls(token.content, change)
            if content is None:
                return None
            block = type(token)(token.source_line, token.source_column, content)
            out.append(block)
        else:
            out.append(token)
    return out


def _at_line(change: Callable[[str, int], str | None], line: int, url: str) -> str | None:
    return change(url, line)


def map_style(style: str, change: Callable[[str, int], str | None], refused: Callable[[str], None]) -> str:
    """A ``style`` attribute's declarations with every ``url()`` passed through ``change(url, line)``.

    A declaration is left out (and named to ``refused``) when ``change`` refuses one of its URLs or it does
    not parse; comments and stray tokens are dropped. Line numbers count from 1 within ``style``.
    """
    kept = []
    for item in tinycss2.parse_blocks_contents(style, skip_comments=True, skip_whitespace=True):
        if item.type != "declaration":
            continue
        value = map_urls(item.value, functools.partial(_at_line, change, item.source_line))
        if value is None:
            refused(f"{item.name}: {tinycss2.serialize(item.value).strip()}")
            continue
        important = " !important" if item.important else ""
        kept.append(f"{item.name}: {tinycss2.serialize(value).strip()}{important}")
    return "; ".join(kept)


def clean_for_epub(path: Path, root: Path) -> EpubCss:
    """Parse ``path`` and keep only what an EPUB can carry without reaching outside ``root``."""
    display = path.relative_to(root).as_posix() if inside(path, root) else path.name
    text = read_stylesheet(path, root)
    files: list[tuple[str, Path, str]] = []

    def allowed(url: str, line: int) -> str | None:
        if url.startswith("data:") or url.startswith("#"):
            return url
        if _SCHEME_RE.match(url) or url.startswith("/") or "\\" in url:
            log.warn(
                f"url({url}) is not a file in the book project; left out of the EPUB",
                kind="css-url",
                file=display,
                line=line,
            )
            return None
        target = path.parent / unquote(urlsplit(url).path)
        if not inside(target, root) or not target.is_file():
            log.warn(
                f"url({url}) is missing or outside the book project; left out of the EPUB",
                kind="css-url",
                file=display,
                line=line,
            )
            return None
        try:
            media_type = sniff_file(target)
        except OSError:
            media_type = None
        if media_type is None:
            log.warn(
                f"url({url}) is not a font or image type an EPUB can carry (by its bytes); left out",
                kind="css-url",
                file=display,
                line=line,
            )
            return None
        name = target.resolve().relative_to(root.resolve()).as_posix()
        if not suffix_fits(name, media_type):
            # EPUBCheck wants an image's name to match its type (PKG-022): pack it under a name that does.
            suffix = (IMAGE_SUFFIX | FONT_SUFFIX)[media_type]
            log.warn(
                f"url({url}) is {NAMES[media_type]} file, but its name says otherwise; the EPUB carries it as "
                f"{media_type}",
                kind="css-url",
                file=display,
                line=line,
                hint=f"rename it to end in {suffix}",
            )
            name, url = name + suffix, url.split("#")[0].split("?")[0] + suffix
        files.append((name, target.resolve(), media_type))
        return url

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
            if item.type == "declaration":
                value = map_urls(item.value, functools.partial(_at_line, allowed, item.source_line))
                if value is None:
                    continue
                important = " !important" if item.important else ""
                kept.append(f"{item.name}:{tinycss2.serialize(value)}{important};")
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
    media_types: dict[str, str] = field(default_factory=dict)
    """Href -> the media type of the file's bytes."""

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
    media_types: dict[str, str] = {}

    def add_project_sheet(path: Path) -> None:
        cleaned = clean_for_epub(path, root)
        sheets.append((path.resolve().relative_to(root.resolve()).as_posix(), cleaned.text.encode()))
        for name, file, media_type in cleaned.files:
            files[name] = file
            media_types[name] = media_type

    for path in theme.theme_css("epub"):
        if theme.project_styles is not None and inside(path, theme.project_styles):
            add_project_sheet(path)
        elif path.name != "fonts.css" or embed_fonts:
            sheets.append((f"theme/{path.parent.parent.name}-{path.name}", read_regular(path)))
    sheets.append(("theme/code.css", code_css.encode()))
    for path in theme.project_css("epub"):
        add_project_sheet(path)
    return EpubStyles(sheets=sheets, files=sorted(files.items()), media_types=media_types)
