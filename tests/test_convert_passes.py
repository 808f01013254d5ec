"""The convert stage's passes one at a time, on tiny trees (no book is built), and the order they run in."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import pytest

from essaybook import log
from essaybook.convert import (
    cache,
    dialect,
    equations,
    fit,
    guards,
    ids,
    images,
    landmarks,
    links,
    notes,
    passes,
    sanitize,
    tables,
)
from essaybook.convert.context import Context
from essaybook.convert.parse import make_markdown, parse, serialize
from essaybook.errors import ManuscriptError
from essaybook.model import Book, Chapter


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b"")
    )


@pytest.fixture(autouse=True)
def quiet() -> None:
    log.setup(verbosity=-1)


def context(tmp_path: Path, markdown: str = "", rel: str = "ch.md", others: dict[str, str] | None = None) -> Context:
    """A one-chapter book (more with ``others``: file -> Markdown) in ``tmp_path``; the context of its first."""
    folder = tmp_path / "manuscript"
    chapters = []
    for index, (name, text) in enumerate({rel: markdown, **(others or {})}.items()):
        source = folder / name
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(text, encoding="utf-8")
        chapters.append(Chapter(source=source, rel=name, index=index, markdown=text, body_line=1))
    return Context(Book(root=tmp_path, chapters=chapters), chapters[0])


def kinds(ctx: Context) -> list[tuple[str, int | None]]:
    return [(w.kind, w.line) for w in ctx.warnings]


# The registries


def _documented(section: str) -> list[str]:
    """The pass names the table under ``section`` in :mod:`essaybook.convert.passes`' docstring lists."""
    doc = passes.__doc__ or ""
    block = doc[doc.index(section) :].split("\n\n")[1]
    return [re.match(r"\s+(\S+)", line).group(1) for line in block.splitlines()]  # type: ignore[union-attr]


def test_the_registries_run_in_the_order_the_docstring_lists() -> None:
    assert passes.SOURCE.names() == _documented("Source passes")
    assert passes.CHAPTER.names() == _documented("Chapter passes")
    assert passes.FINISH.names() == _documented("Finish passes")
    assert passes.CHAPTER.names()[:2] == ["chapter-id", "paragraphs"]
    assert passes.FINISH.names() == ["links", "cross-references", "content-model"]


def test_a_registry_orders_by_priority_then_by_registration() -> None:
    registry: passes.Registry[str] = passes.Registry()
    registry.register("late", "late", 5)
    registry.register("first", "first", 50)
    registry.register("tie-a", "tie-a", 10)
    registry.register("tie-b", "tie-b", 10)
    assert registry.names() == ["first", "tie-a", "tie-b", "late"]
    registry.register("replaced", "first", 1)
    assert list(registry) == ["tie-a", "tie-b", "late", "replaced"]
    registry.deregister("late")
    assert "late" not in registry and len(registry) == 3 and registry["tie-a"] == "tie-a"


# Source passes


def test_control_characters_are_removed_with_a_warning_at_their_line(tmp_path: Path) -> None:
    ctx = context(tmp_path, "# A\n\nBell\x07 here.\n")
    assert guards.control_characters(ctx.chapter.markdown, ctx) == "# A\n\nBell here.\n"
    assert kinds(ctx) == [("control-characters", 3)]


def test_absurd_nesting_is_refused_at_its_line(tmp_path: Path) -> None:
    deep = "Text.\n\n" + ">" * (guards.MAX_NESTING + 1) + " quote\n"
    ctx = context(tmp_path, deep)
    with pytest.raises(ManuscriptError) as raised:
        guards.nesting(deep, ctx)
    assert raised.value.line == 3
    assert guards.nesting("> > fine\n", ctx) == "> > fine\n"


def test_an_unclosed_comment_is_named_but_not_one_in_code(tmp_path: Path) -> None:
    ctx = context(tmp_path, "A <!-- closed --> b.\n\n```\n<!-- in code\n```\n\n`<!--` span\n\nC <!-- open\n")
    guards.comments(ctx.chapter.markdown, ctx)
    assert kinds(ctx) == [("unclosed-comment", 9)]


