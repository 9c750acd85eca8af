"""The lexer: comments, section headers, # lines and key/value splitting."""

from __future__ import annotations

import pytest

from modloader._config._lexer import Assign
from modloader._config._lexer import Bare
from modloader._config._lexer import Hash
from modloader._config._lexer import Section
from modloader._config._lexer import decode
from modloader._config._lexer import strip_comments
from modloader._config._lexer import tokenize
from modloader.errors import ConfigIssue


@pytest.mark.parametrize(
    ("line", "depth", "visible", "after"),
    [
        ("load => a.so ; comment", 0, "load => a.so ", 0),
        ("load => a\\;b", 0, "load => a;b", 0),
        (";------------;", 0, "", 0),
        (";-----------------------------", 0, "", 0),
        (";-- opens", 0, "", 1),
        ("load => a ;-- inline --; .so", 0, "load => a  .so", 0),
        ("still inside --; load => b", 1, " load => b", 0),
        ("inside ; plain semicolon", 1, "", 1),
        ("nested ;-- deeper", 1, "", 2),
        ("--; out of one", 2, "", 1),
        ("load => x --; tail", 0, "load => x --", 0),
        ("no comment at all", 0, "no comment at all", 0),
        ("", 1, "", 1),
    ],
    ids=[
        "trailing",
        "escaped",
        "banner",
        "banner-open",
        "block-open",
        "block-inline",
        "block-close",
        "plain-in-block",
        "nested",
        "nested-close",
        "close-outside-block",
        "none",
        "empty-in-block",
    ],
)
def test_strip_comments(line: str, depth: int, visible: str, after: int) -> None:
    assert strip_comments(line, depth) == (visible, after)


def test_decode_bom_and_bad_bytes() -> None:
    assert decode(b"\xef\xbb\xbf[modules]") == "[modules]"
    assert decode(b"; caf\xe9\nload=a") == "; caf\ufffd\nload=a"


def _tokens(text: str) -> list[object]:
    return list(tokenize(text, "m.conf"))


@pytest.mark.parametrize(
    ("line", "token"),
    [
        ("[modules]", Section(1, "modules")),
        ("[modules]   ", Section(1, "modules")),
        ("[modules](!)", Section(1, "modules", "!")),
        ("[modules] (tpl1,tpl2)", Section(1, "modules", "tpl1,tpl2")),
        ("load => a.so", Assign(1, "load", "a.so")),
        ("load=>a.so", Assign(1, "load", "a.so")),
        ("load=a.so", Assign(1, "load", "a.so")),
        ("load  =   a.so  ", Assign(1, "load", "a.so")),
        ("\tLoad\t=>\ta.so", Assign(1, "Load", "a.so")),
        ("noload => a.sonoload => b.so", Assign(1, "noload", "a.sonoload => b.so")),
        ("load = a=b", Assign(1, "load", "a=b")),
        ("autoload =", Assign(1, "autoload", "")),
        ('#include "x y.conf"', Hash(1, "include", '"x y.conf"')),
        ("#tryinclude\tx.conf", Hash(1, "tryinclude", "x.conf")),
        ("###modules.conf", Hash(1, "##modules.conf", "")),
        ("#", Hash(1, "", "")),
        ("just words", Bare(1, "just words")),
    ],
)
def test_classify(line: str, token: object) -> None:
    assert _tokens(line) == [token]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("[modules", "Bad section header '[modules': no closing ']'"),
        ("[]", "Bad section header '[]': no name"),
        (
            "[modules] junk",
            "Bad section header '[modules] junk': only a '(...)' template may follow ']'",
        ),
        ("[modules](!", "Bad section header '[modules](!': only a '(...)' template may follow ']'"),
    ],
    ids=["unclosed", "empty", "junk", "unclosed-template"],
)
def test_bad_section(line: str, message: str) -> None:
    assert _tokens(line) == [ConfigIssue("m.conf", 1, "bad-section", message)]


def test_line_numbers_crlf_and_blank_lines() -> None:
    text = "\r\n[modules]\r\n\r\n  \t\r\nload => a ; c\r\nnoload => b"
    assert _tokens(text) == [
        Section(2, "modules"),
        Assign(5, "load", "a"),
        Assign(6, "noload", "b"),
    ]


def test_block_comment_spanning_lines_hides_directives() -> None:
    text = "[modules]\nload => a\n;-- start\nload => hidden\n;noload => x\nend --;\nload => b\n"
    assert _tokens(text) == [Section(1, "modules"), Assign(2, "load", "a"), Assign(7, "load", "b")]


def test_unterminated_block_comment_is_an_error_at_its_opening_line() -> None:
    text = "[modules]\nload => a\n;-- never closed\nload => b\n"
    assert _tokens(text)[-1] == ConfigIssue(
        "m.conf", 3, "syntax", "Block comment opened with ';--' is never closed with '--;'"
    )
