"""What the arguments of :class:`~modloader.Host` (and of
:class:`~modloader.RemoteHost`) must be: a wrong one fails at the call, naming the
parameter, never deep inside a later operation."""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from modloader.module import UnloadMode

__all__ = [
    "check_flag",
    "check_host_arguments",
    "check_mode",
    "check_name",
    "check_namespace",
    "check_path",
    "check_timeout",
]


def check_host_arguments(
    *,
    namespace: object,
    config_path: object,
    default_config_path: object,
    env_prefix: object,
    strict_hooks: object,
    settings: object,
    builtins: object,
    discovery: object,
    config: object,
    cache_dir: object,
    module_settings: object,
    config_dir: object,
    module_timeout: object,
    switch_interval: object,
    operation_switch_interval: object,
    method: str = "Host",
) -> None:
    """``Host(...)``'s arguments (``method``: the class they are given to, for the
    messages): :class:`TypeError`/:class:`ValueError` naming the first that is wrong."""
    check_timeout(module_timeout, "module_timeout", method)
    check_timeout(switch_interval, "switch_interval", method)
    check_timeout(operation_switch_interval, "operation_switch_interval", method)
    check_namespace(method, namespace)
    check_path(method, "config_path", config_path)
    check_path(method, "default_config_path", default_config_path)
    if not isinstance(env_prefix, str):
        raise TypeError(f"{method}(): 'env_prefix' must be a str, not {env_prefix!r}")
    check_flag(method, "strict_hooks", strict_hooks)
    _check_mapping(method, "settings", settings)
    _check_mapping(method, "builtins", builtins)
    for name in builtins or {}:  # type: ignore[attr-defined]
        if not isinstance(name, str) or not name.strip():
            raise TypeError(
                f"{method}(): 'builtins' must map module names (str) to objects, not {name!r}"
            )
    if discovery is not None and not all(
        callable(getattr(discovery, m, None)) for m in ("scan", "load", "top_level_modules")
    ):
        raise TypeError(
            f"{method}(): 'discovery' must have scan(), load() and top_level_modules(), "
            f"not {discovery!r}"
        )
    theirs = getattr(discovery, "namespace", namespace)
    if isinstance(theirs, str) and theirs != namespace:  # its modules are another host's
        raise ValueError(
            f"{method}(): 'discovery' reads the namespace {theirs!r}, not {namespace!r}"
        )
    if config is not None:
        _check_config(method, config)
        sources = {"config_path": config_path, "default_config_path": default_config_path}
        for param, value in {**sources, "settings": settings}.items():
            if value is not None:  # it would be silently unread
                raise TypeError(
                    f"{method}(): 'config' is the whole configuration, used as it is; "
                    f"give '{param}' or 'config', not both"
                )
    check_path(method, "cache_dir", cache_dir)
    _check_module_settings(method, module_settings)
    check_path(method, "config_dir", config_dir)


def check_name(method: str, param: str, value: object) -> str:
    """A module name given to ``method``: a non-empty string."""
    if not isinstance(value, str):
        raise TypeError(f"{method}(): '{param}' must be a module name (str), not {value!r}")
    if not value.strip():
        raise ValueError(f"{method}(): '{param}' must not be empty")
    return value


def check_mode(method: str, value: object) -> UnloadMode:
    """How hard ``method`` unloads: an :class:`~modloader.UnloadMode`."""
    if not isinstance(value, UnloadMode):
        raise TypeError(f"{method}(): 'mode' must be an UnloadMode, not {value!r}")
    return value


def check_callable(method: str, param: str, value: object) -> None:
    """A callback given to ``method``."""
    if not callable(value):
        raise TypeError(f"{method}(): '{param}' must be callable, not {value!r}")


def check_flag(method: str, param: str, value: object) -> bool:
    """A yes-or-no argument of ``method``: ``True`` or ``False``, never a truthy stand-in
    (``refresh(name, "no")`` would otherwise be recursive)."""
    if not isinstance(value, bool):
        raise TypeError(f"{method}(): '{param}' must be True or False, not {value!r}")
    return value


def check_line(method: str, value: object) -> str:
    """A command line given to ``method``."""
    if not isinstance(value, str):
        raise TypeError(f"{method}(): 'line' must be a command line (str), not {value!r}")
    return value


def check_namespace(method: str, value: object) -> str:
    """The entry-point group a host serves, given to ``method``: a non-empty string."""
    if not isinstance(value, str):
        raise TypeError(
            f"{method}(): 'namespace' must be an entry-point group (str), not {value!r}"
        )
    if not value.strip():
        raise ValueError(f"{method}(): 'namespace' must not be empty")
    return value


