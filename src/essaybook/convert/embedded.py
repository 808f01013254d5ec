"""Raw ``<svg>`` and ``<math>`` in a chapter, kept where they are safe: SVG cleaned by the rules images follow
(:func:`essaybook.svg.clean_svg`) and presentation MathML only, both in their own namespaces; what is taken
out is named in a warning with its line.

The HTML parser that reads a chapter lowercases every name (``viewBox`` becomes ``viewbox``, ``linearGradient``
``lineargradient``), so SVG names are given back their case from the HTML standard's table ("adjust SVG
attributes", 13.2.6.1). A raw equation is drawn the way TeX is (:mod:`essaybook.mathtex`): its MathML for the
EPUB, an SVG of it for the PDF (WeasyPrint prints MathML as plain text).
"""

from __future__ import annotations

import re

from lxml import etree, html
from markdown.preprocessors import Preprocessor

from essaybook import mathtex
from essaybook.convert.context import Context
from essaybook.convert.nodes import drop_keep_tail
from essaybook.svg import BadSvg, clean_svg

SVG_NS = mathtex.SVG_NS
MATHML_NS = mathtex.MATHML_NS
_XLINK_NS = "http://www.w3.org/1999/xlink"
_XML_NS = "http://www.w3.org/XML/1998/namespace"

_SVG_ELEMENTS = {
    name.lower(): name
    for name in (
        "svg g defs desc title symbol use image switch path rect circle ellipse line polyline polygon text tspan "
        "textPath marker pattern clipPath mask linearGradient radialGradient stop filter feBlend feColorMatrix "
        "feComponentTransfer feComposite feConvolveMatrix feDiffuseLighting feDisplacementMap feDistantLight "
        "feDropShadow feFlood feFuncA feFuncB feFuncG feFuncR feGaussianBlur feImage feMerge feMergeNode "
        "feMorphology feOffset fePointLight feSpecularLighting feSpotLight feTile feTurbulence metadata view a"
    ).split()
}
"""SVG's drawing elements by their lowercased names. Not among them: ``script``, ``foreignObject`` (HTML inside
the drawing), ``style`` (inline, its rules would apply to the whole chapter), the animation elements (a page
does not move, and ``<set>`` can change a link) and ``font`` (SVG fonts, which no reading system draws)."""

_SVG_ATTRIBUTES = {
    name.lower(): name
    for name in (
        "attributeName attributeType baseFrequency baseProfile calcMode clipPathUnits diffuseConstant edgeMode "
        "filterUnits glyphRef gradientTransform gradientUnits kernelMatrix kernelUnitLength keyPoints keySplines "
        "keyTimes lengthAdjust limitingConeAngle markerHeight markerUnits markerWidth maskContentUnits maskUnits "
        "numOctaves pathLength patternContentUnits patternTransform patternUnits pointsAtX pointsAtY pointsAtZ "
        "preserveAlpha preserveAspectRatio primitiveUnits refX refY repeatCount repeatDur requiredExtensions "
        "requiredFeatures specularConstant specularExponent spreadMethod startOffset stdDeviation stitchTiles "
        "surfaceScale systemLanguage tableValues targetX targetY textLength viewBox viewTarget xChannelSelector "
        "yChannelSelector zoomAndPan"
    ).split()
}
"""The HTML standard's table of SVG attributes whose names have capitals."""

_MATHML_ELEMENTS = frozenset(
    "math mi mn mo ms mspace mtext mglyph mrow mfrac msqrt mroot mstyle merror mpadded mphantom mfenced menclose "
    "msub msup msubsup munder mover munderover mmultiscripts mprescripts none mtable mtr mtd mlabeledtr "
    "maligngroup malignmark mstack mlongdiv msgroup msrow mscarries mscarry msline semantics annotation".split()
)
"""Presentation MathML (MathML 3, chapter 3) and ``semantics``/``annotation`` (text only). Not among them:
``annotation-xml`` (it may carry HTML), ``maction`` (interaction) and content MathML."""
_MATHML_ATTRIBUTES = frozenset(
    "display mathvariant mathsize mathcolor mathbackground dir displaystyle scriptlevel fence separator stretchy "
    "symmetric largeop movablelimits accent accentunder lspace rspace minsize maxsize form linethickness numalign "
    "denomalign bevelled width height depth voffset columnalign rowalign columnspacing rowspacing columnlines "
    "rowlines frame framespacing columnspan rowspan columnwidth equalrows equalcolumns displaystyle side "
    "minlabelspacing notation open close separators align alttext encoding id class dir".split()
)
"""Presentation attributes; ``href``, ``altimg``, ``style`` and event handlers are left out."""
_MAX_MATH = 20_000
"""Characters of text one raw equation may hold (as :data:`essaybook.mathtex.MAX_TEX` does for TeX)."""

