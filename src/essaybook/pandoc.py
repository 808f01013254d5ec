"""Pandoc's Markdown in the convert stage: the Python-Markdown extension and the tree pass that finishes it.

- Inline notes ``^[…]`` become ordinary footnotes (``[^pandoc-note-N]``), numbered with the others.
- Fenced divs ``::: note`` / ``::: {.class #id key=val}`` (nested; a closing fence is any run of three or more
  colons) are parsed as Markdown inside a ``<div>``; :func:`finish_tree` then gives the classes that mean
  something their semantic element (a note or callout is an ``<aside>``, an epigraph or dedication its
  display class and DPUB-ARIA role).
- Bracketed spans ``[text]{.smallcaps}``, ``{.underline}``, ``{.mark}``, ``{lang=fr}`` become ``<span>``,
  ``<u>`` or ``<mark>`` (the ``lang`` tag is checked later with the other attributes, in
  :func:`essaybook.convert.sanitize.clean`).
- ``\\newpage`` or ``\\pagebreak`` alone on a line is a page break in print (``<div class="page-break">``,
  which the EPUB leaves out).
- ``width`` and ``height`` on an image (``![a](x.png){width=50%}``) become CSS: HTML's attributes hold
  whole pixels only.

:func:`dialect_marks` finds what looks like another dialect and is not understood, for the warnings.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass

import markdown
from lxml import etree, html
from markdown.blockprocessors import BlockProcessor
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor

from essaybook import log
from essaybook.diagnostics import Diagnostic

NOTE_PREFIX = "pandoc-note-"
"""Footnote labels given to inline notes; ``fn-pandoc-note-1`` and so on in the converted chapter."""

_FENCE_RE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_DIV_OPEN_RE = re.compile(r"^ {0,3}(?P<colons>:{3,})[ \t]*(?:\{(?P<attrs>[^{}]*)\}|(?P<word>[\w-]+))[ \t]*:*[ \t]*$")
_DIV_CLOSE_RE = re.compile(r"^ {0,3}:{3,}[ \t]*$")
_ATTR_TOKEN_RE = re.compile(
    r"""\.(?P<cls>[\w-]+)|#(?P<id>[\w:.-]+)|(?P<key>[\w-]+)=(?P<val>"[^"]*"|'[^']*'|[^\s"']+)"""
)
_PAGE_BREAK_RE = re.compile(r"^ {0,3}\\(?:newpage|pagebreak)[ \t]*$")
_SPAN_RE = r"\[(?P<text>(?:[^\[\]\\]|\\.|\[[^\[\]]*\])*)\]\{:?(?P<attrs>[^{}\n]*)\}"
_CSS_LENGTH_RE = re.compile(r"^(?:\d+(?:\.\d+)?|\.\d+)(?:%|px|cm|mm|in|pt|pc|em|rem|ex|ch|vw|vh)$")

CALLOUTS = ("note", "tip", "warning", "important", "caution")
"""Div classes read as a note or callout (also as Quarto's ``callout-…``): an ``<aside>``."""


@dataclass(frozen=True)
class Attributes:
    """Pandoc's attribute block ``{.class #id key=val}``, read."""

    classes: tuple[str, ...]
    id: str | None
    pairs: tuple[tuple[str, str], ...]


def parse_attributes(text: str) -> Attributes:
    """The classes, id and key=value pairs of an attribute block's inside (anything else is ignored)."""
    classes: list[str] = []
    ident: str | None = None
    pairs: list[tuple[str, str]] = []
    for token in _ATTR_TOKEN_RE.finditer(text):
        if token["cls"]:
            classes.append(token["cls"])
        elif token["id"]:
            ident = token["id"]
        else:
            value = token["val"]
            if value[:1] in "\"'":
                value = value[1:-1]
            pairs.append((token["key"], value))
    return Attributes(tuple(classes), ident, tuple(pairs))


