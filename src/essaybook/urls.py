"""Links as valid URLs: what the WHATWG URL standard (which EPUBCheck applies) accepts without a validation error.

A web link is rewritten to its valid form where its meaning is clear (spaces, non-ASCII letters, a second
``#`` in the fragment, backslashes, a stray ``%`` are percent-encoded or replaced; a host in another script
is written in IDNA), and refused where it is not (no host, a malformed host, a user name or password).
"""

from __future__ import annotations

import re
import string
from urllib.parse import unquote

ASSET_SCHEME = "essaybook"
"""Images are addressed as ``essaybook:<href>`` in the print HTML: WeasyPrint names image objects after a hash
of their URL, so a URL that does not contain the project's absolute path keeps the PDF identical across folders."""

_HEX = frozenset(string.hexdigits)
_CODE_POINTS = frozenset(string.ascii_letters + string.digits + "!$&'()*+,-./:;=?@_~")
"""ASCII URL code points: every other character is percent-encoded (non-ASCII ones as UTF-8)."""
_FORBIDDEN_HOST = frozenset(" #%/:<>?@[\\]^|\x7f") | frozenset(chr(c) for c in range(0x20))
_IPV6_RE = re.compile(r"\[[0-9A-Fa-f:.]+\]")
_PORT_RE = re.compile(r"[0-9]{0,5}")
_WEB_RE = re.compile(r"(https?):([/\\]*)(.*)", re.IGNORECASE | re.DOTALL)
_STRIP = "".join(chr(c) for c in range(0x21))
"""C0 controls and space: the URL parser strips them at both ends."""


class BadUrl(ValueError):
    """A link whose intended URL cannot be told; the message says why, for a warning."""


def is_web(href: str) -> bool:
    """An http(s) or mailto link (the links an EPUB keeps), whatever its case and surrounding space."""
    return href.strip(_STRIP).lower().startswith(("http:", "https:", "mailto:"))


def _encode(text: str, also: str = "") -> str:
    """``text`` with every character that is not a URL code point percent-encoded (``%XX`` escapes kept)."""
    out = []
    for i, ch in enumerate(text):
        escape = ch == "%" and len(text) > i + 2 and text[i + 1] in _HEX and text[i + 2] in _HEX
        if escape or (ch in _CODE_POINTS and ch not in also):
            out.append(ch)
        else:
            out.append("".join(f"%{byte:02X}" for byte in ch.encode("utf-8", "surrogatepass")))
    return "".join(out)


def _tail(rest: str, fragment_only: bool = False) -> str:
    """Path (or opaque path), query and fragment, each encoded; only the first ``#`` starts the fragment."""
    before, hash_, fragment = rest.partition("#")
    if fragment_only:
        encoded = _encode(before)
    else:
        path, question, query = before.partition("?")
        encoded = _encode(path) + question + _encode(query)
    return encoded + (hash_ + _encode(fragment, also="#") if hash_ else "")


def _host(host: str) -> str:
    if _IPV6_RE.fullmatch(host):
        return host.lower()
    host = unquote(host)
    if not host:
        raise BadUrl("it has no host")
    if any(ch in _FORBIDDEN_HOST for ch in host):
        raise BadUrl(f"its host {host!r} holds characters a host name cannot")
    try:
        labels = [label.encode("idna").decode("ascii") if not label.isascii() else label for label in host.split(".")]
    except UnicodeError:
        raise BadUrl(f"its host {host!r} is not a valid international domain name") from None
    return ".".join(labels).lower()


def normalise(href: str) -> str:
    """``href`` (an http(s) or mailto link) as a valid URL; :class:`BadUrl` when it cannot be made one.

    >>> normalise("https://example.com/a b#/docs/x.md#options")
    'https://example.com/a%20b#/docs/x.md%23options'
    """
    href = re.sub("[\t\n\r]", "", href.strip(_STRIP))
    if href.lower().startswith("mailto:"):
        return "mailto:" + _tail(href[len("mailto:") :], fragment_only=True)
    web = _WEB_RE.fullmatch(href)
    if web is None:
        raise BadUrl("it is not an http, https or mailto link")
    scheme, slashes, rest = web.group(1).lower(), web.group(2), web.group(3).replace("\\", "/")
    if len(slashes) != 2:
        raise BadUrl("its host is missing (the scheme must be followed by exactly two slashes)")
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, rest = rest[:end], rest[end:]
    if "@" in authority:
        raise BadUrl("it holds a user name or password")
    host, colon, port = authority, "", ""
    if not authority.endswith("]") and ":" in authority:
        host, colon, port = authority.rpartition(":")
    if colon and not (_PORT_RE.fullmatch(port) and (not port or int(port) <= 65535)):
        raise BadUrl(f"its port {port!r} is not a number up to 65535")
    return f"{scheme}://{_host(host)}{colon if port else ''}{port}{_tail(rest)}"
