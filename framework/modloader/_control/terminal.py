"""Log lines made safe to show on an operator's terminal (see :mod:`modloader._text`).

Standard library only, and nothing imported: the remote client's fast path uses it.
"""

from __future__ import annotations

from modloader._text import escape_controls

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging

__all__ = ["escaping_formatter"]


def escaping_formatter(fmt: str, datefmt: str | None = None) -> logging.Formatter:
    """A :class:`logging.Formatter` whose lines have their control characters escaped.

    For a log handler that writes to a terminal: a module may log any text.
    A traceback's newlines are kept.
    """
    import logging

    class _Escaping(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return escape_controls(super().format(record))

    return _Escaping(fmt, datefmt=datefmt)
