"""mdBook's own syntax for ``init --from``: ``SUMMARY.md`` -> the chapter tree, ``{{#include}}`` and its kin ->
the text they stand for, and mdBook's hidden lines in Rust code taken out.

The rules are mdBook's (its guide, "SUMMARY.md" and "mdBook-specific features"): a summary has prefix chapters
(links before the first list), numbered chapters (nested lists), part titles (``# Title`` between lists),
separators (``---``), draft chapters (``[Title]()``) and suffix chapters (links after the last list).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from essaybook.paths import inside

MAX_DEPTH = 10
"""Includes inside included files are expanded this deep, as mdBook does."""


@dataclass
class SummaryItem:
    """One line of ``SUMMARY.md`` that is not a separator."""

    kind: str
    """'prefix', 'numbered', 'suffix' (a chapter), 'part' (a part title) or 'draft' (a chapter with no file)."""
    title: str
    path: str | None
    """The file as written (relative to the source folder), or None for a part or a draft."""
    depth: int = 0
    """0 for a top-level chapter, 1 for a sub-chapter, and so on."""
    line: int = 0


@dataclass
class Summary:
    """What ``SUMMARY.md`` lists, in order, and the lines it does not carry over (separators)."""

    items: list[SummaryItem] = field(default_factory=list)
    separators: list[int] = field(default_factory=list)


_LINK_RE = re.compile(r"^\[(?P<title>(?:[^\]\\]|\\.)*)\]\((?P<path>[^)]*)\)\s*$")
_ITEM_RE = re.compile(r"^(?P<indent>\s*)[-*+]\s+(?P<rest>.*)$")
_SEPARATOR_RE = re.compile(r"^\s*(-{3,}|\*{3,}|_{3,})\s*$")
_PART_RE = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*\s*$")


def _link_path(written: str) -> str:
    """A link destination as a file path: ``<a b.md>`` and ``a%20b.md`` are ``a b.md``."""
    written = written.strip()
    if written.startswith("<") and written.endswith(">"):
        written = written[1:-1]
    return unquote(written)


def _unescape_title(title: str) -> str:
    return re.sub(r"\\(.)", r"\1", title).strip()


def parse_summary(text: str) -> Summary:
    """The items of a ``SUMMARY.md`` in order (see the module docstring); unknown lines are skipped."""
    summary = Summary()
    seen_list = False
    indent_unit = 0
    seen_title = False
    fence = False
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            fence = not fence
            continue
        if fence or not stripped or stripped.startswith("<!--"):
            continue
        if _SEPARATOR_RE.match(line):
            summary.separators.append(number)
            continue
        heading = _PART_RE.match(stripped)
        if heading:
            if not seen_title and not seen_list and not summary.items:
                seen_title = True  # "# Summary": the summary's own title
            else:
                summary.items.append(SummaryItem("part", _unescape_title(heading.group("title")), None, 0, number))
            continue
        item = _ITEM_RE.match(line)
        if item:
            seen_list = True
            link = _LINK_RE.match(item.group("rest").strip())
            if link is None:
                continue
            width = len(item.group("indent").expandtabs(4))
            if width and not indent_unit:
                indent_unit = width
            depth = width // indent_unit if indent_unit else 0
            path = _link_path(link.group("path"))
            title = _unescape_title(link.group("title"))
            kind = "numbered" if path else "draft"
            summary.items.append(SummaryItem(kind, title, path or None, depth, number))
            continue
        link = _LINK_RE.match(stripped)
        if link:
            path = _link_path(link.group("path"))
            kind = "suffix" if seen_list else "prefix"
            title = _unescape_title(link.group("title"))
            summary.items.append(SummaryItem(kind if path else "draft", title, path or None, 0, number))
    return summary


# ------------------------------------------------------------------------------------------------ includes

_DIRECTIVE_RE = re.compile(r"\\\{\{#[^}]*\}\}|\{\{\s*#(?P<kind>[A-Za-z0-9_]+)\s*(?P<target>[^}]*?)\s*\}\}")
_ANCHOR_START = re.compile(r"ANCHOR:\s*(?P<name>[\w_-]+)")
_ANCHOR_END = re.compile(r"ANCHOR_END:\s*(?P<name>[\w_-]+)")
_BORING_RE = re.compile(r"^(\s*)#(.?)(.*)$")
_FENCE_RE = re.compile(r"^(\s{0,3})(`{3,}|~{3,})(.*)$")

Report = Callable[[str, int, str], None]
"""Called with (file shown, line, message) for each thing an expansion could not carry over."""


@dataclass(frozen=True)
class Spec:
    """What a directive's target names: a file, and a range of lines (0-based, end exclusive) or an anchor."""

    path: str
    start: int | None = None
    end: int | None = None
    anchor: str | None = None


