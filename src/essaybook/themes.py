"""Themes: where templates, CSS and fonts come from, and the one Jinja environment.

Every file is looked up by name along one search path: the project's ``styles/`` first, then the chosen theme,
then ``classic`` (the theme every other falls back to), then ``base`` (the stylesheets every theme builds on;
not a theme itself); the first file found is used. So a theme ships only what it changes, and a project
overrides any template in ``styles/templates/`` and any stylesheet except ``fonts.css`` in ``styles/theme/``.
An override can still use the original: ``{% extends "!classic/book.html" %}``, or ``!<theme>/`` for the
chosen theme (which itself falls back to classic). Every other ``styles/*.css`` is added after the theme's
stylesheets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jinja2
import tinycss2
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment

from essaybook.errors import ConfigError, TemplateError
from essaybook.limits import STYLESHEET_BYTES
from essaybook.paths import inside, read_text

BASE_THEME = "classic"
SHARED = "base"
"""Folder beside the themes with the stylesheets every theme builds on, last on the search path."""
PROJECT_THEME_CSS = "theme"
"""Folder in ``styles/`` whose stylesheets replace the theme's (and the shared ones) of the same name."""
REPLACEABLE_CSS = ("common.css", "print.css", "epub.css")
"""The theme's own stylesheets, which ``essaybook init --theme`` copies out for editing."""
CSS_ORDER = {
    "print": ("fonts.css", "common.css", "features.css", "pages.css", "print.css", "print-features.css"),
    "epub": ("fonts.css", "common.css", "features.css", "epub.css", "epub-features.css"),
}
"""The theme stylesheets of each output in cascade order. Those every theme shares are in ``base/``:
``pages.css``, the page mechanics, stands before the theme's ``print.css``, which styles what it places; the
features' rules (``features.css`` for both outputs, ``print-features.css``, ``epub-features.css``) each follow
the theme's file of their kind, so they hold whatever the theme's look. A theme changes one with a more
specific selector (or one of ``features.css`` in its ``print.css`` and ``epub.css``), or leaves a file out by
shipping an empty one of its name; a project replaces any of them in ``styles/theme/``."""


def themes_dir() -> Path:
    """Folder of the built-in themes (package data)."""
    return Path(str(resources.files("essaybook") / "themes"))


def available() -> list[str]:
    """Names of the built-in themes."""
    return sorted(
        p.name
        for p in themes_dir().iterdir()
        if p.name != SHARED and ((p / "css").is_dir() or (p / "templates").is_dir())
    )


@dataclass(frozen=True)
class FontFace:
    """One ``@font-face`` rule of a theme's ``fonts.css``."""

    family: str
    style: str
    weight: str
    path: Path


def font_faces(fonts_css: Path) -> list[FontFace]:
    """The ``@font-face`` rules of ``fonts_css`` whose ``src`` is a file beside it, in order."""
    faces = []
    text = read_text(fonts_css, ConfigError, fonts_css, "the stylesheet")
    rules = tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True)
    for rule in rules:
        if rule.type != "at-rule" or rule.lower_at_keyword != "font-face" or rule.content is None:
            continue
        descriptors: dict[str, str] = {}
        source: Path | None = None
        for item in tinycss2.parse_blocks_contents(rule.content, skip_comments=True, skip_whitespace=True):
            if item.type != "declaration":
                continue
            if item.lower_name == "src":
                url = next((t.value for t in item.value if t.type == "url"), None)
                if url is not None and source is None:
                    source = fonts_css.parent / unquote(urlsplit(url).path)
            else:
                descriptors[item.lower_name] = tinycss2.serialize(item.value).strip().strip("\"'")
        if source is not None and source.is_file():
            faces.append(
                FontFace(
                    family=descriptors.get("font-family", ""),
                    style=descriptors.get("font-style", "normal"),
                    weight=descriptors.get("font-weight", "normal").replace("400", "normal"),
                    path=source.resolve(),
                )
            )
    return faces


