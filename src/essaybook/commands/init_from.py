"""``essaybook init --from PATH``: an mdBook, a Pandoc project or a Quarto book -> a new essaybook book project.

The original folder is only read. Its settings become ``manuscript/book.toml`` (essaybook's keys), its chapter
list ``[book] chapters``, and its chapters and images are copied into ``manuscript/`` under the paths they had
(so links between them and to images still hold); mdBook's includes are expanded into the copies. What cannot
be carried over is reported, one warning (kind ``import``) per thing, naming the original file and line.
"""

from __future__ import annotations

import glob
import json
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from essaybook import log, mdbook
from essaybook.commands.init import GITIGNORE, _check_target, _shown, starter_dir, write_files
from essaybook.config import _PANDOC_KEYS, _pandoc_value
from essaybook.diagnostics import Diagnostic
from essaybook.errors import EssaybookError
from essaybook.model import IMAGE_TYPES
from essaybook.paths import inside, natural_key

KINDS = ("mdbook", "quarto", "pandoc")
_SKIPPED_FOLDERS = frozenset({".git", "_book", "_site", "_freeze", "book", "dist", "node_modules", ".quarto"})
"""Folders of a source project never read for images or chapters: version control and built output."""
_ROLE_WORDS = (
    ("dedication", "dedication"),
    ("epigraph", "epigraph"),
    ("foreword", "foreword"),
    ("preface", "preface"),
    ("introduction", "introduction"),
    ("acknowledg", "acknowledgments"),
    ("afterword", "afterword"),
    ("colophon", "colophon"),
    ("appendix", "appendix"),
    ("appendices", "appendix"),
)
"""A word in an unnumbered chapter's title or file name, and the role it gives the chapter."""
_ATX_RE = re.compile(r"^(#{1,6})(?=\s|$)")
_FENCE_RE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")


@dataclass
class Entry:
    """One chapter file of the new project."""

    rel: str
    """Its path under ``manuscript/``."""
    source: Path | None = None
    """The original file; None for a part title page made from the chapter list."""
    title: str | None = None
    """For a made part page: its title; for an mdBook chapter, the summary's (its heading when it has none)."""
    role: str | None = None
    """The role its front matter is given; None leaves the file's own."""
    level: int | None = None
    """The level its first heading is set to (1 a chapter, 2 a section file); None leaves the headings."""


