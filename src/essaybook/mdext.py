"""essaybook's Python-Markdown extension: source fixes that manuscripts from other tools need.

- Fence info strings such as ```` ```rust,ignore ```` (mdBook, rustdoc) keep their first word, so the
  block is still fenced code with the right highlighting instead of literal backticks.
- Fenced code inside a blockquote (``> ```rust``), which Python-Markdown does not recognise there, becomes
  indented code inside the blockquote, so it stays code (without the language's highlighting).
- A custom block element on a line of its own (``<Listing caption="…">``, as mdBook books use) wraps
  Markdown: it is registered as block-level and parsed with ``markdown="1"``, so the code block inside
  stays a code block. The element itself is made XHTML later, in :mod:`essaybook.convert`.
"""

from __future__ import annotations

import re

import markdown
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor

_FENCE_RE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w#.+-]+),[^\s`]*\s*$")
_FENCE_START_RE = re.compile(r"^\s*(`{3,}|~{3,})")
_OPEN_TAG_RE = re.compile(r"^<(?P<tag>[A-Za-z][\w-]*)(?P<attrs>\s[^>]*)?>\s*$")
_HTML_TAGS = frozenset(
    """a abbr address area article aside audio b base bdi bdo blockquote body br button canvas caption cite code col
colgroup data datalist dd del details dfn dialog div dl dt em embed fieldset figcaption figure footer form h1 h2 h3
h4 h5 h6 head header hgroup hr html i iframe img input ins kbd label legend li link main map mark math menu meta
meter nav noscript object ol optgroup option output p param picture pre progress q rp rt ruby s samp script search
section select slot small source span strong style sub summary sup svg table tbody td template textarea tfoot th
thead time title tr track u ul var video wbr center font""".split()
)


_QUOTED_FENCE_RE = re.compile(r"^(?P<quote>(?:\s*>)+)\s?(?P<fence>`{3,}|~{3,})")


def _quoted_fences(lines: list[str]) -> list[str]:
    out: list[str] = []
    fence: str | None = None
    quote = ""
    for line in lines:
        match = _QUOTED_FENCE_RE.match(line)
        if fence is None and match:
            fence, quote = match["fence"], match["quote"]
            out.append(quote)
            continue
        if fence is not None:
            if match and match["fence"].startswith(fence[0]) and not line[match.end() :].strip():
                fence = None
                out.append(quote)
                continue
            body = line[len(quote) :] if line.startswith(quote) else line.lstrip()
            out.append(f"{quote}     {body[1:] if body.startswith(' ') else body}")
            continue
        out.append(line)
    return out


class _SourceFixes(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        lines = _quoted_fences(lines)
        fixed = []
        fence: str | None = None
        for line in lines:
            start = _FENCE_START_RE.match(line)
            if fence is None and start:
                fence = start.group(1)[0]
                match = _FENCE_RE.match(line)
                if match:
                    line = f"{match['indent']}{match['fence']}{match['lang']}"
            elif fence is not None and start and start.group(1)[0] == fence:
                fence = None
            elif fence is None:
                tag = _OPEN_TAG_RE.match(line)
                if tag and tag["tag"].lower() not in _HTML_TAGS:
                    name = tag["tag"].lower()
                    if name not in self.md.block_level_elements:
                        self.md.block_level_elements.append(name)
                    if "markdown=" not in (tag["attrs"] or ""):
                        line = f'<{tag["tag"]}{tag["attrs"] or ""} markdown="1">'
            fixed.append(line)
        return fixed


class EssaybookExtension(Extension):
    """Register :class:`_SourceFixes` before fenced code and raw HTML blocks are recognised."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.preprocessors.register(_SourceFixes(md), "essaybook-source-fixes", 29)
