"""Small text helpers shared by stages (no I/O)."""

from __future__ import annotations

import html
import re

import markdown

_GUILLEMETS = {"left-double-quote": "&laquo;", "right-double-quote": "&raquo;"}
_LOW_HIGH = {"left-double-quote": "&bdquo;", "right-double-quote": "&ldquo;"}
_LOW_RIGHT = {"left-double-quote": "&bdquo;", "right-double-quote": "&rdquo;"}
QUOTES: dict[str, dict[str, str]] = {
    "de": _LOW_HIGH,
    "cs": _LOW_HIGH,
    "sk": _LOW_HIGH,
    "lt": _LOW_HIGH,
    "is": _LOW_HIGH,
    "pl": _LOW_RIGHT,
    "hu": _LOW_RIGHT,
    "ro": _LOW_RIGHT,
    "hr": _LOW_RIGHT,
    "bg": _LOW_HIGH,
    # French sets its guillemets off with narrow no-break spaces.
    "fr": {"left-double-quote": "&laquo;&#8239;", "right-double-quote": "&#8239;&raquo;"},
    "es": _GUILLEMETS,
    "it": _GUILLEMETS,
    "pt": _GUILLEMETS,
    "ru": _GUILLEMETS,
    "uk": _GUILLEMETS,
    "ca": _GUILLEMETS,
    "no": _GUILLEMETS,
    "nb": _GUILLEMETS,
    "el": _GUILLEMETS,
    "da": {"left-double-quote": "&raquo;", "right-double-quote": "&laquo;"},
    "sv": {"left-double-quote": "&rdquo;", "right-double-quote": "&rdquo;"},
    "fi": {"left-double-quote": "&rdquo;", "right-double-quote": "&rdquo;"},
}
"""Double quotation marks by primary language subtag (smarty's defaults, “English”, elsewhere)."""


def smarten(text: str, lang: str = "en") -> str:
    """Typographic quotes, dashes and ellipses for plain text such as titles (Python-Markdown's smarty)."""
    escaped = text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_")
    quotes = QUOTES.get(lang.split("-")[0].lower(), {})
    converted = markdown.markdown(
        escaped, extensions=["smarty"], extension_configs={"smarty": {"substitutions": quotes}}
    )
    return html.unescape(re.sub(r"<[^>]+>", "", converted)).strip()


def unwritable_character(text: str) -> tuple[int, str] | None:
    """(0-based position, description) of the first character in ``text`` that no XML document may carry
    (``(4, 'U+0007 (a control character)')``), or None. Tab, line feed and carriage return are allowed; other
    C0 and C1 controls, lone surrogates and non-characters are not (XML 1.0, section 2.2 and its note on
    discouraged characters)."""
    for index, char in enumerate(text):
        code = ord(char)
        if char in "\t\n\r":
            continue
        if code < 0x20 or 0x7F <= code <= 0x9F:
            return index, f"U+{code:04X} (a control character)"
        if 0xD800 <= code <= 0xDFFF:
            return index, f"U+{code:04X} (a lone surrogate)"
        if 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE:
            return index, f"U+{code:04X} (a non-character)"
    return None
