"""``Host(...)``'s arguments are checked at the call, each wrong one named."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from modloader import ModuleEntry
from modloader import ModulesConfig
from modloader import load_config
from modloader._hostargs import check_callable
from modloader._hostargs import check_flag
from modloader._hostargs import check_host_arguments
from modloader._hostargs import check_line
from modloader._hostargs import check_name
from modloader._hostargs import check_timeout
from modloader._hostargs import wait_seconds

_GOOD: dict[str, Any] = {
    "namespace": "ns",
    "config_path": None,
    "default_config_path": "modules.conf",
    "env_prefix": "APP_",
    "strict_hooks": False,
    "settings": {},
    "builtins": None,
    "discovery": None,
    "config": None,
    "cache_dir": None,
    "module_settings": None,
    "config_dir": None,
    "module_timeout": 30.0,
    "switch_interval": None,
    "operation_switch_interval": 0.0001,
}

#: A configuration made in code comes with no source to read.
_IN_CODE = {**_GOOD, "default_config_path": None, "settings": None}


def test_good_arguments_pass() -> None:
    check_host_arguments(**_GOOD)


@pytest.mark.parametrize(
    ("param", "value", "error"),
    [
        ("namespace", 3, TypeError),
        ("namespace", "  ", ValueError),
        ("config_path", 3, TypeError),
        ("cache_dir", b"/tmp", TypeError),
        ("env_prefix", None, TypeError),
        ("strict_hooks", "no", TypeError),
        ("module_settings", ["a"], TypeError),
        ("discovery", object(), TypeError),
        ("config", "modules.conf", TypeError),
        ("module_timeout", 0, ValueError),
        ("switch_interval", True, TypeError),
        ("operation_switch_interval", float("inf"), ValueError),
        ("module_timeout", 1e300, ValueError),  # longer than a thread can wait
        ("module_settings", {123: {"level": 2}}, TypeError),
        ("module_settings", {"res_m": 5}, TypeError),
        ("module_settings", {" ": {}}, ValueError),
        ("builtins", {1: object()}, TypeError),
        ("builtins", {"": object()}, TypeError),
    ],
)
def test_each_wrong_argument_is_named(param: str, value: object, error: type[Exception]) -> None:
    with pytest.raises(error, match=f"'{param}'"):
        check_host_arguments(**{**_GOOD, param: value})


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (ModulesConfig(autoload="no"), "field autoload must be True or False, not 'no'"),  # type: ignore[arg-type]
        (ModulesConfig(entries=3), "field entries must be a tuple of ModuleEntry, not 3"),  # type: ignore[arg-type]
        (ModulesConfig(entries=("res_a",)), "field entries must be a tuple of ModuleEntry"),  # type: ignore[arg-type]
        (ModulesConfig(noload="res_a"), "field noload must be a tuple of module names"),  # type: ignore[arg-type]
        (ModulesConfig(noload=(" ",)), "field noload must be a tuple of module names"),
        (
            ModulesConfig(entries=(ModuleEntry("res_a", required="no"),)),  # type: ignore[arg-type]
            "field entries\\[0\\].required must be True or False, not 'no'",
        ),
        (
            ModulesConfig(entries=(ModuleEntry("a"), ModuleEntry(3))),  # type: ignore[arg-type]
            "field entries\\[1\\].name must be a module name",
        ),
        (
            ModulesConfig(noload_at=(ModuleEntry("a", line="7"),)),  # type: ignore[arg-type]
            "field noload_at\\[0\\] must be a ModuleEntry with a str source and an int line",
        ),
        (ModulesConfig(files="modules.conf"), "field files must be a tuple of paths"),  # type: ignore[arg-type]
        (ModulesConfig(path=Path("m.conf")), "field path must be a str or None"),  # type: ignore[arg-type]
    ],
)
def test_a_config_made_in_code_is_checked_field_by_field(
    config: ModulesConfig, message: str
) -> None:
    """What startup would misread: ``autoload="no"`` autoloaded, ``noload="res_a"``
    noloaded nothing, ``required="no"`` required; the others failed deep in startup."""
    with pytest.raises(TypeError, match=f"^Host\\(\\): 'config' {message}"):
        check_host_arguments(**{**_IN_CODE, "config": config})


def test_a_config_as_load_config_makes_it_passes() -> None:
    config = load_config(values={"load": ["res_a"], "noload": "res_b", "autoload": "no"})
    check_host_arguments(**{**_IN_CODE, "config": config})
    check_host_arguments(**{**_IN_CODE, "config": ModulesConfig(entries=[ModuleEntry("res_a")])})


@pytest.mark.parametrize(
    ("param", "value"),
    [("config_path", "modules.conf"), ("default_config_path", "modules.conf"), ("settings", {})],
)
def test_a_config_in_code_with_a_source_it_would_not_read(param: str, value: object) -> None:
    with pytest.raises(
        TypeError,
        match=rf"^Host\(\): 'config' is the whole configuration, used as it is; "
        rf"give '{param}' or 'config', not both$",
    ):
        check_host_arguments(**{**_IN_CODE, "config": ModulesConfig(), param: value})


def test_names_and_timeouts() -> None:
    assert check_name("use", "name", "res_a") == "res_a"
    with pytest.raises(ValueError, match="must not be empty"):
        check_name("use", "name", " ")
    with pytest.raises(TypeError, match="module name"):
        check_name("load", "name", None)
    check_timeout(None)
    check_timeout(2)
    check_timeout(threading.TIMEOUT_MAX)
    with pytest.raises(
        ValueError, match=r"must be at most 9\.2\d*e\+09 seconds \(None: no limit\)"
    ):
        check_timeout(threading.TIMEOUT_MAX * 2)


def test_wait_seconds() -> None:
    assert wait_seconds("wait_for_stop", None) is None
    assert wait_seconds("wait_for_stop", 2) == 2.0
    assert wait_seconds("wait_for_stop", 1e300) is None  # longer than a thread can wait: for good
    with pytest.raises(TypeError, match=r"^wait_for_stop\(\): 'timeout' must be seconds"):
        wait_seconds("wait_for_stop", "soon")
    with pytest.raises(ValueError, match=r"^wait_for_stop\(\): 'timeout' must be seconds"):
        wait_seconds("wait_for_stop", float("nan"))


def test_callbacks_and_command_lines() -> None:
    check_callable("subscribe", "callback", print)
    with pytest.raises(TypeError, match=r"^subscribe\(\): 'callback' must be callable, not 42$"):
        check_callable("subscribe", "callback", 42)
    assert check_line("run", "module show") == "module show"
    with pytest.raises(TypeError, match=r"^run\(\): 'line' must be a command line \(str\)"):
        check_line("run", b"module show")


def test_flags_are_bools_only() -> None:
    assert check_flag("stop", "graceful", False) is False
    assert check_flag("refresh", "recursive", True) is True
    for truthy in ("no", 1, [0]):
        with pytest.raises(TypeError, match=r"^refresh\(\): 'recursive' must be True or False"):
            check_flag("refresh", "recursive", truthy)


def test_module_settings_errors_name_types_not_values() -> None:
    # A module's settings may be secrets: a wrong one is named by its type only.
    with pytest.raises(TypeError) as info:
        check_host_arguments(**{**_GOOD, "module_settings": {"res_db": "hunter2"}})
    assert str(info.value) == (
        "Host(): 'module_settings': the settings of 'res_db' must be a mapping "
        "(setting -> value), not of type str"
    )


def test_a_discovery_of_another_namespace_is_refused() -> None:
    from modloader import StaticDiscovery

    check_host_arguments(**{**_GOOD, "discovery": StaticDiscovery("ns", {})})
    with pytest.raises(
        ValueError, match=r"^Host\(\): 'discovery' reads the namespace 'other', not 'ns'$"
    ):
        check_host_arguments(**{**_GOOD, "discovery": StaticDiscovery("other", {})})
