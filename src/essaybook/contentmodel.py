"""Stage 2 and 3 check: an XHTML tree -> the same tree fitted to the EPUB 3 XHTML content model, and what was changed.

The model is a table (:data:`SPECS`) taken from the HTML Living Standard's content models, as EPUBCheck 5
enforces them: each element's categories (flow, phrasing, heading, sectioning, interactive), what it may contain,
the parents it needs, the descendants it excludes, and the values its attributes take. :func:`repair` walks a
tree against the table and mends what does not fit -- moving, wrapping, splitting, unwrapping or converting
elements and dropping or converting attribute values -- and returns a :class:`Repair` for each change, so the
caller can name the chapter and line. Raw HTML from a manuscript is the usual cause (``<br>`` after a
``<figcaption>``, a ``<div>`` inside a paragraph, an ``<li>`` outside a list, ``width="50%"``), and so is a
project's own template.

Elements in another namespace (SVG, MathML) are left as they are; the converter removes them from manuscripts.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

from lxml import etree

from essaybook.langtag import is_language_tag

XHTML_NS = "http://www.w3.org/1999/xhtml"

FLOW, PHRASING, HEADING, SECTIONING, INTERACTIVE = "flow", "phrasing", "heading", "sectioning", "interactive"


@dataclass(frozen=True)
class Spec:
    """What the content model says about one element."""

    categories: frozenset[str]
    """The categories it belongs to ('flow', 'phrasing', 'heading', 'sectioning', 'interactive')."""
    content: str
    """What it may hold: 'flow', 'phrasing', 'transparent' (what its parent may hold), 'empty' (a void element),
    or 'children' (only the elements in :attr:`children`, and no text)."""
    children: frozenset[str] = frozenset()
    """Elements it may hold besides its :attr:`content` (for 'children', the only ones)."""
    parents: frozenset[str] = frozenset()
    """The elements it must sit directly in; empty when any element whose content admits it will do."""
    excludes: frozenset[str] = frozenset()
    """Categories or element names that must not be among its descendants."""
    attributes: frozenset[str] = frozenset()
    """Attributes of its own, besides the global ones."""


def _spec(
    categories: str,
    content: str,
    children: str = "",
    parents: str = "",
    excludes: str = "",
    attributes: str = "",
) -> Spec:
    return Spec(
        frozenset(categories.split()),
        content,
        frozenset(children.split()),
        frozenset(parents.split()),
        frozenset(excludes.split()),
        frozenset(attributes.split()),
    )


_PHRASING_ELEMENT = _spec("flow phrasing", "phrasing")
_HEADINGS = "h1 h2 h3 h4 h5 h6"

SPECS: dict[str, Spec] = {
    # Phrasing content (https://html.spec.whatwg.org/multipage/dom.html#phrasing-content).
    **{
        tag: _PHRASING_ELEMENT
        for tag in "abbr b bdi cite code em i kbd mark s samp small span strong sub sup u var".split()
    },
    "a": _spec(
        "flow phrasing interactive", "transparent", excludes="interactive a", attributes="href hreflang rel type"
    ),
    "bdo": _spec("flow phrasing", "phrasing"),
    "br": _spec("flow phrasing", "empty"),
    "data": _spec("flow phrasing", "phrasing", attributes="value"),
    "del": _spec("flow phrasing", "transparent", attributes="cite datetime"),
    "dfn": _spec("flow phrasing", "phrasing", excludes="dfn"),
    "img": _spec("flow phrasing", "empty", attributes="src alt width height"),
    "ins": _spec("flow phrasing", "transparent", attributes="cite datetime"),
    "picture": _spec("flow phrasing", "children", children="source img"),
    "q": _spec("flow phrasing", "phrasing", attributes="cite"),
    "ruby": _spec("flow phrasing", "phrasing", children="rt rp"),
    "rt": _spec("", "phrasing", parents="ruby"),
    "rp": _spec("", "phrasing", parents="ruby"),
    "source": _spec("", "empty", parents="picture"),
    "time": _spec("flow phrasing", "phrasing", attributes="datetime"),
    "wbr": _spec("flow phrasing", "empty"),
    # Flow content that is not phrasing.
    "address": _spec("flow", "flow", excludes="heading sectioning header footer address"),
    "article": _spec("flow sectioning", "flow", excludes="main"),
    "aside": _spec("flow sectioning", "flow", excludes="main"),
    "blockquote": _spec("flow", "flow", attributes="cite"),
    "details": _spec("flow interactive", "flow", children="summary", attributes="open"),
    "div": _spec("flow", "flow"),
    "dl": _spec("flow", "children", children="dt dd div"),
    "figure": _spec("flow", "flow", children="figcaption"),
    "footer": _spec("flow", "flow", excludes="header footer main"),
    "header": _spec("flow", "flow", excludes="header footer main"),
    "hgroup": _spec("flow heading", "children", children=f"{_HEADINGS} p"),
    "hr": _spec("flow", "empty"),
    "main": _spec("flow", "flow"),
    "nav": _spec("flow sectioning", "flow", excludes="main"),
    "ol": _spec("flow", "children", children="li", attributes="start reversed type"),
    "p": _spec("flow", "phrasing"),
    "pre": _spec("flow", "phrasing"),
    "section": _spec("flow sectioning", "flow"),
    "table": _spec("flow", "children", children="caption colgroup thead tbody tfoot tr"),
    "ul": _spec("flow", "children", children="li"),
    **{tag: _spec("flow heading", "phrasing") for tag in _HEADINGS.split()},
    # Elements that belong in one parent only.
    "caption": _spec("", "flow", parents="table"),
    "col": _spec("", "empty", parents="colgroup", attributes="span"),
    "colgroup": _spec("", "children", children="col", parents="table", attributes="span"),
    "dd": _spec("", "flow", parents="dl div"),
    "dt": _spec("", "flow", parents="dl div", excludes="header footer sectioning heading"),
    "figcaption": _spec("", "flow", parents="figure"),
    "li": _spec("", "flow", parents="ul ol menu", attributes="value"),
    "summary": _spec("", "phrasing", children=f"{_HEADINGS} hgroup", parents="details"),
    "tbody": _spec("", "children", children="tr", parents="table"),
    "td": _spec("", "flow", parents="tr", attributes="colspan rowspan headers"),
    "tfoot": _spec("", "children", children="tr", parents="table"),
    "th": _spec(
        "",
        "flow",
        parents="tr",
        excludes="header footer sectioning heading",
        attributes="colspan rowspan headers scope",
    ),
    "thead": _spec("", "children", children="tr", parents="table"),
    "tr": _spec("", "children", children="td th", parents="table thead tbody tfoot"),
    # The document itself (templates).
    "body": _spec("", "flow", parents="html"),
}
"""The EPUB content documents' elements (scripting, forms and embedded media are removed before this check)."""

