"""Hostile manuscripts against the EPUB's resources and references (issue 13, item 1, part B).

Most cases share one book, built once (PDF and EPUB) and EPUBChecked once: lying image names, links that are
no valid URLs, language tags with newlines and paths, ``style`` attributes reaching outside the project,
chapter files named in other scripts, repeated landmarks and empty header cells. Each case asserts what the
EPUB now holds and the warning that names the place; the book as a whole must pass EPUBCheck (and Ace, where
installed). The cases that must stop the build (exit 1, the file named) build projects of their own.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result
from lxml import etree
from PIL import Image
from pypdf import PdfReader

from test_bad_input import SLUG, TITLE, TOML, assert_user_error, build, describe, make_project
from test_hostile import assert_success, assert_warned, timed, warnings_of

from conftest import epubcheck_messages

OPF = {"opf": "http://www.idpf.org/2007/opf"}


def image(kind: str, colour: str = "navy") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, kind)
    return buffer.getvalue()


SVG = '<?xml version="1.0"?>\n<!-- drawn by hand -->\n<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>\n'

LINKS = """# Links and attributes

[double hash](https://example.com/#/docs/USING_ADVANCED.md#options)

[spaces](<https://example.com/a b/c d.html>)

[non-ASCII](https://example.com/ünïcode/påth?q=é)

<a href="https://example.com\\docs\\page">backslashes</a>

[bad escape](https://example.com/100%/done)

[empty host](http:///nohost)

<a href="https://exa mple.com/">spaced host</a>

[script](javascript:alert(1))

[data](data:text/html,hello)

[file](file:///etc/passwd)

<p lang="en
">A newline in a language tag.</p>

<p><a href="https://example.com/" hreflang="../../etc">path in hreflang</a></p>

<blockquote cite="https://example.com/a quote"><p>Quoted.</p></blockquote>

<p><a id="odd%id#1">Anchor</a> and <a href="#odd%id#1">a link to it</a>.</p>

A paragraph in Canadian French, written the POSIX way
{: lang="fr_CA" }
"""

IMAGES = """# Images and styles

![A PNG named jpg](img/png-named.jpg)

![A JPEG named png](img/jpeg-named.png)

![A GIF named webp](img/gif-named.webp)

![An SVG named png](img/svg-named.png)

![A real PNG](img/real.png)

<p><span style="background: url(http://evil.example/x.png)">remote</span></p>

<p><span style="background-image: url(file:///etc/passwd); color: #222">file URL</span></p>

<p><span style="background: url(/etc/passwd) no-repeat">absolute</span></p>

<p><span style="background: url(../../outside.png)">escaping</span></p>

<p><span style="color: #222; background-image: url(img/real.png)">inside</span></p>

Styled by an attribute list
{: style="border-image: url(https://evil.example/b.png) 30" }

![A path written on Windows](img\\real.png)

![A drawing with a past](img/drawing.svg)

![A photo](img/写真.png)

![A picture](img/画像.png)
"""

DRAWING = """<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" width="10" height="10"
     inkscape:export-filename="/home/jane/secret/plan.png" onload="alert(1)">
  <script>alert(2)</script>
  <image href="file:///etc/passwd" width="5" height="5"/>
  <image xlink:href="http://evil.example/x.png" width="5" height="5"/>
  <rect width="4" height="4" style="fill: url(http://evil.example/p.svg#g); stroke: navy"/>
  <linearGradient id="local"><stop offset="0" stop-color="navy"/></linearGradient>
  <a href="javascript:alert(3)"><rect width="2" height="2" fill="url(#local)" stroke="url(#nowhere)"/></a>
</svg>
"""

LANDMARKS = """# Landmarks and tables

<aside><p>First aside.</p></aside>

<aside><p>Second aside.</p></aside>

<nav><p>First navigation.</p></nav>

<nav><p>Second navigation.</p></nav>

|   | Header |
|---|--------|
| a | 1      |

<table><tr><th></th><th>B</th></tr><tr><th>Row</th><td>2</td></tr></table>
"""

CSS = ".stamp { background-image: url(../manuscript/img/png-named.jpg); }\n"


@dataclass
class Book:
    root: Path
    result: Result
    zip_names: list[str]
    texts: dict[str, str]
    opf: etree._Element

    def document(self, needle: str) -> str:
        """The one EPUB XHTML document holding ``needle``."""
        found = [text for name, text in self.texts.items() if name.startswith("EPUB/text/") and needle in text]
        assert len(found) == 1, f"{needle!r} is in {len(found)} documents"
        return found[0]

    def media_type(self, href_end: str) -> str:
        items = [i for i in self.opf.iterfind(".//opf:item", OPF) if i.get("href", "").endswith(href_end)]
        assert len(items) == 1, [i.get("href") for i in self.opf.iterfind(".//opf:item", OPF)]
        return items[0].get("media-type", "")


def line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.split("\n"), 1) if needle in line)


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Book:
    files: dict[str, str | bytes] = {
        "manuscript/book.toml": TOML + 'cover-image = "img/cover.jpg"\n',
        "manuscript/01-links.md": LINKS,
        "manuscript/02-images.md": IMAGES,
        "manuscript/03-landmarks.md": LANDMARKS,
        "manuscript/04-はじめに.md": "# Getting started\n\nSee [the links](01-links.md#links-and-attributes), "
        "[the Greek one](05-omega.md) and [the café](06-café.md).\n\n[Windows](.\\\\01-links.md)\n",
        "manuscript/05-omega.md": '---\ntitle: "Ωμέγα"\n---\n\nA chapter whose title has no Latin letter.\n',
        "manuscript/06-café.md": "# Café\n\nAccented.\n",
        "manuscript/07-cafe.md": '---\ntitle: "Chapter 06 Cafe"\n---\n\nIts name would be the café\'s.\n',
        "manuscript/08-cover.md": '---\ntitle: "Cover"\nrole: appendix\n---\n\nA chapter named like the cover.\n',
        "manuscript/img/png-named.jpg": image("PNG"),
        "manuscript/img/jpeg-named.png": image("JPEG"),
        "manuscript/img/gif-named.webp": image("GIF"),
        "manuscript/img/svg-named.png": SVG,
        "manuscript/img/real.png": image("PNG"),
        "manuscript/img/cover.jpg": image("PNG"),
        "manuscript/img/drawing.svg": DRAWING,
        "manuscript/img/写真.png": image("PNG"),
        "manuscript/img/画像.png": image("PNG", "orange"),
        "styles/custom.css": CSS,
        "outside.png": image("PNG"),
    }
    root = make_project(tmp_path_factory.mktemp("hostile-epub"), files)
    result = timed(lambda: build(root))
    assert_success(result)
    with zipfile.ZipFile(root / "dist" / f"{SLUG}.epub") as z:
        names = z.namelist()
        texts = {n: z.read(n).decode("utf-8") for n in names if n.endswith((".xhtml", ".opf", ".css", ".ncx"))}
    opf = etree.fromstring(texts["EPUB/content.opf"].encode("utf-8"))
    return Book(root, result, names, texts, opf)


def test_the_hostile_book_passes_epubcheck(book: Book) -> None:
    """Every case below at once. Before this change the build stopped in layout (the style's packed image was
    looked for beside book.toml); without that one line EPUBCheck found 32 errors and 4 warnings."""
    assert epubcheck_messages(book.root / "dist" / f"{SLUG}.epub") == []


def test_the_pdf_loads_only_what_the_book_holds(book: Book) -> None:
    """The print path gets the same cleaned fragments: nothing refused, the style's packed image loaded, and
    its web links are the EPUB's valid URLs."""
    assert not [w for w in warnings_of(book.result) if "refused" in w or "outside.png" in w.split(":")[0]]
    reader = PdfReader(book.root / "dist" / f"{SLUG}.pdf")
    uris = set()
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            action = annotation.get_object().get("/A") or {}
            if "/URI" in action:
                uris.add(str(action["/URI"]))
    assert "https://example.com/#/docs/USING_ADVANCED.md%23options" in uris
    assert "https://example.com/a%20b/c%20d.html" in uris
    assert all(uri.isascii() and " " not in uri and uri.startswith(("https://", "mailto:")) for uri in uris), uris


# ------------------------------------------------------------------------------------- media types


@pytest.mark.parametrize(
    ("name", "kind", "suffix"),
    [
        ("png-named.jpg", "image/png", ".png"),
        ("jpeg-named.png", "image/jpeg", ".jpg"),
        ("gif-named.webp", "image/gif", ".gif"),
        ("svg-named.png", "image/svg+xml", ".svg"),
    ],
)
def test_image_type_comes_from_its_bytes(book: Book, name: str, kind: str, suffix: str) -> None:
    """Cases 1-4: the manifest gives the type the bytes show, under a name ending as that type does."""
    packed = f"images/img/{name}{suffix}"
    assert book.media_type(packed) == kind
    assert f'src="../{packed}"' in book.document("Images and styles")
    line = line_of(IMAGES, name)
    assert_warned(book.result, f"manuscript/02-images.md:{line}", name, kind)


def test_an_image_named_right_is_not_renamed(book: Book) -> None:
    assert book.media_type("images/img/real.png") == "image/png"
    assert not [w for w in warnings_of(book.result) if "real.png" in w]


def test_cover_image_type_comes_from_its_bytes(book: Book) -> None:
    """Case 5: a PNG cover named .jpg is the EPUB's cover/cover.png, image/png, with a warning on book.toml."""
    assert book.media_type("cover/cover.png") == "image/png"
    assert_warned(book.result, "manuscript/book.toml", "img/cover.jpg", "image/png")


def test_stylesheet_file_type_comes_from_its_bytes(book: Book) -> None:
    """Case 6: an image a stylesheet uses, named for another type, is renamed and its url() follows."""
    assert book.media_type("manuscript/img/png-named.jpg.png") == "image/png"
    assert "url(../manuscript/img/png-named.jpg.png)" in book.texts["EPUB/styles/custom.css"].replace('"', "")
    assert_warned(book.result, "styles/custom.css:1", "png-named.jpg", "image/png")


# -------------------------------------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    ("text", "href"),
    [
        ("double hash", "https://example.com/#/docs/USING_ADVANCED.md%23options"),
        ("spaces", "https://example.com/a%20b/c%20d.html"),
        ("non-ASCII", "https://example.com/%C3%BCn%C3%AFcode/p%C3%A5th?q=%C3%A9"),
        ("backslashes", "https://example.com/docs/page"),
        ("bad escape", "https://example.com/100%25/done"),
    ],
)
def test_links_are_made_valid_urls(book: Book, text: str, href: str) -> None:
    """Cases 7-11: the link keeps its meaning as a URL without validation errors, in both outputs."""
    assert f'<a href="{href}">{text}</a>' in book.document(f">{text}</a>")


@pytest.mark.parametrize(
    ("text", "written", "why"),
    [
        ("empty host", "http:///nohost", "host is missing"),
        ("spaced host", "https://exa mple.com/", "host"),
        ("data", "data:text/html,hello", "removed"),
        ("file", "file:///etc/passwd", "removed"),
    ],
)
def test_links_that_cannot_be_urls_are_plain_text(book: Book, text: str, written: str, why: str) -> None:
    """Cases 12-15: no host, a host with a space, data: and file: links: plain text, with a warning."""
    chapter = book.document("Links and attributes")
    assert f">{text}</a>" not in chapter
    assert f"<span>{text}</span>" in chapter
    assert_warned(book.result, f"manuscript/01-links.md:{line_of(LINKS, written)}", written, why)


def test_script_links_are_removed(book: Book) -> None:
    assert "javascript" not in book.document("Links and attributes")
    assert_warned(book.result, f"manuscript/01-links.md:{line_of(LINKS, 'javascript')}", "script link removed")


def test_cite_is_a_valid_url(book: Book) -> None:
    assert 'cite="https://example.com/a%20quote"' in book.document("Links and attributes")


def test_ids_hold_no_characters_a_fragment_cannot(book: Book) -> None:
    """Case 16: an id with '%' and '#' is made one a link can name; the link to it follows."""
    chapter = book.document("Links and attributes")
    assert '<a id="odd-id-1">Anchor</a>' in chapter
    assert '<a href="#odd-id-1">a link to it</a>' in chapter


# ---------------------------------------------------------------------------------- language tags


@pytest.mark.parametrize(
    ("attribute", "value", "line"),
    [("lang", "en\n", "<p lang="), ("hreflang", "../../etc", "")],
)
def test_attribute_language_tags_are_checked(book: Book, attribute: str, value: str, line: str) -> None:
    """Cases 17-18: a lang with a newline, an hreflang with a path: left out with a warning at their line."""
    chapter = book.document("Links and attributes")
    body = chapter.split("<section", 1)[1].split(">", 1)[1]
    if attribute == "hreflang":
        assert "hreflang=" not in body
    else:
        assert re.search(r"<p(?![^>]*\blang=)[^>]*>A newline in a language tag", body), body
    where = line_of(LINKS, line or f'{attribute}="{value}"')
    assert_warned(book.result, f"manuscript/01-links.md:{where}", f"{attribute}={value!r}", "BCP 47")


# ------------------------------------------------------------------------------------------ styles


@pytest.mark.parametrize(
    "url",
    [
        "http://evil.example/x.png",
        "file:///etc/passwd",
        "/etc/passwd",
        "../../outside.png",
        "https://evil.example/b.png",
    ],
)
def test_style_urls_outside_the_project_are_removed(book: Book, url: str) -> None:
    """Cases 19-23: a style attribute (raw HTML or {: style=… }) reaching the network, file:, an absolute path
    or outside the project loses that declaration, with a warning; nothing else of it is lost."""
    for name, text in book.texts.items():
        assert url not in text and "outside.png" not in text, name
    assert_warned(book.result, f"manuscript/02-images.md:{line_of(IMAGES, url)}", url)


def test_style_keeps_its_other_declarations_and_packs_local_images(book: Book) -> None:
    chapter = book.document("Images and styles")
    assert '<span style="color: #222">file URL</span>' in chapter
    assert '<span style="color: #222; background-image: url(&quot;../images/img/real.png&quot;)">' in chapter or (
        'url("../images/img/real.png")' in chapter
    )


# ------------------------------------------------------------------------------------ chapter files


def test_chapter_files_have_ascii_names(book: Book) -> None:
    """Cases 24-27: Japanese, Greek and accented names become ASCII; a collision is numbered; 'cover' is taken."""
    chapters = sorted(n.removeprefix("EPUB/text/") for n in book.zip_names if n.startswith("EPUB/text/"))
    assert all(name.isascii() for name in book.zip_names), book.zip_names
    assert chapters == sorted(
        [
            "cover.xhtml",
            "titlepage.xhtml",
            "chapter-01-links.xhtml",
            "chapter-02-images.xhtml",
            "chapter-03-landmarks.xhtml",
            "chapter-04.xhtml",
            "ch-005.xhtml",
            "chapter-06-cafe.xhtml",
            "chapter-06-cafe-2.xhtml",
            "cover-2.xhtml",
        ]
    )
    assert "A chapter named like the cover." in book.texts["EPUB/text/cover-2.xhtml"]
    start = book.texts["EPUB/text/chapter-04.xhtml"]
    assert 'href="chapter-01-links.xhtml#links-and-attributes"' in start
    assert 'href="ch-005.xhtml#' in start and 'href="chapter-06-cafe.xhtml#' in start


def test_backslashes_in_paths_are_slashes(book: Book) -> None:
    """Case 39: an image and a link written with Windows paths (img\\real.png, .\\01-links.md)."""
    assert book.document("Images and styles").count('src="../images/img/real.png"') == 2
    assert '<a href="chapter-01-links.xhtml#' in book.document(">Windows</a>")
    assert not [w for w in warnings_of(book.result) if "real.png" in w or "01-links.md'" in w]


def test_svg_images_carry_no_scripts_outside_references_or_local_paths(book: Book) -> None:
    """Case 40: an SVG from a drawing program with a script, an event handler, a file: and a web image, a
    remote fill and the author's export path: all left out of the packed image (EPUB and PDF), with a warning."""
    with zipfile.ZipFile(book.root / "dist" / f"{SLUG}.epub") as z:
        packed = z.read("EPUB/images/img/drawing.svg").decode("utf-8")
    gone_too = ("#nowhere", "/home/jane", "inkscape")
    for gone in ("script", "alert", "onload", "file:", "/etc/passwd", "evil.example", *gone_too):
        assert gone not in packed, gone
    # The two <image>s named only what went (a file: and a web image): they go with it.
    assert 'fill="url(#local)"' in packed and "stroke: navy" in packed and packed.count("<image") == 0
    assert_warned(
        book.result,
        f"manuscript/02-images.md:{line_of(IMAGES, 'drawing.svg')}",
        "'img/drawing.svg'",
        "scripts",
        "references outside the image",
    )


def test_images_named_in_other_scripts_stay_apart(book: Book) -> None:
    """Case 42: 写真.png and 画像.png both became images/img/__.png, one image lost; now each has its own ASCII
    name (the ASCII rule's underscores and a hash of the name)."""
    chapter = book.document("Images and styles")
    srcs = [src for src in re.findall(r'src="\.\./(images/img/__[^"]*)"', chapter)]
    assert len(srcs) == 2 and len(set(srcs)) == 2 and all(src.isascii() for src in srcs), srcs
    with zipfile.ZipFile(book.root / "dist" / f"{SLUG}.epub") as z:
        assert z.read(f"EPUB/{srcs[0]}") != z.read(f"EPUB/{srcs[1]}")


def test_chapter_file_names_are_stable(book: Book) -> None:
    again = build(book.root, "--no-pdf")
    assert_success(again)
    with zipfile.ZipFile(book.root / "dist" / f"{SLUG}.epub") as z:
        assert z.namelist() == book.zip_names


# ---------------------------------------------------------------------------------- accessibility


def test_landmarks_sharing_a_role_get_unique_labels(book: Book) -> None:
    """Case 28: two asides and two navs in a chapter (Ace: landmark-unique)."""
    chapter = book.document("Landmarks and tables")
    root = etree.fromstring(chapter.encode("utf-8"))
    for tag in ("aside", "nav"):
        labels = [e.get("aria-label") for e in root.iter(f"{{http://www.w3.org/1999/xhtml}}{tag}")]
        assert len(labels) == 2 and len(set(labels)) == 2, labels


def test_empty_header_cells_become_data_cells(book: Book) -> None:
    """Case 29: a Markdown table's blank corner and a raw <th></th> (Ace: empty-table-header)."""
    chapter = book.document("Landmarks and tables")
    assert not re.search(r"<th\b[^>]*>\s*</th>|<th\b[^>]*/>", chapter)
    assert "<th>Header</th>" in chapter and "<th>Row</th>" in chapter


def test_the_hostile_book_passes_ace(book: Book, tmp_path: Path) -> None:
    from test_ace import violations

    assert violations(book.root / "dist" / f"{SLUG}.epub", tmp_path / "ace") == []


# ------------------------------------------------------------------------------ refused: exit 1


@pytest.mark.parametrize("lang", ["en\\n", "../../etc/passwd", "en_US", "english language"])
def test_book_language_must_be_bcp47(tmp_path: Path, lang: str) -> None:
    """Cases 30-33: book.toml's lang with a trailing newline, a path, an underscore, a space."""
    root = make_project(
        tmp_path, {"manuscript/book.toml": f'[book]\ntitle = "{TITLE}"\nlang = "{lang}"\n', "manuscript/01.md": "# A\n"}
    )
    assert_user_error(build(root, "--no-pdf"), root, "manuscript/book.toml:3", "book.lang", "BCP 47")


@pytest.mark.parametrize("lang", ['"fr\\n"', "de/CH", "12"])
def test_front_matter_language_must_be_bcp47(tmp_path: Path, lang: str) -> None:
    """Cases 34-36: a chapter's lang with a newline, a path character, a number: the chapter, line and key."""
    chapter = f"---\ntitle: One\nlang: {lang}\n---\n\n# One\n"
    root = make_project(tmp_path, {"manuscript/book.toml": TOML, "manuscript/01-one.md": chapter})
    assert_user_error(build(root, "--no-pdf"), root, "manuscript/01-one.md:3", "lang", "BCP 47")


@pytest.mark.parametrize("options", [(), ("--no-pdf",)], ids=["full", "epub"])
def test_a_file_that_is_no_image_names_chapter_and_line(tmp_path: Path, options: tuple[str, ...]) -> None:
    """Case 37: a text file named .png. Before, the full build failed in layout with 'Failed to load image'
    and no chapter; now both paths stop before writing, at the chapter and line that show it."""
    files = {
        "manuscript/book.toml": TOML,
        "manuscript/01-one.md": f"# {TITLE}\n\nBefore.\n\n![a chart](chart.png)\n",
        "manuscript/chart.png": "month,sales\njan,3\n",
    }
    root = make_project(tmp_path, files)
    message = assert_user_error(
        build(root, *options), root, "manuscript/01-one.md:5", "'chart.png'", "unsupported type"
    )
    assert "essaybook:" not in message


def test_cover_that_is_no_png_or_jpeg_is_refused(tmp_path: Path) -> None:
    """Case 38: a GIF named cover.jpg: the cover must be PNG or JPEG, by its bytes."""
    files = {
        "manuscript/book.toml": TOML + 'cover-image = "cover.jpg"\n',
        "manuscript/01-one.md": f"# {TITLE}\n\nText.\n",
        "manuscript/cover.jpg": image("GIF"),
    }
    root = make_project(tmp_path, files)
    result = build(root, "--no-pdf")
    assert_user_error(result, root, "book.cover-image", "PNG or JPEG", "GIF"), describe(result)


def test_an_svg_that_is_not_xml_names_chapter_and_line(tmp_path: Path) -> None:
    """Case 41: an SVG that is not well-formed XML (an unclosed group) stops the build at the line that shows it."""
    files = {
        "manuscript/book.toml": TOML,
        "manuscript/01-one.md": f"# {TITLE}\n\n![a broken drawing](broken.svg)\n",
        "manuscript/broken.svg": '<svg xmlns="http://www.w3.org/2000/svg"><g></svg>\n',
    }
    root = make_project(tmp_path, files)
    assert_user_error(build(root, "--no-pdf"), root, "manuscript/01-one.md:3", "'broken.svg'", "not well-formed XML")


def test_a_posix_language_tag_is_mended(book: Book) -> None:
    """Case 43: {: lang="fr_CA" } is the BCP 47 tag fr-CA written the POSIX way: mended, with a warning."""
    chapter = book.document("Links and attributes")
    assert 'lang="fr-CA"' in chapter and "fr_CA" not in chapter
    assert_warned(book.result, "manuscript/01-links.md", 'lang="fr_CA"')
