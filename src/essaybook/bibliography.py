"""Stage 1 (bibliography): ``[book] bibliography`` files (BibTeX/BibLaTeX, CSL JSON, CSL YAML) -> CSL JSON items.

BibTeX is split into entries by citeproc-py's parser, but its fields are mapped to CSL variables here: citeproc-py
0.11's own mapping reads ``@incollection`` as a journal article (losing "In", the editors and the publisher),
knows no BibLaTeX field (``date``, ``journaltitle``, ``location``, ``url``) and joins ``{LaTeX}: A`` as
``LaTeX : A``. The mapping follows Pandoc's (``Citeproc/BibTeX.hs``) for the common entry types and fields.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from essaybook.errors import ManuscriptError
from essaybook.paths import read_text

Item = dict[str, Any]
"""One CSL JSON item; its ``id`` is the citation key."""

_TYPES = {
    "article": "article-journal",
    "book": "book",
    "mvbook": "book",
    "collection": "book",
    "mvcollection": "book",
    "proceedings": "book",
    "mvproceedings": "book",
    "manual": "book",
    "booklet": "pamphlet",
    "inbook": "chapter",
    "bookinbook": "chapter",
    "incollection": "chapter",
    "suppbook": "chapter",
    "inproceedings": "paper-conference",
    "conference": "paper-conference",
    "thesis": "thesis",
    "phdthesis": "thesis",
    "mastersthesis": "thesis",
    "report": "report",
    "techreport": "report",
    "online": "webpage",
    "electronic": "webpage",
    "www": "webpage",
    "unpublished": "manuscript",
    "patent": "patent",
    "periodical": "periodical",
    "misc": "article",
}
"""BibTeX and BibLaTeX entry types -> CSL types; any other is ``article`` (CSL's generic type)."""

_FIELDS = {
    "title": "title",
    "shorttitle": "title-short",
    "journal": "container-title",
    "journaltitle": "container-title",
    "booktitle": "container-title",
    "maintitle": "container-title",
    "shortjournal": "container-title-short",
    "series": "collection-title",
    "volume": "volume",
    "edition": "edition",
    "publisher": "publisher",
    "address": "publisher-place",
    "location": "publisher-place",
    "doi": "DOI",
    "url": "URL",
    "isbn": "ISBN",
    "issn": "ISSN",
    "note": "note",
    "chapter": "chapter-number",
    "type": "genre",
    "version": "version",
    "eventtitle": "event",
    "venue": "event-place",
}
_PUBLISHER_LIKE = ("institution", "school", "organization")
_NAMES = {"author": "author", "editor": "editor", "translator": "translator"}
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DATE_RE = re.compile(r"^\s*(-?\d{1,4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
_THESIS_GENRES = {"phdthesis": "PhD dissertation", "mastersthesis": "Master\u2019s thesis"}
SUFFIXES = (".bib", ".bibtex", ".json", ".yaml", ".yml")


def load(path: Path, display: str) -> list[Item]:
    """The CSL JSON items of one bibliography file, by its suffix; :class:`ManuscriptError` (naming ``display``
    and the line where it can) when the file cannot be read or does not parse."""
    text = read_text(path, ManuscriptError, display, "the bibliography")
    suffix = path.suffix.lower()
    if suffix in (".bib", ".bibtex"):
        return from_bibtex(text, display)
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ManuscriptError(f"not CSL JSON: {exc.msg}", file=display, line=exc.lineno) from None
        return _checked(data, display, "CSL JSON")
    try:
        docs = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ManuscriptError(
            f"not CSL YAML: {first}", file=display, line=mark.line + 1 if mark is not None else None
        ) from None
    # Pandoc's CSL YAML is a metadata block with a ``references`` list; a bare list is read too.
    found: Any = docs[0] if len(docs) == 1 else docs
    if isinstance(found, dict):
        found = found.get("references")
    return _checked(found, display, "CSL YAML")


def _checked(data: Any, display: str, what: str) -> list[Item]:
    if not isinstance(data, list) or not all(isinstance(item, dict) and "id" in item for item in data):
        raise ManuscriptError(f"not {what}: expected a list of items, each with an id", file=display)
    items = []
    for item in data:
        item = {str(key): _plain(value) for key, value in item.items()}
        item["id"] = str(item["id"])
        item.setdefault("type", "article")
        for key, value in list(item.items()):
            if key in _DATE_VARIABLES:
                item[key] = _csl_date(value)
            elif key in _NAME_VARIABLES:
                names = value if isinstance(value, list) else [value]
                item[key] = [n if isinstance(n, dict) else {"literal": str(n)} for n in names]
            elif key not in ("id", "type") and not isinstance(value, (str, int, float)):
                del item[key]  # a structure where CSL has text (custom fields Zotero or Pandoc add): not used
        items.append(item)
    return items


_DATE_VARIABLES = frozenset({"issued", "accessed", "event-date", "original-date", "submitted", "available-date"})
_NAME_VARIABLES = frozenset(
    {
        "author",
        "editor",
        "translator",
        "container-author",
        "collection-editor",
        "director",
        "illustrator",
        "interviewer",
        "recipient",
        "reviewed-author",
        "composer",
        "original-author",
        "editorial-director",
    }
)


def _csl_date(value: Any) -> dict[str, Any]:
    """A date as CSL JSON writes it; Pandoc's CSL YAML also has ``issued: 1959`` and ``issued: 2020-05-01``."""
    if isinstance(value, dict):
        if "date-parts" in value or "literal" in value:
            return value
        if "raw" in value:
            return _csl_date(value["raw"])
        return {"literal": json.dumps(value)}
    if isinstance(value, list):  # Pandoc's YAML: a list of {year, month, day}
        parts = [
            [int(d[k]) for k in ("year", "month", "day") if isinstance(d, dict) and str(d.get(k, "")).isdigit()]
            for d in value
        ]
        return {"date-parts": [p for p in parts if p]} if any(parts) else {"literal": str(value)}
    found = _date(str(value), None, None)
    return found if found is not None else {"literal": str(value)}


def _plain(value: Any) -> Any:
    """YAML's dates and numbers as CSL JSON has them (``issued: 2020-05-01`` is read by YAML as a date)."""
    if hasattr(value, "isoformat"):
        parts = [int(p) for p in value.isoformat()[:10].split("-")]
        return {"date-parts": [parts]}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def from_bibtex(text: str, display: str) -> list[Item]:
    """The entries of a BibTeX or BibLaTeX database as CSL JSON items, their keys as written (case-sensitive, as
    in Pandoc)."""
    from citeproc.source.bibtex.bibparse import BibTeXParser

    class Parser(BibTeXParser):  # type: ignore[misc]
        # citeproc-py 0.11 lower-cases every key, so that [@Knuth1984] found no "Knuth1984" (Pandoc's keys keep
        # their case): the key is read again, as it is written.
        def _parse_key(self, file: Any) -> str:
            key = ""
            char = file.read(1)
            while char != ",":
                key += char
                char = file.read(1)
                if not char:
                    raise ValueError("End of file while parsing key")
            return key.strip()

    stream = io.StringIO(text)
    try:
        database = Parser(stream)
    except Exception as exc:  # citeproc-py's parser raises what the bad input trips (ValueError, EOFError, ...)
        line = text[: stream.tell()].count("\n") + 1 if not stream.closed else None
        reason = str(exc) or "unexpected end of file"
        raise ManuscriptError(f"not a BibTeX file: {reason}", file=display, line=line) from None
    latex = _latex_reader(database.preamble)
    return [_entry(key, entry.document_type.lower(), dict(entry), latex) for key, entry in database.items()]


def _latex_reader(preamble: str) -> Callable[[str], str]:
    from citeproc.source.bibtex.latex import parse_latex
    from citeproc.source.bibtex.latex.macro import Macro, NewCommand

    macros: dict[str, Any] = {}
    try:
        parse_latex(preamble, {"newcommand": NewCommand(macros), "mbox": Macro(1, "{0}")})
    except Exception:  # a preamble citeproc-py cannot read defines nothing
        macros = {}

    def read(value: str) -> str:
        try:
            text = str(parse_latex(value, macros))
        except Exception:  # LaTeX it cannot read is kept as written, less its braces
            text = value.replace("{", "").replace("}", "")
        return " ".join(text.replace("~", "\u00a0").split())

    return read


def _entry(key: str, kind: str, fields: dict[str, Any], latex: Callable[[str], str]) -> Item:
    item: Item = {"id": key, "type": _TYPES.get(kind, "article")}
    fields = {name.lower(): str(value) for name, value in fields.items()}
    for name, value in fields.items():
        if name in _FIELDS:
            item[_FIELDS[name]] = latex(value)
        elif name in _NAMES:
            item[_NAMES[name]] = _names(value, latex)
    if "subtitle" in fields and "title" in item:
        item["title"] = f"{item['title']}: {latex(fields['subtitle'])}"
    if "pages" in fields:
        item["page"] = re.sub(r"\s*-+\s*", "\u2013", latex(fields["pages"]))
    if "number" in fields:
        item["issue" if item["type"] == "article-journal" else "number"] = latex(fields["number"])
    if "publisher" not in item:
        for name in _PUBLISHER_LIKE:
            if name in fields:
                item["publisher"] = latex(fields[name])
                break
    if kind in _THESIS_GENRES and "genre" not in item:
        item["genre"] = _THESIS_GENRES[kind]
    issued = _date(fields.get("date"), fields.get("year"), fields.get("month"))
    if issued is not None:
        item["issued"] = issued
    accessed = _date(fields.get("urldate"), None, None)
    if accessed is not None:
        item["accessed"] = accessed
    return item


def _names(value: str, latex: Callable[[str], str]) -> list[dict[str, str]]:
    from citeproc.source.bibtex.bibtex import parse_name, split_names

    names = []
    for written in split_names(value):
        written = written.strip()
        if written.startswith("{") and written.endswith("}") and written.count("{") == 1:
            names.append({"literal": latex(written)})  # {Barnes and Noble}: an organisation, never split
            continue
        first, von, last, jr = parse_name(written)
        name = {}
        for part, csl in ((first, "given"), (von, "non-dropping-particle"), (last, "family"), (jr, "suffix")):
            if part:
                name[csl] = latex(part)
        if name:
            names.append(name)
    return names


def _date(date: str | None, year: str | None, month: str | None) -> dict[str, Any] | None:
    if date:
        ends = [_DATE_RE.match(part) for part in date.split("/")]
        parts = [[int(g) for g in end.groups() if g] for end in ends if end]
        return {"date-parts": parts} if parts else {"literal": date}
    if not year:
        return None
    found = re.search(r"-?\d{1,4}", year)
    if not found:
        return {"literal": year}
    year_parts = [int(found.group())]
    if month:
        word = month.strip().lower()
        number = _MONTHS.index(word[:3]) + 1 if word[:3] in _MONTHS else int(word) if word.isdigit() else 0
        if 1 <= number <= 12:
            year_parts.append(number)
    return {"date-parts": [year_parts]}