@dataclass
class Plan:
    """What an import will write: settings, chapters in reading order, images, and what it leaves behind."""

    kind: str
    root: Path
    book: dict[str, Any] = field(default_factory=dict)
    """``[book]`` settings (kebab-case keys) except ``chapters``."""
    entries: list[Entry] = field(default_factory=list)
    assets: dict[str, Path] = field(default_factory=dict)
    """Path under ``manuscript/`` -> the original file."""
    notes: list[Diagnostic] = field(default_factory=list)

    def note(self, file: Path | str | None, line: int | None, message: str, hint: str | None = None) -> None:
        """Record one thing that is not carried over; ``file`` is shown relative to the source project."""
        shown = file if isinstance(file, str) or file is None else self.shown(file)
        self.notes.append(Diagnostic("warning", "import", message, shown, line, hint))

    def shown(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(path)


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_project` wrote and what it could not carry over."""

    root: Path
    kind: str
    files: tuple[str, ...]
    chapters: int
    notes: tuple[Diagnostic, ...]


def detect(source: Path) -> str:
    """'mdbook', 'quarto' or 'pandoc' for the project in ``source`` (a folder, or a Pandoc defaults file)."""
    if source.is_file():
        return "pandoc"
    if ((source / "book.toml").is_file() and (source / "src" / "SUMMARY.md").is_file()) or _mdbook_src(source):
        return "mdbook"
    if (source / "_quarto.yml").is_file() or (source / "_quarto.yaml").is_file():
        return "quarto"
    return "pandoc"


def _mdbook_src(source: Path) -> Path | None:
    """The source folder an mdBook's ``book.toml`` names (``[book] src``, default ``src``) when it has a summary."""
    toml = source / "book.toml"
    if not toml.is_file():
        return None
    try:
        data = tomllib.loads(toml.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
        return None
    src = data.get("book", {}).get("src", "src") if isinstance(data.get("book"), dict) else "src"
    folder = source / str(src)
    return folder if (folder / "SUMMARY.md").is_file() else None


def _line_of(path: Path, pattern: str) -> int | None:
    """The first line of ``path`` matching ``pattern`` (a regular expression), or None."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    found = re.compile(pattern)
    return next((number for number, line in enumerate(lines, 1) if found.search(line)), None)


def _guess_role(title: str, path: str | None, default: str) -> str:
    words = f"{title} {Path(path).stem if path else ''}".lower()
    return next((role for word, role in _ROLE_WORDS if word in words), default)


def _images(plan: Plan, folder: Path, prefix: str = "") -> None:
    """Every image file under ``folder`` (but built output and version control), to be copied."""
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part in _SKIPPED_FOLDERS or part.startswith(".") for part in rel.parts[:-1]):
            continue
        if path.is_file() and not path.is_symlink() and path.suffix.lower() in IMAGE_TYPES:
            plan.assets.setdefault(prefix + rel.as_posix(), path)


# ------------------------------------------------------------------------------------------------ mdBook


def plan_mdbook(source: Path) -> Plan:
    """Read an mdBook: ``book.toml`` and ``SUMMARY.md`` (see :mod:`essaybook.mdbook`)."""
    plan = Plan("mdBook", source)
    toml = source / "book.toml"
    data: dict[str, Any] = {}
    if toml.is_file():
        try:
            data = tomllib.loads(toml.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise EssaybookError(f"not a readable book.toml: {exc}", file=toml) from None
    settings = data.get("book", {}) if isinstance(data.get("book"), dict) else {}
    for key, value in settings.items():
        if key == "title" and isinstance(value, str):
            plan.book["title"] = value
        elif key == "authors" and isinstance(value, list):
            plan.book["author"] = [str(a) for a in value]
        elif key == "language" and isinstance(value, str):
            plan.book["lang"] = value
        elif key == "description" and isinstance(value, str):
            plan.book["description"] = value
        elif key not in ("src", "multilingual"):
            plan.note(toml, _line_of(toml, rf"^\s*{re.escape(key)}\s*="), f"[book] {key} is not carried over")
    plan.book.setdefault("lang", "en")  # mdBook's default language
    for table, value in data.items():
        if table == "book" or not isinstance(value, dict):
            continue
        for name in value if table in ("output", "preprocessor") else [None]:
            header = f"{table}.{name}" if name else table
            what = {
                "output.html": "the web pages' settings (theme, CSS, scripts, search, redirects)",
                "rust": "the Rust edition for testing the code",
                "build": "mdBook's build settings",
            }.get(header, "a preprocessor: it is not run" if table == "preprocessor" else "not used by essaybook")
            line = _line_of(toml, rf"^\s*\[{re.escape(header)}[\].]")
            plan.note(toml, line, f"[{header}] is not carried over: {what}")
    src = source / str(settings.get("src", "src"))
    summary_path = src / "SUMMARY.md"
    if not summary_path.is_file():
        raise EssaybookError("an mdBook needs SUMMARY.md in its source folder", file=summary_path)
    summary = mdbook.parse_summary(summary_path.read_text(encoding="utf-8"))
    for line in summary.separators:
        plan.note(summary_path, line, "a separator line is not carried over (the contents list has none)")
    seen_numbered = False
    parts = 0
    for item in summary.items:
        if item.kind == "part":
            parts += 1
            plan.entries.append(Entry(rel=f"part-{parts:02d}.md", title=item.title, role="part"))
            continue
        if item.kind == "draft" or item.path is None:
            plan.note(summary_path, item.line, f"draft chapter {item.title!r} has no file; left out")
            continue
        path = (src / item.path).resolve()
        if not inside(path, src) or not path.is_file():
            where = "lies outside the source folder" if not inside(path, src) else "does not exist"
            plan.note(summary_path, item.line, f"chapter {item.path!r} {where}; left out")
            continue
        rel = path.relative_to(src.resolve()).as_posix()
        if any(entry.rel == rel for entry in plan.entries):
            plan.note(summary_path, item.line, f"chapter {item.path!r} is listed again; kept at its first place")
            continue
        if item.kind == "numbered":
            seen_numbered = True
            # A numbered chapter is body matter whatever its name, unless it opens the appendices.
            role = "appendix" if item.depth == 0 and _guess_role(item.title, rel, "") == "appendix" else None
            level = min(1 + item.depth, 2)
            plan.entries.append(Entry(rel=rel, source=path, title=item.title, role=role, level=level))
            if item.depth > 1:
                plan.note(
                    summary_path,
                    item.line,
                    f"{item.path!r} is nested {item.depth + 1} levels deep; it is set as a section of its chapter",
                )
        else:
            default = "preface" if item.kind == "prefix" and not seen_numbered else "appendix"
            role = _guess_role(item.title, rel, default)
            plan.entries.append(Entry(rel=rel, source=path, title=item.title, role=role, level=1))
    _images(plan, src)
    return plan


# ------------------------------------------------------------------------------------------------ Pandoc


def _metadata(plan: Plan, path: Path, data: dict[str, Any]) -> None:
    """Pandoc metadata (a file, a defaults file's ``metadata``, ``_quarto.yml``'s ``book``) -> ``[book]`` keys;
    what essaybook has no key for is reported. An earlier value wins."""
    for key, value in data.items():
        key = str(key)
        setting = _PANDOC_KEYS.get(key)
        line = _line_of(path, rf"^\s*{re.escape(key)}\s*:")
        if setting is None:
            plan.note(path, line, f"metadata key '{key}' is not carried over")
            continue
        found = _pandoc_value(value, many=setting in ("author", "subject"))
        if found is None:
            plan.note(path, line, f"metadata key '{key}': expected text or a list of text; not carried over")
            continue
        if setting == "date" and not re.match(r"^\d{4}(-\d{2}(-\d{2})?)?$", str(found)):
            plan.note(path, line, f"date {found!r} is not YYYY, YYYY-MM or YYYY-MM-DD; not carried over")
            continue
        if setting == "cover_image":
            cover = (path.parent / str(found)).resolve()
            if not inside(cover, plan.root) or not cover.is_file():
                plan.note(path, line, f"cover image {found!r} not found in the project; not carried over")
                continue
            found = cover.relative_to(plan.root.resolve()).as_posix()
            plan.assets.setdefault(str(found), cover)
        key_name = setting.replace("_", "-")
        plan.book.setdefault(key_name, list(found) if isinstance(found, tuple) else found)


def _read_yaml(plan: Plan, path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        plan.note(path, None, f"not read: {first}")
        return {}
    if not isinstance(data, dict):
        plan.note(path, None, "not read: expected a mapping of keys to values")
        return {}
    return data


def _chapter_entry(plan: Plan, path: Path, where: Path, line: int | None, role: str | None = None) -> None:
    resolved = path.resolve()
    if not inside(resolved, plan.root):
        plan.note(where, line, f"chapter {path.name!r} lies outside the project; left out")
        return
    if not resolved.is_file():
        plan.note(where, line, f"chapter {plan.shown(path)!r} does not exist; left out")
        return
    if resolved.suffix == ".ipynb":
        plan.note(where, line, f"notebook {plan.shown(path)!r} is not carried over (render it to Markdown first)")
        return
    rel = resolved.relative_to(plan.root.resolve()).as_posix()
    if resolved.suffix in (".qmd", ".markdown", ".txt", ".rmd", ".Rmd"):
        rel = rel[: -len(resolved.suffix)] + ".md"
    if any(entry.rel == rel for entry in plan.entries):
        return
    plan.entries.append(Entry(rel=rel, source=resolved, role=role))


_MAKE_TOKEN_RE = re.compile(r"[\w./*?\[\]-]+\.(?:md|markdown)\b")
_MAKE_FLAG_RE = re.compile(r"(?:--metadata-file[= ]|--defaults[= ]|-d\s*)([\w./-]+\.ya?ml)")


def plan_pandoc(source: Path) -> Plan:
    """Read a Pandoc project: a defaults file (``source`` itself, or one in the folder), a Makefile, a metadata
    file; without a chapter list, every Markdown file in name order."""
    root = source.parent if source.is_file() else source
    plan = Plan("Pandoc", root)
    defaults: list[Path] = [source] if source.is_file() else []
    metadata_files: list[Path] = []
    chapters_from: Path | None = None
    makefile = next((root / n for n in ("Makefile", "makefile", "GNUmakefile") if (root / n).is_file()), None)
    if makefile is not None:
        text = makefile.read_text(encoding="utf-8", errors="replace")
        for flag in _MAKE_FLAG_RE.finditer(text):
            target = root / flag.group(1)
            if target.is_file():
                is_defaults = "--defaults" in flag.group(0) or flag.group(0).startswith("-d")
                (defaults if is_defaults else metadata_files).append(target)
    if not defaults:
        for candidate in sorted(root.glob("*.y*ml")):
            data = _read_yaml(Plan("", root), candidate)
            if any(k in data for k in ("input-files", "input-file", "metadata-file", "metadata-files")):
                defaults.append(candidate)
    for default in defaults:
        data = _read_yaml(plan, default)
        for key, value in data.items():
            line = _line_of(default, rf"^\s*{re.escape(str(key))}\s*:")
            if key in ("input-files", "input-file"):
                for name in [value] if isinstance(value, str) else value if isinstance(value, list) else []:
                    _chapter_entry(plan, default.parent / str(name), default, line)
                chapters_from = default
            elif key in ("metadata-file", "metadata-files"):
                names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
                metadata_files.extend(default.parent / str(n) for n in names)
            elif key == "metadata" and isinstance(value, dict):
                _metadata(plan, default, value)
            elif key not in ("from", "to", "output-file", "standalone"):
                plan.note(default, line, f"Pandoc option '{key}' is not carried over")
    if chapters_from is None and makefile is not None:
        text = makefile.read_text(encoding="utf-8", errors="replace")
        for number, text_line in enumerate(text.splitlines(), 1):
            for token in _MAKE_TOKEN_RE.findall(text_line):
                matches = sorted(glob.glob(str(root / token)), key=lambda p: natural_key(Path(p).name))
                for match in matches or [str(root / token)]:
                    if Path(match).is_file():
                        _chapter_entry(plan, Path(match), makefile, number)
                        chapters_from = makefile
    if not metadata_files:
        metadata_files = [root / n for n in ("metadata.yaml", "metadata.yml", "meta.yaml", "meta.yml")]
    for metadata in metadata_files:
        if metadata.is_file():
            _metadata(plan, metadata, _read_yaml(plan, metadata))
    if chapters_from is None:
        found = [
            p
            for p in root.rglob("*.md")
            if not any(part in _SKIPPED_FOLDERS or part.startswith(".") for part in p.relative_to(root).parts[:-1])
            and p.name.lower() not in ("readme.md", "license.md", "changelog.md")
        ]
        for path in sorted(found, key=lambda p: natural_key(p.relative_to(root).as_posix())):
            _chapter_entry(plan, path, root, None)
    _images(plan, root)
    return plan


# ------------------------------------------------------------------------------------------------ Quarto


def plan_quarto(source: Path) -> Plan:
    """Read a Quarto book: ``_quarto.yml``'s ``book`` (title, author, date, chapters with ``part:`` groups,
    appendices) and its top-level ``lang``."""
    plan = Plan("Quarto", source)
    config = source / "_quarto.yml" if (source / "_quarto.yml").is_file() else source / "_quarto.yaml"
    data = _read_yaml(plan, config)
    book = data.get("book") if isinstance(data.get("book"), dict) else {}
    assert isinstance(book, dict)
    listed = {k: book.pop(k) for k in ("chapters", "appendices") if k in book}
    for key in ("site-url", "repo-url", "repo-actions", "search", "sidebar", "navbar", "page-footer", "downloads"):
        if key in book:
            book.pop(key)
            plan.note(config, _line_of(config, rf"^\s*{key}\s*:"), f"book.{key} (for the web site) is not carried over")
    _metadata(plan, config, book)
    if isinstance(data.get("lang"), str):
        plan.book.setdefault("lang", data["lang"])
    for key in data:
        if key not in ("book", "lang", "project"):
            plan.note(config, _line_of(config, rf"^{re.escape(str(key))}\s*:"), f"'{key}' is not carried over")
    parts = 0

    def add(items: Any, role: str | None) -> None:
        nonlocal parts
        for item in items if isinstance(items, list) else []:
            if isinstance(item, str):
                _chapter_entry(plan, source / item, config, _line_of(config, re.escape(item)), role)
            elif isinstance(item, dict) and "part" in item:
                part = str(item["part"])
                line = _line_of(config, rf"part:\s*['\"]?{re.escape(part[:30])}")
                if part.endswith((".qmd", ".md")):
                    _chapter_entry(plan, source / part, config, line, "part")
                else:
                    parts += 1
                    plan.entries.append(Entry(rel=f"part-{parts:02d}.md", title=part, role="part"))
                add(item.get("chapters"), role)

    add(listed.get("chapters"), None)
    add(listed.get("appendices"), "appendix")
    if not plan.entries:
        plan.note(config, None, "book.chapters lists no chapter")
    elif plan.entries[0].rel == "index.md" and plan.entries[0].role is None:
        plan.entries[0].role = "preface"  # Quarto's index page opens the book, unnumbered
    _images(plan, source)
    return plan


# ------------------------------------------------------------------------------------------------ writing


def _headings(lines: list[str]) -> list[int]:
    """The numbers of the lines of ``lines`` that are ATX headings (not in fenced code)."""
    fence: str | None = None
    found: list[int] = []
    for number, line in enumerate(lines):
        opening = _FENCE_RE.match(line)
        if opening and (fence is None or opening.group(1)[0] == fence[0]):
            fence = opening.group(1) if fence is None else None
        elif fence is None and _ATX_RE.match(line):
            found.append(number)
    return found


def _has_heading(text: str) -> bool:
    return bool(_headings(text.split("\n")))


def _shift_headings(text: str, level: int) -> str:
    """``text`` with its ATX headings moved so that the first is at ``level`` (kept within 1-6)."""
    lines = text.split("\n")
    headings = _headings(lines)
    if not headings:
        return text
    shift = level - len(_ATX_RE.match(lines[headings[0]]).group(1))  # type: ignore[union-attr]
    if not shift:
        return text
    for number in headings:
        marks = len(_ATX_RE.match(lines[number]).group(1))  # type: ignore[union-attr]
        lines[number] = "#" * min(6, max(1, marks + shift)) + lines[number][marks:]
    return "\n".join(lines)


def _with_role(text: str, role: str) -> str:
    """``text`` with ``role`` in its front matter (added, or set in the front matter it has, unless given)."""
    if text.startswith("---\n"):
        end = re.search(r"^(---|\.\.\.)[ \t]*$", text[4:], re.MULTILINE)
        if end is not None:
            if re.search(r"^role\s*:", text[4 : 4 + end.start()], re.MULTILINE):
                return text
            return f"---\nrole: {role}\n" + text[4:]
    return f"---\nrole: {role}\n---\n\n" + text


_QUARTO_CELL_RE = re.compile(r"^([ \t]{0,3}(?:`{3,}|~{3,}))\{([\w-]+)[^}]*\}[ \t]*$", re.MULTILINE)
_SHORTCODE_RE = re.compile(r"\{\{<.*?>\}\}")
_PAGEBREAK_RE = re.compile(r"\{\{<\s*pagebreak\s*>\}\}")


