"""The book layout chapter by chapter: parallel, cached and assembled, indistinguishable from one document.

Each build here is of tests/books/features (a dozen layout units) in a folder of its own; the PDF checks
of test_pdf.py already run on the assembled PDF of the session's features build.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pikepdf
import pytest

from essaybook import log
from essaybook.commands.build import BuildResult, build
from essaybook.layout.cache import FOLDER

from conftest import BOOKS, EPOCH, copy_project


def _assert_same_pages(first: Path, second: Path, text: bool = False) -> None:
    """Both PDFs render pixel for pixel alike at 100 dpi (and, with ``text``, hold the same text per page)."""
    import pypdfium2
    from PIL import ImageChops

    one, other = pypdfium2.PdfDocument(str(first)), pypdfium2.PdfDocument(str(second))
    try:
        assert len(one) == len(other)
        for index in range(len(one)):
            a = one[index].render(scale=100 / 72, grayscale=True).to_pil()
            b = other[index].render(scale=100 / 72, grayscale=True).to_pil()
            assert ImageChops.difference(a, b).getbbox() is None, f"page {index + 1} differs"
            if text:
                assert one[index].get_textpage().get_text_range() == other[index].get_textpage().get_text_range()
    finally:
        one.close()
        other.close()


def _build(root: Path, out: str, **options: object) -> BuildResult:
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    log.setup(verbosity=-1)
    return build(root, root / out, **options)  # type: ignore[arg-type]


def _outputs(result: BuildResult) -> tuple[bytes, bytes]:
    assert result.pdf is not None and result.epub is not None
    return result.pdf.path.read_bytes(), result.epub.path.read_bytes()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    """The features book laid out in one process without the cache."""
    root = copy_project(BOOKS / "features", tmp_path_factory.mktemp("reference"))
    result = _build(root, "dist", jobs=1, cache=False)
    assert result.laid_out is not None and result.laid_out > 5  # the book layout, unit by unit
    assert not (root / FOLDER).exists()
    return _outputs(result)


@pytest.fixture(scope="module")
def cached(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The features book after one build with two workers and the cache."""
    root = copy_project(BOOKS / "features", tmp_path_factory.mktemp("cached"))
    _build(root, "dist", jobs=2)
    return root


def test_parallel_and_cached_builds_are_byte_identical(reference: tuple[bytes, bytes], cached: Path) -> None:
    first = (cached / "dist").iterdir()
    assert {p.suffix: p.read_bytes() for p in first} == {".pdf": reference[0], ".epub": reference[1]}
    again = _build(cached, "again", jobs=2)
    assert again.laid_out == 0  # everything came from the cache
    assert _outputs(again) == reference


def test_an_unchanged_epub_only_build_lays_nothing_out(cached: Path, reference: tuple[bytes, bytes]) -> None:
    result = _build(cached, "epub-only", pdf=False)
    assert result.laid_out == 0
    assert result.epub is not None and result.epub.path.read_bytes() == reference[1]


def _same_as_uncached(root: Path, name: str) -> BuildResult:
    """Rebuild ``root`` with the cache and check it against a build without it; return the cached build."""
    warm = _build(root, f"{name}-warm")
    cold = _build(root, f"{name}-cold", cache=False)
    assert _outputs(warm) == _outputs(cold)
    return warm


