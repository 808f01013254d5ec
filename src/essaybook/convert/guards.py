"""Input guards on a chapter's Markdown before Python-Markdown reads it: control characters, absurd nesting,
unclosed comments, long data: URIs, mdBook directives; and on its tree, runaway paragraphs.

A guard either mends and warns, or raises :class:`ManuscriptError` for input no book needs (input that would
exhaust the stack or keep page layout busy for minutes).
"""

from __future__ import annotations

import re

from lxml import html

from essaybook.convert.context import Context
from essaybook.errors import ManuscriptError
from essaybook.pandoc import MAX_DIV_NESTING, too_deep

MAX_NESTING = 50
"""Deepest nesting of blockquotes or lists a chapter may have; deeper input would exhaust the stack."""
MAX_PARAGRAPH = 100_000
"""Characters one paragraph may hold: line breaking a longer one takes WeasyPrint minutes."""

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_QUOTE_RE = re.compile(r"^(?:[ \t]{0,3}>)+")
_FENCE_RE = re.compile(r"^\s{0,3}(```|~~~)")
_CODE_SPAN_RE = re.compile(r"`+[^`]*`+")
_DATA_URI_RE = re.compile(r"data:[^\s)\"'>]{1024,}")
_DIRECTIVE_RE = re.compile(r"\{\{#(?:include|rustdoc_include|playground|title)\b")


def control_characters(source: str, ctx: Context) -> str:
    """``source`` without the control characters XHTML cannot hold (warned about at the first line with one)."""
    if _CONTROL_RE.search(source):
        line = next(i for i, text in enumerate(ctx.lines) if _CONTROL_RE.search(text)) + ctx.chapter.body_line
        ctx.warn("control characters removed (XHTML cannot hold them)", kind="control-characters", line=line)
        source = _CONTROL_RE.sub("", source)
    return source


def nesting(source: str, ctx: Context) -> str:
    """Refuse absurdly deep blockquotes and lists before Python-Markdown and WeasyPrint recurse into them."""
    for number, line in enumerate(source.split("\n")):
        quotes = _QUOTE_RE.match(line)
        depth = quotes.group(0).count(">") if quotes else 0
        indent = len(line) - len(line.lstrip(" \t"))
        if depth > MAX_NESTING or indent > 4 * MAX_NESTING:
            what = "blockquotes" if depth > MAX_NESTING else "indented blocks (lists or code)"
            raise ManuscriptError(
                f"{what} nested deeper than {MAX_NESTING} levels",
                file=ctx.display,
                line=ctx.chapter.body_line + number,
                hint="no book needs that; flatten the structure",
            )
    return source


def comments(source: str, ctx: Context) -> str:
    """Warn about an HTML comment that is opened and never closed: Python-Markdown then prints it as text.

    Code (fenced blocks and code spans) is skipped: an HTML example there is text on purpose.
    """
    fenced = False
    opened: int | None = None
    for number, line in enumerate(ctx.lines):
        if _FENCE_RE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        opened = _comment_state(_CODE_SPAN_RE.sub("", line), number, opened)
    if opened is not None:
        ctx.warn(
            "an HTML comment (<!--) is never closed; it and the text after it are printed as they are written",
            kind="unclosed-comment",
            line=ctx.chapter.body_line + opened,
            hint="close it with -->",
        )
    return source


def _comment_state(text: str, number: int, opened: int | None) -> int | None:
    """After line ``number`` (``text``), the line of the comment still open, given the one open before it."""
    position = 0
    while True:
        if opened is None:
            start = text.find("<!--", position)
            if start < 0:
                return opened
            opened, position = number, start + 4
        else:
            end = text.find("-->", position)
            if end < 0:
                return opened
            opened, position = None, end + 3


def divs(source: str, ctx: Context) -> str:
    """Refuse fenced divs nested absurdly deep, as :func:`nesting` does blockquotes."""
    line = too_deep(ctx.lines)
    if line is not None:
        raise ManuscriptError(
            f"fenced divs (:::) nested deeper than {MAX_DIV_NESTING} levels",
            file=ctx.display,
            line=ctx.chapter.body_line + line,
            hint="no book needs that; close each div with its own ::: line",
        )
    return source


def data_uris(source: str, ctx: Context) -> str:
    """Long data: URIs cut short: libxml2 stops at 10 MB of text and would drop the rest of the chapter, and
    embedded images are not kept anyway (see :func:`essaybook.convert.images.images`)."""
    return _DATA_URI_RE.sub("data:,", source)


def directives(source: str, ctx: Context) -> str:
    """Record where mdBook's ``{{#include}}`` and its kin are written (reported once for the book)."""
    for found in _DIRECTIVE_RE.finditer(source):
        ctx.record.directives.append((ctx.display, source[: found.start()].count("\n") + ctx.chapter.body_line))
    return source


def paragraphs(root: html.HtmlElement, ctx: Context) -> None:
    """Refuse a runaway paragraph (a file with no blank lines) before page layout spends minutes on it."""
    for element in root.iter("p", "li", "dd", "td", "th"):
        if element.tag != "p" and element.find(".//p") is not None:
            continue  # its paragraphs are checked one by one
        text = element.text_content()
        if len(text) > MAX_PARAGRAPH:
            raise ManuscriptError(
                f"a paragraph of {len(text):,} characters is too long to set (the limit is {MAX_PARAGRAPH:,})",
                file=ctx.display,
                line=ctx.line_of(text.strip()[:40]),
                hint="separate paragraphs with blank lines",
            )
