"""Font coverage: which characters of the book the theme's fonts cannot draw, and whether this machine can.

The theme's fonts cover Latin, Greek and Cyrillic; other scripts (Han, Arabic, Devanagari, …) fall back to
the machine's fonts through fontconfig, as WeasyPrint does. Where no font covers a script, the PDF would
show empty boxes, so the build names the script and what to install instead.
"""

from __future__ import annotations

import shutil
import subprocess
import unicodedata
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont

from essaybook import log

_SCRIPT_FONTS = {
    "CJK": "fonts-noto-cjk",
    "HIRAGANA": "fonts-noto-cjk",
    "KATAKANA": "fonts-noto-cjk",
    "HANGUL": "fonts-noto-cjk",
    "ARABIC": "fonts-noto-core",
    "HEBREW": "fonts-noto-core",
    "DEVANAGARI": "fonts-noto-core",
    "THAI": "fonts-noto-core",
    "EMOJI": "fonts-noto-color-emoji",
    "BENGALI": "fonts-noto-core",
    "TAMIL": "fonts-noto-core",
}


@cache
def _cmap(path: Path) -> frozenset[int]:
    with TTFont(path, lazy=True) as font:
        return frozenset(font.getBestCmap() or {})


@cache
def _system_covers(codepoint: int) -> str | None:
    """Family name of a machine font that has ``codepoint`` (fontconfig), or None."""
    if shutil.which("fc-list") is None:
        return None
    found = subprocess.run(
        ["fc-list", f":charset={codepoint:x}", "family"], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    return found.splitlines()[0].split(",")[0] if found else None


_GROUPS = {
    "CJK": "CJK",
    "IDEOGRAPHIC": "CJK",
    "FULLWIDTH": "CJK",
    "HALFWIDTH": "CJK",
    "HIRAGANA": "CJK",
    "KATAKANA": "CJK",
    "HANGUL": "CJK",
    "BOPOMOFO": "CJK",
}
_NAMES = {"CJK": "Chinese, Japanese and Korean", "EMOJI": "emoji and symbol"}


def script_of(char: str) -> str:
    """A coarse script name from the Unicode character name ('CJK', 'ARABIC', …)."""
    if unicodedata.category(char) == "So":
        return "EMOJI"  # symbols and pictographs: the first word of their names is no script
    name = unicodedata.name(char, "")
    first = name.split(" ")[0] if name else f"U+{ord(char):04X}"
    return _GROUPS.get(first, first)


def check_coverage(
    fonts: list[Path], texts: Iterable[tuple[str, str]], first_lines: dict[str, int] | None = None
) -> list[str]:
    """Warn, once per script, about characters no font can draw; ``texts`` are (chapter file, text) pairs.

    Returns the scripts that will print as boxes. The example character is the script's first in the book;
    with ``first_lines`` (chapter file -> line of its text's first line) the warning names its line too.
    """
    covered: set[int] = set()
    for path in fonts:
        covered |= _cmap(path)
    first_seen: dict[str, tuple[str, str, int | None]] = {}
    for where, text in texts:
        for char in dict.fromkeys(text):
            code = ord(char)
            if code < 0x250 or code in covered or unicodedata.category(char)[0] in "CZ":
                continue
            script = script_of(char)
            if script not in first_seen:
                start = first_lines.get(where) if first_lines is not None else None
                line = start + text.count("\n", 0, text.index(char)) if start is not None else None
                first_seen[script] = (where, char, line)
    boxes = []
    for script, (where, char, line) in sorted(first_seen.items()):
        label = _NAMES.get(script, script.title())
        family = _system_covers(ord(char))
        if family:
            log.LOGGER.debug("        %s text (e.g. %r in %s) uses the machine's font %s", label, char, where, family)
            continue
        boxes.append(script)
        package = _SCRIPT_FONTS.get(script, "a font that covers it")
        log.warn(
            f"no font can draw {label} characters such as {char!r} (U+{ord(char):04X}); the PDF "
            f"would show empty boxes. Install {package} or add a font with @font-face in styles/",
            kind="font-coverage",
            file=where,
            line=line,
        )
    return boxes
