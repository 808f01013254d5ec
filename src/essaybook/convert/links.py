"""Links, once every chapter's ids are known: ``#x``, ``other.md`` and ``other.md#x`` point at book-wide ids,
web links are normalised, and links that lead nowhere are kept as plain text."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from lxml import etree, html

from essaybook.convert.context import Context
from essaybook.convert.nodes import SCHEME_RE
from essaybook.model import Book, Chapter
from essaybook.urls import BadUrl, is_web, normalise


def resolve(target: Chapter, fragment: str, book: Book) -> str | None:
    """The book-wide id a link to ``fragment`` in ``target`` leads to (the chapter itself when empty)."""
    if not fragment:
        return target.id
    return target.anchors.get(fragment) or (fragment if fragment in book.ids else None)


def links(root: html.HtmlElement, ctx: Context) -> None:
    """Point ``#x``, ``other.md`` and ``other.md#x`` at book-wide ids (of :attr:`Context.by_path`); unwrap links
    that lead nowhere."""
    for a in list(root.iter("a")):
        href = a.get("href")
        if href is None or a.get("class") in ("noteref", "backlink"):
            continue
        href = href.strip()
        if is_web(href):
            try:
                a.set("href", normalise(href))
            except BadUrl as exc:
                ctx.warn(f"link {href!r} is kept as plain text: {exc}", kind="bad-url", near=href)
                _unwrap(a)
        elif SCHEME_RE.match(href) or href.startswith("//"):
            ctx.warn(f"link {href!r} removed (not a web or mail link)", kind="link-scheme", near=href)
            _unwrap(a)
        else:
            _internal(a, href, ctx)


def _internal(a: etree._Element, href: str, ctx: Context) -> None:
    """A link into the book: to its target's book-wide id, or else to the chapter, or else plain text."""
    parts = urlsplit(href.replace("\\", "/"))
    target = ctx.chapter
    if parts.path:
        path = (ctx.chapter.source.parent / unquote(parts.path)).resolve()
        found = ctx.by_path.get(path)
        if found is None and path.suffix in (".html", ".htm", ".xhtml"):
            # Books moved from mdBook or a static site link to the rendered page of a chapter.
            found = ctx.by_path.get(path.with_suffix(".md"))
        if found is None:
            ctx.warn(
                f"link {href!r} does not lead to a chapter of this book; kept as plain text",
                kind="broken-link",
                near=parts.path,
            )
            _unwrap(a)
            return
        target = found
    fragment = unquote(parts.fragment)
    resolved = resolve(target, fragment, ctx.book)
    ctx.record.lookups.append((target.source.resolve(), fragment, resolved))
    if not fragment:
        a.set("href", f"#{target.id}")
        return
    if resolved is None:
        ctx.warn(
            f"link {href!r}: no heading or anchor '{fragment}' in manuscript/{target.rel}; "
            "it points at the chapter instead",
            kind="broken-anchor",
            near=href,
        )
        resolved = target.id
    a.set("href", f"#{resolved}")


def _unwrap(a: etree._Element) -> None:
    span = a
    for name in list(span.attrib):
        if name not in ("id", "class", "lang"):
            del span.attrib[name]
    span.tag = "span"
