"""Themes: where templates, CSS and fonts come from, and the one Jinja environment.

Search order: the project's ``styles/`` first, then the chosen theme, then the base theme ``classic``.
Any template can be overridden in ``styles/templates/`` and still extend the original as ``!classic/name``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jinja2

from essaybook.errors import ConfigError

BASE_THEME = "classic"


def themes_dir() -> Path:
    """Folder of the built-in themes (package data)."""
    return Path(str(resources.files("essaybook") / "themes"))


def available() -> list[str]:
    return sorted(p.name for p in themes_dir().iterdir() if (p / "templates").is_dir())


@dataclass(frozen=True)
class Theme:
    """A resolved theme: its folders in search order and the project's overrides."""

    name: str
    dirs: tuple[Path, ...]
    """Theme folders, most specific first; the base theme is last."""
    project_styles: Path | None

    def css(self, output: str) -> list[Path]:
        """Stylesheets for ``output`` ('print' or 'epub'), base first, project overrides last."""
        sheets: list[Path] = []
        for name in ("fonts.css", "common.css", f"{output}.css"):
            for folder in reversed(self.dirs):
                path = folder / "css" / name
                if path.is_file():
                    sheets.append(path)
        if self.project_styles is not None:
            for path in sorted(self.project_styles.glob("*.css")):
                other = "epub" if output == "print" else "print"
                if path.stem == other or path.stem.endswith(f".{other}"):
                    continue
                sheets.append(path)
        return sheets

    def fonts(self) -> list[Path]:
        """Font files the theme ships (used by fonts.css)."""
        found: dict[str, Path] = {}
        for folder in reversed(self.dirs):
            for path in sorted((folder / "fonts").glob("*.[ot]tf")):
                found[path.name] = path
        return list(found.values())

    @property
    def roots(self) -> tuple[Path, ...]:
        """Folders the renderers may read theme files from."""
        return self.dirs


def load_theme(name: str, project: Path, config_file: Path | None) -> Theme:
    """Resolve ``[theme] name`` and the project's ``styles/`` folder."""
    names = available()
    if name not in names:
        raise ConfigError(
            f"unknown theme {name!r}",
            file=config_file or "manuscript/book.toml",
            key="theme.name",
            hint="built-in themes: " + ", ".join(names),
        )
    folders = [themes_dir() / name]
    if name != BASE_THEME:
        folders.append(themes_dir() / BASE_THEME)
    styles = project / "styles"
    return Theme(name=name, dirs=tuple(folders), project_styles=styles if styles.is_dir() else None)


def environment(theme: Theme) -> jinja2.Environment:
    """The Jinja environment: autoescaping for markup, undefined names are errors."""
    loaders: list[jinja2.BaseLoader] = []
    if theme.project_styles is not None and (theme.project_styles / "templates").is_dir():
        loaders.append(jinja2.FileSystemLoader(theme.project_styles / "templates"))
    loaders.extend(jinja2.FileSystemLoader(folder / "templates") for folder in theme.dirs)
    prefixed = {f"!{p.name}": jinja2.FileSystemLoader(p / "templates") for p in theme.dirs}
    loaders.append(jinja2.PrefixLoader(prefixed, delimiter="/"))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(["html", "xhtml", "xml", "ncx"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