def parse_target(target: str) -> Spec:
    """``file``, ``file:N`` (line N only), ``file:N:``, ``file::M``, ``file:N:M`` or ``file:anchor``."""
    first = target.split()[0] if target.split() else ""
    parts = first.split(":")
    path, rest = parts[0], parts[1:]
    if not rest:
        return Spec(path)
    if rest[0] and not rest[0].isdigit():
        return Spec(path, anchor=rest[0])
    start = int(rest[0]) - 1 if rest[0] else None
    if len(rest) == 1:
        return Spec(path, start, (start + 1) if start is not None else None)
    end = int(rest[1]) if rest[1].isdigit() else None
    return Spec(path, max(start, 0) if start is not None else None, end)


def _anchored(lines: list[str], anchor: str, hide: bool) -> tuple[list[str], bool]:
    """The lines between ``ANCHOR: anchor`` and ``ANCHOR_END: anchor`` without any anchor lines; with ``hide``
    (rustdoc_include) the lines outside are kept as hidden lines (``# ``). Second: whether the anchor was found."""
    out: list[str] = []
    within = found = False
    for line in lines:
        end = _ANCHOR_END.search(line)
        start = _ANCHOR_START.search(line)
        if within:
            if end and end.group("name") == anchor:
                within = False
                if not hide:
                    break
            elif not start and not end:
                out.append(line)
        elif start and start.group("name") == anchor:
            within = found = True
        elif hide and not start and not end:
            out.append("# " + line)
    return out, found


def _ranged(lines: list[str], spec: Spec, hide: bool) -> list[str]:
    """The lines in ``spec``'s range without anchor lines; with ``hide`` every line, those outside hidden."""
    start, end = spec.start or 0, spec.end if spec.end is not None else len(lines)

    def plain(line: str) -> bool:
        return not _ANCHOR_START.search(line) and not _ANCHOR_END.search(line)

    if not hide:
        return [line for line in lines[start:end] if plain(line)]
    return [line if start <= i < end else "# " + line for i, line in enumerate(lines) if plain(line)]


def expand(text: str, file: Path, root: Path, shown: Callable[[Path], str], report: Report, depth: int = 0) -> str:
    """``text`` (of ``file``) with mdBook's ``{{#include}}``, ``{{#rustdoc_include}}`` and ``{{#playground}}``
    replaced by what they name, ``{{#title}}`` taken out, and ``\\{{#…}}`` unescaped.

    A directive naming a file outside ``root`` or one that cannot be read expands to nothing and is reported,
    as is an anchor not found. Line numbers reported are those of ``file``.
    """

    def replace(match: re.Match[str]) -> str:
        whole = match.group(0)
        line = text.count("\n", 0, match.start()) + 1
        if whole.startswith("\\"):
            return whole[1:]
        kind, target = match.group("kind"), match.group("target")
        if kind == "title":
            report(shown(file), line, f"{{{{#title {target}}}}} (the web page's title) is not carried over")
            return ""
        if kind not in ("include", "rustdoc_include", "playground"):
            report(shown(file), line, f"unknown mdBook directive {{{{#{kind}}}}} left out")
            return ""
        spec = parse_target(target)
        path = (file.parent / spec.path).resolve()
        if not spec.path or not inside(path, root):
            report(shown(file), line, f"{{{{#{kind} {spec.path}}}}} names a file outside the project; left out")
            return ""
        if depth >= MAX_DEPTH:
            report(shown(file), line, f"includes nested more than {MAX_DEPTH} deep; {spec.path} left out")
            return ""
        try:
            content = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problem = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not readable UTF-8 text"
            report(shown(file), line, f"{{{{#{kind} {spec.path}}}}}: {problem}; left out")
            return ""
        content = expand(content, path, root, shown, report, depth + 1)
        lines = content.replace("\r\n", "\n").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        hide = kind == "rustdoc_include"
        if spec.anchor is not None:
            lines, found = _anchored(lines, spec.anchor, hide)
            if not found:
                report(shown(file), line, f"anchor {spec.anchor!r} not found in {spec.path}; nothing included")
                return ""
        else:
            lines = _ranged(lines, spec, hide)
        return "\n".join(lines)

    return _DIRECTIVE_RE.sub(replace, text)


def strip_hidden_lines(text: str) -> str:
    """Rust code blocks without mdBook's hidden lines (``# `` or a lone ``#``; ``##`` stands for ``#``), which
    its web pages fold away and a printed page cannot; the fence's info ``rust,ignore,…`` becomes ``rust``."""
    out: list[str] = []
    fence: str | None = None
    rust = False
    for line in text.split("\n"):
        opening = _FENCE_RE.match(line)
        if fence is None and opening:
            fence = opening.group(2)
            info = opening.group(3).strip()
            language = re.split(r"[,\s]", info, maxsplit=1)[0] if info else ""
            rust = language == "rust"
            if "," in info and language:
                line = f"{opening.group(1)}{fence}{language}"
            out.append(line)
            continue
        if fence is not None and opening and opening.group(2).startswith(fence) and not opening.group(3).strip():
            fence = None
            out.append(line)
            continue
        if fence is not None and rust:
            boring = _BORING_RE.match(line)
            if boring and boring.group(2) == "#":
                line = boring.group(1) + "#" + boring.group(3)
            elif boring and boring.group(2) in ("", " "):
                continue
        out.append(line)
    return "\n".join(out)
