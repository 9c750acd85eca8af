"""What the command prints, written and flushed at once: a failure to write is its own.

A reader that has gone (``| head``) is not an error: the rest is dropped. A
write that fails otherwise (a full disk, ``> /dev/full``, an I/O error) is an
:class:`OutputError`, which :func:`modloader.main` reports as ``ls`` does
(``modloader: write error: No space left on device``, status 1) instead of a
traceback. Standard library only: the thin remote client (``-rx``) uses it.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: see modloader/__init__.py
if TYPE_CHECKING:
    from typing import TextIO

__all__ = ["OutputError", "write"]


class OutputError(Exception):
    """The command's output could not be written; ``error`` is why."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error.strerror or str(error))
        self.error = error


def write(out: TextIO, text: str) -> None:
    """Write and flush ``text`` to ``out``.

    :raises OutputError: the write failed, other than for a reader that has gone.
    """
    try:
        out.write(text)
        out.flush()
    except BrokenPipeError:
        _drop_the_rest(out)
    except OSError as exc:
        _drop_the_rest(out)
        raise OutputError(exc) from exc


def _drop_the_rest(out: TextIO) -> None:
    """Point ``out`` at nothing: the interpreter flushes it again at exit, and what is
    left in its buffer would fail again there (``Exception ignored ...``)."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
    except (OSError, ValueError):
        pass
