"""Stage 3: converted chapters -> one print HTML document and per-chapter EPUB XHTML (Jinja2 templates).

The converted fragments are shared by both outputs; only what differs between paper and screen is
reshaped here: notes become page-foot floats in print, links cross file boundaries in the EPUB.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from lxml import etree
from markupsafe import Markup

from essaybook import __version__, contentmodel, crossrefs, log, mathtex
from essaybook.config import Config
from essaybook.diagnostics import Diagnostic
from essaybook.errors import TemplateError
from essaybook.labels import Labels, css_string, labels_for, language_of
from essaybook.manuscript import direction_of
from essaybook.model import BACK_ROLES, FRONT_ROLES, ROLES, Book, Chapter, Meta
from essaybook.renderers.pdf import roman
from essaybook.stylesheets import map_style
from essaybook.themes import Theme, read_stylesheet

EPUB_NS = "http://www.idpf.org/2007/ops"
GENERATED_COVER = "cover/cover.png"
ANCHOR_SCHEME = "essaybook-anchor:"
"""A link between two separately laid-out print documents (see :mod:`essaybook.layout`)."""
PAGE_PLACEHOLDER = "essaybook-page:"
"""``essaybook-page:<style>:<id>``: where a unit's cross-reference gets the page number of ``<id>`` written in
(see :func:`essaybook.layout.units.unit_html`)."""
PLACEHOLDER = "essaybook-chapter:"
"""The comment ``<!--essaybook-chapter:<id>-->`` marks where a chapter's content goes in the print frame."""
"""Where the EPUB keeps the typographic cover drawn for books without ``cover-image``."""
_WRAP = f'<div xmlns:epub="{EPUB_NS}">'
_EPUB_TYPE = f"{{{EPUB_NS}}}type"


@dataclass
class TocEntry:
    """One line of a table of contents."""

    title: str
    id: str
    level: int
    matter: str
    chapter: Chapter
    children: list[TocEntry] = field(default_factory=list)
    label: str = ""
    """Printed before the title: a part's "Part I"."""

    @property
    def full_title(self) -> str:
        """The title with its label, for the navigation and outlines that have one line per entry."""
        return f"{self.label}: {self.title}" if self.label else self.title


@dataclass
class EpubDocument:
    """One XHTML file of the EPUB."""

    name: str
    title: str
    xhtml: str
    chapter: Chapter | None = None
    properties: tuple[str, ...] = ()


@dataclass
class ComposedEpub:
    """The EPUB's XHTML documents and its navigation, made once for the package and the preview."""

    documents: list[EpubDocument]
    """Cover, title page, chapters, then ``nav.xhtml``: the order they are composed in (the manifest's)."""
    toc: list[TocEntry]
    """The table of contents ``nav.xhtml`` lists; the NCX lists the same."""

    @property
    def spine(self) -> list[EpubDocument]:
        """The reading order: the contents page (``nav.xhtml``) right before the first chapter."""
        spine = [d for d in self.documents if d.name != "nav.xhtml"]
        nav = [d for d in self.documents if d.name == "nav.xhtml"]
        first_text = next(i for i, d in enumerate(spine) if d.chapter is not None)
        return spine[:first_text] + nav + spine[first_text:]


DISPLAY_ROLES = ("dedication", "epigraph")
"""Roles set as display pages: centred on a page of their own, without running heads or folios."""
_ATTRIBUTION = re.compile(r"^\s*(?:\u2014|\u2015|\u2013|--)")
"""A line opening with a dash: in an epigraph, the name of who said it."""


def untitled(chapter: Chapter) -> bool:
    """A display page (dedication, epigraph) that neither front matter nor a heading titles: it prints no
    heading and has no entry in the contents or the outline (its title would be its file name)."""
    return chapter.role in DISPLAY_ROLES and not chapter.title_given and not chapter.headings


def book_labels(meta: Meta, config: Config) -> Labels:
    """The generated words of the book: its language's, with ``[labels]`` over them."""
    return labels_for(meta.lang, dict(config.labels))


def matter_of(chapter: Chapter, seen_body: bool) -> str:
    """'front', 'body' or 'back' for a chapter, by its role and place in the book."""
    if chapter.role in BACK_ROLES:
        return "back"
    if chapter.role in FRONT_ROLES and not seen_body:
        return "front"
    return "body"


def matters(book: Book) -> dict[str, str]:
    """Chapter id -> 'front', 'body' or 'back'; a section file is in its host's (see :func:`sections`)."""
    hosts = sections(book)
    result: dict[str, str] = {}
    seen_body = False
    for chapter in book.chapters:
        host = hosts.get(chapter.id)
        matter = result[host.id] if host is not None else matter_of(chapter, seen_body)
        seen_body = seen_body or matter != "front"
        result[chapter.id] = matter
    return result


@dataclass(frozen=True)
class Parts:
    """The book's parts (chapters with ``role: part``): each part's number, and the part each chapter is in
    (the body chapters after it, until the next part or the back matter)."""

    numbers: dict[str, int]
    parent: dict[str, str]

    def label(self, chapter: Chapter, labels: Labels) -> str:
        """The label printed over a part's title ("Part II" for the second, in the book's language and
        numerals); "" for any other chapter."""
        number = self.numbers.get(chapter.id)
        return labels.format("part", number=part_numeral(number, labels.lang)) if number else ""


def part_numeral(number: int, lang: str) -> str:
    """A part's number as books in ``lang`` print it: Chinese and Japanese in their numerals, others in
    capital roman numerals."""
    if language_of(lang) in ("zh", "ja") and number < 100:
        digits = "〇一二三四五六七八九"
        tens, ones = divmod(number, 10)
        return (("" if tens == 1 else digits[tens]) + "十" if tens else "") + (digits[ones] if ones else "")
    return roman(number).upper()


def book_parts(book: Book) -> Parts:
    """The parts of ``book``, numbered from 1 in reading order, and the chapters each holds."""
    kinds = matters(book)
    numbers: dict[str, int] = {}
    parent: dict[str, str] = {}
    current: str | None = None
    for chapter in book.chapters:
        if chapter.role == "part":
            numbers[chapter.id] = len(numbers) + 1
            current = chapter.id
        elif kinds[chapter.id] == "back":
            current = None
        elif kinds[chapter.id] == "body" and current is not None:
            parent[chapter.id] = current
    return Parts(numbers, parent)


def sections(book: Book) -> dict[str, Chapter]:
    """Section files: chapter id -> the chapter it continues (its host).

    A section file opens with a level-2 heading (as a sub-chapter of an mdBook does) and follows a chapter
    that opens at level 1 (or with the title the template sets), or another section file of it. It continues
    its host in print (no new page, the host's running heads) and nests under it in the contents; the EPUB
    keeps it as a file of its own. Display pages and parts host none; a file that sets its own role is no
    section file. A book whose chapters all open at level 2 has none.
    """
    found: dict[str, Chapter] = {}
    host: Chapter | None = None
    for chapter in book.chapters:
        opens_at = chapter.headings[0].level if chapter.has_title_heading and chapter.headings else 1
        if chapter.role == "chapter" and opens_at == 2 and host is not None:
            found[chapter.id] = host
            continue
        fits = opens_at == 1 and chapter.role not in DISPLAY_ROLES and chapter.role != "part"
        host = chapter if fits else None
    return found


def outline_levels(chapter: Chapter, section: bool = False) -> dict[str, int]:
    """Heading id -> level under the chapter title (the title is level 1; sections start at 2). In a section
    file (``section``) the headings keep their own levels: its title is a section of its host chapter."""
    if section:
        return {h.id: max(2, h.level) for h in chapter.headings}
    headings = chapter.headings[1:] if chapter.has_title_heading else chapter.headings
    top = chapter.headings[0].level if chapter.has_title_heading else min((h.level for h in headings), default=1) - 1
    return {h.id: max(2, h.level - top + 1) for h in headings}