_IMAGE_RE = re.compile(r"(!\[[^\]]*\]\(\s*<?)([^)\s>]+)")


def _root_relative_images(text: str, chapter: Path, root: Path) -> str:
    """Pandoc finds images from the folder it runs in (the project's, ``--resource-path``), essaybook from the
    chapter's: an image path that only the project's folder resolves is made relative to the chapter."""

    def mend(match: re.Match[str]) -> str:
        written = match.group(2)
        if ":" in written or written.startswith(("/", "#")) or (chapter.parent / written).exists():
            return match.group(0)
        found = root / written
        if not found.is_file() or not inside(found, root):
            return match.group(0)
        return match.group(1) + Path(os.path.relpath(found, chapter.parent)).as_posix()

    return _IMAGE_RE.sub(mend, text)


def _chapter_text(plan: Plan, entry: Entry) -> str:
    if entry.source is None:
        return f"---\nrole: {entry.role}\n---\n\n# {entry.title}\n"
    text = entry.source.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
    if plan.kind == "mdBook":

        def report(file: str, line: int, message: str) -> None:
            plan.note(file, line, message)

        text = mdbook.expand(text, entry.source, plan.root, plan.shown, report)
        text = mdbook.strip_hidden_lines(text)
    if plan.kind == "Quarto":
        for match in _QUARTO_CELL_RE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            plan.note(entry.source, line, f"code cell {{{match.group(2)}}} is printed as code, not run")
        text = _QUARTO_CELL_RE.sub(r"\1\2", text)
        text = _PAGEBREAK_RE.sub(r"\\newpage", text)  # which essaybook reads as Pandoc's
        for match in _SHORTCODE_RE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            plan.note(entry.source, line, f"Quarto shortcode {match.group(0)} is not carried over; left out")
        text = _SHORTCODE_RE.sub("", text)
    if plan.kind == "Pandoc":
        text = _root_relative_images(text, entry.source, plan.root)
    if entry.level is not None:
        text = _shift_headings(text, entry.level)
        if entry.title and not _has_heading(text):
            # mdBook shows the summary's title in its navigation; on paper the chapter needs it as a heading.
            text = f"{'#' * entry.level} {entry.title}\n\n{text}"
    if entry.role is not None:
        text = _with_role(text, entry.role)
    return text


