"""Command line: each command body is one library call; errors print as one message, no traceback."""

from __future__ import annotations

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
@output_options
def build(project: Path, pdf: bool, epub: bool, output: Path | None, strict: bool) -> None:
    """Build PROJECT (a folder with manuscript/) into dist/<slug>.pdf and dist/<slug>.epub."""
    from essaybook.build import build as run_build

    if not pdf and not epub:
        raise click.UsageError("--no-pdf and --no-epub together leave nothing to build")
    run_build(project, output, pdf=pdf, epub=epub, strict=strict)
