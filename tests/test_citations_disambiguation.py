"""Year suffixes ("Smith 2020a") and ``[book] nocite``, as Pandoc's citeproc makes them: compared with Pandoc at the
processor (no book built), then two small EPUB-only books read back."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from essaybook.bibliography import from_bibtex
from essaybook.citations import Citation, Cite, Library, Processor, _letters, nocite_keys, parse_items, style_path
from test_bad_input import NO_PDF, TOML, build, make_project
from test_hostile import assert_success, assert_warned, epub_texts

from conftest import epubcheck_messages

SAME_YEAR = """
@book{SmithZebras,
  author = {Smith, John}, title = {Zebras}, year = {2020}, publisher = {North Press},
}
@article{SmithAntelopes,
  author = {Smith, John}, title = {Antelopes}, journal = {Fauna}, volume = {3}, pages = {1--9}, year = {2020},
}
@book{SmithCheetahs,
  author = {Smith, John}, title = {Cheetahs}, year = {2021}, publisher = {North Press},
}
@book{SmithBees,
  author = {Smith, John}, title = {Bees}, year = {2021}, publisher = {North Press},
}
@book{doeCrowds,
  author = {Doe, Jane and Roe, Richard and Poe, Edgar and Loe, Ann}, title = {Crowds}, year = {2019}, publisher = {P},
}
@book{doeMobs,
  author = {Doe, Jane and Moe, Mary and Poe, Edgar and Loe, Ann}, title = {Mobs}, year = {2019}, publisher = {P},
}
@book{lee,
  author = {Lee, Ann}, title = {Moths}, year = {2018}, publisher = {P},
}
@book{brownJames,
  author = {Brown, James}, title = {Rivers}, year = {2017}, publisher = {P},
}
@book{brownAlice,
  author = {Brown, Alice}, title = {Lakes}, year = {2018}, publisher = {P},
}
@book{parkJohn,
  author = {Park, John}, title = {Ships}, year = {2015}, publisher = {P},
}
@book{parkJane,
  author = {Park, Jane}, title = {Shoes}, year = {2016}, publisher = {P},
}
@book{roeAlpha,
  author = {Roe, Ann}, title = {Alpha}, publisher = {P},
}
@book{roeBeta,
  author = {Roe, Ann}, title = {Beta}, publisher = {P},
}
"""
"""Two works of John Smith in 2020 (a book, an article whose title sorts first), two in 2021 of which one is never
cited, two of Jane Doe and others in 2019 (told apart by the second name where the style adds names, else lettered),
one alone, two Browns (J. and A. where the style spells names out for all citations) and two Parks (whose initials
are alike), and two undated works of Ann Roe ("n.d.-a"). Keys keep their case, as in Pandoc."""

PAPER = [
    ("First ", "[@SmithZebras]"),
    (". Then ", "[@SmithAntelopes, p. 3]"),
    (". And ", "@SmithCheetahs"),
    (" wrote it. Crowds ", "[@doeCrowds]"),
    (" and mobs ", "[see @doeMobs]"),
    (". Moths ", "[@lee, 4]"),
    (". Waters ", "[@brownJames]"),
    (" and ", "@brownAlice"),
    (". Ships ", "[@parkJohn]"),
    (" and shoes ", "[@parkJane]"),
    (". Undated ", "[@roeAlpha]"),
    (" and ", "[@roeBeta]"),
    (".", ""),
]
"""The paper as (text, citation) pairs: each citation follows its text."""


def _paper() -> str:
    return "".join(text + source for text, source in PAPER) + "\n"


def _pandoc(style: Path, bib: Path, nocite: str) -> list[str]:
    pypandoc = pytest.importorskip("pypandoc")
    meta = f"---\nnocite: |\n  {nocite}\n---\n\n" if nocite else ""
    out = pypandoc.convert_text(
        meta + _paper(),
        "plain",
        format="md",
        extra_args=["--citeproc", f"--bibliography={bib}", f"--csl={style}", "--wrap=none"],
    )
    return [" ".join(part.split()) for part in out.split("\n\n") if part.strip()]


def _ours(style: Path, nocite: str) -> list[str]:
    items = from_bibtex(SAME_YEAR, "same.bib")
    keys = nocite_keys((nocite,), items, "book.toml", None)
    processor = Processor(Library.of(items, style.read_bytes(), "References", nocite=keys))
    citations = []
    for _, source in PAPER:
        if source.startswith("["):
            parsed = parse_items(source[1:-1])
            assert parsed is not None
            citations.append(Citation(None, "normal", parsed[0], False, 0, source))
        elif source:
            citations.append(Citation(None, "narrative", [Cite(source[1:])], False, 0, source))
    processor.register(citations)
    rendered = iter([processor.render(c, lambda key: "") for c in citations])
    text = "".join(text + (next(rendered) if source else "") for text, source in PAPER)

    def plain(markup: str) -> str:
        return " ".join(html.unescape(re.sub(r"<[^>]+>", "", markup)).split())

    return [plain(text)] + [plain(entry) for _, entry in processor.entries()]


@pytest.mark.parametrize(
    ("style", "nocite"),
    [
        ("chicago-author-date", "@SmithBees"),  # the style prints the year-suffix variable
        ("apa", ""),
        ("harvard-cite-them-right", "@SmithBees"),
        ("elsevier-harvard", ""),  # the style names no year-suffix: it follows the first issued date
        ("american-political-science-association", "@*"),
        ("american-physiological-society", "@SmithBees"),  # numeric, its list sorted by citation-number
        ("wirtschaftsuniversitat-wien-health-care-management", ""),  # no initials: "James Brown", "Alice Brown"
    ],
)
def test_year_suffixes_match_pandoc_citeproc(tmp_path: Path, style: str, nocite: str) -> None:
    found = style_path(style)
    assert found is not None
    bib = tmp_path / "same.bib"
    bib.write_text(SAME_YEAR, encoding="utf-8")
    theirs = _pandoc(found, bib, nocite)
    # Pandoc's citeproc also gives the names added to citations to the reference list's entries where the style
    # shortens their names too (Harvard's "Doe, J., Roe, R., et al."): not done.
    theirs = [re.sub(r"Doe, J\., [RM]oe, [RM]\., et al\.", "Doe, J. et al.", line) for line in theirs]
    # A locale term from citeproc-py's older CSL locales (as in test_citations.py).
    theirs = [line.replace("[date unknown]", "[no date]") for line in theirs]
    assert _ours(found, nocite) == theirs


def test_suffixes_run_past_z() -> None:
    assert [_letters(n) for n in (0, 1, 25, 26, 27, 51, 52, 701, 702)] == [
        "a",
        "b",
        "z",
        "aa",
        "ab",
        "az",
        "ba",
        "zz",
        "aaa",
    ]


def test_only_the_first_implicit_suffix_of_a_source_stays() -> None:
    from essaybook.citations import _first_suffixes

    marked = "Smith 2020\ue001a\ue0021\ue003, May 2020\ue001a\ue0021\ue003; Jones 2020\ue001a\ue0022\ue003"
    assert _first_suffixes(marked) == "Smith 2020a, May 2020; Jones 2020a"


# ----------------------------------------------------------------------------------------- books


def _book(tmp_path: Path, toml: str, chapter: str) -> Path:
    files: dict[str, str | bytes] = {"manuscript/book.toml": TOML + toml, "manuscript/01.md": chapter}
    files["manuscript/same.bib"] = SAME_YEAR
    return make_project(tmp_path, files)


def _entries(root: Path) -> list[str]:
    references = epub_texts(root)["EPUB/text/references.xhtml"]
    return [
        " ".join(re.sub(r"<[^>]+>", "", e).split())
        for e in re.findall(r'class="csl-entry"[^>]*>(.*?)</div>', references)
    ]


def test_nocite_lists_uncited_sources_and_lets_them_count_for_suffixes(tmp_path: Path) -> None:
    toml = 'bibliography = "same.bib"\nnocite = ["@SmithBees", "@nosuch, @lee", "Zebras"]\n'
    root = _book(tmp_path, toml, "# One\n\nAs @SmithCheetahs wrote [@SmithZebras].\n")
    result = build(root, *NO_PDF)
    assert_success(result)
    assert_warned(result, "book.toml:5", "citation key 'nosuch' is not in the bibliography")
    assert_warned(result, "book.toml:5", "'Zebras' is not a citation key", "write '@Zebras'")
    chapter = next(text for name, text in epub_texts(root).items() if name.startswith("EPUB/text/chapter"))
    assert "Smith (2021b) wrote (Smith 2020)." in " ".join(re.sub(r"<[^>]+>", "", chapter).split())
    assert _entries(root) == [
        "Lee, Ann. 2018. Moths. P.",
        "Smith, John. 2020. Zebras. North Press.",
        "Smith, John. 2021a. Bees. North Press.",
        "Smith, John. 2021b. Cheetahs. North Press.",
    ]
    assert epubcheck_messages(root / "dist" / "book.epub") == []


def test_nocite_star_makes_a_reference_list_of_a_book_that_cites_nothing(tmp_path: Path) -> None:
    root = _book(tmp_path, 'bibliography = "same.bib"\ncsl = "ieee"\nnocite = "@*"\n', "# One\n\nNothing cited.\n")
    assert_success(build(root, *NO_PDF))
    entries = _entries(root)
    assert len(entries) == 13 and entries[0].startswith("[1]J. Smith, Zebras")  # ieee: in the files' order
    assert 'epub:type="bibliography"' in epub_texts(root)["EPUB/nav.xhtml"]


def test_nocite_without_bibliography_warns(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"manuscript/book.toml": TOML + 'nocite = "@*"\n', "manuscript/01.md": "# One\n"})
    result = build(root, *NO_PDF)
    assert_success(result)
    assert_warned(result, "book.toml:4", "nocite lists sources, but no bibliography is set")


def test_nocite_of_the_wrong_type_is_a_settings_error(tmp_path: Path) -> None:
    root = _book(tmp_path, 'bibliography = "same.bib"\nnocite = 3\n', "# One\n")
    result = build(root, *NO_PDF)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "book.nocite" in result.output and "a string or a list of strings" in result.output, result.output