def html_pairs(pairs: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    """The HTML attributes Pandoc's ``key=value`` pairs become: ``lang``, ``title`` and a valid ``dir`` as they
    are, any other a ``data-`` attribute (which XHTML allows on every element)."""
    out = []
    for key, value in pairs:
        name = key.lower()
        if not (name in ("lang", "title") or (name == "dir" and value in ("ltr", "rtl", "auto"))):
            name = name if name.startswith("data-") else f"data-{name}"
        out.append((name, value))
    return out


def _html_attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


# ------------------------------------------------------------------------------------------ source passes


def _code_mask(lines: list[str]) -> list[bool]:
    """Which lines lie in fenced code (fence lines included)."""
    masked: list[bool] = []
    fence: str | None = None
    for line in lines:
        start = _FENCE_RE.match(line)
        if fence is None and start:
            fence = start.group(1)
            masked.append(True)
        elif fence is not None:
            masked.append(True)
            closing = start and start.group(1)[0] == fence[0] and len(start.group(1)) >= len(fence)
            if closing and not line.strip().lstrip(fence[0]):
                fence = None
        else:
            masked.append(False)
    return masked


def inline_notes(lines: list[str]) -> list[str]:
    """``^[…]`` -> ``[^pandoc-note-N]`` with the note's definition added at the end of the chapter.

    A note may span lines of its paragraph, hold brackets in pairs and code spans; one never closed is left
    as it is. Notes inside fenced code and code spans are text.
    """
    masked = _code_mask(lines)
    text_lines = [line if not mask else "" for line, mask in zip(lines, masked, strict=True)]
    if not any("^[" in line for line in text_lines):
        return lines
    out: list[str] = []
    notes: list[str] = []
    i = 0
    while i < len(lines):
        if masked[i] or "^[" not in lines[i]:
            out.append(lines[i])
            i += 1
            continue
        # The paragraph from this line on (a note ends in its paragraph).
        end = i
        while end + 1 < len(lines) and lines[end + 1].strip() and not masked[end + 1]:
            end += 1
        chunk = "\n".join(lines[i : end + 1])
        rewritten = _rewrite_notes(chunk, notes)
        out.extend(rewritten.split("\n"))
        i = end + 1
    if notes:
        out.append("")
        for number, note in enumerate(notes, 1):
            out.append(f"[^{NOTE_PREFIX}{number}]: {note}")
    return out


_BACKTICKS_RE = re.compile(r"`+")


def _skips(text: str) -> dict[int, int]:
    """Where escapes and code spans start in ``text``, and where they end (brackets there are text).

    A run of backticks opens a code span closed by the next run of the same length (CommonMark); found in one
    pass, so a paragraph of unmatched backticks costs no more than one of text.
    """
    skips: dict[int, int] = {}
    runs = [(m.start(), m.end()) for m in _BACKTICKS_RE.finditer(text)]
    later: dict[int, list[int]] = {}
    for index in range(len(runs) - 1, -1, -1):
        later.setdefault(runs[index][1] - runs[index][0], []).append(index)
    used: set[int] = set()
    for index, (start, end) in enumerate(runs):
        same = later[end - start]  # runs of this length, nearest last
        while same and (same[-1] <= index or same[-1] in used):
            same.pop()
        if index in used:
            continue
        if same:
            closing = same[-1]
            used.add(closing)
            skips[start] = runs[closing][1]
    pos = text.find("\\")
    while pos >= 0:
        skips.setdefault(pos, min(pos + 2, len(text)))
        pos = text.find("\\", pos + 2)
    return skips


def _rewrite_notes(text: str, notes: list[str]) -> str:
    """``text`` with each inline note replaced by its reference, the notes' text appended to ``notes``."""
    skips = _skips(text)
    pairs: dict[int, int] = {}
    stack: list[int] = []
    pos = 0
    while pos < len(text):
        if pos in skips:
            pos = skips[pos]
            continue
        if text[pos] == "[":
            stack.append(pos)
        elif text[pos] == "]" and stack:
            pairs[stack.pop()] = pos
        pos += 1

    def emit(low: int, high: int) -> str:
        out: list[str] = []
        pos = low
        while pos < high:
            if pos in skips:
                stop = min(skips[pos], high)
                out.append(text[pos:stop])
                pos = stop
            elif text.startswith("^[", pos) and pairs.get(pos + 1, high) < high:
                close = pairs[pos + 1]
                notes.append("")  # its number, before those of the notes inside it
                number = len(notes)
                notes[number - 1] = " ".join(emit(pos + 2, close).split())
                out.append(f"[^{NOTE_PREFIX}{number}]")
                pos = close + 1
            else:
                out.append(text[pos])
                pos += 1
        return "".join(out)

    return emit(0, len(text))


MAX_DIV_NESTING = 50
"""Deepest nesting of fenced divs a chapter may have (as for blockquotes and lists: deeper input would
exhaust the stack of the parsers and of page layout)."""


def _div_fences(lines: list[str]) -> list[tuple[str, int, Attributes | None]]:
    """Each fenced-div line as ('open', line, attributes), ('close', line, None) or ('stray', line, None) for
    a fence of colons alone that closes nothing (printed as text), in order; fenced code is skipped."""
    found: list[tuple[str, int, Attributes | None]] = []
    depth = 0
    for number, (line, mask) in enumerate(zip(lines, _code_mask(lines), strict=True)):
        if mask:
            continue
        if _DIV_CLOSE_RE.match(line):
            found.append(("close" if depth else "stray", number, None))
            depth = max(0, depth - 1)
            continue
        opened = _DIV_OPEN_RE.match(line)
        if opened:
            if opened["attrs"] is not None:
                attrs = parse_attributes(opened["attrs"])
            else:
                attrs = Attributes((opened["word"],), None, ())
            found.append(("open", number, attrs))
            depth += 1
    return found


def too_deep(lines: list[str]) -> int | None:
    """The 0-based line of the first fenced div nested deeper than :data:`MAX_DIV_NESTING`, if any."""
    depth = 0
    for what, number, _ in _div_fences(lines):
        depth += {"open": 1, "close": -1}.get(what, 0)
        if depth > MAX_DIV_NESTING:
            return number
    return None


def fenced_divs(lines: list[str]) -> list[str]:
    """Pandoc's fenced divs -> ``<div markdown="1" data-pandoc-div="">`` … ``</div>`` lines, one for one.

    The Markdown inside is parsed as Markdown (Python-Markdown's md_in_html); a fence line of colons alone
    closes the innermost open div, and is text when none is open. Divs left open close at the chapter's end.
    """
    out = list(lines)
    depth = 0
    for what, number, attrs in _div_fences(lines):
        if what == "open" and attrs is not None:
            out[number] = _div_tag(attrs)
            depth += 1
        elif what == "close":
            out[number] = "</div>"
            depth -= 1
    out.extend(["", *["</div>"] * depth] if depth else [])
    return out


def _div_tag(attrs: Attributes) -> str:
    parts = ['<div markdown="1" data-pandoc-div=""']
    if attrs.classes:
        parts.append(f'class="{_html_attr(" ".join(attrs.classes))}"')
    if attrs.id:
        parts.append(f'id="{_html_attr(attrs.id)}"')
    for name, value in html_pairs(attrs.pairs):
        parts.append(f'{name}="{_html_attr(value)}"')
    return " ".join(parts) + ">"


class _PandocSource(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        return fenced_divs(inline_notes(lines))


class _PageBreaks(BlockProcessor):
    """``\\newpage`` or ``\\pagebreak`` alone on a line -> ``<div class="page-break"/>``."""

    def test(self, parent: ET.Element, block: str) -> bool:
        return any(_PAGE_BREAK_RE.match(line) for line in block.split("\n"))

    def run(self, parent: ET.Element, blocks: list[str]) -> None:
        lines = blocks.pop(0).split("\n")
        at = next(i for i, line in enumerate(lines) if _PAGE_BREAK_RE.match(line))
        before, after = "\n".join(lines[:at]), "\n".join(lines[at + 1 :])
        if before.strip():
            self.parser.parseBlocks(parent, [before])
        ET.SubElement(parent, "div", {"class": "page-break"})
        if after.strip():
            blocks.insert(0, after)


class _Spans(InlineProcessor):
    """``[text]{attributes}`` -> a span (``<u>`` for ``.underline``, ``<mark>`` for ``.mark``)."""

    def handleMatch(self, m: re.Match[str], data: str) -> tuple[ET.Element | None, int | None, int | None]:  # type: ignore[override]
        attrs = parse_attributes(m["attrs"])
        if not (attrs.classes or attrs.id or attrs.pairs):
            return None, None, None
        classes = list(attrs.classes)
        tag = "span"
        for special, element in (("underline", "u"), ("ul", "u"), ("mark", "mark")):
            if special in classes:
                tag = element
                classes.remove(special)
                break
        span = ET.Element(tag)
        span.text = m["text"]
        if classes:
            span.set("class", " ".join(classes))
        if attrs.id:
            span.set("id", attrs.id)
        for name, value in html_pairs(attrs.pairs):
            span.set(name, value)
        return span, m.start(0), m.end(0)


class PandocExtension(Extension):
    """Register Pandoc's constructs: source passes before raw HTML is stashed, spans before links."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        # Before raw HTML blocks (20) are stashed, so the divs' <div markdown="1"> lines are seen as HTML,
        # and before fenced code (25) so that the code masks still see the fences.
        md.preprocessors.register(_PandocSource(md), "pandoc-source", 28)
        # After indented code (80): a \newpage in an indented code block stays code.
        md.parser.blockprocessors.register(_PageBreaks(md.parser), "pandoc-page-break", 75)
        # Before reference (170) and link (160) patterns, which would take the brackets.
        md.inlinePatterns.register(_Spans(_SPAN_RE, md), "pandoc-span", 175)


# --------------------------------------------------------------------------------------------- tree pass


def finish_tree(root: html.HtmlElement, warn: Callable[[str, str], None]) -> None:
    """Give fenced divs their semantic element, and image sizes their CSS (before the tree is cleaned).

    ``warn(message, near)`` reports a size that is no CSS length, near the text that shows where it is.
    """
    for div in list(root.iter("div")):
        if "data-pandoc-div" in div.attrib:
            del div.attrib["data-pandoc-div"]
            _map_div(div)
    for img in root.iter("img"):
        _image_size(img, warn)
    for page_break in list(root.iterfind(".//div[@class='page-break']")):
        # As LaTeX does with \newpage: no page break on an empty page (at the chapter's start, right after
        # another) or at the chapter's end, where the next chapter opens a page anyway.
        before, after = page_break.getprevious(), page_break.getnext()
        empty = before is None or after is None or before.get("class") == "page-break"
        parent = page_break.getparent()
        if empty and parent is not None and not (page_break.tail or "").strip():
            parent.remove(page_break)


def _map_div(div: etree._Element) -> None:
    classes = (div.get("class") or "").split()
    kind = next(
        (c.removeprefix("callout-") for c in classes if c in CALLOUTS or c.removeprefix("callout-") in CALLOUTS),
        None,
    )
    if kind is not None:
        div.tag = "aside"
        div.set(
            "class",
            " ".join(["callout", f"callout-{kind}", *(c for c in classes if c.removeprefix("callout-") != kind)]),
        )
        div.set("role", "doc-tip" if kind == "tip" else "note")
        title = div.attrib.pop("title", None) or div.attrib.pop("data-title", None)
        first = next((c for c in div if isinstance(c.tag, str)), None)
        if (
            title is None
            and first is not None
            and first.tag in ("h1", "h2", "h3", "h4", "h5", "h6")
            and not (div.text or "").strip()
        ):
            first.tag = "p"  # a callout's title is no section of the chapter (kept out of the contents)
            first.set("class", "callout-title")
            first.attrib.pop("id", None)
        elif title:
            line = html.Element("p", {"class": "callout-title"})
            line.text = title
            line.tail = div.text
            div.text = None
            div.insert(0, line)
        return
    if "epigraph" in classes:
        div.set("role", "doc-epigraph")
        div.set("epub:type", "epigraph")
    elif "dedication" in classes:
        div.tag = "section"
        div.set("role", "doc-dedication")
        div.set("epub:type", "dedication")


def _image_size(img: etree._Element, warn: Callable[[str, str], None]) -> None:
    """``width``/``height`` that are not whole pixels (``50%``, ``3cm``) move into the image's style."""
    declarations: list[str] = []
    for name in ("width", "height"):
        value = (img.get(name) or "").strip()
        if not value or value.isdigit():
            continue
        del img.attrib[name]
        if _CSS_LENGTH_RE.match(value):
            declarations.append(f"{name}: {value}")
        else:
            warn(
                f"image {img.get('src', '')!r}: {name}={value!r} is no length (such as 50%, 8cm or 300px); "
                "it is left out",
                f"{name}={value}",
            )
    if declarations:
        style = (img.get("style") or "").strip().rstrip(";")
        img.set("style", "; ".join([*([style] if style else []), *declarations]))


# ------------------------------------------------------------------------------------------ other dialects

# No ".*?" in these: a line of a hundred thousand unclosed "{%" would take minutes; "[^{}]*" stops at the next brace.
_LIQUID_RE = re.compile(r"\{%-?\s*[A-Za-z_][\w-]*[^{}]*%\}|\{\{-?\s*[A-Za-z_][\w.]*\s*(?:\|[^{}]*)?-?\}\}")
_SHORTCODE_RE = re.compile(r"\{\{[<%]\s*/?\s*[A-Za-z_][\w-]*[^{}]*[>%]\}\}")
_DIRECTIVE_RE = re.compile(r"\{\{#([A-Za-z_][\w-]*)(?:[^{}]*\}\})?")
_KNOWN_DIRECTIVES = frozenset({"include", "rustdoc_include", "playground", "title"})
_COMMAND_RE = re.compile(r"(?<![\w:\\./~])\\([A-Za-z]{2,})\b")
_CODE_SPAN_RE = re.compile(r"(`+)(?:(?!\1).)+?\1")
_MATH_RE = re.compile(r"(?<![\\\w$])\$(?=\S)[^$\n]+?(?<=\S)\$(?![\w$])")
_DISPLAY_MATH = (
    (re.compile(r"\$\$.+?\$\$", re.DOTALL), "$$"),
    (re.compile(r"\\\[.+?\\\]", re.DOTALL), "\\]"),
    (re.compile(r"\\\(.+?\\\)", re.DOTALL), "\\)"),
)


def _without_math(text: str) -> str:
    """``text`` with its math (``$…$``, ``$$…$$``, ``\\(…\\)``, ``\\[…\\]``, which may span lines) blanked,
    keeping its line breaks; TeX there is math (see :mod:`essaybook.mathtex`), not a stray command."""

    def blank(match: re.Match[str]) -> str:
        return "\n" * match.group(0).count("\n")

    for pattern, closer in _DISPLAY_MATH:
        # Only up to the last closer: an opener after it matches nothing, and would scan to the end each time.
        end = text.rfind(closer)
        if end >= 0:
            cut = end + len(closer)
            text = pattern.sub(blank, text[:cut]) + text[cut:]
    return "\n".join(_MATH_RE.sub("", line) for line in text.split("\n"))


DIALECT_KINDS: dict[str, tuple[str, str]] = {
    "liquid-tag": (
        "Liquid/Jekyll tags such as {sample} are not understood; they are printed as written",
        "take them out, or write what they produce",
    ),
    "shortcode": (
        "Hugo shortcodes such as {sample} are not understood; they are printed as written",
        "take them out, or write what they produce",
    ),
    "unknown-directive": (
        "directives such as {sample} are not understood; they are printed as written",
        "take them out, or paste in what they produce",
    ),
    "latex-command": (
        "LaTeX commands outside math and code, such as {sample}, are printed as written",
        "write the text in Markdown; only \\newpage and \\pagebreak alone on a line are understood",
    ),
    "stray-div-fence": (
        "a fence of colons ({sample}) closes no fenced div; it is printed as written",
        "open the div with ::: and a class, e.g. '::: note', or take the line out",
    ),
    "quoted-div": (
        "fenced divs inside a blockquote ({sample}) are not understood; they are printed as written",
        "put the blockquote inside the div instead: '::: note' then '> text' then ':::'",
    ),
}
"""Kinds of foreign syntax :func:`dialect_marks` finds: the warning's message (``{sample}``: the first one
written) and hint."""

_QUOTED_DIV_RE = re.compile(r"^ {0,3}(?:>[ \t]?)+ {0,3}(:{3,}.*)$")


def dialect_marks(lines: list[str]) -> list[tuple[str, int, str]]:
    """(kind, 0-based line, what is written) of each construct of another dialect that is not understood, in
    order of lines.

    Fenced and indented code, code spans and ``$…$`` math are skipped; so are the directives of mdBook's
    ``{{#include}}`` family (reported on their own) and ``\\newpage``/``\\pagebreak`` lines.
    """
    found = [("stray-div-fence", n, lines[n].strip()) for what, n, _ in _div_fences(lines) if what == "stray"]
    patterns = (("liquid-tag", _LIQUID_RE), ("shortcode", _SHORTCODE_RE))
    masked = _code_mask(lines)
    visible = [
        "" if mask or line.startswith(("    ", "\t")) else _CODE_SPAN_RE.sub("", line)
        for line, mask in zip(lines, masked, strict=True)
    ]
    for number, text in enumerate(_without_math("\n".join(visible)).split("\n")):
        if not text:
            continue
        for kind, pattern in patterns:
            match = pattern.search(text)
            if match:
                found.append((kind, number, match.group(0)))
        unknown = next((d for d in _DIRECTIVE_RE.finditer(text) if d.group(1) not in _KNOWN_DIRECTIVES), None)
        if unknown:
            found.append(("unknown-directive", number, unknown.group(0)))
        command = _COMMAND_RE.search(text)
        if command and not _PAGE_BREAK_RE.match(text):
            found.append(("latex-command", number, command.group(0)))
        quoted = _QUOTED_DIV_RE.match(text)
        if quoted:
            found.append(("quoted-div", number, quoted.group(1).strip()))
    return sorted(found, key=lambda mark: mark[1])


def report_dialects(lines: list[str], file: str, first_line: int, warnings: list[Diagnostic]) -> None:
    """Warn once per kind of foreign syntax in a chapter, at its first line, with how many more lines have it."""
    marks = dialect_marks(lines)
    for kind, (message, hint) in DIALECT_KINDS.items():
        at = [(number, sample) for found, number, sample in marks if found == kind]
        if at:
            sample = at[0][1] if len(at[0][1]) <= 40 else at[0][1][:39] + "\u2026"
            text = message.format(sample=sample)
            diagnostic = Diagnostic("warning", kind, text, file, first_line + at[0][0], hint, len(at) - 1)
            warnings.append(diagnostic)
            log.warn(diagnostic)
