"""Stage 2 on small inputs: what Python-Markdown plus essaybook's fixes make of a chapter."""

from __future__ import annotations

import re
from pathlib import Path

from essaybook import log
from essaybook.pipeline import load_project


def convert(tmp_path: Path, markdown: str, toml: str = '[book]\ntitle = "T"\nlang = "en"\n') -> tuple[str, list[str]]:
    (tmp_path / "manuscript").mkdir(exist_ok=True)
    (tmp_path / "manuscript" / "book.toml").write_text(toml, encoding="utf-8")
    (tmp_path / "manuscript" / "a.md").write_text(markdown, encoding="utf-8")
    log.setup(verbosity=-1)
    project = load_project(tmp_path)
    return project.book.chapters[0].html, log.warnings_seen()


def test_mdbook_include_directives_are_named_once(tmp_path: Path) -> None:
    html, warnings = convert(
        tmp_path, "# A\n\n```rust\n{{#include a.rs}}\n```\n\n```rust\n{{#rustdoc_include b.rs}}\n```\n"
    )
    assert "include" in html and "rustdoc_include" in html  # printed as written, highlighted as code
    assert warnings == [
        "manuscript/a.md:4 and 1 more place: mdBook's {{#include}} directives are not expanded; those lines are "
        "printed as written (paste the included files in instead)"
    ]


def test_github_style_slugs_reach_headings(tmp_path: Path) -> None:
    html, warnings = convert(tmp_path, "# A\n\n## Where's the `?` Operator\n\n[see](#wheres-the--operator)\n")
    assert '<a href="#where-s-the-operator">see</a>' in html
    assert warnings == []


def test_control_characters_are_removed_with_the_line(tmp_path: Path) -> None:
    html, warnings = convert(tmp_path, "# A\n\nBell\x07 and\x0b tab.\n")
    assert "Bell and tab." in html
    assert warnings == ["manuscript/a.md:3: control characters removed (XHTML cannot hold them)"]


def test_scripts_and_embeds_are_removed_and_named(tmp_path: Path) -> None:
    html, warnings = convert(
        tmp_path, '# A\n\n<script>alert(1)</script>\n\n<p onclick="x()">Kept <a href="javascript:x()">link</a></p>\n'
    )
    assert "script" not in html and "onclick" not in html and "javascript" not in html
    assert "Kept" in html
    assert any("<script> removed" in w for w in warnings)
    assert any("script link removed" in w for w in warnings)


def test_skipped_heading_levels_are_named(tmp_path: Path) -> None:
    html, warnings = convert(tmp_path, "# A\n\n## B\n\n#### Deep\n\nText.\n")
    assert warnings == ["manuscript/a.md:5: heading level jumps from 2 to 4 at 'Deep'; set as level 3"]
    assert '<h3 id="deep">Deep</h3>' in html


def test_a_chapter_does_not_open_below_level_two(tmp_path: Path) -> None:
    html, warnings = convert(tmp_path, "### Section file\n\nText.\n\n### Next\n")
    assert html.startswith('<h2 id="section-file">Section file</h2>')
    assert '<h3 id="next">' not in html and '<h2 id="next">' in html
    assert warnings == [
        "manuscript/a.md:1: the chapter opens with a level-3 heading; its headings are set 1 level higher"
    ]


def test_unreferenced_footnotes_are_named_and_left_out(tmp_path: Path) -> None:
    # Found by tests/test_properties.py: Python-Markdown prints every defined note, and a note nobody cites
    # had a backlink to a reference that does not exist (EPUBCheck RSC-012).
    html, warnings = convert(
        tmp_path,
        "# A\n\nCited[^used].\n\n[^used]: Kept, and it cites another.[^chain]\n\n"
        "[^chain]: Cited from a note.\n\n[^orphan]: Nobody cites me.[^self]\n\n[^self]: Only the orphan cites me.\n",
    )
    assert "Kept" in html and "Cited from a note" in html
    assert "Nobody cites me" not in html and "Only the orphan" not in html
    assert warnings == [
        "manuscript/a.md:9: footnote [^orphan] is never referenced; it is left out",
        "manuscript/a.md:11: footnote [^self] is never referenced; it is left out",
    ]
    assert '<a href="#fn-used" class="noteref"' in html or 'href="#fn-used"' in html
    assert ">1</a>" in html and ">2</a>" in html and ">3</a>" not in html


def test_a_note_whose_id_was_renamed_for_the_book_is_still_found(tmp_path: Path) -> None:
    # Found by tests/test_properties.py: chapter b's fn-a becomes fn-a-2 (chapter a has one); its reference
    # still said #fn-a at that point, so the note was taken for unreferenced and left out (EPUBCheck RSC-012).
    (tmp_path / "manuscript").mkdir()
    (tmp_path / "manuscript" / "book.toml").write_text('[book]\ntitle = "T"\nlang = "en"\n', encoding="utf-8")
    (tmp_path / "manuscript" / "a.md").write_text("# A\n\nText.[^a]\n\n[^a]: First.\n", encoding="utf-8")
    (tmp_path / "manuscript" / "b.md").write_text("# B\n\nMore.[^a]\n\n[^a]: Second.\n", encoding="utf-8")
    log.setup(verbosity=-1)
    project = load_project(tmp_path)
    second = project.book.chapters[1].html
    assert "Second." in second and 'id="fn-a-2"' in second and 'href="#fn-a-2"' in second
    assert 'href="#fnref-a-2"' in second  # the way back leads to this chapter's reference too
    assert 'role="doc-noteref" epub:type="noteref">1</a>' in second
    assert log.warnings_seen() == []


def test_a_backlink_to_a_removed_citation_is_dropped(tmp_path: Path) -> None:
    # Found by tests/test_properties.py: a note cited twice has two backlinks (fnref-a, fnref2-a); when the
    # second citation sat in a note nobody cites (left out), its backlink led nowhere (EPUBCheck RSC-012).
    html, _ = convert(
        tmp_path,
        "# A\n\nCited.[^a] Again.[^c]\n\n[^a]: The note.\n\n[^b]: Uncited, citing a.[^a]\n\n"
        "[^c]: Cited, citing a.[^a]\n",
    )
    ids = set(re.findall(r'id="([^"]+)"', html))
    backlinks = re.findall(r'class="backlink" href="#([^"]+)"|href="#([^"]+)"[^>]*class="backlink"', html)
    targets = [a or b for a, b in backlinks]
    assert sorted(targets) == ["fnref-a", "fnref-c", "fnref3-a"] and all(t in ids for t in targets), (targets, ids)
