"""The command's standard streams and log, whatever module code does to them.

A module runs in the command's process, and a careless one may replace a
standard stream (``sys.stdout = io.StringIO()`` to quiet a chatty library,
never put back), close it (``sys.stdout.close()``), remove the root logger's
handlers or call ``logging.disable()``. The command's own output went with
it: ``-x "module show"`` printed into the module's buffer and exited 0, a
closed ``sys.stderr`` ended the process with ``lost sys.stderr``, and the
log fell silent. So the command keeps what it set up (:class:`KeptStreams`)
and puts it back after module code has run (startup, a ``-x`` command, each
console command, the stop, and each module operation while it serves the
socket), saying so; its log handler writes to the stream it was given
(:class:`TerminalHandler`). Python opens its standard streams without owning
their descriptors, so a closed one is opened again over the same one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterable
from typing import TextIO

__all__ = ["KeptStreams", "StdoutToStderr", "TerminalHandler", "reopened"]

_log = logging.getLogger("modloader")

#: The descriptor of each standard stream, by the name Python gives it.
_DESCRIPTORS = {"<stdout>": 1, "<stderr>": 2}


def reopened(stream: TextIO) -> TextIO:
    """A new stream over the descriptor of ``stream``, which was closed; ``/dev/null``
    when that descriptor is unknown or closed too (the text is lost, not the command)."""
    name = getattr(stream, "name", None)
    fd = _DESCRIPTORS.get(name) if isinstance(name, str) else name
    if fd is None:  # a wrapper (the console's proxy) may still tell its descriptor
        try:
            fd = stream.fileno()
        except (OSError, ValueError):
            fd = None
    encoding = getattr(stream, "encoding", None)  # still told once closed
    if not isinstance(encoding, str):
        encoding = "utf-8"
    if isinstance(fd, int) and not isinstance(fd, bool):
        try:
            return open(fd, "w", encoding=encoding, errors="backslashreplace", closefd=False)
        except (OSError, LookupError):
            pass
    return open(os.devnull, "w", encoding="utf-8")


def _closed(stream: object) -> bool:
    """Whether ``stream`` was closed (the console's log stream has no such attribute)."""
    return getattr(stream, "closed", False) is True


class KeptStreams:
    """``sys.stdout``, ``sys.stderr`` and the command's log handlers as they were when
    made; :meth:`restore` puts them back after module code has run."""

    def __init__(
        self,
        logger: logging.Logger | None = None,
        handlers: Iterable[logging.Handler] | None = None,
    ) -> None:
        self.stdout: TextIO = sys.stdout
        self.stderr: TextIO = sys.stderr
        #: The command's own ``handlers`` on ``logger`` (where its log goes); by default
        #: the root logger and every handler it has now.
        self.logger = logging.getLogger() if logger is None else logger
        self.handlers = list(self.logger.handlers if handlers is None else handlers)
        self._lock = threading.Lock()  # restored from the thread of any module operation

    def rebase(self) -> None:
        """Keep the streams and ``logger``'s handlers as they are now: what the
        application's own ``core_init`` set up is not module code's doing."""
        with self._lock:
            self.stdout, self.stderr = sys.stdout, sys.stderr
            self.handlers = list(self.logger.handlers)

    def restore(self, after: str) -> None:
        """Put back what module code replaced, closed, removed or switched off (``after``:
        what ran, for the warning)."""
        with self._lock:
            self._restore_log(after)
            self._restore_streams(after)

    def _restore_streams(self, after: str) -> None:
        for name in ("stderr", "stdout"):  # stderr first: the warnings go there
            kept: TextIO = getattr(self, name)
            now = getattr(sys, name)
            if now is kept and not _closed(kept):
                continue
            what = "closed" if now is kept else "replaced"
            if _closed(kept):
                closed, kept = kept, reopened(kept)
                setattr(self, name, kept)
                for handler in self.logger.handlers:
                    if isinstance(handler, TerminalHandler) and handler.stream is closed:
                        handler.stream = kept
            setattr(sys, name, kept)
            _log.warning("module code %s sys.%s during %s; put back", what, name, after)

    def _restore_log(self, after: str) -> None:
        missing = [h for h in self.handlers if h not in self.logger.handlers]
        for handler in missing:
            self.logger.addHandler(handler)
        if logging.root.manager.disable > logging.NOTSET:
            logging.disable(logging.NOTSET)
            _log.warning("module code switched logging off during %s; switched back on", after)
        if missing:
            _log.warning("module code removed the log's handlers during %s; put back", after)


class TerminalHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The log on the terminal: the stream it was given, opened again over its descriptor
    if module code closed it (``sys.stderr.close()``), rather than a logging error that,
    with ``sys.stderr`` closed, ends the process."""

    #: The stream it opened itself in place of a closed one (closed with the handler).
    _opened: TextIO | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if _closed(self.stream):
            self.stream = reopened(self.stream)  # not setStream: it flushes the closed one
            self._opened = self.stream
        super().emit(record)

    def close(self) -> None:
        try:
            super().close()
        finally:
            opened, self._opened = self._opened, None
            if opened is not None:
                with contextlib.suppress(OSError, ValueError):
                    opened.close()


class StdoutToStderr:
    """``--json``: standard output carries the JSON alone. Until :meth:`release`, what is
    written to descriptor 1 (a module's ``print``, ``os.write(1, ...)``, a child process)
    goes to standard error. Without the two descriptors, nothing is moved."""

    def __init__(self) -> None:
        self._saved: int | None = None
        try:
            sys.stdout.flush()
            saved = os.dup(1)
        except (OSError, ValueError, AttributeError):
            return
        try:
            os.dup2(2, 1)
        except OSError:
            os.close(saved)
            return
        self._saved = saved

    def release(self) -> None:
        """Standard output is the command's again (what modules wrote meanwhile flushed first)."""
        saved, self._saved = self._saved, None
        if saved is None:
            return
        with contextlib.suppress(OSError, ValueError, AttributeError):
            sys.stdout.flush()
        try:
            os.dup2(saved, 1)
        finally:
            os.close(saved)
