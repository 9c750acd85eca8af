"""Module names are text: control characters and bytes that were not UTF-8 are refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modloader import ConfigError
from modloader import load_config
from modloader._config import read_modules_conf

Write = Callable[..., Path]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"load => a\x00b",
            "Invalid module name 'a\\x00b' in 'load': it holds the control character U+0000",
        ),
        (
            b"require => a\tb",
            "Invalid module name 'a\\tb' in 'require': it holds the control character U+0009",
        ),
        (
            b"noload => res_\x1b[31mred",
            "Invalid module name 'res_\\x1b[31mred' in 'noload': "
            "it holds the control character U+001B",
        ),
        (
            b"preload => caf\xe9",
            "Invalid module name 'caf\ufffd' in 'preload': it holds bytes that are not UTF-8",
        ),
        (
            b"load => line\xc2\x85next",
            "Invalid module name 'line\\x85next' in 'load': it holds the control character U+0085",
        ),
        (
            b"noload => res_hello\x1c",
            "Invalid module name 'res_hello\\x1c' in 'noload': "
            "it holds the control character U+001C",
        ),
        (
            b"load =\x1fres_store",
            "Invalid module name '\\x1fres_store' in 'load': it holds the control character U+001F",
        ),
        (
            b"load => res_x\xc2\x85 ",
            "Invalid module name 'res_x\\x85' in 'load': it holds the control character U+0085",
        ),
    ],
    # At a name's ends too: Python's str.strip() takes U+001C to U+001F and U+0085 for blanks.
    ids=["nul", "tab", "escape", "latin-1", "c1", "c0-at-the-end", "c0-first", "c1-at-the-end"],
)
def test_bad_name_in_the_file(write: Write, chdir_tmp: Path, data: bytes, message: str) -> None:
    write("modules.conf", b"[modules]\nload => fine\n" + data + b"\nload => also_fine\n")
    parsed = read_modules_conf("modules.conf")
    assert [str(i) for i in parsed.errors] == [f"modules.conf:3: {message}"]
    assert parsed.errors[0].kind == "bad-name"
    assert [e.name for e in parsed.entries] == ["fine", "also_fine"]
    with pytest.raises(ConfigError) as info:
        load_config(path="modules.conf", environ={})
    assert str(info.value) == f"modules.conf:3: {message}"


def test_non_ascii_names_are_fine(write: Write) -> None:
    path = write("modules.conf", "[modules]\nload => res_café\n")
    assert [e.name for e in load_config(path=path, environ={}).entries] == ["res_café"]


@pytest.mark.parametrize(
    ("value", "shown"),
    [("ok,a\x07b", "a\\x07b"), ("ok, \x1fb", "\\x1fb"), ('["ok", "b\\u001e "]', "b\\x1e")],
)
def test_bad_name_in_the_environment(tmp_path: Path, value: str, shown: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(default_path=tmp_path / "x", environ={"MODLOADER_LOAD": value})
    assert str(info.value).startswith(f"MODLOADER_LOAD: Invalid module name '{shown}' in 'load': ")


def test_blanks_around_names_are_not_part_of_them(tmp_path: Path) -> None:
    environ = {"MODLOADER_LOAD": " a ,\tb\r", "MODLOADER_NOLOAD": '[" c\\u000b"]'}
    config = load_config(default_path=tmp_path / "x", environ=environ)
    assert [e.name for e in config.entries] == ["a", "b"]
    assert config.noload == ("c",)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"load": ["x\udcff"]},
            "<code>: Invalid module name 'x\\udcff' in 'load': it holds bytes that are not UTF-8",
        ),
        (
            {"preload-require": "a\x7f"},
            "<code>: Invalid module name 'a\\x7f' in 'preload-require': "
            "it holds the control character U+007F",
        ),
    ],
)
def test_bad_name_from_code(tmp_path: Path, values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(default_path=tmp_path / "x", environ={}, values=values)
    assert str(info.value) == message
    assert [i.kind for i in info.value.issues] == ["bad-name"]


@pytest.mark.parametrize(("word", "value"), [(" no\t", False), ("\tYes ", True)])
def test_blanks_around_autoload_are_not_part_of_it(tmp_path: Path, word: str, value: bool) -> None:
    environ = {"MODLOADER_AUTOLOAD": word}
    assert load_config(default_path=tmp_path / "x", environ=environ).autoload is value
    assert (
        load_config(default_path=tmp_path / "x", environ={}, values={"autoload": word}).autoload
        is value
    )
