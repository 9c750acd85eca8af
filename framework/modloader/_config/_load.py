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

# Annotations evaluated, not strings: typing.NamedTuple compiles string ones (docs/design.md).

import json
import os
from collections.abc import Collection
from collections.abc import Mapping
from typing import Any
from typing import NamedTuple

from modloader import _cachestore
from modloader._config._directives import CODE
from modloader._config._parser import RawConf
from modloader._config._parser import parse_file
from modloader._config._reader import sort_issues
from modloader._config._rules import resolve
from modloader._config._sources import Setting
from modloader._config._sources import code_settings
from modloader._config._sources import env_settings
from modloader._config._sources import env_variables
from modloader._config._sources import merge
from modloader._config.model import ModuleEntry
from modloader._config.model import ModulesConfig
from modloader._files import there
from modloader._names import name_key
from modloader._version import __version__
from modloader.errors import ConfigError
from modloader.errors import ConfigIssue

__all__ = ["CACHE_KIND", "load_config"]

#: The cache store's kind for validated configurations.
CACHE_KIND = "config"


def _check_arguments(
    path: object,
    default_path: object,
    env_prefix: object,
    values: object,
    builtins: object,
    environ: object,
) -> None:
    """``TypeError`` naming the argument of load_config that has a wrong type."""
    wrong = [
        *(
            f"'{name}' must be a path (str or os.PathLike) or None, not {type(value).__name__}"
            for name, value in (("path", path), ("default_path", default_path))
            if value is not None and not isinstance(value, str | os.PathLike)
        ),
        *(
            f"'{name}' must be a mapping or None, not {type(value).__name__}"
            for name, value in (("values", values), ("environ", environ))
            if value is not None and not isinstance(value, Mapping)
        ),
    ]
    if not isinstance(env_prefix, str):
        wrong.append(f"'env_prefix' must be a str, not {type(env_prefix).__name__}")
    if isinstance(builtins, str | bytes) or not isinstance(builtins, Collection):
        wrong.append(f"'builtins' must be a collection of names, not {type(builtins).__name__}")
    if wrong:
        raise TypeError("load_config: " + "; ".join(wrong))


def _resolve_path(
    path: str | os.PathLike[str] | None, default_path: str | os.PathLike[str] | None
) -> tuple[str | None, str, list[ConfigIssue]]:
    """The file to read (or ``None``), a description for the cache key, and issues."""
    if path is not None:
        name = os.fspath(path)
        if not there(name):
            message = f"Configuration file '{name}' does not exist"
            issue = ConfigIssue(name, 0, "missing-file", message)
            return None, f"explicit\0{name}\0missing", [issue]
        return name, f"explicit\0{name}", []
    if default_path is not None:
        name = os.fspath(default_path)
        if not there(name):
            return None, f"default\0{name}\0missing", []
        return name, f"default\0{name}", []
    return None, "none", []


class _Inputs(NamedTuple):
    """What one load reads: the cache key is made of exactly this."""

    #: The file read, if any.
    path: str | None
    #: Which path was asked for and whether it existed.
    where: str
    conf: RawConf | None
    code: list[Setting]
    #: The environment variables under the prefix.
    env: dict[str, str]
    prefix: str
    builtins: Collection[str]
    #: Problems found before any value is checked (unknown keys, a missing file).
    issues: list[ConfigIssue]
    #: Sources to list first in the error (a missing file).
    first: tuple[str, ...]

    def key(self) -> str:
        return _cachestore.key_for(
            "modloader",
            __version__,
            self.where,
            *(self.conf.inputs if self.conf is not None else ()),
            f"prefix\0{self.prefix}",
            *(f"env\0{k}\0{v}" for k, v in self.env.items()),
            "code\0"
            + json.dumps({s.field: s.value for s in self.code}, sort_keys=True, default=repr),
            "builtins\0" + "\0".join(sorted({name_key(b) for b in self.builtins})),
        )

    @property
    def valid_so_far(self) -> bool:
        return not self.issues and (self.conf is None or not self.conf.errors)


def _dump(config: ModulesConfig) -> dict[str, Any]:
    return {
        "autoload": config.autoload,
        "entries": [[e.name, e.required, e.preload, e.source, e.line] for e in config.entries],
        "noload": list(config.noload),
        "noload_at": [[e.name, e.source, e.line] for e in config.noload_at],
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
            noload_at=tuple(
                ModuleEntry(str(n), source=str(s), line=int(ln)) for n, s, ln in data["noload_at"]
            ),
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
    """Read and check a host's configuration from every source, strongest first.

    :param values: directives from code, the strongest source, by name
        (``preload_require`` or ``preload-require``): a list of module names
        or a comma-separated string; ``autoload`` a bool or a boolean word.
    :param env_prefix: environment variables ``<env_prefix><DIRECTIVE>``
        (``MODLOADER_NOLOAD=res_a,res_b``, or a JSON list) come next.
    :param environ: where the variables are read; ``os.environ`` by default.
    :param path: the ``modules.conf`` to read, with what it includes; it
        must exist.
    :param default_path: read instead when ``path`` is not given; it may be
        missing (the other sources and the defaults then apply).
    :param builtins: the host's built-in module names, which ``noload`` may
        not name.
    :returns: the directives after merging: a stronger source replaces a
        directive's value, it never adds to it. Lines that were skipped with a
        warning are in :attr:`~modloader.ModulesConfig.warnings`.
    :raises ~modloader.errors.ConfigError: carrying every problem of every
        source at once, each naming its file and line, its environment
        variable, or ``<code>``.
    :raises TypeError: an argument of the wrong type, named.
    """
    _check_arguments(path, default_path, env_prefix, values, builtins, environ)
    code, issues = code_settings(values)
    conf_path, where, path_issues = _resolve_path(path, default_path)
    inputs = _Inputs(
        path=conf_path,
        where=where,
        conf=parse_file(conf_path) if conf_path is not None else None,
        code=code,
        env=env_variables(os.environ if environ is None else environ, env_prefix),
        prefix=env_prefix,
        builtins=builtins,
        issues=[*issues, *path_issues],
        first=tuple(i.source for i in path_issues),
    )
    key = inputs.key()
    if inputs.valid_so_far:
        cached = _undump(_cachestore.load(CACHE_KIND, key))
        if cached is not None:
            return cached
    config = _validate(inputs)
    _cachestore.store(CACHE_KIND, key, _dump(config))
    return config


def _validate(inputs: _Inputs) -> ModulesConfig:
    """The cold path: every source checked once, then the rules once."""
    from modloader._config import settings  # pydantic only on a miss

    conf = inputs.conf
    stronger = (inputs.code, env_settings(inputs.env, inputs.prefix))
    validated = settings.validate(stronger=stronger, file=conf.directives if conf else ())
    autoload, directives = merge(validated.layers)
    resolution = resolve(directives, inputs.builtins)
    files = tuple(conf.files) if conf is not None else ()
    issues = [*inputs.issues, *(conf.errors if conf else ()), *validated.errors]
    issues.extend(resolution.errors)
    if issues:
        order = [*inputs.first, *files, *inputs.env, CODE]
        raise ConfigError(sort_issues(issues, order))
    return ModulesConfig(
        autoload=autoload,
        entries=resolution.entries,
        noload=resolution.noload,
        noload_at=resolution.noload_at,
        warnings=tuple(conf.warnings) if conf is not None else (),
        path=inputs.path,
        files=files,
    )
