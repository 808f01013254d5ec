"""Stage 1a: ``manuscript/book.toml`` -> frozen, typed settings; every problem is reported at once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re
import tomllib
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from essaybook.errors import ConfigError, ConfigErrors
from essaybook.labels import KEYS as LABEL_KEYS
from essaybook.labels import LABELS
from essaybook.labels import PLACEHOLDERS as LABEL_PLACEHOLDERS
from essaybook.langtag import is_language_tag
from essaybook.limits import METADATA_ENTRIES, METADATA_LENGTHS
from essaybook.paths import inside, read_regular, read_text
from essaybook.production import PAPERS, PRESETS
from essaybook.text import unwritable_character
from essaybook.themes import available as available_themes

PAGE_SIZES: dict[str, str] = {
    "A4": "210mm 297mm",
    "A5": "148mm 210mm",
    "A6": "105mm 148mm",
    "B5": "176mm 250mm",
    "letter": "8.5in 11in",
    "legal": "8.5in 14in",
    "5x8": "5in 8in",
    "5.25x8": "5.25in 8in",
    "5.5x8.5": "5.5in 8.5in",
    "6x9": "6in 9in",
    "7x10": "7in 10in",
    "8.5x11": "8.5in 11in",
}
"""Trim sizes by the names print services use; ``page-size`` may also be two CSS lengths."""

_SIZES_BY_LOWER = {name.lower(): size for name, size in PAGE_SIZES.items()}
PDF_VARIANTS = ("pdf/a-1b", "pdf/a-2b", "pdf/a-3b", "pdf/a-2u", "pdf/a-3u", "pdf/ua-1")
LAYOUTS = ("auto", "book", "essay")
NOTES = ("footnotes", "endnotes")
LINKS = ("footnote", "after", "none")
NUMBERINGS = ("book", "chapter")
LIST_PLACES = ("front", "back")

_LENGTH = r"(?:\d+(?:\.\d+)?|\.\d+)(?:mm|cm|in|pt|pc|px)"
_LENGTH_RE = re.compile(rf"^{_LENGTH}$")
_SIZE_RE = re.compile(rf"^({_LENGTH})\s+({_LENGTH})$")
_DATE_RE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


_POINTS = {"mm": 72 / 25.4, "cm": 72 / 2.54, "in": 72.0, "pt": 1.0, "pc": 12.0, "px": 0.75}


def points(length: str) -> float | None:
    """A CSS length in mm, cm, in, pt, pc or px, in points; None for anything else."""
    return _points(length)


def _points(length: str) -> float | None:
    """A CSS length as :data:`_LENGTH` allows it, in points; None for anything else."""
    found = re.match(r"^((?:\d+(?:\.\d+)?|\.\d+))(mm|cm|in|pt|pc|px)$", length.strip())
    return float(found.group(1)) * _POINTS[found.group(2)] if found else None


def _doc(text: str, **kwargs: Any) -> Any:
    return field(metadata={"doc": text}, **kwargs)


@dataclass(frozen=True)
class BookSettings:
    """``[book]``: metadata, named as in Pandoc's EPUB metadata, and the reading order."""

    title: str | None = _doc("Book title; default: the first chapter's title.", default=None)
    subtitle: str | None = _doc("Subtitle, shown on the title page and in the EPUB metadata.", default=None)
    author: tuple[str, ...] = _doc("Author or list of authors.", default=())
    lang: str | None = _doc("BCP 47 language tag, e.g. 'en', 'de-CH'; default 'en' with a warning.", default=None)
    identifier: str | None = _doc("e.g. 'urn:isbn:…'; default: a UUID derived from title and authors.", default=None)
    date: str | None = _doc("Publication date, YYYY, YYYY-MM or YYYY-MM-DD.", default=None)
    publisher: str | None = _doc("Publisher name.", default=None)
    rights: str | None = _doc("Copyright statement.", default=None)
    description: str | None = _doc("A short description of the book.", default=None)
    subject: tuple[str, ...] = _doc("Subjects or keywords ('keywords', Pandoc's name, is read as this).", default=())
    metadata_file: str | None = _doc(
        "A Pandoc metadata YAML file (relative to book.toml's folder) giving what [book] leaves unset.", default=None
    )
    cover_image: str | None = _doc("Cover image, relative to manuscript/.", default=None)
    chapters: tuple[str, ...] | None = _doc("Chapter files relative to manuscript/, in reading order.", default=None)
    allow_remote: bool = _doc(
        "Fetch http(s) images named in the chapters (cached in .essaybook-cache/); off, nothing is fetched.",
        default=False,
    )
    math: bool = _doc(
        "TeX between dollars ($x^2$, $$...$$) is math, set in both outputs; off, a dollar is just a dollar.",
        default=True,
    )
    numbering: str = _doc(
        "How labelled figures, tables, listings and equations are numbered: through the 'book' (Figure 7) or "
        "by 'chapter' (Figure 3.2).",
        default="book",
    )
    list_of_figures: str | None = _doc(
        "A list of the labelled figures, with their pages in print: 'front' (after the contents) or 'back'.",
        default=None,
    )
    list_of_tables: str | None = _doc(
        "A list of the labelled tables, with their pages in print: 'front' (after the contents) or 'back'.",
        default=None,
    )
    bibliography: tuple[str, ...] = _doc(
        "Sources that [@key] citations name: BibTeX/BibLaTeX (.bib), CSL JSON (.json) or CSL YAML (.yaml) files, "
        "relative to book.toml's folder; one or a list.",
        default=(),
    )
    csl: str | None = _doc(
        "Citation style: a .csl file relative to book.toml's folder, or a style's name such as 'apa' or "
        "'chicago-notes-bibliography'; default Chicago author-date.",
        default=None,
    )
    nocite: tuple[str, ...] = _doc(
        "Sources listed in the reference list though no chapter cites them, as Pandoc's nocite: '@key' "
        "(or several in one string, '@a, @b'), or '@*' for every source of the bibliography; one or a list.",
        default=(),
    )


