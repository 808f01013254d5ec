"""Command line: each command body is one library call; errors print as one message, no traceback."""

from __future__ import annotations

import contextlib
import functools
import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from essaybook import __version__, log
from essaybook.errors import EXIT_INTERNAL, EssaybookError

F = TypeVar("F", bound=Callable[..., Any])


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def output_options(command: F) -> F:
    """Add -q/-v/--debug to ``command``, set up the log from them, and turn every failure into one message.

    The wrapped function receives neither option; ``--debug`` is in ``log.debugging()`` for those that care.
    User errors (:class:`EssaybookError`) exit 1, usage errors 2, bugs 3, Ctrl-C or SIGTERM 130.
    """

    @click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
    @click.option("-v", "--verbose", is_flag=True, help="More detail: timings of each stage.")
    @click.option("--debug", is_flag=True, help="Show tracebacks and WeasyPrint's own messages.")
    @functools.wraps(command)
    def wrapper(*args: Any, quiet: bool, verbose: bool, debug: bool, **kwargs: Any) -> Any:
        log.setup(verbosity=-1 if quiet else 1 if verbose else 0, debug=debug)
        # `kill` (SIGTERM) unwinds like Ctrl-C, so temporary files are removed and earlier outputs stay whole.
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            return command(*args, **kwargs)
        except EssaybookError:
            if debug:
                traceback.print_exc()
            raise
        except click.exceptions.Exit:
            raise
        except click.ClickException:
            raise
        except RecursionError:
            if debug:
                raise
            raise EssaybookError(
                "the manuscript nests elements too deeply to lay out (raw HTML inside raw HTML, hundreds of levels)",
                hint="flatten the structure; run with --debug to see where",
            ) from None
        except KeyboardInterrupt:
            click.echo("Interrupted; earlier outputs are unchanged.", err=True)
            sys.exit(130)
        except Exception as exc:  # a bug in essaybook or a library, not in the book
            if debug:
                raise
            click.echo(
                f"internal error: {type(exc).__name__}: {exc}\n"
                "This is a bug in essaybook; run again with --debug for the traceback and report it.",
                err=True,
            )
            sys.exit(EXIT_INTERNAL)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="essaybook")
def main() -> None:
    """Turn a Markdown manuscript into a book-shaped PDF and a valid EPUB 3."""


@main.command()
@click.argument("project", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--pdf/--no-pdf", default=True, help="Write the PDF (default: yes).")
@click.option("--epub/--no-epub", default=True, help="Write the EPUB (default: yes).")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), default=None, help="Output folder (default: PROJECT/dist)."
)
@click.option("--strict", is_flag=True, help="Treat warnings as errors; write nothing if there are any.")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Lay chapters out in N processes at once (default: the machine's cores).",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Lay out every chapter again and keep nothing in .essaybook-cache/ (which is safe to delete any time).",
)
@click.option(
    "--diagnostics-json",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    hidden=True,
    help="Also write each warning and the error that stops the build to this file, one JSON object a line.",
)
@output_options
def build(
    project: Path,
    pdf: bool,
    epub: bool,
    output: Path | None,
    strict: bool,
    jobs: int | None,
    no_cache: bool,
    diagnostics_json: Path | None,
) -> None:
    """Build PROJECT (a folder with manuscript/) into dist/<slug>.pdf and dist/<slug>.epub.

    Chapters are laid out in parallel; a chapter that has not changed since the last build (nor the
    settings, stylesheets, fonts and images it uses) comes from PROJECT/.essaybook-cache/.
    """
    from essaybook.commands.build import build as run_build

    if not pdf and not epub:
        raise click.UsageError("--no-pdf and --no-epub together leave nothing to build")
    # The preview's background PDF build hands its Diagnostics back through the file (the option is hidden).
    with log.recording(diagnostics_json, project.absolute()) if diagnostics_json else contextlib.nullcontext():
        run_build(project, output, pdf=pdf, epub=epub, strict=strict, jobs=jobs, cache=not no_cache)


@main.command()
@click.argument("directory", type=click.Path(path_type=Path), default=".")
@click.option(
    "--theme",
    metavar="NAME",
    default=None,
    help="Use this built-in theme and copy its stylesheets and templates into styles/ for editing.",
)
@click.option(
    "--from",
    "source",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    metavar="PATH",
    help="Import this mdBook, Quarto book or Pandoc project (a folder, or a Pandoc defaults file) instead; "
    "it is only read.",
)
@click.option(
    "--kind",
    type=click.Choice(["mdbook", "quarto", "pandoc"]),
    default=None,
    help="What --from PATH is (default: found from its files).",
)
@output_options
def init(directory: Path, theme: str | None, source: Path | None, kind: str | None) -> None:
    """Start a new book project in DIRECTORY (default: here), which must be new or empty.

    Writes manuscript/book.toml with every setting explained, two sample chapters, and styles/custom.css.
    With --from PATH, the chapters, settings and images of an existing mdBook, Quarto book or Pandoc project
    are copied in instead (includes expanded), and what could not be carried over is listed.
    """
    if source is None:
        if kind is not None:
            raise click.UsageError("--kind goes with --from PATH")
        from essaybook.commands.init import init_project

        init_project(directory, theme)
        return
    if theme is not None:
        raise click.UsageError("--theme and --from cannot be combined; set [theme] name in book.toml afterwards")
    from essaybook.commands.init_from import import_project

    import_project(source, directory, kind)