_URL_ID_RE = re.compile(r"url\(\s*(['\"]?)#([^'\")\s]+)\1\s*\)")
_FENCE_RE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
_SVG_OPEN_RE = re.compile(r"<svg[\s>/]", re.IGNORECASE)
_SVG_CLOSE_RE = re.compile(r"</svg\s*>", re.IGNORECASE)


class SvgBlocks(Preprocessor):
    """An ``<svg>`` that opens a line, to the line where it closes, kept whole as raw HTML.

    Python-Markdown knows ``<svg>`` as neither a block nor a span: a drawing written over several lines was cut
    into paragraphs at its first child that is an HTML block name (``<text>``, ``<title>``) and its empty
    elements re-nested by md_in_html. Lines in fenced code are left alone (this runs before code fences are
    recognised, so that essaybook's custom block tags, :mod:`essaybook.mdext`, do not take SVG's for theirs).
    """

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        index = 0
        fence: str | None = None
        while index < len(lines):
            line = lines[index]
            opened = _FENCE_RE.match(line)
            if opened and (fence is None or (opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence))):
                fence = opened.group(1) if fence is None else None
            if fence is not None or not _SVG_OPEN_RE.match(line.lstrip(" ")) or len(line) - len(line.lstrip(" ")) > 3:
                out.append(line)
                index += 1
                continue
            depth, end = 0, index
            while end < len(lines):
                depth += len(_SVG_OPEN_RE.findall(lines[end])) - len(_SVG_CLOSE_RE.findall(lines[end]))
                if depth <= 0:
                    break
                end += 1
            if end == len(lines):  # never closed: text (as a block, it would take in the rest of the chapter)
                out.append(line.replace("<", "&lt;", 1))
                index += 1
                continue
            closing = _SVG_CLOSE_RE.search(lines[end])
            assert closing is not None
            rest = lines[end][closing.end() :]
            block = "\n".join([*lines[index:end], lines[end][: closing.end()]])
            out += ["", self.md.htmlStash.store(block), "", *([rest] if rest.strip() else [])]
            index = end + 1
        return out


def embedded(root: html.HtmlElement, ctx: Context) -> None:
    """Each raw ``<svg>`` and ``<math>`` under ``root`` (outermost ones) put in its namespace, cleaned, or
    removed with a warning when nothing of it can be kept."""
    found = [
        element
        for element in root.iter("svg", "math")
        if not any(ancestor.tag in ("svg", "math") for ancestor in element.iterancestors())
    ]
    lines = {"svg": _lines(ctx, "<svg"), "math": _lines(ctx, "<math")}
    counts = {"svg": 0, "math": 0}
    for element in found:
        tag = str(element.tag)
        place = lines[tag][counts[tag]] if counts[tag] < len(lines[tag]) else None
        counts[tag] += 1
        if tag == "svg":
            _svg(element, ctx, place, counts["svg"])
        else:
            _math(element, ctx, place)


def _lines(ctx: Context, needle: str) -> list[int]:
    """The lines of the chapter where ``needle`` opens a tag, in order (one entry per occurrence)."""
    pattern = re.compile(re.escape(needle) + r"[\s>/]", re.IGNORECASE)
    return [ctx.chapter.body_line + n for n, line in enumerate(ctx.lines) for _ in pattern.finditer(line)]


def _svg(element: html.HtmlElement, ctx: Context, line: int | None, number: int) -> None:
    removed: set[str] = set()
    drawing = _translate(element, SVG_NS, _SVG_ELEMENTS, removed)
    chapter = re.sub(r"[^A-Za-z0-9]+", "-", ctx.chapter.rel.rsplit(".", 1)[0]).strip("-")
    _prefix_ids(drawing, f"svg{number}-{chapter}-")
    try:
        cleaned = clean_svg(etree.tostring(drawing))
        safe = etree.fromstring(cleaned.data, etree.XMLParser(resolve_entities=False, no_network=True))
    except (BadSvg, etree.XMLSyntaxError):
        ctx.warn("<svg> removed: it cannot be read as SVG", kind="unsafe-html", line=line)
        drop_keep_tail(element)
        return
    removed.update(cleaned.removed)
    if removed:
        ctx.warn(f"inline <svg>: {', '.join(sorted(removed))} removed", kind="unsafe-html", line=line)
    _replace(element, safe)