def _toml(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string


def book_toml(plan: Plan, source: Path) -> str:
    """The new project's ``manuscript/book.toml``."""
    lines = [
        f"# Settings for this book, made by essaybook init --from from the {plan.kind} project in {source}.",
        "# The manual's book.toml chapter lists every key; essaybook init writes a file with each one explained.",
        "",
        "[book]",
        *(f"{key} = {_toml(value)}" for key, value in plan.book.items()),
        "chapters = [",
        *(f"    {_toml(entry.rel)}," for entry in plan.entries),
        "]",
        "",
    ]
    return "\n".join(lines)


def _project_path(source: Path) -> Path:
    """The folder of the project whose settings file ``source`` is (book.toml, SUMMARY.md, _quarto.yml), else
    ``source`` (a folder, or a Pandoc defaults file)."""
    if source.is_file() and source.name in ("book.toml", "_quarto.yml", "_quarto.yaml"):
        return source.parent
    if source.is_file() and source.name == "SUMMARY.md":
        return source.parent.parent
    return source


def plan_import(source: Path, kind: str | None = None) -> Plan:
    """Read the project in ``source`` (of ``kind``, else detected) into a :class:`Plan`; nothing is written."""
    if not source.exists():
        raise EssaybookError(
            "not found", file=source, hint="give the folder of an mdBook, a Quarto book or a Pandoc project"
        )
    source = _project_path(source)
    kind = kind or detect(source)
    planners: dict[str, Callable[[Path], Plan]] = {"mdbook": plan_mdbook, "quarto": plan_quarto, "pandoc": plan_pandoc}
    if kind != "pandoc" and not source.is_dir():
        raise EssaybookError(f"a {kind} project is a folder", file=source)
    return planners[kind](source)


def import_project(source: Path, target: Path, kind: str | None = None) -> ImportResult:
    """Write a new book project into ``target`` (new or empty, not inside ``source``) from the project in
    ``source``; the original is only read. Each thing not carried over is logged as a warning."""
    source = _project_path(source)
    if inside(target, source if source.is_dir() else source.parent):
        raise EssaybookError(
            "the new project would be written inside the one it imports; the original is never changed",
            file=_shown(target),
            hint="give a folder outside it, e.g. 'essaybook init --from my-book my-book-essaybook'",
        )
    _check_target(target)
    plan = plan_import(source, kind)
    if not plan.entries:
        raise EssaybookError(f"found no chapters in this {plan.kind} project", file=_shown(source))
    files: dict[str, bytes] = {"manuscript/book.toml": book_toml(plan, source).encode()}
    for entry in plan.entries:
        files[f"manuscript/{entry.rel}"] = _chapter_text(plan, entry).encode()
    for rel, path in plan.assets.items():
        files.setdefault(f"manuscript/{rel}", path.read_bytes())
    files["styles/custom.css"] = (starter_dir() / "styles" / "custom.css").read_bytes()
    files[".gitignore"] = GITIGNORE.encode()
    written = write_files(target, files)
    files_seen = list(dict.fromkeys(note.file for note in plan.notes))
    plan.notes.sort(key=lambda note: (files_seen.index(note.file), note.line or 0))
    for note in plan.notes:
        log.warn(note)
    result = ImportResult(target, plan.kind, tuple(written), len(plan.entries), tuple(plan.notes))
    _report(result, plan)
    return result


def _report(result: ImportResult, plan: Plan) -> None:
    where = _shown(result.root)
    parts = sum(1 for e in plan.entries if e.role == "part")
    sections = sum(1 for e in plan.entries if e.level == 2)
    log.LOGGER.info(
        "Imported the %s project in %s into %s: %d chapter files (%d section files, %d parts), %d images%s",
        plan.kind,
        _shown(plan.root),
        where,
        result.chapters,
        sections,
        parts,
        len(plan.assets),
        f"; {len(plan.notes)} things not carried over (listed above)" if plan.notes else "",
    )
    log.LOGGER.info("Next:")
    if where != ".":
        log.LOGGER.info("  cd %s", where)
    log.LOGGER.info("  essaybook build      # writes the PDF and the EPUB into dist/")
