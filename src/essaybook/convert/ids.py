"""Ids: the chapter's own, every heading's (readable slugs, unique across the book, with the slugs GitHub and
mdBook give as further anchors), heading levels a screen reader can follow, and the chapter's title."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from lxml import etree, html

from essaybook.convert.context import Context
from essaybook.convert.nodes import HEADINGS
from essaybook.model import Heading


def slugify(text: str, fallback: str = "section") -> str:
    """A readable id from heading text: lower case, letters and digits of any script, hyphens."""
    text = unicodedata.normalize("NFKC", text).lower()
    slug = re.sub(r"[^\w]+", "-", text, flags=re.UNICODE).strip("-_")
    slug = slug[:60].strip("-") or fallback
    if not slug[0].isalpha():
        slug = f"{fallback}-{slug}"
    return slug


def web_slug(text: str) -> str:
    """The anchor GitHub and mdBook give a heading: lower case, punctuation dropped, each space a hyphen."""
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def chapter_id(root: html.HtmlElement, ctx: Context) -> None:
    """The chapter's own id, from its title or else its file name (before any id in its text takes one)."""
    chapter = ctx.chapter
    chapter.id = ctx.unique_id(slugify(chapter.title or Path(chapter.rel).stem, "chapter"))


def assign_ids(root: html.HtmlElement, ctx: Context) -> None:
    """Give every heading an id and make every id unique across the whole book."""
    chapter = ctx.chapter
    first = next((e for e in root if isinstance(e.tag, str)), None)
    shift = 0
    for element in root.iter():
        if element is root or not isinstance(element.tag, str):
            continue
        old = element.get("id")
        is_heading = element.tag in HEADINGS
        if old is None and not is_heading:
            continue
        text = " ".join(element.text_content().split())
        local = old or slugify(text)
        new = ctx.unique_id(slugify(local) if old is None else _safe_id(old))
        element.set("id", new)
        chapter.anchors.setdefault(local, new)
        if is_heading:
            # Links written for GitHub or mdBook use their slugs, which keep every hyphen.
            chapter.anchors.setdefault(web_slug(text), new)
            shift = _heading(element, text, new, shift, ctx)
    _title(first, ctx)


def _heading(element: etree._Element, text: str, new: str, shift: int, ctx: Context) -> int:
    """Set heading ``element`` (id ``new``) at a level a screen reader can follow and list it; returns the
    shift of levels the chapter's first heading decided (kept for the headings after it)."""
    chapter = ctx.chapter
    written = int(str(element.tag)[1])
    if not chapter.headings and written > 2:
        # A chapter that opens at h3 or deeper skips levels for screen readers: lift all its headings.
        shift = written - 2
        ctx.warn(
            f"the chapter opens with a level-{written} heading; its headings "
            f"are set {shift} level{'s' * (shift > 1)} higher",
            kind="heading-level",
            near=text[:40],
        )
    level = max(1, written - shift)
    previous = chapter.headings[-1].level if chapter.headings else level
    if level != written:
        element.tag = f"h{level}"
    if level > previous + 1:
        # Screen readers navigate by heading level; a skipped level reads as a missing section.
        ctx.warn(
            f"heading level jumps from {previous} to {level} at '{text}'; set as level {previous + 1}",
            kind="heading-level",
            near=text[:40],
        )
        level = previous + 1
        element.tag = f"h{level}"
    if text:  # an empty heading has no place in a table of contents
        chapter.headings.append(Heading(level=level, text=text, id=new))
    return shift


def _title(first: etree._Element | None, ctx: Context) -> None:
    """The chapter's title, where its front matter gives none: its opening heading, else its first heading,
    else its file name; and whether the opening heading is its title heading."""
    chapter = ctx.chapter
    if first is not None and first.tag in HEADINGS and chapter.headings:
        heading = chapter.headings[0]
        chapter.has_title_heading = not chapter.title_given or chapter.title == heading.text
        if not chapter.title_given:
            chapter.title = heading.text
    elif not chapter.title_given and chapter.headings:
        chapter.title = chapter.headings[0].text
    if chapter.title is None:
        chapter.title = Path(chapter.rel).stem


def _safe_id(value: str) -> str:
    """``value`` as an id a link can name without escapes: no space, and none of the characters a URL
    fragment cannot hold as they are (``#``, ``%``, quotes, brackets)."""
    value = re.sub(r"[\s#%\"<>`{}|\\^\[\]]+", "-", value.strip())
    if not value or not (value[0].isalpha() or value[0] == "_"):
        value = f"id-{value}"
    return value
