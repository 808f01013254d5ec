"""Print production: the print-on-demand services' trims and papers, and the interior's bleed at the three outer edges.

The figures are those the services publish for their paperbacks; the user manual's "Print production" chapter
names the document for each, and says where a figure (a paper's thickness at IngramSpark) is KDP's applied to
another service. A service may change them, and its own cover calculator has the last word.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pikepdf is imported where a PDF is changed: reading the configuration does not need it
    import pikepdf

POINTS_PER_INCH = 72.0


@dataclass(frozen=True)
class Paper:
    """A paper stock: its thickness per page (one side of a leaf), in inches."""

    name: str
    inches_per_page: float
    description: str


PAPERS: dict[str, Paper] = {
    paper.name: paper
    for paper in (
        # 444 pages per inch: KDP's white paper, IngramSpark's and Lulu's 50 lb white.
        Paper("white-50lb", 0.002252, "black and white on white paper (KDP white, 50 lb white)"),
        # 400 pages per inch: KDP's cream paper, the services' cream (creme) stock.
        Paper("cream-55lb", 0.0025, "black and white on cream paper (KDP cream, 50-55 lb cream)"),
        Paper("colour-premium", 0.002347, "premium colour on white paper (KDP premium colour)"),
    )
}
"""Paper settings by name (``[cover] paper``)."""


@dataclass(frozen=True)
class Preset:
    """A print service's specification for one trim size of its paperbacks."""

    name: str
    service: str
    page_size: str
    """The trim, as ``[pdf] page-size`` takes it (two CSS lengths)."""
    bleed: str
    bleed_at_spine: bool
    """Whether the service wants interior pages bled at the spine edge too (four sides)."""
    inside_margins: tuple[tuple[int, float], ...]
    """(up to this many pages, minimum inside margin in inches), by rising page count; () when unpublished."""
    paper: str
    """The paper the cover is computed for unless ``[cover] paper`` says otherwise."""
    cover_allowance: float = 0.0
    """Inches the service adds to pages * paper thickness for the cover's spine (the cover board)."""
    spine_text_pages: int = 0
    """The fewest pages a spine may carry text at (0: only the spine width decides)."""


_KDP_INSIDE = ((150, 0.375), (300, 0.5), (500, 0.625), (700, 0.75), (828, 0.875))
# IngramSpark publishes one minimum, 0.5 in on every side, whatever the page count (its file requirements);
# the steps by page count this table once had were not in any IngramSpark document we could find.
_INGRAM_INSIDE = ((1200, 0.5),)
_LULU_INSIDE = ((1200, 0.5),)  # Lulu's safety margin, 0.5 in on every side whatever the page count


def _kdp(trim: str, size: str) -> Preset:
    return Preset(f"kdp-{trim}", "Amazon KDP", size, "0.125in", False, _KDP_INSIDE, "white-50lb", 0.0, 80)


def _ingram(trim: str, size: str) -> Preset:
    return Preset(f"ingramspark-{trim}", "IngramSpark", size, "0.125in", False, _INGRAM_INSIDE, "cream-55lb")


def _lulu(trim: str, size: str) -> Preset:
    # Lulu's paperback spine: pages / 444 + 0.06 in; its interiors bleed on all four sides.
    return Preset(f"lulu-{trim}", "Lulu", size, "0.125in", True, _LULU_INSIDE, "white-50lb", 0.06)


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        _kdp("5x8", "5in 8in"),
        _kdp("5.25x8", "5.25in 8in"),
        _kdp("5.5x8.5", "5.5in 8.5in"),
        _kdp("6x9", "6in 9in"),
        _kdp("7x10", "7in 10in"),
        _kdp("8.5x11", "8.5in 11in"),
        _ingram("5x8", "5in 8in"),
        _ingram("5.5x8.5", "5.5in 8.5in"),
        _ingram("6x9", "6in 9in"),
        _lulu("a5", "148mm 210mm"),
        _lulu("6x9", "6in 9in"),
        _lulu("us-letter", "8.5in 11in"),
    )
}
"""``[pdf] preset`` names."""

SPINE_TEXT_MIN = 0.25 * POINTS_PER_INCH
"""Below this spine width (points) no legible line of text fits between the spine's safety margins."""
SPINE_MARGIN = 0.0625 * POINTS_PER_INCH
"""The clear space the services ask for on each side of the spine's text, in points."""


def minimum_inside_margin(preset: Preset, pages: int) -> float | None:
    """The smallest inside margin (inches) ``preset``'s service accepts for ``pages`` pages; None when it
    publishes none for that count."""
    return next((inches for most, inches in preset.inside_margins if pages <= most), None)


def printed_pages(pages: int) -> int:
    """The pages a printer binds for an interior of ``pages`` pages: a leaf has two sides."""
    return pages + pages % 2


def spine_width(pages: int, paper: Paper, preset: Preset | None = None) -> float:
    """The spine's width in points: printed pages * the paper's thickness, plus the service's allowance."""
    allowance = preset.cover_allowance if preset is not None else 0.0
    return (printed_pages(pages) * paper.inches_per_page + allowance) * POINTS_PER_INCH


def trim_spine_bleed(pdf: pikepdf.Pdf, first_side: str) -> int:
    """Take the bleed off the spine edge of every page of ``pdf`` that has one: the left edge of a right-hand
    page, the right edge of a left-hand page; pages alternate from ``first_side`` ("right" or "left").

    WeasyPrint's ``bleed`` adds the same bleed on all four sides (CSS Paged Media has one ``bleed`` value), but
    the spine edge of an interior page is bound, never cut. The page's content stays where it is: only its
    MediaBox (and BleedBox, CropBox) shrink to the TrimBox at that edge. Returns the pages changed.
    """
    from pikepdf import Array

    changed = 0
    for index, page in enumerate(pdf.pages):
        obj = page.obj
        if "/TrimBox" not in obj:
            continue
        trim = [float(v) for v in obj.TrimBox]
        media = [float(v) for v in obj.MediaBox]
        if media == trim:
            continue
        right = (index % 2 == 0) == (first_side == "right")
        if right:
            media[0] = trim[0]
        else:
            media[2] = trim[2]
        for key in ("/MediaBox", "/BleedBox", "/CropBox"):
            if key == "/MediaBox" or key in obj:
                obj[key] = Array(media)
        changed += 1
    return changed