def table_of_contents(book: Book, depth: int, labels: Labels | None = None) -> list[TocEntry]:
    """Chapters and their headings down to ``depth`` levels, nested; the chapters of a part nested under it
    (labelled "Part I" with ``labels``)."""
    kinds = matters(book)
    parts = book_parts(book)
    hosts = sections(book)
    entries: list[TocEntry] = []
    by_id: dict[str, TocEntry] = {}
    for chapter in book.chapters:
        if untitled(chapter):
            continue
        host = hosts.get(chapter.id)
        entry = TocEntry(
            title=chapter.title or chapter.rel, id=chapter.id, level=1, matter=kinds[chapter.id], chapter=chapter
        )
        levels = outline_levels(chapter, section=host is not None)
        if host is not None:
            # A section file is an entry under its host's; its own title heading is that entry.
            entry.level = 2
            levels.pop(chapter.headings[0].id, None)
        stack = [entry]
        for heading in chapter.headings:
            level = levels.get(heading.id)
            if level is None or level > depth:
                continue
            node = TocEntry(title=heading.text, id=heading.id, level=level, matter=entry.matter, chapter=chapter)
            while len(stack) > 1 and stack[-1].level >= level:
                stack.pop()
            stack[-1].children.append(node)
            stack.append(node)
        if chapter.role == "part" and labels is not None:
            entry.label = parts.label(chapter, labels)
        by_id[chapter.id] = entry
        if host is not None:
            if depth >= 2 and host.id in by_id:
                by_id[host.id].children.append(entry)
            continue
        part = by_id.get(parts.parent.get(chapter.id, ""))
        (part.children if part is not None else entries).append(entry)
    return entries


def _fragment(chapter: Chapter) -> etree._Element:
    return etree.fromstring(f"{_WRAP}{chapter.html}</div>")


def _add_author(root: etree._Element, chapter: Chapter) -> None:
    """Put a chapter's subtitle, author line (an anthology's) and date right under its title heading, then its
    abstract; at the start of the text when the template sets the title (and the author line)."""
    parts: list[etree._Element] = []
    for cls, text in (
        ("chapter-subtitle", chapter.subtitle),
        ("chapter-author", ", ".join(chapter.author) if chapter.has_title_heading else None),
        ("chapter-date", chapter.date),
    ):
        if text:
            line = etree.Element("p", {"class": cls})
            line.text = text
            parts.append(line)
    if chapter.abstract:
        section = etree.Element("section", {"class": "abstract", "role": "doc-abstract"})
        for paragraph in re.split(r"\n\s*\n", chapter.abstract):
            etree.SubElement(section, "p").text = " ".join(paragraph.split())
        parts.append(section)
    if not parts:
        return
    heading = next((e for e in root if isinstance(e.tag, str)), None) if chapter.has_title_heading else None
    if heading is None:
        for part in reversed(parts):
            root.insert(0, part)
        parts[-1].tail, root.text = root.text, None
        return
    for part in reversed(parts):
        heading.addnext(part)
    parts[-1].tail, heading.tail = heading.tail, None


def _inner(wrapper: etree._Element, method: str) -> Markup:
    """The one place where converted Markdown becomes template-safe markup."""
    text = wrapper.text or ""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    body = "".join(etree.tostring(child, encoding="unicode", method=method, with_tail=True) for child in wrapper)
    return Markup(escaped + body)


def _render(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            f"template syntax error: {exc.message}", file=exc.filename or name, line=exc.lineno
        ) from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template {exc.name!r} not found", file=name) from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"template uses an undefined value: {exc.message}", file=name) from None
    except TemplateError:
        raise
    except SecurityError as exc:
        file, line = _template_place(exc, name)
        raise TemplateError(
            f"the template reaches for what templates may not use: {exc}",
            file=file,
            line=line,
            hint="a template may use the values it is given (meta, chapters, ...), not Python's internals",
        ) from None
    except Exception as exc:  # a runtime error in a template (a project's own, most often)
        file, line = _template_place(exc, name)
        raise TemplateError(f"the template failed: {type(exc).__name__}: {exc}", file=file, line=line) from None


def _template_place(exc: BaseException, name: str) -> tuple[str, int | None]:
    """The template file and line where ``exc`` was raised (Jinja maps template frames to template lines)."""
    place: tuple[str, int | None] = (name, None)
    trace = exc.__traceback__
    while trace is not None:
        filename = trace.tb_frame.f_code.co_filename
        if filename.endswith((".html", ".xhtml", ".xml", ".ncx")) or "/templates/" in filename:
            place = (filename, trace.tb_lineno)
        trace = trace.tb_next
    return place


def _mark_attributions(root: etree._Element, chapter: Chapter) -> None:
    """In an epigraph, a paragraph opening with a dash names its source: class ``attribution``."""
    if chapter.role != "epigraph":
        return
    for para in root.iter("p"):
        if _ATTRIBUTION.match("".join(para.itertext())):
            para.set("class", f"{para.get('class', '')} attribution".strip())


def _chapter_context(
    chapter: Chapter, matter: str, content: Markup, labels: Labels, parts: Parts | None = None
) -> dict[str, Any]:
    epub_type, role = ROLES[chapter.role]
    return {
        "part_label": parts.label(chapter, labels) if parts is not None else "",
        "in_part": parts is not None and chapter.id in parts.parent,
        "opens_body": False,
        "id": chapter.id,
        "title": labels[chapter.role] if untitled(chapter) else chapter.title,
        "untitled": untitled(chapter),
        "display": chapter.role in DISPLAY_ROLES and matter == "front",
        "role": chapter.role,
        "epub_type": epub_type,
        "aria_role": role,
        "dir": direction_of(chapter.lang) if chapter.lang else None,
        "authors": chapter.author,
        "lang": chapter.lang,
        "matter": matter,
        "has_title_heading": chapter.has_title_heading,
        "content": content,
        "source": chapter.rel,
    }


def _common(meta: Meta, config: Config) -> dict[str, Any]:
    labels = book_labels(meta, config)
    return {
        # Templates print the book's date as its language writes it ("15 January 2026"); a title page, the year.
        "meta": dataclasses.replace(meta, date=labels.date(meta.date) or None),
        "title_page_meta": dataclasses.replace(meta, date=labels.date(meta.date, year_only=True) or None),
        "pdf": config.pdf,
        "epub": config.epub,
        "generator": f"essaybook {__version__}",
        "labels": labels,
        # Generated words CSS prints (the endnotes' heading), as CSS strings.
        "css_labels": {"notes": Markup(css_string(labels["notes"]))},
    }


# ----------------------------------------------------------------------------------------------- print


def _blocks(root: etree._Element) -> list[etree._Element]:
    """The chapter's top-level blocks: the unit at which print pages are mapped into the EPUB."""
    return [child for child in root if isinstance(child.tag, str)]


def _mark_note_block(root: etree._Element, call: etree._Element, note_id: str) -> None:
    """Name ``note_id`` on the top-level block that holds its ``call`` (``data-notes``), and on a heading just
    before that block (``data-notes-next``): the renderer's footnote passes find them there."""
    block = call
    while block.getparent() is not None and block.getparent() is not root:
        block = block.getparent()
    block.set("data-notes", f"{block.get('data-notes', '')} {note_id}".strip())
    previous = block.getprevious()
    if previous is not None and previous.tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
        # Lets the renderer move a heading together with the paragraph that follows it.
        previous.set("data-notes-next", f"{previous.get('data-notes-next', '')} {note_id}".strip())
        block.set("data-after-heading", "")


