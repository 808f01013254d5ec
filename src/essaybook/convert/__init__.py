"""Stage 2: chapter Markdown -> well-formed XHTML fragments with book-wide ids, resolved links and assets."""

from essaybook.convert.conversion import *  # noqa: F403
from essaybook.convert.conversion import _Ahead  # noqa: F401
