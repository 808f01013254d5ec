"""Links, language tags and file types as the EPUB needs them: urls.normalise, langtag, media.sniff."""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from essaybook.langtag import is_language_tag
from essaybook.media import sniff, suffix_fits
from essaybook.svg import BadSvg, clean_svg
from essaybook.urls import BadUrl, normalise

# A valid URL string as the WHATWG URL standard writes it, in ASCII: URL code points and %XX escapes, at most
# one '#', and an http(s) scheme with a host that holds no forbidden host code point.
_VALID_RE = re.compile(
    r"(?:https?://[A-Za-z0-9.\-_~!$&'()*+,;=]+(?::[0-9]{1,5})?|mailto:)"
    r"(?:[A-Za-z0-9!$&'()*+,\-./:;=?@_~]|%[0-9A-F]{2}|%[0-9A-Fa-f]{2})*"
    r"(?:#(?:[A-Za-z0-9!$&'()*+,\-./:;=?@_~]|%[0-9A-Fa-f]{2})*)?"
)


@pytest.mark.parametrize(
    ("written", "valid"),
    [
        (
            "https://example.com/#/docs/USING_ADVANCED.md#options",
            "https://example.com/#/docs/USING_ADVANCED.md%23options",
        ),
        ("https://example.com/a b", "https://example.com/a%20b"),
        ("https://example.com/ünï", "https://example.com/%C3%BCn%C3%AF"),
        ("https://example.com\\path\\x", "https://example.com/path/x"),
        ("https://example.com/%zz/%41", "https://example.com/%25zz/%41"),
        ("HTTPS://Bücher.example?q=<a>", "https://xn--bcher-kva.example?q=%3Ca%3E"),
        ("https://example.com", "https://example.com"),
        ("  https://example.com/a\n/b  ", "https://example.com/a/b"),
        ("https://example.com:8080/x|y", "https://example.com:8080/x%7Cy"),
        ("https://[::1]/", "https://[::1]/"),
        ("mailto:Jane Roe <jane@example.com>", "mailto:Jane%20Roe%20%3Cjane@example.com%3E"),
    ],
)
def test_links_are_written_as_valid_urls(written: str, valid: str) -> None:
    assert normalise(written) == valid


@pytest.mark.parametrize(
    ("written", "why"),
    [
        ("http:///path", "host is missing"),
        ("https:/example.com", "host is missing"),
        ("https://", "no host"),
        ("https://exa mple.com/", "host"),
        ("https://ex%20ample.com/", "host"),
        ("https://user:secret@example.com/", "password"),
        ("https://example.com:99999/", "port"),
        ("https://example.com:8a/", "port"),
    ],
)
def test_links_that_cannot_be_valid_are_refused(written: str, why: str) -> None:
    with pytest.raises(BadUrl, match=why):
        normalise(written)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["http://", "https://", "HTTPS:\\\\", "mailto:"]),
    st.text(alphabet=st.sampled_from("abc.-:"), min_size=1, max_size=12),
    st.text(max_size=40),
)
def test_whatever_a_link_holds_it_is_valid_or_refused(scheme: str, host: str, rest: str) -> None:
    try:
        url = normalise(scheme + host + "/" + rest)
    except BadUrl:
        return
    assert url.isascii() and _VALID_RE.fullmatch(url), url
    assert normalise(url) == url  # normalising twice changes nothing


@pytest.mark.parametrize(
    "tag",
    ["en", "de-CH", "zh-Hant-TW", "sr-Latn-RS", "de-CH-1901", "es-419", "en-US-x-twain", "x-klingon", "i-klingon"],
)
def test_well_formed_language_tags(tag: str) -> None:
    assert is_language_tag(tag)


@pytest.mark.parametrize(
    "tag", ["en\n", "en ", "en_US", "../etc", "de/CH", "", "e", "en-", "en--US", "en-US-x-", "toolongtag", "12"]
)
def test_ill_formed_language_tags(tag: str) -> None:
    assert not is_language_tag(tag)


def _image(kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buffer, kind)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (_image("PNG"), "image/png"),
        (_image("JPEG"), "image/jpeg"),
        (_image("GIF"), "image/gif"),
        (_image("WEBP"), "image/webp"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml"),
        (
            b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- c -->\n<!DOCTYPE svg [<!ENTITY a "b">]>\n<svg:svg>',
            "image/svg+xml",
        ),
        (b"OTTO\x00", "font/otf"),
        (b"wOF2\x00", "font/woff2"),
        (b"<html><body><svg></svg></body></html>", None),
        (b"month,sales\n", None),
        (b"", None),
    ],
)
def test_file_type_comes_from_the_bytes(data: bytes, kind: str | None) -> None:
    assert sniff(data) == kind


def test_names_that_fit_their_type() -> None:
    assert suffix_fits("a.JPEG", "image/jpeg") and suffix_fits("a.jpg", "image/jpeg")
    assert not suffix_fits("a.png", "image/jpeg") and not suffix_fits("a", "image/png")


def test_svg_entities_are_not_expanded() -> None:
    """Entity references are removed, never expanded; a 'billion laughs' SVG is refused unread."""
    from test_hostile import BILLION_LAUGHS

    with pytest.raises(BadSvg, match="too large"):
        clean_svg(BILLION_LAUGHS.encode())
    small = b'<!DOCTYPE svg [<!ENTITY a "lol">]><svg xmlns="http://www.w3.org/2000/svg"><text>x&a;y</text></svg>'
    cleaned = clean_svg(small)
    assert cleaned.removed == ["entity references"]
    assert b"<text>xy</text>" in cleaned.data and b"ENTITY" not in cleaned.data


def test_svg_references_to_fragments_it_does_not_define_are_removed() -> None:
    data = b'<svg xmlns="http://www.w3.org/2000/svg"><g id="a"/><rect fill="url(#a)"/><rect fill="url(#b)"/></svg>'
    cleaned = clean_svg(data)
    assert b'fill="url(#a)"' in cleaned.data and b"#b" not in cleaned.data


def test_a_clean_svg_is_left_as_it_is() -> None:
    data = b'<svg xmlns="http://www.w3.org/2000/svg"><g id="a"/><use href="#a"/>'
    data += b'<image href="data:image/png;base64,AA"/></svg>'
    assert clean_svg(data).data == data
