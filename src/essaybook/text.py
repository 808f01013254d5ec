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
