"""``essaybook cover``: the print cover as one PDF sheet (back, spine, front, with bleed around), for a printer.

The spine's width is the interior's page count times the paper's thickness per page (production.py). The
sheet is laid out by WeasyPrint from a small HTML document, so its text is set in the theme's fonts as
vector type; the front and back are the project's images or a typographic design from the book's metadata.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from pathlib import Path

from essaybook import log
from essaybook.config import Config, key_line, points
from essaybook.errors import ConfigError, EssaybookError, RenderError
from essaybook.model import Meta
from essaybook.paths import inside
from essaybook.production import (
    PAPERS,
    POINTS_PER_INCH,
    PRESETS,
    SPINE_MARGIN,
    SPINE_TEXT_MIN,
    Paper,
    Preset,
    printed_pages,
    spine_width,
)
from essaybook.renderers import atomic_output
from essaybook.themes import Theme
from essaybook.urls import ASSET_SCHEME

DEFAULT_BLEED = 0.125 * POINTS_PER_INCH
"""The cover's bleed when neither the preset nor ``[pdf] bleed`` gives one: the services' 0.125 in."""
SAFETY = 0.125 * POINTS_PER_INCH
"""How far inside the trim the cover's text keeps (the services' safe zone)."""
BACKGROUND = "#262c3a"
INK = "#f4efe4"
ACCENT = "#c9a063"
_GUIDE = {"trim": "#00a0e0", "fold": "#e0007a", "safe": "#20a040", "bleed": "#e06000", "barcode": "#808080"}
BARCODE = (2.0 * POINTS_PER_INCH, 1.2 * POINTS_PER_INCH)
"""The box KDP and IngramSpark keep for the ISBN barcode, at the foot of the back by the spine (0.25 in in)."""


@dataclass(frozen=True)
class CoverGeometry:
    """The cover sheet's measures, in points."""

    trim_width: float
    trim_height: float
    spine: float
    bleed: float
    pages: int
    """Printed pages (an odd count is bound with a blank last page)."""
    paper: Paper
    preset: Preset | None

    @property
    def width(self) -> float:
        """The sheet's width: 2 * trim + spine + 2 * bleed."""
        return 2 * self.trim_width + self.spine + 2 * self.bleed

    @property
    def height(self) -> float:
        return self.trim_height + 2 * self.bleed

    @property
    def spine_text(self) -> bool:
        """Whether the spine is wide enough for a line of text (and the service allows one at this count)."""
        least = self.preset.spine_text_pages if self.preset is not None else 0
        return self.spine >= SPINE_TEXT_MIN and self.pages >= least


def paper_of(config: Config) -> Paper:
    """``[cover] paper`` (a name or a thickness per page), else the preset's paper, else white 50 lb."""
    name = config.cover.paper
    if name is None:
        preset = PRESETS.get(config.pdf.preset or "")
        return PAPERS[preset.paper if preset is not None else "white-50lb"]
    if name in PAPERS:
        return PAPERS[name]
    thickness = points(name)
    if thickness is None or thickness <= 0:
        raise ConfigError(f"unknown paper {name!r}", key="cover.paper", hint="use one of " + ", ".join(PAPERS))
    return Paper(name, thickness / POINTS_PER_INCH, f"{name} per page")


def geometry(config: Config, pages: int) -> CoverGeometry:
    """The cover of an interior of ``pages`` pages with this book's trim, bleed, preset and paper."""
    trim = config.pdf.trim_pt
    if trim is None:
        raise ConfigError(f"cannot read the page size {config.pdf.page_size!r} as a trim", key="pdf.page-size")
    if pages < 1:
        raise EssaybookError(f"an interior of {pages} pages has no spine", hint="give --pages a positive count")
    preset = PRESETS.get(config.pdf.preset or "")
    paper = paper_of(config)
    bleed = config.pdf.bleed_pt or DEFAULT_BLEED
    return CoverGeometry(
        trim[0], trim[1], spine_width(pages, paper, preset), bleed, printed_pages(pages), paper, preset
    )


def interior_pages(pdf: Path) -> int:
    """The interior's page count: the PDF's pages less a cover and its inside page (labelled so)."""
    from essaybook.commands.proof import open_pdf

    with open_pdf(pdf) as (_, pages):
        return sum(1 for label in pages.labels if label not in ("Cover", "Inside cover"))


