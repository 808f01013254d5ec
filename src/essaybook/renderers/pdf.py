"""Stage 4a: print HTML -> PDF with WeasyPrint (fonts from the theme, files only from the project)."""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree

from essaybook import log, mathtex
from essaybook.config import Config
from essaybook.errors import EssaybookError, RenderError
from essaybook.limits import LAYOUT_SECONDS_ENV, LayoutTimeout, deadline

if TYPE_CHECKING:  # WeasyPrint is imported where a page is laid out: a build served from the cache skips it
    from weasyprint.document import Document

    from essaybook.fetcher import RestrictedFetcher
    from essaybook.layout.styles import Styles
from essaybook.model import Meta
from essaybook.renderers import atomic_output
from essaybook.renderers.results import PdfResult


class MessageCollector(logging.Handler):
    """Keeps WeasyPrint's warnings (attached to its logger) for :func:`report_layout`."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _anchor_pages(rendered: Document) -> dict[str, int]:
    """Anchor id -> index of the first page it is on, in document order."""
    pages: dict[str, int] = {}
    for index, page in enumerate(rendered.pages):
        for anchor in page.anchors:
            pages.setdefault(anchor, index)
    return pages


def displaced_notes(rendered: Document) -> list[str]:
    """Ids of footnotes whose body is not on the page of their call (marked ``<id>-call`` in compose)."""
    pages = _anchor_pages(rendered)
    return [
        anchor.removesuffix("-call")
        for anchor, index in pages.items()
        if anchor.endswith("-call") and pages.get(anchor.removesuffix("-call"), index) != index
    ]


def _css_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def layout_with_notes(
    document: str,
    base_url: str,
    fetcher: RestrictedFetcher,
    stops: frozenset[str],
    passes: int = 5,
    styles: Styles | None = None,
    blocks: Sequence[str] = (),
) -> tuple[Document, list[str]]:
    """Lay out, then re-lay out while footnotes land a page after their call.

    ``blocks``: the ids of the chapter blocks in order; when given, a figure that left a page foot empty is
    moved below the text that fills it and the document laid out again (up to three times: layout/filling.py).

    ``styles``: the document's stylesheets, taken out of it and parsed already (layout/styles.py); the
    rules added for displaced notes then come after them as one more sheet of the same origin.

    WeasyPrint drops a footnote to the next page when widow/orphan rules make it push lines back
    (Kozea/WeasyPrint#2432, #1924). Each displaced note climbs a ladder, one step per pass: relax widows
    and orphans from the citing paragraph to the next heading on a later page (one of ``stops``), then to
    the end of its chapter, and last start the citing paragraph (with the heading just before it) on a
    new page.
    """
    from weasyprint.text.fonts import FontConfiguration

    from essaybook.layout.filling import defer_figures
    from essaybook.layout.parse import weasyprint_html

    level: dict[str, int] = {}
    html = document
    extra: list[str] = []
    fill_passes = 3 if blocks else 0  # a moved figure may still leave space: it moves on, at most three times
    while True:
        page = weasyprint_html(html, base_url, fetcher)
        if styles is None:
            rendered = page.render(font_config=FontConfiguration())
        else:
            rendered = styles.render(page, "\n".join(extra), base_url, fetcher)
        if fill_passes:
            fill_passes -= 1
            deferred = defer_figures(document, rendered, blocks, stops)
            if deferred != document:
                document = html = deferred
                del rendered
                continue
            fill_passes = 0
        displaced = displaced_notes(rendered)
        passes -= 1
        if not displaced or passes == 0:
            return rendered, displaced
        for note_id in displaced:
            level[note_id] = min(level.get(note_id, 0) + 1, 3)
        pages = _anchor_pages(rendered)
        order = {anchor: i for i, anchor in enumerate(pages)}
        rules = []
        # Same specificity for every rule, in document order: a later note's relaxation wins over an
        # earlier note's stop, and each stop wins over its own relaxation.
        for note_id in sorted(level, key=lambda n: order.get(f"{n}-call", 0)):
            base = f"[data-notes~={_css_string(note_id)}]"
            rules.append(f"{base}, {base} *, {base} ~ *, {base} ~ * * {{ orphans: 1; widows: 1; }}")
            if level[note_id] == 1:
                call_page = pages.get(f"{note_id}-call", 0)
                stop = next((a for a, i in pages.items() if i > call_page and a in stops), None)
                if stop is not None:
                    head = f"[id={_css_string(stop)}]"
                    rules.append(f"{head}, {head} ~ *, {head} ~ * * {{ orphans: 2; widows: 2; }}")
            if level[note_id] == 3:
                rules.append(
                    f"[data-notes-next~={_css_string(note_id)}], {base}:not([data-after-heading]) "
                    "{ break-before: page; }"
                )
        # Let the pages of this pass go before the next one is laid out: a long book's layout is over 1 GB.
        del rendered, pages, order
        if styles is None:
            html = document.replace("</head>", "<style>\n" + "\n".join(rules) + "\n</style>\n</head>", 1)
        else:
            extra = rules


def page_labels(rendered: Document, body_start: str | None, cover: bool = False) -> list[tuple[int, str]]:
    """PDF page-label ranges matching the printed folios: "Cover" and its blank "Inside cover", then roman
    numerals until ``body_start`` (when there is front matter), then arabic numerals from 1."""
    first_body = None
    if body_start is not None:
        first_body = next((i for i, page in enumerate(rendered.pages) if body_start in page.anchors), None)
    return label_ranges(first_body, cover)


def label_ranges(first_body: int | None, cover: bool = False) -> list[tuple[int, str]]:
    """Page-label ranges when the body opens on page index ``first_body`` (None: no front matter)."""
    ranges: list[tuple[int, str]] = [(0, "Cover"), (1, "Inside cover")] if cover else []
    first = 2 if cover else 0
    body = first_body if first_body is not None else first
    if body > first:
        ranges.append((first, "/r"))
    ranges.append((body, "/D"))
    return ranges


def roman(number: int) -> str:
    """``number`` in lower-case roman numerals."""
    result = ""
    for value, digits in (
        (1000, "m"),
        (900, "cm"),
        (500, "d"),
        (400, "cd"),
        (100, "c"),
        (90, "xc"),
        (50, "l"),
        (40, "xl"),
        (10, "x"),
        (9, "ix"),
        (5, "v"),
        (4, "iv"),
        (1, "i"),
    ):
        while number >= value:
            result += digits
            number -= value
    return result


def label_list(ranges: list[tuple[int, str]], count: int) -> list[str]:
    """The label of every page, from page-label ranges."""
    labels = []
    for index in range(count):
        start, style = max((r for r in ranges if r[0] <= index), key=lambda r: r[0])
        number = index - start + 1
        labels.append(roman(number) if style == "/r" else str(number) if style == "/D" else style)
    return labels


def page_starts(rendered: Document, blocks: list[str], labels: list[str]) -> list[tuple[str, str]]:
    """For each page from the first one holding chapter text: its label and the block at its top.

    A block split across pages is anchored on each of them; the one drawn highest on a page holds the
    page's first line, so a page that opens mid-paragraph maps to the start of that paragraph. Pages with
    no chapter text (the printed contents, a title page) have no place in the EPUB and are left out.
    """
    order = {anchor: i for i, anchor in enumerate(blocks)}
    tops: list[tuple[str | None, bool]] = []
    for page in rendered.pages:
        on_page = [(box[1], order[anchor]) for anchor, box in page.anchors.items() if anchor in order]
        tops.append((blocks[min(on_page)[1]] if on_page else None, bool(page.anchors)))
    return starts_of(tops, labels)


def starts_of(tops: list[tuple[str | None, bool]], labels: list[str]) -> list[tuple[str, str]]:
    """:func:`page_starts` from each page's (block at its top or None, whether anything with an id is on it)."""
    result: list[tuple[str, str]] = []
    pending: list[str] = []
    for index, (top, marked) in enumerate(tops):
        if top is None:
            if marked:  # the printed contents or another page the EPUB has no text for
                pending = []
            elif result:
                pending.append(labels[index])  # a blank verso or a page of notes: marked at the next block
            continue
        result.extend((label, top) for label in [*pending, labels[index]])
        pending = []
    return result


@dataclass
class Layout:
    """A laid-out book: WeasyPrint's pages, their labels and where each printed page begins."""

    rendered: Document
    labels: list[tuple[int, str]]
    page_starts: list[tuple[str, str]]
    """(printed page label, anchor of the block at the top of that page), for pages with chapter text."""


def lay_out(
    document: str,
    fetcher: RestrictedFetcher,
    base: Path,
    body_start: str | None = None,
    heading_ids: frozenset[str] = frozenset(),
    blocks: list[str] | None = None,
    cover: bool = False,
    uses: dict[str, str] | None = None,
    sources: Mapping[str, str] | None = None,
    stylesheets: Sequence[str] = (),
    seconds: float = 0,
) -> Layout:
    """Lay out the print HTML (files resolved against ``base`` through ``fetcher``).

    ``body_start`` is the id of the element that opens the body (page 1); pages before it are labelled in
    roman numerals, as their folios are printed. ``heading_ids`` bound the paragraphs whose widow and orphan
    rules may be relaxed to keep a footnote on the page of its call. ``blocks`` are the anchors of the
    chapter blocks in document order (see :func:`page_starts`). ``cover``: the first page is the cover.
    ``uses`` maps image hrefs to where the manuscript uses them, for messages.

    A failure of WeasyPrint, or a layout longer than ``seconds`` (0: no limit), is a :class:`RenderError`
    naming the chapter being laid out (``sources``: chapter id -> file) and the project's ``stylesheets``.
    """
    sources = sources or {}
    collect = MessageCollector()
    weasy_log = logging.getLogger("weasyprint")
    weasy_log.addHandler(collect)
    try:
        with deadline(seconds):
            rendered, displaced = layout_with_notes(
                document, base.resolve().as_uri() + "/", fetcher, heading_ids, blocks=blocks or ()
            )
    except (Exception, LayoutTimeout) as exc:
        if isinstance(exc, EssaybookError):
            raise
        source = next((sources[i] for i in _ids_being_laid_out(exc) if i in sources), None)
        if source is None and len(set(sources.values())) == 1:  # an essay: its one chapter
            source = next(iter(sources.values()))
        raise layout_failure(exc, source or "the book", source, stylesheets) from exc
    finally:
        weasy_log.removeHandler(collect)
    report_layout(displaced, fetcher.refused, fetcher.failed, collect.messages, uses or {}, fetcher.assets)
    labels = page_labels(rendered, body_start, cover)
    starts = page_starts(rendered, blocks or [], label_list(labels, len(rendered.pages)))
    return Layout(rendered=rendered, labels=labels, page_starts=starts)


def layout_failure(exc: BaseException, what: str, file: str | None, stylesheets: Sequence[str]) -> RenderError:
    """WeasyPrint's failure (or :class:`LayoutTimeout`) while laying out ``what`` as the user's problem it most
    often is: a rule in the project's ``stylesheets`` or raw HTML in the chapter ``file``."""
    what = "this chapter" if file is not None else what  # the message begins with its file
    if isinstance(exc, LayoutTimeout):
        return RenderError(
            f"laying out {what} took longer than the limit of {exc.seconds:g} s",
            file=file,
            hint="look for what makes it slow there, such as a huge table, a very long word or floats in the CSS; "
            f"on a slow machine, set {LAYOUT_SECONDS_ENV} to more seconds",
        )
    if isinstance(exc, RecursionError):
        return RenderError(
            f"{what} nests elements too deeply to lay out (raw HTML inside raw HTML, hundreds of levels)",
            file=file,
            hint="flatten the structure; run with --debug to see where",
        )
    styles = f"the project's stylesheets {', '.join(stylesheets)}" if stylesheets else "the theme's stylesheets only"
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return RenderError(
        f"WeasyPrint failed while laying out {what} with {styles}: {detail}{_raised_at(exc)}",
        file=file,
        hint="the likely cause is a rule in those stylesheets, such as a float or ::first-letter, or raw HTML in the "
        "chapter: take rules out until it lays out, and run with --debug for the traceback",
    )


def _raised_at(exc: BaseException) -> str:
    """' (raised at weasyprint/layout/float.py:78)': the innermost WeasyPrint frame, for a bug report."""
    where = ""
    traceback = exc.__traceback__
    while traceback is not None:
        name = traceback.tb_frame.f_code.co_filename.replace("\\", "/")
        if "/weasyprint/" in name:
            where = f"weasyprint/{name.rsplit('/weasyprint/', 1)[1]}:{traceback.tb_lineno}"
        traceback = traceback.tb_next
    remote = getattr(exc.__cause__, "tb", None)  # concurrent.futures: the worker's traceback, as text only
    if not where and isinstance(remote, str):
        found = re.findall(r'File "[^"]*/(weasyprint/[^"]+)", line (\d+)', remote.replace("\\", "/"))
        if found:
            where = f"{found[-1][0]}:{found[-1][1]}"
    return f" (raised at {where})" if where else ""


def _ids_being_laid_out(exc: BaseException) -> list[str]:
    """Ids of the elements WeasyPrint was laying out (their boxes) or building boxes for when ``exc`` was
    raised, outermost first; none when it was somewhere else (parsing, the cascade: the whole document)."""
    ids: list[str] = []
    traceback = exc.__traceback__
    while traceback is not None:
        scope = traceback.tb_frame.f_locals
        for element in (getattr(scope.get("box"), "element", None), scope.get("element")):
            identifier = element.get("id") if element is not None and hasattr(element, "get") else None
            if isinstance(identifier, str) and identifier not in ids:
                ids.append(identifier)
        traceback = traceback.tb_next
    return ids


def report_layout(
    displaced: list[str],
    refused: list[str],
    unreadable: list[str],
    messages: list[str],
    uses: dict[str, str],
    assets: dict[str, Path] | None = None,
) -> None:
    """Warn about what the layout could not do; raise when a file inside the project could not be read.

    ``displaced``: footnotes printed a page after their call; ``refused``: URLs outside the project;
    ``unreadable``: project files that could not be read; ``messages``: WeasyPrint's own warnings.
    """
    for note_id in displaced:
        log.warn(
            f"PDF: footnote '{note_id}' is printed on the page after its reference "
            "(WeasyPrint could not fit it with the widow and orphan rules)",
            kind="pdf-footnote-displaced",
        )
    for url in dict.fromkeys(refused):
        log.warn(f"PDF: refused to load {url}: it lies outside the book project", kind="pdf-refused-url")
    failed = []
    for message in messages:
        is_refused = any(url in message for url in refused) or ("cannot be loaded" in message and refused)
        if ("ailed to load" in message or "cannot be loaded" in message) and not is_refused:
            failed.append(message)
        else:
            log.LOGGER.debug("WeasyPrint: %s", message)
    if unreadable or failed:
        # A font, image or stylesheet inside the project that cannot be read: never fall back silently.
        raise RenderError(
            _load_failure(unreadable, failed, uses, assets or {}), hint="fix the file or remove the reference"
        )


def xmp_extra(lang: str, subjects: tuple[str, ...]) -> etree._Element:
    """An rdf:Description with what WeasyPrint's XMP leaves out: language and subjects as Dublin Core bags."""
    rdf, dc = "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "http://purl.org/dc/elements/1.1/"
    description = etree.Element(f"{{{rdf}}}Description", {f"{{{rdf}}}about": ""}, nsmap={"rdf": rdf, "dc": dc})
    for name, values in (("language", [lang]), ("subject", list(subjects))):
        if values:
            bag = etree.SubElement(etree.SubElement(description, f"{{{dc}}}{name}"), f"{{{rdf}}}Bag")
            for value in values:
                etree.SubElement(bag, f"{{{rdf}}}li").text = value
    return description


def _load_failure(unreadable: list[str], failed: list[str], uses: dict[str, str], assets: dict[str, Path]) -> str:
    """One message for files WeasyPrint could not read: the image as the manuscript names it, where it is used."""
    if unreadable:
        what, count = f"cannot load {unreadable[0]}", len(unreadable)
    else:
        first = failed[0].split("\n")[0]
        found = re.search(r"'(?:essaybook:)?([^']+)'", first)
        href = found.group(1) if found else ""
        source = assets.get(href)
        reason = first.split("':", 1)[1].strip() if "':" in first else ""
        if source is not None:
            place = f"{uses[href]}: " if href in uses else ""
            what = f"{place}image '{source.name}' cannot be drawn: {reason or 'WeasyPrint could not read it'}"
        else:
            what = first
        count = len(failed)
    return what + (f" (and {count - 1} more)" if count > 1 else "")


def add_xmp_language(rendered: Document, lang: str, subjects: tuple[str, ...]) -> None:
    """Make ``rendered``'s XMP carry the language and subjects (WeasyPrint's has no dc:language, dc:subject)."""
    metadata = rendered.metadata
    generate = metadata.generate_rdf_metadata

    def generate_with_language(variant: str, version: int | None, conformance: str | None) -> bytes:
        rdf = etree.fromstring(generate(variant, version, conformance))
        rdf.append(xmp_extra(lang, subjects))
        return bytes(etree.tostring(rdf, encoding="utf-8"))

    metadata.generate_rdf_metadata = generate_with_language


def metadata_finisher(xmp: bool, labels: list[tuple[int, str]] | None = None) -> Callable[[Document, Any], None]:
    """A WeasyPrint ``finisher`` that writes the XMP (``xmp``: WeasyPrint writes it only for PDF/A and PDF/UA)
    and the page labels (see :func:`label_ranges`; WeasyPrint writes none); equations are tagged as formulas
    (see :func:`mathtex.formula_tags`); a right-to-left document's spreads read from the right."""

    def finisher(document: Document, pdf: Any) -> None:
        import pydyf

        mathtex.formula_tags(document.pages, pdf.objects)
        if document.pages and document.pages[0]._page_box.style["direction"] == "rtl":
            # A right-to-left book: viewers show its spreads with the first page on the right (ISO 32000 12.2,
            # /Direction). The page context inherits the root's direction; WeasyPrint writes no /Direction.
            preferences = pdf.catalog.get("ViewerPreferences") or pydyf.Dictionary()
            preferences["Direction"] = "/R2L"
            pdf.catalog["ViewerPreferences"] = preferences

        if xmp:
            # Archives and catalogues read the XMP of every PDF.
            document.metadata.include_in_pdf(pdf, "", None, None, compress=True)
        if labels is not None:
            # Without /PageLabels a viewer's page box disagrees with the folios.
            nums = pydyf.Array()
            for start, style in labels:
                label = {"S": style} if style.startswith("/") else {"P": pydyf.String(style)}
                nums.extend([start, pydyf.Dictionary(label)])
            pdf.catalog["PageLabels"] = pydyf.Dictionary({"Nums": nums})

    return finisher


def pdf_options(meta: Meta, config: Config) -> dict[str, Any]:
    """WeasyPrint's write_pdf options for the book's settings."""
    options: dict[str, Any] = {
        # A stable file identifier keeps the PDF byte-identical across runs (WeasyPrint hashes the time).
        "pdf_identifier": hashlib.md5(meta.identifier.encode()).hexdigest().encode(),
        "pdf_tags": config.pdf.tagged,
    }
    if config.pdf.variant:
        options["pdf_variant"] = config.pdf.variant
    return options


def _trim_spine_bleed(path: Path, first_side: str) -> None:
    """production.trim_spine_bleed on the PDF file at ``path``, in place."""
    import pikepdf

    from essaybook.production import trim_spine_bleed

    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        trim_spine_bleed(pdf, first_side)
        pdf.save(path, deterministic_id=True, min_version=pdf.pdf_version)


def write_pdf(layout: Layout, meta: Meta, config: Config, target: Path) -> PdfResult:
    """Write the laid-out book to ``target`` atomically, with page labels and a stable identifier."""

    add_xmp_language(layout.rendered, meta.lang, meta.subjects)
    finisher = metadata_finisher(xmp=not config.pdf.variant, labels=layout.labels)
    options = pdf_options(meta, config)
    try:
        with atomic_output(target) as temp:
            layout.rendered.write_pdf(str(temp), finisher=finisher, **options)
            if config.pdf.bleed and not config.pdf.bleed_at_spine:
                _trim_spine_bleed(temp, "left" if meta.direction == "rtl" else "right")
    except OSError as exc:
        raise RenderError(f"cannot write the PDF: {exc.strerror or exc}", file=target) from None
    finally:
        # WeasyPrint removes its copies of the @font-face fonts only when the FontConfiguration is collected,
        # which the end of the process does not wait for (see layout/worker.py).
        folder = getattr(getattr(layout.rendered, "font_config", None), "_folder", None)
        if folder is not None and Path(folder).name.startswith("weasyprint-"):
            shutil.rmtree(folder, ignore_errors=True)
    return PdfResult(path=target, pages=len(layout.rendered.pages))