def print_fragment(
    chapter: Chapter,
    notes: str,
    book: Book,
    anchors: list[str] | None = None,
    note_capacity: int = 0,
    elsewhere: frozenset[str] = frozenset(),
    links: str = "none",
    xrefs: dict[str, str] | None = None,
    labels: Labels | None = None,
    referred: list[str] | None = None,
    code: CodeOptions | None = None,
    section_file: bool = False,
) -> Markup:
    """Reshape one chapter for paper: notes float to the page foot (or gather at its end), images by path.

    Every top-level block gets an id (appended to ``anchors``) so the renderer can tell on which page
    each block begins; the EPUB's page-break markers are placed by the same block numbers. A link to one
    of the ids in ``elsewhere`` (laid out in another document) is addressed as ``essaybook-anchor:<id>``,
    which the PDF assembly turns back into a link to that named destination.

    ``links`` is ``[pdf] links`` (how external links print); ``xrefs`` maps every id a link may reach in
    another chapter to the counter style of its page ('decimal', 'lower-roman'), or is None when links print
    no page; the ids this chapter's links print the page of are appended to ``referred``. ``section_file``: the
    chapter is a section file (see :func:`sections`), whose headings keep their levels in the outline.
    """
    root = _fragment(chapter)
    _add_author(root, chapter)
    mathtex.for_print(root)
    _mark_attributions(root, chapter)
    _autolink(root)
    if xrefs is not None:
        found = _cross_references(root, xrefs, labels or labels_for("en"), bool(elsewhere))
        if referred is not None:
            referred.extend(found)
    if elsewhere:
        own = {e.get("id") for e in root.iter() if e.get("id")}
        for a in root.iter("a"):
            target = a.get("href", "")[1:] if a.get("href", "").startswith("#") else None
            if target and target not in own and target in elsewhere:
                a.set("href", ANCHOR_SCHEME + target)
    for number, block in enumerate(_blocks(root)):
        if not block.get("id"):
            block.set("id", f"eb-{chapter.index}-{number}")
        if anchors is not None:
            anchors.append(block.get("id", ""))
    levels = outline_levels(chapter, section_file)
    for heading in root.iter("h1", "h2", "h3", "h4", "h5", "h6"):
        level = levels.get(heading.get("id", ""))
        if level is not None and level <= 3:
            heading.set("class", f"{heading.get('class', '')} outline-{level}".strip())
    for img in root.iter("img"):
        if img.get("src", "").startswith("images/"):
            img.set("src", "essaybook:" + img.get("src", ""))
    _style_urls(root, "essaybook:")
    _keep_short_blocks(root)
    _print_code_and_urls(root, code or CodeOptions())
    _links_on_paper(root, links, notes, chapter)
    if notes == "footnotes":
        section = root.find("section[@class='footnotes']")
        notes_by_id = {a.get("id"): a for a in section.iter("aside")} if section is not None else {}
        for ref in list(root.iter("a")):
            if ref.get("class") != "noteref":
                continue
            note = notes_by_id.get(ref.get("href", "")[1:])
            if note is None:
                continue
            note_id = note.get("id", "")
            # An empty marker at the call lets the renderer check that call and note share a page.
            call = etree.Element("span", {"class": "footnote-call-mark", "id": f"{note_id}-call"})
            span = etree.Element("span", {"class": "footnote", "id": note_id})
            _flatten_note(note, span)
            parts = _split_note(span, note_capacity) if note_capacity else [span]
            parts[-1].tail = ref.tail
            parent = ref.getparent()
            assert parent is not None
            parent.replace(ref, call)
            for part in reversed(parts):
                call.addnext(part)
            _mark_note_block(root, call, note_id)
        if section is not None:
            root.remove(section)
    else:
        _drop_backlinks(root)
    for element in root.iter():
        element.attrib.pop(_EPUB_TYPE, None)
    etree.cleanup_namespaces(root)
    return _inner(root, "html")


_SENTENCE_END = re.compile(r"(?<=[.!?;:\u2026\u3002\uff01\uff1f])\s+")


def _split_note(span: etree._Element, limit: int) -> list[etree._Element]:
    """A note longer than ``limit`` characters -> the note and continuation parts, each at most about ``limit``.

    WeasyPrint cannot split one footnote across pages and cuts what does not fit; a footnote that does not
    fit is deferred to the next page whole. So a long note becomes several footnotes: the first at the call,
    the others unnumbered and without a call (class ``footnote-continued``), which WeasyPrint carries over to
    the following pages as space runs out. Parts break between paragraphs, else between sentences.
    """
    if len(" ".join("".join(span.itertext()).split())) <= limit:
        return [span]
    pieces: list[etree._Element] = []  # note-para spans, none longer than a third of the limit
    limit_piece = limit // 3
    for para in list(span):
        if len("".join(para.itertext())) <= limit_piece:
            pieces.append(para)
            continue
        atoms: list[str | etree._Element] = [*_SENTENCE_END.split(para.text or "")]
        for child in para:
            tail, child.tail = child.tail, None
            atoms.append(child)
            atoms.extend(_SENTENCE_END.split(tail or ""))
        current = etree.Element("span", {"class": "note-para"})
        size = 0
        for atom in atoms:
            length = len(atom) if isinstance(atom, str) else len("".join(atom.itertext()))
            if size and size + length > limit_piece:
                # A trailing space, not a leading one: where the next piece starts a part on a new page, a
                # leading space would indent it; where it runs on in the same part, this one separates them.
                last = current[-1] if len(current) else None
                if last is None:
                    current.text = (current.text or "") + " "
                else:
                    last.tail = (last.tail or "") + " "
                pieces.append(current)
                current = etree.Element("span", {"class": "note-para note-para-continued"})
                size = 0
            if isinstance(atom, str):
                if not atom:
                    continue
                text = atom if size == 0 else " " + atom
                last = current[-1] if len(current) else None
                if last is None:
                    current.text = (current.text or "") + text
                else:
                    last.tail = (last.tail or "") + text
            else:
                current.append(atom)
            size += length + 1
        pieces.append(current)
    parts: list[etree._Element] = []
    size = limit + 1
    for piece in pieces:
        length = len("".join(piece.itertext()))
        # The first part must fit below the citing line, often on a page already holding other notes.
        if size + length > (limit if len(parts) > 1 else limit // 3):
            part = etree.Element("span", {"class": "footnote" if not parts else "footnote footnote-continued"})
            if not parts:
                part.set("id", span.get("id", ""))
            parts.append(part)
            size = 0
        parts[-1].append(piece)
        size += length
    return parts


CODE_HANG = 2
"""Characters a wrapped code line's continuation is indented by, past the line's own indentation."""
CODE_HANG_LIMIT = 24
"""The deepest indentation a continuation follows: past it, the line's continuations all start here (a hang
wider than the measure would leave no room for text, a character a line)."""
_URL_TEXT = re.compile(r"^(?:https?://|mailto:|www\.)\S+$", re.IGNORECASE)
_BREAK_AFTER = re.compile(r"(?<=[/.\-_?&=#])(?=[^\s\u200b])")
"""Where a URL or a long code span may break (after these, with no hyphen)."""


@dataclass(frozen=True)
class PlainTokens:
    """Pygments token classes whose spans add nothing to the printed page (see :func:`plain_tokens`)."""

    always: frozenset[str] = frozenset()
    """Classes no rule styles, or styled only in the code's own colour."""
    blank: frozenset[str] = frozenset()
    """Classes styled only by a colour: plain on white space, which has no ink."""

    def covers(self, element: etree._Element) -> bool:
        """``element`` is a bare token span of a plain class (its text then goes on as the code's own)."""
        if element.tag != "span" or list(element.attrib) != ["class"]:
            return False
        name = element.get("class", "")
        if name in self.always:
            return True
        return name in self.blank and not len(element) and not (element.text or "").strip()


_CODE_RULE = re.compile(r"(?P<selector>[^{}]*)\{(?P<body>[^{}]*)\}")
_CODE_TOKEN = re.compile(r"^\.codehilite\s+\.(?P<name>[\w-]+)$")
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


def plain_tokens(code_css: str, other_css: str) -> PlainTokens:
    """The token classes of Pygments' highlighting that the print document can leave as plain text.

    A code block is a span per token (Pygments), and WeasyPrint styles, lays out, draws and tags every span:
    for the Rust book's code, where most tokens are names and operators in the code's own colour, that was a
    sixth of its layout time. A token's span is left out where it changes nothing: its class has no rule in
    ``code_css`` (the Pygments rules as printed), or one that only sets the code's own colour: the colour the
    style gives ``.codehilite``, or black for a style that gives none (Pygments draws those on black text). A
    class named anywhere in ``other_css`` (the theme's and the project's stylesheets, the book template) keeps
    its spans: a stylesheet may style it; every class does where one of them imports another.
    """
    from pygments.token import STANDARD_TYPES

    rules: dict[str, list[tuple[str, str]]] = {}
    base = "#000000"
    for match in _CODE_RULE.finditer(_CSS_COMMENT.sub("", code_css)):
        declarations = [
            (name.strip().lower(), value.strip().lower())
            for name, _, value in (d.partition(":") for d in match.group("body").split(";"))
            if name.strip()
        ]
        for selector in (s.strip() for s in match.group("selector").split(",")):
            if selector == ".codehilite":
                base = _hex_colour(dict(declarations).get("color", "")) or base
            token = _CODE_TOKEN.match(selector)
            if token is not None:
                rules.setdefault(token.group("name"), []).extend(declarations)
            elif "." in selector:  # another rule (a line-number or highlighted-line rule) styles its classes
                for name in re.findall(r"\.([\w-]+)", selector):
                    rules.setdefault(name, []).append(("", ""))
    other_css = _CSS_COMMENT.sub("", other_css)
    if "@import" in other_css.lower():  # a stylesheet this cannot see might style any class
        return PlainTokens()
    mentioned = set(re.findall(r"\.([\w-]+)", other_css))
    always, blank = set(), set()
    for name in set(STANDARD_TYPES.values()) - mentioned - {""}:
        declarations = rules.get(name, [])
        if not all(prop == "color" and _hex_colour(value) is not None for prop, value in declarations):
            continue
        blank.add(name)
        if all(_hex_colour(value) == base for _, value in declarations):
            always.add(name)
    return PlainTokens(frozenset(always), frozenset(blank))


def _hex_colour(value: str) -> str | None:
    """``#rgb`` or ``#rrggbb`` as lower-case ``#rrggbb``; None for any other value."""
    match = re.fullmatch(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})", value.strip())
    if match is None:
        return None
    digits = match.group(1).lower()
    return "#" + ("".join(c * 2 for c in digits) if len(digits) == 3 else digits)


