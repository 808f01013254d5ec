"""One error family for everything a user can get wrong; the CLI prints them without a traceback."""

from __future__ import annotations

from pathlib import Path

import click

from essaybook.diagnostics import Diagnostic, project_file

#: Exit codes (documented in the manual, "The commands"): 1 = the book project has a problem the user can fix,
#: 2 = the command line was wrong (click's usage errors), 3 = essaybook itself failed (a bug).
EXIT_USER = 1
EXIT_INTERNAL = 3


class EssaybookError(click.ClickException):
    """A problem with the user's book project; ``str()`` is the whole message."""

    exit_code = EXIT_USER
    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        file: Path | str | None = None,
        line: int | None = None,
        column: int | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.line = line
        self.column = column
        self.key = key
        self.hint = hint
        self.detail = message
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        key = f"{self.key}: " if self.key else ""
        text = f"{where}{key}{self.detail}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def format_message(self) -> str:
        return self.message

    def diagnostic(self, kind: str, root: Path | None = None) -> Diagnostic:
        """This error as data for ``check`` and the preview; ``root`` makes an absolute file project-relative.

        Its ``str()`` is the error's message, less the column.
        """
        message = f"{self.key}: {self.detail}" if self.key else self.detail
        return Diagnostic("error", kind, message, project_file(self.file, root), self.line, self.hint)


class ConfigError(EssaybookError):
    """``book.toml`` cannot be read or holds a wrong key or value."""

    kind = "config error"


class ConfigErrors(ConfigError):
    """Several config problems, reported at once."""

    def __init__(self, problems: list[ConfigError]) -> None:
        self.problems = problems
        if len(problems) == 1:
            text = problems[0].message
        else:
            text = f"{len(problems)} problems in the configuration:\n" + "\n".join(f"  {p.message}" for p in problems)
        super().__init__(text)

    def _render(self) -> str:
        return self.detail


class ManuscriptError(EssaybookError):
    """A chapter, its front matter or an asset it names is missing or malformed."""

    kind = "manuscript error"


class TemplateError(EssaybookError):
    """A theme or override template failed to render."""

    kind = "template error"


class RenderError(EssaybookError):
    """WeasyPrint or ebooklib could not produce, or we could not write, an output file."""

    kind = "render error"