def _math(element: html.HtmlElement, ctx: Context, line: int | None) -> None:
    removed: set[str] = set()
    math = _translate(element, MATHML_NS, {name: name for name in _MATHML_ELEMENTS}, removed)
    text = "".join(math.itertext()).strip()
    if len(text) > _MAX_MATH or not text:
        ctx.warn("<math> removed: it is empty or too long to draw", kind="unsafe-html", line=line)
        drop_keep_tail(element)
        return
    if removed:
        ctx.warn(f"inline <math>: {', '.join(sorted(removed))} removed", kind="unsafe-html", line=line)
    display = math.get("display") == "block"
    math.set("alttext", math.get("alttext") or re.sub(r"\s+", " ", text))
    try:
        drawing = mathtex.to_svg(math, math.get("alttext", ""))
    except mathtex.BadTex as exc:
        ctx.warn(f"<math> cannot be drawn for the PDF ({exc}); its text is shown instead", kind="math", line=line)
        code = html.Element("code", {"class": "math-error"})
        code.text = text
        _replace(element, code)
        return
    holder = html.Element("div" if display else "span", {"class": "math display" if display else "math inline"})
    holder.append(math)
    holder.append(_in(drawing, SVG_NS))
    _replace(element, holder)


def _translate(element: etree._Element, namespace: str, names: dict[str, str], removed: set[str]) -> etree._Element:
    """A copy of the HTML parser's ``element`` in ``namespace``: elements not in ``names`` left out (with their
    content), names given back their case, attributes of other namespaces and event handlers left out."""
    svg = namespace == SVG_NS
    copy = etree.Element(f"{{{namespace}}}{names[str(element.tag)]}", nsmap={None: namespace})

    def fill(source: etree._Element, target: etree._Element) -> None:
        for name, value in source.attrib.items():
            if str(name).lower() in ("xmlns", "xmlns:xlink"):
                continue  # the copy's namespaces are its own
            key = _attribute(str(name).lower(), svg)
            if key is None:
                removed.add("scripts" if str(name).lower().startswith("on") else f"the {name} attribute")
                continue
            target.set(key, value)
        target.text = source.text
        for child in source:
            if not isinstance(child.tag, str):
                continue  # comments and processing instructions
            local = child.tag.lower()
            if local not in names:
                removed.add(_what(local))
                # the element and its content go; the text after it stays
                if child.tail:
                    last = target[-1] if len(target) else None
                    if last is not None:
                        last.tail = (last.tail or "") + child.tail
                    else:
                        target.text = (target.text or "") + child.tail
                continue
            inner = etree.SubElement(target, f"{{{namespace}}}{names[local]}")
            fill(child, inner)
            inner.tail = child.tail

    fill(element, copy)
    copy.tail = None
    return copy


def _attribute(name: str, svg: bool) -> str | None:
    """The name an attribute of the HTML parser takes in the XML copy, or None when it is left out."""
    if name.startswith("on"):
        return None
    if name == "xml:lang":
        return f"{{{_XML_NS}}}lang"
    if svg:
        if name == "xlink:href":
            return f"{{{_XLINK_NS}}}href"
        if ":" in name:
            return None
        return _SVG_ATTRIBUTES.get(name, name)
    return name if name in _MATHML_ATTRIBUTES else None


def _what(local: str) -> str:
    if local == "script":
        return "scripts"
    if local in ("foreignobject", "annotation-xml"):
        return "HTML inside it"
    return f"<{local}>"


def _prefix_ids(root: etree._Element, prefix: str) -> None:
    """Ids inside an inline SVG made the chapter's own (``prefix`` + id), references to them with them: two
    drawings with a gradient ``g`` each must not paint each other's."""
    ids = {node.get("id") for node in root.iter() if node.get("id")}
    if not ids:
        return

    def renamed(found: re.Match[str]) -> str:
        name = found.group(2)
        return f"url(#{prefix}{name})" if name in ids else found.group(0)

    for node in root.iter():
        for name, value in node.attrib.items():
            if name == "id":
                node.set(name, prefix + value)
            elif name in ("href", f"{{{_XLINK_NS}}}href") and value.startswith("#") and value[1:] in ids:
                node.set(name, f"#{prefix}{value[1:]}")
            elif "url(" in value:
                node.set(name, _URL_ID_RE.sub(renamed, value))


def _in(element: etree._Element, namespace: str) -> etree._Element:
    """``element`` (a parsed SVG or MathML tree) rooted with ``namespace`` as its default (no ``ns0:``)."""
    copy = etree.Element(element.tag, dict(element.attrib), nsmap={None: namespace})
    copy.text = element.text
    copy.extend(list(element))
    return copy


def _replace(element: etree._Element, new: etree._Element) -> None:
    parent = element.getparent()
    if parent is None:
        return
    if new.tag == f"{{{SVG_NS}}}svg" or new.tag == f"{{{MATHML_NS}}}math":
        new = _in(new, new.nsmap.get(None) or SVG_NS)
    new.tail = element.tail
    parent.replace(element, new)
