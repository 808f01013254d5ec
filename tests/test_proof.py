"""`essaybook proof`: the contact sheet and chosen pages, read back as images."""

from __future__ import annotations

import itertools
import os
import shutil
import traceback
from pathlib import Path

import pikepdf
import pytest
from click.testing import CliRunner, Result
from PIL import Image

from essaybook.cli import main
from essaybook.commands.proof import (
    MAX_HEIGHT,
    MIN_THUMB,
    SHEET_WIDTH,
    describe_labels,
    page_file_names,
    plan_sheet,
    select_pages,
    spread_units,
)
from essaybook.errors import EXIT_USER, EssaybookError

from conftest import Built, copy_project

A5 = (148 / 25.4 * 72, 210 / 25.4 * 72)  # points
FEATURES_LABELS = ["Cover", "Inside cover", *"i ii iii iv v vi vii viii ix x".split(), *"1234567"]
BACKGROUND = (243, 242, 239)


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["proof", *args], prog_name="essaybook")


def ok(result: Result) -> Result:
    detail = f"exit code {result.exit_code}\n{result.output}"
    if result.exc_info is not None and not isinstance(result.exception, SystemExit):
        detail += "".join(traceback.format_exception(*result.exc_info))
    assert result.exit_code == 0, detail
    return result


def user_error(result: Result, *fragments: str) -> str:
    """Exit 1 with one ``Error:`` line holding every fragment, and no traceback."""
    assert result.exit_code == EXIT_USER, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], f"{fragment!r} not in {errors[0]!r}"
    return errors[0]


def page_runs(image: Image.Image, y: int) -> list[tuple[int, int]]:
    """Horizontal stretches of row ``y`` that are not sheet background: one per page, or per spread."""
    pixels = image.convert("RGB").load()
    assert pixels is not None
    runs: list[tuple[int, int]] = []
    start = None
    for x in range(image.width + 1):
        inside = x < image.width and pixels[x, y] != BACKGROUND
        if inside and start is None:
            start = x
        elif not inside and start is not None:
            runs.append((start, x))
            start = None
    return runs


# --- the sheet ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_sheet(sample: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("proof") / "sample.png"
    result = ok(run(str(sample.root), "-o", str(target)))
    assert f"Wrote {target}" in result.stderr
    return target


