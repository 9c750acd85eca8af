"""Every source validated into a :class:`ModulesConfig`: :func:`load_config`.

The warm path: the file and its includes are read (cheap, no pydantic), a
key is made of exactly the inputs (the bytes of every file read, glob
matches, missing paths, the environment variables under the prefix, the
values from code, the built-ins, the paths and modloader's version), and a
result validated before under that key is reused without importing pydantic.
An invalid configuration is never stored: its errors are always recomputed.

The cold path is one pass: the settings model checks every source's values,
each tagged with its source (:mod:`.settings`); the winners are put in load
order (:func:`._sources.merge`); the rules of SPEC 3.2 run once over them
(:func:`._rules.resolve`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection
from collections.abc import Mapping
from typing import Any

from modloader import _cachestore
from modloader._config._directives import CODE
from modloader._config._parser import RawConf
from modloader._config._parser import parse_file
from modloader._config._reader import sort_issues
from modloader._config._rules import resolve
from modloader._config._sources import code_settings
from modloader._config._sources import env_settings
from modloader._config._sources import env_variables
from modloader._config._sources import merge
from modloader._config.model import ModuleEntry
from modloader._config.model import ModulesConfig
from modloader._names import name_key
from modloader._version import __version__
from modloader.errors import ConfigError
from modloader.errors import ConfigIssue

__all__ = ["CACHE_KIND", "load_config"]

#: The cache store's kind for validated configurations.
CACHE_KIND = "config"


def _resolve_path(
    path: str | os.PathLike[str] | None, default_path: str | os.PathLike[str] | None
) -> tuple[str | None, str, list[ConfigIssue]]:
    """The file to read (or ``None``), a description for the cache key, and issues."""
    if path is not None:
        name = os.fspath(path)
        if not os.path.exists(name):
            message = f"Configuration file '{name}' does not exist"
            issue = ConfigIssue(name, 0, "missing-file", message)
            return None, f"explicit\0{name}\0missing", [issue]
        return name, f"explicit\0{name}", []
    if default_path is not None:
        name = os.fspath(default_path)
        if not os.path.exists(name):
            return None, f"default\0{name}\0missing", []
        return name, f"default\0{name}", []
    return None, "none", []


def _cache_key(
    where: str,
    conf: RawConf | None,
    env: Mapping[str, str],
    prefix: str,
    code: Mapping[str, Any],
    builtins: Collection[str],
) -> str:
    return _cachestore.key_for(
        "modloader",
        __version__,
        where,
        *(conf.inputs if conf is not None else ()),
        f"prefix\0{prefix}",
        *(f"env\0{k}\0{v}" for k, v in env.items()),
        "code\0" + json.dumps(code, sort_keys=True, default=repr),
        "builtins\0" + "\0".join(sorted({name_key(b) for b in builtins})),
    )


def _dump(config: ModulesConfig) -> dict[str, Any]:
    return {
        "autoload": config.autoload,
        "entries": [[e.name, e.required, e.preload, e.source, e.line] for e in config.entries],
        "noload": list(config.noload),
        "warnings": [[w.source, w.line, w.kind, w.message] for w in config.warnings],
        "path": config.path,
        "files": list(config.files),
    }


def _undump(data: Any) -> ModulesConfig | None:
    try:
        return ModulesConfig(
            autoload=bool(data["autoload"]),
            entries=tuple(
                ModuleEntry(str(n), bool(r), bool(p), str(s), int(ln))
                for n, r, p, s, ln in data["entries"]
            ),
            noload=tuple(str(n) for n in data["noload"]),
            warnings=tuple(
                ConfigIssue(str(s), int(ln), str(k), str(m)) for s, ln, k, m in data["warnings"]
            ),
            path=None if data["path"] is None else str(data["path"]),
            files=tuple(str(f) for f in data["files"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def load_config(
    *,
    path: str | os.PathLike[str] | None = None,
    default_path: str | os.PathLike[str] | None = None,
    env_prefix: str = "MODLOADER_",
    values: Mapping[str, Any] | None = None,
    builtins: Collection[str] = (),
    environ: Mapping[str, str] | None = None,
) -> ModulesConfig:
    """Read, merge and validate the directives from every source (SPEC 3.3).

    Strongest first: ``values`` (from code), ``<env_prefix><FIELD>``
    environment variables, the file (``path``, which must exist, else
    ``default_path``, which may be missing) and its includes, the defaults.
    A stronger source replaces a field's value.

    :raises ConfigError: carrying every issue found, each naming its file
        and line, its environment variable, or ``<code>``.
    """
    env = env_variables(os.environ if environ is None else environ, env_prefix)
    code, issues = code_settings(values)
    conf_path, where, path_issues = _resolve_path(path, default_path)
    issues.extend(path_issues)
    conf = parse_file(conf_path) if conf_path is not None else None
    key = _cache_key(where, conf, env, env_prefix, {s.field: s.value for s in code}, builtins)
    if not issues and (conf is None or not conf.errors):
        cached = _undump(_cachestore.load(CACHE_KIND, key))
        if cached is not None:
            return cached
    from modloader._config import settings  # pydantic only on a miss

    stronger = (code, env_settings(env, env_prefix))
    validated = settings.validate(stronger=stronger, file=conf.directives if conf else ())
    autoload, directives = merge(validated.layers)
    resolution = resolve(directives, builtins)
    files = tuple(conf.files) if conf is not None else ()
    issues.extend([*(conf.errors if conf else ()), *validated.errors, *resolution.errors])
    if issues:
        order = [*(i.source for i in path_issues), *files, *env, CODE]
        raise ConfigError(sort_issues(issues, order))
    config = ModulesConfig(
        autoload=autoload,
        entries=resolution.entries,
        noload=resolution.noload,
        warnings=tuple(conf.warnings) if conf is not None else (),
        path=conf_path,
        files=files,
    )
    _cachestore.store(CACHE_KIND, key, _dump(config))
    return config
