"""``essaybook init --from`` (issue 14, item 3): a small mdBook, Pandoc project and Quarto book, each written here
with every construct the importer knows, imported and built once; and section files in both outputs."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from PIL import Image
from pypdf import PdfReader

from essaybook import log
from essaybook.commands.init_from import ImportResult, import_project
from essaybook.compose import matters, sections
from essaybook.errors import EssaybookError
from essaybook.model import Book, Chapter, Heading
from test_ace import violations

from conftest import Built, build_once, epubcheck_messages
from pdfread import outline
from test_epub import Epub

LITERAL = (":::", "^[", "]{.", "{{#", "{{<", "% ")
"""Syntax of the other tools that must not be left in either output as text."""


def _png() -> bytes:
    """A picture wide enough to print at 300 pixels per inch across any text block (no resolution warning)."""
    data = io.BytesIO()
    Image.new("RGB", (1600, 60), (30, 90, 140)).save(data, format="PNG")
    return data.getvalue()


PNG = _png()
RUST = """use std::io;
// ANCHOR: main
fn main() {
    // ANCHOR: inner
    println!("high water");
    // ANCHOR_END: inner
}
// ANCHOR_END: main
#[derive(Debug)]
struct Tide;
"""

MDBOOK = {
    "book.toml": """[book]
title = "Harbour Notes"
authors = ["Ada Example"]
language = "en"
description = "A small book about a harbour."
src = "src"

[output.html]
additional-css = ["theme/extra.css"]

[preprocessor.links]
""",
    "code/tide.rs": RUST,
    "code/harbour.toml": "[harbour]\nberths = 12\n",
    "src/SUMMARY.md": """# Summary

[Foreword](foreword.md)

# The Water

- [Tides](tides.md)
  - [Spring tides](tides/spring.md)
  - [Neap tides](tides/neap.md)
  - [Slack water](tides/slack%20water.md)
- [Unwritten]()

---

# The Land

- [Boats](boats.md)
- [Boats again](boats.md)

[Contributors](contributors.md)
""",
    "src/foreword.md": "# Foreword\n\n{{#title Harbour Notes}}\n\nWhy the harbour matters.\n",
    "src/tides.md": """# Tides

The sea rises twice a day.

```rust,ignore
{{#rustdoc_include ../code/tide.rs:main}}
```

![A tide chart](img/chart.png)
""",
    "src/tides/spring.md": """# Spring tides

Spring tides come with the full moon.

```rust
{{#include ../../code/tide.rs:inner}}
```

```toml
{{#include ../../code/harbour.toml:2:}}
```

```rust
{{#include ../../code/tide.rs:1}}
```
""",
    "src/tides/neap.md": """## Neap tides

Neap tides are the smallest.

```rust
# fn hidden() {}
## a literal hash line
{{#include ../../code/tide.rs::1}}
```
""",
    "src/tides/slack water.md": "Between the tides the water stands still.\n",
    "src/boats.md": """# Boats

Boats need berths.