def _code_lines(pre: etree._Element, short: int = 0, plain: PlainTokens = PlainTokens()) -> None:
    """Each source line of ``pre`` -> a block ``span.code-line`` whose wrapped continuation lines hang under it;
    a line of fewer than ``short`` characters, which cannot wrap, stays text as it was.

    The line keeps its leading spaces (so copying the code keeps them); its padding is its indentation plus
    :data:`CODE_HANG` and its text indent the negative of that, so a line that wraps goes on at its own
    indentation plus the hang, where the theme draws a continuation mark (``--indent`` gives the mark its
    place). Token spans that cross a line end (a multi-line string) are cut into one per line; those of
    ``plain`` classes are left out.
    """
    code = pre.find("code")
    holder = code if code is not None else pre
    for empty in pre.findall("span"):  # Pygments opens every block with an empty span: one element less each
        if not (len(empty) or empty.attrib or empty.text or empty.tail):
            pre.remove(empty)
    segments: list[tuple[str, list[etree._Element]]] = []

    def walk(element: etree._Element, chain: list[etree._Element]) -> None:
        if element.text:
            segments.append((element.text, chain))
        for child in element:
            if isinstance(child.tag, str):
                walk(child, chain if plain.covers(child) else [*chain, child])
            if child.tail:
                segments.append((child.tail, chain))

    walk(holder, [])
    lines: list[list[tuple[str, list[etree._Element]]]] = [[]]
    for text, chain in segments:
        for number, part in enumerate(text.split("\n")):
            if number:
                lines.append([])
            if part:
                lines[-1].append((part, chain))
    if len(lines) > 1 and not lines[-1]:
        lines.pop()  # the newline that ends the last line
    for child in list(holder):
        holder.remove(child)
    holder.text = None
    for line in lines:
        source = "".join(text for text, _ in line)
        expanded = source.expandtabs(8)
        if len(expanded) < short:
            span = holder  # the line's tokens go on after the last line's, as they were
        else:
            indent = len(expanded) - len(expanded.lstrip(" ")) if source.strip() else 0
            indent = min(indent, CODE_HANG_LIMIT)
            # The indentation goes into the first token's own span: WeasyPrint (70), when a token's span
            # overflows the line and its first part ends where a preserved space would overhang, gives up on
            # splitting the span and breaks before it, after the bare indentation, leaving an empty line and
            # the whole token on a continuation line (found on the modern theme's proof sheet).
            while len(line) > 1 and not line[0][0].strip() and line[1][1]:
                (space, _), (text, chain) = line[0], line[1]
                line[:2] = [(space + text, chain)]
            span = etree.SubElement(
                holder,
                "span",
                {
                    "class": "code-line",
                    "style": f"padding-left: {indent + CODE_HANG}ch; text-indent: -{indent + CODE_HANG}ch; "
                    f"background-position: 0 0, {indent + 0.5:g}ch 0",
                },
            )
        for text, chain in line:
            parent = span
            for element in chain:  # the token's spans, shallow copies
                copied = etree.SubElement(parent, element.tag, dict(element.attrib))
                parent = copied
            if parent is span:
                last = span[-1] if len(span) else None
                if last is None:
                    span.text = (span.text or "") + text
                else:
                    last.tail = (last.tail or "") + text
            else:
                parent.text = text
        # The line's end stays in the text (a copied block keeps its lines) and gives an empty line its height.
        last = span[-1] if len(span) else None
        if last is None:
            span.text = (span.text or "") + "\n"
        else:
            last.tail = (last.tail or "") + "\n"


KEEP_LINES = 8
"""A code block of at most this many lines, or a table of at most this many rows, is kept on one page: moved
whole, it leaves at most that much space at a page foot. A longer one may break across pages (issue 12, item 4)."""
KEEP_CHARACTERS = 480
"""A note, callout or quotation of at most this many characters (about six lines) is kept on one page."""
_KEEP_CLASS = "keep-whole"


def _block_lines(block: etree._Element) -> int:
    """About how many lines ``block`` sets: a code block's lines, a table's rows, else its text over 80."""
    if block.tag == "pre":
        return len("".join(block.itertext()).rstrip("\n").split("\n"))
    if block.tag == "table":
        return sum(1 for _ in block.iter("tr"))
    parts = [_block_lines(inner) for inner in block.iter("pre", "table") if inner is not block]
    if parts:
        return sum(parts) + 1
    return 1 + len(" ".join("".join(block.itertext()).split())) // 80


def _keep_short_blocks(root: etree._Element) -> None:
    """Mark the blocks that must not break across pages ``keep-whole`` (pages.css keeps them whole): a figure of
    an image, and a code block, table, listing, note or quotation short enough that moving it whole leaves
    little space at a page foot (:data:`KEEP_LINES`, :data:`KEEP_CHARACTERS`). Longer ones may break, a table
    repeating its header row, so no page is left half empty because one block did not fit (issue 12, item 4)."""
    for block in root.iter("pre", "table", "figure", "aside", "blockquote", "div"):
        classes = (block.get("class") or "").split()
        if any(a.tag == "section" and "footnotes" in (a.get("class") or "") for a in block.iterancestors()):
            continue  # the notes take their own shape for paper
        if block.tag == "div" and not {"admonition", "callout", "codehilite"} & set(classes):
            continue
        if block.tag == "div" and "codehilite" in classes:
            continue  # its <pre> is marked
        if block.tag == "figure" and not any(True for _ in block.iter("pre", "table")):
            keep = True  # an image cannot split
        elif block.tag in ("pre", "table", "figure"):
            keep = _block_lines(block) <= KEEP_LINES
        else:
            keep = len(" ".join("".join(block.itertext()).split())) <= KEEP_CHARACTERS
        if keep and _KEEP_CLASS not in classes:
            block.set("class", " ".join([*classes, _KEEP_CLASS]))