@dataclass(frozen=True)
class PdfSettings:
    """``[pdf]``: the printed book."""

    preset: str | None = _doc(
        "A print service's trim and bleed, e.g. 'kdp-6x9', 'ingramspark-5.5x8.5', 'lulu-a5' (sets page-size and "
        "bleed; the build checks the inside margin against the service's minimum for the page count).",
        default=None,
    )
    page_size: str = _doc("A trim size name (A4, A5, letter, 6x9, …) or two CSS lengths.", default="A5")
    margin_top: str = _doc("Top margin, a CSS length.", default="18mm")
    margin_bottom: str = _doc("Bottom margin, a CSS length.", default="20mm")
    margin_inside: str = _doc("Margin at the gutter (binding side).", default="20mm")
    margin_outside: str = _doc("Margin at the fore-edge.", default="15mm")
    layout: str = _doc("'auto' (one chapter: essay, several: book), 'book' or 'essay'.", default="auto")
    toc_depth: int = _doc("Heading levels listed in the printed table of contents (1-3).", default=2)
    notes: str = _doc("'footnotes' at the foot of the page, or 'endnotes' after each chapter.", default="footnotes")
    hyphenate: bool = _doc("Hyphenate justified text by language.", default=True)
    tagged: bool = _doc("Write a tagged (accessible) PDF.", default=True)
    variant: str | None = _doc("A PDF variant WeasyPrint knows, e.g. 'pdf/ua-1' or 'pdf/a-3b'.", default=None)
    cover: bool = _doc("Open the PDF with the cover image (off for a print-ready interior).", default=True)
    bleed: str | None = _doc(
        "Bleed for print, a CSS length such as '3mm': at the top, bottom and fore-edge of each page.", default=None
    )
    bleed_at_spine: bool = _doc(
        "Bleed at the spine edge too (four sides), for a printer that asks for it (the 'lulu-' presets do).",
        default=False,
    )
    crop_marks: bool = _doc("Draw crop marks in the bleed (needs bleed).", default=False)
    links: str = _doc(
        "How an external link prints: its URL in a 'footnote', 'after' the text in parentheses, or 'none'.",
        default="footnote",
    )
    page_references: bool = _doc(
        'A link to another chapter prints the page it leads to: "(p. 42)" (each such chapter is laid out twice).',
        default=False,
    )
    code_colour: bool = _doc(
        "Print code in the Pygments style's colours; off, in greys (for a black interior).", default=False
    )
    allow_missing_glyphs: bool = _doc(
        "Write the PDF even when no font on this machine can draw a script of the book (it shows empty boxes).",
        default=False,
    )

    @property
    def css_size(self) -> str:
        return _SIZES_BY_LOWER.get(self.page_size.lower(), self.page_size)

    @property
    def trim_pt(self) -> tuple[float, float] | None:
        """The trim (page) size in points, width and height, or None when it cannot be read."""
        size = _SIZE_RE.match(self.css_size)
        width, height = (_points(size.group(1)), _points(size.group(2))) if size else (None, None)
        return (width, height) if width is not None and height is not None else None

    @property
    def bleed_pt(self) -> float:
        """The bleed in points (0 without one)."""
        return (_points(self.bleed) or 0.0) if self.bleed else 0.0

    @property
    def margin_inside_pt(self) -> float | None:
        """The inside margin in points, or None when the length cannot be read."""
        return _points(self.margin_inside)

    @property
    def text_width_pt(self) -> float | None:
        """The width of the text block in points (page width less the inside and outside margins), or None
        when a length cannot be read."""
        size = _SIZE_RE.match(self.css_size)
        lengths = [size.group(1) if size else "", self.margin_inside, self.margin_outside]
        points = [_points(length) for length in lengths]
        if any(p is None for p in points):
            return None
        width, inside, outside = (p or 0.0 for p in points)
        return width - inside - outside


