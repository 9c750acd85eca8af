"""Text as a terminal shows it: control characters escaped, widths in columns.

A module's output, a distribution's summary, a file's contents or another
user's request may hold control characters: an escape sequence can retitle
the window, move the cursor, hide text or, on some terminals, answer back as
if typed. Everything the ``modloader`` command shows as text goes through
:func:`escape_controls` first.

A table's cells go through :func:`fit`: escaped first (so that the escape's
own width is counted, and a tab or a newline cannot break the row), then
padded, or cut, to a width in terminal columns, not characters: a CJK
character takes two columns, a combining accent none. Asterisk's
``module show`` counts bytes, which misaligns any non-ASCII text.

Standard library only, and nothing imported at module level: the remote
client's fast path uses it; :mod:`unicodedata` is imported for the first
text that is not printable ASCII, :mod:`logging` by :func:`escaping_formatter`.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: see modloader/__init__.py
if TYPE_CHECKING:
    import logging

__all__ = ["cell", "escape_controls", "escaping_formatter", "fit", "plain_ascii", "width"]

_TABLE: dict[int, str] = {}
# In a cell, tabs and newlines are escaped as well: they would break the row.
_CELL_TABLE = {0x09: "\\x09", 0x0A: "\\x0a"}


#: The ASCII control characters, as bytes (see :func:`plain_ascii`).
_CONTROL_BYTES = bytes([*range(0x20), 0x7F])


def plain_ascii(text: str) -> bool:
    """``True`` when ``text`` is ASCII without control characters: shown as it is,
    a column a character. Several times faster than ``str.isprintable()`` on a
    long text (a ``module show`` of 1,000 rows: 80 against 360 µs)."""
    if not text.isascii():
        return False
    data = text.encode("ascii")
    return len(data.translate(None, _CONTROL_BYTES)) == len(data)


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


def _widths(text: str) -> list[int]:
    """The columns each character of ``text`` takes."""
    import unicodedata

    combining, category, east_asian = (
        unicodedata.combining,
        unicodedata.category,
        unicodedata.east_asian_width,
    )
    return [
        0  # combining marks, zero-width joiners and the like
        if combining(c) or category(c) in ("Mn", "Me", "Cf")
        else 2
        if east_asian(c) in ("W", "F")
        else 1
        for c in text
    ]


def width(text: str) -> int:
    """The columns ``text`` (printable: see :func:`fit`) takes on a terminal."""
    if text.isascii():
        return len(text)
    return sum(_widths(text))


def cell(text: str) -> str:
    """``text`` as a table cell shows it: control characters escaped, tabs and
    newlines too (they would break the row)."""
    if plain_ascii(text):
        return text
    return escape_controls(text).translate(_CELL_TABLE)


def fit(text: str, columns: int, *, cut: bool = False) -> str:
    """:func:`cell` of ``text``, padded with spaces to ``columns`` terminal columns and,
    with ``cut``, cut to them (a wide character that would cross the edge is left out
    and its column padded)."""
    text = cell(text)
    if text.isascii():  # the common case: a column per character
        return f"{text:<{columns}.{columns}}" if cut else f"{text:<{columns}}"
    taken = 0
    for index, step in enumerate(_widths(text)):
        if cut and taken + step > columns:
            return text[:index] + " " * (columns - taken)
        taken += step
    return text + " " * max(columns - taken, 0)
