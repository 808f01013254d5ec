"""The conversion cache: a chapter's first pass is reused only where a conversion without the cache gives the same.

Each test compares a cached conversion with one without the cache (every chapter's fields, the book-wide state
and the warnings, in order) and names the chapters that were converted from their Markdown again.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from essaybook import log
from essaybook.commands.build import build
from essaybook.diagnostics import Diagnostic
from essaybook.layout.cache import FOLDER
from essaybook.pipeline import Pipeline

from conftest import BOOKS, EPOCH, copy_project

# Duplicate headings across chapters, a raw HTML tag that warns once, links across chapters, an image.
CHAPTERS = {
    "book.toml": '[book]\ntitle = "Cache Test"\nlang = "en"\n\n[theme]\ncode-style = "xcode"\n',
    "a.md": "# Alpha\n\nSee [the details](c.md#details) and <foo>raw</foo>.\n\n![A dot](images/dot.png)\n\n"
    "## Summary\n\nText.[^n]\n\n[^n]: A note.\n",
    "b.md": "# Beta\n\nMore <foo>raw</foo>, and [back](a.md#summary).\n\n## Summary\n\nText.\n",
    "c.md": '---\ntitle: "Gamma"\n---\n# Gamma\n\n## Details\n\nBody <bar>x</bar>.\n\n```python\nprint(1)\n```\n\n'
    "## Summary\n\nText.\n",
}


def write_book(root: Path) -> Path:
    for name, text in CHAPTERS.items():
        (root / "manuscript" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "manuscript" / name).write_text(text, encoding="utf-8")
    (root / "manuscript" / "images").mkdir()
    Image.new("RGB", (8, 8), "red").save(root / "manuscript" / "images" / "dot.png")
    Image.new("RGB", (8, 8), "blue").save(root / "manuscript" / "images" / "other.png")
    return root


def edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / "manuscript" / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def convert(root: Path, cache: bool | str) -> tuple[dict[str, Any], list[Diagnostic]]:
    """What converting the book made of it (as data), and the warnings it gave."""
    log.setup(verbosity=-1)
    book = Pipeline(root, cache=cache).convert().book
    result = {
        "chapters": [dataclasses.asdict(c) for c in book.chapters],
        "assets": [(path, dataclasses.asdict(asset)) for path, asset in book.assets.items()],
        "ids": book.ids,
        "images": (book.images, book.images_without_alt),
        "replaced_tags": book.replaced_tags,
    }
    return result, log.diagnostics_seen()


def same_as_uncached(root: Path, passes: list[str]) -> list[str]:
    """Convert with the cache, check it against a conversion without; return the chapters converted again."""
    passes.clear()
    cached = convert(root, True)
    converted = list(passes)
    assert cached == convert(root, False)
    return converted


def test_each_edit_converts_again_exactly_the_chapters_it_changes(tmp_path: Path, passes: list[str]) -> None:
    root = write_book(tmp_path)
    assert same_as_uncached(root, passes) == ["a.md", "b.md", "c.md"]
    assert same_as_uncached(root, passes) == []
    book, warnings = convert(root, True)
    assert [h["id"] for c in book["chapters"] for h in c["headings"] if h["text"] == "Summary"] == [
        "summary",
        "summary-2",
        "summary-3",
    ]
    assert [w.kind for w in warnings] == ["raw-html", "raw-html"]  # <foo> once, <bar> once
    # Text: that chapter alone.
    edit(root, "b.md", "More", "Much more")
    assert same_as_uncached(root, passes) == ["b.md"]
    # A heading that takes an id a later chapter had: that chapter's ids are numbered again; links into it
    # (a.md -> c.md#details) resolve anew without converting the chapter that links.
    edit(root, "a.md", "## Summary", "## Details\n\nEarlier.\n\n## Summary")
    assert same_as_uncached(root, passes) == ["a.md", "c.md"]
    assert convert(root, True)[0]["chapters"][2]["anchors"]["details"] == "details-2"
    # A link target removed: the link falls back to the id elsewhere in the book, then, with that gone too,
    # is reported broken, as without the cache.
    edit(root, "c.md", "## Details\n", "")
    assert same_as_uncached(root, passes) == ["c.md"]
    assert 'href="#details"' in convert(root, True)[0]["chapters"][0]["html"]
    edit(root, "a.md", "## Details\n\nEarlier.", "Earlier.")
    assert same_as_uncached(root, passes) == ["a.md"]
    assert "broken-anchor" in [w.kind for w in convert(root, True)[1]]
    # A raw HTML tag no longer met first in a.md: b.md now gives its one warning.
    edit(root, "a.md", "<foo>raw</foo>", "plain")
    assert same_as_uncached(root, passes) == ["a.md", "b.md"]
    # Reading order: the chapters whose Summary ids swap; c.md reads what it read before.
    edit(root, "book.toml", 'lang = "en"\n', 'lang = "en"\nchapters = ["b.md", "a.md", "c.md"]\n')
    assert same_as_uncached(root, passes) == ["b.md", "a.md"]


def test_settings_and_image_files(tmp_path: Path, passes: list[str]) -> None:
    root = write_book(tmp_path)
    same_as_uncached(root, passes)
    images = root / "manuscript" / "images"
    # An image's bytes: conversion does not read them (the layout cache does).
    Image.new("RGB", (8, 8), "green").save(images / "dot.png")
    assert same_as_uncached(root, passes) == []
    # The file an image path leads to: its chapter.
    (images / "dot.png").unlink()
    (images / "dot.png").symlink_to("other.png")
    assert same_as_uncached(root, passes) == ["a.md"]
    assert convert(root, True)[0]["assets"][0][1]["href"] == "images/images/other.png"
    # book.toml: the title is not read by conversion; the code style is, by every chapter.
    toml = root / "manuscript" / "book.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("Cache Test", "Renamed"), encoding="utf-8")
    assert same_as_uncached(root, passes) == []
    toml.write_text(toml.read_text(encoding="utf-8").replace('"xcode"', '"bw"'), encoding="utf-8")
    assert same_as_uncached(root, passes) == ["a.md", "b.md", "c.md"]


def test_a_custom_block_element_stays_registered_for_later_chapters(tmp_path: Path, passes: list[str]) -> None:
    # Python-Markdown keeps <Listing> block-level once a chapter registered it; a later chapter's <Listing>
    # with a '>' in its caption is only recognised that way, so it depends on the chapters before it.
    listing = '<Listing caption="A {}">\n\n```rust\nfn main() {{}}\n```\n\n</Listing>\n'
    (tmp_path / "manuscript").mkdir()
    (tmp_path / "manuscript" / "book.toml").write_text('[book]\ntitle = "T"\n', encoding="utf-8")
    (tmp_path / "manuscript" / "1.md").write_text("# One\n\n" + listing.format("plain caption"), encoding="utf-8")
    (tmp_path / "manuscript" / "2.md").write_text("# Two\n\n" + listing.format("`Vec<T>`"), encoding="utf-8")
    same_as_uncached(tmp_path, passes)
    registered = convert(tmp_path, True)[0]["chapters"][1]["html"]
    # Still a <Listing> (so 2.md's raw HTML warning stays away), but inline: nothing registered.
    (tmp_path / "manuscript" / "1.md").write_text("# One\n\nAn inline <Listing>listing</Listing>.\n", encoding="utf-8")
    assert same_as_uncached(tmp_path, passes) == ["1.md", "2.md"]
    assert convert(tmp_path, True)[0]["chapters"][1]["html"] != registered


def test_features_book_and_unreadable_entries(tmp_path: Path, passes: list[str]) -> None:
    root = copy_project(BOOKS / "features", tmp_path)
    assert len(same_as_uncached(root, passes)) == 6
    entries = sorted((root / FOLDER / "convert").glob("*.json"))
    assert len(entries) == 6
    entries[0].write_text(entries[0].read_text(encoding="utf-8")[:-20], encoding="utf-8")  # cut short
    entries[1].write_text('{"tree": 3}', encoding="utf-8")  # not an entry
    assert len(same_as_uncached(root, passes)) == 2


def test_no_cache_neither_reads_nor_writes_and_check_only_reads(tmp_path: Path, passes: list[str]) -> None:
    root = write_book(tmp_path)
    reference = convert(root, False)
    assert convert(root, "read") == reference
    assert not (root / FOLDER).exists()
    assert convert(root, True) == reference
    entries = sorted((root / FOLDER / "convert").iterdir())
    stamps = [entry.stat().st_mtime_ns for entry in entries]
    passes.clear()
    assert convert(root, "read") == reference and passes == []
    # An entry that lies is read with the cache, never without it; neither run writes.
    for entry in entries:
        entry.write_text(entry.read_text(encoding="utf-8").replace("Text.", "Forged."), encoding="utf-8")
    stamps = [entry.stat().st_mtime_ns for entry in entries]
    assert convert(root, "read") != reference
    assert convert(root, False) == reference
    assert sorted((root / FOLDER / "convert").iterdir()) == entries
    assert [entry.stat().st_mtime_ns for entry in entries] == stamps


def test_a_rebuild_after_edits_is_byte_identical_to_an_uncached_build(tmp_path: Path) -> None:
    root = write_book(tmp_path)
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH

    def outputs(out: str, cache: bool) -> tuple[bytes, bytes, list[str]]:
        log.setup(verbosity=-1)
        result = build(root, root / out, cache=cache, jobs=1)
        assert result.pdf is not None and result.epub is not None
        return result.pdf.path.read_bytes(), result.epub.path.read_bytes(), log.warnings_seen()

    outputs("first", True)
    # A heading that takes a later chapter's own id (its EPUB file is named after it), and a link target removed.
    edit(root, "a.md", "## Summary", "## Gamma\n\nEarlier.\n\n## Summary")
    edit(root, "c.md", "## Details\n", "")
    cached = outputs("edited", True)
    assert cached == outputs("edited-cold", False)
    assert b"text/gamma-2.xhtml" in cached[1]
    assert any("no heading or anchor 'details'" in warning for warning in cached[2])


def test_a_long_book_converts_its_second_half_ahead_in_another_process(
    tmp_path: Path, passes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second half of the chapters is converted meanwhile in a forked process, into the cache; where
    what it read differs from the real book (an id the first half took, a raw tag it reported already), the
    chapter is converted again. The result is the same as converting every chapter one after the other."""
    from essaybook import convert as convert_module

    monkeypatch.setattr(convert_module.Ahead, "MIN_CHAPTERS", 2)
    monkeypatch.setattr(convert_module.Ahead, "MIN_BYTES", 0)
    root = write_book(tmp_path)
    for number in range(8):
        # The same heading in many chapters (ids numbered across the book, which the process guesses), and a
        # tag that warns once per book, met first in a.md and then in a chapter of the second half.
        heading = "## Summary" if number % 2 else f"## Part {number}"
        raw = "<foo>x</foo>" if number == 6 else "plain"
        (root / "manuscript" / f"d{number}.md").write_text(
            f"# Delta {number}\n\n{heading}\n\nText {raw} and [a link](a.md#summary).\n" + "Words. " * 400,
            encoding="utf-8",
        )
    cached = convert(root, True)
    converted = list(passes)
    assert cached == convert(root, False)
    # d4 to d7 came from the process, but d6, whose raw tag a.md reported already.
    assert converted == ["a.md", "b.md", "c.md", "d0.md", "d1.md", "d2.md", "d3.md", "d6.md"]
    assert same_as_uncached(root, passes) == []
