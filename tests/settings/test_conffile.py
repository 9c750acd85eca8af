"""A module's own .conf file read into sections: the modules.conf syntax plus templates."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modloader._settings.conffile import read_conf_file


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def sections(path: Path) -> dict[str, list[tuple[str, str, int]]]:
    conf = read_conf_file(path)
    assert conf.errors == [], conf.errors
    return {s.name: [(e.key, e.value, e.line) for e in s.entries] for s in conf.sections}


def test_every_section_with_comments_arrows_and_repeated_keys(tmp_path: Path) -> None:
    conf = write(
        tmp_path / "x.conf",
        "; header\n[general]\ncapacity = 5 ; five\ntag => a\ntag = b\n"
        ";-- block\n--;\n[limits]\nhigh=3\n",
    )
    assert sections(conf) == {
        "general": [("capacity", "5", 3), ("tag", "a", 4), ("tag", "b", 5)],
        "limits": [("high", "3", 9)],
    }


def test_includes_continue_the_current_section(tmp_path: Path) -> None:
    write(tmp_path / "extra.conf", "label = from include\n[limits]\nlow = 1\n")
    conf = write(tmp_path / "x.conf", "[general]\n#include extra.conf\n")
    conf_file = read_conf_file(conf)
    assert [(s.name, [(e.key, e.source) for e in s.entries]) for s in conf_file.sections] == [
        ("general", [("label", str(tmp_path / "extra.conf"))]),
        ("limits", [("low", str(tmp_path / "extra.conf"))]),
    ]


def test_templates_inheritance_and_adding_to_a_section(tmp_path: Path) -> None:
    conf = write(
        tmp_path / "x.conf",
        "[base](!)\nport = 5070\ncodecs = ulaw\n"
        "[alice](base)\nhost = a\ncodecs = alaw\n"
        "[bob](base) ; comment\nhost = b\n"
        "[alice](+)\nport = 1\n",
    )
    assert sections(conf) == {
        "alice": [
            ("port", "5070", 2),
            ("codecs", "ulaw", 3),
            ("host", "a", 5),
            ("codecs", "alaw", 6),
            ("port", "1", 10),
        ],
        "bob": [("port", "5070", 2), ("codecs", "ulaw", 3), ("host", "b", 8)],
    }


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("[a](nope)\nx = 1\n", 1, "[a] inherits from 'nope', which is not defined before it"),
        ("[a](+)\n", 1, "[a](+) adds to a section that is not defined before it"),
        (
            "[a]\n[a]\n",
            2,
            "Section [a] is defined twice (first at {path}:1); write [a](+) to add to it",
        ),
        ("x = 1\n", 1, "'x' is set before any section header (put it under [general])"),
        # The line is not echoed: it may hold a secret ("password hunter2").
        (
            "[general]\njunk\n",
            2,
            "Expected 'key = value' or 'key => value' (the line is not shown)",
        ),
        ("[general\n", 1, "Bad section header '[general': no closing ']'"),
        ("[general]\n#exec ls\n", 2, "'#exec' is refused"),
        ("[general]\n#include none.conf\n", 2, "#include 'none.conf': no such file"),
    ],
    ids=[
        "unknown-base",
        "add-undefined",
        "twice",
        "no-section",
        "bare",
        "header",
        "exec",
        "include",
    ],
)
def test_bad_input_is_named_by_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = write(tmp_path / "x.conf", text)
    (issue,) = read_conf_file(path).errors
    assert (issue.source, issue.line) == (str(path), line)
    assert message.format(path=path) in issue.message


def test_a_missing_file_is_empty_not_an_error(tmp_path: Path) -> None:
    conf = read_conf_file(tmp_path / "none.conf")
    assert (conf.exists, conf.sections, conf.errors) == (False, [], [])


def test_a_directory_where_the_file_should_be(tmp_path: Path) -> None:
    (tmp_path / "x.conf").mkdir()
    (issue,) = read_conf_file(tmp_path / "x.conf").errors
    assert str(issue) == f"{tmp_path / 'x.conf'}: is a directory, not a settings file"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path / "x.conf", "[general]\n")
    path.chmod(0)
    (issue,) = read_conf_file(path).errors
    assert issue.source == str(path)
    assert "Cannot read" in issue.message


def test_a_dangling_symbolic_link_cannot_be_read(tmp_path: Path) -> None:
    path = tmp_path / "x.conf"
    path.symlink_to(tmp_path / "gone.conf")
    (issue,) = read_conf_file(path).errors
    assert str(issue) == f"{path}: Cannot read '{path}': No such file or directory"
