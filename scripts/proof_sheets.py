"""Write the proof sheets in ``docs/``: the front matter and a code-heavy spread, in both themes.

    python scripts/proof_sheets.py            # build a small book in each theme, rasterise, write docs/*.png
    python scripts/proof_sheets.py --check    # only check that the four sheets are there and well-formed

The book is written by this script into a temporary folder (so the sheets never depend on a test book that
changes for other reasons) and built with ``SOURCE_DATE_EPOCH`` fixed; ``essaybook proof`` rasterises the
pages (PDFium), and Pillow puts them side by side as the open book shows them and quantises the result to
keep each file small. The same sources give the same PNG bytes.

- ``proof-front-matter-<theme>.png``: every front-matter page, half-title to contents, in spreads.
- ``proof-code-spread-<theme>.png``: the verso and recto where a listing crosses the page, with wrapped
  long lines (hanging indent and continuation mark), inline code and a printed URL.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
THEMES = ("classic", "modern")
EPOCH = "1767225600"  # 2026-01-01, so the sheets never change with the day they are made
MAX_BYTES = 600_000
"""The most a sheet may weigh (the README shows two of them)."""
FRONT_DPI, SPREAD_DPI = 64, 110
"""Front matter is for seeing the pages' shape; the spread is for reading the code."""

GROUND = (226, 225, 221)
EDGE = (150, 150, 150)
INK = (90, 90, 90)
BORDER, GAP, LABEL = 24, 28, 26

BOOK_TOML = """\
[book]
title = "The Well-Made Page"
subtitle = "Setting code, links and notes in a printed book"
author = "Ada Example"
lang = "en"
identifier = "urn:isbn:9780000000002"
date = 2026-01-15
publisher = "Harbour Press"
rights = "© 2026 Ada Example. All rights reserved."

[pdf]
page-size = "A5"
links = "footnote"

[theme]
name = "{theme}"
"""

DEDICATION = """\
---
role: dedication
---

For the compositors, who read every line twice.
"""

EPIGRAPH = """\
---
role: epigraph
---

> Typography exists to honour content.
>
> — Robert Bringhurst, *The Elements of Typographic Style*
"""

OPENING = """\
# Before the code

A book about programs is read away from the machine, so every listing has to survive the trip to paper. This
short chapter opens the book; the next one is all code.
"""

LISTING = "\n".join(
    [
        "```python",
        '"""Count the words of every chapter of a manuscript and report the longest ones first."""',
        "",
        "from __future__ import annotations",
        "",
        "import re",
        "from collections import Counter",
        "from pathlib import Path",
        "",
        'WORD = re.compile(r"[\\w\'\u2019-]+")',
        "",
        "",
        "def words(text: str) -> int:",
        '    """The number of words in ``text``, counting hyphenated compounds and contractions once each."""',
        "    return len(WORD.findall(text))",
        "",
        "",
        "def chapters(manuscript: Path) -> dict[str, int]:",
        "    counts: dict[str, int] = {}",
        '    for path in sorted(manuscript.glob("*.md")):',
        '        text = path.read_text(encoding="utf-8")',
        "        # Front matter between --- fences is settings, not prose, so it is left out of the count here.",
        '        if text.startswith("---"):',
        '            text = text.split("---", 2)[-1]',
        "        counts[path.stem] = words(text)",
        "    return counts",
        "",
        "",
        "def report(counts: dict[str, int], *, longest_first: bool = True, show_share_of_the_whole_book: bool = True) -> str:",  # noqa: E501 (a long line, to show it wrap)
        "    total = sum(counts.values()) or 1",
        "    lines = []",
        "    order = sorted(counts.items(), key=lambda item: item[1], reverse=longest_first)",
        "    for stem, count in order:",
        '        share = f" ({100 * count / total:.1f} per cent of the book)" if show_share_of_the_whole_book else ""',
        '        lines.append(f"{stem:<24} {count:>7,}{share}")',
        '    lines.append(f"{"total":<24} {total:>7,}")',
        '    return "\\n".join(lines)',
        "",
        "",
        "def longest_sentence(text: str) -> str:",
        '    """The longest sentence of ``text``: a run of words ending in a full stop, a question or an exclamation."""',  # noqa: E501 (a long line, to show it wrap)
        '    sentences = re.split(r"(?<=[.?!])\\s+", text)',
        '    return max(sentences, key=words, default="")',
        "",
        "",
        "def reading_time(counts: dict[str, int], words_per_minute: int = 238) -> dict[str, str]:",
        '    """How long each chapter takes to read at ``words_per_minute`` (238: the adult average for non-fiction)."""',  # noqa: E501 (a long line, to show it wrap)
        "    times = {}",
        "    for stem, count in counts.items():",
        "        minutes = round(count / words_per_minute)",
        '        times[stem] = f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"',
        "    return times",
        "",
        "",
        "def main() -> None:",
        "    import argparse",
        "",
        "    parser = argparse.ArgumentParser(description=__doc__)",
        '    parser.add_argument("manuscript", type=Path, nargs="?", default=Path("manuscript"))',
        '    parser.add_argument("--shortest-first", action="store_true", help="list the shortest chapters first")',
        "    args = parser.parse_args()",
        "    counts = chapters(args.manuscript)",
        "    print(report(counts, longest_first=not args.shortest_first))",
        "    for stem, time in reading_time(counts).items():",
        '        print(f"{stem:<24} {time:>10}")',
        "",
        "",
        'if __name__ == "__main__":',
        "    main()",
        "```",
    ]
)

