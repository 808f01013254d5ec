"""What a book's problems are as data: the log prints them, ``check`` reports them, the preview lists them.

A :class:`Diagnostic` keeps the file, line and hint apart from the message, so nothing downstream has to
read them back out of a formatted string.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import PurePath
from typing import Any

LEVELS = ("error", "warning", "info")


@dataclass(frozen=True)
class Diagnostic:
    """One problem in a book project, or a note about it.

    ``str()`` is the line the terminal shows: ``manuscript/ch.md:12: message (hint)``.
    """

    level: str
    """'error', 'warning' or 'info'."""
    kind: str
    """A stable kebab-case code ('image-alt', 'broken-link', …): ``check`` prints it, tools may filter on it."""
    message: str
    """What is wrong, without the place and without the hint."""
    file: str | None = None
    """Relative to the book project, with forward slashes (``manuscript/ch.md``); None for the whole book."""
    line: int | None = None
    """1-based line in ``file``; None when not known."""
    hint: str | None = None
    """How to fix it, when there is more to say than the message does."""
    more: int = 0
    """How many other places have the same problem (reported once, at the first)."""

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {self.level!r}")

    @property
    def where(self) -> str:
        """``file:line``, ``file`` or '' (the book as a whole)."""
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    @property
    def elsewhere(self) -> str:
        """' and 3 more places' when :attr:`more` is set, else ''."""
        return f" and {self.more} more place{'s' * (self.more > 1)}" if self.more else ""

    @property
    def detail(self) -> str:
        """The message with its hint, as printed."""
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def __str__(self) -> str:
        if self.file is None:
            return self.detail
        return f"{self.where}{self.elsewhere}: {self.detail}"

    def as_dict(self) -> dict[str, Any]:
        """Every field, for JSON (in the order ``check --format json`` has always listed the first five)."""
        return {
            "level": self.level,
            "kind": self.kind,
            "file": self.file,
            "line": self.line,
            "message": self.message,
            "hint": self.hint,
            "more": self.more,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Diagnostic:
        """The inverse of :meth:`as_dict` (unknown keys are ignored)."""
        known = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        return cls(**known)


def project_file(file: PurePath | str | None, root: PurePath | None) -> str | None:
    """``file`` as a :attr:`Diagnostic.file`: relative to ``root`` when it lies inside it, with forward slashes."""
    if file is None:
        return None
    path = PurePath(file)
    if not path.is_absolute():
        return path.as_posix()
    if root is not None and path.is_relative_to(root):
        return path.relative_to(root).as_posix()
    return str(path)
