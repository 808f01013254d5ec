"""What a layout worker is given and gives back: plain data, stored in the layout cache as JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Job:
    """What a worker needs to lay out one unit and write its pages to ``target``."""

    html: str
    sheets: tuple[tuple[str, str], ...]
    """The stylesheets taken out of ``html``, in document order (layout/units.py's ``Sheet``)."""
    base_url: str
    roots: tuple[str, ...]
    assets: tuple[tuple[str, str], ...]
    """(href, file) of the images the unit may load as ``essaybook:<href>``."""
    stops: frozenset[str]
    """Heading ids: where relaxing widows and orphans for a displaced footnote stops (see renderers.pdf)."""
    blocks: tuple[str, ...]
    """Anchors of the chapter blocks in the unit, in order (for the EPUB's page list)."""
    first: str
    """Id of the unit's root element: pages before it (a blank page to reach a recto) are left out."""
    options: tuple[tuple[str, Any], ...]
    """WeasyPrint's write_pdf options (tags, variant, identifier)."""
    target: str
    numbered: bool = False
    """Rewrite ``target-counter()`` in stylesheets to read the page numbers written on the links."""
    xmp: tuple[str, tuple[str, ...]] | None = None
    """(language, subjects) to add to the XMP metadata: set for the unit whose metadata the book keeps."""
    furniture: bool = False
    """The skeleton (page furniture only): report every page's side and its page anchors, write untagged."""
    measure: bool = False
    """Only measure the pages (count, sides, anchors): write no PDF."""
    seconds: float = 0
    """The layout's time limit (0: none); past it the job raises essaybook.limits.LayoutTimeout."""


@dataclass
class Result:
    """A laid-out unit, as plain data (stored beside its PDF in the layout cache)."""

    pages: int
    anchors: dict[str, int]
    """Every id in the unit -> the (kept) page it first appears on."""
    tops: list[str | None]
    """Per page: the chapter block at its top, or None (blank, or no chapter text)."""
    marked: list[bool]
    """Per page: whether anything with an id is on it (a page without: a blank verso or a page of notes)."""
    sides: list[str]
    """Per page: 'left' or 'right'."""
    blank: list[bool] = field(default_factory=list)
    """Per page: WeasyPrint left it blank (a verso before a recto break)."""
    displaced: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    loaded: list[str] = field(default_factory=list)
    """Files the layout read (stylesheets, fonts, images)."""
    images: list[tuple[str, float, float]] = field(default_factory=list)
    """The raster images on the pages: (src, pixels per inch, printed width in inches), see layout/images.py."""

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)
