"""A typographic cover for books without ``cover-image``: title, subtitle and authors set on a plain field.

Stores and library views show a blank tile for an EPUB without a cover; this one is drawn with Pillow in
the theme's own font, deterministically (same metadata, same PNG bytes).
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from essaybook.model import Meta

WIDTH, HEIGHT = 1600, 2560
BACKGROUND = (38, 44, 58)
INK = (244, 239, 228)
ACCENT = (201, 160, 99)


def _font_for(text: str, theme_font: Path, size: int) -> ImageFont.FreeTypeFont:
    """The theme's font, or a machine font (fontconfig) when the theme's cannot draw ``text``."""
    font = ImageFont.truetype(str(theme_font), size)
    missing = next((ch for ch in text if not ch.isspace() and font.getmask(ch).getbbox() is None), None)
    if missing is not None and shutil.which("fc-match"):
        path = subprocess.run(
            ["fc-match", "-f", "%{file}", f":charset={ord(missing):x}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout.strip()
        if path:
            return ImageFont.truetype(path, size)
    return font


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        candidate = f"{line} {word}".strip()
        if line and draw.textlength(candidate, font=font) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    if line:
        lines.append(line)
    return lines or [text]


def typographic_cover(meta: Meta, regular: Path, italic: Path) -> bytes:
    """PNG bytes of a 1600x2560 cover with the book's title, subtitle and authors."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    margin = 160
    draw.rectangle([margin // 2, margin // 2, WIDTH - margin // 2, HEIGHT - margin // 2], outline=ACCENT, width=6)
    y = 620
    size = 150 if len(meta.title) < 40 else 118
    title_font = _font_for(meta.title, regular, size)
    for line in _wrap(draw, meta.title, title_font, WIDTH - 2 * margin):
        draw.text((WIDTH / 2, y), line, font=title_font, fill=INK, anchor="ma")
        y += int(size * 1.2)
    y += 60
    draw.line([WIDTH / 2 - 180, y, WIDTH / 2 + 180, y], fill=ACCENT, width=5)
    y += 100
    if meta.subtitle:
        sub_font = _font_for(meta.subtitle, italic, 80)
        for line in _wrap(draw, meta.subtitle, sub_font, WIDTH - 2 * margin):
            draw.text((WIDTH / 2, y), line, font=sub_font, fill=INK, anchor="ma")
            y += 100
    if meta.authors:
        names = ", ".join(meta.authors)
        author_font = _font_for(names, regular, 84)
        lines = _wrap(draw, names, author_font, WIDTH - 2 * margin)
        y = HEIGHT - 420 - 100 * (len(lines) - 1)
        for line in lines:
            draw.text((WIDTH / 2, y), line, font=author_font, fill=INK, anchor="ma")
            y += 100
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
