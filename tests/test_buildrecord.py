"""The build record: a build whose inputs have not changed writes nothing and says so; any change builds."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from essaybook import log
from essaybook.commands.build import BuildResult, build
from essaybook.commands.init import init_project

from conftest import EPOCH


def _build(root: Path, **options: object) -> tuple[BuildResult, list[str]]:
    log.setup(verbosity=-1)
    result = build(root, **options)  # type: ignore[arg-type]
    return result, log.warnings_seen()


def _state(root: Path) -> dict[str, tuple[int, bytes]]:
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted((root / "dist").iterdir())}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("record") / "book"
    init_project(root)
    (root / "art").mkdir()
    shutil.copy(next((root / "manuscript" / "images").iterdir()), root / "art" / "picture.png")
    chapter = root / "manuscript" / "01-welcome.md"
    # An image outside manuscript/ (read from the project root) and one without alt text (a warning to repeat).
    chapter.write_text(chapter.read_text(encoding="utf-8") + "\n![](../art/picture.png)\n", encoding="utf-8")
    return root


def test_an_unchanged_book_writes_nothing_and_repeats_its_warnings(project: Path) -> None:
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    first, warnings = _build(project)
    assert not first.unchanged and first.laid_out and warnings
    before = _state(project)
    again, repeated = _build(project)
    assert again.unchanged and again.laid_out == 0
    assert repeated == warnings and again.warnings == first.warnings
    assert (again.pages, again.pdf and again.pdf.pages, again.epub and again.epub.files) == (
        first.pages,
        first.pdf and first.pdf.pages,
        first.epub and first.epub.files,
    )
    assert _state(project) == before  # not even rewritten
    assert again.summary().startswith("Up to date: ")


def _edit_chapter(root: Path) -> None:
    path = root / "manuscript" / "02-images-and-links.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nOne more sentence.\n", encoding="utf-8")


def _same_bytes_new_time(root: Path) -> None:
    path = root / "manuscript" / "02-images-and-links.md"
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 5_000_000_000))


def _edit_style(root: Path) -> None:
    with (root / "styles" / "custom.css").open("a", encoding="utf-8") as stream:
        stream.write("\np { word-spacing: 0.01em; }\n")


def _new_file(root: Path) -> None:
    (root / "manuscript" / "03-later.md").write_text("# Later\n\nA new chapter.\n", encoding="utf-8")


def _image_outside_the_trees(root: Path) -> None:
    path = root / "art" / "picture.png"
    path.write_bytes(path.read_bytes() + b"\0")  # trailing bytes after IEND: the same picture, other bytes


def _output_changed(root: Path) -> None:
    pdf = next((root / "dist").glob("*.pdf"))
    pdf.write_bytes(pdf.read_bytes() + b"\n")


def _output_removed(root: Path) -> None:
    next((root / "dist").glob("*.epub")).unlink()


def _new_date(root: Path) -> None:
    os.environ["SOURCE_DATE_EPOCH"] = str(int(EPOCH) + 86400)


def _damaged_record(root: Path) -> None:
    for record in (root / ".essaybook-cache" / "build").glob("*.json"):
        record.write_text(record.read_text(encoding="utf-8")[:-20], encoding="utf-8")


def _forged_record(root: Path) -> None:
    """A record that claims other outputs: the outputs' digests do not match, so it is not trusted."""
    for record in (root / ".essaybook-cache" / "build").glob("*.json"):
        data = json.loads(record.read_text(encoding="utf-8"))
        data["outputs"] = {path: "0" * 64 for path in data["outputs"]}
        record.write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize(
    "change",
    [
        _edit_chapter,
        _same_bytes_new_time,
        _edit_style,
        _new_file,
        _image_outside_the_trees,
        _output_changed,
        _output_removed,
        _new_date,
        _damaged_record,
        _forged_record,
    ],
)
def test_every_kind_of_change_builds_again(project: Path, change: Callable[[Path], None]) -> None:
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    _build(project)  # whatever the test before left, then a record of it
    assert _build(project)[0].unchanged
    change(project)
    result, _ = _build(project)
    assert not result.unchanged, change.__name__
    assert _build(project)[0].unchanged  # and the new build's record holds
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH


def test_other_options_keep_records_of_their_own_and_no_cache_ignores_them(project: Path, tmp_path: Path) -> None:
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    _build(project)
    epub_only, _ = _build(project, pdf=False)
    assert not epub_only.unchanged and epub_only.laid_out == 0  # its own first build, from the layout cache
    assert _build(project, pdf=False)[0].unchanged and _build(project)[0].unchanged
    assert not _build(project, out_dir=tmp_path / "elsewhere")[0].unchanged
    assert not _build(project, cache=False)[0].unchanged
    uncached = {p.name: p.read_bytes() for p in (tmp_path / "elsewhere").iterdir()}
    assert {name: data for name, (_, data) in _state(project).items()} == uncached  # the record served the same


def test_a_link_out_of_the_project_is_never_read_and_the_record_is_not_trusted(tmp_path: Path) -> None:
    from essaybook.buildrecord import BuildRecord

    root = tmp_path / "book"
    (root / "manuscript").mkdir(parents=True)
    outside = tmp_path / "secret.txt"
    outside.write_text("not the book's", encoding="utf-8")
    (root / "manuscript" / "notes.txt").symlink_to(outside)
    record = BuildRecord(root, {"pdf": True})
    entry = next(e for e in record.snapshot.trees if e[0] == "manuscript/notes.txt")
    assert entry[1] == "?" and entry[6] is None  # not stat-ed through, not hashed
    assert not record.snapshot.trusted and record.up_to_date() is None