GLOBAL_ATTRIBUTES = frozenset(["id", "class", "title", "lang", "dir", "style", "role", "hidden"])
"""Attributes every element may carry (besides ``data-*``, ``aria-*``, ``epub:type`` and ``xml:lang``)."""

VOID = frozenset(tag for tag, spec in SPECS.items() if spec.content == "empty")
"""Elements that hold nothing; libxml2's HTML parser does not know ``source`` and ``wbr`` are among them."""

REPLACEMENTS = {
    "a": "span",
    "dfn": "span",
    "details": "div",
    "header": "div",
    "footer": "div",
    "address": "div",
    "main": "div",
    "hgroup": "div",
    "article": "div",
    "aside": "div",
    "nav": "div",
    "section": "div",
    **dict.fromkeys(_HEADINGS.split(), "p"),
}
"""What an element becomes where an ancestor excludes it (a link inside a link becomes a span)."""

WRAPPERS = {
    "col": "colgroup",
    "li": "ul",
    "tr": "table",
    "td": "tr",
    "th": "tr",
    "thead": "table",
    "tbody": "table",
    "tfoot": "table",
}
"""The parent made for a run of elements found outside theirs, where flow content may go."""

ROLES = frozenset(
    """alert alertdialog application article banner blockquote button caption cell checkbox code columnheader
    combobox complementary contentinfo definition deletion dialog directory document emphasis feed figure form
    generic grid gridcell group heading img insertion link list listbox listitem log main marquee math menu menubar
    menuitem menuitemcheckbox menuitemradio meter navigation none note option paragraph presentation progressbar
    radio radiogroup region row rowgroup rowheader scrollbar search searchbox separator slider spinbutton status
    strong subscript superscript switch tab table tablist tabpanel term textbox time timer toolbar tooltip tree
    treegrid treeitem doc-abstract doc-acknowledgments doc-afterword doc-appendix doc-backlink doc-biblioentry
    doc-bibliography doc-biblioref doc-chapter doc-colophon doc-conclusion doc-cover doc-credit doc-credits
    doc-dedication doc-endnote doc-endnotes doc-epigraph doc-epilogue doc-errata doc-example doc-footnote
    doc-foreword doc-glossary doc-glossref doc-index doc-introduction doc-noteref doc-notice doc-pagebreak
    doc-pagefooter doc-pageheader doc-pagelist doc-part doc-preface doc-prologue doc-pullquote doc-qna doc-subtitle
    doc-tip doc-toc""".split()
)
"""ARIA 1.2 and DPUB-ARIA roles: EPUBCheck refuses any other ``role``."""

ARIA_BOOLEAN = frozenset(
    "aria-atomic aria-busy aria-disabled aria-hidden aria-modal aria-multiline aria-multiselectable "
    "aria-readonly aria-required".split()
)
ARIA = ARIA_BOOLEAN | frozenset(
    """aria-activedescendant aria-autocomplete aria-braillelabel aria-brailleroledescription aria-checked
    aria-colcount aria-colindex aria-colindextext aria-colspan aria-controls aria-current aria-describedby
    aria-description aria-details aria-dropeffect aria-errormessage aria-expanded aria-flowto aria-grabbed
    aria-haspopup aria-invalid aria-keyshortcuts aria-label aria-labelledby aria-level aria-live aria-orientation
    aria-owns aria-placeholder aria-posinset aria-pressed aria-relevant aria-roledescription aria-rowcount
    aria-rowindex aria-rowindextext aria-rowspan aria-selected aria-setsize aria-sort aria-valuemax aria-valuemin
    aria-valuenow aria-valuetext""".split()
)
"""The ARIA attributes there are; EPUBCheck refuses an ``aria-*`` it does not know."""

