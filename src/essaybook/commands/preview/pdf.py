"""The preview's PDF: ``essaybook build --no-epub`` in a background subprocess, served from a temporary folder.

The build goes through the layout cache like any other, so only the chapters that changed are laid out again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from essaybook import log
from essaybook.diagnostics import Diagnostic

if TYPE_CHECKING:
    from essaybook.commands.preview.server import Hub


@dataclass(frozen=True)
class PdfStatus:
    """The background PDF: the newest one built (if any) and what the worker is doing now."""

    state: str = "off"
    """'off' (not built in this preview), 'building', 'ready' or 'failed' (the newest attempt failed)."""
    generation: int = 0
    """The site generation the served PDF was built after (0: none yet)."""
    path: Path | None = None
    message: str = ""
    warnings: tuple[Diagnostic, ...] = ()


class PdfWorker:
    """Builds the PDF with ``essaybook build`` in a subprocess, one at a time; the newest request wins.

    Requests made while a build runs collapse into one build of the newest state once it ends. Each build
    writes into its own folder under ``folder`` (atomically, as every build does), so the file served is
    never half-written.
    """

    def __init__(self, root: Path, folder: Path, hub: Hub) -> None:
        self.root = root
        self.folder = folder
        self.hub = hub
        self._cond = threading.Condition()
        self._wanted = 0
        self._started = 0
        self._stopping = False
        self._process: subprocess.Popen[str] | None = None
        self._thread = threading.Thread(target=self._run, name="essaybook-pdf", daemon=True)
        self._thread.start()

    def request(self, generation: int) -> None:
        with self._cond:
            self._wanted = max(self._wanted, generation)
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()  # the build unwinds on SIGTERM and removes its temporary files
        self._thread.join(timeout=15)
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stopping or self._wanted > self._started)
                if self._stopping:
                    return
                generation = self._started = self._wanted
            self.hub.set_pdf(building=True)
            self._build(generation)

    def _build(self, generation: int) -> None:
        out = self.folder / f"pdf-{generation}"
        record = self.folder / f"pdf-{generation}.jsonl"
        command = [sys.executable, "-m", "essaybook", "build", str(self.root), "--no-epub", "-q", "-o", str(out)]
        command += ["--diagnostics-json", str(record)]
        with self._cond:
            if self._stopping:
                return
            # A session of its own: Ctrl-C in the terminal is for the preview, which then stops the build.
            self._process = process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        with suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, process.pid, 10)  # the preview itself stays responsive
        _, stderr = process.communicate()
        with self._cond:
            self._process = None
            if self._stopping:
                return
        diagnostics = log.read_recording(record)
        record.unlink(missing_ok=True)
        warnings = tuple(d for d in diagnostics if d.level == "warning")
        found = sorted(out.glob("*.pdf"))
        if process.returncode == 0 and found:
            previous = self.hub.pdf.path
            self.hub.set_pdf(generation=generation, path=found[0], warnings=warnings, failed="")
            if previous is not None and previous.parent != out:
                shutil.rmtree(previous.parent, ignore_errors=True)
        else:
            error = next((str(d) for d in diagnostics if d.level == "error"), None)
            # Not an error of the book (a bug, a crash): the last thing the build printed says what.
            lines = [line.strip() for line in stderr.splitlines() if line.strip() and not line.startswith("warning: ")]
            self.hub.set_pdf(
                failed=error or (lines[-1] if lines else f"the PDF build exited with {process.returncode}")
            )
            shutil.rmtree(out, ignore_errors=True)