def check_path(method: str, param: str, value: object) -> None:
    """A path given to ``method``, or ``None``."""
    if value is not None and not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{method}(): '{param}' must be a path (str or os.PathLike), not {value!r}")


def check_timeout(value: object, param: str = "module_timeout", method: str = "Host") -> None:
    """Seconds, more than 0 and no more than a thread can wait (:data:`threading.TIMEOUT_MAX`,
    some 292 years), or ``None``."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{method}(): '{param}' must be seconds (a number) or None, not {value!r}")
    if not 0 < value < float("inf"):
        raise ValueError(f"{method}(): '{param}' must be more than 0 seconds, not {value!r}")
    if value > threading.TIMEOUT_MAX:  # a wait that long fails (OverflowError)
        raise ValueError(
            f"{method}(): '{param}' must be at most {threading.TIMEOUT_MAX:g} seconds "
            f"(None: no limit), not {value!r}"
        )


def wait_seconds(method: str, timeout: object) -> float | None:
    """A ``timeout`` argument of a waiting method: seconds (a longer wait than a thread
    can make is waiting for good) or ``None``."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"{method}(): 'timeout' must be seconds or None, not {timeout!r}")
    if math.isnan(timeout):
        raise ValueError(f"{method}(): 'timeout' must be seconds or None, not {timeout!r}")
    return None if timeout > threading.TIMEOUT_MAX else float(timeout)


def _check_config(method: str, config: object) -> None:
    """A :class:`ModulesConfig` made in code: every field of the type it is read as (a
    truthy ``autoload="no"`` would autoload; ``noload="res_x"`` would noload nothing)."""
    from modloader._config.model import ModuleEntry
    from modloader._config.model import ModulesConfig

    if not isinstance(config, ModulesConfig):
        raise TypeError(
            f"{method}(): 'config' must be a validated ModulesConfig (for a file use "
            f"'config_path'), not {config!r}"
        )
    if not isinstance(config.autoload, bool):
        raise _wrong_field(method, "autoload", "True or False", config.autoload)
    for field in ("entries", "noload_at"):
        entries = _items(method, field, getattr(config, field), ModuleEntry, "ModuleEntry")
        for index, entry in enumerate(entries):
            _check_entry(method, f"{field}[{index}]", entry)
    for name in _items(method, "noload", config.noload, str, "module names"):
        if not name.strip():
            raise _wrong_field(method, "noload", "a tuple of module names", config.noload)
    _items(method, "files", config.files, str, "paths")
    _items(method, "warnings", config.warnings, object, "ConfigIssue")
    if config.path is not None and not isinstance(config.path, str):
        raise _wrong_field(method, "path", "a str or None", config.path)


def _check_entry(method: str, where: str, entry: Any) -> None:
    if not isinstance(entry.name, str) or not entry.name.strip():
        raise _wrong_field(method, f"{where}.name", "a module name (str)", entry.name)
    for flag in ("required", "preload"):
        if not isinstance(getattr(entry, flag), bool):
            raise _wrong_field(method, f"{where}.{flag}", "True or False", getattr(entry, flag))
    if not isinstance(entry.source, str) or type(entry.line) is not int:
        raise _wrong_field(method, where, "a ModuleEntry with a str source and an int line", entry)


def _items(method: str, field: str, value: object, kind: type, what: str) -> Sequence[Any]:
    if not isinstance(value, (tuple, list)) or not all(isinstance(v, kind) for v in value):
        raise _wrong_field(method, field, f"a tuple of {what}", value)
    return value


def _wrong_field(method: str, field: str, what: str, value: object) -> TypeError:
    return TypeError(f"{method}(): 'config' field {field} must be {what}, not {value!r}")


def _check_module_settings(method: str, value: object) -> None:
    """Module name -> that module's settings (a mapping). Only types are named: the
    values may be secrets."""
    _check_mapping(method, "module_settings", value)
    for name, values in (value or {}).items():  # type: ignore[attr-defined]
        if not isinstance(name, str):
            raise TypeError(
                f"{method}(): 'module_settings' must map module names (str) to their settings, "
                f"not a key of type {type(name).__name__}"
            )
        if not name.strip():
            raise ValueError(f"{method}(): 'module_settings' has an empty module name")
        if not isinstance(values, Mapping):
            raise TypeError(
                f"{method}(): 'module_settings': the settings of {name!r} must be a mapping "
                f"(setting -> value), not of type {type(values).__name__}"
            )


def _check_mapping(method: str, param: str, value: object) -> None:
    if value is not None and not isinstance(value, Mapping):
        raise TypeError(f"{method}(): '{param}' must be a mapping (name -> value), not {value!r}")
