"""Small helpers on lxml trees and names that several passes share."""

from __future__ import annotations

import re

from lxml import etree

HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
"""A URL that starts with a scheme (``http:``, ``javascript:``, ``c:``)."""


def drop_keep_tail(node: etree._Element) -> None:
    """Remove ``node`` and its content from the tree; the text after it stays where it was."""
    parent = node.getparent()
    if parent is None:
        return
    tail = node.tail
    previous = node.getprevious()
    parent.remove(node)
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