CODE_CHAPTER = f"""\
# Counting words

The script below counts the words of each chapter. Run it from the project folder with `python count.py`;
it reads `manuscript/*.md` and prints one line per chapter. Its regular expression is described in the
Python documentation at <https://docs.python.org/3/library/re.html>, and `Counter` is not needed after all.

Long lines are not cut: a line too long for the page wraps under its own indentation, a little further in,
and a small hook marks the continuation, so that nobody types the wrapped part as a new statement. No hyphen
is ever added inside code or a URL such as `https://example.org/a/rather/long/path/to/a/page.html`.

A listing longer than what is left of the page runs on to the next one. It is broken between lines, never
within one, and the grey ground of the block is carried over, so that the reader sees at a glance that the
code goes on. A heading is never left alone at the foot of a page above a listing that starts overleaf.

The script is written for reading as much as for running: each function does one thing, its name says what,
and the one comment explains a choice the code cannot explain by itself. Type hints stand in for a paragraph
of prose on what each function takes and gives back.

{LISTING}

The listing crossed a page: it is never cut within a line, and its grey ground continues on the next page.
Printed with `links = "footnote"`, the [Python documentation](https://docs.python.org/3/) gets its address
in a note at the foot of the page.
"""

CLOSING = """\
# After the code

The last chapter, so that the one before it ends on a verso like any other.
"""


# --- Building and rasterising --------------------------------------------------------------------------------


def write_book(root: Path, theme: str) -> None:
    """The proof book's sources, set in ``theme``."""
    manuscript = root / "manuscript"
    manuscript.mkdir(parents=True)
    files = {
        "book.toml": BOOK_TOML.format(theme=theme),
        "00-dedication.md": DEDICATION,
        "00-epigraph.md": EPIGRAPH,
        "01-before.md": OPENING,
        "02-counting.md": CODE_CHAPTER,
        "03-after.md": CLOSING,
    }
    for name, text in files.items():
        (manuscript / name).write_text(text, encoding="utf-8")


def build_pdf(root: Path) -> Path:
    """Build the book's PDF (no EPUB) with the date fixed; a warning is an error here."""
    from essaybook import log
    from essaybook.commands.build import build

    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    log.setup(verbosity=-1)
    result = build(root, epub=False)
    if log.warnings_seen():
        sys.exit(f"the proof book built with warnings: {log.warnings_seen()}")
    assert result.pdf is not None
    return result.pdf.path