def _breakable(element: etree._Element) -> None:
    """Let a URL or long code span break after ``/``, ``.``, ``-`` and the like, never with a hyphen: a zero
    width space after each (the themes set ``hyphens: manual`` on code and URLs). Not ``<wbr>``, which
    WeasyPrint draws as that same character but in a box of its own: thousands of them in a long address
    made its layout minutes long."""
    for holder in [element, *element.iterdescendants()]:
        for attribute in ("text", "tail"):
            if holder is element and attribute == "tail":
                continue
            text = getattr(holder, attribute)
            if text and len(text) >= 12:
                setattr(holder, attribute, _BREAK_AFTER.sub("\u200b", text))


def code_wrap_length(config: Config) -> int:
    """The fewest characters a code line may need to wrap on this book's pages: shorter ones are left as they
    are by :func:`_code_lines`, so fewer blocks are laid out (two thirds of the Rust book's code lines).

    Reckoned low: a character of code 6 pt wide (the themes set code at about 9 pt, 0.6 em a character), less
    3 em of the block's own padding and 20 % for a list or quotation around it. With a text width that
    cannot be read, every line is made a block."""
    width = config.pdf.text_width_pt
    if width is None:
        return 0
    return max(0, int((width - 36) * 0.8 / 6))


LONG_CODE = 10
"""Lines from which a code block may break across pages (class ``code-long``, see pages.css)."""


@dataclass(frozen=True)
class CodeOptions:
    """How the print document sets code blocks."""

    wrap: int = 0
    """Lines shorter than this stay as they are (see :func:`code_wrap_length`)."""
    plain: PlainTokens = PlainTokens()
    """Highlighting spans left out (see :func:`plain_tokens`)."""


def _print_code_and_urls(root: etree._Element, code: CodeOptions) -> None:
    """Code blocks wrap with a hanging indent; code spans and URLs break without hyphens (issue 12, item 2).

    A code block of more than :data:`LONG_CODE` lines, and the highlighting box or figure (an mdBook listing)
    around it, get class ``code-long``: it may break across pages."""
    for pre in list(root.iter("pre")):
        ancestors = list(pre.iterancestors())
        if any(a.tag == "section" and "footnotes" in (a.get("class") or "") for a in ancestors):
            continue
        highlighted = any("codehilite" in (a.get("class") or "").split() for a in ancestors)
        _code_lines(pre, code.wrap, code.plain if highlighted else PlainTokens())
        if "".join(pre.itertext()).rstrip("\n").count("\n") >= LONG_CODE:
            for holder in [pre, *pre.iterancestors()]:
                classes = (holder.get("class") or "").split()
                if holder is pre or holder.tag == "figure" or "codehilite" in classes:
                    holder.set("class", " ".join([*classes, "code-long"]))
                if holder.getparent() is root:
                    break
    for inline in list(root.iter("code", "kbd", "samp")):
        if any(a.tag == "pre" for a in inline.iterancestors()):
            continue
        _breakable(inline)
    for a in list(root.iter("a")):
        text = "".join(a.itertext())
        if _URL_TEXT.match(text):
            a.set("class", f"{a.get('class', '')} url".strip())
            _breakable(a)


_CSS_COLOUR = re.compile(r"(?P<property>[\w-]*color)\s*:\s*#(?P<hex>[0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b")


