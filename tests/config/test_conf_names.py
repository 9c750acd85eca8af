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
    ],
    ids=["nul", "tab", "escape", "latin-1", "c1"],
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


def test_bad_name_in_the_environment(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(default_path=tmp_path / "x", environ={"MODLOADER_LOAD": "ok,a\x07b"})
    assert str(info.value) == (
        "MODLOADER_LOAD: Invalid module name 'a\\x07b' in 'load': "
        "it holds the control character U+0007"
    )


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
