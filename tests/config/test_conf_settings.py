"""load_config: the sources, their precedence, the order, and errors that name their source."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modloader._config import ModuleEntry
from modloader._config import ModulesConfig
from modloader._config import load_config
from modloader.errors import ConfigError

Write = Callable[..., Path]

CONF = "[modules]\nautoload = no\nload => a\nrequire => b\npreload => c\nnoload => d\n"


def _entries(config: ModulesConfig) -> list[tuple[str, str]]:
    return [(e.name, e.source) for e in config.entries]


def _error(**kwargs: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(**kwargs)
    return info.value


def test_defaults_without_any_source(tmp_path: Path) -> None:
    config = load_config(default_path=tmp_path / "absent.conf", environ={})
    assert config == ModulesConfig(autoload=True)


def test_file_only(write: Write) -> None:
    path = write("modules.conf", CONF)
    config = load_config(path=path, environ={})
    assert config.autoload is False
    assert config.entries == (
        ModuleEntry("a", False, False, str(path), 3),
        ModuleEntry("b", True, False, str(path), 4),
        ModuleEntry("c", False, True, str(path), 5),
    )
    assert (config.noload, config.path, config.files) == (("d",), str(path), (str(path),))


def test_default_path_is_read_when_present(write: Write) -> None:
    path = write("modules.conf", CONF)
    assert load_config(default_path=path, environ={}).path == str(path)


def test_explicit_path_wins_over_default_path(write: Write) -> None:
    explicit = write("explicit.conf", "[modules]\nload => x\n")
    default = write("modules.conf", CONF)
    config = load_config(path=explicit, default_path=default, environ={})
    assert [e.name for e in config.entries] == ["x"]


def test_explicit_path_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.conf"
    error = _error(path=missing, environ={})
    assert str(error) == f"{missing}: Configuration file '{missing}' does not exist"
    assert [i.kind for i in error.issues] == ["missing-file"]
    assert error.exit_code == 1


def test_environment_replaces_the_file_field_by_field(write: Write) -> None:
    path = write("modules.conf", CONF)
    environ = {"MODLOADER_AUTOLOAD": "YES", "MODLOADER_LOAD": "x, y ,", "OTHER_LOAD": "z"}
    config = load_config(path=path, environ=environ)
    assert config.autoload is True
    # The file's require/preload/noload stay; its load lines are replaced (no merging).
    assert _entries(config) == [
        ("b", str(path)),
        ("c", str(path)),
        ("x", "MODLOADER_LOAD"),
        ("y", "MODLOADER_LOAD"),
    ]
    assert config.noload == ("d",)


def test_environment_json_list_and_lower_case_name(write: Write) -> None:
    path = write("modules.conf", CONF)
    environ = {"modloader_noload": '["x", "Y.so"]', "MODLOADER_PRELOAD_REQUIRE": "p"}
    config = load_config(path=path, environ=environ)
    assert config.noload == ("x", "Y.so")
    assert [(e.name, e.required, e.preload) for e in config.entries] == [
        ("a", False, False),
        ("b", True, False),
        ("c", False, True),
        ("p", True, True),
    ]


def test_empty_environment_list_clears_the_file_value(write: Write) -> None:
    path = write("modules.conf", CONF)
    assert load_config(path=path, environ={"MODLOADER_NOLOAD": ""}).noload == ()


def test_host_prefix(write: Write) -> None:
    path = write("modules.conf", CONF)
    environ = {"MYAPP_AUTOLOAD": "yes", "MODLOADER_AUTOLOAD": "maybe"}
    assert load_config(path=path, env_prefix="MYAPP_", environ=environ).autoload is True


def test_code_beats_environment_beats_file(write: Write) -> None:
    path = write("modules.conf", CONF)
    config = load_config(
        path=path,
        environ={"MODLOADER_LOAD": "env_a", "MODLOADER_AUTOLOAD": "yes"},
        values={"load": ["code_a"], "autoload": False, "preload-require": "pr1,pr2"},
    )
    assert config.autoload is False
    assert _entries(config) == [
        ("b", str(path)),
        ("c", str(path)),
        ("pr1", "<code>"),
        ("pr2", "<code>"),
        ("code_a", "<code>"),
    ]


def test_os_environ_is_the_default(write: Write, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write("modules.conf", CONF)
    monkeypatch.setenv("MODLOADER_AUTOLOAD", "on")
    assert load_config(path=path).autoload is True


def test_order_file_fields_first_then_appended_fields_in_fixed_order(write: Write) -> None:
    path = write("modules.conf", "[modules]\nload => f1\npreload => f2\nload => f3\n")
    config = load_config(
        path=path,
        environ={"MODLOADER_REQUIRE": "e_req", "MODLOADER_PRELOAD_REQUIRE": "e_pr"},
        values={"preload": ["c_pre"]},
    )
    # File-sourced fields (load) keep file order; then preload-require, preload, require, load.
    assert [e.name for e in config.entries] == ["f1", "f3", "e_pr", "c_pre", "e_req"]


def test_merge_across_sources(write: Write) -> None:
    path = write("modules.conf", "[modules]\nload => Res_A.so\n")
    config = load_config(path=path, environ={"MODLOADER_REQUIRE": "res_a"})
    assert config.entries == (ModuleEntry("Res_A.so", True, False, str(path), 2),)


def test_bad_environment_value_names_the_variable(write: Write) -> None:
    path = write("modules.conf", CONF)
    error = _error(path=path, environ={"MODLOADER_AUTOLOAD": "maybe"})
    assert str(error) == (
        "MODLOADER_AUTOLOAD: Invalid value 'maybe' for 'autoload': expected "
        "yes/true/y/t/1/on or no/false/n/f/0/off (any case)"
    )
    assert [(i.source, i.line, i.kind) for i in error.issues] == [
        ("MODLOADER_AUTOLOAD", 0, "bad-bool")
    ]


@pytest.mark.parametrize(
    ("variable", "value"), [("MODLOADER_AUTOLOAD", "maybe"), ("MODLOADER_NOLOAD", "[")]
)
def test_the_process_environment_does_not_leak_into_checking_the_file(
    write: Write, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    # The file's lines are checked one field at a time: os.environ must play no part.
    monkeypatch.setenv(variable, value)
    path = write("modules.conf", CONF)
    error = _error(path=path)
    assert [i.source for i in error.issues] == [variable]
    config = load_config(path=path, env_prefix="MYAPP_")
    assert config.autoload is False
    assert load_config(path=path, environ={}) == config


def test_bad_json_list_in_the_environment(tmp_path: Path) -> None:
    error = _error(default_path=tmp_path / "x", environ={"MODLOADER_NOLOAD": '["a", 1]'})
    assert str(error) == "MODLOADER_NOLOAD: Invalid value for 'noload': 1 is not a module name"
    error = _error(default_path=tmp_path / "x", environ={"MODLOADER_NOLOAD": '["a"'})
    assert str(error).startswith("MODLOADER_NOLOAD: Invalid value for 'noload': not a JSON list")
    # Deeper than the JSON reader goes: it was a RecursionError and a traceback.
    deep = "[" * 100_000 + "]" * 100_000
    error = _error(default_path=tmp_path / "x", environ={"MODLOADER_NOLOAD": deep})
    assert str(error) == (
        "MODLOADER_NOLOAD: Invalid value for 'noload': not a JSON list (nested too deeply)"
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"autoload": "sometimes"},
            "<code>: Invalid value 'sometimes' for 'autoload': expected "
            "yes/true/y/t/1/on or no/false/n/f/0/off (any case)",
        ),
        (
            {"load": 3},
            "<code>: Invalid value for 'load': expected a list of module names or a "
            "comma-separated string",
        ),
        ({"require": ["ok", ""]}, "<code>: Invalid value for 'require': '' is not a module name"),
        ({"lod": ["a"]}, "<code>: Unknown configuration option 'lod' (did you mean 'load'?)"),
    ],
    ids=["bool", "type", "empty-name", "unknown"],
)
def test_bad_code_values(tmp_path: Path, values: dict[str, Any], message: str) -> None:
    assert str(_error(default_path=tmp_path / "x", environ={}, values=values)) == message


@pytest.mark.parametrize(
    ("env", "how"),
    [("MODLOADER_REQUIRE", "require"), ("MODLOADER_PRELOAD_REQUIRE", "preload-require")],
)
def test_noload_of_a_required_module_across_sources(write: Write, env: str, how: str) -> None:
    path = write("modules.conf", "[modules]\nnoload => res_x.so\n")
    error = _error(path=path, environ={env: "RES_X"})
    assert str(error) == (
        f"{path}:2: res_x.so is configured with '{how}' and 'noload', this is impossible."
    )


def test_stronger_noload_replaces_the_file_noload_so_no_conflict(write: Write) -> None:
    path = write("modules.conf", "[modules]\nrequire => a\nnoload => a\n")
    with pytest.raises(ConfigError):
        load_config(path=path, environ={})
    config = load_config(path=path, environ={"MODLOADER_NOLOAD": "other"})
    assert [e.name for e in config.entries] == ["a"]


def test_noload_of_a_builtin_from_code(tmp_path: Path) -> None:
    error = _error(
        default_path=tmp_path / "x", environ={}, values={"noload": ["Core.so"]}, builtins=["core"]
    )
    assert str(error) == "<code>: Core.so is a built-in module, you cannot specify 'noload'."


def test_every_issue_of_every_source_at_once(write: Write) -> None:
    path = write("modules.conf", "[modules]\nlod => a\nrequire => r\n#exec x\n")
    error = _error(
        path=path,
        environ={"MODLOADER_AUTOLOAD": "maybe", "MODLOADER_NOLOAD": "r"},
        values={"preload": 1, "bogus": 1},
    )
    assert [(i.source, i.line, i.kind) for i in error.issues] == [
        (str(path), 2, "unknown-option"),
        (str(path), 4, "exec-refused"),
        ("MODLOADER_AUTOLOAD", 0, "bad-bool"),
        ("MODLOADER_NOLOAD", 0, "noload-required"),
        ("<code>", 0, "unknown-option"),
        ("<code>", 0, "bad-value"),
    ]


def test_file_errors_are_reported_even_when_a_stronger_source_replaces_the_field(
    write: Write,
) -> None:
    path = write("modules.conf", "[modules]\nautoload = perhaps\n")
    error = _error(path=path, environ={"MODLOADER_AUTOLOAD": "yes"})
    assert [(i.line, i.kind) for i in error.issues] == [(2, "bad-bool")]


def test_warnings_are_carried(write: Write) -> None:
    path = write("modules.conf", "[modules]\n#pragma x\n")
    (warning,) = load_config(path=path, environ={}).warnings
    assert (warning.line, warning.kind) == (2, "unknown-hash")


def test_settings_model_directly() -> None:
    from modloader._config.settings import ModulesSettings

    raw: dict[str, Any] = {"noload": "a, b", "autoload": "off"}
    settings = ModulesSettings(**raw)
    assert (settings.noload, settings.autoload, settings.load) == (("a", "b"), False, ())


def test_settings_model_directly_reads_modloader_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from modloader._config.settings import ModulesSettings

    monkeypatch.setenv("MODLOADER_LOAD", '["x"]')
    assert ModulesSettings().load == ("x",)