def _image(config: Config, root: Path, key: str, value: str | None) -> Path | None:
    if value is None:
        return None
    manuscript = root / "manuscript"
    path = manuscript / value
    if not inside(path, manuscript) or not path.is_file():
        toml = manuscript / "book.toml"
        raise ConfigError(
            f"no such image: {value}",
            file=toml,
            line=key_line(toml, key.split(".")[0], key.split(".")[1]),
            key=key,
            hint="give a path relative to manuscript/",
        )
    return path


def _pt(value: float) -> str:
    return f"{value:.3f}pt"


def _box(x: float, y: float, width: float, height: float) -> str:
    return f"position: absolute; left: {_pt(x)}; top: {_pt(y)}; width: {_pt(width)}; height: {_pt(height)};"


def cover_html(
    meta: Meta,
    config: Config,
    shape: CoverGeometry,
    font_faces: str,
    front: bool,
    back: bool,
    proof: bool,
) -> str:
    """The cover sheet as HTML for WeasyPrint: the page is the trimmed sheet, the bleed is around it.

    ``front``/``back``: whether an image fills that panel (served as ``essaybook:front`` / ``essaybook:back``).
    """
    tw, th, spine, bleed = shape.trim_width, shape.trim_height, shape.spine, shape.bleed
    rtl = meta.direction == "rtl"  # a right-to-left book is bound on the right: its front is on the left
    back_x, front_x = (tw + spine, 0.0) if rtl else (0.0, tw + spine)
    esc = html.escape
    parts: list[str] = []
    # The field runs out into the bleed on every side.
    parts.append(f'<div class="field" style="{_box(-bleed, -bleed, shape.width, shape.height)}"></div>')
    for name, has_image, x in (("back", back, back_x), ("front", front, front_x)):
        if has_image:
            # The image fills its panel and the bleed at the panel's three outer edges.
            left = x - bleed if x == 0 else x
            style = _box(left, -bleed, tw + bleed, th + 2 * bleed)
            parts.append(f'<img class="panel-image" src="{ASSET_SCHEME}:{name}" alt="" style="{style}">')
    inner = SAFETY + 0.25 * POINTS_PER_INCH
    if not front:
        title = f'<p class="title">{esc(meta.title)}</p>'
        subtitle = f'<p class="subtitle">{esc(meta.subtitle)}</p>' if meta.subtitle else ""
        authors = f'<p class="author">{esc(", ".join(meta.authors))}</p>' if meta.authors else ""
        style = _box(front_x + inner, th * 0.22, tw - 2 * inner, th * 0.5)
        parts.append(f'<div class="front-text" style="{style}">{title}<hr>{subtitle}</div>')
        if authors:
            style = _box(front_x + inner, th * 0.8, tw - 2 * inner, th * 0.1)
            parts.append(f'<div class="front-author" style="{style}">{authors}</div>')
    if not back:
        text = config.cover.back_text or meta.description or ""
        paragraphs = "".join(f"<p>{esc(p.strip())}</p>" for p in text.split("\n\n") if p.strip())
        if paragraphs:
            style = _box(back_x + inner, th * 0.14, tw - 2 * inner, th * 0.55)
            parts.append(f'<div class="back-text" style="{style}">{paragraphs}</div>')
        if meta.publisher:
            style = _box(back_x + inner, th - inner - 14, tw * 0.45, 14)
            parts.append(f'<p class="publisher" style="{style}">{esc(meta.publisher)}</p>')
    if config.cover.spine_text and shape.spine_text:
        size = min(11.0, (spine - 2 * SPINE_MARGIN) * 0.62)
        words = " \u2003 ".join(esc(s) for s in [meta.title, ", ".join(meta.authors)] if s)
        # A box as long as the spine is tall, turned a quarter clockwise about the spine's centre: the text
        # reads top to bottom, as on English-language books.
        length = th - 2 * inner
        cx, cy = (tw + spine / 2), th / 2
        style = (
            _box(cx - length / 2, cy - size, length, 2 * size)
            + f" font-size: {size:.2f}pt; line-height: {_pt(2 * size)};"
        )
        parts.append(f'<div class="spine-text" style="{style}">{words}</div>')
    if proof:
        parts.extend(_guides(shape, rtl))
    return f"""<!DOCTYPE html>
<html lang="{esc(meta.lang)}" dir="{meta.direction}">
<head><meta charset="utf-8"><title>{esc(meta.title)}</title>
<style>
{font_faces}
@page {{ size: {_pt(2 * tw + spine)} {_pt(th)}; margin: 0; bleed: {_pt(bleed)}; }}
html, body {{ margin: 0; padding: 0; }}
body {{ font-family: "Essaybook Cover", serif; color: {INK}; }}
div, img, p {{ margin: 0; box-sizing: border-box; }}
.field {{ background: {BACKGROUND}; }}
.panel-image {{ object-fit: cover; }}
.front-text, .front-author {{ text-align: center; }}
.front-text .title {{ font-size: {_pt(min(tw / 9, 40))}; line-height: 1.15; }}
.front-text hr {{ width: 25%; margin: 0.5in auto 0.4in; border: 0; border-top: 1.5pt solid {ACCENT}; }}
.front-text .subtitle {{ font-style: italic; font-size: {_pt(min(tw / 20, 18))}; }}
.front-author .author {{ font-size: {_pt(min(tw / 18, 20))}; letter-spacing: 0.04em; }}
.back-text {{ font-size: 10.5pt; line-height: 1.45; text-align: left; hyphens: manual; }}
.back-text p {{ margin: 0 0 0.8em; }}
.publisher {{ font-size: 9pt; font-variant: small-caps; letter-spacing: 0.06em; }}
.spine-text {{ transform: rotate(90deg); text-align: center; white-space: nowrap;
  overflow: hidden; }}
.guide {{ border: 0 solid; }}
.guide-label {{ position: absolute; font: 7pt sans-serif; padding: 1pt 2pt; white-space: nowrap;
  background: rgba(255, 255, 255, 0.85); }}
</style></head>
<body>
{"".join(parts)}
</body></html>
"""


