"""Font coverage: which characters of the book the theme's fonts cannot draw, and whether this machine can.

The theme's fonts cover Latin, Greek and Cyrillic; other scripts (Han, Arabic, Devanagari, …) fall back to
the machine's fonts through fontconfig, as WeasyPrint does. Where no font covers a script, the PDF would
show empty boxes, so the build names the script and what to install instead.
"""

from __future__ import annotations

import functools
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
@functools.lru_cache(maxsize=1)
def _system_fonts() -> tuple[tuple[str, tuple[tuple[int, int], ...]], ...]:
    """(family, code point ranges) of every font fontconfig knows, from one ``fc-list`` call."""
    if shutil.which("fc-list") is None:
        return ()
    try:
        listing = subprocess.run(
            ["fc-list", "--format", "%{family[0]}\t%{charset}\n"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    fonts = []
    for line in listing.splitlines():
        family, _, charset = line.partition("\t")
        ranges = []
        for token in charset.split():
            first, _, last = token.partition("-")
            try:
                ranges.append((int(first, 16), int(last or first, 16)))
            except ValueError:
                continue
        fonts.append((family, tuple(ranges)))
    return tuple(fonts)


def _system_covers(codepoint: int) -> str | None:
    """Family name of a machine font that has ``codepoint`` (fontconfig), or None."""
    for family, ranges in _system_fonts():
        if any(first <= codepoint <= last for first, last in ranges):
            return family
    return None


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

    Returns the scripts that will print as boxes. Every distinct character is looked up; the example is the
    script's first undrawable one in the book, with how many others there are; with ``first_lines`` (chapter
    file -> line of its text's first line) the warning names its line too.
    """
    covered: set[int] = set()
    for path in fonts:
        covered |= _cmap(path)
    # Every distinct character is checked: a machine font may draw one emoji and not the next.
    missing: dict[str, tuple[str, str, int | None]] = {}
    counts: dict[str, int] = {}
    drawn_by: dict[str, str] = {}
    for where, text in texts:
        for char in dict.fromkeys(text):
            code = ord(char)
            if code < 0x250 or code in covered or unicodedata.category(char)[0] in "CZ":
                continue
            script = script_of(char)
            family = _system_covers(code)
            if family:
                drawn_by.setdefault(script, f"{char!r} in {where} uses the machine's font {family}")
                continue
            counts[script] = counts.get(script, 0) + 1
            if script not in missing:
                start = first_lines.get(where) if first_lines is not None else None
                line = start + text.count("\n", 0, text.index(char)) if start is not None else None
                missing[script] = (where, char, line)
    for script, detail in sorted(drawn_by.items()):
        log.LOGGER.debug("        %s text: %s", _NAMES.get(script, script.title()), detail)
    boxes = []
    for script, (where, char, line) in sorted(missing.items()):
        label = _NAMES.get(script, script.title())
        boxes.append(script)
        package = _SCRIPT_FONTS.get(script, "a font that covers it")
        others = counts[script] - 1
        more = f" and {others} other{'s' * (others > 1)}" if others else ""
        log.warn(
            f"no font can draw {label} characters such as {char!r} (U+{ord(char):04X}){more}; the PDF "
            f"would show empty boxes. Install {package} or add a font with @font-face in styles/",
            kind="font-coverage",
            file=where,
            line=line,
        )
    return boxes
