"""Colour on the operator's terminal, where Asterisk's console has it.

The level word of a log line (Asterisk's colours: DEBUG bright green, WARNING
bright red, ERROR red) and the Status column of ``module show`` (Running
green, Not Running red). Only on a terminal, and never when ``NO_COLOR`` is set
(https://no-color.org) or ``TERM`` is ``dumb``.
"""

from __future__ import annotations

import logging
import os
from typing import IO
from typing import Any

__all__ = ["ColourFormatter", "colour_status_column", "enabled"]

RESET = "\x1b[0m"
GREEN = "\x1b[32m"
RED = "\x1b[31m"
BRIGHT_RED = "\x1b[1;31m"
BRIGHT_GREEN = "\x1b[1;32m"

#: The colour of each level's word, as Asterisk's logger has it.
LEVEL_COLOURS = {
    logging.DEBUG: BRIGHT_GREEN,
    logging.WARNING: BRIGHT_RED,
    logging.ERROR: RED,
    logging.CRITICAL: RED,
}


def enabled(stream: IO[Any] | None) -> bool:
    """Whether to colour what is written to ``stream``."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return is_terminal(stream)


def is_terminal(stream: object) -> bool:
    """``True`` when ``stream`` is a terminal (``False`` for ``None``, or one closed)."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):  # closed, or no descriptor
        return False


class ColourFormatter(logging.Formatter):
    """``inner``'s text with the record's level word coloured."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner if inner is not None else logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        text = self.inner.format(record)
        colour = LEVEL_COLOURS.get(record.levelno)
        if colour is None:
            return text
        word = record.levelname
        return text.replace(word, f"{colour}{word}{RESET}", 1)


def colour_status_column(table: str) -> str:
    """``module show``'s text with its Status column coloured (other text as it is)."""
    lines = table.split("\n")
    column = lines[0].find("Status") if lines else -1
    if column < 0:
        return table
    for i, line in enumerate(lines[1:], 1):
        for word, colour in (("Not Running", RED), ("Running", GREEN)):
            if line.startswith(word, column):
                end = column + len(word)
                lines[i] = f"{line[:column]}{colour}{word}{RESET}{line[end:]}"
                break
    return "\n".join(lines)
