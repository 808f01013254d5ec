"""Stage 2 (math): TeX in the manuscript -> MathML for the EPUB and vector SVG for print, made once per chapter.

Syntax is Pandoc's (``tex_math_dollars`` plus ``\\(…\\)`` and ``\\[…\\]``): an opening ``$`` is not followed by
a space, a closing one is not preceded by a space nor followed by a digit (so ``$5 and $6`` stays text),
``\\$`` is a dollar, and nothing inside code is math. ``$$…$$ {#eq:name}`` labels a display equation, which
:mod:`essaybook.crossrefs` numbers; ``@eq:name`` (or ``[@eq:name]``) refers to it as "(n)".

The Markdown side (:class:`MathExtension`) leaves ``<span class="math inline">TeX</span>`` (or ``math display``;
a display equation alone in its paragraph becomes a ``<div>``). :func:`render` then puts both renderings inside
each: MathML from latex2mathml, with the TeX as ``alttext``, and an SVG drawn by ziamath from the same MathML
with STIX Two Math (OFL, bundled with ziamath), every glyph a path. They are made here, in the convert stage,
so that they are kept in the conversion cache with the chapter (rendering is the slow part: 10-30 ms an
equation); compose keeps the one its output uses (:func:`for_epub`, :func:`for_print`). TeX that cannot be
read is a warning with its line, and is shown in place as code.

Why these two: latex2mathml is the maintained pure-Python TeX -> MathML converter (no Node, no JVM); ziamath
lays MathML out with the OpenType MATH table of a real math font and draws glyphs as SVG paths, which
WeasyPrint draws as vector shapes (WeasyPrint has no MathML layout of its own).
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from typing import Any

import markdown
from lxml import etree
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import AtomicString

MATHML_NS = "http://www.w3.org/1998/Math/MathML"
SVG_NS = "http://www.w3.org/2000/svg"
SIZE = 20.0
MAX_TEX = 4000
"""Characters of TeX in one equation: ziamath's layout time grows faster than the equation (3000 terms, 20 000
characters, take half a minute), and no real equation comes near this."""
"""The font size (SVG units) equations are drawn at; the print CSS scales them by ``em`` to the text's size."""

_OPEN_RE = re.compile(r"\$\$|\$|\\\(|\\\[")
_LABEL = r"eq[:-][A-Za-z0-9_](?:[\w:.-]*\w)?"
_ATTRS_RE = re.compile(rf"[ \t]*\{{#({_LABEL})\}}")
_UNKNOWN_RE = re.compile(r"^\\[A-Za-z]+$")
_ENV_RE = re.compile(r"\\(begin|end)\s*\{([A-Za-z*]+)\}")


@functools.cache
def _known_envs() -> frozenset[str]:
    """The environments latex2mathml lays out (imported only where a book has math: it and ziamath take a
    tenth of a second to import, which every build would pay)."""
    import latex2mathml.commands

    return frozenset(name[1:] for name in latex2mathml.commands.MATRICES)


_ENV_SPELLINGS = {"aligned": "align*", "gathered": "matrix", "gather": "matrix", "gather*": "matrix"}
"""Environments Pandoc users write that latex2mathml 3.81 does not know, as ones it lays out the same way (it
would turn their ``&`` and ``\\\\`` into text); ``equation`` only wraps, so it is dropped."""
_ARITY = {"mfrac": 2, "msub": 2, "msup": 2, "msubsup": 3, "mroot": 2, "munder": 2, "mover": 2, "munderover": 3}


class BadTex(ValueError):
    """TeX the converter cannot read (or reads into MathML it would not be valid as)."""


# ------------------------------------------------------------------------------------------------- Markdown


def _close_inline(data: str, start: int) -> int | None:
    """Where the ``$`` closing inline math that opens at ``start`` (after its ``$``) is, by Pandoc's rules."""
    if start >= len(data) or data[start].isspace():
        return None
    i = start
    while i < len(data):
        ch = data[i]
        if ch == "\\":
            if data.startswith("\\text{", i):
                depth, i = 1, i + 6
                while i < len(data) and depth:
                    depth += {"{": 1, "}": -1}.get(data[i], 0)
                    i += 1
                continue
            i += 2
            continue
        if ch == "$":
            if data[i - 1].isspace() or (i + 1 < len(data) and data[i + 1].isdigit()) or i == start:
                return None
            return i
        if ch == "\n" and data[i + 1 : i + 2] == "\n":
            return None
        i += 1
    return None