{{#include ../../outside.txt}}

{{#include ../code/missing.rs}}

{{#include ../code/tide.rs:nowhere}}

```rust
{{#playground ../code/tide.rs:inner}}
```
""",
    "src/contributors.md": "# Contributors\n\nEveryone who wrote a line.\n",
    "src/img/chart.png": PNG,
}

PANDOC = {
    "Makefile": """CHAPTERS = chapters/01-intro.md chapters/02-sea.md chapters/03-waves.md

book.epub: $(CHAPTERS) metadata.yaml
\tpandoc --metadata-file=metadata.yaml -o $@ $(CHAPTERS)
""",
    "metadata.yaml": """title: Notes on the Sea
author:
  - Ben Sample
  - Cy Writer
lang: en-GB
date: 2024-05-01
keywords: [sea, waves]
rights: All rights reserved.
geometry: margin=1in
""",
    "chapters/01-intro.md": """# Introduction

A sentence with a note.^[An inline note.]

::: note
A note in a box.
:::

[Small capitals]{.smallcaps} and [un mot]{lang=fr}.

![The same wave, found from the project's folder as Pandoc finds it](images/wave.png)
""",
    "chapters/02-sea.md": "# The Sea\n\nThe sea is wide.\n\n![A wave](../images/wave.png)\n\n"
    + "\n\n".join([" ".join(["The tide comes in and goes out, and the harbour waits for it."] * 14)] * 3)
    + "\n\n```rust\n"
    + "\n".join(f"let line_{i} = {i};" for i in range(1, 31))
    + "\n```\n",
    "chapters/03-waves.md": "## Waves\n\nWaves continue the sea chapter.\n",
    "notes.md": "# Not a chapter\n\nNever listed.\n",
    "images/wave.png": PNG,
}

QUARTO = {
    "_quarto.yml": """project:
  type: book

book:
  title: "Quarto Tides"
  author: "Dee Author"
  date: "2025-03-01"
  site-url: https://example.org
  chapters:
    - index.qmd
    - part: "Basics"
      chapters:
        - basics.qmd
    - part: more.qmd
      chapters:
        - advanced.qmd
  appendices:
    - extra.qmd

format:
  html:
    theme: cosmo

lang: en
""",
    "index.qmd": "# Preface\n\nWelcome to the book.\n",
    "basics.qmd": """# Basics

::: {.callout-note}
A callout.
:::

```{python}
print("cell")
```

{{< pagebreak >}}

After the cell. {{< meta title >}}
""",
    "more.qmd": "# More\n\nA part of its own.\n",
    "advanced.qmd": "# Advanced\n\nA claim.[^1]\n\n[^1]: A footnote.\n",
    "extra.qmd": "# Extra\n\nAppendix text.\n",
}


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


def digest(root: Path) -> str:
    """A hash of every file's path and bytes under ``root``."""
    sha = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        sha.update(path.relative_to(root).as_posix().encode())
        if path.is_file():
            sha.update(path.read_bytes())
    return sha.hexdigest()


@dataclass
class Imported:
    source: Path
    result: ImportResult
    built: Built
    unchanged: bool


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Imported]]:
    found = {}
    for name, files in (("mdbook", MDBOOK), ("pandoc", PANDOC), ("quarto", QUARTO)):
        tmp = tmp_path_factory.mktemp(name)
        source = write(tmp / "source", files)
        before = digest(source)
        log.setup(verbosity=-1)
        result = import_project(source, tmp / "book")
        built = build_once(result.root)
        found[name] = Imported(source, result, built, digest(source) == before)
    yield found


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)


def epub_texts(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as z:
        return {
            name: " ".join("".join(ET.fromstring(z.read(name)).itertext()).split())
            for name in z.namelist()
            if name.endswith(".xhtml")
        }


def notes(imported: Imported) -> list[str]:
    return [str(n) for n in imported.result.notes]


@pytest.mark.parametrize("name", ["mdbook", "pandoc", "quarto"])
def test_import_builds_with_no_literal_syntax_and_leaves_the_original(projects: dict[str, Imported], name: str) -> None:
    imported = projects[name]
    assert imported.unchanged
    assert imported.built.warnings == []
    text = pdf_text(imported.built.pdf)
    texts = epub_texts(imported.built.epub)
    for literal in LITERAL:
        assert literal not in text, (name, literal)
        for file, content in texts.items():
            assert literal not in content, (name, literal, file)


@pytest.mark.parametrize("name", ["mdbook", "pandoc", "quarto"])
def test_each_imported_book_passes_epubcheck_and_ace(projects: dict[str, Imported], name: str, tmp_path: Path) -> None:
    assert epubcheck_messages(projects[name].built.epub) == []
    assert violations(projects[name].built.epub, tmp_path / "ace") == []


def test_mdbook_settings_and_chapter_list(projects: dict[str, Imported]) -> None:
    root = projects["mdbook"].result.root
    toml = (root / "manuscript" / "book.toml").read_text(encoding="utf-8")
    assert 'title = "Harbour Notes"' in toml and 'author = ["Ada Example"]' in toml and 'lang = "en"' in toml
    assert 'description = "A small book about a harbour."' in toml
    chapters = toml.split("chapters = [", 1)[1]
    order = [line.strip().strip('",') for line in chapters.splitlines() if line.strip().startswith('"')]
    assert order == [
        "foreword.md",
        "part-01.md",
        "tides.md",
        "tides/spring.md",
        "tides/neap.md",
        "tides/slack water.md",
        "part-02.md",
        "boats.md",
        "contributors.md",
    ]
    assert (root / "manuscript" / "part-01.md").read_text(encoding="utf-8") == "---\nrole: part\n---\n\n# The Water\n"
    assert (root / "manuscript" / "img" / "chart.png").read_bytes() == PNG
    foreword = (root / "manuscript" / "foreword.md").read_text(encoding="utf-8")
    assert foreword.startswith("---\nrole: foreword\n---\n") and "{{#title" not in foreword
    assert "role: appendix" in (root / "manuscript" / "contributors.md").read_text(encoding="utf-8")
    # A sub-chapter that opened at level 1 is moved to level 2: a section file.
    assert (root / "manuscript" / "tides" / "spring.md").read_text(encoding="utf-8").startswith("## Spring tides")
    # A file without a heading gets the summary's title as one.
    assert (root / "manuscript" / "tides" / "slack water.md").read_text(encoding="utf-8").startswith("## Slack water\n")


def test_mdbook_includes_follow_mdbooks_rules(projects: dict[str, Imported]) -> None:
    manuscript = projects["mdbook"].result.root / "manuscript"
    tides = (manuscript / "tides.md").read_text(encoding="utf-8")
    # rustdoc_include with an anchor: the lines outside it are hidden lines, which print leaves out.
    assert '```rust\nfn main() {\n    println!("high water");\n}\n```' in tides
    spring = (manuscript / "tides" / "spring.md").read_text(encoding="utf-8")
    assert '```rust\n    println!("high water");\n```' in spring  # an anchor; anchor lines removed
    assert "```toml\nberths = 12\n```" in spring  # 2: from line 2 to the end
    assert "```rust\nuse std::io;\n```" in spring  # :1 is line 1 only
    neap = (manuscript / "tides" / "neap.md").read_text(encoding="utf-8")
    assert "```rust\n# a literal hash line\nuse std::io;\n```" in neap  # ::1 up to line 1; '##' is a '#'
    boats = (manuscript / "boats.md").read_text(encoding="utf-8")
    assert '```rust\n    println!("high water");\n```' in boats  # playground, like include
    assert "ANCHOR" not in tides + spring + neap + boats


def test_mdbook_report_names_what_was_not_carried_over(projects: dict[str, Imported]) -> None:
    found = notes(projects["mdbook"])
    expected = [
        "book.toml:8: [output.html] is not carried over",
        "book.toml:11: [preprocessor.links] is not carried over",
        "src/SUMMARY.md:11: draft chapter 'Unwritten' has no file; left out",
        "src/SUMMARY.md:13: a separator line is not carried over",
        "src/SUMMARY.md:18: chapter 'boats.md' is listed again; kept at its first place",
        "src/foreword.md:3: {{#title Harbour Notes}}",
        "src/boats.md:5: {{#include ../../outside.txt}} names a file outside the project; left out",
        "src/boats.md:7: {{#include ../code/missing.rs}}: No such file or directory; left out",
        "src/boats.md:9: anchor 'nowhere' not found in ../code/tide.rs",
    ]
    for start in expected:
        assert any(line.startswith(start) for line in found), (start, found)
    assert len(found) == len(expected)


def test_section_files_continue_their_chapter(projects: dict[str, Imported]) -> None:
    built = projects["mdbook"].built
    reader = PdfReader(built.pdf)
    items = outline(reader)
    by_title = {item.title: item for item in items}
    # Spring and neap tides are sections of "Tides": nested in the outline, on the chapter's pages.
    assert by_title["Spring tides"].depth == by_title["Tides"].depth + 1
    assert by_title["Neap tides"].depth == by_title["Tides"].depth + 1
    assert by_title["Spring tides"].page == by_title["Tides"].page
    assert by_title["Boats"].depth == by_title["Tides"].depth
    assert by_title["Boats"].page > by_title["Tides"].page
    # The EPUB keeps each as a file, nested under its chapter in the navigation.
    epub = Epub(built.epub)
    nav = epub.xml("nav.xhtml")
    toc = next(
        n
        for n in nav.iter("{http://www.w3.org/1999/xhtml}nav")
        if "toc" in n.get("{http://www.idpf.org/2007/ops}type", "")
    )
    X = "{http://www.w3.org/1999/xhtml}"
    tides = next(li for li in toc.iter(f"{X}li") if "".join(li.find(f"{X}a").itertext()) == "Tides")  # type: ignore[union-attr]
    nested = ["".join(a.itertext()) for a in tides.iterfind(f"{X}ol/{X}li/{X}a")]
    assert nested == ["Spring tides", "Neap tides", "Slack water"]
    assert any("spring" in href for href in epub.spine())


def test_pandoc_project(projects: dict[str, Imported]) -> None:
    imported = projects["pandoc"]
    manuscript = imported.result.root / "manuscript"
    toml = (manuscript / "book.toml").read_text(encoding="utf-8")
    assert 'title = "Notes on the Sea"' in toml and 'author = ["Ben Sample", "Cy Writer"]' in toml
    assert 'lang = "en-GB"' in toml and 'date = "2024-05-01"' in toml and 'subject = ["sea", "waves"]' in toml
    assert not (manuscript / "notes.md").exists()  # not in the Makefile's list
    assert (manuscript / "images" / "wave.png").is_file()
    intro = (manuscript / "chapters" / "01-intro.md").read_text(encoding="utf-8")
    assert "as Pandoc finds it](../images/wave.png)" in intro
    assert notes(imported) == ["metadata.yaml:9: metadata key 'geometry' is not carried over"]
    epub = Epub(imported.built.epub)
    assert epub.meta("dc:title") == ["Notes on the Sea"]
    # The file opening at level 2 is a section of "The Sea": nested, on the page where the chapter's text ends.
    reader = PdfReader(imported.built.pdf)
    items = {item.title: item for item in outline(reader)}
    assert items["Waves"].depth == items["The Sea"].depth + 1
    assert "line_30" in (reader.pages[items["Waves"].page].extract_text() or "")


def test_quarto_book(projects: dict[str, Imported]) -> None:
    imported = projects["quarto"]
    manuscript = imported.result.root / "manuscript"
    toml = (manuscript / "book.toml").read_text(encoding="utf-8")
    assert 'title = "Quarto Tides"' in toml and 'author = ["Dee Author"]' in toml and 'date = "2025-03-01"' in toml
    order = [line.strip().strip('",') for line in toml.split("chapters = [", 1)[1].splitlines() if '"' in line]
    assert order == ["index.md", "part-01.md", "basics.md", "more.md", "advanced.md", "extra.md"]
    assert "role: preface" in (manuscript / "index.md").read_text(encoding="utf-8")
    assert "role: part" in (manuscript / "more.md").read_text(encoding="utf-8")
    assert "role: appendix" in (manuscript / "extra.md").read_text(encoding="utf-8")
    basics = (manuscript / "basics.md").read_text(encoding="utf-8")
    assert "```python" in basics and "\\newpage" in basics
    found = notes(imported)
    for start in (
        "_quarto.yml:8: book.site-url (for the web site) is not carried over",
        "_quarto.yml:20: 'format' is not carried over",
        "basics.qmd:7: code cell {python} is printed as code, not run",
        "basics.qmd:13: Quarto shortcode {{< meta title >}} is not carried over",
    ):
        assert any(line.startswith(start) for line in found), (start, found)


def test_refusals(tmp_path: Path) -> None:
    source = write(tmp_path / "source", {"book.toml": MDBOOK["book.toml"], "src/SUMMARY.md": "- [A](a.md)\n"})
    write(source / "src", {"a.md": "# A\n"})
    with pytest.raises(EssaybookError, match="inside the one it imports"):
        import_project(source, source / "new")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.md").write_text("x")
    with pytest.raises(EssaybookError, match="not empty"):
        import_project(source, tmp_path / "full")


def test_pandoc_defaults_file_gives_chapters_and_metadata(tmp_path: Path) -> None:
    source = write(
        tmp_path / "source",
        {
            "book/defaults.yaml": "from: markdown\ninput-files:\n  - b.md\n  - a.md\nmetadata-file: meta.yaml\n"
            "metadata:\n  title: From Defaults\ntoc: true\n",
            "book/meta.yaml": "title: Ignored, the defaults file's own metadata wins\nauthor: Ed Itor\n",
            "book/a.md": "# A\n",
            "book/b.md": "# B\n",
            "book/outside.md": "# Not listed\n",
        },
    )
    log.setup(verbosity=-1)
    result = import_project(source / "book" / "defaults.yaml", tmp_path / "new")
    toml = (result.root / "manuscript" / "book.toml").read_text(encoding="utf-8")
    assert 'title = "From Defaults"' in toml and 'author = ["Ed Itor"]' in toml
    assert 'chapters = [\n    "b.md",\n    "a.md",\n]' in toml
    assert [str(n) for n in result.notes] == ["defaults.yaml:8: Pandoc option 'toc' is not carried over"]


def test_command_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from essaybook.cli import main

    source = write(tmp_path / "source", {"01.md": "# One\n", "02.md": "# Two\n", "meta.yaml": "title: T\nfoo: 1\n"})
    runner = CliRunner()
    done = runner.invoke(main, ["init", "--from", str(source), str(tmp_path / "new")])
    assert done.exit_code == 0, done.output
    assert "meta.yaml:2: metadata key 'foo' is not carried over" in done.output
    assert (tmp_path / "new" / "manuscript" / "02.md").read_text(encoding="utf-8") == "# Two\n"
    refused = runner.invoke(main, ["init", "--from", str(source), "--theme", "modern", str(tmp_path / "other")])
    assert refused.exit_code == 2 and not (tmp_path / "other").exists()


def _chapter(index: int, level: int | None, role: str = "chapter") -> Chapter:
    chapter = Chapter(source=Path(f"{index}.md"), rel=f"{index}.md", index=index, markdown="", body_line=1, role=role)
    chapter.id = f"c{index}"
    if level is not None:
        chapter.headings = [Heading(level=level, text=f"T{index}", id=f"h{index}")]
        chapter.has_title_heading = True
    return chapter


def test_which_files_are_section_files() -> None:
    book = Book(
        root=Path("."),
        chapters=[
            _chapter(0, 2),  # opens at level 2 with no chapter before it: a chapter
            _chapter(1, 1),
            _chapter(2, 2),  # a section of 1
            _chapter(3, 2),  # another
            _chapter(4, None),  # no heading: the template's title is its level 1
            _chapter(5, 2),  # a section of 4
            _chapter(6, 1, "part"),
            _chapter(7, 2),  # after a part: a chapter
            _chapter(8, 1, "epigraph"),
            _chapter(9, 2),  # after a display page: a chapter
            _chapter(10, 1, "appendix"),
            _chapter(11, 2),  # a section of the appendix
            _chapter(12, 2, "appendix"),  # sets its own role: a chapter
        ],
    )
    assert {k: v.id for k, v in sections(book).items()} == {"c2": "c1", "c3": "c1", "c5": "c4", "c11": "c10"}
    assert sections(Book(root=Path("."), chapters=[_chapter(i, 2) for i in range(3)])) == {}


def test_a_long_code_block_breaks_across_pages(projects: dict[str, Imported]) -> None:
    """It starts right after the text before it instead of moving whole to the next page."""
    pages = [page.extract_text() or "" for page in PdfReader(projects["pandoc"].built.pdf).pages]
    first = next(i for i, text in enumerate(pages) if "line_1 " in text)
    assert "harbour waits for it" in pages[first]
    assert "line_30" not in pages[first] and "line_30" in pages[first + 1]


def test_a_section_file_is_in_its_chapters_matter() -> None:
    introduction, section, chapter = _chapter(0, 1, "introduction"), _chapter(1, 2), _chapter(2, 1)
    assert matters(Book(root=Path("."), chapters=[introduction, section, chapter])) == {
        "c0": "front",
        "c1": "front",
        "c2": "body",
    }
