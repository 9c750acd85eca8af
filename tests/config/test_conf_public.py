"""load_config is public, checks its arguments, and the directives are defined once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import modloader
from modloader._config._directives import SPECS
from modloader._config._parser import parse_file
from modloader._config.settings import ModulesSettings

Write = Callable[..., Path]


def test_load_config_is_public(write: Write) -> None:
    path = write("modules.conf", "[modules]\nautoload = no\nrequire => a\n")
    config = modloader.load_config(path=path, environ={})
    assert isinstance(config, modloader.ModulesConfig)
    assert config.entries == (modloader.ModuleEntry("a", True, False, str(path), 3),)
    assert "load_config" in modloader.__all__


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"path": 3},
            "load_config: 'path' must be a path (str or os.PathLike) or None, not int",
        ),
        (
            {"default_path": ["a"]},
            "load_config: 'default_path' must be a path (str or os.PathLike) or None, not list",
        ),
        ({"values": ["load"]}, "load_config: 'values' must be a mapping or None, not list"),
        ({"environ": "x"}, "load_config: 'environ' must be a mapping or None, not str"),
        ({"env_prefix": None}, "load_config: 'env_prefix' must be a str, not NoneType"),
        ({"builtins": "core"}, "load_config: 'builtins' must be a collection of names, not str"),
    ],
    ids=["path", "default-path", "values", "environ", "prefix", "builtins"],
)
def test_wrong_argument_types_are_named(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError) as info:
        modloader.load_config(**kwargs)
    assert str(info.value) == message


def test_every_directive_comes_from_the_one_table(write: Write) -> None:
    assert list(ModulesSettings.model_fields) == [spec.field for spec in SPECS]
    lines = "".join(
        f"{spec.key} => {'yes' if spec.field == 'autoload' else 'x'}\n" for spec in SPECS
    )
    raw = parse_file(str(write("modules.conf", "[modules]\n" + lines)))
    assert (raw.errors, [d.key for d in raw.directives]) == ([], [spec.key for spec in SPECS])
    environ = {f"MODLOADER_{spec.field.upper()}": f"m_{spec.field}" for spec in SPECS[1:]}
    config = modloader.load_config(environ={**environ, "MODLOADER_AUTOLOAD": "no"})
    assert config.autoload is False
    assert [(e.name, e.required, e.preload, e.source) for e in config.entries] == [
        ("m_preload_require", True, True, "MODLOADER_PRELOAD_REQUIRE"),
        ("m_preload", False, True, "MODLOADER_PRELOAD"),
        ("m_require", True, False, "MODLOADER_REQUIRE"),
        ("m_load", False, False, "MODLOADER_LOAD"),
    ]
    assert config.noload == ("m_noload",)
