"""BCP 47 language tags: the well-formedness rules of RFC 5646, which EPUBCheck applies to every ``lang``."""

from __future__ import annotations

import re

_ALNUM = "[A-Za-z0-9]"
_LANGUAGE = r"(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})"  # with up to three extlang subtags
_SCRIPT = r"(?:-[A-Za-z]{4})"
_REGION = r"(?:-(?:[A-Za-z]{2}|[0-9]{3}))"
_VARIANT = rf"(?:-(?:{_ALNUM}{{5,8}}|[0-9]{_ALNUM}{{3}}))"
_EXTENSION = rf"(?:-[0-9A-WYZa-wyz](?:-{_ALNUM}{{2,8}})+)"
_PRIVATE = rf"(?:x(?:-{_ALNUM}{{1,8}})+)"
_GRANDFATHERED = (
    "en-GB-oed|i-ami|i-bnn|i-default|i-enochian|i-hak|i-klingon|i-lux|i-mingo|i-navajo|i-pwn|i-tao|i-tay|"
    "i-tsu|sgn-BE-FR|sgn-BE-NL|sgn-CH-DE|art-lojban|cel-gaulish|no-bok|no-nyn|zh-guoyu|zh-hakka|zh-min|"
    "zh-min-nan|zh-xiang"
)
_TAG_RE = re.compile(
    rf"{_LANGUAGE}{_SCRIPT}?{_REGION}?{_VARIANT}*{_EXTENSION}*(?:-{_PRIVATE})?|{_PRIVATE}|{_GRANDFATHERED}",
    re.IGNORECASE,
)


def is_language_tag(value: str) -> bool:
    """True when ``value`` is a well-formed BCP 47 tag (RFC 5646, section 2.1), the whole string.

    Well-formed, not registered: ``de-CH-1901`` and ``x-klingon`` pass, ``en\\n``, ``en_US``, ``../etc`` and
    ``en-`` do not.
    """
    return _TAG_RE.fullmatch(value) is not None