def grey_code_css(css: str) -> str:
    """The Pygments rules with every colour turned to a grey of the same lightness order, for a black interior:
    text from black to a mid grey no lighter than #737373 (4.7:1 on white, readable at text size), backgrounds
    a light tint. Syntax colours are mostly dark, so their lightness is stretched to keep them apart."""

    def grey(match: re.Match[str]) -> str:
        value = (_hex_colour("#" + match.group("hex")) or "#000000")[1:]
        red, green, blue = (int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
        lightness = 0.2126 * red + 0.7152 * green + 0.0722 * blue
        background = match.group("property").startswith("background")
        level = round(255 * (0.9 + 0.1 * lightness if background else min(0.45, 1.6 * lightness)))
        return f"{match.group('property')}: #{level:02x}{level:02x}{level:02x}"

    return _CSS_COLOUR.sub(grey, css)


_BARE_URL = re.compile(r"\bhttps?://[^\s<>\"'\u00a0]+", re.IGNORECASE)
_TRAILING = ".,;:!?'\"\u2019\u201d*_"
_NO_AUTOLINK = frozenset({"a", "code", "kbd", "samp", "pre", "script", "style", "math", "svg"})


def _autolink(root: etree._Element) -> None:
    """Bare ``http(s)://`` addresses in running text become links (both outputs; issue 12, item 3). A trailing
    full stop, comma, quote or unbalanced parenthesis is the sentence's, not the address's."""
    for element in list(root.iter()):
        if not isinstance(element.tag, str) or element.tag in _NO_AUTOLINK:
            continue
        if any(a.tag in _NO_AUTOLINK for a in element.iterancestors()):
            continue
        _autolink_text(element, "text")
        for child in list(element):
            if isinstance(child.tag, str):
                _autolink_text(child, "tail")


def _autolink_text(holder: etree._Element, attribute: str) -> None:
    text = getattr(holder, attribute)
    if not text or "://" not in text:
        return
    pieces: list[str | etree._Element] = []
    position = 0
    for match in _BARE_URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        while url.endswith(")") and url.count(")") > url.count("("):
            url = url[:-1].rstrip(_TRAILING)
        if "://" not in url or url.endswith("://"):
            continue
        link = etree.Element("a", {"href": url})
        link.text = url
        pieces.extend([text[position : match.start()], link])
        position = match.start() + len(url)
    if not pieces:
        return
    pieces.append(text[position:])
    setattr(holder, attribute, pieces[0])
    if attribute == "text":
        parent, index = holder, 0
    else:
        found = holder.getparent()
        assert found is not None
        parent, index = found, found.index(holder) + 1
    last: etree._Element | None = None
    for piece in pieces[1:]:
        if isinstance(piece, str):
            assert last is not None
            last.tail = piece
        else:
            parent.insert(index, piece)
            index += 1
            last = piece


def _external(href: str) -> bool:
    return href.lower().startswith(("http://", "https://", "mailto:", "ftp://"))


def _shown(url: str) -> str:
    """An address as a reader reads it: an e-mail address without ``mailto:``, a web address as written."""
    if url.lower().startswith("mailto:"):
        return url[7:]
    return url


def _says_its_address(text: str, href: str) -> bool:
    """Whether a link's text is its address already ("example.org/x" for ``https://example.org/x`` too)."""
    bare = re.sub(r"^([a-z]+://)?(www\.)?", "", href.lower()).rstrip("/")
    said = re.sub(r"^([a-z]+://)?(www\.)?", "", text.lower()).rstrip("/")
    return said in (bare, _shown(href).lower().rstrip("/"))


def _links_on_paper(root: etree._Element, links: str, notes: str, chapter: Chapter) -> None:
    """Print where an external link leads (issue 12, item 3): its address in a page-foot note (``footnote``),
    in parentheses after its text (``after``, also for ``footnote`` when notes are endnotes), or not at all
    (``none``). A link whose text is its address prints nothing more."""
    if links == "none":
        return
    number = 0
    for a in list(root.iter("a")):
        href = a.get("href", "")
        if not _external(href) or any(e.tag in ("pre", "code") for e in a.iterancestors()):
            continue
        text = " ".join("".join(a.itertext()).split())
        url = _shown(href)
        if _says_its_address(text, href) or "url" in (a.get("class") or "").split():
            continue
        parent = a.getparent()
        if parent is None:
            continue
        # Not a note in a note, nor one in a heading (whose text becomes the running head): their
        # addresses follow the link.
        in_note = any(e.tag == "section" and "footnotes" in (e.get("class") or "") for e in a.iterancestors())
        in_heading = any(e.tag in ("h1", "h2", "h3", "h4", "h5", "h6") for e in a.iterancestors())
        if links == "footnote" and notes == "footnotes" and not in_note and not in_heading:
            number += 1
            note_id = f"link-{chapter.index}-{number}"
            # The same markup as a written note (see print_fragment), so the page-foot machinery treats it alike.
            call = etree.Element("span", {"class": "footnote-call-mark", "id": f"{note_id}-call"})
            note = etree.Element("span", {"class": "footnote link-note", "id": note_id})
            para = etree.SubElement(note, "span", {"class": "note-para"})
            shown = etree.SubElement(para, "a", {"href": href, "class": "url"})
            shown.text = url
            _breakable(shown)
            note.tail, a.tail = a.tail, None
            a.addnext(call)
            call.addnext(note)
            _mark_note_block(root, call, note_id)
        else:
            after = etree.Element("span", {"class": "link-url"})
            after.text = " ("
            shown = etree.SubElement(after, "a", {"href": href, "class": "url"})
            shown.text = url
            shown.tail = ")"
            _breakable(shown)
            after.tail, a.tail = a.tail, None
            a.addnext(after)


def _cross_references(root: etree._Element, xrefs: dict[str, str], labels: Labels, split: bool) -> list[str]:
    """Links within the book, to another chapter or elsewhere in this one, print the page they lead to,
    "(p. 42)": class ``xref`` (pages.css adds the number with ``target-counter()``), the label's words around it
    in ``data-page-before``/``-after``. In a book laid out unit by unit (``split``), the number is written in
    later (``essaybook-page:`` placeholders, see layout/units.py), and a unit whose own pages move is laid out
    again until its numbers hold. Returns the ids referred to."""
    before, _, after = labels["page-reference"].partition("{page}")
    targets = []
    for a in root.iter("a"):
        href = a.get("href", "")
        target = (
            href[1:] if href.startswith("#") else href[len(ANCHOR_SCHEME) :] if href.startswith(ANCHOR_SCHEME) else None
        )
        if not target or target not in xrefs:
            continue
        if any(e.tag in ("pre",) for e in a.iterancestors()) or (a.get("class") or "") == "noteref":
            continue
        style = xrefs[target]
        a.set("class", f"{a.get('class', '')} xref{' xref-front' if style == 'lower-roman' else ''}".strip())
        a.set("data-page-before", before)
        a.set("data-page-after", after)
        if split:
            for counter in ("decimal", "lower-roman"):
                a.set(f"data-essaybook-page-{counter}", f"{PAGE_PLACEHOLDER}{counter}:{target}")
        targets.append(target)
    return targets


def _drop_backlinks(root: etree._Element) -> None:
    """Paper has no links back to the call."""
    for back in list(root.iter("a")):
        parent = back.getparent()
        if back.get("role") == "doc-backlink" and parent is not None:
            parent.remove(back)


def note_capacity(config: Config) -> int:
    """Characters of 8.5 pt note text that fill about half the text block: longer notes cannot be footnotes."""
    width, height = (_points(v) for v in config.pdf.css_size.split())
    text_width = width - _points(config.pdf.margin_inside) - _points(config.pdf.margin_outside)
    text_height = height - _points(config.pdf.margin_top) - _points(config.pdf.margin_bottom)
    return int((text_width / 4.0) * (text_height / 11.0) / 2)


def _points(length: str) -> float:
    units = {"mm": 72 / 25.4, "cm": 72 / 2.54, "in": 72.0, "pt": 1.0, "pc": 12.0, "px": 0.75}
    unit = length.strip()[-2:]
    return float(length.strip()[:-2]) * units[unit]


def _flatten_note(note: etree._Element, span: etree._Element) -> None:
    """Note paragraphs -> inline content of one span (a page-foot float must sit inside the paragraph)."""
    for label in note.iterfind(".//span[@class='note-label']"):
        parent = label.getparent()
        assert parent is not None
        parent.text = (parent.text or "") + (label.tail or "")
        parent.remove(label)
    for back in list(note.iter("a")):
        if back.get("role") == "doc-backlink":
            contentmodel.drop_keep_tail(back)
    for block in list(note):
        inline = copy.deepcopy(block)
        inline.tag = "span"
        inline.attrib.clear()
        inline.attrib["class"] = "note-para"
        span.append(inline)
        inline.tail = None
    # Trailing non-breaking space left by the removed backlink. Source line ends become spaces: WeasyPrint
    # (up to 70) breaks a footnote's line at a newline once an earlier line of the note has wrapped.
    for text_holder in span.iter():
        preformatted = any(a.tag == "pre" for a in text_holder.iterancestors()) or text_holder.tag == "pre"
        if text_holder.text:
            text_holder.text = text_holder.text.rstrip("\u00a0")
            if not preformatted:
                text_holder.text = text_holder.text.replace("\n", " ")
        if text_holder.tail:
            text_holder.tail = text_holder.tail.rstrip("\u00a0")
            if text_holder is not span:
                text_holder.tail = text_holder.tail.replace("\n", " ")


@dataclass
class PrintDocument:
    """The print HTML and, in document order, the anchor of every chapter block: (chapter index, block, id).

    ``frame`` is the same document with each chapter's content left out as a ``<!--essaybook-chapter:<id>-->``
    comment, ``fragments`` that content by chapter id, and ``running`` the text of each chapter's title
    heading (what its running head prints): the book layout lays chapters out one document each from these.
    """

    html: str
    blocks: list[tuple[int, int, str]]
    frame: str = ""
    fragments: dict[str, str] = field(default_factory=dict)
    running: dict[str, str] = field(default_factory=dict)
    ids: dict[str, frozenset[str]] = field(default_factory=dict)
    """Chapter id -> the ids in its content (what links from other chapters can reach)."""
    referred: dict[str, list[str]] = field(default_factory=dict)
    """Chapter id -> the ids in other chapters whose page its cross-references print (``essaybook-page:``)."""


def compose_print(
    book: Book,
    meta: Meta,
    config: Config,
    theme: Theme,
    env: jinja2.Environment,
    layout: str,
    code_css: str = "",
    split: bool = False,
) -> PrintDocument:
    """The whole book as one HTML document for WeasyPrint (``code_css``: the Pygments rules, inlined).

    With ``split``, links between chapters are addressed for separately laid-out documents (see
    :func:`print_fragment`) and the frame and fragments are kept apart.
    """
    kinds = matters(book)
    labels = book_labels(meta, config)
    parts = book_parts(book)
    chapters = []
    blocks: list[tuple[int, int, str]] = []
    fragments: dict[str, str] = {}
    running: dict[str, str] = {}
    hosts = sections(book)
    ids = {c.id: frozenset(_ids(c)) for c in book.chapters} if split or config.pdf.page_references else {}
    elsewhere = frozenset(i for c in book.chapters for i in [c.id, *ids[c.id]]) if split else frozenset()
    xrefs: dict[str, str] | None = None
    if config.pdf.page_references:
        # Each id a link may reach, with the counter style of its page: front matter's folios are roman.
        xrefs = {
            target: "lower-roman" if layout == "book" and kinds[c.id] == "front" else "decimal"
            for c in book.chapters
            for target in [c.id, *ids[c.id]]
        }
    referred: dict[str, list[str]] = {}
    for chapter in book.chapters:
        if chapter.id not in hosts:
            running[chapter.id] = _running_title(chapter)
            placeholder = Markup(f"<!--{PLACEHOLDER}{chapter.id}-->")
            chapters.append(_chapter_context(chapter, kinds[chapter.id], placeholder, labels, parts))
    first_body = next((c for c in chapters if c["matter"] != "front"), None)
    if first_body is not None:
        first_body["opens_body"] = True
    # Generated by Pygments, not from the manuscript; in greys unless [pdf] code-colour asks for colour.
    printed_code_css = code_css if config.pdf.code_colour else grey_code_css(code_css)
    context = _common(meta, config) | {
        "layout": layout,
        "chapters": chapters,
        # A dedication or epigraph precedes the printed contents and is not listed in them.
        "toc": [
            e
            for e in table_of_contents(book, config.pdf.toc_depth, labels)
            if e.chapter.role not in ("dedication", "epigraph")
        ],
        # The page counter starts at a part's title page when the body opens with one (pages.css).
        "body_opens_with_part": first_body is not None and bool(first_body["part_label"]),
        "stylesheets": [p.as_uri() for p in theme.css("print")],
        "page_size": config.pdf.css_size,
        "cover_image": f"essaybook:{meta.cover_image.href}" if meta.cover_image and config.pdf.cover else None,
        "code_css": Markup(printed_code_css),
        "print_href": lambda entry: f"#{entry.id}",
        "lists": crossrefs.lists(book, config.book, labels, kinds),
    }
    frame = _render(env, "book.html", context)
    others = _other_print_css(theme, frame.replace(printed_code_css, ""))
    code = CodeOptions(code_wrap_length(config), plain_tokens(printed_code_css, others))
    for chapter in log.progress(book.chapters):
        anchors: list[str] = []
        host = hosts.get(chapter.id)
        owner = chapter.id if host is None else host.id
        content = print_fragment(
            chapter,
            config.pdf.notes,
            book,
            anchors,
            note_capacity(config),
            elsewhere,
            links=config.pdf.links,
            xrefs=xrefs,
            labels=labels,
            referred=referred.setdefault(owner, []),
            code=code,
            section_file=host is not None,
        )
        blocks.extend((chapter.index, number, anchor) for number, anchor in enumerate(anchors))
        if host is not None:
            # A section file goes on in its host's content, so in its layout unit: no page break before it.
            lang = f' lang="{chapter.lang}" dir="{direction_of(chapter.lang)}"' if chapter.lang else ""
            fragments[host.id] += f'<section class="section-file" id="{chapter.id}"{lang}>{content}</section>'
            if ids:
                ids[host.id] = ids[host.id] | ids[chapter.id] | {chapter.id}
            continue
        fragments[chapter.id] = str(content)
    html = _PLACEHOLDER_RE.sub(lambda m: fragments.get(m.group(1), m.group(0)), frame)
    if not split:
        return PrintDocument(html=html, blocks=blocks)
    return PrintDocument(
        html=html, blocks=blocks, frame=frame, fragments=fragments, running=running, ids=ids, referred=referred
    )


_PLACEHOLDER_RE = re.compile(r"<!--" + re.escape(PLACEHOLDER) + r"([^>]*?)-->")
_STYLE_ELEMENT = re.compile(r"<style\b[^>]*>(.*?)</style\s*>", re.IGNORECASE | re.DOTALL)


def _other_print_css(theme: Theme, frame: str) -> str:
    """The print stylesheets' text, for :func:`plain_tokens`: the theme's and the project's files, and the
    ``<style>`` elements of the rendered book template (the code's Pygments rules among them)."""
    texts = [match.group(1) for match in _STYLE_ELEMENT.finditer(frame)]
    project = theme.project_styles
    for path in theme.css("print"):
        if project is not None and path.is_relative_to(project):
            texts.append(read_stylesheet(path, project.parent))
        else:
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(texts)


def _running_title(chapter: Chapter) -> str:
    """The text a running head takes from the chapter (its title heading's text, else its title)."""
    if chapter.has_title_heading and chapter.headings:
        return chapter.headings[0].text
    return chapter.title or chapter.rel


# ------------------------------------------------------------------------------------------------ epub


def _svg_property(xhtml: str) -> tuple[str, ...]:
    """``("svg",)`` when an EPUB document holds inline SVG (raw SVG of the manuscript; equations keep only their
    MathML in the EPUB), which its manifest item must declare (EPUB 3.3, 5.6.2)."""
    return ("svg",) if f'<svg xmlns="{mathtex.SVG_NS}"' in xhtml else ()


def epub_fragment(
    chapter: Chapter, id_to_file: dict[str, str], breaks: dict[int, list[str]] | None = None, rtl: bool = False
) -> Markup:
    """Reshape one chapter for the EPUB: cross-chapter links name their file, images sit in images/.

    ``breaks`` maps a top-level block number to the printed page labels that begin at that block; each
    becomes a page-break marker in front of it. ``rtl``: the chapter is written right to left; its code
    blocks are marked left to right (EPUB style sheets may not set ``direction``; print.css does).
    """
    root = _fragment(chapter)
    if rtl:
        for pre in root.iter("pre"):
            pre.set("dir", pre.get("dir", "ltr"))
    _add_author(root, chapter)
    mathtex.for_epub(root)
    _mark_attributions(root, chapter)
    _autolink(root)
    for number, block in enumerate(_blocks(root)):
        markers = []
        for label in (breaks or {}).get(number, []):
            marker = etree.Element("span", {"id": f"page-{label}", "role": "doc-pagebreak", "aria-label": label})
            marker.set(_EPUB_TYPE, "pagebreak")
            markers.append(marker)
        home = _marker_home(block) if markers else None
        if home is None:
            for marker in markers:
                block.addprevious(marker)
            continue
        # At the start of the block's first line: a marker between two paragraphs would end `p + p` (the
        # indent of the paragraph after it; issue 12, item 9).
        for marker in reversed(markers):
            marker.tail, home.text = home.text, None
            home.insert(0, marker)
    for page_break in root.findall(".//div[@class='page-break']"):
        # \newpage is for paper only: an e-book's pages are the reader's.
        page_break.getparent().remove(page_break)
    for a in root.iter("a"):
        href = a.get("href", "")
        if href.startswith("#"):
            target = id_to_file.get(href[1:])
            if target is not None and target != chapter.epub_name:
                a.set("href", Path(target).name + href)
    for img in root.iter("img"):
        src = img.get("src", "")
        if src.startswith("images/"):
            img.set("src", "../" + src)
    _style_urls(root, "../")
    return _inner(root, "xml")


_PHRASING_HOLDERS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "dt", "figcaption", "caption"})
_FLOW_HOLDERS = frozenset({"li", "dd", "td", "th", "div", "blockquote", "section", "aside", "figure"})
_GROUPS = frozenset({"ul", "ol", "dl", "table", "thead", "tbody", "tfoot", "tr"})