def labels_and_text(pdf: Path) -> tuple[list[str], list[str]]:
    """Each page's printed label and its text."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        labels = [document.get_page_label(i) or str(i + 1) for i in range(len(document))]
        texts = []
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
    finally:
        document.close()
    return labels, texts


def rasterise(root: Path, pdf: Path, labels: list[str], dpi: int) -> list[Image.Image]:
    """The pages with ``labels`` as images, through ``essaybook proof --pages``."""
    from essaybook.commands.proof import proof

    folder = root / f"pages-{dpi}"
    folder.mkdir()
    result = proof(root, pdf=pdf, pages=",".join(labels), output=folder, dpi=dpi)
    images = []
    for path in result.files:
        with Image.open(path) as image:
            images.append(image.convert("RGB"))
    return images


# --- Composing -------------------------------------------------------------------------------------------------


def _font(size: int) -> ImageFont.FreeTypeFont:
    from essaybook.themes import BASE_THEME, themes_dir

    return ImageFont.truetype(str(themes_dir() / BASE_THEME / "fonts" / "LinLibertine_R.otf"), size)


def compose(
    spreads: list[tuple[Image.Image | None, Image.Image | None]], captions: list[str], per_row: int
) -> Image.Image:
    """Spreads (verso, recto; None where the book has no page) on a grey ground, ``per_row`` to a row, each
    page edged with a thin line and each spread captioned under it."""
    page_w = max(p.width for spread in spreads for p in spread if p is not None)
    page_h = max(p.height for spread in spreads for p in spread if p is not None)
    rows = (len(spreads) + per_row - 1) // per_row
    columns = min(per_row, len(spreads))
    width = 2 * BORDER + columns * 2 * page_w + (columns - 1) * GAP
    height = 2 * BORDER + rows * (page_h + LABEL) + (rows - 1) * GAP
    sheet = Image.new("RGB", (width, height), GROUND)
    draw = ImageDraw.Draw(sheet)
    font = _font(17)
    for number, ((verso, recto), caption) in enumerate(zip(spreads, captions, strict=True)):
        row, column = divmod(number, per_row)
        left = BORDER + column * (2 * page_w + GAP)
        top = BORDER + row * (page_h + LABEL + GAP)
        for place, page in enumerate((verso, recto)):
            if page is None:
                continue
            x = left + place * page_w
            sheet.paste(page, (x, top))
            draw.rectangle((x - 1, top - 1, x + page.width, top + page.height), outline=EDGE)
        centre = left + page_w + (0 if verso and recto else page_w / 2 if recto else -page_w / 2)
        draw.text((centre, top + page_h + LABEL - 6), caption, INK, font, anchor="ms")
    return sheet


def save(image: Image.Image, target: Path) -> int:
    """Write ``image`` as an optimised palette PNG; its size in bytes."""
    # 128 colours hold antialiased type and a theme's grey or colour code: a third of full RGB's bytes.
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        target, format="PNG", optimize=True
    )
    return target.stat().st_size


def front_matter_sheet(root: Path, pdf: Path) -> Image.Image:
    """Half-title to the contents (every roman-numbered page), in spreads as the book opens."""
    labels, texts = labels_and_text(pdf)
    front = [i for i, label in enumerate(labels) if not label.isdigit()]
    contents = max(i for i in front if "Contents" in texts[i])
    front = [i for i in front if i <= contents]
    pages = rasterise(root, pdf, [labels[i] for i in front], FRONT_DPI)
    spreads: list[tuple[Image.Image | None, Image.Image | None]] = [(None, pages[0])]
    captions = [labels[front[0]]]
    for at in range(1, len(pages), 2):
        recto = pages[at + 1] if at + 1 < len(pages) else None
        spreads.append((pages[at], recto))
        captions.append(f"{labels[front[at]]}\u2013{labels[front[at + 1]]}" if recto else labels[front[at]])
    return compose(spreads, captions, per_row=3)


def code_spread_sheet(root: Path, pdf: Path) -> Image.Image:
    """The verso and recto across which the word-count listing ends."""
    labels, texts = labels_and_text(pdf)
    start = next(i for i, text in enumerate(texts) if "Count the words of every chapter" in text)
    end = next(i for i, text in enumerate(texts) if 'print(f"{stem:<24} {time:>10}")' in text)
    verso = end - 1  # the listing ends on a recto, having crossed from the verso facing it
    if not (start <= verso and labels[verso].isdigit() and int(labels[verso]) % 2 == 0):
        sys.exit(f"the listing runs over pages {labels[start]}-{labels[end]}, not from a verso to its recto")
    pages = rasterise(root, pdf, [labels[verso], labels[verso + 1]], SPREAD_DPI)
    return compose([(pages[0], pages[1])], [f"pages {labels[verso]}\u2013{labels[verso + 1]}"], per_row=1)


# --- The command -----------------------------------------------------------------------------------------------


def sheet_names() -> list[str]:
    return [f"proof-{kind}-{theme}.png" for kind in ("front-matter", "code-spread") for theme in THEMES]


def check(docs: Path = DOCS) -> list[str]:
    """Problems with the sheets in ``docs``: missing, not a PNG, too heavy, or not the expected shape."""
    problems = []
    for name in sheet_names():
        path = docs / name
        if not path.is_file():
            problems.append(f"{name}: missing (run scripts/proof_sheets.py)")
            continue
        if path.stat().st_size > MAX_BYTES:
            problems.append(f"{name}: {path.stat().st_size:,} bytes, more than {MAX_BYTES:,}")
        try:
            with Image.open(path) as image:
                kind, (width, height) = image.format, image.size
        except OSError as exc:
            problems.append(f"{name}: not an image ({exc})")
            continue
        if kind != "PNG":
            problems.append(f"{name}: a {kind} file, not a PNG")
        # Both sheets are wider than tall: spreads of portrait pages, three to a row or one open book.
        elif not height < width < 4 * height:
            problems.append(f"{name}: {width} x {height} px is not the shape of a row of spreads")
        elif "code-spread" in name and width < 1200:
            problems.append(f"{name}: {width} px wide is too small to read the code")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check the sheets already in docs/")
    parser.add_argument("--out", type=Path, default=DOCS, help="the folder to write to (default: docs/)")
    args = parser.parse_args()
    if args.check:
        problems = check(args.out)
        for problem in problems:
            print(problem, file=sys.stderr)
        sys.exit(1 if problems else 0)
    for theme in THEMES:
        with tempfile.TemporaryDirectory(prefix=f"proof-{theme}-") as folder:
            root = Path(folder)
            write_book(root, theme)
            pdf = build_pdf(root)
            for kind, sheet in (
                ("front-matter", front_matter_sheet(root, pdf)),
                ("code-spread", code_spread_sheet(root, pdf)),
            ):
                target = args.out / f"proof-{kind}-{theme}.png"
                size = save(sheet, target)
                print(
                    f"Wrote {target.relative_to(REPO) if target.is_relative_to(REPO) else target} "
                    f"({sheet.width} x {sheet.height} px, {size:,} bytes)"
                )
    problems = check(args.out)
    for problem in problems:
        print(problem, file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
