"""Laid-out pages -> the resolution each raster image prints at, and a warning for each below print quality.

The printed size is the image's box in WeasyPrint's layout (its content width and height after every rule
of the theme, the project's styles, a ``width`` attribute and a table cell's squeeze have been applied), so
it is what the paper gets, not an estimate from the text width.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from essaybook import log
from essaybook.urls import ASSET_SCHEME

MIN_PPI = 300
"""Pixels per inch below which a printed image looks soft: the figure printers and the services ask for."""
_CSS_PX_PER_INCH = 96.0
ICON_INCHES = 0.25
"""Images printed narrower than this (badges, icons in the text, about 6 mm) are not reported: a pixel of one
at 96 per inch is a quarter of a millimetre, and a warning for every badge of a README would hide the
figures that matter."""


def printed_images(pages: Iterable[Any]) -> list[tuple[str, float, float]]:
    """(src as written, pixels per inch, printed width in inches) of every raster image on ``pages``
    (WeasyPrint pages); vector images (SVG) have no resolution and are left out."""
    from weasyprint.formatting_structure.boxes import ReplacedBox
    from weasyprint.images import RasterImage

    found = []
    for page in pages:
        for box in page._page_box.descendants():
            if not isinstance(box, ReplacedBox) or not isinstance(box.replacement, RasterImage):
                continue
            width, height = float(box.width or 0), float(box.height or 0)
            image = box.replacement
            if width <= 0 or height <= 0 or not image.width or not image.height:
                continue
            ppi = min(image.width * _CSS_PX_PER_INCH / width, image.height * _CSS_PX_PER_INCH / height)
            src = box.element.get("src", "") if box.element is not None else ""
            found.append((src, round(ppi, 1), round(width / _CSS_PX_PER_INCH, 2)))
    return found


def report_resolution(
    images: Iterable[tuple[str, float, float]], uses: Mapping[str, str], names: Mapping[str, str] | None = None
) -> None:
    """One warning (kind "image-resolution") per image file that prints below :data:`MIN_PPI` anywhere, at its
    lowest resolution, placed where the manuscript first uses it (``uses``: href -> "manuscript/ch.md:12");
    ``names``: href -> the file's name in the manuscript, for the message."""
    lowest: dict[str, tuple[float, float]] = {}
    count: dict[str, int] = {}
    for src, ppi, inches in images:
        if ppi >= MIN_PPI or inches < ICON_INCHES:
            continue
        href = src[len(ASSET_SCHEME) + 1 :] if src.startswith(f"{ASSET_SCHEME}:") else src
        count[href] = count.get(href, 0) + 1
        if href not in lowest or ppi < lowest[href][0]:
            lowest[href] = (ppi, inches)
    for href, (ppi, inches) in lowest.items():
        where = uses.get(href, "")
        file, _, line = where.rpartition(":") if where.rpartition(":")[2].isdigit() else (where, "", "")
        log.warn(
            f"{(names or {}).get(href, href)} prints at {ppi:.0f} pixels per inch ({inches:.2f} in wide); "
            f"print wants {MIN_PPI}",
            kind="image-resolution",
            file=file or None,
            line=int(line) if line else None,
            hint=f"give it at least {math.ceil(MIN_PPI * inches)} pixels across at that size, or print it smaller",
            more=count[href] - 1,
        )
