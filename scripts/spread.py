"""Draw one spread of a built PDF (a left and a right page side by side, as the open book shows them) as a PNG.

The README's picture and the manual's are made with it from the sample book::

    essaybook build && python scripts/spread.py dist/openais-open-source-move-a-new-era-for-ai.pdf 2 \
        docs/manual/manuscript/images/sample-spread.png

Two pages that do not face each other (``--right``) show two places of a book side by side. The pages are
rendered by poppler's ``pdftoppm`` (at 150 dpi: sharp enough to print at 300 ppi on the manual's
text width) and put on a grey ground, meeting at the spine.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

GROUND = (222, 222, 222)
EDGE = (150, 150, 150)
BORDER = 28


def render(pdf: Path, page: int, folder: Path, dpi: int) -> Image.Image:
    """Page ``page`` (1-based) of ``pdf`` as an RGB image, rendered with pdftoppm."""
    stem = folder / f"page{page}"
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile", "-png", str(pdf), str(stem)],
        check=True,
    )
    with Image.open(stem.with_suffix(".png")) as image:
        return image.convert("RGB")


def spread(left: Image.Image, right: Image.Image) -> Image.Image:
    """``left`` and ``right`` meeting at the spine on a grey ground, each page edged with a thin line."""
    width = left.width + right.width + 2 * BORDER
    height = max(left.height, right.height) + 2 * BORDER
    sheet = Image.new("RGB", (width, height), GROUND)
    sheet.paste(left, (BORDER, BORDER))
    sheet.paste(right, (BORDER + left.width, BORDER))
    draw = ImageDraw.Draw(sheet)
    draw.rectangle((BORDER - 1, BORDER - 1, BORDER + left.width, BORDER + left.height), outline=EDGE)
    draw.rectangle(
        (BORDER + left.width, BORDER - 1, BORDER + left.width + right.width, BORDER + right.height), outline=EDGE
    )
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pdf", type=Path)
    parser.add_argument("left", type=int, help="the left-hand page, an even page number")
    parser.add_argument("--right", type=int, help="the right-hand page, when it is not the next one")
    parser.add_argument("out", type=Path)
    parser.add_argument("--dpi", type=int, default=150)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        left = render(args.pdf, args.left, Path(folder), args.dpi)
        right = render(args.pdf, args.right or args.left + 1, Path(folder), args.dpi)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # 256 colours hold antialiased text and a theme's accent colour: a third of the size of full RGB.
    spread(left, right).quantize(colors=256).save(args.out, optimize=True)
    print(f"Wrote {args.out} (pages {args.left} and {args.right or args.left + 1}, {args.dpi} dpi)")


if __name__ == "__main__":
    main()
