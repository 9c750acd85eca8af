"""Text made safe to show on an operator's terminal.

A module's output, a file's contents or another user's request may hold
control characters: an escape sequence can retitle the window, move the
cursor, hide text or, on some terminals, answer back as if typed. Everything
the ``modloader`` command shows as text goes through :func:`escape_controls`
first. Standard library only, and nothing imported: the remote client's fast
path uses it.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging

__all__ = ["escape_controls", "escaping_formatter"]

_TABLE: dict[int, str] = {}


def _table() -> dict[int, str]:
    if not _TABLE:
        codes = [*range(0x20), 0x7F, *range(0x80, 0xA0)]
        _TABLE.update({c: f"\\x{c:02x}" for c in codes if c not in (0x09, 0x0A)})
        # Line separators and bidirectional overrides reorder or split what the operator reads.
        for c in (0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A)):
            _TABLE[c] = f"\\u{c:04x}"
    return _TABLE


def escape_controls(text: str) -> str:
    r"""``text`` with every control character shown as an escape (``\x1b``, ``\x07``, ``\u202e``).

    Ordinary text, newlines and tabs are kept as they are; so is a backslash.
    A lone surrogate (text that was not valid UTF-8) is shown as ``\udcff``.
    """
    text = text.translate(_table())
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


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
