"""Stage 2 (cross-references): labelled figures, tables, listings, equations and sections -> numbered captions,
and ``@fig:x`` references -> links that print the number, as pandoc-crossref and Quarto write them.

Labels are ``{#fig:x}`` on an image alone in its paragraph (its title, else its alt text, is the caption),
``{#tbl:x}`` at the end of a Pandoc table caption (a paragraph that starts with ``Table:`` or ``:`` right before
or after a pipe table), ``{#lst:x}`` on a fenced code block with ``caption="…"`` (or Quarto's ``lst-cap``),
``{#eq:x}`` after a display equation (:mod:`essaybook.mathtex`) and ``{#sec:x}`` on a heading; Quarto's
``fig-x`` spelling is read as well. References: ``@fig:x``, ``@Fig:x`` (capitalised word), ``[@fig:x; @fig:y]``
("Figures 1 and 2") and ``[-@fig:x]`` (the number alone).

The Markdown side (:class:`CrossrefExtension`) rewrites table captions and captioned fences into markup the
tree pass finishes, and turns references into ``<span class="crossref" data-crossref="…">``. :func:`collect`
(in each chapter's first pass, so kept in the conversion cache) makes the figures, captions and listings and
records the chapter's :attr:`~essaybook.model.Chapter.targets`; :func:`resolve` (once every chapter's first
pass is done) numbers the chapter's captions and writes each reference, by book or by chapter
(``[book] numbering``), in the words of :mod:`essaybook.labels`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import markdown
from lxml import etree, html
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor
from markdown.util import AtomicString

from essaybook.config import BookSettings
from essaybook.contentmodel import drop_keep_tail
from essaybook.labels import Labels, labels_for
from essaybook.model import Book, Chapter, Target
from essaybook.pandoc import parse_attributes

KINDS = ("fig", "tbl", "lst", "eq", "sec")
"""The label prefixes this module claims (a citation key cannot start with one of them and a colon or hyphen)."""
WORDS = {"fig": "figure", "tbl": "table", "lst": "listing", "eq": "equation", "sec": "section"}
"""Each kind's word in :mod:`essaybook.labels` (plural: with an 's')."""

_NAME = r"[A-Za-z0-9_](?:[\w:.-]*\w)?"
_LABEL_RE = re.compile(rf"^(fig|tbl|lst|eq|sec)[:-]{_NAME}$")
_REF = rf"-?@(?:[Ff]ig|[Tt]bl|[Ll]st|[Ee]q|[Ss]ec)[:-]{_NAME}"
_REFS_RE = (
    rf"\[[ \t]*(?P<group>{_REF}(?:[ \t]*;[ \t]*{_REF})*)[ \t]*\](?![(\[{{])"
    rf"|(?<![\w@\\\[])@(?P<one>(?:[Ff]ig|[Tt]bl|[Ll]st|[Ee]q|[Ss]ec)[:-]{_NAME})"
)

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
TABLE_CAPTION = "essaybook-table-caption"
LISTING = "essaybook-listing"


class Warn(Protocol):
    """Reports a problem of the chapter at the first line holding ``near``."""

    def __call__(self, message: str, *, near: str, hint: str | None = None) -> None: ...


_PLACES = {
    "fig": "![Caption](file.png){#fig:name}, alone in its paragraph",
    "tbl": "': Caption {#tbl:name}' under the table",
    "lst": '```{#lst:name .python caption="…"}',
    "eq": "$$…$$ {#eq:name}",
    "sec": "## Title {#sec:name}",
}
"""Where each kind of label is written, for the hints."""


def kind_of(label: str) -> str | None:
    """'fig', 'tbl', … for a label this module reads (``fig:harbour``, ``fig-harbour``), else None."""
    found = _LABEL_RE.match(label)
    return found.group(1) if found else None


# ------------------------------------------------------------------------------------------------- Markdown