def _marker_home(block: etree._Element) -> etree._Element | None:
    """The element a page-break marker opens, where it marks the block's first line without changing its
    typography: the first paragraph-like element down the block's first children; None (before the block)
    for one that cannot hold a ``span`` (``hr``, an image, math)."""
    element = block
    while True:
        if element.tag in _PHRASING_HOLDERS:
            return element
        children = [child for child in element if isinstance(child.tag, str)]
        if element.tag in _GROUPS:
            if not children:
                return None
            element = children[0]
            continue
        if element.tag in _FLOW_HOLDERS:
            if children and not (element.text or "").strip() and children[0].tag not in ("span", "a", "em", "strong"):
                element = children[0]
                continue
            return element
        return None


def _style_urls(root: etree._Element, prefix: str) -> None:
    """Address the images ``style`` attributes use (``url(images/…)``, see
    :func:`essaybook.convert.sanitize.clean`) from the output's document: ``prefix`` goes before each."""
    for element in root.iter():
        style = element.get("style")
        if style and "images/" in style:
            element.set(
                "style",
                map_style(style, lambda url, _line: prefix + url if url.startswith("images/") else url, lambda _: None),
            )


def compose_epub(
    book: Book,
    meta: Meta,
    config: Config,
    css_hrefs: list[str],
    env: jinja2.Environment,
    pages: list[tuple[str, int, int]] | None = None,
    check_templates: bool = True,
) -> ComposedEpub:
    """The EPUB's XHTML documents (cover, title page, chapters, nav) and its table of contents.

    ``check_templates``: check what the templates wrote against the content model and the URL policy (the
    chapters' own content was checked when converted). Off when the project overrides no template: the
    themes' templates are tested to be valid, and checking every document took 0.8 s of a long book's build.

    ``pages`` are the printed pages as (label, chapter index, block number): each becomes a page-break
    marker before that block and an entry of the nav's page list.
    """

    def fitted(xhtml: str, template: str, chapter: Chapter | None = None) -> str:
        return _fitted(xhtml, template, chapter) if check_templates else xhtml

    breaks: dict[int, dict[int, list[str]]] = {}
    for label, chapter_index, block in pages or []:
        breaks.setdefault(chapter_index, {}).setdefault(block, []).append(label)
    id_to_file: dict[str, str] = {}
    for chapter in book.chapters:
        id_to_file[chapter.id] = chapter.epub_name
        for anchor_id in _ids(chapter):
            id_to_file[anchor_id] = chapter.epub_name
    css = ["../" + href for href in css_hrefs]
    common = _common(meta, config) | {"stylesheets": css}
    labels: Labels = common["labels"]
    kinds = matters(book)
    documents: list[EpubDocument] = []
    cover_href = meta.cover_image.href if meta.cover_image is not None else GENERATED_COVER
    if config.epub.cover_page:
        documents.append(
            EpubDocument(
                name="text/cover.xhtml",
                title=labels["cover"],
                xhtml=fitted(_render(env, "cover.xhtml", common | {"image": "../" + cover_href}), "cover.xhtml"),
            )
        )
    if len(book.chapters) > 1:
        documents.append(
            EpubDocument(
                name="text/titlepage.xhtml",
                title=meta.title,
                xhtml=fitted(_render(env, "titlepage.xhtml", common), "titlepage.xhtml"),
            )
        )
    toc = table_of_contents(book, config.epub.toc_depth, labels)
    parts = book_parts(book)
    landmarks = []
    if documents and documents[0].name == "text/cover.xhtml":
        landmarks.append(("cover", labels["cover"], "text/cover.xhtml"))
    if documents and documents[-1].name == "text/titlepage.xhtml":
        landmarks.append(("titlepage", labels["title-page"], "text/titlepage.xhtml"))
    landmarks.append(("toc", labels["contents"], "nav.xhtml#toc"))
    lists = crossrefs.lists(book, config.book, labels, kinds)
    landmarks.extend((found.epub_type, found.title, f"nav.xhtml#{found.id}") for found in lists)
    first_front = next((c for c in book.chapters if kinds[c.id] == "front"), None)
    if first_front is not None:
        landmarks.append(("frontmatter", labels["front-matter"], first_front.epub_name))
    first_body = next((c for c in book.chapters if kinds[c.id] == "body"), book.chapters[0])
    landmarks.append(("bodymatter", labels["start-of-content"], first_body.epub_name))
    first_back = next((c for c in book.chapters if kinds[c.id] == "back"), None)
    if first_back is not None:
        landmarks.append(("backmatter", labels["back-matter"], first_back.epub_name))
    references = book.citations.references_id if book.citations is not None else None
    if references in id_to_file:
        landmarks.append(("bibliography", labels["references"], f"{id_to_file[references]}#{references}"))
    for chapter in log.progress(book.chapters):
        context = common | {
            "chapter": _chapter_context(
                chapter,
                kinds[chapter.id],
                epub_fragment(
                    chapter,
                    id_to_file,
                    breaks.get(chapter.index),
                    rtl=(direction_of(chapter.lang) if chapter.lang else meta.direction) == "rtl",
                ),
                labels,
                parts,
            )
        }
        xhtml = fitted(_render(env, "chapter.xhtml", context), "chapter.xhtml", chapter)
        documents.append(
            EpubDocument(
                name=chapter.epub_name,
                title=context["chapter"]["title"] or chapter.rel,
                xhtml=xhtml,
                chapter=chapter,
                # ebooklib only finds "scripted" itself (EpubHtml.get_content) and our documents bypass EpubHtml
                # (see renderers.epub._VerbatimItem), so the manifest properties MathML and SVG need are set here.
                properties=(*(("mathml",) if mathtex.has_math(chapter.html) else ()), *_svg_property(xhtml)),
            )
        )
    documents.append(
        EpubDocument(
            name="nav.xhtml",
            title=labels["contents"],
            properties=("nav",),
            xhtml=_render(
                env,
                "nav.xhtml",
                common
                | {
                    "toc": toc,
                    "files": id_to_file,
                    "landmarks": landmarks,
                    "lists": lists,
                    "page_list": [
                        (f"{book.chapters[index].epub_name}#page-{label}", label) for label, index, _ in pages or []
                    ],
                    "stylesheets": css_hrefs,
                },
            ),
        )
    )
    return ComposedEpub(documents=documents, toc=toc)