def test_long_data_uris_are_cut_and_directives_recorded(tmp_path: Path) -> None:
    source = "![x](data:image/png;base64," + "A" * 2000 + ")\n\n```\n{{#include a.rs}}\n```\n"
    ctx = context(tmp_path, source)
    cut = guards.data_uris(source, ctx)
    assert cut.startswith("![x](data:,)")
    assert guards.directives(cut, ctx) == cut
    assert ctx.record.directives == [("manuscript/ch.md", 4)]


# Chapter passes


def test_a_runaway_paragraph_is_refused(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    guards.paragraphs(parse("<p>short</p>"), ctx)
    with pytest.raises(ManuscriptError, match="too long to set"):
        guards.paragraphs(parse("<p>" + "word " * (guards.MAX_PARAGRAPH // 4) + "</p>"), ctx)


def test_sanitize_removes_scripts_and_replaces_unknown_elements(tmp_path: Path) -> None:
    markup = '<p>A<script>x()</script> b <foo bar="1">c</foo> <a href="javascript:go()">d</a></p>'
    ctx = context(tmp_path, markup)
    root = parse(markup)
    sanitize.clean(root, ctx)
    assert serialize(root) == '<p>A b <span data-bar="1" class="x-foo">c</span> <a>d</a></p>'
    assert [w.kind for w in ctx.warnings] == ["unsafe-html", "raw-html", "unsafe-html"]
    assert ctx.book.replaced_tags == {"foo"}


def test_sanitize_keeps_presentation_as_css_and_drops_bad_language_tags(tmp_path: Path) -> None:
    markup = '<p align="center" lang="en_US">a</p>\n<p lang="not a tag">b</p>'
    ctx = context(tmp_path, markup)
    root = parse(markup)
    sanitize.clean(root, ctx)
    assert serialize(root) == '<p lang="en_US" style="text-align: center">a</p>\n<p>b</p>'
    assert kinds(ctx) == [("lang", 2)]


def test_a_captioned_custom_element_becomes_a_figure(tmp_path: Path) -> None:
    markup = '<Listing caption="The `main` &amp; more"><pre><code>fn main() {}</code></pre></Listing>'
    ctx = context(tmp_path, markup)
    root = parse(markup)
    sanitize.clean(root, ctx)
    assert serialize(root) == (
        '<figure class="x-listing"><figcaption>The <code>main</code> &amp; more</figcaption>'
        "<pre><code>fn main() {}</code></pre></figure>"
    )


def test_an_unclosed_inline_tag_is_dropped(tmp_path: Path) -> None:
    ctx = context(tmp_path, "<em>never closed\n\n<p>para</p>\n")
    root = parse("<p><em>never closed</em></p><em><p>para</p></em>")
    sanitize.clean(root, ctx)
    assert serialize(root) == "<p><em>never closed</em></p><p>para</p>"
    assert kinds(ctx) == [("unclosed-html", 1)]


def test_ids_are_unique_in_the_book_and_headings_answer_to_web_slugs(tmp_path: Path) -> None:
    ctx = context(tmp_path, "## Where's `?`\n\n## Intro\n")
    ctx.book.ids.add("intro")
    root = parse("<h2>Where's <code>?</code></h2><h2>Intro</h2>")
    ids.chapter_id(root, ctx)
    ids.assign_ids(root, ctx)
    assert ctx.chapter.id == "ch"
    assert serialize(root) == '<h2 id="where-s">Where\'s <code>?</code></h2><h2 id="intro-2">Intro</h2>'
    assert ctx.chapter.anchors == {"where-s": "where-s", "wheres-": "where-s", "intro": "intro-2"}
    assert ctx.chapter.title == "Where's ?" and ctx.chapter.has_title_heading
    assert ctx.record.taken == {"ch": False, "where-s": False, "intro": True, "intro-2": False}


def test_a_chapter_that_opens_deep_is_lifted_and_a_jump_is_closed(tmp_path: Path) -> None:
    ctx = context(tmp_path, "### Deep\n\n###### Deeper\n")
    root = parse("<h3>Deep</h3><h6>Deeper</h6>")
    ids.assign_ids(root, ctx)
    assert [(h.level, h.text) for h in ctx.chapter.headings] == [(2, "Deep"), (3, "Deeper")]
    assert [w.kind for w in ctx.warnings] == ["heading-level", "heading-level"]


def test_notes_become_epub_notes_and_an_unreferenced_one_is_left_out(tmp_path: Path) -> None:
    md = make_markdown()
    source = "Text[^b] and[^a].\n\n[^a]: Note A.\n[^b]: Note B.\n[^c]: Never cited.\n"
    ctx = context(tmp_path, source)
    root = parse(md.convert(source))
    ids.assign_ids(root, ctx)
    notes.notes(root, ctx)
    refs = root.findall(".//a[@class='noteref']")
    assert [(a.get("href"), a.text) for a in refs] == [("#fn-b", "2"), ("#fn-a", "1")]
    asides = root.findall(".//aside")
    assert [a.get("id") for a in asides] == ["fn-a", "fn-b"]
    assert [a.findtext(".//span[@class='note-label']") for a in asides] == ["1. ", "2. "]
    assert kinds(ctx) == [("footnote-unreferenced", 5)]


def test_inline_notes_take_their_place_in_the_order_of_citation(tmp_path: Path) -> None:
    md = make_markdown()
    source = "First[^a], then inline^[Inline note.], then[^b].\n\n[^b]: Note B.\n[^a]: Note A.\n"
    ctx = context(tmp_path, source)
    root = parse(md.convert(source))
    ids.assign_ids(root, ctx)
    notes.notes(root, ctx)
    assert [a.text for a in root.iter("a") if a.get("class") == "noteref"] == ["1", "2", "3"]
    assert [" ".join(a.text_content().split()) for a in root.iter("aside")][1] == "2. Inline note. \u21a9"


def test_landmarks_that_share_a_role_are_labelled_apart(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    root = parse('<aside>One</aside><aside><h2>Tips</h2></aside><nav aria-label="X">a</nav><nav aria-label="X">b</nav>')
    landmarks.landmarks(root, ctx)
    assert [e.get("aria-label") for e in root] == [None, "Tips", "X", "Navigation 2"]


def test_an_empty_header_cell_becomes_a_data_cell(tmp_path: Path) -> None:
    root = parse('<table><tr><th scope="col"></th><th>B</th><th title="named"></th></tr></table>')
    tables.table_headers(root, context(tmp_path))
    assert [cell.tag for cell in root.iter("td", "th")] == ["td", "th", "th"]
    assert root.find(".//td").get("scope") is None


def test_images_are_registered_as_assets_by_their_bytes(tmp_path: Path) -> None:
    ctx = context(tmp_path, "![A](pic.png)\n\n![](photo.jpg)\n\n![C](http://example.com/c.png)\n")
    (tmp_path / "manuscript" / "pic.png").write_bytes(_png())
    (tmp_path / "manuscript" / "photo.jpg").write_bytes(_png())
    root = parse(
        '<p><img src="pic.png" alt="A"/></p><p><img src="photo.jpg"/></p>'
        '<p><img src="http://example.com/c.png" alt="C"/></p>'
    )
    images.images(root, ctx)
    assert [img.get("src") for img in root.iter("img")] == ["images/pic.png", "images/photo.jpg.png"]
    assert [w.kind for w in ctx.warnings] == ["image-alt", "image-type", "remote-image"]
    assert (ctx.book.images, ctx.book.images_without_alt) == (3, 1)
    assert (ctx.record.images, ctx.record.images_without_alt) == (3, 1)
    assert sorted(a.href for a in ctx.book.assets.values()) == ["images/photo.jpg.png", "images/pic.png"]
    assert ctx.record.cacheable


def test_a_missing_image_is_an_error(tmp_path: Path) -> None:
    ctx = context(tmp_path, "![A](gone.png)\n")
    with pytest.raises(ManuscriptError, match="not found"):
        images.images(parse('<p><img src="gone.png" alt="A"/></p>'), ctx)
    assert ctx.record.images == 1


def test_an_image_alone_in_its_paragraph_becomes_a_figure(tmp_path: Path) -> None:
    root = parse('<p><img src="a.png" alt="A" title="The caption"/></p><p>Text <img src="b.png" alt="B"/></p>')
    images.figures(root, context(tmp_path))
    assert serialize(root) == (
        '<figure><img src="a.png" alt="A"/><figcaption>The caption</figcaption></figure>'
        '<p>Text <img src="b.png" alt="B"/></p>'
    )


def test_pandoc_tree_gives_fenced_divs_their_element(tmp_path: Path) -> None:
    md = make_markdown()
    source = "::: note\nTake care.\n:::\n"
    root = parse(md.convert(source))
    dialect.pandoc_tree(root, context(tmp_path, source))
    assert root.find("aside") is not None


def test_math_is_drawn_and_unreadable_tex_named(tmp_path: Path) -> None:
    md = make_markdown()
    source = "Area $x^2$ and $\\frac{1$ here.\n"
    ctx = context(tmp_path, source)
    root = parse(md.convert(source))
    equations.render(root, ctx)
    assert root.find(".//{http://www.w3.org/1998/Math/MathML}math") is not None
    assert kinds(ctx) == [("math", 1)]


# Finish passes


def test_links_resolve_to_book_wide_ids_or_become_text(tmp_path: Path) -> None:
    ctx = context(tmp_path, "text", others={"two.md": "## Far\n"})
    two = ctx.book.chapters[1]
    two.id, two.anchors = "two", {"far": "far-2"}
    ctx.chapter.id = "ch"
    ctx.by_path = {c.source.resolve(): c for c in ctx.book.chapters}
    root = parse(
        '<p><a href="two.md#far">a</a> <a href="two.html">b</a> <a href="nowhere.md">c</a> '
        '<a href="ftp://x/y">d</a> <a href="https://example.com/a b">e</a> <a href="#gone">f</a></p>'
    )
    links.links(root, ctx)
    assert serialize(root) == (
        '<p><a href="#far-2">a</a> <a href="#two">b</a> <span>c</span> '
        '<span>d</span> <a href="https://example.com/a%20b">e</a> <a href="#ch">f</a></p>'
    )
    assert [w.kind for w in ctx.warnings] == ["broken-link", "link-scheme", "broken-anchor"]
    assert ctx.record.lookups[0] == (two.source.resolve(), "far", "far-2")


def test_the_content_model_is_mended_with_one_warning_per_kind(tmp_path: Path) -> None:
    ctx = context(tmp_path, "<ul><p>a</p></ul>\n<ul><p>b</p></ul>\n")
    root = parse("<ul><p>a</p></ul><ul><p>b</p></ul>")
    fit.content_model(root, ctx)
    assert all(child.tag == "li" for ul in root for child in ul)
    assert len(ctx.warnings) == 1 and ctx.warnings[0].more == 1 and ctx.warnings[0].hint == fit.CONTENT_MODEL_HINT


# The cache's record of a first pass


def test_a_first_pass_kept_as_json_replays_the_same(tmp_path: Path) -> None:
    ctx = context(tmp_path, "# Title\n\n<foo>x</foo>\n")
    root = parse("<h1>Title</h1><p><foo>x</foo></p>")
    for tree_pass in (ids.chapter_id, sanitize.clean, ids.assign_ids):
        tree_pass(root, ctx)
    entry = cache.entry_of(ctx, root)
    assert entry is not None
    fresh = context(tmp_path / "again", "# Title\n\n<foo>x</foo>\n")
    blocks: list[str] = []
    replayed = cache.replay(entry, fresh, blocks)
    assert replayed is not None and serialize(replayed) == serialize(root)
    assert (fresh.chapter.id, fresh.chapter.title, fresh.book.ids) == ("ch", "Title", {"ch", "title"})
    assert [w.kind for w in fresh.warnings] == ["raw-html"]
    # A book where an earlier chapter took the id already: the entry does not hold there.
    taken = context(tmp_path / "taken", "# Title\n")
    taken.book.ids.add("title")
    assert cache.replay(entry, taken, []) is None and taken.book.ids == {"title"}
