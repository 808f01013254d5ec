"""Benchmark essaybook against WeasyPrint alone and Pandoc on one book, as ratios from one run.

Usage: ``python scripts/benchmark.py [PROJECT] [--chapters N] [--jobs N] [--repeat N] [--keep]``. Without PROJECT, the
Rust book in ``../shared/manuscripts/rust-book`` (beside this repository) is copied into a temporary project.
Every measurement runs in a fresh child process (this script with ``--child MODE``) that reports its own
wall time (imports included) and CPU time; the parent samples the resident memory of the child and every
process it starts (the layout workers, Pandoc) and reports the peak of their sum. Outputs go to a temporary
folder, never into PROJECT.

essaybook is measured the way a writer meets it: a first build (no cache), a build after one chapter
changed, an EPUB-only build and a build with nothing changed, in that order on the same project. Pandoc
(where installed, e.g. ``pip install pypandoc-binary``) makes the EPUB, and standalone HTML that WeasyPrint
turns into the PDF.

Runs on a shared machine vary by ten per cent or more. ``--repeat N`` runs the first build and Pandoc's
EPUB and PDF N times in all, taking turns (the cache emptied before each first build), and reports each one's
median run, with the range.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from html import escape
from pathlib import Path
from typing import Any

RUST_BOOK = Path(__file__).resolve().parents[2] / "shared" / "manuscripts" / "rust-book"
RUST_BOOK_META = {
    "title": "The Rust Programming Language",
    "author": ["Steve Klabnik", "Carol Nichols", "Chris Krycho"],
    "lang": "en",
}
ASSET_SCHEME = "essaybook:"
HARNESS_PANDOC = "/tmp/harness/venv/lib/python3*/site-packages/pypandoc/files/pandoc"
ESSAYBOOK_MODES = {
    "essaybook-first": (True, True),
    "essaybook-edit": (True, True),
    "essaybook-epub-warm": (False, True),
    "essaybook-nochange": (True, True),
}
"""Run in this order on one project: a first build, one chapter edited, EPUB only, nothing changed."""
MODES = [*ESSAYBOOK_MODES, "weasyprint", "pandoc-epub", "pandoc-pdf"]
EDIT = "\nOne more sentence, added by the benchmark.\n"


# ------------------------------------------------------------------------------------------------ setup


def _toml_value(value: object) -> str:
    """A TOML literal for a string or a list of strings (JSON string escapes are valid TOML)."""
    if isinstance(value, list):
        return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def prepare_rust_book(work: Path, chapters: int | None) -> Path:
    """Copy the Rust book into ``work/book/manuscript`` with a ``book.toml``; return the project root."""
    root = work / "book"
    manuscript = root / "manuscript"
    shutil.copytree(RUST_BOOK / "src", manuscript)
    order = [line.strip() for line in (RUST_BOOK / "ORDER.txt").read_text(encoding="utf-8").splitlines()]
    order = [line for line in order if line][:chapters]
    lines = ["[book]", *(f"{key} = {_toml_value(value)}" for key, value in RUST_BOOK_META.items())]
    lines.append("chapters = [\n" + "".join(f"    {_toml_value(name)},\n" for name in order) + "]")
    (manuscript / "book.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def find_pandoc() -> str | None:
    """``pandoc`` on PATH, else the binary shipped by pypandoc-binary (here or in the harness venv)."""
    found = shutil.which("pandoc")
    if found:
        return found
    try:
        import pypandoc  # type: ignore[import-not-found]

        return str(pypandoc.get_pandoc_path())
    except (ImportError, OSError):
        pass
    candidates = sorted(glob.glob(HARNESS_PANDOC))
    return candidates[0] if candidates else None


# ------------------------------------------------------------------------------------------------ children


def _child(
    mode: str, root: Path, out: Path, html: Path | None, pandoc: str | None, jobs: int | None = None
) -> dict[str, Any]:
    """Do one measured job in this (fresh) process; return what the parent tabulates."""
    start = time.perf_counter()
    result: dict[str, Any] = {}
    if mode == "essaybook-edit":
        chapter = _edited_chapter(root)
        chapter.write_text(chapter.read_text(encoding="utf-8") + EDIT, encoding="utf-8")
    if mode in ESSAYBOOK_MODES:
        from essaybook import log
        from essaybook.commands.build import build

        log.setup(verbosity=-1)  # warnings and errors to stderr, as `essaybook build -q` does
        pdf, epub = ESSAYBOOK_MODES[mode]
        built = build(root, out, pdf=pdf, epub=epub, jobs=jobs)
        result["warnings"] = built.warnings
        result["laid_out"] = built.laid_out
        result["output"] = str(built.pdf.path if built.pdf else built.epub.path if built.epub else "")
    elif mode == "compose":
        from essaybook import log
        from essaybook.compose import compose_print
        from essaybook.pipeline import load_project
        from essaybook.themes import environment

        log.setup(verbosity=-1)
        project = load_project(root)
        env = environment(project.theme)  # as the pipeline sets it up
        meta = project.require_meta
        text = compose_print(
            project.book, meta, project.config, project.theme, env, project.layout, project.code_css
        ).html
        # essaybook names images "essaybook:<href>" for its own fetcher; plain WeasyPrint needs their files.
        assets = [*project.book.assets.values(), *([meta.cover_image] if meta.cover_image else [])]
        for asset in assets:
            text = text.replace(f'"{escape(ASSET_SCHEME + asset.href)}"', f'"{asset.source.absolute().as_uri()}"')
        assert html is not None
        html.write_text(text, encoding="utf-8")
        result["output"] = str(html)
    elif mode == "weasyprint":
        import weasyprint

        assert html is not None
        target = out / "weasyprint.pdf"
        out.mkdir(parents=True, exist_ok=True)
        weasyprint.HTML(filename=str(html), base_url=root.absolute().as_uri() + "/").write_pdf(str(target))
        result["output"] = str(target)
    elif mode in ("pandoc-epub", "pandoc-pdf"):
        import tomllib

        assert pandoc is not None
        manuscript = root.absolute() / "manuscript"
        book = tomllib.loads((manuscript / "book.toml").read_text(encoding="utf-8")).get("book", {})
        chapters = book.get("chapters") or sorted(
            p.relative_to(manuscript).as_posix() for p in manuscript.rglob("*.md")
        )
        out.mkdir(parents=True, exist_ok=True)
        target = out.absolute() / ("pandoc.epub" if mode == "pandoc-epub" else "pandoc.html")
        command = [
            pandoc,
            "-o",
            str(target),
            "--standalone",
            f"--metadata=title:{book.get('title', 'Untitled')}",
            f"--metadata=lang:{book.get('lang', 'en')}",
            f"--resource-path={manuscript}",
            *chapters,
        ]
        done = subprocess.run(command, cwd=manuscript, stderr=subprocess.PIPE, text=True, check=False)
        sys.stderr.write(done.stderr)
        if done.returncode:
            raise SystemExit(f"pandoc failed with exit code {done.returncode}")
        result["warnings"] = sum(line.startswith("[WARNING]") for line in done.stderr.splitlines())
        if mode == "pandoc-pdf":
            import weasyprint

            pdf_target = out.absolute() / "pandoc.pdf"
            weasyprint.HTML(filename=str(target), base_url=manuscript.as_uri() + "/").write_pdf(str(pdf_target))
            target = pdf_target
        result["output"] = str(target)
    else:
        raise SystemExit(f"unknown child mode {mode!r}")
    result["seconds"] = time.perf_counter() - start
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU time shows how much of the wall time was work when other processes compete for the cores.
    result["cpu"] = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    # ru_maxrss is in KiB on Linux: the largest single process (the parent samples the sum of all of them).
    result["maxrss_kb"] = max(own.ru_maxrss, kids.ru_maxrss)
    return result


def _edited_chapter(root: Path) -> Path:
    """The chapter the edit mode changes: the middle one of the book."""
    import tomllib

    manuscript = root / "manuscript"
    book = tomllib.loads((manuscript / "book.toml").read_text(encoding="utf-8")).get("book", {})
    chapters = book.get("chapters") or sorted(p.relative_to(manuscript).as_posix() for p in manuscript.rglob("*.md"))
    return manuscript / chapters[len(chapters) // 2]


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants, in KiB (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        child = int(entry.name)
        children.setdefault(int(fields.get("PPid", "0").strip() or 0), []).append(child)
        rss[child] = int(fields.get("VmRSS", "0 kB").split()[0]) if "VmRSS" in fields else 0
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += rss.get(current, 0)
        stack.extend(children.get(current, []))
    return total


def run_child(
    mode: str, root: Path, out: Path, html: Path, logs: Path, pandoc: str | None, jobs: int | None = None
) -> dict[str, Any]:
    """Run ``mode`` in a fresh Python; keep its stderr in ``logs/MODE.log``; return its JSON report, with the
    peak of the summed resident memory of the child and its processes (sampled every 20 ms)."""
    command = [sys.executable, __file__, str(root), "--child", mode, "--out", str(out), "--html", str(html)]
    if pandoc:
        command += ["--pandoc", pandoc]
    if jobs:
        command += ["--jobs", str(jobs)]
    print(f"running {mode} ...", file=sys.stderr, flush=True)
    with (logs / f"{mode}.log").open("w", encoding="utf-8") as err:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True)
        peak = 0
        while process.poll() is None:
            peak = max(peak, _tree_rss_kb(process.pid))
            time.sleep(0.02)
        stdout = process.stdout.read() if process.stdout else ""
    if process.returncode:
        sys.stderr.write((logs / f"{mode}.log").read_text(encoding="utf-8"))
        raise SystemExit(f"{mode} failed with exit code {process.returncode} (log: {logs / f'{mode}.log'})")
    report: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    report["peak_kb"] = max(peak, report["maxrss_kb"])
    return report


# ------------------------------------------------------------------------------------------------ report


def pdf_pages(path: str) -> int | None:
    if not path.endswith(".pdf"):
        return None
    from pypdf import PdfReader

    return len(PdfReader(path).pages)


REPEATED = ["essaybook-first", "pandoc-epub", "pandoc-pdf"]
"""The modes ``--repeat`` runs again."""


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median wall time (the lower middle one of an even number), with the range of all."""
    ordered = sorted(runs, key=lambda r: r["seconds"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["runs"] = [round(r["seconds"], 2) for r in runs]
    return chosen


def print_table(results: dict[str, dict[str, Any]], skipped: dict[str, str]) -> None:
    header = f"{'mode':<20} {'seconds':>9} {'CPU s':>9} {'peak MB':>9} {'pages':>6} {'laid out':>9} {'warnings':>9}"
    print(header)
    print("-" * len(header))
    for mode, r in results.items():
        pages = "" if r.get("pages") is None else str(r["pages"])
        warnings = "" if r.get("warnings") is None else str(r["warnings"])
        laid = "" if r.get("laid_out") is None else str(r["laid_out"])
        runs = f"   median of {len(r['runs'])} runs: {r['runs']}" if len(r.get("runs", [])) > 1 else ""
        print(
            f"{mode:<20} {r['seconds']:>9.2f} {r['cpu']:>9.2f} {r['peak_kb'] / 1024:>9.1f} {pages:>6} {laid:>9}"
            f" {warnings:>9}{runs}"
        )
    for mode, why in skipped.items():
        print(f"{mode:<20} skipped: {why}")
    print("\n(peak MB: the most resident memory the build's processes held at once, all of them summed)\n")

    def ratio(label: str, top: str, bottom: list[str], target: str = "") -> None:
        if top not in results or not all(b in results for b in bottom):
            return
        a = results[top]
        seconds = sum(results[b]["seconds"] for b in bottom)
        # Pandoc's EPUB and its PDF run one after the other, so their peaks do not add up.
        peak = max(results[b]["peak_kb"] for b in bottom)
        print(
            f"{label:<44} time x{a['seconds'] / seconds:.2f}  peak memory x{a['peak_kb'] / peak:.2f}"
            + (f"   (target {target})" if target else "")
        )

    ratio(
        "first build / Pandoc EPUB + Pandoc-WeasyPrint PDF", "essaybook-first", ["pandoc-epub", "pandoc-pdf"], "<= 1.0"
    )
    ratio("first build / Pandoc-WeasyPrint PDF", "essaybook-first", ["pandoc-pdf"])
    ratio("first build / WeasyPrint alone, same HTML", "essaybook-first", ["weasyprint"])
    ratio("one chapter edited / first build", "essaybook-edit", ["essaybook-first"], "<= 0.15")
    ratio("EPUB only, nothing changed / Pandoc EPUB", "essaybook-epub-warm", ["pandoc-epub"], "<= 0.5")
    ratio("nothing changed / first build", "essaybook-nochange", ["essaybook-first"], "<= 0.05")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", nargs="?", type=Path, help="a book project (default: the Rust book)")
    parser.add_argument("--chapters", type=int, help="only the first N chapters of the Rust book")
    parser.add_argument("--keep", action="store_true", help="keep the work folder and print its path")
    parser.add_argument("--child", choices=[*MODES, "compose"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--html", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--pandoc", help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, help="essaybook's layout processes (default: the machine's cores)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="run the first build and Pandoc's builds N times; report medians"
    )
    args = parser.parse_args()

    if args.child:
        print(json.dumps(_child(args.child, args.project, args.out, args.html, args.pandoc, args.jobs)))
        return
    if args.project is not None and args.chapters is not None:
        parser.error("--chapters only applies to the built-in Rust book")

    work = Path(tempfile.mkdtemp(prefix="essaybook-bench-"))
    try:
        if args.project:
            # The edit mode changes a chapter and the builds fill a cache: work on a copy.
            root = work / "book"
            for name in ("manuscript", "styles"):
                if (args.project / name).is_dir():
                    shutil.copytree(args.project / name, root / name)
        else:
            root = prepare_rust_book(work, args.chapters)
        logs, html = work / "logs", work / "print.html"
        logs.mkdir()
        pandoc = find_pandoc()
        run_child("compose", root, work / "out" / "compose", html, logs, pandoc)  # not measured
        runs: dict[str, list[dict[str, Any]]] = {}
        skipped: dict[str, str] = {}
        rounds = [MODES] + [REPEATED] * (max(1, args.repeat) - 1)
        for number, modes in enumerate(rounds):
            for mode in modes:
                if mode.startswith("pandoc") and pandoc is None:
                    skipped[mode] = "no pandoc on PATH and no pypandoc-binary found"
                    continue
                if number and mode == "essaybook-first":
                    shutil.rmtree(root / ".essaybook-cache", ignore_errors=True)
                # essaybook's builds share one output folder, as a writer's do: "nothing changed" means since the
                # build before it, whose outputs are there (a build into an empty folder has outputs to write).
                out = work / "out" / ("essaybook" if mode.startswith("essaybook") else f"{mode}-{number}")
                report = run_child(mode, root, out, html, logs, pandoc, args.jobs)
                report["pages"] = pdf_pages(report["output"])
                runs.setdefault(mode, []).append(report)
        results = {mode: median_run(reports) for mode, reports in runs.items()}
        print(f"\nbook: {root}  ({os.cpu_count()} cores; pandoc: {pandoc or 'none'})\n")
        print_table(results, skipped)
    finally:
        if args.keep:
            print(f"\nwork folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