_DATE = r"\d{4,}-\d{2}-\d{2}"
_TIME = r"\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?"
_ZONE = r"(?:Z|[+-]\d{2}:?\d{2})"
_DATETIME_RE = re.compile(
    rf"^(?:{_DATE}|\d{{4,}}-\d{{2}}|-{{0,2}}\d{{2}}-\d{{2}}|\d{{4,}}-W\d{{2}}|\d{{4,}}|{_TIME}|{_ZONE}"
    rf"|{_DATE}[T ]{_TIME}{_ZONE}?"
    r"|P(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d{1,3})?S)?)?"
    r"|(?:\s*\d+(?:\.\d{1,3})?\s*[WDHMS])+\s*)$"
)
_MIME_RE = re.compile(r"^[a-zA-Z0-9!#$&+\-^_]+/[a-zA-Z0-9!#$&+\-^_]+")
_INTEGER_RE = re.compile(r"^\s*-?\d+\s*$")
_PIXELS_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:px)?\s*$", re.IGNORECASE)
_LENGTH_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%|em|rem|ex|ch|vw|vh|cm|mm|in|pt|pc)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Repair:
    """One change :func:`repair` made, with what can find the element again in the source."""

    tag: str
    """The element the change was made to (its name before the change)."""
    message: str
    """What was wrong and what was done, e.g. '<li> outside a list; put in a <ul>'."""
    near: tuple[str, ...] = ()
    """Strings from the element as written (attribute values, then its text, then ``<tag``), best first."""


# ------------------------------------------------------------------------------------------------ helpers


def name_of(element: etree._Element | None) -> str | None:
    """The HTML element name of ``element``; None for comments, elements in another namespace, and None."""
    if element is None:
        return None
    tag = element.tag
    if not isinstance(tag, str):
        return None
    try:
        return _NAMES[tag]
    except KeyError:
        local = tag[len(_XHTML_PREFIX) :] if tag.startswith(_XHTML_PREFIX) else None if tag[0] == "{" else tag
        _NAMES[tag] = name = local.lower() if local is not None else None
        return name


_NAMES: dict[str, str | None] = {}
_XHTML_PREFIX = f"{{{XHTML_NS}}}"


def _qualified(like: etree._Element, name: str) -> str:
    """``name`` in the namespace of ``like`` (the EPUB's documents are namespaced, converted fragments are not)."""
    namespace = etree.QName(like).namespace if isinstance(like.tag, str) else None
    return f"{{{namespace}}}{name}" if namespace else name


def _new(like: etree._Element, name: str, attrib: dict[str, str] | None = None) -> etree._Element:
    return like.makeelement(_qualified(like, name), attrib or {})


def _retag(element: etree._Element, name: str) -> None:
    """``element`` renamed ``name``, without the attributes only its old name allowed (a ``rowspan`` kept on
    a stray ``<td>`` turned ``<span>`` fails EPUBCheck: found by the raw-HTML property test)."""
    old = SPECS.get(name_of(element) or "")
    if old is not None and old.attributes:
        kept = SPECS[name].attributes if name in SPECS else frozenset()
        for attribute in old.attributes - kept:
            element.attrib.pop(attribute, None)
    element.tag = _qualified(element, name)


def _shallow(element: etree._Element) -> etree._Element:
    """A copy of ``element`` without content or id (the other half of a split element)."""
    clone = element.makeelement(element.tag, {k: v for k, v in element.attrib.items() if k != "id"})
    return clone


def _is_blank(text: str | None) -> bool:
    """True for no text or only HTML's inter-element whitespace (a no-break space is text, as is U+2003)."""
    return not text or not text.strip(_HTML_SPACE)


_HTML_SPACE = " \t\n\r\f"


def _near(element: etree._Element, name: str) -> tuple[str, ...]:
    """What may find ``element`` in the Markdown: its src or href, its text (unless very short), then ``<name``."""
    values = [v for k, v in element.attrib.items() if k in ("src", "href") and v]
    text = " ".join("".join(element.itertext()).split())[:40]
    return (*values, *([text] if len(text) > 3 else []), f"<{name}")


def _written(attribute: str, value: str) -> tuple[str, ...]:
    """How an attribute may be written in the source, quoted or not (to find its line)."""
    return (f'{attribute}="{value}"', f"{attribute}='{value}'", f"{attribute}={value}")


def drop_keep_tail(node: etree._Element) -> None:
    """Remove ``node`` and its content from the tree; the text after it stays where it was."""
    parent = node.getparent()
    if parent is None:
        return
    _append_text_before(node, node.tail)
    parent.remove(node)


def _append_text_before(node: etree._Element, text: str | None) -> None:
    """Add ``text`` to whatever text precedes ``node`` in its parent."""
    if not text:
        return
    previous = node.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + text
    else:
        parent = node.getparent()
        assert parent is not None
        parent.text = (parent.text or "") + text


