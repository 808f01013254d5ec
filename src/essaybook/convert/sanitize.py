"""Raw HTML made fit for XHTML in an EPUB: known elements and attributes only, no scripts or embeds, styles
and ``cite`` URLs under the URL policy, unclosed inline tags dropped; inline SVG and MathML cleaned."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from lxml import etree, html

from essaybook import contentmodel
from essaybook.convert.context import Context
from essaybook.convert.embedded import embedded
from essaybook.convert.images import asset
from essaybook.convert.nodes import SCHEME_RE, drop_keep_tail
from essaybook.langtag import is_language_tag
from essaybook.stylesheets import map_style
from essaybook.urls import BadUrl, normalise

_ATTR_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_DATA_IMAGE_RE = re.compile(r"data:image/(?:png|jpeg|gif|webp|svg\+xml)[;,]", re.IGNORECASE)

# HTML elements an EPUB 3 content document may hold (XHTML5, minus scripting, forms and embedding), and those
# that hold text only: both from the content model's table.
_ELEMENTS = frozenset(contentmodel.SPECS) - {"body"}
INLINE = frozenset(
    tag
    for tag, spec in contentmodel.SPECS.items()
    if contentmodel.PHRASING in spec.categories and spec.content in ("phrasing", "empty") and not spec.children
) | {"a"}
_DANGEROUS = frozenset(
    [
        "script",
        "style",
        "iframe",
        "object",
        "embed",
        "form",
        "input",
        "button",
        "select",
        "textarea",
        "frame",
        "frameset",
        "applet",
        "base",
        "link",
        "meta",
        "noscript",
        "template",
        "canvas",
        "audio",
        "video",
        "source",
        "track",
        "math",
        "svg",
    ]
)
_GLOBAL_ATTRS = contentmodel.GLOBAL_ATTRIBUTES
_ELEMENT_ATTRS = {tag: spec.attributes for tag, spec in contentmodel.SPECS.items()}


def clean(root: html.HtmlElement, ctx: Context) -> None:
    """Make raw HTML fit XHTML in an EPUB: known elements and attributes only, no scripts or embeds; inline SVG
    and MathML cleaned (:mod:`essaybook.convert.embedded`)."""
    for node in list(root.iter(etree.Comment, etree.ProcessingInstruction)):
        drop_keep_tail(node)
    for element in list(root.iter()):
        if isinstance(element.tag, str) and element is not root:
            _unreadable_attributes(element, ctx)
    embedded(root, ctx)
    for element in list(root.iter()):
        if not isinstance(element.tag, str) or element is root or element.tag.startswith("{"):
            continue  # SVG and MathML are embedded's
        tag = _element(element, ctx)
        if tag is not None:
            _attributes(element, tag, ctx)
    _unclosed_inline(root, ctx)


def _unreadable_attributes(element: etree._Element, ctx: Context) -> None:
    """Drop attributes whose names lxml refuses to look up (after a stray quote, ``alt=""a" {{#include x}}"``
    leaves one named ``{{#include``, which lxml reads as a namespace): its HTML parser keeps them, but every
    call by name (reading, deleting) raises ValueError."""
    items = list(element.attrib.items())
    readable = []
    for name, value in items:
        try:
            element.get(name)
        except ValueError:
            ctx.warn(
                f"attribute {name!r} of <{element.tag}> removed: not an attribute name (a stray quote before it?)",
                kind="raw-html",
                near=name,
            )
            continue
        readable.append((name, value))
    if len(readable) != len(items):
        element.attrib.clear()
        for name, value in readable:
            element.set(name, value)


def _element(element: etree._Element, ctx: Context) -> str | None:
    """The XHTML tag ``element`` ends up with (an unknown one replaced), or None when it was removed."""
    tag = str(element.tag).lower()
    if tag in _DANGEROUS:
        ctx.warn(f"<{tag}> removed; an e-book and a printed page cannot hold it", kind="unsafe-html", near="<" + tag)
        drop_keep_tail(element)
        return None
    if tag in _ELEMENTS:
        return tag
    block = any(isinstance(c.tag, str) and c.tag not in INLINE for c in element.iterdescendants())
    caption = (element.get("caption") or "").strip()
    new = ("figure" if caption else "div") if block else "span"
    if new == "figure":
        _caption(element, caption)
    if ctx.first_report(tag):
        ctx.warn(
            f"raw HTML <{tag}> is not an XHTML element; kept its content as <{new}>",
            kind="raw-html",
            near="<" + tag,
        )
    for name, value in list(element.attrib.items()):
        if name not in _GLOBAL_ATTRS and _ATTR_NAME_RE.match(name) and not name.startswith("data-"):
            element.attrib[f"data-{name.lower()}"] = value
    element.tag = new
    element.attrib["class"] = (element.get("class", "") + f" x-{_css_name(tag)}").strip()
    return new


def _caption(element: etree._Element, caption: str) -> None:
    """A captioned wrapper such as mdBook's <Listing caption="…"> reads as a captioned figure."""
    if "<code>" not in caption:  # plain attribute text: escape it, then `code` spans
        caption = caption.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        caption = re.sub(r"`([^`]+)`", r"<code>\1</code>", caption)
    figcaption = html.fragment_fromstring(f"<figcaption>{caption}</figcaption>")
    for inner in list(figcaption.iter()):
        if inner is not figcaption and inner.tag not in ("code", "em", "strong", "i", "b"):
            inner.drop_tag()
    element.insert(0, figcaption)
    del element.attrib["caption"]
    figcaption.tail, element.text = element.text, None


def _attributes(element: etree._Element, tag: str, ctx: Context) -> None:
    """Keep the attributes XHTML allows on ``tag`` (presentational ones become CSS) with values that fit."""
    allowed = _ELEMENT_ATTRS.get(tag, frozenset())
    for name in list(element.attrib):
        lower = name.lower()
        keep = lower == "epub:type" or (
            _ATTR_NAME_RE.match(name)
            and (lower in _GLOBAL_ATTRS or lower in allowed or lower.startswith(("data-", "aria-")))
        )
        if not keep:
            css = contentmodel.as_css(tag, lower, element.attrib[name])
            if css:  # <p align="center">, <img align="right">, <td width="30%">: the look is kept as CSS
                style = element.get("style", "").strip().rstrip(";")
                element.set("style", f"{style}; {css}" if style else css)
            del element.attrib[name]
        else:
            _attribute(element, name, lower, ctx)


def _attribute(element: etree._Element, name: str, lower: str, ctx: Context) -> None:
    """Check the value of a kept attribute: script links, language tags, ``cite`` URLs, ``style``."""
    if lower in ("href", "src") and element.attrib[name].strip().lower().startswith(("javascript:", "vbscript:")):
        ctx.warn("script link removed", kind="unsafe-html", near=element.attrib[name][:30])
        del element.attrib[name]
    elif lower in ("lang", "hreflang") and element.attrib[name] and not _mendable_language(element.attrib[name]):
        value = element.attrib.pop(name)
        ctx.warn(
            f"{lower}={value!r} is not a BCP 47 language tag; the attribute is left out",
            kind="lang",
            line=ctx.attribute_line(lower, value),
            hint="write a tag such as 'en', 'de-CH' or 'zh-Hant'",
        )
    elif lower == "cite":
        _cite(element, name, ctx)
    elif lower == "style":
        _style(element, name, ctx)


def _unclosed_inline(root: html.HtmlElement, ctx: Context) -> None:
    """An unclosed inline tag in raw HTML (<em> never closed) swallows the blocks after it, which XHTML forbids:
    keep its content, drop the tag."""
    for element in list(root.iter()):
        if not isinstance(element.tag, str) or element is root or element.tag not in INLINE:
            continue
        inner = next(
            (
                d
                for d in element.iterdescendants()
                if isinstance(d.tag, str) and d.tag[0] != "{" and d.tag not in INLINE
            ),
            None,
        )
        if inner is not None:
            closed = any(f"</{element.tag}" in line.lower() for line in ctx.lines)
            if closed and element.tag == "a":
                continue  # a link around a block: the content-model check keeps the link (see fit.content_model)
            ctx.warn(
                f"<{element.tag}> holds a <{inner.tag}>, which it may not; its tag is left out, its content kept"
                if closed
                else f"<{element.tag}> is never closed; it is left out so the paragraphs after it stay paragraphs",
                kind="unclosed-html",
                near="<" + element.tag,
            )
            element.drop_tag()


def _mendable_language(value: str) -> bool:
    """A BCP 47 tag, or one written the POSIX way (``en_US``), which the content model mends."""
    return is_language_tag(value) or is_language_tag(value.replace("_", "-"))


def _cite(element: etree._Element, name: str, ctx: Context) -> None:
    """A ``cite`` URL (of a quotation or an edit) made valid, or left out when it is no web link."""
    value = element.attrib[name]
    try:
        element.attrib[name] = normalise(value)
    except BadUrl as exc:
        del element.attrib[name]
        ctx.warn(f"cite={value!r} is left out: {exc}", kind="bad-url", line=ctx.attribute_line("cite", value))


def _style(element: etree._Element, name: str, ctx: Context) -> None:
    """A ``style`` attribute under the policy stylesheets follow: each ``url()`` is a file in the book project
    (packed into the EPUB like an image), a data: image or a fragment; a declaration whose URL leads to the
    network, to ``file:`` or outside the project is left out with a warning, so no local path reaches the EPUB.
    """
    value = element.attrib[name]
    line = ctx.attribute_line("style", value)
    warned = False

    def change(url: str, _line: int) -> str | None:
        nonlocal warned
        if _DATA_IMAGE_RE.match(url) or url.startswith("#"):
            return url
        path = unquote(urlsplit(url).path)
        if SCHEME_RE.match(url) or url.startswith(("/", "\\")) or "\\" in url or not path:
            warned = True
            ctx.warn(
                f"style: url({url}) is not a file in the book project; the declaration is left out",
                kind="css-url",
                line=line,
                hint="put images next to the chapter and refer to them by relative path",
            )
            return None
        href = asset(ctx, ctx.chapter.source.parent / path, url, url, ctx.where(url), image=False)
        warned = warned or href is None
        return href

    def refused(declaration: str) -> None:
        if not warned:
            ctx.warn(f"style: {declaration!r} does not parse; it is left out", kind="css-url", line=line)

    cleaned = map_style(value, change, refused)
    if cleaned:
        element.attrib[name] = cleaned
    else:
        del element.attrib[name]


def _css_name(tag: str) -> str:
    return re.sub(r"[^a-z0-9-]", "-", tag.lower())
