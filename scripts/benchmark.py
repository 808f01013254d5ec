"""Benchmark essaybook against WeasyPrint alone and Pandoc on one book.

Usage: ``python scripts/benchmark.py [PROJECT] [--chapters N] [--keep]``. Without PROJECT, the Rust book in
/work/shared/manuscripts/rust-book is copied into a temporary project. Every measurement runs in a fresh
child process (this script with ``--child MODE``) that reports its own wall time (imports included), CPU
time and peak RSS as JSON, so the numbers do not share caches or heap. Outputs go to a temporary folder, never
into PROJECT.
"""

from __future__ import annotations

import argparse
import glob
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from html import escape
from pathlib import Path
from typing import Any

RUST_BOOK = Path("/work/shared/manuscripts/rust-book")
RUST_BOOK_META = {
    "title": "The Rust Programming Language",
    "author": ["Steve Klabnik", "Carol Nichols", "Chris Krycho"],
    "lang": "en",
}
ASSET_SCHEME = "essaybook:"
HARNESS_PANDOC = "/tmp/harness/venv/lib/python3*/site-packages/pypandoc/files/pandoc"
ESSAYBOOK_MODES = {"essaybook-full": (True, True), "essaybook-pdf": (True, False), "essaybook-epub": (False, True)}
MODES = [*ESSAYBOOK_MODES, "weasyprint", "pandoc"]


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


def _child(mode: str, root: Path, out: Path, html: Path | None, pandoc: str | None) -> dict[str, Any]:
    """Do one measured job in this (fresh) process; return what the parent tabulates."""
    start = time.perf_counter()
    result: dict[str, Any] = {}
    if mode in ESSAYBOOK_MODES:
        from essaybook import log
        from essaybook.commands.build import build

        log.setup(verbosity=-1)  # warnings and errors to stderr, as `essaybook build -q` does
        pdf, epub = ESSAYBOOK_MODES[mode]
        built = build(root, out, pdf=pdf, epub=epub)
        result["warnings"] = built.warnings
        result["output"] = str(built.pdf.path if built.pdf else built.epub.path if built.epub else "")
    elif mode == "compose":
        from essaybook import log
        from essaybook.compose import compose_print
        from essaybook.pipeline import load_project
        from essaybook.themes import environment

        log.setup(verbosity=-1)
        project = load_project(root)
        env = environment(project.theme)  # as essaybook.build.build sets it up
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
    elif mode == "pandoc":
        import tomllib

        assert pandoc is not None
        manuscript = root.absolute() / "manuscript"
        book = tomllib.loads((manuscript / "book.toml").read_text(encoding="utf-8")).get("book", {})
        chapters = book.get("chapters") or sorted(
            p.relative_to(manuscript).as_posix() for p in manuscript.rglob("*.md")
        )
        out.mkdir(parents=True, exist_ok=True)
        target = out.absolute() / "pandoc.epub"
        command = [
            pandoc,
            "-o",
            str(target),
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
        result["output"] = str(target)
    else:
        raise SystemExit(f"unknown child mode {mode!r}")
    result["seconds"] = time.perf_counter() - start
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU time shows how much of the wall time was work when other processes compete for the cores.
    result["cpu"] = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    # ru_maxrss is in KiB on Linux; pandoc runs as our child, so its peak is the larger of the two.
    result["maxrss_kb"] = max(own.ru_maxrss, kids.ru_maxrss)
    return result


def run_child(mode: str, root: Path, out: Path, html: Path, logs: Path, pandoc: str | None) -> dict[str, Any]:
    """Run ``mode`` in a fresh Python; keep its stderr in ``logs/MODE.log``; return its JSON report."""
    command = [sys.executable, __file__, str(root), "--child", mode, "--out", str(out), "--html", str(html)]
    if pandoc:
        command += ["--pandoc", pandoc]
    print(f"running {mode} ...", file=sys.stderr, flush=True)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    (logs / f"{mode}.log").write_text(done.stderr, encoding="utf-8")
    if done.returncode:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"{mode} failed with exit code {done.returncode} (log: {logs / f'{mode}.log'})")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


# ------------------------------------------------------------------------------------------------ report


def pdf_pages(path: str) -> int | None:
    if not path.endswith(".pdf"):
        return None
    from pypdf import PdfReader

    return len(PdfReader(path).pages)


def print_table(results: dict[str, dict[str, Any]], skipped: dict[str, str]) -> None:
    header = f"{'mode':<16} {'seconds':>9} {'CPU s':>9} {'peak RSS MB':>12} {'pages':>6} {'warnings':>9}"
    print(header)
    print("-" * len(header))
    for mode, r in results.items():
        pages = "" if r.get("pages") is None else str(r["pages"])
        warnings = "" if r.get("warnings") is None else str(r["warnings"])
        print(
            f"{mode:<16} {r['seconds']:>9.2f} {r['cpu']:>9.2f} {r['maxrss_kb'] / 1024:>12.1f} {pages:>6} {warnings:>9}"
        )
    for mode, why in skipped.items():
        print(f"{mode:<16} skipped: {why}")
    print()
    for label, top, bottom in [
        ("essaybook-full / weasyprint", "essaybook-full", "weasyprint"),
        ("essaybook-pdf  / weasyprint", "essaybook-pdf", "weasyprint"),
        ("essaybook-epub / pandoc    ", "essaybook-epub", "pandoc"),
    ]:
        if top in results and bottom in results:
            a, b = results[top], results[bottom]
            print(
                f"{label}  time x{a['seconds'] / b['seconds']:.2f}  CPU x{a['cpu'] / b['cpu']:.2f}  "
                f"peak RSS x{a['maxrss_kb'] / b['maxrss_kb']:.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", nargs="?", type=Path, help="a book project (default: the Rust book)")
    parser.add_argument("--chapters", type=int, help="only the first N chapters of the Rust book")
    parser.add_argument("--keep", action="store_true", help="keep the work folder and print its path")
    parser.add_argument("--child", choices=[*MODES, "compose"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--html", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--pandoc", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(_child(args.child, args.project, args.out, args.html, args.pandoc)))
        return
    if args.project is not None and args.chapters is not None:
        parser.error("--chapters only applies to the built-in Rust book")

    work = Path(tempfile.mkdtemp(prefix="essaybook-bench-"))
    try:
        root = args.project.absolute() if args.project else prepare_rust_book(work, args.chapters)
        logs, html = work / "logs", work / "print.html"
        logs.mkdir()
        pandoc = find_pandoc()
        run_child("compose", root, work / "out" / "compose", html, logs, pandoc)  # not measured
        results: dict[str, dict[str, Any]] = {}
        skipped: dict[str, str] = {}
        for mode in MODES:
            if mode == "pandoc" and pandoc is None:
                skipped[mode] = "no pandoc on PATH and no pypandoc-binary found"
                print("pandoc not found; skipped", file=sys.stderr)
                continue
            results[mode] = run_child(mode, root, work / "out" / mode, html, logs, pandoc)
            results[mode]["pages"] = pdf_pages(results[mode]["output"])
        print(f"\nbook: {root}  (pandoc: {pandoc or 'none'})\n")
        print_table(results, skipped)
    finally:
        if args.keep:
            print(f"\nwork folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