def _guides(shape: CoverGeometry, rtl: bool) -> list[str]:
    """The proof's marks: trim edge, spine folds, the safe areas and the bleed's outer edge, labelled."""
    tw, th, spine, bleed = shape.trim_width, shape.trim_height, shape.spine, shape.bleed
    out = []

    def frame(x: float, y: float, w: float, h: float, kind: str, dashed: bool = False) -> None:
        style = _box(x, y, w, h) + f" border-width: 0.6pt; border-color: {_GUIDE[kind]};"
        style += " border-style: dashed;" if dashed else " border-style: solid;"
        out.append(f'<div class="guide" style="{style}"></div>')

    def label(x: float, y: float, text: str, kind: str) -> None:
        out.append(f'<p class="guide-label" style="left: {_pt(x)}; top: {_pt(y)}; color: {_GUIDE[kind]};">{text}</p>')

    frame(-bleed, -bleed, shape.width, shape.height, "bleed", dashed=True)
    frame(0, 0, 2 * tw + spine, th, "trim")
    for x in (tw, tw + spine):
        frame(x, 0, 0, th, "fold")
    for x in (0.0, tw + spine):
        frame(x + SAFETY, SAFETY, tw - 2 * SAFETY, th - 2 * SAFETY, "safe", dashed=True)
    if spine > 2 * SPINE_MARGIN:
        frame(tw + SPINE_MARGIN, SAFETY, spine - 2 * SPINE_MARGIN, th - 2 * SAFETY, "safe", dashed=True)
    back_x, front_x = (tw + spine, 0.0) if rtl else (0.0, tw + spine)
    inset = 0.25 * POINTS_PER_INCH
    barcode_x = back_x + inset if rtl else back_x + tw - inset - BARCODE[0]
    frame(barcode_x, th - inset - BARCODE[1], *BARCODE, "barcode", dashed=True)
    label(barcode_x + 4, th - inset - BARCODE[1] + 4, "barcode area", "barcode")
    inches = spine / POINTS_PER_INCH
    label(back_x + SAFETY + 4, SAFETY + 4, "BACK", "trim")
    label(front_x + SAFETY + 4, SAFETY + 4, "FRONT", "trim")
    label(tw + spine + 4, th - SAFETY - 16, f"spine {inches:.3f} in ({shape.pages} pages, {shape.paper.name})", "fold")
    label(SAFETY + 4, th - SAFETY - 16, "safe area", "safe")
    label(-bleed + 2, -bleed + 2, f"bleed {bleed / POINTS_PER_INCH:.3f} in", "bleed")
    return out


def _font_faces(theme: Theme) -> str:
    """``@font-face`` rules naming the theme's text family "Essaybook Cover"."""
    faces = theme.font_faces()
    if not faces:
        return ""
    family = faces[0].family
    rules = []
    for face in faces:
        if face.family != family:
            continue
        rules.append(
            f'@font-face {{ font-family: "Essaybook Cover"; src: url("{face.path.resolve().as_uri()}"); '
            f"font-style: {face.style}; font-weight: {face.weight}; }}"
        )
    return "\n".join(rules)