@pytest.fixture(scope="module")
def features_sheet(features: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("proof") / "features.png"
    ok(run(str(features.root), "-o", str(target)))
    return target


def _pages(pdf: Path) -> int:
    with pikepdf.open(pdf) as document:
        return len(document.pages)


def test_essay_sheet_shows_each_page_in_one_row(sample: Built, sample_sheet: Path) -> None:
    pages = _pages(sample.pdf)
    assert 2 <= pages <= 4  # the sample essay: a few A5 pages, all in one row
    with Image.open(sample_sheet) as image:
        assert image.format == "PNG"
        plan = plan_sheet([A5] * pages, spreads=False)
        assert image.size == (plan.width, plan.height) and plan.width <= SHEET_WIDTH
        assert 600 < image.height < 900
        assert (plan.columns, plan.rows, len(plan.tiles)) == (pages, 1, pages)
        # The essay layout shows single pages: separate pictures across the middle of the row.
        left, top, _, bottom = plan.tiles[0].box
        runs = page_runs(image, (top + bottom) // 2)
        assert len(runs) == pages
        assert all(350 < end - start < 450 for start, end in runs)
        # Each page has a grey border, so a white page shows on a white background.
        border = image.convert("RGB").getpixel((left - 1, (top + bottom) // 2))
        assert border == (140, 140, 140)


def test_book_sheet_shows_spreads_as_the_book_opens(features: Built, features_sheet: Path) -> None:
    with Image.open(features_sheet) as opened:
        image = opened.copy()
    plan = plan_sheet([(432.0, 648.0)] * 19, spreads=True)
    assert image.size == (plan.width, plan.height)
    assert len(plan.tiles) == 19 and plan.shown == 19
    boxes = {tile.page: tile.box for tile in plan.tiles}
    # The cover stands alone on the right of the spine, then versos and rectos pair up and touch.
    cover_width = boxes[0][2] - boxes[0][0]
    assert abs(boxes[0][0] - 40 - cover_width) <= 1, "an empty verso's width lies left of the cover"
    assert boxes[1][2] == boxes[2][0]
    assert boxes[17][2] == boxes[18][0]
    first_row = (boxes[0][1] + boxes[0][3]) // 2
    runs = page_runs(image, first_row)
    assert len(runs) == plan.columns == 4  # four spreads in the first row, each one stretch of paper
    cover, spread = runs[0][1] - runs[0][0], runs[1][1] - runs[1][0]
    assert 1.8 < spread / cover < 2.2, "a spread is two pages wide, the cover one"
    assert runs[0][0] > 40 + cover // 2, "the cover sits on the right-hand side of its spread"
    # Every page has its label under it: dark pixels in the strip below the picture.
    grey = image.convert("L")
    for left, _, right, bottom in boxes.values():
        strip = grey.crop((left, bottom + 8, right, bottom + 34))
        assert strip.getextrema()[0] < 140


def test_no_spreads_and_spreads_can_be_chosen(features: Built, sample: Built, tmp_path: Path) -> None:
    ok(run(str(features.root), "--no-spreads", "-o", str(tmp_path / "single.png")))
    plan = plan_sheet([(432.0, 648.0)] * 19, spreads=False)
    with Image.open(tmp_path / "single.png") as image:
        assert image.size == (plan.width, plan.height)
        box = plan.tiles[0].box
        assert len(page_runs(image, (box[1] + box[3]) // 2)) == plan.columns

    ok(run(str(sample.root), "--spreads", "-o", str(tmp_path / "spreads.png")))
    pages = _pages(sample.pdf)
    plan = plan_sheet([A5] * pages, spreads=True)
    with Image.open(tmp_path / "spreads.png") as image:
        assert image.size == (plan.width, plan.height)
        box = plan.tiles[0].box
        assert len(page_runs(image, (box[1] + box[3]) // 2)) == 1 + pages // 2  # [ 1] [2 3] [4 ]


def test_the_same_pdf_gives_the_same_png(sample: Built, sample_sheet: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.png"
    ok(run(str(sample.root), "-o", str(again), "-q"))
    assert again.read_bytes() == sample_sheet.read_bytes()


def test_output_folder_takes_the_default_name(features: Built, tmp_path: Path) -> None:
    ok(run("--pdf", str(features.pdf), "-o", str(tmp_path)))
    assert (tmp_path / "a-book-of-features-proof.png").is_file()


# --- chosen pages ------------------------------------------------------------------------------------------


def test_pages_at_full_size_by_label(features: Built, tmp_path: Path) -> None:
    result = ok(run(str(features.root), "--pages", "cover, III,1-2", "--dpi", "100", "-o", str(tmp_path)))
    names = ["cover", "iii", "1", "2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"a-book-of-features-page-{n}.png" for n in names)
    for name in names:
        with Image.open(tmp_path / f"a-book-of-features-page-{name}.png") as image:
            assert abs(image.width - 600) <= 1 and abs(image.height - 900) <= 1  # 6 x 9 in at 100 dpi
            assert round(image.info["dpi"][0]) == 100
    assert "(100 dpi)" in result.stderr


def test_pages_default_to_150_dpi_beside_the_pdf(sample: Built, tmp_path: Path) -> None:
    pdf = tmp_path / "essay.pdf"
    shutil.copyfile(sample.pdf, pdf)
    ok(run("--pdf", str(pdf), "--pages", "2"))
    with Image.open(tmp_path / "essay-page-2.png") as image:
        assert abs(image.width - 148 / 25.4 * 150) <= 1 and abs(image.height - 210 / 25.4 * 150) <= 1


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("1-3,7", [12, 13, 14, 18]),
        ("iii", [4]),
        ("Cover", [0]),
        ("inside cover", [1]),
        ("x-2", [11, 12, 13]),
        ("2,1,2", [13, 12]),
        ("I-ii, 1", [2, 3, 12]),
    ],
)
def test_page_specs_follow_printed_labels(spec: str, expected: list[int]) -> None:
    assert select_pages(spec, FEATURES_LABELS, Path("book.pdf")) == expected


def test_labels_with_hyphens_are_found() -> None:
    labels = ["A-1", "A-2", "A-3", "B-1"]
    assert select_pages("A-2", labels, Path("x.pdf")) == [1]
    assert select_pages("A-2-B-1", labels, Path("x.pdf")) == [1, 2, 3]


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("500", "no page labelled '500'"),
        ("1-500", "no page labelled '500'"),
        ("7-3", "runs backwards"),
        ("1,,2", "an empty item"),
        ("xiii", "no page labelled 'xiii'"),
    ],
)
def test_bad_page_specs_name_the_file(features: Built, spec: str, fragment: str) -> None:
    message = user_error(run(str(features.root), "--pages", spec), fragment, "a-book-of-features.pdf")
    assert "its pages are Cover, Inside cover, i\u2013xii, 1\u20137" in message


def test_file_names_are_safe_and_unique() -> None:
    assert page_file_names(["Inside cover", "1", "1", ""], [0, 1, 2, 3], "b") == [
        "b-page-inside-cover.png",
        "b-page-1.png",
        "b-page-1-3.png",
        "b-page-4.png",
    ]


# --- which PDF ---------------------------------------------------------------------------------------------


def test_unreadable_or_missing_pdf(tmp_path: Path) -> None:
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.7\nnot really\n")
    user_error(run("--pdf", str(bad)), "broken.pdf", "not a readable PDF")
    user_error(run("--pdf", str(tmp_path / "gone.pdf")), "gone.pdf", "no such PDF file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.pdf"]


def test_pdf_without_page_labels_uses_page_numbers(sample: Built, tmp_path: Path) -> None:
    with pikepdf.open(sample.pdf) as pdf:
        del pdf.Root.PageLabels
        pdf.save(tmp_path / "plain.pdf")
    ok(run("--pdf", str(tmp_path / "plain.pdf"), "--pages", "2-3"))
    assert (tmp_path / "plain-page-2.png").is_file() and (tmp_path / "plain-page-3.png").is_file()


def test_builds_the_pdf_first_when_missing_or_stale(sample: Built, tmp_path: Path) -> None:
    root = copy_project(sample.root, tmp_path / "book")
    pdf = root / "dist" / sample.pdf.name
    sheet = pdf.with_name(pdf.stem + "-proof.png")

    result = ok(run(str(root)))
    assert "does not exist yet; building the PDF first" in result.stderr
    assert pdf.is_file() and sheet.is_file()
    assert not pdf.with_suffix(".epub").exists(), "proof builds the PDF only"

    built = pdf.stat().st_mtime_ns
    result = ok(run(str(root)))
    assert "building" not in result.stderr and pdf.stat().st_mtime_ns == built

    chapter = root / "manuscript" / "essay.md"
    os.utime(chapter, ns=(built, built + 10**9))  # the writer saves a chapter after the last build
    result = ok(run(str(root)))
    assert "is older than" in result.stderr and "essay.md; building the PDF first" in result.stderr
    assert pdf.stat().st_mtime_ns > built


def test_a_broken_project_is_one_message(tmp_path: Path) -> None:
    user_error(run(str(tmp_path)), "no manuscript/ folder")


# --- the layout --------------------------------------------------------------------------------------------


def test_spreads_open_like_the_book() -> None:
    assert spread_units(5, spreads=True) == [(None, 0), (1, 2), (3, 4)]
    assert spread_units(4, spreads=True) == [(None, 0), (1, 2), (3, None)]
    assert spread_units(4, spreads=True, rtl=True) == [(0, None), (2, 1), (None, 3)]
    assert spread_units(3, spreads=False) == [(0,), (1,), (2,)]


def test_right_to_left_books_run_from_the_right() -> None:
    plan = plan_sheet([A5] * 3, spreads=True, rtl=True)
    boxes = {tile.page: tile.box for tile in plan.tiles}
    assert boxes[0][0] > boxes[1][0] > boxes[2][0]
    assert boxes[2][2] == boxes[1][0]  # page 2 on the left of the spine, page 1 on its right


@pytest.mark.parametrize("spreads", [True, False])
def test_a_400_page_book_fits_one_usable_sheet(spreads: bool) -> None:
    plan = plan_sheet([A5] * 400, spreads=spreads)
    assert plan.shown == 400 and len(plan.tiles) == 400
    assert plan.width == SHEET_WIDTH and plan.height <= MAX_HEIGHT
    widths = {tile.box[2] - tile.box[0] for tile in plan.tiles}
    assert min(widths) >= MIN_THUMB
    boxes = [tile.box for tile in plan.tiles]
    for a, b in itertools.combinations(boxes, 2):
        assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], f"pages overlap: {a} {b}"
    assert all(box[0] > 0 and box[2] < plan.width and box[3] < plan.height for box in boxes)


def test_a_huge_book_is_cut_short_within_the_height_limit() -> None:
    plan = plan_sheet([A5] * 5000, spreads=True)
    assert plan.height <= MAX_HEIGHT
    assert 500 < plan.shown < 5000
    assert sorted(tile.page for tile in plan.tiles) == list(range(plan.shown))


def test_a_short_pdf_gets_a_narrower_sheet() -> None:
    plan = plan_sheet([A5], spreads=False)
    assert plan.width < SHEET_WIDTH and plan.tiles[0].box[2] - plan.tiles[0].box[0] <= 420


def test_label_summary_joins_numbered_runs() -> None:
    assert describe_labels(FEATURES_LABELS) == "Cover, Inside cover, i\u2013x, 1\u20137"
    assert describe_labels(["IV", "V", "A", "9", "10"]) == "IV\u2013V, A, 9\u201310"


def test_help_explains_how_pages_map() -> None:
    result = ok(CliRunner().invoke(main, ["proof", "--help"]))
    assert "'1-3,7'" in result.output and "'Cover'" in result.output and "--dpi" in result.output


def test_errors_are_essaybook_errors() -> None:
    with pytest.raises(EssaybookError, match="no page labelled 'Foreword'"):
        select_pages("Foreword", FEATURES_LABELS, Path("book.pdf"))


def test_sheet_and_page_options_do_not_mix(sample: Built) -> None:
    result = run(str(sample.root), "--dpi", "300")
    assert result.exit_code == 2 and "give --pages too" in result.output
    result = run(str(sample.root), "--pages", "1", "--no-spreads")
    assert result.exit_code == 2 and "--pages writes single pages" in result.output


# --- a title in another script -------------------------------------------------------------------------------

ARABIC_TITLE = "كتاب الاختبار"


def _titled_pdf(path: Path, title: str) -> Path:
    with pikepdf.new() as document:
        document.add_blank_page(page_size=A5)
        document.docinfo["/Title"] = title
        document.save(path)
    return path


def _ink_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    """The bounding box of what is darker than the sheet's background."""
    return image.convert("L").point(lambda v: 255 if v < 200 else 0).getbbox()


def test_an_arabic_title_is_drawn_in_a_font_that_has_it(tmp_path: Path) -> None:
    """Issue 12: the sheet's title line used the theme's Latin font, so an Arabic title came out as boxes."""
    from fontTools.ttLib import TTFont
    from PIL import ImageDraw, ImageFont, features

    from essaybook.commands.proof import title_font_file

    font_file = title_font_file(ARABIC_TITLE)
    if font_file is None:
        pytest.skip("no font on this machine has Arabic")
    with TTFont(font_file, lazy=True) as font:
        assert {ord(ch) for ch in ARABIC_TITLE if not ch.isspace()} <= set(font.getBestCmap())
    sheet = tmp_path / "sheet.png"
    ok(run("--pdf", str(_titled_pdf(tmp_path / "arabic.pdf", ARABIC_TITLE)), "-o", str(sheet)))
    with Image.open(sheet) as image:
        band = image.convert("RGB").crop((0, 0, image.width, 85))  # the title line, above the details
    drawn = _ink_box(band)
    assert drawn is not None
    # Right-aligned, as the book's pages run: the title ends at the sheet's right margin (40 px).
    assert abs(band.width - 40 - drawn[2]) <= 3 and drawn[0] > band.width / 2

    def draw(font: ImageFont.FreeTypeFont) -> Image.Image:
        picture = Image.new("RGB", band.size, BACKGROUND)
        ImageDraw.Draw(picture).text((band.width - 40, 40), ARABIC_TITLE, (34, 34, 34), font, anchor="ra")
        return picture

    tofu = draw(ImageFont.truetype(str(title_font_file("Latin")), 36))  # the theme's serif: .notdef boxes
    assert band.tobytes() != tofu.tobytes()
    if features.check("raqm"):  # shaped: the letters join, so the word is as narrow as the shaped word
        shaped = draw(ImageFont.truetype(str(font_file), 36, layout_engine=ImageFont.Layout.RAQM))
        assert band.tobytes() == shaped.tobytes()