@dataclass(frozen=True)
class EpubSettings:
    """``[epub]``: the e-book."""

    cover_page: bool = _doc("Add a cover page in front of the text when cover-image is set.", default=True)
    toc_depth: int = _doc("Heading levels in the EPUB table of contents (1-6).", default=3)
    embed_fonts: bool = _doc("Embed the theme's fonts in the EPUB.", default=False)


@dataclass(frozen=True)
class CoverSettings:
    """``[cover]``: the print cover ``essaybook cover`` makes (back, spine and front on one sheet)."""

    front_image: str | None = _doc(
        "Front cover image, relative to manuscript/; default: [book] cover-image.", default=None
    )
    back_image: str | None = _doc(
        "Back cover image, relative to manuscript/; default: a typographic back.", default=None
    )
    back_text: str | None = _doc("Text on the typographic back cover; default: [book] description.", default=None)
    paper: str | None = _doc(
        "Paper for the spine width: 'white-50lb', 'cream-55lb', 'colour-premium' or a thickness per page such as "
        "'0.0025in'; default: the preset's, else 'white-50lb'.",
        default=None,
    )
    spine_text: bool = _doc("Print the title and author on the spine when it is wide enough.", default=True)


@dataclass(frozen=True)
class ThemeSettings:
    """``[theme]``: the look."""

    name: str = _doc("Built-in theme: 'classic' (a serif book) or 'modern' (a contemporary essay).", default="classic")
    code_style: str = _doc("Pygments style for code blocks.", default="xcode")


@dataclass(frozen=True)
class Config:
    """Everything ``book.toml`` can say, with defaults for what it leaves out."""

    source: Path | None
    book: BookSettings = field(default_factory=BookSettings)
    pdf: PdfSettings = field(default_factory=PdfSettings)
    epub: EpubSettings = field(default_factory=EpubSettings)
    theme: ThemeSettings = field(default_factory=ThemeSettings)
    cover: CoverSettings = field(default_factory=CoverSettings)
    labels: tuple[tuple[str, str], ...] = ()
    """``[labels]``: the generated words (see :mod:`essaybook.labels`) this book says otherwise, as (key, text)."""


_SECTIONS: dict[str, type] = {
    "book": BookSettings,
    "pdf": PdfSettings,
    "epub": EpubSettings,
    "theme": ThemeSettings,
    "cover": CoverSettings,
}


def _kebab(name: str) -> str:
    return name.replace("_", "-")


def _line_of(text: str, section: str, key: str | None) -> int | None:
    """Best-effort line number of ``key`` in ``[section]`` (or of the section header)."""
    current = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        header = re.match(r"^\[\s*([^\]]+?)\s*\]", line)
        if header:
            current = header.group(1)
            if key is None and current == section:
                return number
            continue
        if key is not None and current == section and re.match(rf'^"?{re.escape(key)}"?\s*=', line):
            return number
    return None


