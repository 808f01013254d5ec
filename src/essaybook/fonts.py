"""Font coverage: which characters of the book the theme's fonts cannot draw, and whether this machine can.

The theme's fonts cover Latin, Greek and Cyrillic; other scripts (Han, Arabic, Devanagari, …) fall back to
the machine's fonts through fontconfig, as WeasyPrint does. Where no font covers a script, the PDF would
show empty boxes, so the build names the script and what to install instead.
"""

from __future__ import annotations

import shutil
import subprocess
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont, TTLibError

from essaybook import log
from essaybook.errors import RenderError

_PACKAGES: dict[str, tuple[str, str, str]] = {
    "CJK": ("fonts-noto-cjk", "google-noto-sans-cjk-fonts", "font-noto-sans-cjk"),
    "EMOJI": ("fonts-noto-color-emoji", "google-noto-color-emoji-fonts", "font-noto-color-emoji"),
    "ARABIC": ("fonts-noto-core", "google-noto-naskh-arabic-fonts", "font-noto-naskh-arabic"),
}
"""Font packages by script: (Debian and Ubuntu, Fedora, Homebrew). Other scripts: see :func:`packages_for`."""

_LANG_SCRIPTS = {
    **dict.fromkeys(("zh", "ja", "ko", "yue", "cmn", "wuu", "lzh"), "CJK"),
    **dict.fromkeys(("ar", "fa", "ur", "ps", "sd", "ug", "ckb", "ks"), "ARABIC"),
    **dict.fromkeys(("he", "yi", "lad"), "HEBREW"),
    **dict.fromkeys(("hi", "mr", "ne", "sa", "kok", "mai", "bho", "new"), "DEVANAGARI"),
    **dict.fromkeys(("bn", "as", "mni"), "BENGALI"),
    **dict.fromkeys(("am", "ti", "gez"), "ETHIOPIC"),
    "el": "GREEK",
    "th": "THAI",
    "ta": "TAMIL",
    "te": "TELUGU",
    "kn": "KANNADA",
    "ml": "MALAYALAM",
    "gu": "GUJARATI",
    "pa": "GURMUKHI",
    "or": "ORIYA",
    "si": "SINHALA",
    "my": "MYANMAR",
    "km": "KHMER",
    "lo": "LAO",
    "bo": "TIBETAN",
    "dz": "TIBETAN",
    "hy": "ARMENIAN",
    "ka": "GEORGIAN",
    "mn-mong": "MONGOLIAN",
    "iu": "CANADIAN",
    "chr": "CHEROKEE",
    "akk": "CUNEIFORM",
    "sux": "CUNEIFORM",
    "gmy": "LINEAR B",
    "got": "GOTHIC",
}
"""The script a language is written in (primary subtag), where it is not Latin or Cyrillic."""

BOXES_SHARE = 0.02
"""Undrawable characters, as a share of the book's characters, past which the PDF is not written."""
BOXES_COUNT = 500
"""Undrawable characters (counted each time they occur) past which the PDF is not written."""
HANDFUL = 20
"""Undrawable characters of a script that are never more than warnings, however short the book (unless the
book's language is written in the script and no font draws any of it)."""
NAMED_CHARACTERS = 12
"""Undrawable characters of one script named one by one, each with its place; the rest are counted."""


def packages_for(script: str) -> tuple[str, str, str]:
    """The font packages that cover ``script``: (Debian and Ubuntu, Fedora, Homebrew)."""
    if script in _PACKAGES:
        return _PACKAGES[script]
    name = script.lower().replace(" ", "-")
    return "fonts-noto-core", f"google-noto-sans-{name}-fonts", f"font-noto-sans-{name}"


def script_of_language(lang: str) -> str | None:
    """The script ``lang`` (a BCP 47 tag) is written in, where the theme's fonts have none; else None."""
    tag = lang.lower()
    return _LANG_SCRIPTS.get(tag) or _LANG_SCRIPTS.get(tag.split("-")[0])


@cache
def code_points(path: Path) -> frozenset[int]:
    """The code points the font file at ``path`` has glyphs for (the first font of a collection); none for a
    file fontTools cannot read."""
    try:
        with TTFont(path, lazy=True, fontNumber=0) as font:
            return frozenset(font.getBestCmap() or {})
    except (OSError, TTLibError):
        return frozenset()