def test_each_kind_of_change_rebuilds_what_depends_on_it(tmp_path: Path) -> None:
    root = copy_project(BOOKS / "features", tmp_path)
    first = _build(root, "first")
    units = first.laid_out
    assert units is not None
    # A chapter: it is laid out again, and the printed contents when its page numbers move; not the rest.
    chapter = root / "manuscript" / "02-markdown.md"
    chapter.write_text(chapter.read_text(encoding="utf-8") + "\nOne more paragraph at the end.\n", encoding="utf-8")
    edited = _same_as_uncached(root, "chapter")
    assert edited.laid_out is not None and 1 <= edited.laid_out <= 3
    # A stylesheet every unit loads: all of them.
    with (root / "styles" / "book.css").open("a", encoding="utf-8") as css:
        css.write("\np { letter-spacing: 0.01em; }\n")
    restyled = _same_as_uncached(root, "style")
    assert restyled.laid_out is not None and restyled.laid_out >= units - 1
    # An image: the chapter that shows it.
    (root / "manuscript" / "part2" / "images" / "figure.png").write_bytes(_other_png())
    reimaged = _same_as_uncached(root, "image")
    assert reimaged.laid_out is not None and 1 <= reimaged.laid_out < units
    # book.toml: the title is printed on the title pages and in every running head.
    toml = root / "manuscript" / "book.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("A Book of Features", "Renamed"), encoding="utf-8")
    retitled = _same_as_uncached(root, "toml")
    assert retitled.laid_out is not None and retitled.laid_out < units  # the title pages, not the chapters


def _other_png() -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def test_damaged_or_unfinished_cache_entries_are_never_used(tmp_path: Path, reference: tuple[bytes, bytes]) -> None:
    root = copy_project(BOOKS / "features", tmp_path)
    _build(root, "first", jobs=1)
    units = sorted((root / FOLDER / "units").glob("*.pdf"))
    # A PDF whose bytes changed after its record was written, and one without its record (a build killed
    # between the two).
    units[0].write_bytes(units[0].read_bytes()[:-100])
    units[1].with_suffix(".json").unlink()
    result = _build(root, "second", jobs=1)
    assert result.laid_out is not None and result.laid_out >= 2
    assert _outputs(result) == reference


