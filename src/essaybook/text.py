"""Small text helpers shared by stages (no I/O)."""

from __future__ import annotations

import html
import re

import markdown


def smarten(text: str) -> str:
    """Typographic quotes, dashes and ellipses for plain text such as titles (Python-Markdown's smarty)."""
    converted = markdown.markdown(
        text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_"), extensions=["smarty"]
    )
    return html.unescape(re.sub(r"<[^>]+>", "", converted)).strip()
