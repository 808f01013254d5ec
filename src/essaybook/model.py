"""The book as plain data: what the stages hand each other. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Chapter roles from front matter, with the EPUB 3 structural semantics (epub:type) and the DPUB-ARIA role
#: each carries. Roles before the first "chapter" are front matter in print; "appendix" and later are back matter.
ROLES: dict[str, tuple[str, str]] = {
    "dedication": ("dedication", "doc-dedication"),
    "epigraph": ("epigraph", "doc-epigraph"),
    "foreword": ("foreword", "doc-foreword"),
    "preface": ("preface", "doc-preface"),
    "introduction": ("introduction", "doc-introduction"),
    "part": ("part", "doc-part"),
    "chapter": ("chapter", "doc-chapter"),
    "appendix": ("appendix", "doc-appendix"),
    "bibliography": ("bibliography", "doc-bibliography"),
    "afterword": ("afterword", "doc-afterword"),
    "acknowledgments": ("acknowledgments", "doc-acknowledgments"),
    "colophon": ("colophon", "doc-colophon"),
}
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
}
"""Image files an EPUB 3 may carry (core media types), by suffix."""
FONT_TYPES = {".otf": "font/otf", ".ttf": "font/ttf", ".woff": "font/woff", ".woff2": "font/woff2"}
"""Font files an EPUB 3 may carry, by suffix."""
FRONT_ROLES = frozenset({"dedication", "epigraph", "foreword", "preface", "introduction"})
BACK_ROLES = frozenset({"appendix", "bibliography", "afterword", "acknowledgments", "colophon"})


@dataclass
class Heading:
    """A heading of a chapter, with its book-wide unique id."""

    level: int
    text: str
    id: str


@dataclass
class Target:
    """Something labelled that a cross-reference can name (``{#fig:harbour}``): figure, table, listing,
    equation or section."""

    kind: str
    """The label's prefix: 'fig', 'tbl', 'lst', 'eq' or 'sec'."""
    label: str
    """As written, 'fig:harbour' (pandoc-crossref) or 'fig-harbour' (Quarto)."""
    id: str
    """Book-wide id of the labelled element."""
    caption: str
    """Its caption as plain text (a section's title, an equation's TeX), for lists of figures and tables."""


@dataclass
class Asset:
    """A file a chapter refers to (an image), packed into the EPUB under ``href``."""

    source: Path
    href: str
    media_type: str
    used_at: str = ""
    """Where the manuscript first uses it ("manuscript/ch.md:12"), for messages about the file."""


@dataclass
class Chapter:
    """One Markdown file of the manuscript, before and after conversion."""

    source: Path
    rel: str
    """Path relative to ``manuscript/``, with forward slashes; what errors and links name."""
    index: int
    markdown: str
    body_line: int
    """Line number in the file where the Markdown body starts (after front matter)."""
    title: str | None = None
    title_given: bool = False
    """True when front matter sets the title; otherwise the first heading gives it."""
    author: list[str] = field(default_factory=list)
    lang: str | None = None
    role: str = "chapter"
    subtitle: str | None = None
    """From front matter: printed under the chapter's title."""
    date: str | None = None
    """From front matter: printed under the chapter's title."""
    abstract: str | None = None
    """From front matter: set as a block at the chapter's start."""
    title_block: dict[str, str | list[str]] = field(default_factory=dict)
    """Pandoc's ``%`` title block at the top of the file (title, author, date), taken out of the text: the
    first chapter's gives the book what book.toml does not."""
    id: str = ""
    """Book-wide unique id of the chapter's opening element."""
    html: str = ""
    """Converted, well-formed XHTML fragment (no wrapper element)."""
    headings: list[Heading] = field(default_factory=list)
    anchors: dict[str, str] = field(default_factory=dict)
    """Chapter-local anchor name (as written in links) -> book-wide id."""
    has_title_heading: bool = False
    """True when the fragment opens with the heading that gives the chapter its title."""
    targets: list[Target] = field(default_factory=list)
    """What cross-references can name in the chapter, in its order (see :mod:`essaybook.crossrefs`)."""

    file_stem: str = ""
    """The chapter's file name in the EPUB, without folder and suffix: ASCII (set by the conversion)."""

    @property
    def epub_name(self) -> str:
        return f"text/{self.file_stem or self.id}.xhtml"


@dataclass
class Book:
    """The whole manuscript after loading and conversion."""

    root: Path
    chapters: list[Chapter]
    assets: dict[Path, Asset] = field(default_factory=dict)
    ids: set[str] = field(default_factory=set)
    images: int = 0
    """Images in the text (each use counts)."""
    images_without_alt: int = 0
    """Images with no alt text: they block the accessibility conformance claim."""
    replaced_tags: set[str] = field(default_factory=set)
    """Raw HTML elements that are not XHTML, already reported once."""
    allow_remote: bool = False
    """Whether http(s) images may be fetched (``[book] allow-remote``)."""
    math: bool = True
    """Whether TeX between dollars is math (``[book] math``)."""
    numbering: str = "book"
    """'book' or 'chapter': how labelled figures, tables, listings and equations are numbered."""
    label_overrides: dict[str, str] = field(default_factory=dict)
    """``[labels]`` from book.toml: the generated words (:mod:`essaybook.labels`) the book says otherwise, such
    as the "Figure" of cross-references."""
    citations: Any = None
    """The sources and style citations are rendered with (:class:`essaybook.citations.Library`), when
    ``[book] bibliography`` is set."""

    @property
    def manuscript_dir(self) -> Path:
        return self.root / "manuscript"


@dataclass(frozen=True)
class Meta:
    """Book metadata after defaults are applied: what templates and renderers print."""

    title: str
    subtitle: str | None
    authors: tuple[str, ...]
    lang: str
    identifier: str
    date: str | None
    publisher: str | None
    rights: str | None
    description: str | None
    subjects: tuple[str, ...]
    cover_image: Asset | None
    modified: str
    """``YYYY-MM-DDThh:mm:ssZ``: from ``SOURCE_DATE_EPOCH`` when set, else when the book's files last changed."""
    slug: str
    direction: str
    """'ltr' or 'rtl', from the language."""