def _check_resolution(image: Path, shape: CoverGeometry, toml: Path, key: str | None) -> None:
    """Warn (image-resolution) when ``image`` fills its panel and bleed at under MIN_PPI pixels per inch."""
    from PIL import Image

    from essaybook.layout.images import MIN_PPI

    try:
        with Image.open(image) as opened:
            width, height = opened.size
    except OSError as exc:
        raise EssaybookError(f"cannot read the image: {exc}", file=image) from None
    inches = ((shape.trim_width + shape.bleed) / POINTS_PER_INCH, shape.height / POINTS_PER_INCH)
    ppi = min(width / inches[0], height / inches[1])  # object-fit: cover scales it to the larger ratio
    if ppi < MIN_PPI:
        log.warn(
            f"{image.relative_to(toml.parent).as_posix()} prints at {ppi:.0f} pixels per inch on the cover; "
            f"print wants {MIN_PPI}",
            kind="image-resolution",
            file="manuscript/book.toml",
            line=key_line(toml, "cover", key) if key else key_line(toml, "book", "cover-image"),
            hint=f"give it at least {int(inches[0] * MIN_PPI) + 1} x {int(inches[1] * MIN_PPI) + 1} pixels",
        )


@dataclass(frozen=True)
class CoverResult:
    """What ``essaybook cover`` wrote."""

    path: Path
    geometry: CoverGeometry

    def summary(self) -> str:
        g = self.geometry
        inch = POINTS_PER_INCH
        return (
            f"Wrote {self.path.name}: {g.width / inch:.3f} by {g.height / inch:.3f} in "
            f"(back {g.trim_width / inch:.3f} + spine {g.spine / inch:.3f} + front {g.trim_width / inch:.3f} "
            f"+ bleed {g.bleed / inch:.3f} each side; {g.pages} pages on {g.paper.name}"
            f"{'' if g.spine_text else ', spine too narrow for text'})"
        )


def make_cover(root: Path, pages: int | None = None, proof: bool = False, output: Path | None = None) -> CoverResult:
    """Write the print cover of the project at ``root`` (default ``dist/<slug>-cover.pdf``, or
    ``-cover-proof.pdf`` with the guides drawn). ``pages``: the interior's page count; default: counted in
    ``dist/<slug>.pdf``, which is built first when missing or older than the manuscript."""
    from weasyprint import HTML  # the command's own import: the pipeline's commands do not need it at start

    from essaybook.fetcher import RestrictedFetcher
    from essaybook.pipeline import Pipeline

    pipeline = Pipeline(root, cache=False)
    project = pipeline.convert()
    meta, config, theme = project.require_meta, project.config, project.theme
    if pages is None:
        from essaybook.commands.proof import project_pdf

        pages = interior_pages(project_pdf(project.root).path)
    shape = geometry(config, pages)
    front_source = config.cover.front_image or config.book.cover_image
    front = _image(
        config, project.root, "cover.front-image" if config.cover.front_image else "book.cover-image", front_source
    )
    back = _image(config, project.root, "cover.back-image", config.cover.back_image)
    toml = project.root / "manuscript" / "book.toml"
    for key, image in (("front-image", front), ("back-image", back)):
        if image is not None:
            _check_resolution(image, shape, toml, key if key == "back-image" or config.cover.front_image else None)
    document = cover_html(meta, config, shape, _font_faces(theme), front is not None, back is not None, proof)
    assets = {name: path for name, path in (("front", front), ("back", back)) if path is not None}
    fetcher = RestrictedFetcher([project.root, *theme.roots], assets=assets)
    target = output or project.root / "dist" / f"{meta.slug}-cover{'-proof' if proof else ''}.pdf"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_output(target) as temp:
            HTML(string=document, base_url=project.root.as_uri() + "/", url_fetcher=fetcher).write_pdf(
                str(temp), pdf_identifier=hashlib.md5(f"cover:{meta.identifier}".encode()).hexdigest().encode()
            )
            if fetcher.refused or fetcher.failed:  # raised here, the half-made cover is not kept
                raise RenderError(f"cannot read {(fetcher.refused or fetcher.failed)[0]} for the cover", file=target)
    except OSError as exc:
        raise RenderError(f"cannot write the cover: {exc.strerror or exc}", file=target) from None
    result = CoverResult(target, shape)
    log.LOGGER.info(result.summary())
    return result