def fc_list(*arguments: str) -> str:
    """What fontconfig's ``fc-list`` prints with ``arguments``; "" where it is missing or fails."""
    if shutil.which("fc-list") is None:
        return ""
    try:
        return subprocess.run(["fc-list", *arguments], capture_output=True, text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


@cache
def _system_fonts() -> tuple[tuple[str, tuple[tuple[int, int], ...]], ...]:
    """(family, code point ranges) of every font fontconfig knows, from one ``fc-list`` call."""
    listing = fc_list("--format", "%{family[0]}\t%{charset}\n")
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
_TWO_WORDS = frozenset({"LINEAR", "OLD", "INSCRIPTIONAL", "EGYPTIAN", "ANATOLIAN", "CAUCASIAN", "MEROITIC", "TAI"})
"""Scripts whose names take two words ('LINEAR B', 'OLD ITALIC')."""


def script_of(char: str) -> str:
    """A coarse script name from the Unicode character name ('CJK', 'ARABIC', …)."""
    if unicodedata.category(char) == "So":
        return "EMOJI"  # symbols and pictographs: the first word of their names is no script
    words = unicodedata.name(char, "").split(" ")
    if not words[0]:
        return f"U+{ord(char):04X}"
    first = " ".join(words[:2]) if words[0] in _TWO_WORDS and len(words) > 1 else words[0]
    return _GROUPS.get(first, first)


def label_of(script: str) -> str:
    """How a message names ``script``: 'Chinese, Japanese and Korean', 'Linear B'."""
    return _NAMES.get(script, script.title())


@dataclass
class Missing:
    """The characters of one script that no font can draw."""

    script: str
    places: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    """Each character -> (chapter file, line) where it first occurs."""
    counts: Counter[str] = field(default_factory=Counter)
    """Each character -> how many times it occurs in the book."""
    drawn: bool = False
    """Whether a machine font draws other characters of the script in the book."""

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def find_missing(
    fonts: list[Path], texts: Iterable[tuple[str, str]], first_lines: dict[str, int] | None = None
) -> tuple[dict[str, Missing], int]:
    """The characters of ``texts`` ((chapter file, text) pairs) that neither the theme's ``fonts`` nor a font
    of this machine can draw, by script, and how many characters the texts hold (spaces and controls aside).

    Every distinct character is looked up: a machine font may draw one emoji and not the next. With
    ``first_lines`` (chapter file -> line of its text's first line) each place has its line.
    """
    covered: set[int] = set()
    for path in fonts:
        covered |= code_points(path)
    missing: dict[str, Missing] = {}
    drawn_by: dict[str, str] = {}
    visible = 0
    for where, text in texts:
        for char, count in Counter(text).items():
            code = ord(char)
            if unicodedata.category(char)[0] in "CZ":
                continue
            visible += count
            if code < 0x250 or code in covered:
                continue
            script = script_of(char)
            family = _system_covers(code)
            if family:
                drawn_by.setdefault(script, f"{char!r} in {where} uses the machine's font {family}")
                continue
            entry = missing.setdefault(script, Missing(script))
            entry.counts[char] += count
            if char not in entry.places:
                start = first_lines.get(where) if first_lines is not None else None
                line = start + text.count("\n", 0, text.index(char)) if start is not None else None
                entry.places[char] = (where, line)
    for script, detail in sorted(drawn_by.items()):
        log.LOGGER.debug("        %s text: %s", label_of(script), detail)
        if script in missing:
            missing[script].drawn = True
    return missing, visible


def check_coverage(
    fonts: list[Path],
    texts: Iterable[tuple[str, str]],
    first_lines: dict[str, int] | None = None,
    *,
    langs: Iterable[str] = (),
    stop: bool = False,
    allowed_by: str | None = None,
) -> list[str]:
    """Report the characters no font can draw (see :func:`find_missing`); returns the scripts that will print
    as boxes.

    With ``stop`` (a PDF is to be written), a script that makes the PDF a book of boxes stops the build with
    a :class:`RenderError` (recoverable, for ``check``): the script of one of the book's languages
    (``langs``) when no font draws any of it, or more than :data:`BOXES_SHARE` of the book's characters, or
    more than :data:`BOXES_COUNT`. ``allowed_by`` (the setting that accepts boxes, when set) turns that into
    a warning. A handful of characters is a warning for each, with its place.
    """
    missing, visible = find_missing(fonts, texts, first_lines)
    own = {script for lang in langs if (script := script_of_language(lang)) is not None}
    boxes = sorted(missing)
    for script in boxes:
        entry = missing[script]
        share = entry.total > BOXES_SHARE * visible and entry.total > HANDFUL
        whole = (script in own and not entry.drawn) or share or entry.total > BOXES_COUNT
        if whole and stop:
            _too_many(entry, visible, script in own and not entry.drawn, allowed_by)
        else:
            _each(entry)
    return boxes


def _install(script: str) -> str:
    debian, fedora, homebrew = packages_for(script)
    return (
        f"install {debian} on Debian or Ubuntu, {fedora} on Fedora, {homebrew} with Homebrew; or add a font "
        "that covers it with @font-face in styles/*.css"
    )


def _too_many(entry: Missing, visible: int, language: bool, allowed_by: str | None) -> None:
    label = label_of(entry.script)
    char, (where, line) = next(iter(entry.places.items()))
    share = f"{entry.total:,} of the book's {visible:,} characters"
    why = "the book's language is written in it" if language else share
    message = (
        f"no font on this machine can draw {label} text ({why}; the first is {char!r}, U+{ord(char):04X}): "
        "the PDF would be pages of empty boxes"
    )
    if allowed_by is not None:
        log.warn(f"{message}; written anyway ({allowed_by})", kind="font-coverage", file=where, line=line)
        return
    hint = f"{_install(entry.script)}; or set allow-missing-glyphs = true in [pdf] to accept the boxes"
    log.recoverable(RenderError(message, file=where, line=line, hint=hint), kind="font-coverage")


def _each(entry: Missing) -> None:
    label = label_of(entry.script)
    named = list(entry.places.items())[:NAMED_CHARACTERS]
    for char, (where, line) in named:
        others = entry.counts[char] - 1
        log.warn(
            f"no font can draw the {label} character {char!r} (U+{ord(char):04X}); the PDF shows an empty box",
            kind="font-coverage",
            file=where,
            line=line,
            hint=_install(entry.script),
            more=others,
        )
    rest = len(entry.places) - len(named)
    if rest:
        log.warn(
            f"and {rest} other {label} character{'s' * (rest > 1)} no font can draw",
            kind="font-coverage",
            hint=_install(entry.script),
        )
