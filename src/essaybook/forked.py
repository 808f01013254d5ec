"""A stage run in a forked process beside the build's own work, its result and warnings handed back.

The EPUB is packaged while the PDF is assembled: both are serial work at the end of a build (1.2 s and 0.5 s
of one core for the Rust book), and the layout workers have stopped by then. The child reports nothing
itself: its warnings, the files it read (for the build record) and its result come back through a pipe and
are reported by the build. Whatever goes wrong in the child, :meth:`Forked.result` gives None and the build
does the work itself, so a failure is reported exactly as without the fork.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import signal
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from essaybook import log, paths

T = TypeVar("T")


class Forked(Generic[T]):
    """``work()`` running in a child process; see the module docstring."""

    def __init__(self, pid: int, reader: int) -> None:
        self.pid = pid
        self.reader = reader

    @classmethod
    def start(cls, work: Callable[[], T]) -> Forked[T] | None:
        """The child started, or None where a fork is not worth it or not safe (one core, no fork, other
        threads running, whose locks a fork would copy held)."""
        if not worth_forking():
            return None
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child's work shows in the parent's result
            os.close(reader)
            payload = pickle.dumps(None)
            try:
                end_with_parent(signal.SIGKILL)
                before = set(paths.tracked() or ())
                with log.withheld() as withheld:
                    result = work()
                payload = pickle.dumps((result, withheld, sorted(set(paths.tracked() or ()) - before)))
            except BaseException:  # the parent does the work again and reports the failure
                pass
            finally:
                with contextlib.suppress(OSError), os.fdopen(writer, "wb") as out:
                    out.write(payload)
                os._exit(0)
        os.close(writer)
        return cls(pid, reader)

    def result(self) -> T | None:
        """Wait for the child: its result, with its warnings reported and its reads tracked here; None when it
        failed."""
        reader, self.reader = self.reader, -1  # the file object below owns and closes it
        with os.fdopen(reader, "rb") as source:
            data = source.read()
        self._reap()
        try:
            done = pickle.loads(data)  # written by this build's own child
        except Exception:
            return None
        if done is None:
            return None
        result, withheld, read = done
        for diagnostic in withheld:
            log.report(diagnostic)
        tracked = paths.tracked()
        if tracked is not None:
            tracked.update(read)
        return result  # type: ignore[no-any-return]

    def stop(self) -> None:
        """End the child now if it still runs (the build failed or was interrupted)."""
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self._reap()
        if self.reader >= 0:  # not read: closing a number already closed could close another file's
            with contextlib.suppress(OSError):
                os.close(self.reader)
            self.reader = -1

    def _reap(self) -> None:
        if self.pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.pid = 0


def worth_forking() -> bool:
    """Whether a second process can help here and may be forked safely: fork exists, there is a second core,
    and no other thread runs (a fork copies no other thread, so no lock one holds would ever be freed)."""
    return hasattr(os, "fork") and (os.cpu_count() or 1) >= 2 and threading.active_count() == 1


def end_with_parent(signum: int) -> None:
    """In a forked child: have Linux send ``signum`` when the parent dies (PR_SET_PDEATHSIG), so nothing goes
    on writing after a build killed outright; exit at once if the parent is already gone."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signum)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before the call took effect
            os._exit(1)