_FENCE_RE = re.compile(
    r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w#+.-]+)?[ \t]*\{(?P<attrs>[^{}]*)\}[ \t]*$"
)
_ANY_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CAPTION_RE = re.compile(r"^ {0,3}(?:[Tt]able)?:[ \t]+(?=\S)")
_TRAILING_ATTRS_RE = re.compile(r"[ \t]*\{(?P<attrs>[^{}]*)\}[ \t]*$")


def _is_row(line: str) -> bool:
    return "|" in line and bool(line.strip())


def _is_separator(line: str) -> bool:
    stripped = line.strip()
    return "-" in stripped and "|" in stripped and set(stripped) <= set("|:- \t")


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def _listings(lines: list[str]) -> list[str]:
    """Each fenced code block with a ``lst`` label or a caption -> the block inside a ``<div>``
    (Python-Markdown's fenced code drops both: codehilite keeps only the language)."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        opened = _FENCE_RE.match(line)
        attrs = parse_attributes(opened["attrs"]) if opened else None
        pairs = dict(attrs.pairs) if attrs else {}
        caption = pairs.get("caption", pairs.get("lst-cap"))
        label = attrs.id if attrs and attrs.id and kind_of(attrs.id) == "lst" else None
        if opened is None or attrs is None or (caption is None and label is None):
            start = _ANY_FENCE_RE.match(line)
            if start:  # copy a fenced block as it is, so that its lines are never read as captions or fences
                end = _closing(lines, i, start.group(1))
                out.extend(lines[i : end + 1])
                i = end + 1
                continue
            out.append(line)
            i += 1
            continue
        end = _closing(lines, i, opened["fence"])
        indent, fence = opened["indent"], opened["fence"]
        classes = ([opened["lang"]] if opened["lang"] else []) + list(attrs.classes)
        rest = [(k, v) for k, v in attrs.pairs if k not in ("caption", "lst-cap")]
        if rest or len(classes) > 1:
            spec = " ".join([*(f".{c}" for c in classes), *(f'{k}="{v}"' for k, v in rest)])
            info = f"{{{spec}}}"
        else:
            info = classes[0] if classes else ""
        div = f'{indent}<div markdown="1" class="{LISTING}"'
        if label:
            div += f' id="{_attr(label)}"'
        if caption is not None:
            div += f' data-caption="{_attr(caption)}"'
        out.extend(["", div + ">", "", f"{indent}{fence}{info}", *lines[i + 1 : end + 1], "", f"{indent}</div>", ""])
        i = end + 1
    return out


def _closing(lines: list[str], start: int, fence: str) -> int:
    """The line closing the fence opened at ``start`` (the last line when it is never closed)."""
    for j in range(start + 1, len(lines)):
        found = _ANY_FENCE_RE.match(lines[j])
        if (
            found
            and found.group(1)[0] == fence[0]
            and len(found.group(1)) >= len(fence)
            and not lines[j].strip(" \t`~")
        ):
            return j
    return len(lines) - 1


def _table_captions(lines: list[str]) -> list[str]:
    """Pandoc's table captions -> paragraphs of class ``essaybook-table-caption``, a blank line from their table.

    A caption is a paragraph starting ``Table:``, ``table:`` or ``:`` right after a pipe table (or one blank
    line after it) or right before one; ``{#tbl:x}`` at its end labels the table.
    """
    masked = _fence_mask(lines)
    tables: list[tuple[int, int]] = []
    i = 0
    while i + 1 < len(lines):
        if not masked[i] and _is_row(lines[i]) and _is_separator(lines[i + 1]) and not masked[i + 1]:
            end = i + 2
            while end < len(lines) and _is_row(lines[end]) and not _CAPTION_RE.match(lines[end]) and not masked[end]:
                end += 1
            tables.append((i, end))
            i = end
        else:
            i += 1
    if not tables:
        return lines
    captions: dict[int, int] = {}  # first line -> line after the caption paragraph
    used: set[int] = set()
    for start, end in tables:
        after = end + 1 if end < len(lines) and not lines[end].strip() else end
        if after < len(lines) and _CAPTION_RE.match(lines[after]) and not masked[after] and after not in used:
            captions[after] = _paragraph_end(lines, after)
            used.update(range(after, captions[after]))
            continue
        before = start - 1
        if before >= 0 and not lines[before].strip():
            before -= 1
        if before < 0 or masked[before] or before in used:
            continue
        first = before
        while first > 0 and lines[first - 1].strip() and not masked[first - 1]:
            first -= 1
        if _CAPTION_RE.match(lines[first]) and _paragraph_end(lines, first) == before + 1:
            captions[first] = before + 1
            used.update(range(first, before + 1))
    out: list[str] = []
    i = 0
    while i < len(lines):
        if i not in captions:
            out.append(lines[i])
            i += 1
            continue
        end = captions[i]
        paragraph = [_CAPTION_RE.sub("", lines[i], count=1), *lines[i + 1 : end]]
        trailing = _TRAILING_ATTRS_RE.search(paragraph[-1])
        label = None
        if trailing:
            paragraph[-1] = paragraph[-1][: trailing.start()]
            label = parse_attributes(trailing["attrs"]).id
        if "".join(paragraph).strip():
            # attr_list reads a paragraph's attributes from a line of their own
            paragraph.append(f"{{: {f'#{label} ' if label else ''}.{TABLE_CAPTION}}}")
        else:  # ": {#tbl:x}" labels the table and gives it no caption text
            ident = f' id="{_attr(label)}"' if label else ""
            paragraph = [f'<p class="{TABLE_CAPTION}"{ident}></p>']
        out.extend(["", *paragraph, ""])
        i = end
    return out


def _paragraph_end(lines: list[str], start: int) -> int:
    end = start
    while end < len(lines) and lines[end].strip():
        end += 1
    return end


def _fence_mask(lines: list[str]) -> list[bool]:
    masked: list[bool] = []
    i = 0
    while i < len(lines):
        start = _ANY_FENCE_RE.match(lines[i])
        if start:
            end = _closing(lines, i, start.group(1))
            masked.extend([True] * (end - i + 1))
            i = end + 1
        else:
            masked.append(False)
            i += 1
    return masked


class _Source(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        # Most chapters have neither: one quick look at each line spares them the passes.
        if any(_FENCE_RE.match(line) for line in lines):
            lines = _listings(lines)
        if any(_is_separator(line) for line in lines):
            lines = _table_captions(lines)
        return lines


class _References(InlineProcessor):
    """``@fig:x``, ``[@fig:x; @tbl:y]``, ``[-@fig:x]`` -> ``<span class="crossref" data-crossref="fig:x;tbl:y">``
    (the references as written, ``;``-separated), written out by :func:`resolve`."""

    def handleMatch(self, m: re.Match[str], data: str) -> tuple[Any, int | None, int | None]:  # type: ignore[override]
        if m.group("one"):
            refs = [m.group("one")]
        else:
            refs = [part.strip().replace("@", "", 1) for part in m.group("group").split(";")]
        el = ET.Element("span", {"class": "crossref", "data-crossref": ";".join(refs)})
        el.text = AtomicString(m.group(0))
        return el, m.start(), m.end()


class CrossrefExtension(Extension):
    """Register the source pass after fenced divs (28) and before fenced code (25), and the references ahead of
    links (160) and reference links (170), which would take the brackets."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.preprocessors.register(_Source(md), "essaybook-crossref-source", 27)
        md.inlinePatterns.register(_References(_REFS_RE, md), "essaybook-crossref", 176)


# ---------------------------------------------------------------------------------------------- first pass


def collect(root: html.HtmlElement, chapter: Chapter, warn: Warn) -> None:
    """Make labelled figures, table captions and listings, and record what the chapter's references can name in
    :attr:`Chapter.targets` (in document order). Runs after ids are unique and images are figures.

    ``warn`` is told of a label that names nothing that can be numbered, or is used twice.
    """
    written: dict[str, str] = {}
    for local, id_ in chapter.anchors.items():  # a heading's own id comes first, then its web slug
        written.setdefault(id_, local)
    targets: list[Target] = []
    for element in root.xpath(f".//p[@class='{TABLE_CAPTION}']"):
        _table_caption(element)
    for element in root.xpath(f".//div[@class='{LISTING}']"):
        _listing(element)
    for element in root.xpath(".//div[@id]"):
        if kind_of(written.get(element.get("id", ""), "")) == "fig":
            _figure_div(element)
    for element in root.xpath(".//*[@id]"):
        id_ = element.get("id", "")
        label = written.get(id_)
        # A heading's id may be made from its text ("Fig trees" -> fig-trees): no label was written there.
        heading = element.tag in _HEADINGS
        if label is None:
            label = re.sub(r"-\d+$", "", id_)
            if kind_of(label) is not None and not heading:
                warn(
                    f"label {label} is used more than once in this chapter; the later one cannot be named",
                    near=label,
                    hint="give each its own label",
                )
            continue
        kind = kind_of(label)
        if kind is None:
            continue
        caption = _target_caption(element, kind)
        if caption is None:
            if element.tag == "img":
                warn(
                    f"image {{#{label}}} is not alone in its paragraph, so it is no numbered figure",
                    near=label,
                    hint="put the image in a paragraph of its own",
                )
            elif not heading:
                warn(
                    f"{{#{label}}} is on no {WORDS[kind]}; nothing is numbered",
                    near=label,
                    hint=f"write it {_PLACES[kind]}",
                )
            continue
        targets.append(Target(kind, label, id_, caption))
    chapter.targets = targets


def _text(element: etree._Element) -> str:
    return " ".join("".join(element.itertext()).split())


def _target_caption(element: etree._Element, kind: str) -> str | None:
    """The caption of ``element`` as a target of ``kind``, or None when it is not one (a label on the wrong thing)."""
    tag, classes = element.tag, (element.get("class") or "").split()
    if kind == "fig" and tag == "img":
        parent = element.getparent()
        if parent is None or parent.tag != "figure" or parent.get("id"):
            return None
        parent.set("id", element.attrib.pop("id"))
        caption = parent.find("figcaption")
        if caption is None and element.get("alt"):
            caption = etree.SubElement(parent, "figcaption")
            caption.text = element.get("alt")
        return _text(caption) if caption is not None else ""
    if kind == "fig" and tag == "figure":
        caption = element.find("figcaption")
        return _text(caption) if caption is not None else ""
    if kind == "tbl" and tag == "table":
        caption = element.find("caption")
        return _text(caption) if caption is not None else ""
    if kind == "lst" and tag == "figure" and "listing" in classes:
        caption = element.find("figcaption")
        return _text(caption) if caption is not None else ""
    if kind == "eq" and tag in ("div", "span") and element.get("class") == "math display":
        return " ".join((element.text or "").split())
    if kind == "sec" and tag in _HEADINGS:
        return _text(element)
    return None


def _table_caption(p: etree._Element) -> None:
    """A caption paragraph beside its table -> the table's ``<caption>``, its id the table's."""
    table = next((e for e in (p.getnext(), p.getprevious()) if e is not None and e.tag == "table"), None)
    classes = [c for c in (p.get("class") or "").split() if c != TABLE_CAPTION]
    if table is None:
        if classes:
            p.set("class", " ".join(classes))
        else:
            p.attrib.pop("class", None)
        return
    if p.get("id") and not table.get("id"):
        table.set("id", p.attrib.pop("id"))
    drop_keep_tail(p)
    p.tag = "caption"
    p.attrib.clear()
    p.tail = table.text
    table.text = None
    table.insert(0, p)


def _listing(div: etree._Element) -> None:
    """``<div class="essaybook-listing" data-caption>`` -> ``<figure class="listing">`` with its figcaption."""
    div.tag = "figure"
    div.set("class", "listing")
    caption = div.attrib.pop("data-caption", None)
    if caption is not None:
        figcaption = html.Element("figcaption")
        _caption_markup(figcaption, caption)
        figcaption.tail, div.text = div.text, None
        div.insert(0, figcaption)


def _caption_markup(figcaption: etree._Element, caption: str) -> None:
    """``caption`` (attribute text) as the figcaption's content, ```code``` spans as ``<code>``."""
    parts = re.split(r"`([^`]+)`", caption)
    figcaption.text = parts[0]
    for index in range(1, len(parts), 2):
        code = etree.SubElement(figcaption, "code")
        code.text = parts[index]
        code.tail = parts[index + 1]


def _figure_div(div: etree._Element) -> None:
    """Quarto's figure div ``::: {#fig-x}`` (images, then a caption paragraph) -> a ``<figure>``."""
    div.tag = "figure"
    blocks = [c for c in div if isinstance(c.tag, str)]
    last = blocks[-1] if blocks else None
    if len(blocks) > 1 and last is not None and last.tag == "p" and last.find(".//img") is None:
        last.tag = "figcaption"


# ------------------------------------------------------------------------------------------------- numbers


def numbers(book: Book) -> dict[tuple[int, str], str]:
    """(chapter index, target id) -> the target's number as printed: '7' through the book, '3.2' by chapter
    (body chapters 1, 2, …, appendices A, B, …; other front and back matter numbers its own without a prefix)."""
    found: dict[tuple[int, str], str] = {}
    body = appendix = 0
    counts: dict[str, int] = {}
    for chapter in book.chapters:
        prefix = ""
        if chapter.role == "chapter":
            body += 1
            prefix = str(body)
        elif chapter.role == "appendix":
            appendix += 1
            prefix = _letters(appendix)
        if book.numbering == "chapter":
            counts = {}
        for target in chapter.targets:
            if target.kind == "sec":
                continue
            counts[target.kind] = counts.get(target.kind, 0) + 1
            number = str(counts[target.kind])
            found[(chapter.index, target.id)] = (
                f"{prefix}.{number}" if book.numbering == "chapter" and prefix else number
            )
    return found


def signature(book: Book) -> dict[str, tuple[str, str, str]]:
    """Each label of the book -> (id, number, caption): what a chapter's numbered captions and references print."""
    numbered = numbers(book)
    found: dict[str, tuple[str, str, str]] = {}
    for chapter in book.chapters:
        for target in chapter.targets:
            number = numbered.get((chapter.index, target.id), "")
            found.setdefault(target.label, (target.id, number, target.caption))
    return found


def depends(chapter: Chapter) -> bool:
    """Whether a converted chapter prints numbers of the book's targets (its captions, its references)."""
    return bool(chapter.targets) or 'class="crossref' in chapter.html or 'class="eqref' in chapter.html


def _letters(n: int) -> str:
    out = ""
    while n:
        n, rest = divmod(n - 1, 26)
        out = chr(ord("A") + rest) + out
    return out


def resolve(root: html.HtmlElement, chapter: Chapter, book: Book, lang: str, warn: Warn) -> None:
    """Number the captions of ``chapter``'s targets and write each reference under ``root`` as link(s).

    A reference prefers a target of its own chapter, then the book's first with that label. One to a label
    nothing has is warned about (``warn``) and prints ``??``, as Pandoc does.
    """
    refs = root.xpath(".//span[@data-crossref]")
    if not refs and not chapter.targets:
        return
    words = labels_for(lang, book.label_overrides)
    numbered = numbers(book)
    by_id = {e.get("id"): e for e in root.iter() if isinstance(e.tag, str) and e.get("id")}
    for target in chapter.targets:
        element = by_id.get(target.id)
        number = numbered.get((chapter.index, target.id))
        if element is not None and number is not None:
            _number_caption(element, target.kind, number, words)
    named: dict[str, tuple[Target, str]] = {}
    for other in sorted(book.chapters, key=lambda c: c is not chapter):
        for target in other.targets:
            named.setdefault(target.label, (target, numbered.get((other.index, target.id), "")))
    for span in refs:
        _write(span, named, words, warn)


def _number_caption(element: etree._Element, kind: str, number: str, words: Labels) -> None:
    if kind == "eq":
        eqno = etree.SubElement(element, "span", {"class": "eqno"})
        eqno.text = f"({number})"
        return
    tag = {"fig": "figcaption", "lst": "figcaption", "tbl": "caption"}.get(kind)
    if tag is None:
        return
    caption = element.find(tag)
    name = words[WORDS[kind]]
    if caption is None:
        caption = etree.Element(tag)
        if tag == "caption":
            caption.tail, element.text = element.text, None
            element.insert(0, caption)
        else:
            element.append(caption)
    if (caption.text or "").strip() or len(caption):
        shown = words.format("caption", name=name, number=number)
    else:  # no caption text: "Table 3", without the colon
        shown = f"{name}\u00a0{number}"
    label = etree.Element("span", {"class": "caption-number"})
    label.text = shown
    label.tail = (" " if caption.text or len(caption) else "") + (caption.text or "")
    caption.text = None
    caption.insert(0, label)


def _write(span: etree._Element, named: dict[str, tuple[Target, str]], words: Labels, warn: Warn) -> None:
    """One reference span -> its words and links, in place of the span."""
    refs = (span.attrib.pop("data-crossref") or "").split(";")
    groups: list[tuple[str, bool, bool, list[tuple[str, Target | None, str]]]] = []
    for ref in refs:
        bare = ref.startswith("-")
        label = ref.lstrip("-")
        capital = label[:1].isupper()
        label = label[:1].lower() + label[1:]
        kind = kind_of(label) or "fig"
        target, number = named.get(label, (None, ""))
        if target is not None and target.kind != kind:
            target = None
        if target is None:
            warn(
                f"@{label} names no {words[WORDS[kind]].lower()} of this book; printed as ??",
                near="@" + ref.lstrip("-"),
                hint=f"check the spelling, or label the {WORDS[kind]}: {_PLACES[kind]}",
            )
        if groups and groups[-1][:3] == (kind, bare, capital):
            groups[-1][3].append((label, target, number))
        else:
            groups.append((kind, bare, capital, [(label, target, number)]))
    nodes: list[etree._Element | str] = []
    for index, (kind, bare, capital, items) in enumerate(groups):
        if index:
            nodes.append(words["and"] if index == len(groups) - 1 else ", ")
        nodes.extend(_group(kind, bare, capital, items, words))
    _replace(span, nodes)


def _group(
    kind: str, bare: bool, capital: bool, items: list[tuple[str, Target | None, str]], words: Labels
) -> Iterator[etree._Element | str]:
    """ "Figure 1", "Figures 1 and 2", "Figures 1-3", "(1)", a section's title; ``??`` for a missing target."""
    css = "eqref" if kind == "eq" else "crossref"
    shown = [_link(css, target, number, kind) for _, target, number in items]
    if not bare and kind != "sec" and (kind != "eq" or capital):
        word = words[WORDS[kind] + ("s" if len(items) > 1 else "")]
        word = (word[:1].upper() + word[1:] if capital else word) + "\u00a0"
        if len(items) > 1:
            yield word
        elif items[0][1] is not None:  # one reference: the word is part of the link, as pandoc-crossref links it
            shown[0].text = word + (shown[0].text or "")
    runs = ranges([number if target is not None else "" for _, target, number in items])
    for index, (first, last) in enumerate(runs):
        if index:
            yield words["and"] if index == len(runs) - 1 else ", "
        yield shown[first]
        if last > first:
            yield "\u2013"
            yield shown[last]


def _link(css: str, target: Target | None, number: str, kind: str) -> etree._Element:
    if target is None:
        missing = etree.Element("span", {"class": f"{css} unresolved"})
        missing.text = "??"
        return missing
    a = etree.Element("a", {"class": css, "href": f"#{target.id}"})
    a.text = target.caption if kind == "sec" else f"({number})" if kind == "eq" else number
    return a


def ranges(numbers: list[str]) -> list[tuple[int, int]]:
    """Index ranges of ``numbers`` to print: three or more consecutive numbers of one chapter as a range
    (pandoc-crossref's "figs. 1-3"), each other alone."""
    runs: list[tuple[int, int]] = []
    index = 0
    while index < len(numbers):
        last = index
        while last + 1 < len(numbers) and _follows(numbers[last], numbers[last + 1]):
            last += 1
        if last - index >= 2:
            runs.append((index, last))
        else:
            runs.extend((i, i) for i in range(index, last + 1))
        index = last + 1
    return runs


def _follows(before: str, after: str) -> bool:
    head, _, tail = before.rpartition(".")
    head2, _, tail2 = after.rpartition(".")
    return head == head2 and tail.isdigit() and tail2.isdigit() and int(tail2) == int(tail) + 1


def _replace(span: etree._Element, nodes: list[etree._Element | str]) -> None:
    """Put ``nodes`` (text and elements) where ``span`` is, keeping its tail."""
    parent = span.getparent()
    if parent is None:
        return
    previous = span.getprevious()
    position = parent.index(span)
    tail = span.tail or ""
    parent.remove(span)

    def add_text(text: str) -> None:
        nonlocal previous
        if previous is None:
            parent.text = (parent.text or "") + text
        else:
            previous.tail = (previous.tail or "") + text

    for node in nodes:
        if isinstance(node, str):
            add_text(node)
        else:
            node.tail = None
            parent.insert(position, node)
            position += 1
            previous = node
    add_text(tail)


# --------------------------------------------------------------------------------------------------- lists


@dataclass(frozen=True)
class Listed:
    """One line of a list of figures or tables."""

    id: str
    number: str
    caption: str
    matter: str
    """'front', 'body' or 'back': the matter of the page it is on (its folio style in print)."""


@dataclass(frozen=True)
class ListOf:
    """A list of figures or of tables, as the templates print it (``[book] list-of-figures``, ``list-of-tables``)."""

    kind: str
    id: str
    epub_type: str
    """Its EPUB 3 structural semantics: 'loi' (list of illustrations) or 'lot' (list of tables)."""
    title: str
    place: str
    """'front' (after the contents) or 'back' (after the last chapter)."""
    entries: tuple[Listed, ...]


def lists(book: Book, settings: BookSettings, labels: Labels, matters: Mapping[str, str]) -> list[ListOf]:
    """The lists ``settings`` asks for that have entries: the labelled figures or tables in reading order.

    ``matters``: each chapter id's matter (see :func:`essaybook.compose.matters`).
    """
    numbered = numbers(book)
    found = []
    for kind, place, key, epub_type in (
        ("fig", settings.list_of_figures, "list-of-figures", "loi"),
        ("tbl", settings.list_of_tables, "list-of-tables", "lot"),
    ):
        if place is None:
            continue
        entries = tuple(
            Listed(target.id, numbered.get((chapter.index, target.id), ""), target.caption, matters[chapter.id])
            for chapter in book.chapters
            for target in chapter.targets
            if target.kind == kind
        )
        if entries:
            id_, n = key, 1
            while id_ in book.ids:
                n += 1
                id_ = f"{key}-{n}"
            found.append(ListOf(kind, id_, epub_type, labels[key], place, entries))
    return found
