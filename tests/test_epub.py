"""The EPUB read back: EPUBCheck, package metadata, navigation, notes, links, images, determinism."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from PIL import Image

from essaybook import log
from essaybook.commands.build import build

from conftest import BOOKS, FEATURES_LOW_RESOLUTION, REPO, Built, build_once, copy_project, epubcheck_messages
from pdfread import open_pdf, page_text

NS = {
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "x": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
    "ncx": "http://www.daisy.org/z3986/2005/ncx/",
}
EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"


class Epub:
    """An unpacked EPUB: its package document and XHTML files, parsed with a strict XML parser."""

    def __init__(self, path: Path) -> None:
        self.zip = zipfile.ZipFile(path)
        container = ET.fromstring(self.zip.read("META-INF/container.xml"))
        self.opf_path = container.find(".//{*}rootfile").get("full-path")  # type: ignore[union-attr]
        self.base = self.opf_path.rsplit("/", 1)[0] + "/"
        self.opf = ET.fromstring(self.zip.read(self.opf_path))

    def read(self, href: str) -> bytes:
        return self.zip.read(self.base + href)

    def xml(self, href: str) -> ET.Element:
        return ET.fromstring(self.read(href))

    def manifest(self) -> dict[str, ET.Element]:
        return {item.get("href", ""): item for item in self.opf.iterfind("opf:manifest/opf:item", NS)}

    def spine(self) -> list[str]:
        ids = {i.get("id"): i.get("href") for i in self.opf.iterfind("opf:manifest/opf:item", NS)}
        return [ids[ref.get("idref")] for ref in self.opf.iterfind("opf:spine/opf:itemref", NS)]  # type: ignore[misc]

    def meta(self, name: str) -> list[str]:
        return [e.text or "" for e in self.opf.iterfind(f"opf:metadata/{name}", NS)]


@pytest.mark.parametrize("book", ["sample", "features"])
def test_epubcheck_reports_nothing(book: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(book)
    assert epubcheck_messages(built.epub) == []


def test_builds_log_no_unexpected_warnings(sample: Built, features: Built) -> None:
    assert sample.warnings == []
    assert features.warnings == [
        "manuscript/part2/03-links.md:15: raw HTML <listing> is not an XHTML element; kept its content as <figure>",
        *FEATURES_LOW_RESOLUTION,
    ]


def test_package_metadata(features: Built) -> None:
    epub = Epub(features.epub)
    assert epub.zip.namelist()[0] == "mimetype"
    assert epub.zip.getinfo("mimetype").compress_type == zipfile.ZIP_STORED
    assert epub.meta("dc:title") == ["A Book of Features", "Every Markdown feature essaybook supports"]
    assert epub.meta("dc:creator") == ["Ada Example", "Ben Sample"]
    assert epub.meta("dc:language") == ["en"]
    assert epub.meta("dc:identifier") == ["urn:isbn:9780000000002"]
    assert epub.meta("dc:publisher") == ["Test Press"]
    assert epub.meta("dc:date") == ["2026-01-15"]
    assert epub.meta("dc:subject") == ["Testing", "Typesetting"]
    assert epub.meta("dc:rights") == ["© 2026 The Authors. All rights reserved."]
    metas = {m.get("property"): m.text for m in epub.opf.iterfind("opf:metadata/opf:meta", NS) if m.get("property")}
    assert metas["dcterms:modified"] == "2026-01-01T00:00:00Z"  # SOURCE_DATE_EPOCH
    assert metas["title-type"] == "subtitle"
    cover = [i for i in epub.manifest().values() if "cover-image" in (i.get("properties") or "")]
    assert len(cover) == 1 and cover[0].get("media-type") == "image/png"


def test_one_xhtml_file_per_chapter_in_reading_order(features: Built) -> None:
    epub = Epub(features.epub)
    spine = epub.spine()
    assert spine[0] == "text/cover.xhtml"
    chapters = [
        href for href in spine if href.startswith("text/") and href not in ("text/cover.xhtml", "text/titlepage.xhtml")
    ]
    assert len(chapters) == 6
    titles = [epub.xml(href).findtext(".//x:title", namespaces=NS) for href in chapters]
    # The untitled dedication and epigraph are titled by their role, in the book's language.
    assert titles == [
        "Dedication",
        "Epigraph",
        "Preface",
        "Markdown, all of it",
        "Links and Pictures",
        "Appendix: Colophon of Tests",
    ]
    dedication = epub.xml(chapters[0]).find(".//x:section", NS)
    assert dedication is not None and dedication.get(EPUB_TYPE) == "dedication"
    assert dedication.get("aria-label") == "Dedication" and dedication.find("x:h1", NS) is None  # no invented heading
    epigraph = epub.xml(chapters[1]).find(".//x:section", NS)
    assert epigraph is not None and epigraph.get(EPUB_TYPE) == "epigraph"
    attribution = epigraph.find(".//x:p[@class='attribution']", NS)
    assert attribution is not None and "careful printer" in "".join(attribution.itertext())
    preface = epub.xml(chapters[2]).find(".//x:section", NS)
    assert preface is not None and preface.get(EPUB_TYPE) == "preface" and preface.get("role") == "doc-preface"
    appendix_body = epub.xml(chapters[5]).find("x:body", NS)
    assert appendix_body is not None and appendix_body.get(EPUB_TYPE) == "backmatter"


def test_nav_is_nested_with_landmarks_and_ncx(features: Built) -> None:
    epub = Epub(features.epub)
    nav_item = next(i for i in epub.manifest().values() if i.get("properties") == "nav")
    nav = epub.xml(nav_item.get("href", ""))
    toc = next(n for n in nav.iter(f"{{{NS['x']}}}nav") if n.get(EPUB_TYPE) == "toc")
    top = toc.findall("x:ol/x:li", NS)
    assert [li.findtext("x:a", namespaces=NS) for li in top] == [  # not the untitled dedication and epigraph
        "Preface",
        "Markdown, all of it",
        "Links and Pictures",
        "Appendix: Colophon of Tests",
    ]
    nested = [a.text for a in top[1].iterfind("x:ol/x:li/x:a", NS)]
    assert nested == ["Introduction", "Tables", "Code", "Lists and definitions", "Pictures", "Running text"]
    landmarks = next(n for n in nav.iter(f"{{{NS['x']}}}nav") if n.get(EPUB_TYPE) == "landmarks")
    kinds = [a.get(EPUB_TYPE) for a in landmarks.iter(f"{{{NS['x']}}}a")]
    assert kinds == ["cover", "titlepage", "toc", "frontmatter", "bodymatter", "backmatter"]
    # Every nav target exists.
    for a in toc.iter(f"{{{NS['x']}}}a"):
        file, _, fragment = a.get("href", "").partition("#")
        ids = {e.get("id") for e in epub.xml(file).iter()}
        assert fragment in ids, a.get("href")
    ncx_item = next(i for i in epub.manifest().values() if i.get("media-type") == "application/x-dtbncx+xml")
    ncx = epub.xml(ncx_item.get("href", ""))
    labels = [t.text for t in ncx.iterfind(".//ncx:navPoint/ncx:navLabel/ncx:text", NS)]
    assert "Markdown, all of it" in labels and "Tables" in labels


def test_footnotes_are_epub_notes_with_backlinks(features: Built) -> None:
    epub = Epub(features.epub)
    for href in [h for h in epub.spine() if h.startswith("text/chapter-")]:
        doc = epub.xml(href)
        ids = {e.get("id"): e for e in doc.iter() if e.get("id")}
        refs = [a for a in doc.iter(f"{{{NS['x']}}}a") if a.get(EPUB_TYPE) == "noteref"]
        notes = [a for a in doc.iter(f"{{{NS['x']}}}aside") if a.get(EPUB_TYPE) == "footnote"]
        assert len(refs) == len(notes)
        for ref in refs:
            assert ref.get("role") == "doc-noteref"
            note = ids[ref.get("href", "")[1:]]
            assert note.tag == f"{{{NS['x']}}}aside" and note.get("role") == "doc-footnote"
            back = [a for a in note.iter(f"{{{NS['x']}}}a") if a.get("role") == "doc-backlink"]
            assert back and back[0].get("href") == f"#{ref.get('id')}"
    markdown_chapter = epub.xml("text/chapter-02-markdown.xhtml")
    assert sum(1 for a in markdown_chapter.iter() if a.get(EPUB_TYPE) == "noteref") == 2


def test_heading_ids_unique_and_cross_chapter_links_resolve(features: Built) -> None:
    epub = Epub(features.epub)
    seen: dict[str, str] = {}
    docs = {href: epub.xml(href) for href in epub.spine() if href.startswith("text/")}
    for href, doc in docs.items():
        for element in doc.iter():
            if element.get("id"):
                assert element.get("id") not in seen, (
                    f"{element.get('id')} in {href} and {seen.get(element.get('id', ''))}"
                )
                seen[element.get("id", "")] = href
    intro_ids = [i for i in seen if i.startswith("introduction")]
    assert len(intro_ids) == 2
    links = {a.text: a.get("href") for a in docs["text/chapter-02-markdown.xhtml"].iter(f"{{{NS['x']}}}a")}
    target = links["the introduction of the next chapter"]
    assert target is not None
    file, _, fragment = target.partition("#")
    assert file == "chapter-03-links.xhtml" and seen[fragment] == "text/chapter-03-links.xhtml"
    assert links["the whole next chapter"] == "chapter-03-links.xhtml#chapter-03-links"
    back = {a.text: a.get("href") for a in docs["text/chapter-03-links.xhtml"].iter(f"{{{NS['x']}}}a")}
    assert back["the tables"] == "chapter-02-markdown.xhtml#tables"
    assert back["rendered page"] == "chapter-02-markdown.xhtml#code"  # mdBook-style link to the .html page


def test_mdbook_listings_and_fence_info_strings(features: Built) -> None:
    doc = Epub(features.epub).xml("text/chapter-03-links.xhtml")
    figure = next(f for f in doc.iter(f"{{{NS['x']}}}figure") if f.get("class") == "x-listing")
    caption = figure.find("x:figcaption", NS)
    assert caption is not None and "".join(caption.itertext()) == "A listing in the style of mdBook books"
    assert caption.findtext("x:code", namespaces=NS) == "mdBook"
    code = figure.find(".//x:div[@class='codehilite']", NS)
    assert code is not None and "println!" in "".join(code.itertext())
    assert "```" not in "".join(doc.itertext())
    quoted = doc.find(".//x:blockquote//x:pre/x:code", NS)  # fenced code inside a blockquote stays code
    assert quoted is not None and "# fn hidden() {}" in "".join(quoted.itertext())
    assert not [h for h in doc.iter(f"{{{NS['x']}}}h1") if "fn hidden" in "".join(h.itertext())]


def test_images_in_folders_stay_distinct(features: Built) -> None:
    epub = Epub(features.epub)
    manifest = epub.manifest()
    first, second = "images/images/figure.png", "images/part2/images/figure.png"
    assert first in manifest and second in manifest
    assert epub.read(first) != epub.read(second)
    srcs = [img.get("src") for img in epub.xml("text/chapter-03-links.xhtml").iter(f"{{{NS['x']}}}img")]
    assert srcs == ["../" + second]


def test_markdown_features_and_raw_html_come_out_as_xhtml(features: Built) -> None:
    epub = Epub(features.epub)
    doc = epub.xml("text/chapter-02-markdown.xhtml")  # a strict XML parse: well-formed XHTML
    tags = {e.tag.split("}")[1] for e in doc.iter() if isinstance(e.tag, str)}
    assert {
        "table",
        "thead",
        "dl",
        "dt",
        "dd",
        "abbr",
        "pre",
        "code",
        "aside",
        "img",
        "b",
        "br",
        "figure",
        "figcaption",
    } <= tags
    classes = {e.get("class") for e in doc.iter()}
    assert {"codehilite", "admonition note", "lead", "aside"} <= classes
    text = "".join(doc.itertext())
    assert "\u201cquotes\u201d" in text and "\u2013" in text and "\u2026" in text
    css = epub.read("theme/code.css").decode()
    assert ".codehilite" in css
    links = [link.get("href") for link in doc.iter(f"{{{NS['x']}}}link")]
    assert links == [
        "../theme/classic-common.css",
        "../theme/base-features.css",
        "../theme/classic-epub.css",
        "../theme/base-epub-features.css",
        "../theme/code.css",
        "../styles/book.css",
    ]
    for href in epub.manifest():
        if href.endswith(".css"):
            assert "@page" not in epub.read(href).decode(), f"{href} carries print rules"


def test_rebuild_is_byte_identical(features: Built, tmp_path: Path) -> None:
    again = build_once(copy_project(BOOKS / "features", tmp_path / "elsewhere"))
    assert again.epub.read_bytes() == features.epub.read_bytes()
    assert again.pdf.read_bytes() == features.pdf.read_bytes()


def test_accessibility_metadata_and_conformance_claim(features: Built) -> None:
    epub = Epub(features.epub)
    metas: dict[str, list[str]] = {}
    for m in epub.opf.iterfind("opf:metadata/opf:meta", NS):
        if m.get("property"):
            metas.setdefault(m.get("property", ""), []).append(m.text or "")
    assert metas["schema:accessMode"] == ["textual", "visual"]
    assert "textual" in metas["schema:accessModeSufficient"]
    assert {"structuralNavigation", "tableOfContents", "alternativeText"} <= set(metas["schema:accessibilityFeature"])
    assert metas["schema:accessibilityHazard"] == ["none"]
    assert metas["dcterms:conformsTo"] == ["EPUB Accessibility 1.1 - WCAG 2.1 Level AA"]
    assert epub.opf.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"


def test_image_without_alt_warns_with_line_and_blocks_the_claim(tmp_path: Path) -> None:
    project = tmp_path / "book"
    (project / "manuscript").mkdir(parents=True)
    shutil.copy(BOOKS / "features" / "manuscript" / "images" / "figure.png", project / "manuscript" / "f.png")
    (project / "manuscript" / "book.toml").write_text('[book]\ntitle = "Alt"\nlang = "en"\n', encoding="utf-8")
    (project / "manuscript" / "a.md").write_text("# Alt\n\nText.\n\n![](f.png)\n", encoding="utf-8")
    log.setup(verbosity=-1)
    result = build(project, pdf=False)
    assert [w for w in log.warnings_seen() if "alt text" in w] == [
        "manuscript/a.md:5: image 'f.png' has no alt text; readers who cannot see it get nothing"
    ]
    assert result.epub is not None
    opf = Epub(result.epub.path).opf
    properties = [m.get("property") for m in opf.iterfind("opf:metadata/opf:meta", NS)]
    assert "dcterms:conformsTo" not in properties
    assert epubcheck_messages(result.epub.path) == []
    assert "alternativeText" not in [m.text for m in opf.iterfind("opf:metadata/opf:meta", NS)]


def _page_list(epub: Epub) -> list[tuple[str, str]]:
    nav_href = next(h for h, i in epub.manifest().items() if i.get("properties") == "nav")
    nav = epub.xml(nav_href)
    pages = next(n for n in nav.iter(f"{{{NS['x']}}}nav") if n.get(EPUB_TYPE) == "page-list")
    return [(a.text or "", a.get("href", "")) for a in pages.iter(f"{{{NS['x']}}}a")]


def test_page_list_follows_the_printed_pages(features: Built) -> None:
    epub = Epub(features.epub)
    reader = open_pdf(features.pdf)
    labels = reader.page_labels
    page_list = _page_list(epub)
    first = next(i for i in range(len(labels)) if "For everyone" in page_text(reader, i))  # the dedication
    listed = [label for label, _ in page_list]
    assert listed == [label for label in labels[first:] if label in listed]  # in printed order
    for index in range(first, len(labels)):
        text = page_text(reader, index).strip()
        if text and not text.startswith("Contents"):
            assert labels[index] in listed, f"printed page {labels[index]} has no place in the page list"
    contents = next(i for i in range(len(labels)) if page_text(reader, i).startswith("Contents"))
    assert labels[contents] not in listed  # the EPUB has no printed contents page to point at
    metas = {m.get("property"): m.text for m in epub.opf.iterfind("opf:metadata/opf:meta", NS)}
    assert metas["pageBreakSource"] == "urn:isbn:9780000000002"
    for label, href in page_list:
        file, _, fragment = href.partition("#")
        doc = epub.xml(file)
        marker = next(e for e in doc.iter() if e.get("id") == fragment)
        assert marker.get(EPUB_TYPE) == "pagebreak" and marker.get("role") == "doc-pagebreak"
        assert marker.get("aria-label") == label
        index = labels.index(label)
        if not page_text(reader, index).strip():
            continue  # a blank verso: marked at the next block
        # Two words: a block that runs over the page's top (a definition list whose first term ends the page
        # before) has its marker before it, and more words would run across the running head between them.
        words = " ".join(_text_after(doc, marker).split()[:2])
        nearby = " ".join(page_text(reader, i) for i in (index - 1, index)).replace("\n", " ")
        assert words in " ".join(nearby.split()), f"page {label}: {words!r} is not on that printed page"


def _text_after(root: ET.Element, marker: ET.Element) -> str:
    """The text that follows ``marker`` in document order."""
    found, out = False, []

    def walk(element: ET.Element) -> None:
        nonlocal found
        if element is marker:
            found = True
        elif found and element.text:
            out.append(element.text)
        for child in element:
            walk(child)
            if found and child.tail:
                out.append(child.tail)

    walk(root)
    return " ".join(out)


def test_page_break_markers_keep_the_paragraph_indent(features: Built) -> None:
    # A marker between two paragraphs would end `p + p`, so the paragraph at a printed page's top would
    # lose its indent (issue 12, item 9): each marker opens the block it marks instead.
    epub = Epub(features.epub)
    markers = 0
    for href in epub.spine():
        doc = epub.xml(href)
        for parent in doc.iter():
            children = list(parent)
            for number, child in enumerate(children):
                if child.get(EPUB_TYPE) != "pagebreak":
                    continue
                markers += 1
                following = children[number + 1] if number + 1 < len(children) else None
                assert following is None or following.tag != f"{{{NS['x']}}}p", (href, child.get("id"))
                if parent.tag == f"{{{NS['x']}}}p":
                    # At the paragraph's start (after the markers of the pages before it, a blank verso's).
                    before = children[:number]
                    assert all(c.get(EPUB_TYPE) == "pagebreak" and not (c.tail or "").strip() for c in before)
                    assert not (parent.text or "").strip(), (href, child.get("id"))
    assert markers >= 5
    # The running-text pages of chapter two all begin inside a paragraph, which keeps its place after another.
    doc = epub.xml("text/chapter-02-markdown.xhtml")
    inside = [p for p in doc.iter(f"{{{NS['x']}}}p") if len(p) and p[0].get(EPUB_TYPE) == "pagebreak"]
    assert len(inside) >= 2


def test_page_list_without_the_pdf(sample: Built, tmp_path: Path) -> None:
    alone = copy_project(REPO, tmp_path / "alone")
    log.setup(verbosity=-1)
    result = build(alone, pdf=False)
    assert result.pdf is None and not list((alone / "dist").glob("*.pdf"))
    assert result.epub is not None
    assert _page_list(Epub(result.epub.path)) == _page_list(Epub(sample.epub))
    assert epubcheck_messages(result.epub.path) == []
    pages = len(open_pdf(sample.pdf).pages)
    assert [label for label, _ in _page_list(Epub(sample.epub))] == [str(n) for n in range(1, pages + 1)]


def test_typographic_cover_when_no_cover_image(sample: Built) -> None:
    epub = Epub(sample.epub)
    cover = [(h, i) for h, i in epub.manifest().items() if "cover-image" in (i.get("properties") or "")]
    assert [h for h, _ in cover] == ["cover/cover.png"]
    image = Image.open(io.BytesIO(epub.read("cover/cover.png")))
    assert image.size == (1600, 2560)
    assert epub.spine()[0] == "text/cover.xhtml"
    names = [m.get("name") for m in epub.opf.iterfind("opf:metadata/opf:meta", NS)]
    assert "cover" in names


def test_ids_of_newer_scripts_stay_out_of_the_package_and_ncx(tmp_path: Path) -> None:
    # Found by tests/test_properties.py: a heading in Khojki (U+11206) made an NCX navPoint id that EPUBCheck
    # refuses (RSC-005: OPF and NCX ids follow the older XML name rules); an image name in it, a manifest id.
    root = tmp_path / "book"
    (root / "manuscript").mkdir(parents=True)
    (root / "manuscript" / "book.toml").write_text('[book]\ntitle = "Ids"\nlang = "en"\n', encoding="utf-8")
    image = tmp_path / "pixel.png"
    Image.new("RGB", (4, 4), "white").save(image)
    (root / "manuscript" / "\U00011206.png").write_bytes(image.read_bytes())
    (root / "manuscript" / "a.md").write_text(
        "# Chapter\n\n## Letter \U00011206 and \u00e4\n\n![A pixel](\U00011206.png)\n\nText.\n", encoding="utf-8"
    )
    log.setup(verbosity=-1)
    result = build(root, pdf=False)
    assert result.epub is not None
    epub = Epub(result.epub.path)
    ncx = epub.read("toc.ncx").decode()
    assert all(ident.isascii() for ident in re.findall(r'id="([^"]*)"', ncx))
    assert all(item.get("id", "").isascii() for item in epub.opf.iterfind("opf:manifest/opf:item", NS))
    assert epubcheck_messages(result.epub.path) == []


def test_notes_with_the_same_name_in_two_chapters_stay_in_their_chapters(tmp_path: Path) -> None:
    # Each chapter numbers its notes [^1], [^2]...: the second chapter's ids become fn-1-2, and its references
    # must follow (they used to lead to the first chapter's note, and the PDF lost the second note).
    root = tmp_path / "book"
    (root / "manuscript").mkdir(parents=True)
    (root / "manuscript" / "book.toml").write_text('[book]\ntitle = "Notes"\nlang = "en"\n', encoding="utf-8")
    (root / "manuscript" / "a.md").write_text("# A\n\nText.[^1]\n\n[^1]: The first note.\n", encoding="utf-8")
    (root / "manuscript" / "b.md").write_text("# B\n\nMore.[^1]\n\n[^1]: The second note.\n", encoding="utf-8")
    log.setup(verbosity=-1)
    result = build(root)
    assert result.epub is not None and result.pdf is not None
    chapter = Epub(result.epub.path).read("text/b.xhtml").decode()
    assert 'href="#fn-1-2"' in chapter and 'href="#fnref-1-2"' in chapter and "a.xhtml" not in chapter
    text = " ".join(page_text(open_pdf(result.pdf.path), i) for i in range(len(open_pdf(result.pdf.path).pages)))
    assert "The first note." in text and "The second note." in text
    assert epubcheck_messages(result.epub.path) == []