@dataclass(frozen=True)
class Theme:
    """A resolved theme: its folders in search order and the project's overrides."""

    name: str
    dirs: tuple[Path, ...]
    """Theme folders, most specific first; classic, then ``base`` (the shared stylesheets), are last."""
    project_styles: Path | None

    def find_css(self, name: str, project: bool = True) -> Path | None:
        """The first stylesheet called ``name`` along the search path (``styles/theme/`` first when ``project``)."""
        folders = [folder / "css" for folder in self.dirs]
        if project and self.project_styles is not None:
            folders.insert(0, self.project_styles / PROJECT_THEME_CSS)
        return next((folder / name for folder in folders if (folder / name).is_file()), None)

    def theme_css(self, output: str) -> list[Path]:
        """The theme's stylesheets for ``output`` ('print' or 'epub'), those it shares with every theme among
        them, in the order of :data:`CSS_ORDER`.

        Each is the first of its name in ``styles/theme/`` (not fonts.css), the chosen theme, classic, base.
        """
        found = [self.find_css(name, project=name != "fonts.css") for name in CSS_ORDER[output]]
        return [path for path in found if path is not None]

    def project_css(self, output: str) -> list[Path]:
        """The project's own ``styles/*.css`` in name order, without those meant only for the other output."""
        if self.project_styles is None:
            return []
        other = "epub" if output == "print" else "print"
        return [
            path
            for path in sorted(self.project_styles.glob("*.css"))
            if path.stem != other and not path.stem.endswith(f".{other}")
        ]

    def css(self, output: str) -> list[Path]:
        """Every stylesheet for ``output`` in cascade order: the theme's, then the project's."""
        return self.theme_css(output) + self.project_css(output)

    def font_faces(self) -> list[FontFace]:
        """The faces the theme's ``fonts.css`` declares."""
        fonts_css = self.find_css("fonts.css", project=False)
        return font_faces(fonts_css) if fonts_css is not None else []

    def fonts(self) -> list[Path]:
        """Font files the theme's ``fonts.css`` uses, each once."""
        return list(dict.fromkeys(face.path for face in self.font_faces()))

    def text_faces(self) -> tuple[Path, Path] | None:
        """(regular, italic) of the first family ``fonts.css`` declares; italic is regular when it has none."""
        faces = self.font_faces()
        if not faces:
            return None
        family = faces[0].family
        upright = [f.path for f in faces if f.family == family and f.style == "normal" and f.weight == "normal"]
        italic = [f.path for f in faces if f.family == family and f.style == "italic" and f.weight == "normal"]
        regular = upright[0] if upright else faces[0].path
        return regular, italic[0] if italic else regular

    def templates(self) -> dict[str, Path]:
        """Every template the theme provides (its own, else classic's) by name; no project overrides."""
        found: dict[str, Path] = {}
        for folder in reversed(self.dirs):
            if (folder / "templates").is_dir():
                found.update((p.name, p) for p in sorted((folder / "templates").iterdir()) if p.is_file())
        return dict(sorted(found.items()))

    @property
    def roots(self) -> tuple[Path, ...]:
        """Folders the renderers may read theme files from."""
        return self.dirs


def load_theme(name: str, project: Path, config_file: Path | None, styles: bool = True) -> Theme:
    """Resolve ``[theme] name`` and (with ``styles``) the project's ``styles/`` folder (see :func:`project_styles`)."""
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
    folders.append(themes_dir() / SHARED)
    return Theme(name=name, dirs=tuple(folders), project_styles=project_styles(project) if styles else None)


def project_styles(project: Path) -> Path | None:
    """The project's ``styles/`` folder, or None; every stylesheet in it (and in ``styles/theme/``) checked
    to be a regular UTF-8 file inside the project and no larger than :data:`~essaybook.limits.STYLESHEET_BYTES`.

    Raises :class:`ConfigError` naming the first that is not, before anything is laid out.
    """
    styles = project / "styles"
    if not styles.is_dir():
        return None
    if not inside(styles, project):
        raise ConfigError(
            f"the folder leads outside the book project (to {styles.resolve()})",
            file="styles",
            hint="make styles/ a folder inside the project and copy the stylesheets into it",
        )
    for path in sorted([*styles.glob("*.css"), *(styles / PROJECT_THEME_CSS).glob("*.css")]):
        read_stylesheet(path, project)
    return styles


def read_stylesheet(path: Path, project: Path) -> str:
    """The text of the project stylesheet ``path``; :class:`ConfigError` naming it when it cannot be used."""
    shown = path.relative_to(project).as_posix() if path.is_relative_to(project) else str(path)
    return read_text(path, ConfigError, shown, "the stylesheet", within=[project], limit=STYLESHEET_BYTES)


class _Loader(jinja2.BaseLoader):
    """Templates from one folder: regular files inside it only, never through a symbolic link.

    Jinja's FileSystemLoader follows links and opens anything: a template in ``styles/templates/`` could
    ``include`` a link to a file elsewhere, or a named pipe that blocks the build.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        pieces = split_template_path(template)
        path = self.folder.joinpath(*pieces)
        if not path.exists() and not path.is_symlink():
            raise jinja2.TemplateNotFound(template)
        shown = str(path)
        if any(self.folder.joinpath(*pieces[: i + 1]).is_symlink() for i in range(len(pieces))):
            raise TemplateError(
                "a template may not be a symbolic link", file=shown, hint="copy the file into styles/templates/"
            )
        source = read_text(path, TemplateError, shown, "the template", within=[self.folder])
        mtime = path.stat().st_mtime
        return source, shown, lambda: path.is_file() and path.stat().st_mtime == mtime


def _chain(folders: tuple[Path, ...]) -> jinja2.BaseLoader:
    return jinja2.ChoiceLoader([_Loader(f / "templates") for f in folders if (f / "templates").is_dir()])


def environment(theme: Theme) -> jinja2.Environment:
    """The Jinja environment: autoescaping for markup, undefined names are errors.

    ``!<theme>/name`` loads a theme's own template, past the project's overrides: ``!classic/`` classic's,
    ``!<chosen>/`` the chosen theme's (or classic's where it ships none).
    """
    loaders: list[jinja2.BaseLoader] = []
    if theme.project_styles is not None and (theme.project_styles / "templates").is_dir():
        loaders.append(_Loader(theme.project_styles / "templates"))
    loaders.append(_chain(theme.dirs))
    prefixed = {f"!{folder.name}": _chain(theme.dirs[i:]) for i, folder in enumerate(theme.dirs)}
    loaders.append(jinja2.PrefixLoader(prefixed, delimiter="/"))
    # The sandbox: a project's templates are someone else's code; they may read the values given to them,
    # not reach Python's internals (``cycler.__init__.__globals__.os``) to read files or run commands.
    return ImmutableSandboxedEnvironment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(["html", "xhtml", "xml", "ncx"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
