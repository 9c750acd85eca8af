"""The lines of a console whose input is no terminal: a file or a pipe (``modloader -c < cmds``).

prompt_toolkit reads a terminal. Given a regular file it reads nothing (its
event loop cannot watch one), and given a pipe it echoes and redraws as for a
terminal; so such input is read here, line by line, without it.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Iterator

__all__ = ["script_lines", "stdin_descriptor"]

#: How often the reader looks whether the console was stopped (seconds).
_POLL = 0.1


def stdin_descriptor() -> int | None:
    """The descriptor of the standard input, or ``None`` when it has none (closed)."""
    try:
        return sys.stdin.fileno() if sys.stdin is not None else None
    except (OSError, ValueError, AttributeError):
        return None


class _Feed:
    """One reader of one input, whose lines go to whichever console reads them: ``-R``
    makes a console for each connection, over the same standard input."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        threading.Thread(target=self._read, name="modloader-console-input", daemon=True).start()

    def _read(self) -> None:
        """Read without Python's buffered reader, whose lock this thread would hold at the
        interpreter's exit, blocked on a pipe whose writer says nothing more."""
        pending = b""
        try:
            while chunk := os.read(self.fd, 65536):
                *complete, pending = (pending + chunk).split(b"\n")
                for raw in complete:
                    self.lines.put(raw.decode("utf-8", "replace"))
            if pending:
                self.lines.put(pending.decode("utf-8", "replace"))
        except OSError:  # the descriptor broke or was closed: its end
            pass
        finally:
            self.lines.put(None)


#: The feed of each input (descriptor, and the file it is: a descriptor is reused).
_FEEDS: dict[tuple[int, int, int], _Feed] = {}
_FEEDS_LOCK = threading.Lock()


def script_lines(fd: int | None, stop: threading.Event) -> Iterator[str]:
    """Each line read from the descriptor ``fd`` (UTF-8; a byte that is not is replaced),
    until its end or ``stop``: a pipe whose writer says nothing more holds neither the
    console when it is stopped (by a signal, ``core stop`` on the socket) nor the process."""
    try:
        found = os.fstat(fd) if fd is not None else None
    except OSError:
        found = None
    if fd is None or found is None:
        return
    with _FEEDS_LOCK:
        key = (fd, found.st_dev, found.st_ino)
        feed = _FEEDS.get(key)
        if feed is None:
            feed = _FEEDS[key] = _Feed(fd)
    while not stop.is_set():
        try:
            line = feed.lines.get(timeout=_POLL)
        except queue.Empty:
            continue
        if line is None:
            feed.lines.put(None)  # the end, for the next console too
            return
        yield line