@main.command()
@click.argument("project", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Report format."
)
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too, not only on errors.")
@click.option(
    "--no-validators",
    is_flag=True,
    help="Skip the temporary EPUB build that EPUBCheck and DAISY Ace check (much faster on long books).",
)
@output_options
def check(project: Path, fmt: str, strict: bool, no_validators: bool) -> None:
    """Report every problem in PROJECT at once, without writing dist/; exit 1 if any is an error.

    Config and front matter, chapters listed but missing or present but unlisted, internal links and anchors,
    images and their alt text, external links (listed, never fetched), characters the theme's fonts cannot
    draw, and EPUBCheck and Ace results on a temporary build when those tools are installed.
    """
    from essaybook.commands.check import run_check

    sys.exit(run_check(project, fmt=fmt, strict=strict, validators=not no_validators))


@main.command()
@click.argument("project", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8000,
    show_default=True,
    help="Port on 127.0.0.1; when it is taken, the next free one is used.",
)
@output_options
def preview(project: Path, port: int) -> None:
    """Serve PROJECT on 127.0.0.1 as the e-book reads, rebuilt and reloaded on every save (Ctrl-C stops, exit 0).

    Only the chapters that changed are converted again; build errors show in the page; the PDF is rebuilt in
    the background and linked from the page.
    """
    from essaybook.commands.preview import serve

    serve(project, port)


@main.command()
@click.argument("project", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option(
    "--pages",
    type=click.IntRange(1, 100000),
    default=None,
    help="The interior's page count (default: counted in dist/<slug>.pdf, built first when missing or stale).",
)
@click.option("--proof", is_flag=True, help="Draw the trim, spine folds, safe areas and bleed edge over the design.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The cover's file (default: dist/<slug>-cover.pdf, or dist/<slug>-cover-proof.pdf with --proof).",
)
@output_options
def cover(project: Path, pages: int | None, proof: bool, output: Path | None) -> None:
    """Write the print cover of PROJECT as one PDF: back, spine and front with bleed around.

    The spine is as wide as the page count times the paper's thickness ([cover] paper); the front and back
    are [cover] front-image and back-image, or a typographic design in the theme's fonts.
    """
    from essaybook.commands.cover import make_cover

    make_cover(project, pages=pages, proof=proof, output=output)


@main.command()
@click.argument("project", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option(
    "--pages",
    metavar="SPEC",
    default=None,
    help="Write these pages at full size instead of the sheet, one PNG each. Name pages by the labels printed "
    "on them, as a PDF viewer and the sheet show them: '1-3,7' (body pages), 'iii' or 'i-iv' (roman-numbered "
    "front matter), 'Cover'; case does not matter. A range runs in book order, so 'x-2' is the last "
    "front-matter page to body page 2. A PDF without labels numbers its pages from 1.",
)
@click.option(
    "--dpi", type=click.IntRange(20, 1200), default=None, help="Resolution of the --pages images (default: 150)."
)
@click.option(
    "--spreads/--no-spreads",
    default=None,
    help="Lay pages out as the book opens (page 1 alone on the right, then left/right pairs) or one by one. "
    "Default: spreads for the book layout, single pages for an essay.",
)
@click.option(
    "--width",
    type=click.IntRange(400, 8000),
    default=None,
    help="Largest width of the sheet in pixels (default: 1800).",
)
@click.option(
    "--pdf",
    "pdf_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Proof this PDF instead of PROJECT's (nothing is built).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="The sheet's file (default: dist/<slug>-proof.png); with --pages, the folder for the pages "
    "(default: dist/, as <slug>-page-<label>.png).",
)
@output_options
def proof(
    project: Path,
    pages: str | None,
    dpi: int | None,
    spreads: bool | None,
    width: int | None,
    pdf_file: Path | None,
    output: Path | None,
) -> None:
    """Write a PNG proof sheet of every page of PROJECT's PDF, labelled, laid out as the book opens.

    Uses dist/<slug>.pdf, building it first when it is missing or older than manuscript/ or styles/.
    """
    from essaybook.commands.proof import DEFAULT_DPI, SHEET_WIDTH
    from essaybook.commands.proof import proof as run_proof

    if pages is None and dpi is not None:
        raise click.UsageError("--dpi sets the resolution of --pages images; give --pages too")
    if pages is not None and (width is not None or spreads is not None):
        raise click.UsageError("--width and --spreads shape the sheet; --pages writes single pages instead")
    run_proof(
        project,
        pdf=pdf_file,
        pages=pages,
        output=output,
        dpi=dpi or DEFAULT_DPI,
        spreads=spreads,
        width=width or SHEET_WIDTH,
    )
