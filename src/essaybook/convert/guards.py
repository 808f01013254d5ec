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


MAX_PARAGRAPH_SOURCE = MAX_PARAGRAPH * 3 // 2
"""Characters of Markdown one paragraph may be written in: :data:`MAX_PARAGRAPH` and room for its markup."""
MAX_INLINE_MARKS = 10_000
"""Marks of inline elements (code span fences, emphasis runs, closing ``]`` and ``>``) one paragraph may hold:
Python-Markdown puts each element in place with a search through its siblings (treeprocessors.py,
``InlineProcessor.run``), so 8,000 code spans in a paragraph take it 9 s and 37,500 two minutes."""
_NOT_PLAIN_RE = re.compile(r"^(?:[ \t]{0,3}(?:[-*+:](?:\s|$)|\d+[.)](?:\s|$)|[>#<|])|[ \t]{4})|\|")
_INLINE_MARK_RE = re.compile(r"`+|[*_~=^]+|\]|>")


def long_paragraphs(source: str, ctx: Context) -> str:
    """Refuse a paragraph far past :data:`MAX_PARAGRAPH` before Python-Markdown reads it, as
    :func:`paragraphs` does after: its inline patterns rebuild the paragraph's text at each match, so a
    megabyte of code spans or emphasis takes it an hour. Only runs of plain lines (no list item, quote,
    heading, table row, raw HTML or code) are counted, each run at most one paragraph; one that holds more than
    :data:`MAX_INLINE_MARKS` is refused too."""
    run, marks, first, fence = 0, 0, 0, None
    for number, line in enumerate(source.split("\n")):  # data: URIs already cut short
        opened = _FENCE_OPEN_RE.match(line)
        if fence is not None or opened:
            if opened and (fence is None or (opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence))):
                fence = opened.group(1) if fence is None else None
            run = marks = 0
            continue
        if not line.strip() or _NOT_PLAIN_RE.search(line):
            run = marks = 0
            continue
        if run == 0:
            first = number
        run += len(line) + 1
        marks += len(_INLINE_MARK_RE.findall(line))
        if marks > MAX_INLINE_MARKS:
            raise ManuscriptError(
                f"a paragraph with more than {MAX_INLINE_MARKS:,} marks of code, emphasis, links or tags is too "
                "long to convert",
                file=ctx.display,
                line=ctx.chapter.body_line + first,
                hint="separate paragraphs with blank lines",
            )
        if run > MAX_PARAGRAPH_SOURCE:
            raise ManuscriptError(
                f"a paragraph of more than {MAX_PARAGRAPH_SOURCE:,} characters is too long to set "
                f"(the limit is {MAX_PARAGRAPH:,} characters of text)",
                file=ctx.display,
                line=ctx.chapter.body_line + first,
                hint="separate paragraphs with blank lines",
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


MAX_UNMATCHED = 50
"""Openers that can never close (``[`` with no ``]``, ``(`` with no ``)``, ``<`` with no ``>``) one block may
hold before :func:`openers` turns them into character references: Python-Markdown scans to the end of the
block from each of them, so its time grows with their square (10,000 ``[`` take two minutes)."""
MAX_BRACKET_DEPTH = 32
"""Deepest nesting of square brackets kept as written; no book nests them this deep."""

_OPENER = {"]": "[", ")": "(", ">": "<"}
_REFERENCE = {"[": "&#91;", "]": "&#93;", "(": "&#40;", "<": "&lt;"}
_ESCAPABLE = frozenset("\\`*_{}[]()>#+-.!$")
_FENCE_OPEN_RE = re.compile(r"^(?:[ \t]{0,3}>)*[ \t]{0,3}(`{3,}|~{3,})")
_BACKTICKS_RE = re.compile(r"`+")
_MATH_OPEN_RE = re.compile(r"\$\$|\\\(|\\\[|\$(?=[^\s$])")
_MATH_CLOSE = {"$$": "$$", "\\(": "\\)", "\\[": "\\]"}
_TAG_RE = re.compile(r"</?[A-Za-z][^<>]*>|<!--.*?-->", re.DOTALL)


def openers(source: str, ctx: Context) -> str:
    """``source`` with the openers of a runaway block written as character references, so that Python-Markdown
    reads it in linear time: in a block holding more than :data:`MAX_UNMATCHED` of them, every ``[``, ``(``
    or ``<`` that nothing after it closes (it can start no link, image, note or tag, so the output is the same),
    and square brackets nested deeper than :data:`MAX_BRACKET_DEPTH` with their ``]`` (warned about: they are
    printed as text even where they would have made a link).

    Code (fenced, indented, and spans by CommonMark's backtick rule) keeps its characters; so do math and raw
    HTML tags, whose openers are also not counted (which can only leave more of the others as they are).
    A reference is used rather than a backslash, which would open display math (``\\[``).
    """
    if source.count("[") + source.count("(") + source.count("<") <= MAX_UNMATCHED:
        return source
    lines = source.split("\n")
    out: list[str] = []
    block: list[str] = []
    start = 0
    fence: str | None = None
    for number, line in enumerate(lines):
        opened = _FENCE_OPEN_RE.match(line)
        if fence is not None:
            out.append(line)
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
        elif opened:
            out.extend(_block(block, start, ctx))
            block, start, fence = [], number + 1, opened.group(1)
            out.append(line)
        elif not line.strip():
            out.extend(_block(block, start, ctx))
            block, start = [], number + 1
            out.append(line)
        else:
            block.append(line)
    out.extend(_block(block, start, ctx))
    return "\n".join(out)


def _block(lines: list[str], start: int, ctx: Context) -> list[str]:
    """One block's lines (the first is line ``start`` of the chapter's body), its runaway openers replaced."""
    text = "\n".join(lines)
    if text.count("[") + text.count("(") + text.count("<") <= MAX_UNMATCHED:
        return lines
    # What each character is to Python-Markdown: code (0, hidden), math or a tag (1: its openers not counted,
    # its closers counted, nothing replaced), indented code (1 too), text (2).
    kind = bytearray(b"\x02") * len(text)
    position = 0
    for line in lines:
        if line.startswith(("    ", "\t")):
            kind[position : position + len(line)] = b"\x01" * len(line)
        position += len(line) + 1
    _mark_code(text, kind)
    for begin, end in [*_math(text), *((m.start(), m.end()) for m in _TAG_RE.finditer(text))]:
        kind[begin:end] = kind[begin:end].replace(b"\x02", b"\x01")
    replace: dict[int, str] = {}
    stacks: dict[str, list[int]] = {"[": [], "(": [], "<": []}
    pairs: list[tuple[int, int]] = []
    i = 0
    # \( and \[ open math (essaybook.mathtex), which looks for its closer to the end of the block from each.
    last_close = {"(": text.rfind("\\)"), "[": text.rfind("\\]")}
    math_openers: list[int] = []
    while i < len(text):
        ch = text[i]
        if ch == "\\" and kind[i] and i + 1 < len(text) and text[i + 1] in _ESCAPABLE:
            if kind[i] == 2 and text[i + 1] in last_close and i > last_close[text[i + 1]]:
                math_openers.append(i)
            i += 2
            continue
        if (
            kind[i] == 2
            and ch in stacks
            and (ch != "<" or text[i + 1 : i + 2].isalpha() or text[i + 1 : i + 2] in "/!?")
        ):
            stacks[ch].append(i)
        elif kind[i] and ch in _OPENER and stacks[_OPENER[ch]]:
            at = stacks[_OPENER[ch]].pop()
            if ch == "]":
                pairs.append((at, i))
        i += 1
    deep = _too_deep(pairs)
    for at, close in deep:
        replace[at], replace[close] = _REFERENCE["["], _REFERENCE["]"]
    unmatched = [at for stack in stacks.values() for at in stack]
    if len(unmatched) + len(math_openers) <= MAX_UNMATCHED and not replace:
        return lines
    if len(unmatched) + len(math_openers) > MAX_UNMATCHED:
        replace.update((at, _REFERENCE[text[at]]) for at in unmatched)
        for at in math_openers:  # Python-Markdown prints an escaped bracket for one never closed: so does this
            replace[at], replace[at + 1] = _REFERENCE[text[at + 1]], ""
    if deep:
        first = min(at for at, _ in deep)
        ctx.warn(
            f"square brackets nested deeper than {MAX_BRACKET_DEPTH} levels are printed as text",
            kind="runaway-markup",
            line=ctx.chapter.body_line + start + text.count("\n", 0, first),
        )
    pieces, last = [], 0
    for at in sorted(replace):
        pieces += [text[last:at], replace[at]]
        last = at + 1
    pieces.append(text[last:])
    return "".join(pieces).split("\n")


def _too_deep(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The pairs of matched brackets (opener, closer) nested deeper than :data:`MAX_BRACKET_DEPTH` in others."""
    events = sorted(
        [(at, 1, pair) for pair in pairs for at in pair[:1]] + [(close, -1, p) for p in pairs for close in p[1:]]
    )
    depth, deep = 0, []
    for _, step, pair in events:
        if step > 0:
            depth += 1
            if depth > MAX_BRACKET_DEPTH:
                deep.append(pair)
        else:
            depth -= 1
    return deep


def _mark_code(text: str, kind: bytearray) -> None:
    """Mark code spans in ``kind`` (0): a run of backticks up to the next run of the same length (CommonMark);
    a run that nothing closes is text."""
    runs = [(m.start(), m.end()) for m in _BACKTICKS_RE.finditer(text) if not _escaped(text, m.start())]
    by_length: dict[int, list[int]] = {}
    for index, (start, end) in enumerate(runs):
        by_length.setdefault(end - start, []).append(index)
    following = {length: iter(indices) for length, indices in by_length.items()}
    index = 0
    while index < len(runs):
        start, end = runs[index]
        close = next((j for j in following[end - start] if j > index), None)
        if close is None:
            index += 1
            continue
        kind[start : runs[close][1]] = bytes(runs[close][1] - start)
        index = close + 1


def _escaped(text: str, at: int) -> bool:
    """Whether the character at ``at`` follows an odd number of backslashes."""
    before = at
    while before and text[before - 1] == "\\":
        before -= 1
    return (at - before) % 2 == 1


def _math(text: str) -> list[tuple[int, int]]:
    """Where math is in ``text`` (by the delimiters of :mod:`essaybook.mathtex`, in linear time: once a closer
        is found nowhere after an opener, it is not looked for again). Finding more than Python-Markdown
    does only leaves more openers as they are."""
    spans: list[tuple[int, int]] = []
    missing: set[str] = set()
    position = 0
    while (found := _MATH_OPEN_RE.search(text, position)) is not None:
        opener = found.group()
        closer = _MATH_CLOSE.get(opener, "$")
        if _escaped(text, found.start()):
            position = found.end()
            continue
        close = -1 if closer in missing else text.find(closer, found.end())
        if close < 0:
            missing.add(closer)
            position = found.end()
            continue
        spans.append((found.start(), close + len(closer)))
        position = close + len(closer)
    return spans
