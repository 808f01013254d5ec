"""The passes of the convert stage, named and ordered the way Python-Markdown's ``Registry`` orders its
processors: each runs in turn from the highest priority down (ties in the order they were registered).

A chapter is converted in three runs of passes. The source and chapter passes see one chapter only (what they
take from the book, the :class:`~essaybook.convert.context.Record`, is what the conversion cache checks before
it replays them); the finish passes run once every chapter is through its first pass, as they need every
chapter's ids.

Source passes, on the chapter's Markdown before Python-Markdown reads it (``(source, ctx) -> source``):

    control-characters  70  guards.control_characters  characters XHTML cannot hold, removed
    nesting             60  guards.nesting             blockquotes and lists nested absurdly deep, refused
    comments            50  guards.comments            an HTML comment never closed, warned about
    divs                40  guards.divs                fenced divs nested absurdly deep, refused
    dialects            30  dialect.report             other tools' syntax essaybook does not read, named
    data-uris           20  guards.data_uris           long data: URIs, cut short
    long-paragraphs     18  guards.long_paragraphs     a paragraph far too long to set, refused
    openers             15  guards.openers             thousands of [ ( < nothing closes, as references
    directives          10  guards.directives          mdBook's {{#include}} lines, recorded

Chapter passes, on the tree of the chapter's XHTML fragment (``(root, ctx) -> None``):

    chapter-id         120  ids.chapter_id             the chapter's own id, before any in its text
    paragraphs         110  guards.paragraphs          a runaway paragraph, refused
    pandoc             100  dialect.pandoc_tree        fenced divs' elements, image sizes as CSS
    sanitize            90  sanitize.clean             raw HTML made XHTML: elements, attributes, styles
    ids                 80  ids.assign_ids             every heading an id, every id unique in the book
    notes               70  notes.notes                footnotes as EPUB 3 notes, numbered as cited
    landmarks           60  landmarks.landmarks        landmarks sharing a role, labelled apart
    table-headers       50  tables.table_headers       empty header cells made data cells
    images              40  images.images              images resolved and registered as assets
    figures             30  images.figures             an image alone in its paragraph, a figure
    crossref-targets    25  xrefs.collect              labelled figures, tables, listings, sections, equations
    math                20  equations.render           TeX drawn as MathML and SVG

Finish passes, on the same tree with every chapter converted (``(root, ctx) -> None``, ``ctx.by_path`` set):

    links               30  links.links                links to book-wide ids, plain text where they lead nowhere
    cross-references    20  xrefs.resolve              captions numbered, @fig:x and the like as links
    content-model       10  fit.content_model          what is left outside the content model, mended

A new pass is one module (a function of the pass's shape, taking what it needs from the
:class:`~essaybook.convert.context.Context`) and one ``register`` line below, with a priority between those of
the passes it must follow and precede; add its line to the table above too (a test compares them). Settings
a pass reads come on the :class:`~essaybook.model.Book` (as ``book.math`` does). A chapter pass's result is
kept in the conversion cache, so whatever it reads must name the entry or be checked on replay: a setting
goes into :meth:`Conversion.inputs <essaybook.convert.conversion.Conversion.inputs>`, book-wide state into the
:class:`~essaybook.convert.context.Record`; what no entry can vouch for makes the chapter uncacheable
(``ctx.record.cacheable = False``); and a change in what a pass writes bumps the cache's format
(:mod:`essaybook.convert_cache`). A pass that needs every chapter (numbers across the book, say) is a finish
pass: those always run and read the other chapters from ``ctx.book``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from lxml import html

from essaybook.convert import (
    dialect,
    equations,
    fit,
    guards,
    ids,
    images,
    landmarks,
    links,
    notes,
    sanitize,
    tables,
    xrefs,
)
from essaybook.convert.context import Context

SourcePass = Callable[[str, Context], str]
"""A pass on a chapter's Markdown: the text to go on with (changed or not); it may warn or raise."""
TreePass = Callable[[html.HtmlElement, Context], None]
"""A pass that changes a chapter's tree in place; it may warn or raise."""

P = TypeVar("P")


@dataclass(frozen=True)
class Pass(Generic[P]):
    """One registered pass."""

    name: str
    priority: float
    run: P


class Registry(Generic[P]):
    """Named passes, iterated from the highest priority down; a name registered again replaces its pass."""

    def __init__(self) -> None:
        self._passes: dict[str, Pass[P]] = {}

    def register(self, run: P, name: str, priority: float) -> None:
        """Add ``run`` as pass ``name`` at ``priority`` (or put it in the place of the pass of that name)."""
        self._passes.pop(name, None)
        self._passes[name] = Pass(name, priority, run)

    def deregister(self, name: str) -> None:
        """Remove pass ``name``; a KeyError when there is none."""
        del self._passes[name]

    def __contains__(self, name: object) -> bool:
        return name in self._passes

    def __getitem__(self, name: str) -> P:
        return self._passes[name].run

    def __len__(self) -> int:
        return len(self._passes)

    def __iter__(self) -> Iterator[P]:
        return (entry.run for entry in self._ordered())

    def names(self) -> list[str]:
        """The passes' names in the order they run."""
        return [entry.name for entry in self._ordered()]

    def _ordered(self) -> list[Pass[P]]:
        return sorted(self._passes.values(), key=lambda entry: entry.priority, reverse=True)


SOURCE: Registry[SourcePass] = Registry()
SOURCE.register(guards.control_characters, "control-characters", 70)
SOURCE.register(guards.nesting, "nesting", 60)
SOURCE.register(guards.comments, "comments", 50)
SOURCE.register(guards.divs, "divs", 40)
SOURCE.register(dialect.report, "dialects", 30)
SOURCE.register(guards.data_uris, "data-uris", 20)
SOURCE.register(guards.long_paragraphs, "long-paragraphs", 18)
SOURCE.register(guards.openers, "openers", 15)
SOURCE.register(guards.directives, "directives", 10)

CHAPTER: Registry[TreePass] = Registry()
CHAPTER.register(ids.chapter_id, "chapter-id", 120)
CHAPTER.register(guards.paragraphs, "paragraphs", 110)
CHAPTER.register(dialect.pandoc_tree, "pandoc", 100)
CHAPTER.register(sanitize.clean, "sanitize", 90)
CHAPTER.register(ids.assign_ids, "ids", 80)
CHAPTER.register(notes.notes, "notes", 70)
CHAPTER.register(landmarks.landmarks, "landmarks", 60)
CHAPTER.register(tables.table_headers, "table-headers", 50)
CHAPTER.register(images.images, "images", 40)
CHAPTER.register(images.figures, "figures", 30)
CHAPTER.register(xrefs.collect, "crossref-targets", 25)
CHAPTER.register(equations.render, "math", 20)

FINISH: Registry[TreePass] = Registry()
FINISH.register(links.links, "links", 30)
FINISH.register(xrefs.resolve, "cross-references", 20)
FINISH.register(fit.content_model, "content-model", 10)
