"""Python-Markdown's footnotes as EPUB 3 note references and notes, numbered as the text cites them; notes
nothing cites are left out (print reshapes the notes later, in compose)."""

from __future__ import annotations

import re
from collections.abc import Callable

from lxml import etree, html

from essaybook.convert.context import Context
from essaybook.convert.nodes import drop_keep_tail
from essaybook.pandoc import NOTE_PREFIX


def notes(root: html.HtmlElement, ctx: Context) -> None:
    """Python-Markdown footnotes -> EPUB 3 note references and notes (print reshapes them later)."""
    container = root.find(".//div[@class='footnote']")
    if container is None:
        return

    def target(ref: etree._Element) -> str:
        # Ids are already unique in the book (fn-a may now be fn-a-2); hrefs are rewritten later, in links.
        local = (ref.get("href") or "")[1:]
        return ctx.chapter.anchors.get(local, local)

    items = {item.get("id", ""): item for item in container.iterfind(".//li")}
    inside_notes = set(container.iter())
    sources = [element for element in root.iter() if element not in inside_notes]
    cited = _cited(sources, items, target)
    if any(note_id.startswith("fn-" + NOTE_PREFIX) for note_id in items):
        refs = [target(a) for a in sources if a.tag == "a" and a.get("class") == "footnote-ref"]
        items = _in_reference_order(items, refs)
    section = html.Element("section", {"class": "footnotes", "role": "doc-endnotes"})
    section.set("epub:type", "footnotes")
    numbers: dict[str, str] = {}
    for note_id, item in items.items():
        if note_id in cited:
            numbers[f"#{note_id}"] = str(len(numbers) + 1)
            _note(section, note_id, item, len(numbers), target)
        else:
            _unreferenced(note_id, ctx)
    parent = container.getparent()
    assert parent is not None
    parent.replace(container, section)
    _references(root, numbers, target)
    # A note cited twice gets a backlink per citation (fnref-a, fnref2-a); a citation inside raw HTML that
    # was removed (a form, a script) leaves its backlink leading nowhere.
    present = {element.get("id") for element in root.iter() if isinstance(element.tag, str)}
    for back in list(root.iterfind(".//a[@class='backlink']")):
        if back.get("href", "")[1:] not in present:
            drop_keep_tail(back)


def _cited(
    sources: list[etree._Element], items: dict[str, etree._Element], target: Callable[[etree._Element], str]
) -> set[str]:
    """The notes the text cites. Python-Markdown prints every defined note, referenced or not; an unreferenced
    one would have a dangling backlink and no place on a printed page. A note cited only by unreferenced notes
    is unreferenced too."""
    cited: set[str] = set()
    while True:
        found = {target(a) for a in sources if a.tag == "a" and a.get("class") == "footnote-ref" and target(a) in items}
        if found <= cited:
            return cited
        cited |= found
        sources = [e for note in found for e in items[note].iter()]


def _unreferenced(note_id: str, ctx: Context) -> None:
    key = note_id.removeprefix("fn-")
    if not ctx.line_of(f"[^{key}]:"):  # renamed to keep ids unique in the book: fn-a -> fn-a-2
        key = re.sub(r"-\d+$", "", key)
    ctx.warn(f"footnote [^{key}] is never referenced; it is left out", kind="footnote-unreferenced", near=f"[^{key}]:")


def _note(
    section: etree._Element,
    note_id: str,
    item: etree._Element,
    number: int,
    target: Callable[[etree._Element], str],
) -> None:
    """Note ``number`` (Python-Markdown's list ``item``) as an EPUB 3 footnote at the end of ``section``."""
    aside = etree.SubElement(section, "aside", {"id": note_id, "class": "footnote", "role": "doc-footnote"})
    aside.set("epub:type", "footnote")
    for child in list(item):
        aside.append(child)
    first = aside.find("p")
    label = html.Element("span", {"class": "note-label"})
    label.text = f"{number}. "
    if first is not None:
        label.tail = first.text
        first.text = None
        first.insert(0, label)
    for back in aside.iterfind(".//a[@class='footnote-backref']"):
        back.set("href", f"#{target(back)}")
        back.attrib.pop("title", None)
        back.set("role", "doc-backlink")
        back.set("class", "backlink")
        back.set("aria-label", f"Back to reference {number}")


def _references(root: html.HtmlElement, numbers: dict[str, str], target: Callable[[etree._Element], str]) -> None:
    """Each ``<sup><a class="footnote-ref">`` becomes an EPUB 3 note reference printing its note's number."""
    for sup in list(root.iterfind(".//sup")):
        ref = sup.find("a[@class='footnote-ref']")
        if ref is None:
            continue
        ref.set("id", sup.get("id", ""))
        ref.set("href", f"#{target(ref)}")
        ref.text = numbers.get(ref.get("href", ""), ref.text)
        ref.set("class", "noteref")
        ref.set("role", "doc-noteref")
        ref.set("epub:type", "noteref")
        ref.tail = sup.tail
        sup_parent = sup.getparent()
        assert sup_parent is not None
        sup_parent.replace(sup, ref)


def _in_reference_order(items: dict[str, etree._Element], cited: list[str]) -> dict[str, etree._Element]:
    """``items`` ordered as the text first cites them (notes cited nowhere last): Pandoc numbers notes so, and
    an inline note ``^[…]``, whose definition Python-Markdown only sees at the chapter's end, must take its place
    among the others."""
    first = {note_id: place for place, note_id in reversed(list(enumerate(cited)))}
    return dict(sorted(items.items(), key=lambda item: first.get(item[0], len(cited))))
