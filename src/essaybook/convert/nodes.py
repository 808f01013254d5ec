"""Small helpers on lxml trees and names that several passes share."""

from __future__ import annotations

import re

from essaybook.contentmodel import drop_keep_tail

__all__ = ["HEADINGS", "SCHEME_RE", "drop_keep_tail"]

HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
"""A URL that starts with a scheme (``http:``, ``javascript:``, ``c:``)."""