def _unwrap(element: etree._Element) -> None:
    """Replace ``element`` by its content."""
    parent = element.getparent()
    assert parent is not None
    index = parent.index(element)
    _append_text_before(element, element.text)
    children = list(element)
    tail = element.tail
    parent.remove(element)
    for offset, child in enumerate(children):
        parent.insert(index + offset, child)
    if children:
        children[-1].tail = (children[-1].tail or "") + (tail or "")
    elif tail:
        if index > 0:
            sibling = parent[index - 1]
            sibling.tail = (sibling.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


def _walk(root: etree._Element) -> list[etree._Element]:
    """Elements under ``root`` in document order, not entering other namespaces (SVG, MathML)."""
    found = []
    stack = list(reversed(root))
    while stack:
        element = stack.pop()
        if name_of(element) is None:
            continue
        found.append(element)
        stack.extend(reversed(element))
    return found


def _attached(element: etree._Element, root: etree._Element) -> bool:
    node: etree._Element | None = element
    while node is not None:
        if node is root:
            return True
        node = node.getparent()
    return False


@dataclass(frozen=True)
class _Text:
    """Text a container may not hold: its own text (``holder`` None) or the tail of its child ``holder``."""

    holder: etree._Element | None


_Item: TypeAlias = etree._Element | _Text


def _gather(container: etree._Element, run: list[_Item], made: etree._Element) -> None:
    """Put ``made`` where ``run`` (consecutive stray content of ``container``) begins, and move the run into it."""
    first = run[0]
    if isinstance(first, _Text):
        if first.holder is None:
            made.text, container.text = container.text, None
            container.insert(0, made)
        else:
            made.text, first.holder.tail = first.holder.tail, None
            first.holder.addnext(made)
    else:
        _append_text_before(first, None)
        first.addprevious(made)
    for item in run:
        if not isinstance(item, _Text):
            made.append(item)  # its tail (stray text too, when there is any) comes with it
    if len(made):
        tail = made[-1].tail
        made[-1].tail = None if _is_blank(tail) else tail
    made.tail = "\n"


# ------------------------------------------------------------------------------------------------ the check


class _Repairer:
    """One :func:`repair` of a tree: passes over it until a pass finds nothing to mend (at most 50)."""

    def __init__(self, root: etree._Element, context: str) -> None:
        self.root = root
        self.context = context
        self.repairs: list[Repair] = []
        self.changed = False
        self._excluded: dict[etree._Element, frozenset[str]] = {}
        """Per pass: what the ancestors of an element exclude (see :meth:`excluded_here`)."""

    def note(self, element: etree._Element, name: str, message: str, *first: str) -> None:
        """Record a repair of ``element`` (``first``: what finds it best in the source, before the usual)."""
        self.repairs.append(Repair(name, message, (*first, *_near(element, name))))
        self.changed = True

    def content(self, element: etree._Element) -> str:
        """What ``element`` may hold here: 'flow', 'phrasing' or 'children' (transparent ones resolved)."""
        node: etree._Element | None = element
        while node is not None:
            if node is self.root:
                return self.context
            name = name_of(node)
            spec = SPECS.get(name or "")
            if spec is None:
                return FLOW
            if name == "div" and name_of(node.getparent()) == "dl":
                return "children"
            if spec.content != "transparent":
                return spec.content
            node = node.getparent()
        return self.context

    def run(self) -> list[Repair]:
        for _ in range(50):  # each pass mends what it meets; the next sees the new shape (wrappers, splits)
            self.changed = False
            self._excluded.clear()
            for element in _walk(self.root):
                if not self.changed or _attached(element, self.root):
                    self.visit(element)
            if not self.changed:
                break
        return self.repairs

    def visit(self, element: etree._Element) -> None:
        name = name_of(element)
        assert name is not None
        parent = element.getparent()
        assert parent is not None
        spec = SPECS.get(name)
        if spec is None:
            new = "span" if self.content(parent) == PHRASING else "div"
            self.note(element, name, f"<{name}> is not an element an EPUB may hold; kept its content as <{new}>")
            _retag(element, new)
            return
        if spec.content == "empty" and (len(element) or not _is_blank(element.text)):
            self.hoist(element, name)
        if self.place(element, name, spec, parent):
            return
        if self.excluded(element, name, spec):
            return
        if spec.content == "children" or (name == "div" and name_of(parent) == "dl"):
            self.arrange(element, name)
        elif name == "figure":
            self.figure(element)
        elif name == "details":
            self.details(element)
        self.attributes(element, name, spec)

    # --- where an element may stand

    def place(self, element: etree._Element, name: str, spec: Spec, parent: etree._Element) -> bool:
        """Mend an element standing where it may not; True when it was moved, wrapped or converted."""
        parent_name = name_of(parent) if parent is not self.root else None
        model = self.content(parent)
        if spec.parents:
            if parent_name in spec.parents and (parent_name != "div" or name_of(parent.getparent()) == "dl"):
                return False
            if model == "children":
                return False  # the parent's own check (arrange) moves it
            self.orphan(element, name, model)
            return True
        if model == "children":
            return False
        allowed = PHRASING if model == PHRASING else FLOW
        if allowed in spec.categories or name in SPECS.get(parent_name or "", _PHRASING_ELEMENT).children:
            return False
        self.lift(element, name)
        return True

    def orphan(self, element: etree._Element, name: str, model: str, quiet: bool = False) -> None:
        """An element outside the parent it needs: give it one, or convert it to what may stand here.

        A parent made for it that needs one too (a row made for a cell) gets one at once (``quiet``: no report).
        """
        wrapper = WRAPPERS.get(name)
        if wrapper is not None and model == FLOW:
            run = [element]
            sibling = element.getnext()
            while sibling is not None and name_of(sibling) == name and _is_blank(run[-1].tail):
                run.append(sibling)
                sibling = sibling.getnext()
            made = _new(element, wrapper)
            element.addprevious(made)
            made.tail, run[-1].tail = run[-1].tail, None
            for item in run:
                made.append(item)
            if not quiet:
                parents = " or ".join(sorted(SPECS[name].parents))
                self.note(element, name, f"<{name}> outside a <{parents}>; put in a <{wrapper}>")
            if SPECS[wrapper].parents and name_of(made.getparent()) not in SPECS[wrapper].parents:
                self.orphan(made, wrapper, model, quiet=True)
            return
        if SPECS[name].content == "empty" or name in ("colgroup",):
            self.note(element, name, f"<{name}> outside a <{' or '.join(sorted(SPECS[name].parents))}>; left out")
            drop_keep_tail(element)
            return
        new = "div" if model == FLOW else "span"
        self.note(element, name, f"<{name}> outside a <{' or '.join(sorted(SPECS[name].parents))}>; kept as <{new}>")
        element.set("class", f"{element.get('class', '')} {name}".strip())
        _retag(element, new)

    def lift(self, element: etree._Element, name: str) -> None:
        """A block inside phrasing content: split the phrasing ancestors around it, so it follows them."""
        node = element.getparent()
        top = None
        while node is not None and node is not self.root:
            above = node.getparent()
            if above is None:
                break
            model = self.content(above)
            if model == FLOW:
                top = node
                break
            if model != PHRASING:
                break
            node = above
        holder = next(
            (
                n
                for n in map(name_of, element.iterancestors())
                if SPECS.get(n or "", _PHRASING_ELEMENT).content != "transparent"
            ),
            "text",
        )
        if top is None or SPECS.get(name_of(top) or "", _PHRASING_ELEMENT).parents:
            self.note(element, name, f"<{name}> inside <{holder}>, which holds only text; kept as <span>")
            element.set("class", f"{element.get('class', '')} {name}".strip())
            _retag(element, "span")
            return
        self.note(element, name, f"<{name}> inside <{holder}>, which holds only text; set after it")
        _split_out(element, top)

    def excluded_here(self, element: etree._Element) -> frozenset[str]:
        """What the ancestors of ``element`` (below the root) exclude, remembered for the pass."""
        parent = element.getparent()
        if parent is None or parent is self.root:
            return frozenset()
        known = self._excluded.get(parent)
        if known is None:
            spec = SPECS.get(name_of(parent) or "")
            known = self.excluded_here(parent) | (spec.excludes if spec is not None else frozenset())
            self._excluded[parent] = known
        return known

    def excluded(self, element: etree._Element, name: str, spec: Spec) -> bool:
        """An element an ancestor excludes (a link in a link, a heading in a table header): convert it."""
        categories = spec.categories | {name}
        if name == "a" and element.get("href") is None:
            categories = categories - {INTERACTIVE}
        if not self.excluded_here(element) & categories:
            return False
        node = element.getparent()
        while node is not None and node is not self.root:
            ancestor = name_of(node) or ""
            if SPECS[ancestor].excludes & categories if ancestor in SPECS else False:
                break
            node = node.getparent()
        new = REPLACEMENTS.get(name, "span" if PHRASING in spec.categories else "div")
        self.note(element, name, f"<{name}> may not stand inside <{name_of(node) or 'its parent'}>; kept as <{new}>")
        if name == "a":
            for attribute in ("href", "hreflang", "rel", "type"):
                element.attrib.pop(attribute, None)
        if new != name:
            element.set("class", f"{element.get('class', '')} {name}".strip())
        _retag(element, new)
        return True

    def hoist(self, element: etree._Element, name: str) -> None:
        """A void element with content (the HTML parser nests what follows ``<source>`` in it): move it out."""
        text, element.text = element.text, None
        children = list(element)
        tail = element.tail
        element.tail = text
        anchor = element
        for child in children:
            anchor.addnext(child)
            anchor = child
        anchor.tail = (anchor.tail or "") + (tail or "") or None
        self.changed = True

    # --- what a container holds

    def arrange(self, container: etree._Element, name: str) -> None:
        """Text and elements a structured container (list, table, row, ...) may not hold: wrap or move them."""
        allowed = frozenset(["dt", "dd"]) if name == "div" else SPECS[name].children
        if name == "colgroup" and container.get("span") is not None and len(container):
            del container.attrib["span"]
        runs: list[list[_Item]] = []
        current: list[_Item] = []
        if not _is_blank(container.text):
            current.append(_Text(None))
        for child in list(container):
            # Inline SVG or MathML (another namespace) is phrasing content: wrapped like text, never left in a list.
            foreign = isinstance(child.tag, str) and name_of(child) is None
            if name_of(child) in allowed or (name_of(child) is None and not foreign):
                if current:
                    runs.append(current)
                    current = []
                if not _is_blank(child.tail):
                    current.append(_Text(child))
            else:
                current.append(child)
        if current:
            runs.append(current)
        for run in runs:
            self.adopt(container, name, run)
        if name == "table":
            self.table(container)
        elif name == "picture":
            self.picture(container)
        elif name == "hgroup":
            headings = [c for c in container if name_of(c) in _HEADINGS.split()]
            if len(headings) != 1:
                self.note(container, name, "<hgroup> needs exactly one heading; kept as <div>")
                _retag(container, "div")
        elif name == "dl":
            self.definition_list(container)

    def adopt(self, container: etree._Element, name: str, run: list[_Item]) -> None:
        """Wrap a run of stray content in the child the container needs, or move it out before the container."""
        elements = [item for item in run if not isinstance(item, _Text)]
        wrapper = {"ul": "li", "ol": "li", "tr": "td", "div": "dd"}.get(name)
        if name == "table" and elements and len(elements) == len(run) and {name_of(e) for e in elements} == {"col"}:
            wrapper = "colgroup"
        what = f"<{name_of(elements[0]) or etree.QName(elements[0]).localname}>" if elements else "text"
        shown = elements[0] if elements else container
        if wrapper is not None:
            _gather(container, run, _new(container, wrapper))
            self.note(shown, name_of(shown) or name, f"{what} directly inside <{name}>; put in a <{wrapper}>")
            return
        # Move it out: before the table a row belongs to, after a picture or heading group, else before.
        target = container
        while name_of(target) in ("tbody", "thead", "tfoot", "tr", "colgroup"):
            above = target.getparent()
            if above is None:
                break
            target = above
        parent = target.getparent()
        assert parent is not None
        made = _new(container, "div" if self.content(parent) == FLOW else "span")
        _gather(container, run, made)
        if name in ("picture", "hgroup"):
            made.tail, target.tail = target.tail, None
            target.addnext(made)
        else:
            made.tail = "\n"
            target.addprevious(made)
        if len(made) == 1 and _is_blank(made.text) and _is_blank(made[0].tail):
            _unwrap(made)
        self.note(shown, name_of(shown) or name, f"{what} directly inside <{name}>; moved out of it")

    def table(self, table: etree._Element) -> None:
        """caption?, colgroup*, thead?, (tbody* | tr+), tfoot?: in that order, one caption, head and foot."""
        rank = {"caption": 0, "colgroup": 1, "thead": 2, "tbody": 3, "tr": 3, "tfoot": 4}
        children = [c for c in table if name_of(c) in rank]
        seen: set[str] = set()
        for child in children:
            child_name = name_of(child) or ""
            if child_name in ("caption", "thead", "tfoot") and child_name in seen:
                if child_name == "caption":
                    self.note(child, child_name, "a second <caption> in a table; moved before it as a <div>")
                    table.addprevious(child)
                    child.tail = "\n"
                    child.set("class", f"{child.get('class', '')} caption".strip())
                    _retag(child, "div")
                    continue
                self.note(child, child_name, f"a second <{child_name}> in a table; kept as <tbody>")
                _retag(child, "tbody")
            seen.add(child_name)
        children = [c for c in table if name_of(c) in rank]
        names = [name_of(c) or "" for c in children]
        order = [rank[n] for n in names]
        if order != sorted(order):
            self.note(table, "table", "the parts of a <table> are out of order; put in order")
            for child in sorted(children, key=lambda c: rank[name_of(c) or ""]):
                table.append(child)
        if "tr" in names and "tbody" in names:
            self.note(table, "table", "rows directly in a <table> beside a <tbody>; put in a <tbody>")
            run: list[etree._Element] = []
            for child in [*list(table), None]:
                if child is not None and name_of(child) == "tr":
                    run.append(child)
                    continue
                if run:
                    body = _new(table, "tbody")
                    run[0].addprevious(body)
                    for row in run:
                        body.append(row)
                    run = []

    def picture(self, picture: etree._Element) -> None:
        """source*, img: one image, last."""
        images = [c for c in picture if name_of(c) == "img"]
        if not images:
            self.note(picture, "picture", "<picture> without an <img>; left out")
            drop_keep_tail(picture)
            return
        for extra in images[1:]:
            self.note(extra, "img", "a second <img> in a <picture>; set after it")
            extra.tail = picture.tail
            picture.tail = None
            picture.addnext(extra)
        if picture[-1] is not images[0]:
            picture.append(images[0])

    def definition_list(self, dl: etree._Element) -> None:
        """Groups of dt+ dd+: a definition before any term, or a term without one, is moved out as a <div>."""
        items = [c for c in dl if name_of(c) in ("dt", "dd")]
        leading = []
        for item in items:
            if name_of(item) != "dd":
                break
            leading.append(item)
        trailing = []
        for item in reversed(items):
            if name_of(item) != "dt":
                break
            trailing.append(item)
        for item in leading:
            self.note(item, "dd", "<dd> before any <dt> in its <dl>; moved before the list as a <div>")
            item.tail = "\n"
            dl.addprevious(item)
            item.set("class", f"{item.get('class', '')} dd".strip())
            _retag(item, "div")
        for item in trailing:
            if item.getparent() is not dl:
                continue
            self.note(item, "dt", "<dt> without a <dd> at the end of its <dl>; moved after the list as a <div>")
            item.tail, dl.tail = dl.tail, "\n"
            dl.addnext(item)
            item.set("class", f"{item.get('class', '')} dt".strip())
            _retag(item, "div")

    def figure(self, figure: etree._Element) -> None:
        """One <figcaption>, first or last."""
        captions = [c for c in figure if name_of(c) == "figcaption"]
        for extra in captions[1:]:
            self.note(extra, "figcaption", "a second <figcaption> in a <figure>; kept as <div>")
            extra.set("class", f"{extra.get('class', '')} figcaption".strip())
            _retag(extra, "div")
        if not captions:
            return
        caption = captions[0]
        elements = [c for c in figure if isinstance(c.tag, str)]
        first = elements[0] is caption and _is_blank(figure.text)
        last = elements[-1] is caption and _is_blank(caption.tail)
        if not (first or last):
            self.note(caption, "figcaption", "<figcaption> in the middle of its <figure>; moved to the end")
            _append_text_before(caption, caption.tail)
            caption.tail = None
            figure.append(caption)

    def details(self, details: etree._Element) -> None:
        """A <summary> first, then flow content."""
        summaries = [c for c in details if name_of(c) == "summary"]
        if not summaries:
            self.note(details, "details", "<details> without a <summary>; kept as <div>")
            details.set("class", f"{details.get('class', '')} details".strip())
            _retag(details, "div")
            return
        for extra in summaries[1:]:
            self.note(extra, "summary", "a second <summary> in a <details>; kept as <p>")
            _retag(extra, "p")
        summary = summaries[0]
        if details[0] is not summary or not _is_blank(details.text):
            self.note(summary, "summary", "<summary> is not the first thing in its <details>; moved first")
            _append_text_before(summary, summary.tail)
            summary.tail = details.text
            details.text = None
            details.insert(0, summary)

    # --- attributes

    def attributes(self, element: etree._Element, name: str, spec: Spec) -> None:
        for attribute, value in list(element.attrib.items()):
            if not isinstance(attribute, str):
                continue
            fix = _ATTRIBUTE_RULES.get((name, attribute)) or _ATTRIBUTE_RULES.get(("*", attribute))
            if fix is None:
                if attribute.startswith("aria-") and attribute not in ARIA:
                    self.drop(element, name, attribute, "is not an ARIA attribute")
                continue
            result = fix(value)
            if result == value:
                continue
            if result is None:
                self.drop(element, name, attribute, f"cannot be {value!r}")
            elif result.startswith("style:"):
                style = element.get("style", "").rstrip("; ")
                element.set("style", f"{style}; {result[6:]}" if style else result[6:])
                del element.attrib[attribute]
                self.note(
                    element,
                    name,
                    f'{attribute}="{value}" on <{name}> is not a number of pixels; set as CSS',
                    *_written(attribute, value),
                )
            else:
                element.set(attribute, result)
                self.note(
                    element,
                    name,
                    f'{attribute}="{value}" on <{name}> is not a valid value; set to "{result}"',
                    *_written(attribute, value),
                )
        if name == "bdo" and element.get("dir") is None:
            self.note(element, name, "<bdo> without a dir attribute; kept as <bdi>")
            _retag(element, "bdi")
        if name == "data" and element.get("value") is None:
            self.note(element, name, "<data> without a value attribute; kept as <span>")
            _retag(element, "span")

    def drop(self, element: etree._Element, name: str, attribute: str, why: str) -> None:
        value = element.attrib.pop(attribute)
        self.note(element, name, f"the {attribute} attribute of <{name}> {why}; left out", *_written(attribute, value))


def _split_out(element: etree._Element, top: etree._Element) -> None:
    """Move ``element`` out of ``top`` (an ancestor) to right after it, splitting every element between them in two.

    Links and edits (``a``, ``ins``, ``del``) between them are kept around the moved element; the part of each
    split element after ``element`` follows it, without the id.
    """
    wrappers: list[etree._Element] = []
    remainder: etree._Element | None = None
    node = element
    tail, node.tail = node.tail, None
    while True:
        parent = node.getparent()
        assert parent is not None
        following = list(parent)[parent.index(node) + 1 :]
        if node is element:
            parent.remove(element)
        clone = _shallow(parent)
        if remainder is not None:
            clone.append(remainder)
            remainder.tail = tail
        else:
            clone.text = tail
        for sibling in following:
            clone.append(sibling)
        remainder = clone
        if parent is top:
            break
        if name_of(parent) in ("a", "ins", "del"):
            wrappers.append(parent)
        node = parent
        tail, node.tail = node.tail, None
    piece = element
    for wrapper in wrappers:
        around = _shallow(wrapper)
        around.append(piece)
        piece = around
    outer_tail, top.tail = top.tail, None
    top.addnext(piece)
    piece.addnext(remainder)
    remainder.tail = outer_tail
    for half in (remainder, top):
        if _is_empty_deep(half):
            drop_keep_tail(half)


def _is_empty_deep(element: etree._Element) -> bool:
    """True when ``element`` holds no text and no element but empty inline ones without ids."""
    if not _is_blank(element.text):
        return False
    for child in element:
        if name_of(child) in VOID or child.get("id") is not None or not _is_blank(child.tail):
            return False
        if not _is_empty_deep(child):
            return False
    return element.get("id") is None


# ------------------------------------------------------------------------------------------------ attributes


def _pixels(value: str) -> str | None:
    """A width or height: a non-negative integer; '200px' -> '200', '50%' -> CSS, else nothing."""
    found = _PIXELS_RE.match(value)
    if found:
        return str(round(float(found.group(1))))
    return None


def _dimension(css: str) -> Callable[[str], str | None]:
    def fix(value: str) -> str | None:
        pixels = _pixels(value)
        if pixels is not None:
            return pixels
        found = _LENGTH_RE.match(value)
        if found:
            return f"style:{css}: {found.group(1)}{found.group(2).lower()}"
        return None

    return fix


def _integer(low: int | None = None, high: int | None = None) -> Callable[[str], str | None]:
    def fix(value: str) -> str | None:
        if not _INTEGER_RE.match(value):
            return None
        number = int(value)
        if (low is not None and number < low) or (high is not None and number > high):
            return None
        return str(number)

    return fix


def _choice(*values: str, fold: bool = True) -> Callable[[str], str | None]:
    def fix(value: str) -> str | None:
        candidate = value.strip().lower() if fold else value.strip()
        return candidate if candidate in values else None

    return fix


def _boolean(name: str, *more: str) -> Callable[[str], str | None]:
    def fix(value: str) -> str | None:
        candidate = value.strip().lower()
        if candidate in ("", name, *more):
            return value if value in ("", name, *more) else candidate
        return name

    return fix


def _matches(pattern: re.Pattern[str]) -> Callable[[str], str | None]:
    return lambda value: value if pattern.match(value) else None


def _language(value: str) -> str | None:
    candidate = value.strip().replace("_", "-")
    return candidate if candidate == "" or is_language_tag(candidate) else None


def _role(value: str) -> str | None:
    known = [token for token in value.split() if token in ROLES]
    return known[0] if known else None


_ATTRIBUTE_RULES: dict[tuple[str, str], Callable[[str], str | None]] = {
    ("img", "width"): _dimension("width"),
    ("img", "height"): _dimension("height"),
    ("td", "colspan"): _integer(1, 1000),
    ("th", "colspan"): _integer(1, 1000),
    ("td", "rowspan"): _integer(0, 65534),
    ("th", "rowspan"): _integer(0, 65534),
    ("col", "span"): _integer(1, 1000),
    ("colgroup", "span"): _integer(1, 1000),
    ("th", "scope"): _choice("row", "col", "rowgroup", "colgroup"),
    ("ol", "start"): _integer(),
    ("ol", "type"): _choice("1", "a", "A", "i", "I", fold=False),
    ("ol", "reversed"): _boolean("reversed"),
    ("li", "value"): _integer(),
    ("details", "open"): _boolean("open"),
    ("time", "datetime"): _matches(_DATETIME_RE),
    ("ins", "datetime"): _matches(_DATETIME_RE),
    ("del", "datetime"): _matches(_DATETIME_RE),
    ("a", "hreflang"): _language,
    ("a", "type"): _matches(_MIME_RE),
    ("*", "dir"): _choice("ltr", "rtl", "auto"),
    ("*", "hidden"): _boolean("hidden", "until-found"),
    ("*", "lang"): _language,
    ("*", "role"): _role,
    **{("*", name): _choice("true", "false", "undefined") for name in ARIA_BOOLEAN},
}
"""Attribute values EPUBCheck checks, each with the repair that keeps what can be kept (None: drop it)."""


_ALIGNED = frozenset(["p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "td", "th", "tr", "caption", "figure"])
_SIZED = frozenset(["table", "td", "th", "col", "colgroup"])


def as_css(element: str, attribute: str, value: str) -> str | None:
    """The CSS declaration for a presentational attribute HTML5 dropped (``align``, ``valign``, a table's
    ``width``), or None. Only values from a fixed set or plain lengths are taken, so nothing else reaches CSS."""
    value = value.strip().lower()
    if attribute == "align" and element in _ALIGNED and value in ("left", "right", "center", "justify"):
        return f"text-align: {value}"
    if attribute == "align" and element == "img" and value in ("left", "right"):
        return f"float: {value}"
    if attribute == "valign" and element in ("td", "th", "tr") and value in ("top", "middle", "bottom", "baseline"):
        return f"vertical-align: {value}"
    if attribute in ("width", "height") and element in _SIZED:
        pixels = _pixels(value)
        if pixels is not None:
            return f"{attribute}: {pixels}px"
        found = _LENGTH_RE.match(value)
        if found:
            return f"{attribute}: {found.group(1)}{found.group(2)}"
    return None


# ------------------------------------------------------------------------------------------------ API


def repair(root: etree._Element, context: str = FLOW) -> list[Repair]:
    """Fit the content of ``root`` (whose own content model is ``context``: 'flow' or 'phrasing') to the model.

    Changes the tree in place and returns what it changed, in the order it did. ``root`` itself is not checked
    (a converted chapter's wrapper, or a document's ``<body>``).
    """
    return _Repairer(root, context).run()


def problems(root: etree._Element, context: str = FLOW) -> list[Repair]:
    """What :func:`repair` would change in ``root``, leaving it as it is."""
    return repair(copy.deepcopy(root), context)


def hoist_void(root: etree._Element) -> None:
    """Move out what the HTML parser put inside void elements it does not know (``<source>``, ``<wbr>``).

    libxml2's HTML parser predates HTML5's void elements and nests what follows them inside them; dropping a
    ``<source>`` would then drop the ``<img>`` after it.
    """
    repairer = _Repairer(root, FLOW)
    for element in _walk(root):
        if name_of(element) in VOID and (len(element) or not _is_blank(element.text)):
            repairer.hoist(element, name_of(element) or "")


def repair_document(xhtml: str) -> tuple[str, list[Repair]]:
    """An XHTML document's ``<body>`` fitted to the model: (the document, unchanged when nothing was wrong; repairs)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    tree = etree.fromstring(xhtml.encode("utf-8"), parser)
    body = tree.find(f"{{{XHTML_NS}}}body")
    if body is None:
        return xhtml, []
    repairs = repair(body)
    if not repairs:
        return xhtml, []
    declaration = '<?xml version="1.0" encoding="utf-8"?>\n' if xhtml.lstrip().startswith("<?xml") else ""
    doctype = "<!DOCTYPE html>\n" if "<!DOCTYPE html>" in xhtml[:500] else ""
    return declaration + doctype + etree.tostring(tree, encoding="unicode") + "\n", repairs