def _fitted(xhtml: str, template: str, chapter: Chapter | None = None) -> str:
    """``xhtml`` checked against the XHTML content model, mended where it does not fit, each repair reported.

    Chapters' content was mended when it was converted (where the Markdown line is known); what is left to find
    here comes from a template, which the warning names along with the chapter.
    """
    fitted, repairs = contentmodel.repair_document(_local_urls(xhtml, template, chapter))
    grouped: dict[str, int] = {}
    for repair in repairs:
        grouped[repair.message] = grouped.get(repair.message, 0) + 1
    for message, count in grouped.items():
        log.warn(
            Diagnostic(
                "warning",
                "content-model",
                f"{message} (in the EPUB document made with the template {template})",
                f"manuscript/{chapter.rel}" if chapter is not None else template,
                None,
                "check the project's templates in styles/templates/",
                more=count - 1,
            )
        )
    return fitted


_URL_RE = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.IGNORECASE | re.DOTALL)

_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _foreign(url: str) -> bool:
    """A URL an EPUB document may not use in CSS: another scheme than ``data:``, or a path from the root."""
    url = url.strip()
    return bool(_SCHEME_RE.match(url) and not url.lower().startswith("data:")) or url.startswith(("/", "\\"))


def _local_urls(xhtml: str, template: str, chapter: Chapter | None) -> str:
    """``xhtml`` without the ``style`` declarations and ``<style>`` elements a template wrote with a URL to the
    network, to ``file:`` or to a path from the root, each reported (the chapters' own went through the same
    policy when they were converted): no local path or remote resource reaches the EPUB."""
    if "url(" not in xhtml.lower():
        return xhtml
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    tree = etree.fromstring(xhtml.encode("utf-8"), parser)
    removed: list[str] = []
    for element in list(tree.iter()):
        if not isinstance(element.tag, str):
            continue
        style = element.get("style")
        if style and "url(" in style.lower():

            def local(url: str, _line: int) -> str | None:
                if _foreign(url):
                    removed.append(url)
                    return None
                return url

            element.set("style", map_style(style, local, lambda _declaration: None))
        if etree.QName(element).localname == "style" and element.text:
            foreign = [m.group(2) for m in _URL_RE.finditer(element.text) if _foreign(m.group(2))]
            if foreign:
                removed.extend(foreign)
                element.getparent().remove(element)
    if not removed:
        return xhtml
    log.warn(
        Diagnostic(
            "warning",
            "css-url",
            f"url({removed[0]}) is not a file in the book; the template {template}'s style that uses it is left "
            "out of the EPUB",
            f"manuscript/{chapter.rel}" if chapter is not None else template,
            None,
            "refer to images in the book project by a relative path in the project's templates",
            more=len(removed) - 1,
        )
    )
    declaration = '<?xml version="1.0" encoding="utf-8"?>\n' if xhtml.lstrip().startswith("<?xml") else ""
    doctype = "<!DOCTYPE html>\n" if "<!DOCTYPE html>" in xhtml[:500] else ""
    return declaration + doctype + str(etree.tostring(tree, encoding="unicode")) + "\n"


def _ids(chapter: Chapter) -> list[str]:
    root = _fragment(chapter)
    return [e.get("id", "") for e in root.iter() if e.get("id")]
