"""Stage 4b: EPUB XHTML documents -> EPUB 3 with ebooklib, then repacked deterministically."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import zipfile
from collections.abc import Iterator
from pathlib import Path

from ebooklib import epub
from lxml import etree

from essaybook import __version__
from essaybook.compose import ComposedEpub, TocEntry
from essaybook.errors import RenderError
from essaybook.model import FONT_TYPES, Asset, Meta
from essaybook.paths import read_regular
from essaybook.renderers import atomic_output
from essaybook.renderers.results import EpubResult
from essaybook.stylesheets import MEDIA_TYPES, EpubStyles
from essaybook.svg import BadSvg, clean_svg


class _VerbatimItem(epub.EpubItem):  # type: ignore[misc]
    """An XHTML document written exactly as composed.

    ebooklib's EpubHtml re-parses content and rebuilds <head> and <body>, dropping body attributes such as
    epub:type and the stylesheet links of our templates (ebooklib issues #76, #221, #313), so we bypass it.
    """

    def __init__(self, uid: str, file_name: str, content: bytes, properties: tuple[str, ...] = ()) -> None:
        super().__init__(uid=uid, file_name=file_name, media_type="application/xhtml+xml", content=content)
        self.properties = list(properties)


def _uid(name: str) -> str:
    """A manifest id for the file ``name``: ASCII only, because EPUBCheck validates OPF and NCX ids with the
    XML 1.0 (4th edition) name rules, which refuse letters of newer scripts that XHTML ids may hold."""
    stem = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in name.rsplit(".", 1)[0])
    if not name.isascii():
        stem += "-" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    return "x-" + stem


def render_epub(
    composed: ComposedEpub,
    styles: EpubStyles,
    assets: list[Asset],
    fonts: list[Path],
    meta: Meta,
    target: Path,
    cover: tuple[str, str, bytes],
    images: int = 0,
    images_without_alt: int = 0,
    page_list: bool = False,
) -> EpubResult:
    """Package the EPUB and write it to ``target`` atomically.

    The manifest lists ``composed.documents`` in order, the spine follows ``composed.spine`` and the NCX
    ``composed.toc``, so the reading order and the contents are those the preview shows. ``cover`` is
    (href, media type, bytes) of the cover image. ``images`` and ``images_without_alt`` decide the
    accessibility claims (access modes, conformance).
    """
    book = epub.EpubBook()
    book.set_identifier(meta.identifier)
    book.set_title(meta.title)
    book.set_language(meta.lang)
    if meta.direction == "rtl":
        book.set_direction("rtl")
    # One add_author() per author with distinct ids: ebooklib 0.20 gives every creator id="creator" (#366).
    for i, author in enumerate(meta.authors, 1):
        book.add_author(author, uid=f"creator{i}")
    if meta.subtitle:
        book.add_metadata("DC", "title", meta.subtitle, {"id": "subtitle"})
        book.add_metadata(None, "meta", "subtitle", {"refines": "#subtitle", "property": "title-type"})
    for name, value in (
        ("publisher", meta.publisher),
        ("rights", meta.rights),
        ("description", meta.description),
        ("date", meta.date),
    ):
        if value:
            book.add_metadata("DC", name, value)
    for subject in meta.subjects:
        book.add_metadata("DC", "subject", subject)
    if page_list:
        # The print edition made from the same manuscript in the same run is the source of the page breaks.
        book.add_metadata(None, "meta", meta.identifier, {"property": "pageBreakSource"})
    for prop, value in accessibility_metadata(meta, images, images_without_alt, page_list):
        book.add_metadata(None, "meta", value, {"property": prop})
    book.add_metadata(None, "meta", "", {"name": "generator", "content": f"essaybook {__version__}"})
    # ebooklib adds its own generator meta in EpubBook.reset(); ours replaces it.
    book.metadata[epub.NAMESPACES["OPF"]]["generator"] = []

    for name, content in styles.sheets:
        book.add_item(epub.EpubItem(uid=_uid(name), file_name=name, media_type="text/css", content=content))
    for name, source in styles.files:
        media_type = styles.media_types.get(name) or MEDIA_TYPES[source.suffix.lower()]
        book.add_item(
            epub.EpubItem(uid=_uid(name), file_name=name, media_type=media_type, content=_content(source, media_type))
        )
    for font in fonts:
        book.add_item(
            epub.EpubItem(
                uid=_uid("fonts/" + font.name),
                file_name="fonts/" + font.name,
                media_type=FONT_TYPES[font.suffix.lower()],
                content=read_regular(font),
            )
        )
    for asset in assets:
        book.add_item(
            epub.EpubItem(
                uid=_uid(asset.href),
                file_name=asset.href,
                media_type=asset.media_type,
                content=_content(asset.source, asset.media_type),
            )
        )
    href, media_type, data = cover
    cover_item = epub.EpubItem(uid="cover-image", file_name=href, media_type=media_type, content=data)
    cover_item.properties = ["cover-image"]
    book.add_item(cover_item)
    # EPUB 2 readers (older Kindles, Kobo's library view) look for this meta rather than the property.
    book.add_metadata(None, "meta", "", {"name": "cover", "content": "cover-image"})

    by_name: dict[str, _VerbatimItem] = {}
    for document in composed.documents:
        item = _VerbatimItem(_uid(document.name), document.name, document.xhtml.encode("utf-8"), document.properties)
        book.add_item(item)
        by_name[document.name] = item
    book.spine = [by_name[document.name] for document in composed.spine]
    book.add_item(epub.EpubNcx())
    book.toc = _ncx_toc(composed.toc)

    mtime = dt.datetime.strptime(meta.modified, "%Y-%m-%dT%H:%M:%SZ")
    with atomic_output(target) as temp:
        raw = temp.with_name(temp.name + ".raw")
        try:
            # epub3_pages=False: ebooklib would list every element with epub:type and id as a "page".
            epub.write_epub(
                str(raw), book, {"epub3_pages": False, "mtime": mtime, "raise_exceptions": True, "epub2_guide": False}
            )
            files = _repack(raw, temp, mtime, meta.lang)
        except OSError as exc:
            raise RenderError(f"cannot write the EPUB: {exc.strerror or exc}", file=target) from None
        finally:
            raw.unlink(missing_ok=True)
    return EpubResult(path=target, files=files)


def _content(source: Path, media_type: str) -> bytes:
    """The bytes to pack for a resource: an SVG cleaned of scripts and outside references (see :mod:`svg`)."""
    data = read_regular(source)
    if media_type == "image/svg+xml":
        try:
            return clean_svg(data).data
        except BadSvg:
            return data  # the conversion has reported it
    return data


def accessibility_metadata(
    meta: Meta, images: int, images_without_alt: int, page_list: bool = False
) -> list[tuple[str, str]]:
    """schema.org accessibility metadata (EPUB Accessibility 1.1); conformance is claimed only when true."""
    pairs = [("schema:accessMode", "textual")]
    if images:
        pairs.append(("schema:accessMode", "visual"))
    if not images_without_alt:
        pairs.append(("schema:accessModeSufficient", "textual"))
    if images:
        pairs.append(("schema:accessModeSufficient", "textual,visual"))
    features = ["structuralNavigation", "tableOfContents", "readingOrder", "displayTransformability"]
    if images and not images_without_alt:
        features.append("alternativeText")
    if page_list:
        features += ["pageBreakMarkers", "pageNavigation"]
    pairs += [("schema:accessibilityFeature", f) for f in features]
    pairs.append(("schema:accessibilityHazard", "none"))
    if images_without_alt:
        summary = (
            f"Structured text with a navigable table of contents. {images_without_alt} image(s) have no text "
            "alternative, so the publication does not claim WCAG conformance."
        )
    else:
        summary = (
            "Structured text with headings, a navigable table of contents, landmarks and linked notes; "
            "every image has a text alternative. Meets EPUB Accessibility 1.1 and WCAG 2.1 Level AA."
        )
        pairs.append(("dcterms:conformsTo", "EPUB Accessibility 1.1 - WCAG 2.1 Level AA"))
        pairs.append(("a11y:certifiedBy", f"essaybook {__version__} (automated checks)"))
    pairs.append(("schema:accessibilitySummary", summary))
    return pairs


def _ncx_toc(entries: list[TocEntry], numbers: Iterator[int] | None = None) -> list[object]:
    """ebooklib's table of contents; navPoint ids are numbered (see :func:`_uid` for why not heading ids)."""
    numbers = numbers if numbers is not None else itertools.count(1)
    result: list[object] = []
    for entry in entries:
        href = f"{entry.chapter.epub_name}#{entry.id}"
        if entry.children:
            result.append((epub.Section(entry.full_title, href), _ncx_toc(entry.children, numbers)))
        else:
            result.append(epub.Link(href, entry.full_title, f"nav-{next(numbers)}"))
    return result


def _package_lang(opf: bytes, lang: str) -> bytes:
    """Add xml:lang to <package>: reading systems and Ace want it, and ebooklib 0.20 cannot write it."""
    root = etree.fromstring(opf)
    root.set("{http://www.w3.org/XML/1998/namespace}lang", lang)
    return bytes(etree.tostring(root, encoding="utf-8", xml_declaration=True, pretty_print=True))


def _repack(source: Path, target: Path, mtime: dt.datetime, lang: str) -> int:
    """Rewrite the zip with fixed entry times, ``mimetype`` first and stored (ebooklib 0.20 uses the clock)."""
    stamp = (max(mtime.year, 1980), mtime.month, mtime.day, mtime.hour, mtime.minute, mtime.second)
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        names = zin.namelist()
        ordered = ["mimetype"] + [n for n in names if n != "mimetype"]
        for name in ordered:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.external_attr = 0o644 << 16
            if name == "mimetype":
                info.compress_type = zipfile.ZIP_STORED
            else:
                info.compress_type = zipfile.ZIP_DEFLATED
            data = zin.read(name)
            if name.endswith(".opf"):
                data = _package_lang(data, lang)
            zout.writestr(info, data, compresslevel=9 if name != "mimetype" else None)
        return len(ordered)
