"""essaybook: one Markdown manuscript, a book-shaped PDF and a valid EPUB 3."""

__version__ = "0.1.0"