class _MathInline(InlineProcessor):
    """``$…$``, ``$$…$$``, ``\\(…\\)`` and ``\\[…\\]`` -> ``<span class="math …">`` holding the TeX as text."""

    def handleMatch(self, m: re.Match[str], data: str) -> tuple[Any, int | None, int | None]:  # type: ignore[override]
        start = m.start()
        backslashes = len(data[:start]) - len(data[:start].rstrip("\\"))
        if backslashes % 2:  # an escaped dollar or bracket
            return None, None, None
        opener = m.group()
        if opener == "$":
            close = _close_inline(data, m.end())
            if close is None:
                return None, None, None
            tex, end, display = data[m.end() : close], close + 1, False
        else:
            closer = {"$$": "$$", "\\(": "\\)", "\\[": "\\]"}[opener]
            close = data.find(closer, m.end())
            if close < 0 or not data[m.end() : close].strip():
                return None, None, None
            tex, end, display = data[m.end() : close], close + len(closer), opener != "\\("
        el = ET.Element("span", {"class": "math display" if display else "math inline"})
        el.text = AtomicString(tex.strip())
        if display:
            label = _ATTRS_RE.match(data, end)
            if label:
                el.set("id", label.group(1))
                end = label.end()
        return el, start, end


class _DisplayBlocks(Treeprocessor):
    """A paragraph that holds nothing but one display equation becomes that equation, as a ``<div>``."""

    def run(self, root: ET.Element) -> None:
        for parent in root.iter():
            for index, child in enumerate(list(parent)):
                if child.tag != "p" or (child.text or "").strip() or len(child) != 1:
                    continue
                math = child[0]
                if math.tag == "span" and math.get("class") == "math display" and not (math.tail or "").strip():
                    math.tag, math.tail = "div", child.tail
                    parent.remove(child)
                    parent.insert(index, math)


class MathExtension(Extension):
    """Register the math pattern ahead of escapes (180) and after code spans (190), so
    that code keeps its dollars and TeX keeps its backslashes; ``\\$`` becomes a dollar."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.ESCAPED_CHARS = [*md.ESCAPED_CHARS, "$"]
        md.inlinePatterns.register(_MathInline(_OPEN_RE.pattern, md), "essaybook-math", 185)
        md.treeprocessors.register(_DisplayBlocks(md), "essaybook-math-display", 15)


# ---------------------------------------------------------------------------------------------- rendering


def _check_braces(tex: str) -> None:
    depth = 0
    for found in re.finditer(r"\\.|[{}]", tex, re.DOTALL):
        token = found.group()
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
            if depth < 0:
                raise BadTex("a '}' closes no '{'")
    if depth:
        raise BadTex(f"{depth} '{{' never closed")


def _environments(tex: str) -> str:
    """``tex`` with each environment named as latex2mathml knows it; :class:`BadTex` for one it does not."""

    def spell(found: re.Match[str]) -> str:
        name = found.group(2)
        if name in ("equation", "equation*"):
            return ""
        name = _ENV_SPELLINGS.get(name, name)
        if name not in _known_envs():
            raise BadTex(f"unknown environment {found.group(2)}")
        return f"\\{found.group(1)}{{{name}}}"

    return _ENV_RE.sub(spell, tex)


def to_mathml(tex: str, display: bool) -> etree._Element:
    """``tex`` as a MathML ``<math>`` element with the TeX as ``alttext``; :class:`BadTex` when it cannot be read."""
    if len(tex) > MAX_TEX:
        raise BadTex(f"longer than {MAX_TEX} characters")
    _check_braces(tex)
    try:
        import latex2mathml.converter

        converted = latex2mathml.converter.convert(_environments(tex), display="block" if display else "inline")
        math = etree.fromstring(converted)
    except etree.XMLSyntaxError as exc:  # latex2mathml writes a bare '&' as it was; libxml2 allows 256 levels
        raise BadTex("'&' outside an alignment" if "EntityRef" in str(exc) else "nested too deep") from None
    except Exception as exc:  # latex2mathml raises its own exceptions and plain ones on what it cannot parse
        raise BadTex(type(exc).__name__ if not str(exc) else str(exc)) from None
    for element in math.iter():
        # \href{…}{…} becomes a MathML link; an e-book's links are the text's, never the math's (no script
        # or file links through an equation).
        element.attrib.pop("href", None)
        local = etree.QName(element).localname
        if local in ("mi", "mo") and element.text and _UNKNOWN_RE.match(element.text):
            raise BadTex(f"unknown command {element.text}")
        if local == "mi" and element.text == "&":
            raise BadTex("'&' outside an alignment")
        if local in _ARITY and len(element) != _ARITY[local]:
            raise BadTex(f"\\{local[1:]} is missing an argument" if local != "mfrac" else "\\frac needs two arguments")
    math.set("alttext", tex)
    return math


def to_svg(mathml: etree._Element, tex: str) -> etree._Element:
    """``mathml`` drawn by ziamath as an SVG of paths (no text, no ids), with the TeX as its ``<title>``."""
    from ziamath.config import config as ziamath_config
    from ziamath.zmath import Math as ZiaMath

    ziamath_config.svg2 = False  # glyphs as plain <path>s: <symbol>/<use> ids would repeat across equations
    display = mathml.get("display") == "block"
    try:
        drawn = ZiaMath(etree.tostring(mathml, encoding="unicode"), size=SIZE)
        drawn.title = tex
        svg = etree.fromstring(drawn.svg())
    except Exception as exc:  # a layout ziamath cannot do: shown as code, like TeX that does not parse
        raise BadTex(f"cannot be typeset ({type(exc).__name__})") from None
    _x, y, width, height = (float(v) for v in svg.get("viewBox", "0 0 0 0").split())
    for name in ("width", "height"):
        svg.attrib.pop(name, None)
    depth = y + height  # the baseline is at y = 0; what lies below it hangs under the line
    style = f"width:{width / SIZE:.3f}em;height:{height / SIZE:.3f}em"
    if not display:
        style += f";vertical-align:{-depth / SIZE:.3f}em"
    svg.set("style", style)
    svg.set("role", "math")
    svg.set("aria-label", tex)
    return svg


def is_math(element: etree._Element) -> bool:
    return element.tag in ("span", "div") and element.get("class", "") in ("math inline", "math display")


def render(root: etree._Element, warn: Callable[[str, str], None]) -> int:
    """Put MathML and an SVG into each math element under ``root``; returns how many were rendered.

    ``warn(message, tex)`` is told of each that cannot be read, which becomes ``<code class="math-error">``.
    """
    count = 0
    for element in list(root.iter("span", "div")):
        if not is_math(element) or len(element):
            continue  # not math, or raw MathML drawn already (essaybook.convert.embedded)
        tex = element.text or ""
        display = element.get("class") == "math display"
        try:
            mathml = to_mathml(tex, display)
            svg = to_svg(mathml, tex)
        except BadTex as exc:
            shown = tex if len(tex) <= 60 else tex[:57] + "..."
            warn(f"math ${shown}$ cannot be read ({exc}); it is shown as TeX code", tex)
            element.tag = "code"
            element.set("class", "math-error")
            continue
        element.text = None
        element.append(_rooted(mathml, MATHML_NS))
        element.append(_rooted(svg, SVG_NS))
        count += 1
    return count


def _rooted(element: etree._Element, ns: str) -> etree._Element:
    """``element`` with ``ns`` as its default namespace (never a generated ``ns0:`` prefix)."""
    copy = etree.Element(element.tag, dict(element.attrib), nsmap={None: ns})
    copy.text = element.text
    copy.extend(list(element))
    return copy


def has_math(fragment: str) -> bool:
    """Whether a converted chapter's XHTML ``fragment`` holds MathML (what :func:`render` puts there)."""
    return f'<math xmlns="{MATHML_NS}"' in fragment


