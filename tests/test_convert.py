"""Stage 2 on small inputs: what Python-Markdown plus essaybook's fixes make of a chapter."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from essaybook import log
from essaybook.errors import ManuscriptError
from essaybook.pipeline import load_project

from conftest import BOOKS


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


# ------------------------------------------------------------------------------ Pandoc's Markdown (issue 14)


def test_inline_notes_are_numbered_in_reference_order_with_the_others(tmp_path: Path) -> None:
    html, warnings = convert(
        tmp_path,
        "# A\n\nOne[^a] and an inline note^[Inline, with [brackets] and `]`.] then\ntwo^[Outer ^[inner] note.]"
        " and a note written later.[^b]\n\n```\n^[in code] stays\n```\n\n[^b]: Second defined.\n\n[^a]: First.\n",
    )
    assert warnings == []
    assert "^[in code] stays" in html  # code is code
    refs = re.findall(r'class="noteref" href="#([^"]+)"[^>]*>(\d+)<', html)
    # Pandoc's order: as the text cites them; a note cited only inside another note comes after them.
    assert refs == [
        ("fn-a", "1"),
        ("fn-pandoc-note-1", "2"),
        ("fn-pandoc-note-2", "3"),
        ("fn-b", "4"),
        ("fn-pandoc-note-3", "5"),
    ]
    notes = re.findall(r'<aside id="([^"]+)" class="footnote"', html)
    assert notes == ["fn-a", "fn-pandoc-note-1", "fn-pandoc-note-2", "fn-b", "fn-pandoc-note-3"]
    assert "Inline, with [brackets] and <code>]</code>." in html


def test_fenced_divs_nest_close_with_any_fence_and_keep_attributes(tmp_path: Path) -> None:
    html, warnings = convert(
        tmp_path,
        '# A\n\n:::: {.callout-note #outer title="Read me" lang=de data-x=1 dir=sideways}\nOuter *text*.\n\n'
        "::: {.columns}\nInner.\n:::\n::::::\n\n::: {.mystery}\nPlain.\n:::\n\n:::\n\nAfter.\n",
    )
    aside = re.search(r"<aside ([^>]*)>\n?<p class=\"callout-title\">Read me</p>", html)
    assert aside is not None
    assert sorted(aside.group(1).split()) == [
        'callout-note"',
        'class="callout',
        'data-dir="sideways"',  # no direction HTML knows
        'data-x="1"',
        'id="outer"',
        'lang="de"',
        'role="note"',
    ]
    assert '<div class="columns">' in html and '<div class="mystery">' in html
    assert "<p>:::</p>" in html  # a fence that closes nothing is text, and named
    assert warnings == [
        "manuscript/a.md:15: a fence of colons (:::) closes no fenced div; it is printed as written "
        "(open the div with ::: and a class, e.g. '::: note', or take the line out)"
    ]


def test_fenced_divs_too_deep_are_refused_with_their_line(tmp_path: Path) -> None:
    deep = "# A\n\n" + "".join(f"::: level{n}\n" for n in range(60)) + "x\n" + ":::\n" * 60
    try:
        convert(tmp_path, deep)
    except ManuscriptError as exc:
        assert str(exc).startswith("manuscript/a.md:53: fenced divs (:::) nested deeper than 50 levels")
    else:
        raise AssertionError("60 nested divs were converted")


def test_bracketed_spans(tmp_path: Path) -> None:
    html, warnings = convert(
        tmp_path,
        "# A\n\n[Caps]{.smallcaps} [under]{.underline} [*marked*]{.mark} [fr]{lang=fr} [x]{.a #b} "
        "[bad]{lang=fr_CA} [no attributes]{} [link](http://example.org){.cls}\n",
    )
    assert '<span class="smallcaps">Caps</span>' in html and "<u>under</u>" in html
    assert "<mark><em>marked</em></mark>" in html and '<span lang="fr">fr</span>' in html
    # A language tag written the POSIX way is mended by the content model, with a warning.
    assert '<span class="a" id="b">x</span>' in html and '<span lang="fr-CA">bad</span>' in html
    assert "[no attributes]{}" in html
    assert '<a class="cls" href="http://example.org">link</a>' in html
    assert len(warnings) == 1 and warnings[0].startswith("manuscript/a.md:3: ") and "fr_CA" in warnings[0]


def test_image_sizes_become_css(tmp_path: Path) -> None:
    (tmp_path / "manuscript").mkdir()
    shutil.copy(BOOKS / "features" / "manuscript" / "images" / "figure.png", tmp_path / "manuscript" / "f.png")
    html, warnings = convert(
        tmp_path,
        "# A\n\n![a](f.png){width=50%}\n\n![b](f.png){height=3cm width=120}\n\n![c](f.png){width=huge}\n\n"
        '<img src="f.png" alt="d" width="2in">\n',
    )
    assert '<img alt="a" src="images/f.png" style="width: 50%"/>' in html
    assert '<img alt="b" src="images/f.png" width="120" style="height: 3cm"/>' in html
    assert '<img alt="c" src="images/f.png"/>' in html
    assert '<img src="images/f.png" alt="d" style="width: 2in"/>' in html
    assert warnings == [
        "manuscript/a.md:7: image 'f.png': width='huge' is no length (such as 50%, 8cm or 300px); it is left out"
    ]


def test_page_breaks_alone_on_a_line(tmp_path: Path) -> None:
    html, warnings = convert(
        tmp_path,
        "\\newpage\n\n# A\n\nOne.\n\\newpage\nTwo.\n\n\\pagebreak\n\n\\newpage\n\nThree.\n\n    \\newpage\n\n"
        "Not alone: \\newpage here.\n\n\\pagebreak\n",
    )
    # At the start, after another break and at the end, a break would only make an empty page.
    assert html.count('<div class="page-break"/>') == 2
    assert "<p>One.</p>\n<div" in html and "<code>\\newpage\n</code>" in html
    assert warnings == [
        "manuscript/a.md:17: LaTeX commands outside math and code, such as \\newpage, are printed as written "
        "(write the text in Markdown; only \\newpage and \\pagebreak alone on a line are understood)"
    ]


def test_other_dialects_are_named_once_per_kind_with_a_count(tmp_path: Path) -> None:
    html, warnings = convert(
        tmp_path,
        "# A\n\n{% include note.html %} and {{ page.title }}\n\n{% raw %}\n\n{{< figure src=x >}}\n\n"
        "\\textbf{Bold} and \\emph{it}\n\n\\LaTeX\n\n{{#tabs}} and {{#include a.rs}}\n\n> ::: note\n> q\n> :::\n\n"
        "Not these: `\\code` and $\\alpha + \\beta$, C:\\Users\\me, ..\\dir and \\*stars\\*.\n\n"
        "```\n{% code %} \\textbf{x}\n```\n",
    )
    assert "{% include note.html %}" in html  # printed as written
    assert [w.split(": ", 1)[0] for w in warnings] == [
        "manuscript/a.md:3 and 1 more place",
        "manuscript/a.md:7",
        "manuscript/a.md:13",
        "manuscript/a.md:9 and 1 more place",
        "manuscript/a.md:15 and 1 more place",
        "manuscript/a.md:13",
    ]
    joined = "\n".join(warnings)
    for fragment in (
        "Liquid/Jekyll tags such as {% include note.html %} are not understood",
        "Hugo shortcodes such as {{< figure src=x >}}",
        "directives such as {{#tabs}} are not understood",
        "LaTeX commands outside math and code, such as \\textbf, are printed as written",
        "fenced divs inside a blockquote (::: note) are not understood",
        "mdBook's {{#include}} directives are not expanded",
    ):
        assert fragment in joined, fragment


def test_metadata_blocks_in_a_chapter_are_not_text(tmp_path: Path) -> None:
    html, warnings = convert(
        tmp_path,
        "# A\n\nBefore.\n\n---\nsubtitle: From a block\nfoo: bar\n---\n\nAfter.\n\n---\n\nRule above.\n\n"
        "---\nJust a sentence, no mapping.\n---\n",
    )
    assert "subtitle" not in html and "foo" not in html and "<h2" in html  # the last is a setext heading
    assert html.count("<hr/>") == 2
    assert warnings == [
        "manuscript/a.md:5: metadata block key 'foo' is not used; the block is left out of the text "
        "(known: title, author, lang, role, subtitle, date, abstract)"
    ]


def test_title_blocks(tmp_path: Path) -> None:
    manuscript = tmp_path / "manuscript"
    manuscript.mkdir()
    (manuscript / "book.toml").write_text('[book]\nlang = "en"\n', encoding="utf-8")
    (manuscript / "a.md").write_text("% The Book\n% Ann One; Bo Two\n% June 2026\n\n# First\n", encoding="utf-8")
    (manuscript / "b.md").write_text("% Second Chapter\n  Continued\n% Cy Three\n\nText.\n", encoding="utf-8")
    log.setup(verbosity=-1)
    project = load_project(tmp_path)
    first, second = project.book.chapters
    assert project.meta.title == "The Book" and project.meta.authors == ("Ann One", "Bo Two")
    assert project.meta.date is None  # "June 2026" is no date an EPUB can carry
    assert first.title == "First" and "The Book" not in first.html
    assert second.title == "Second Chapter Continued" and second.author == ["Cy Three"]
    assert "%" not in second.html
    assert log.warnings_seen() == [
        "manuscript/a.md:3: the title block's date 'June 2026' is left out: an EPUB's date is YYYY, YYYY-MM or "
        "YYYY-MM-DD"
    ]
