"""Stage 2: chapter Markdown -> well-formed XHTML fragments with book-wide ids, resolved links and assets.

Python-Markdown does the conversion; the result is then normalised on an lxml tree, because raw HTML is
stashed by Python-Markdown and never reaches its treeprocessors: passes over the final tree are the only
place that sees Markdown and raw HTML alike (ids, links, images, notes, XHTML repair).

The stage is a series of small passes, one module each, run in the order :mod:`essaybook.convert.passes`
registers them (its docstring lists them): source passes on the chapter's Markdown, chapter passes on its
tree (these two make a chapter's first pass, which the conversion cache keeps), and finish passes once
every chapter's ids are known (links, equation numbers, the content model). :mod:`~essaybook.convert.conversion`
drives them. A new pass is one module and one ``register`` line in :mod:`essaybook.convert.passes`.

    context.py     Context (what a chapter's passes know and report), Record (what it took from the book)
    passes.py      the registries: every pass's name, priority and function
    nodes.py       helpers on lxml trees the passes share
    guards.py      input guards: control characters, nesting, comments, data: URIs, directives, paragraphs
    dialect.py     other tools' syntax: Pandoc's constructs given their elements, the rest named
    parse.py       the Python-Markdown instance; Markdown -> tree -> XHTML text
    sanitize.py    raw HTML made XHTML: elements, attributes, styles, cite URLs, unclosed tags
    ids.py         the chapter's id, heading ids and levels, the chapter's title
    notes.py       footnotes as EPUB 3 notes
    landmarks.py   landmarks labelled apart
    tables.py      empty header cells
    images.py      images and other files as assets, figures
    equations.py   math drawn, equation numbers linked
    links.py       links to book-wide ids
    fit.py         the content model mended
    cache.py       a first pass as JSON data for the conversion cache, and its replay
    ahead.py       the second half of a long book converted ahead in a forked process
    conversion.py  Conversion, the driver; convert_book; name_files
"""

from essaybook.convert.ahead import Ahead
from essaybook.convert.conversion import ChapterCache, Conversion, convert_book, name_files
from essaybook.convert.fit import CONTENT_MODEL_HINT
from essaybook.convert.guards import MAX_NESTING, MAX_PARAGRAPH
from essaybook.convert.ids import slugify, web_slug
from essaybook.convert.parse import make_markdown

__all__ = [
    "CONTENT_MODEL_HINT",
    "MAX_NESTING",
    "MAX_PARAGRAPH",
    "Ahead",
    "ChapterCache",
    "Conversion",
    "convert_book",
    "make_markdown",
    "name_files",
    "slugify",
    "web_slug",
]