def for_epub(root: etree._Element) -> bool:
    """Keep the MathML of each equation under ``root`` (dropping the SVG); True when there was any."""
    found = False
    for svg in list(root.iter(f"{{{SVG_NS}}}svg")):
        parent = svg.getparent()
        if parent is not None and is_math(parent):
            parent.remove(svg)
            found = True
    return found


def for_print(root: etree._Element) -> None:
    """Keep the SVG of each equation under ``root`` (dropping the MathML, which WeasyPrint would print as text)."""
    for math in list(root.iter(f"{{{MATHML_NS}}}math")):
        parent = math.getparent()
        if parent is not None and is_math(parent):
            parent.remove(math)


def formula_tags(pages: Iterable[Any], objects: Iterable[Any]) -> int:
    """Make the PDF's structure elements for equations ``Formula``s; returns how many. For a WeasyPrint finisher.

    WeasyPrint 70 tags every ``<svg>`` (and ``<img>``) as a ``Figure``, with the SVG's ``<title>`` as its
    ``/Alt``, and has no mapping to ``Formula`` (weasyprint/pdf/tags.py). The equations' SVGs are found among
    the laid-out ``pages``' boxes by their ``role="math"``; a ``Figure`` among the PDF's ``objects`` whose
    alternate text is one of their TeX sources becomes a ``Formula`` (PDF 1.7, 14.8.4.5), which keeps its
    ``/Alt`` and layout box.
    """
    figures = [o for o in objects if isinstance(o, dict) and o.get("Type") == "/StructElem" and o.get("S") == "/Figure"]
    if not figures:
        return 0
    formulas: set[str] = set()
    svg, title = f"{{{SVG_NS}}}svg", f"{{{SVG_NS}}}title"
    for page in pages:
        for box in page._page_box.descendants(placeholders=True):
            element = getattr(box, "element", None)
            if element is not None and element.tag == svg and element.get("role") == "math":
                found = element.find(title)
                if found is not None and found.text:
                    formulas.add(found.text)
    count = 0
    for figure in figures:
        if getattr(figure.get("Alt"), "string", None) in formulas:
            figure["S"] = "/Formula"
            count += 1
    return count
