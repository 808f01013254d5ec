"""Cross-references (see :mod:`essaybook.crossrefs`): each chapter's labelled figures, tables, listings,
equations and sections collected in its first pass; their numbers and every ``@fig:x`` written once the whole
book is converted."""

from __future__ import annotations

import functools

from lxml import html

from essaybook import crossrefs
from essaybook.convert.context import Context


def collect(root: html.HtmlElement, ctx: Context) -> None:
    """The chapter's labelled targets, with their captions, into ``chapter.targets`` (kept in the cache entry)."""
    crossrefs.collect(root, ctx.chapter, functools.partial(ctx.warn, kind="crossref"))


def resolve(root: html.HtmlElement, ctx: Context) -> None:
    """Captions numbered and references written as links, from every chapter's targets."""
    crossrefs.resolve(root, ctx.chapter, ctx.book, ctx.lang, functools.partial(ctx.warn, kind="crossref"))
