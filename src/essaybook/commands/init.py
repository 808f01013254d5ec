"""``essaybook init``: an empty folder -> a new book project (settings, two sample chapters, a starter stylesheet).

The starter files are package data in ``essaybook/starter/``. With a theme named, its stylesheets and
templates are copied into ``styles/theme/`` and ``styles/templates/``, where they replace the theme's own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from essaybook import log
from essaybook.errors import EssaybookError
from essaybook.themes import PROJECT_THEME_CSS, REPLACEABLE_CSS, available, load_theme

IGNORED = frozenset({".git"})
"""Entries that leave a folder "empty" for init: a repository made with ``git init`` just before."""
GITIGNORE = (
    "# Built from the sources by essaybook: the PDF and the EPUB, and fetched images.\ndist/\n.essaybook-cache/\n"
)
_THEME_LINE = '# name = "classic"      '
_DESCRIPTIONS = {
    "manuscript/book.toml": "the book's settings, each one explained",
    "styles/custom.css": "your CSS, added after the theme's",
    ".gitignore": "keeps built files out of version control",
}


def starter_dir() -> Path:
    """Folder of the files every new project starts with (package data)."""
    return Path(str(resources.files("essaybook") / "starter"))


@dataclass(frozen=True)
class InitResult:
    """What :func:`init_project` wrote."""

    root: Path
    files: tuple[str, ...]
    """Paths relative to ``root``, POSIX style, in the order written."""


def _shown(path: Path) -> str:
    try:
        shown = path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return str(path)
    return "." if shown == Path() else str(shown)


def _check_target(target: Path) -> None:
    """Refuse a file or a folder with anything in it (but ``.git``), naming what is there."""
    if target.exists() and not target.is_dir():
        raise EssaybookError("is a file; essaybook init needs a new or empty folder", file=_shown(target))
    if not target.is_dir():
        return
    try:
        present = sorted(entry.name for entry in target.iterdir() if entry.name not in IGNORED)
    except OSError as exc:
        raise EssaybookError(f"cannot list the folder: {exc.strerror}", file=_shown(target)) from None
    if present:
        names = ", ".join(f"{n}/" if (target / n).is_dir() else n for n in present[:5])
        more = f" and {len(present) - 5} more" if len(present) > 5 else ""
        shown = _shown(target)
        raise EssaybookError(
            f"{'the current' if shown == '.' else 'the'} folder is not empty (it holds {names}{more}); "
            "essaybook init never overwrites files",
            file=None if shown == "." else shown,
            hint="give a new folder, e.g. 'essaybook init my-book'; nothing was written",
        )


def _starter_files() -> dict[str, bytes]:
    root = starter_dir()
    files = {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }
    files[".gitignore"] = GITIGNORE.encode()
    return files


def _with_theme(files: dict[str, bytes], target: Path, name: str) -> None:
    """Set ``[theme] name`` in book.toml and add copies of the theme's stylesheets and templates."""
    toml = files["manuscript/book.toml"].decode()
    if _THEME_LINE not in toml:
        raise RuntimeError("the starter book.toml has no commented theme name to set")
    files["manuscript/book.toml"] = toml.replace(_THEME_LINE, f'name = "{name}"'.ljust(len(_THEME_LINE))).encode()
    theme = load_theme(name, target, None)
    for css in REPLACEABLE_CSS:
        source = theme.find_css(css, project=False)
        if source is not None:
            note = (
                f"/* Copied from the {source.parent.parent.name} theme by essaybook init. This file replaces the\n"
                f"   theme's {css}: edit it freely. Delete it to use the theme's own again. */\n\n"
            )
            files[f"styles/{PROJECT_THEME_CSS}/{css}"] = note.encode() + source.read_bytes()
    for template, source in theme.templates().items():
        files[f"styles/templates/{template}"] = source.read_bytes()


def write_files(target: Path, files: dict[str, bytes]) -> list[str]:
    """Write ``files`` (path relative to ``target`` -> bytes) in their order, never over a file that appeared
    meanwhile; the paths written. A failure names the file and how many were written before it."""
    written: list[str] = []
    rel = ""
    try:
        for rel, content in files.items():
            path = target / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "xb") as out:  # "x": never replace a file that appeared meanwhile
                out.write(content)
            written.append(rel)
    except OSError as exc:
        raise EssaybookError(
            f"cannot write {rel}: {exc.strerror}", file=_shown(target), hint=f"{len(written)} files were written"
        ) from None
    return written


def init_project(target: Path, theme: str | None = None) -> InitResult:
    """Write a new book project into ``target`` (created if missing), which must be empty.

    ``theme`` sets ``[theme] name`` and copies the theme out for editing. Nothing is written when the
    folder is not empty or the theme is unknown (:class:`EssaybookError`).
    """
    if theme is not None and theme not in available():
        raise EssaybookError(f"unknown theme {theme!r}", hint="built-in themes: " + ", ".join(available()))
    _check_target(target)
    files = _starter_files()
    if theme is not None:
        _with_theme(files, target, theme)
    order = sorted(files, key=lambda rel: (rel != "manuscript/book.toml", rel.startswith("."), rel))
    written = write_files(target, {rel: files[rel] for rel in order})
    result = InitResult(root=target, files=tuple(written))
    _report(result, theme)
    return result


def _report(result: InitResult, theme: str | None) -> None:
    where = _shown(result.root)
    log.LOGGER.info("Created a new book project in %s:", where if where == "." else where + os.sep)
    width = max(len(rel) for rel in result.files)
    for rel in result.files:
        if rel.startswith(f"styles/{PROJECT_THEME_CSS}/"):
            what = f"the {theme} theme's stylesheet, yours to edit"
        elif rel.startswith("styles/templates/"):
            what = f"the {theme} theme's template, yours to edit"
        elif rel.endswith(".md"):
            what = "a sample chapter"
        elif rel.startswith("manuscript/images/"):
            what = "the sample chapter's picture"
        else:
            what = _DESCRIPTIONS.get(rel, "")
        log.LOGGER.info("  %s  %s", rel.ljust(width), what)
    log.LOGGER.info("Next:")
    if where != ".":
        log.LOGGER.info("  cd %s", where)
    log.LOGGER.info("  essaybook build      # writes the PDF and the EPUB into dist/")
    log.LOGGER.info("  essaybook preview    # shows the book in your browser as you write")
