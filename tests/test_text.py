"""Text as a terminal shows it: control characters escaped, widths in columns."""

import pytest

from modloader._text import cell
from modloader._text import escape_controls
from modloader._text import fit
from modloader._text import plain_ascii
from modloader._text import width


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain text, accents: caf\u00e9 \u2615", "plain text, accents: caf\u00e9 \u2615"),
        ("tabs\tand\nnewlines\n", "tabs\tand\nnewlines\n"),
        ("a back\\slash stays", "a back\\slash stays"),
        ("\x1b]0;owned\x07", "\\x1b]0;owned\\x07"),
        ("\x1b[2J\x1b[31mred", "\\x1b[2J\\x1b[31mred"),
        ("over\rwrite", "over\\x0dwrite"),
        ("nul\x00 del\x7f c1\x9b", "nul\\x00 del\\x7f c1\\x9b"),
        ("bidi \u202eevil\u2066", "bidi \\u202eevil\\u2066"),
        ("line\u2028sep", "line\\u2028sep"),
        ("undecodable \udcff", "undecodable \\udcff"),
    ],
    ids=[
        "plain",
        "tabs-newlines",
        "backslash",
        "osc-title-bell",
        "csi",
        "carriage-return",
        "nul-del-c1",
        "bidi",
        "line-separator",
        "lone-surrogate",
    ],
)
def test_escape_controls(text, shown):
    assert escape_controls(text) == shown


@pytest.mark.parametrize(
    ("text", "columns"),
    [
        ("plain", 5),
        ("caf\u00e9", 4),
        ("cafe\u0301", 4),  # e and a combining acute accent: one column
        ("\u65e5\u672c\u8a9e", 6),  # three CJK characters, two columns each
        ("\uff21", 2),  # a fullwidth A
        ("zero\u200bwidth", 9),  # a zero-width space (a format character)
        ("", 0),
    ],
)
def test_width_counts_terminal_columns(text, columns):
    assert width(text) == columns


def test_a_cell_escapes_tabs_and_newlines_too():
    assert cell("a\tb\nc\x1b[2J") == "a\\x09b\\x0ac\\x1b[2J"
    assert cell("plain text") == "plain text"


@pytest.mark.parametrize(
    ("text", "cut", "shown"),
    [
        ("abc", False, "abc   "),
        ("abcdefgh", False, "abcdefgh"),
        ("abcdefgh", True, "abcdef"),
        ("\u65e5\u672c\u8a9e\u306e", True, "\u65e5\u672c\u8a9e"),
        # A wide character that would cross the edge is left out; its column padded.
        ("a\u65e5\u672c\u8a9e", True, "a\u65e5\u672c "),
        ("cafe\u0301", False, "cafe\u0301  "),
        ("bell\x07", True, "bell\\x"),
    ],
)
def test_fit_pads_and_cuts_to_columns(text, cut, shown):
    assert fit(text, 6, cut=cut) == shown
    if cut or width(cell(text)) <= 6:
        assert width(fit(text, 6, cut=cut)) == 6


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("plain text, 0 to 9 ~", True),
        ("", True),
        ("tab\there", False),
        ("del\x7f", False),
        ("nul\x00", False),
        ("caf\u00e9", False),
        ("wide \u65e5", False),
    ],
)
def test_plain_ascii(text, plain):
    assert plain_ascii(text) is plain
    assert plain_ascii(text * 1000) is plain  # the long text a whole table is