def test_a_build_killed_mid_layout_leaves_nothing_a_later_build_trusts(
    tmp_path: Path, reference: tuple[bytes, bytes]
) -> None:
    root = copy_project(BOOKS / "features", tmp_path)
    env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH)
    process = subprocess.Popen(
        [sys.executable, "-m", "essaybook", "build", str(root), "-q", "-j", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list((root / FOLDER / "units").glob("*.json")):
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the build and its workers, as a power cut would
    process.wait()
    assert not (root / "dist").exists() or not list((root / "dist").glob("*.pdf"))
    result = _build(root, "after", jobs=2)
    assert _outputs(result) == reference


def test_the_assembled_pdf_is_one_consistent_tagged_document(cached: Path) -> None:
    pdf_path = next((cached / "dist").glob("*.pdf"))
    with pikepdf.open(pdf_path) as pdf:
        assert pdf.check_pdf_syntax() == []
        pages = {page.obj.objgen: i for i, page in enumerate(pdf.pages)}
        tree = pdf.Root.StructTreeRoot
        assert str(pdf.Root.Lang) == "en"
        nums = list(tree.ParentTree.Nums)
        keys = [int(k) for k in nums[0::2]]
        assert keys == sorted(set(keys))
        assert int(tree.ParentTreeNextKey) > max(keys)
        # Every page with marked content names its own entry; every link its own, after the pages'.
        for index, page in enumerate(pdf.pages):
            if "/StructParents" in page.obj:
                assert int(page.obj.StructParents) == index
            for annotation in page.obj.get("/Annots", []):
                if "/StructParent" in annotation:
                    assert int(annotation.StructParent) >= len(pdf.pages)
        parents = [int(a.StructParent) for p in pdf.pages for a in p.obj.get("/Annots", []) if "/StructParent" in a]
        assert len(parents) == len(set(parents)) and set(parents) <= set(keys)
        # Structure elements point at pages of this document, under one Document element.
        (document,) = list(tree.K)
        assert document.S == "/Document" and len(document.K) > 10
        for element in document.K:
            if "/Pg" in element:
                assert element.Pg.objgen in pages
        # Links between chapters go to named destinations that exist.
        dests = list(pdf.Root.Names.Dests.Names)
        names = {str(n): d for n, d in zip(dests[0::2], dests[1::2], strict=True)}
        links = [a for p in pdf.pages for a in p.obj.get("/Annots", []) if "/Dest" in a]
        assert links, "the features book links between chapters and from its contents"
        for link in links:
            assert str(link.Dest) in names
            assert names[str(link.Dest)][0].objgen in pages
        uris = [str(a.A.URI) for p in pdf.pages for a in p.obj.get("/Annots", []) if "/A" in a]
        assert not [u for u in uris if u.startswith("essaybook-anchor:")]
        # Folios and running heads are artifacts, drawn from one form per page.
        for page in pdf.pages:
            content = b"".join(
                page.obj.Contents.read_bytes()
                if isinstance(page.obj.Contents, pikepdf.Stream)
                else [c.read_bytes() for c in page.obj.Contents]
            )
            assert b"/Artifact BMC q /EssaybookFurniture" in content


def test_a_pdf_ua_book_keeps_its_claim_language_and_title(tmp_path: Path) -> None:
    root = copy_project(BOOKS / "features", tmp_path)
    toml = root / "manuscript" / "book.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + 'variant = "pdf/ua-1"\n', encoding="utf-8")
    result = _build(root, "dist", epub=False)
    assert result.pdf is not None and result.laid_out
    with pikepdf.open(result.pdf.path) as pdf:
        xmp = pdf.Root.Metadata.read_bytes().decode()
        assert 'pdfuaid:part="1"' in xmp and "<dc:language>" in xmp
        assert str(pdf.Root.Lang) == "en" and pdf.Root.MarkInfo.Marked
        assert bool(pdf.Root.ViewerPreferences.DisplayDocTitle)
        assert str(pdf.docinfo["/Title"]).startswith("A Book of Features")
        assert all(page.obj.Tabs == "/S" for page in pdf.pages)


def test_a_theme_without_chapter_breaks_is_laid_out_as_one_document(tmp_path: Path) -> None:
    root = copy_project(BOOKS / "features", tmp_path)
    (root / "styles" / "zz.css").write_text(".layout-book .chapter { break-before: auto !important; }\n")
    result = _build(root, "dist")
    assert result.laid_out is None  # the one-document layout
    assert result.pdf is not None and result.pdf.pages > 5


def test_jobs_and_no_cache_are_command_line_options(tmp_path: Path) -> None:
    root = copy_project(BOOKS / "features", tmp_path)
    env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH)
    run = subprocess.run(
        [sys.executable, "-m", "essaybook", "build", str(root), "-q", "-j", "1", "--no-cache", "--no-epub"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert not (root / FOLDER).exists()
    bad = subprocess.run(
        [sys.executable, "-m", "essaybook", "build", str(root), "-j", "0"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2 and "-j" in bad.stderr


def test_the_assembled_pages_look_exactly_like_the_one_document_layout(
    cached: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    from essaybook import pipeline
    from essaybook.layout.book import Unsplittable

    def unsplittable(*args: object, **kwargs: object) -> None:
        raise Unsplittable("forced by the test")

    monkeypatch.setattr(pipeline, "lay_out_book", unsplittable)
    root = copy_project(BOOKS / "features", tmp_path)
    whole = _build(root, "dist", epub=False, cache=False)
    assert whole.laid_out is None and whole.pdf is not None
    _assert_same_pages(whole.pdf.path, next((cached / "dist").glob("*.pdf")), text=True)


def test_furniture_laid_out_in_parts_matches_the_whole(
    cached: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long book's folios and running heads are laid out in parts side by side (here: parts of 4 pages)."""

    from essaybook.layout import book

    monkeypatch.setattr(book, "CHUNK_PAGES", 4)
    drawn: list[object] = []
    original = book._furniture_pages

    def spy(chunks: list[object], *args: object) -> object:
        found = original(chunks, *args)  # type: ignore[arg-type]
        drawn.append((len(chunks), found is not None))
        return found

    monkeypatch.setattr(book, "_furniture_pages", spy)
    root = copy_project(BOOKS / "features", tmp_path)
    parts = _build(root, "dist", epub=False, cache=False, jobs=2)
    assert parts.pdf is not None
    assert drawn and drawn[-1][0] >= 2 and drawn[-1][1], drawn  # in parts, none of which paginated differently
    _assert_same_pages(parts.pdf.path, next((cached / "dist").glob("*.pdf")))


def test_two_builds_at_once_share_the_cache_safely(tmp_path: Path, reference: tuple[bytes, bytes]) -> None:
    root = copy_project(BOOKS / "features", tmp_path)
    env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH)
    builds = [
        subprocess.Popen(
            [sys.executable, "-m", "essaybook", "build", str(root), "-q", "-j", "1", "-o", str(root / name)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("one", "two")
    ]
    for process in builds:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    for name in ("one", "two"):
        assert {p.suffix: p.read_bytes() for p in (root / name).iterdir()} == {
            ".pdf": reference[0],
            ".epub": reference[1],
        }
    after = _build(root, "three")
    assert after.laid_out == 0 and _outputs(after) == reference


def test_a_layout_failure_names_the_chapter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from essaybook.errors import RenderError
    from essaybook.layout import worker

    original = worker.run

    def failing(job: worker.Job) -> worker.Result:
        if 'id="markdown-all-of-it"' in job.html:
            raise AssertionError("WeasyPrint lost its way")
        return original(job)

    monkeypatch.setattr(worker, "run", failing)
    root = copy_project(BOOKS / "features", tmp_path)
    with pytest.raises(RenderError) as caught:
        _build(root, "dist", jobs=1, cache=False)
    assert caught.value.file == "manuscript/02-markdown.md"
    assert "WeasyPrint lost its way" in str(caught.value) and "--debug" in str(caught.value)
    assert not (root / "dist").exists()


def test_a_build_leaves_no_temporary_files(tmp_path: Path) -> None:
    """WeasyPrint copies the theme's fonts into a temporary folder for every chapter; none may stay."""
    root = copy_project(BOOKS / "features", tmp_path / "book")
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH, TMPDIR=str(temp))
    for options in (["-j", "2"], ["-j", "1", "--no-cache"]):
        run = subprocess.run(
            [sys.executable, "-m", "essaybook", "build", str(root), "-q", *options],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        assert list(temp.iterdir()) == []


def test_units_hand_their_stylesheets_to_the_layout_in_document_order() -> None:
    """Each unit's stylesheets are parsed once per layout process (layout/styles.py): the unit's HTML loses
    exactly those WeasyPrint would apply, in order, and keeps the ones it ignores and the text around them."""
    import xml.etree.ElementTree as ET

    import tinyhtml5

    from essaybook.layout import units

    page = (
        '<html><head><link rel="stylesheet" href="a.css">'
        '<style media="screen">.screen {}</style><style media="print, screen">.print {}</style>'
        '<link rel="alternate stylesheet" href="alt.css"><link rel="Stylesheet" href="b.css">'
        '<style type="text/less">.less {}</style><link rel="stylesheet" href="">'
        "</head><body><p>x</p><style>.body {}</style> tail</body></html>"
    )
    root = tinyhtml5.parse(page)
    document = units._document(root, {})
    assert document.sheets == (
        ("link", "a.css"),
        ("style", ".print {}"),
        ("link", "b.css"),
        ("style", ".body {}"),
    )
    kept = ET.tostring(tinyhtml5.parse(document.html), encoding="unicode")
    for ignored in (".screen {}", "alt.css", ".less {}"):
        assert ignored in kept
    for taken in ("a.css", ".print {}", "b.css", ".body {}"):
        assert taken not in kept
    assert "<html:p>x</html:p> tail" in kept


def test_units_read_their_stylesheets_without_margin_boxes() -> None:
    """A chapter's pages are laid out without furniture (the skeleton's is drawn over them), so its sheets are
    read without margin boxes, which WeasyPrint would style on every page; the rest of each sheet is kept."""
    import tinycss2

    from essaybook.layout.units import without_margin_boxes

    css = (
        "/* a comment */ p { orphans: 2 }\n"
        "@page :left { margin-left: 1cm; @top-left { content: string(title) } size: A5; @footnote { float: bottom } }\n"
        "@media print { @page chapter { @bottom-center { content: counter(page) } margin: 2cm } h1 { color: red } }\n"
        '@font-face { font-family: X; src: url("x.otf") }'
    )
    bare = without_margin_boxes(css)
    assert "@top-left" not in bare and "@bottom-center" not in bare
    assert bare.startswith("/* a comment */ p { orphans: 2 }\n") and bare.endswith(
        '@font-face { font-family: X; src: url("x.otf") }'
    )
    rules = tinycss2.parse_stylesheet(bare, skip_comments=True, skip_whitespace=True)
    page, media = rules[1], rules[2]
    items = tinycss2.parse_blocks_contents(page.content, skip_comments=True, skip_whitespace=True)
    assert [(i.type, getattr(i, "lower_name", None) or i.lower_at_keyword) for i in items] == [
        ("declaration", "margin-left"),
        ("declaration", "size"),
        ("at-rule", "footnote"),
    ]
    inner = tinycss2.parse_rule_list(media.content, skip_comments=True, skip_whitespace=True)
    assert tinycss2.serialize(inner[0].prelude).strip() == "chapter" and "margin: 2cm" in tinycss2.serialize(
        inner[0].content
    )
    assert "h1 { color: red }" in bare
    assert without_margin_boxes("p { color: red }") == "p { color: red }"
    # A sheet it cannot rewrite faithfully stays as written: WeasyPrint reports its errors as always.
    for broken in ('"unterminated @page { @top-left { content: 1 } }', "@page { margin: 1cm; ]: x; @top-left {} }"):
        assert without_margin_boxes(broken) == broken


def test_a_sheet_the_units_cannot_rewrite_is_served_as_it_is(tmp_path: Path) -> None:
    """A stylesheet in another encoding (imported by a project sheet, so never checked as UTF-8) reaches a
    chapter's layout unchanged instead of failing to load; a UTF-8 one loses its margin boxes."""
    from essaybook.layout.worker import _Fetcher

    latin = tmp_path / "latin.css"
    latin.write_bytes("h1 { color: red } /* caf\u00e9 */ @page { @top-center { content: 'x' } }".encode("latin-1"))
    utf8 = tmp_path / "utf8.css"
    utf8.write_text("@page { margin: 1cm; @top-center { content: 'x' } }", encoding="utf-8")
    fetcher = _Fetcher([tmp_path], {}, numbered=True, bare=True)
    assert fetcher.fetch(latin.as_uri()).read() == latin.read_bytes()
    served = fetcher.fetch(utf8.as_uri()).read().decode("utf-8")
    assert "margin: 1cm" in served and "@top-center" not in served


def test_shared_fonts_are_subset_with_harfbuzz_or_else_fonttools(monkeypatch: pytest.MonkeyPatch) -> None:
    """The assembled book's one program per font keeps the glyph ids the units address, whichever library
    cuts it (HarfBuzz where it loads, fontTools where not), and draws the glyphs asked for."""
    import io

    from fontTools.ttLib import TTFont

    from essaybook.layout import fontshare, hbsubset

    original = next(Path(fontshare.__file__).parents[1].glob("themes/*/fonts/*.otf"))
    glyphs = {5, 40, 41, 300}
    with TTFont(original) as font:
        order = font.getGlyphOrder()
        wanted = {order[g] for g in glyphs}
    cuts = {"harfbuzz": fontshare._subset(original, glyphs, None)}
    assert hbsubset._libraries() is not None, "libharfbuzz-subset is installed here (see .ci/run)"
    monkeypatch.setattr(hbsubset, "_libraries", lambda: None)
    cuts["fonttools"] = fontshare._subset(original, glyphs, None)
    for library, data in cuts.items():
        with TTFont(io.BytesIO(data)) as cut:
            assert cut["maxp"].numGlyphs == 301, library  # ids kept: the last one used is 300
            charstrings = cut["CFF "].cff.topDictIndex[0].CharStrings
            kept = {name for name in cut.getGlyphOrder() if len(charstrings[name].bytecode or b"") > 1}
            assert wanted <= kept and len(kept) <= len(wanted) + 1, library  # .notdef drawn too
            assert len(data) < original.stat().st_size / 4, library