def key_line(path: Path | None, section: str, key: str) -> int | None:
    """Line of ``key`` in ``[section]`` of the TOML file ``path`` (None when it is not there)."""
    if path is None:
        return None
    try:
        return _line_of(path.read_text(encoding="utf-8", errors="replace"), section, key)
    except OSError:
        return None


def entry_line(path: Path, value: str) -> int | None:
    """Line of the first quoted ``value`` (a list entry such as a chapter file) in the TOML file ``path``."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    quoted = re.compile(rf"""(["']){re.escape(value)}\1""")
    return next((number for number, line in enumerate(lines, 1) if quoted.search(line)), None)


class _Checker:
    """Collects every problem in one pass over the TOML table."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text
        self.problems: list[ConfigError] = []

    def problem(self, section: str, key: str | None, message: str, hint: str | None = None) -> None:
        dotted = f"{section}.{key}" if key else section
        self.problems.append(
            ConfigError(message, file=self.path, line=_line_of(self.text, section, key), key=dotted, hint=hint)
        )

    def convert(self, section: str, key: str, value: Any, annotation: str) -> Any:
        if "tuple[str, ...]" in annotation:
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return self._wrong(section, key, "a string or a list of strings", value)
            return tuple(value)
        if annotation.startswith("bool"):
            return value if isinstance(value, bool) else self._wrong(section, key, "true or false", value)
        if annotation.startswith("int"):
            if isinstance(value, bool) or not isinstance(value, int):
                return self._wrong(section, key, "an integer", value)
            return value
        if key == "date" and isinstance(value, dt.date):
            return value.isoformat()[:10]
        if not isinstance(value, str):
            return self._wrong(section, key, "a string", value)
        return value

    def _wrong(self, section: str, key: str, expected: str, value: Any) -> Any:
        found = type(value).__name__
        names = {
            "str": "a string",
            "int": "an integer",
            "float": "a number",
            "bool": "a boolean",
            "list": "a list",
            "dict": "a table",
        }
        self.problem(section, key, f"expected {expected}, found {names.get(found, found)} {value!r}")
        return MISSING


def load_config(path: Path) -> Config:
    """Read ``book.toml`` at ``path`` (which may not exist: defaults) and validate every key.

    Raises :class:`ConfigErrors` listing every problem, each naming file, line and dotted key.
    """
    config, problems = read_config(path)
    if problems:
        raise ConfigErrors(problems)
    return config


def read_config(path: Path) -> tuple[Config, list[ConfigError]]:
    """Like :func:`load_config`, but return the settings with every problem instead of raising them.

    A value of the wrong type is left at its default. Raises :class:`ConfigError` only when the file
    cannot be read or is not TOML.
    """
    if not path.is_file():
        return Config(source=None), []
    text = read_text(path, ConfigError, path, "the settings")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, column = _toml_position(str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError(f"invalid TOML: {message}", file=path, line=line, column=column) from None

    checker = _Checker(path, text)
    parts: dict[str, Any] = {}
    for section, value in data.items():
        if section == "labels":
            parts["labels"] = _labels(checker, value)
            continue
        if section not in _SECTIONS:
            close = difflib.get_close_matches(section, [*_SECTIONS, "labels"], n=1)
            checker.problems.append(
                ConfigError(
                    f"unknown section [{section}]",
                    file=path,
                    line=_line_of(text, section, None),
                    key=section,
                    hint=f"did you mean [{close[0]}]?" if close else f"sections are {', '.join(_SECTIONS)}, labels",
                )
            )
            continue
        if not isinstance(value, dict):
            checker.problem(section, None, "expected a table [" + section + "]")
            continue
        parts[section] = _section(checker, section, value)
    book = parts.get("book")
    if book is not None and book.metadata_file is not None:
        parts["book"] = _metadata_file(checker, book)
    _check_values(checker, parts)
    return Config(source=path, **parts), checker.problems


def _toml_position(message: str) -> tuple[int | None, int | None]:
    found = re.search(r"at line (\d+), column (\d+)", message)
    return (int(found.group(1)), int(found.group(2))) if found else (None, None)


def _labels(checker: _Checker, table: Any) -> tuple[tuple[str, str], ...]:
    """``[labels]``: known keys only, each a string keeping the placeholders of the word it replaces."""
    if not isinstance(table, dict):
        checker.problem("labels", None, "expected a table [labels]")
        return ()
    result = []
    for key, value in table.items():
        if key not in LABEL_KEYS:
            close = difflib.get_close_matches(key, list(LABEL_KEYS), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(LABEL_KEYS)}"
            checker.problem("labels", key, "unknown key", hint)
            continue
        if not isinstance(value, str):
            checker._wrong("labels", key, "a string", value)
            continue
        if not " ".join(value.split()):
            checker.problem("labels", key, "is blank", "give it text or leave the key out")
            continue
        missing = sorted(name for name in LABEL_PLACEHOLDERS[key] if "{" + name + "}" not in value)
        if missing:
            checker.problem(
                "labels",
                key,
                f"leaves out {', '.join('{' + name + '}' for name in missing)}",
                'the English is "' + LABELS["en"][key].replace("\u00a0", " ") + '"; keep its placeholders',
            )
            continue
        result.append((key, value))
    return tuple(result)


def _section(checker: _Checker, section: str, table: dict[str, Any]) -> Any:
    cls = _SECTIONS[section]
    known = {_kebab(f.name): f for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        if section == "book" and key == "keywords":
            # Pandoc's name for the book's subjects (dc:subject).
            if "subject" in table:
                checker.problem(section, key, "both 'keywords' and 'subject' are set", "keep one: they are the same")
                continue
            key = "subject"
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1)
            if not close and "_" in key and key.replace("_", "-") in known:
                close = [key.replace("_", "-")]
            hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
            checker.problem(section, key, "unknown key", hint)
            continue
        converted = checker.convert(section, key, value, str(known[key].type))
        if converted is not MISSING:
            values[known[key].name] = converted
    if section == "pdf" and values.get("preset") is not None:
        _apply_preset(checker, values)
    return cls(**values)


def _apply_preset(checker: _Checker, values: dict[str, Any]) -> None:
    """``[pdf] preset``: the service's trim and bleed where ``[pdf]`` does not set them; a page size of its
    own is a contradiction."""
    name = values["preset"]
    preset = PRESETS.get(name.lower())
    if preset is None:
        close = difflib.get_close_matches(name.lower(), list(PRESETS), n=1)
        checker.problem(
            "pdf",
            "preset",
            f"unknown preset {name!r}",
            f"did you mean '{close[0]}'?" if close else "presets are " + ", ".join(PRESETS),
        )
        values.pop("preset")
        return
    values["preset"] = preset.name
    given = values.get("page_size")
    if given is not None and _SIZES_BY_LOWER.get(given.lower(), given).split() != preset.page_size.split():
        checker.problem(
            "pdf",
            "page-size",
            f"{given!r} contradicts preset {preset.name!r}, whose trim is {preset.page_size}",
            "leave page-size out (the preset sets it), or choose a preset of that trim",
        )
    values["page_size"] = preset.page_size
    values.setdefault("bleed", preset.bleed)
    values.setdefault("bleed_at_spine", preset.bleed_at_spine)


def _check_values(checker: _Checker, parts: dict[str, Any]) -> None:
    book: BookSettings = parts.get("book", BookSettings())
    pdf: PdfSettings = parts.get("pdf", PdfSettings())
    epub: EpubSettings = parts.get("epub", EpubSettings())
    theme: ThemeSettings = parts.get("theme", ThemeSettings())
    for key in ("title", "subtitle", "publisher", "rights", "description"):
        value = getattr(book, key)
        if value is not None and not " ".join(value.replace("&nbsp;", " ").split()):
            checker.problem("book", key, "is blank", "give it text or leave the key out")
    if any(not " ".join(name.split()) for name in book.author):
        checker.problem("book", "author", "a name is blank", "give every author a name or leave the key out")
    for key in METADATA_LENGTHS:
        values = getattr(book, key)
        for value in values if isinstance(values, tuple) else [values] if values is not None else []:
            problem = metadata_problem(key, value)
            if problem is not None:
                checker.problem("book", key, *problem)
                break
    for key in ("author", "subject"):
        if len(getattr(book, key)) > METADATA_ENTRIES:
            checker.problem("book", key, f"lists {len(getattr(book, key))} entries; the limit is {METADATA_ENTRIES}")
    if book.lang is not None and not is_language_tag(book.lang):
        checker.problem("book", "lang", f"expected a BCP 47 language tag such as 'en' or 'de-CH', found {book.lang!r}")
    if book.date is not None and not _DATE_RE.match(book.date):
        checker.problem("book", "date", f"expected YYYY, YYYY-MM or YYYY-MM-DD, found {book.date!r}")
    _check_citation_files(checker, book)
    if book.chapters is not None and not book.chapters:
        checker.problem("book", "chapters", "the list is empty; list chapter files or leave the key out")
    if pdf.page_size.lower() not in _SIZES_BY_LOWER and not _SIZE_RE.match(pdf.page_size):
        checker.problem(
            "pdf",
            "page-size",
            f"unknown page size {pdf.page_size!r}",
            "use one of " + ", ".join(PAGE_SIZES) + ", or two lengths such as '6in 9in'",
        )
    for key in ("margin-top", "margin-bottom", "margin-inside", "margin-outside"):
        value = getattr(pdf, key.replace("-", "_"))
        if not _LENGTH_RE.match(value):
            checker.problem("pdf", key, f"expected a length such as '18mm' or '0.75in', found {value!r}")
    for key, value, allowed in (
        ("layout", pdf.layout, LAYOUTS),
        ("notes", pdf.notes, NOTES),
        ("links", pdf.links, LINKS),
    ):
        if value not in allowed:
            checker.problem("pdf", key, f"unknown value {value!r}", "use one of " + ", ".join(allowed))
    cover: CoverSettings = parts.get("cover", CoverSettings())
    if cover.paper is not None and cover.paper not in PAPERS and not _LENGTH_RE.match(cover.paper):
        checker.problem(
            "cover",
            "paper",
            f"unknown paper {cover.paper!r}",
            "use one of " + ", ".join(PAPERS) + ", or a thickness per page such as '0.0025in'",
        )
    for key in ("list-of-figures", "list-of-tables"):
        value = getattr(book, key.replace("-", "_"))
        if value is not None and value not in LIST_PLACES:
            checker.problem("book", key, f"unknown value {value!r}", "use one of " + ", ".join(LIST_PLACES))
    if book.numbering not in NUMBERINGS:
        checker.problem("book", "numbering", f"unknown value {book.numbering!r}", "use one of " + ", ".join(NUMBERINGS))
    if pdf.bleed is not None and not _LENGTH_RE.match(pdf.bleed):
        checker.problem("pdf", "bleed", f"expected a length such as '3mm' or '0.125in', found {pdf.bleed!r}")
    if pdf.crop_marks and not pdf.bleed:
        checker.problem(
            "pdf",
            "crop-marks",
            "crop marks are drawn in the bleed, but no bleed is set",
            'add bleed = "3mm" to [pdf], or set crop-marks = false',
        )
    if pdf.variant is not None and pdf.variant not in PDF_VARIANTS:
        checker.problem(
            "pdf", "variant", f"unknown PDF variant {pdf.variant!r}", "use one of " + ", ".join(PDF_VARIANTS)
        )
    if not 1 <= pdf.toc_depth <= 3:
        checker.problem("pdf", "toc-depth", f"expected 1, 2 or 3, found {pdf.toc_depth}")
    if not 1 <= epub.toc_depth <= 6:
        checker.problem("epub", "toc-depth", f"expected 1 to 6, found {epub.toc_depth}")
    if theme.name not in available_themes():
        checker.problem(
            "theme", "name", f"unknown theme {theme.name!r}", "built-in themes: " + ", ".join(available_themes())
        )


def project_file(checker_path: Path, name: str) -> Path | None:
    """The file ``name`` (relative to book.toml's folder) names, or None when it lies outside the project."""
    folder = checker_path.parent
    root = folder.parent if folder.name == "manuscript" else folder
    path = folder / name
    return None if Path(name).is_absolute() or not inside(path, root) else path


def _check_citation_files(checker: _Checker, book: BookSettings) -> None:
    """Bibliography files and a .csl file must lie in the project, exist and have a known suffix."""
    named = [("bibliography", name) for name in book.bibliography]
    if book.csl is not None and book.csl.lower().endswith(".csl"):
        named.append(("csl", book.csl))
    for key, name in named:
        path = project_file(checker.path, name)
        if path is None:
            checker.problem("book", key, f"{name!r} lies outside the book project")
        elif not path.is_file():
            checker.problem("book", key, f"{name!r} does not exist", "paths are relative to book.toml's folder")
        elif key == "bibliography" and path.suffix.lower() not in (".bib", ".bibtex", ".json", ".yaml", ".yml"):
            checker.problem(
                "book", key, f"{name!r}: unknown bibliography format", "use .bib (BibTeX), .json (CSL JSON) or .yaml"
            )


_PANDOC_KEYS = {
    "title": "title",
    "subtitle": "subtitle",
    "author": "author",
    "lang": "lang",
    "date": "date",
    "publisher": "publisher",
    "rights": "rights",
    "copyright": "rights",
    "description": "description",
    "abstract": "description",
    "keywords": "subject",
    "subject": "subject",
    "identifier": "identifier",
    "cover-image": "cover_image",
}
"""Pandoc's metadata keys (as in its EPUB writer) and the ``[book]`` setting each gives."""
_PANDOC_SWITCHES = {"lof": ("list_of_figures", "front"), "lot": ("list_of_tables", "front")}
"""Pandoc's switches (its LaTeX writer's ``lof: true``, ``lot: true``) and the ``[book]`` setting each turns on."""


def _metadata_file(checker: _Checker, book: BookSettings) -> BookSettings:
    """``book`` with what it leaves unset taken from its Pandoc metadata file (book.toml wins, as Pandoc lets
    the document's own metadata win over ``--metadata-file``); other keys Pandoc knows are ignored."""
    name = book.metadata_file or ""
    folder = checker.path.parent
    root = folder.parent if folder.name == "manuscript" else folder
    path = folder / name
    if Path(name).is_absolute() or not inside(path, root):
        checker.problem("book", "metadata-file", f"{name!r} lies outside the book project")
        return book
    try:
        data = yaml.safe_load(read_regular(path).decode("utf-8"))
    except OSError as exc:
        checker.problem("book", "metadata-file", f"cannot read {name!r}: {exc.strerror}")
        return book
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        checker.problems.append(ConfigError(f"not a YAML metadata file: {first}", file=path))
        return book
    if data is None:
        return book
    if not isinstance(data, dict):
        checker.problems.append(ConfigError("expected a mapping of metadata keys to values", file=path))
        return book
    given: dict[str, Any] = {}
    for key, value in data.items():
        switch = _PANDOC_SWITCHES.get(str(key))
        if switch is not None:
            if value is True and getattr(book, switch[0]) is None:
                given[switch[0]] = switch[1]
            continue
        setting = _PANDOC_KEYS.get(str(key))
        if setting is None or setting in given or getattr(book, setting) not in (None, ()):
            continue
        found = _pandoc_value(value, many=setting in ("author", "subject"))
        if setting == "date" and isinstance(found, str) and not _DATE_RE.match(found):
            continue  # "June 2024" is a fine date to print, but no date an EPUB can carry
        if found is None:
            checker.problems.append(
                ConfigError(f"expected text or a list of text, found {value!r}", file=path, key=str(key))
            )
            continue
        given[setting] = found
    return dataclasses.replace(book, **given)


def _pandoc_value(value: Any, many: bool) -> Any:
    """A Pandoc metadata value as a string (or a tuple of them, for ``many``): a name may be ``{name: …}``, an
    identifier ``[{text: …}]``, a date a YAML date."""
    if isinstance(value, dict):
        value = value.get("name") or value.get("text")
    if isinstance(value, dt.date):
        value = value.isoformat()[:10]
    if isinstance(value, list):
        items = [_pandoc_value(v, False) for v in value]
        if any(not isinstance(i, str) for i in items):
            return None
        return tuple(items) if many else (items[0] if items else None)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return (str(value),) if many else str(value)


def metadata_problem(key: str, value: str) -> tuple[str, str] | None:
    """(message, hint) when ``value`` cannot be the metadata ``key`` (title, author, ...) of a book: longer than
    :data:`~essaybook.limits.METADATA_LENGTHS` allows, or holding a character no XML document may carry (the
    EPUB's package document and every page's title carry it)."""
    limit = METADATA_LENGTHS.get(key)
    if limit is not None and len(value) > limit:
        return f"is {len(value):,} characters long; the limit is {limit:,}", "shorten it"
    bad = unwritable_character(value)
    if bad is not None:
        return f"holds {bad[1]} at character {bad[0] + 1}", "remove it; an e-book cannot carry it"
    return None
