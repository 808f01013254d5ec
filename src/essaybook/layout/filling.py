"""Page filling: a figure that left the foot of a page empty moves below the text that can fill it (issue 12, item 4).

WeasyPrint has no page floats (``float: top`` is not in its CSS, up to 70), so a figure of an image that does
not fit at a page foot moves to the next page and leaves the space above it empty. After a first layout, such a
figure (with a heading just before it, which its ``break-after: avoid`` carried along) is moved in the document
past the paragraphs that followed it, as many as fill the space; the text then flows on before it, and the
figure follows them on the next page. A figure never moves past a heading, another figure, a table or a code
block, so the numbering of figures and the sections stay as written; nor away from a caption written as a
paragraph above it; one written under it moves with it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

GAP_SHARE = 1 / 3
"""A space at the foot of a page taller than this share of its text area is worth filling. Each figure moved
costs its chapter another layout: at a third, the Rust book's chapters are laid out again for the few pages a
figure would leave two-thirds full or less, not for every figure that leaves a few lines (which cost its first
build a fifth more time)."""
_MOVABLE = frozenset({"p", "ul", "ol", "dl", "blockquote"})
"""The blocks a figure may move past: running text."""
_CAPTION = re.compile(r"^\s*(?:Figure|Fig\.|Listing|Table|Illustration|Plate|Image)\s+[\w.-]*\d", re.IGNORECASE)
"""A paragraph that starts like a caption ("Figure 4-2: ...") is the caption of the figure beside it."""
_VOID = frozenset({"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})


def _bottom(box: Any) -> float:
    """The foot of the lowest content in ``box`` (not its own height: a broken block may reach the page foot)."""
    children = [child for child in getattr(box, "children", []) or [] if hasattr(child, "position_y")]
    if not children or box.element_tag in ("table", "img", "pre"):
        return float(box.position_y + box.margin_height())
    return max(_bottom(child) for child in children)


def page_gap(page: Any) -> float:
    """The empty space, in CSS px, between the last content of ``page`` and the foot of its text area (above its
    footnotes, if any)."""
    box = page._page_box  # WeasyPrint keeps the layout on the page box only
    flow = box.children[0]
    foot = float(box.content_box_y() + box.height)
    for area in box.children[1:]:
        if type(area).__name__ == "FootnoteAreaBox" and area.children:
            foot = min(foot, float(area.position_y))
    return foot - _bottom(flow)


def _span(document: str, anchor: str) -> tuple[str, int, int] | None:
    """(tag, start, end) of the element whose id is ``anchor`` in ``document``, or None."""
    at = document.find(f' id="{anchor}"')
    if at < 0:
        return None
    start = document.rfind("<", 0, at)
    match = re.match(r"<([a-zA-Z][\w-]*)", document[start:])
    if match is None:
        return None
    tag = match.group(1).lower()
    if tag in _VOID:
        return tag, start, document.index(">", at) + 1
    depth = 0
    for found in re.finditer(rf"<(/?){tag}\b[^>]*>", document[start:], re.IGNORECASE):
        if found.group(0).endswith("/>"):
            continue
        depth += -1 if found.group(1) else 1
        if depth == 0:
            return tag, start, start + found.end()
    return None


def _is_caption(markup: str) -> bool:
    """Whether a paragraph's ``markup`` is a caption written as a paragraph beside its figure (mdBook's
    ``<span class="caption">``, or text that starts "Figure 3:")."""
    if re.search(r'class="(?:[^"]*\s)?caption[\s"]', markup):
        return True
    return bool(_CAPTION.match(re.sub(r"<[^>]+>", "", markup)))


def defer_figures(document: str, rendered: Any, blocks: Sequence[str], headings: frozenset[str]) -> str:
    """``document`` with each figure that left a page's foot empty (see the module's docstring) moved, with a
    caption paragraph under it, past the paragraphs that follow, as many as fill that space by their height;
    ``blocks`` are the ids of the chapter's top-level blocks in order, ``headings`` the ids of its headings."""
    # The blocks in the document's order now (a figure moved by an earlier pass is no longer where it was written).
    blocks = sorted((a for a in blocks if f' id="{a}"' in document), key=lambda a: document.find(f' id="{a}"'))
    order = {anchor: number for number, anchor in enumerate(blocks)}
    moves: list[tuple[str, str, str]] = []  # (figure, its caption paragraph or itself, the block it goes after)
    pages = rendered.pages
    for index in range(len(pages) - 1):
        on_next = sorted((position[1], order[a], a) for a, position in pages[index + 1].anchors.items() if a in order)
        if len(on_next) < 2:
            continue
        first = 1 if on_next[0][2] in headings and on_next[1][1] == on_next[0][1] + 1 else 0
        _, number, figure = on_next[first]
        found = _span(document, figure)
        if found is None or found[0] != "figure" or "keep-whole" not in document[found[1] : found[2]].split(">")[0]:
            continue
        if number - 1 - first < 0 or blocks[number - 1 - first] not in pages[index].anchors:
            continue  # the figure opens its chapter, or the page before holds none of its text
        before = _span(document, blocks[number - 1])
        if before is not None and before[0] == "p" and _is_caption(document[before[1] : before[2]]):
            continue  # its caption is written above it
        gap = page_gap(pages[index])
        if gap < GAP_SHARE * float(pages[index]._page_box.height):
            continue
        following = on_next[first + 1 :]
        if not following or following[0][1] != number + 1:
            continue
        unit_end = figure
        caption = _span(document, following[0][2])
        if caption is not None and caption[0] == "p" and _is_caption(document[caption[1] : caption[2]]):
            unit_end = following[0][2]  # its caption written as a paragraph under it moves with it
            following = following[1:]
        if not following or following[0][1] != order[unit_end] + 1:
            continue
        start_y = following[0][0]
        last = None
        for at, (_, block_number, anchor) in enumerate(following):
            spanned = _span(document, anchor)
            if (
                spanned is None
                or spanned[0] not in _MOVABLE
                or anchor in headings
                or block_number != order[unit_end] + 1 + at
                or _is_caption(document[spanned[1] : spanned[2]])
            ):
                break
            last = anchor
            after = following[at + 1][0] if at + 1 < len(following) else None
            if after is None or after - start_y >= gap:
                break
        if last is not None:
            moves.append((figure, unit_end, last))
    for figure, unit_end, after in moves:
        figure_span, end_span, after_span = _span(document, figure), _span(document, unit_end), _span(document, after)
        if figure_span is None or end_span is None or after_span is None or after_span[1] < end_span[2]:
            continue
        moved = document[figure_span[1] : end_span[2]]
        document = (
            document[: figure_span[1]] + document[end_span[2] : after_span[2]] + moved + document[after_span[2] :]
        )
    return document
