"""Stylesheets parsed once per layout process and handed to every unit WeasyPrint lays out there.

WeasyPrint parses a document's ``<link>`` and ``<style>`` sheets again for every document, and registers
their ``@font-face`` fonts in a new font configuration each time: about 0.1 s per document, which for a
book laid out in a hundred units was a sixth of its layout time. The units' sheets are the same, so
units.py takes them out of each unit's HTML (in document order) and here they are parsed once, with one
font configuration, and given to WeasyPrint as stylesheet objects.

WeasyPrint takes stylesheet objects as the *user* origin, not the author's. Every sheet of the document
moves together, so their order among themselves is kept; what can differ is only where the cascade compares
origins: against ``style`` attributes (author origin) an ``!important`` theme rule now wins, and against
the user agent's sheet nothing changes (it has no ``!important`` rules).

A process keeps its sheets for one build (:func:`begin` and :func:`end`, called by the build that forks
the workers): the files a sheet loaded may change before the next build.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from essaybook.layout.units import Sheet, without_margin_boxes

if TYPE_CHECKING:
    from weasyprint import HTML
    from weasyprint.document import Document
    from weasyprint.text.fonts import FontConfiguration

    from essaybook.fetcher import RestrictedFetcher


@dataclass
class Parsed:
    """One stylesheet, parsed, with what parsing it read and said (added to every unit that uses it)."""

    css: Any
    """A ``weasyprint.CSS``, or None when WeasyPrint could not load it (it then leaves it out, as we do)."""
    counters: dict[str, Any]
    """The ``@counter-style`` rules it defines."""
    loaded: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


class _State:
    def __init__(self) -> None:
        self.folder: str | None = None
        self.fonts: FontConfiguration | None = None
        self.sheets: dict[tuple[Sheet, str, tuple[bool, bool]], Parsed] = {}


_STATE = _State()


def begin(folder: str) -> None:
    """A new build: forget the sheets of the last one; the fonts of this one go into ``folder`` (which the
    caller removes after :func:`end`), so that a worker killed with its build leaves nothing behind."""
    _STATE.folder, _STATE.fonts, _STATE.sheets = folder, None, {}


def end() -> None:
    """The build is over: let its sheets and fonts go."""
    _STATE.folder, _STATE.fonts, _STATE.sheets = None, None, {}


@contextlib.contextmanager
def _in_folder() -> Iterator[None]:
    # WeasyPrint copies each @font-face font into tempfile.mkdtemp() (weasyprint.text.fonts), which must
    # outlive the job that first parsed the sheet: the build's folder, not the job's.
    saved = tempfile.tempdir
    tempfile.tempdir = _STATE.folder
    try:
        yield
    finally:
        tempfile.tempdir = saved


def _font_config() -> FontConfiguration:
    from weasyprint.text.fonts import FontConfiguration

    if _STATE.fonts is None:
        with _in_folder():
            _STATE.fonts = FontConfiguration()
    return _STATE.fonts


@dataclass
class Styles:
    """The parsed sheets of one unit, in document order."""

    parsed: list[Parsed]
    fonts: FontConfiguration

    def render(self, page: HTML, extra: str, base_url: str, fetcher: RestrictedFetcher) -> Document:
        """``page`` laid out with these sheets and then ``extra`` CSS (rules of this document only)."""
        from weasyprint import CSS

        counters = _counter_styles(self.parsed)
        sheets = [p.css for p in self.parsed if p.css is not None]
        if extra:
            sheets.append(
                CSS(
                    string=extra,
                    base_url=base_url,
                    url_fetcher=fetcher,
                    media_type="print",
                    font_config=self.fonts,
                    counter_style=counters,
                )
            )
        return page.render(font_config=self.fonts, counter_style=counters, stylesheets=sheets)

    def report(self) -> Parsed:
        """What parsing the sheets read and said, in their order."""
        total = Parsed(None, {})
        for parsed in self.parsed:
            total.loaded += parsed.loaded
            total.refused += parsed.refused
            total.failed += parsed.failed
            total.messages += parsed.messages
        return total


def _counter_styles(parsed: list[Parsed]) -> Any:
    from weasyprint.css.counters import CounterStyle

    ours = {name: rule for p in parsed for name, rule in p.counters.items()}

    class Counters(CounterStyle):  # type: ignore[misc]
        # WeasyPrint adds its predefined counter styles to the one given to render() before it lays out,
        # after our sheets were parsed: a sheet's own "decimal" or "disc" must still win, as it does when
        # the sheet is parsed with the document.
        def __setitem__(self, key: str, value: Any) -> None:
            if key not in ours:
                super().__setitem__(key, value)

    counters = Counters()
    counters.update(ours)
    return counters


def styles_for(
    sheets: tuple[Sheet, ...], base_url: str, numbered: bool, bare: bool, fetcher_of: Any, collector_of: Any
) -> Styles:
    """The parsed ``sheets`` of a unit (each parsed on first use in this process); with ``bare``, without their
    margin boxes (units.without_margin_boxes: a chapter's pages, which the furniture's are drawn over).

    ``fetcher_of()`` makes the fetcher a sheet is loaded with (it records what it read, and takes the margin
    boxes out of the sheets it loads when ``bare``); ``collector_of()`` a context manager that yields the list
    WeasyPrint's messages go into.
    """
    fonts = _font_config()
    return Styles(
        [_parsed(sheet, base_url, (numbered, bare), fonts, fetcher_of, collector_of) for sheet in sheets], fonts
    )


def _parsed(
    sheet: Sheet,
    base_url: str,
    variant: tuple[bool, bool],
    fonts: FontConfiguration,
    fetcher_of: Any,
    collector_of: Any,
) -> Parsed:
    key = (sheet, base_url, variant)
    found = _STATE.sheets.get(key)
    if found is not None:
        return found
    from weasyprint import CSS
    from weasyprint.css.counters import CounterStyle
    from weasyprint.html import parse_url
    from weasyprint.logger import LOGGER
    from weasyprint.urls import URLFetchingError

    fetcher = fetcher_of()
    counters = CounterStyle()
    css = None
    kind, value = sheet
    with _in_folder(), collector_of() as messages:
        options: dict[str, Any] = dict(
            url_fetcher=fetcher, media_type="print", font_config=fonts, counter_style=counters
        )
        if kind == "style":
            css = CSS(string=without_margin_boxes(value) if variant[1] else value, base_url=base_url, **options)
        else:
            href = parse_url(value, base_url)
            if href is not None:
                # As weasyprint.css.find_stylesheets does for a <link> it cannot load.
                try:
                    css = CSS(url=href, _check_mime_type=True, **options)
                except URLFetchingError as exception:
                    LOGGER.error("Failed to load stylesheet at %s: %s", href, exception)
    parsed = Parsed(
        css,
        dict(counters),
        loaded=list(fetcher.loaded),
        refused=list(fetcher.refused),
        failed=list(fetcher.failed),
        messages=list(messages),
    )
    _STATE.sheets[key] = parsed
    return parsed
