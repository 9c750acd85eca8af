"""The settings layer: the six directives as a pydantic-settings model (SPEC 3.3).

This is the only module of the package that imports pydantic or
pydantic-settings; :mod:`modloader._config` imports it only when a result is
not already cached.

Sources, strongest first (a stronger source replaces a field's value, it
never merges lists):

1. values from code: the model's init keyword arguments;
2. :class:`EnvironmentSource`: ``<PREFIX><FIELD>`` variables, e.g.
   ``MODLOADER_AUTOLOAD=no``, ``MODLOADER_NOLOAD=res_a,res_b`` or
   ``MODLOADER_NOLOAD='["res_a", "res_b"]'``;
3. :class:`ModulesConfSource`: the directives of a ``modules.conf`` already
   read by :func:`modloader._config.read_modules_conf`;
4. the defaults (``autoload`` yes, every list empty).

The sources are chosen per validation through :func:`validate`, which sets
them in a context variable that :meth:`ModulesSettings.settings_customise_sources`
reads: the model class is built once, and any number of threads may
validate at once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from pydantic import ValidationError
from pydantic import ValidationInfo
from pydantic import field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings
from pydantic_settings import PydanticBaseSettingsSource
from pydantic_settings import SettingsConfigDict

from modloader._config._reader import ParsedConf
from modloader._config._rules import FIELDS
from modloader._config._rules import bad_bool
from modloader._config._rules import parse_bool
from modloader.errors import ConfigIssue

__all__ = [
    "CODE",
    "EnvironmentSource",
    "ModulesConfSource",
    "ModulesSettings",
    "Validated",
    "validate",
]

#: The source name of values passed in code.
CODE = "<code>"


@dataclass(frozen=True, slots=True)
class _Inputs:
    conf: ParsedConf | None
    environ: Mapping[str, str]
    env_prefix: str
    #: Filled by the sources: field -> where its value came from.
    origins: dict[str, str] = field(default_factory=dict)


_INPUTS: ContextVar[_Inputs | None] = ContextVar("modloader_settings_inputs", default=None)


def _names(value: Any, directive: str) -> Any:
    """A list of module names from a list, a JSON list, or a comma-separated string."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"Invalid value for '{directive}': not a JSON list ({exc.msg})"
                ) from None
        else:
            return tuple(part.strip() for part in text.split(",") if part.strip())
    if not isinstance(value, list | tuple):
        raise ValueError(
            f"Invalid value for '{directive}': expected a list of module names "
            "or a comma-separated string"
        )
    names: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"Invalid value for '{directive}': {item!r} is not a module name")
        names.append(item.strip())
    return tuple(names)


class ModulesConfSource(PydanticBaseSettingsSource):
    """The directives of a ``modules.conf`` (and its includes).

    Only the fields the file sets are returned, so a field the file leaves
    alone keeps its default. ``autoload`` is the last valid line's value.
    """

    def __init__(self, settings_cls: type[BaseSettings], conf: ParsedConf | None) -> None:
        super().__init__(settings_cls)
        self.conf = conf

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self().get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if self.conf is None:
            return values
        if self.conf.autoload is not None:
            values["autoload"] = self.conf.autoload
        for name, key in FIELDS.items():
            if key != "autoload":
                found = tuple(d.value for d in self.conf.directives if d.key == key)
                if found:
                    values[name] = found
        return values


class EnvironmentSource(PydanticBaseSettingsSource):
    """``<prefix><FIELD>`` variables of a mapping, names matched in any case.

    :attr:`variables` says which variable each field came from.
    """

    def __init__(
        self, settings_cls: type[BaseSettings], environ: Mapping[str, str], prefix: str
    ) -> None:
        super().__init__(settings_cls)
        wanted = {f"{prefix}{name}".upper(): name for name in FIELDS}
        self.variables: dict[str, str] = {}
        self.values: dict[str, str] = {}
        for variable in sorted(environ):
            name = wanted.get(variable.upper())
            if name is not None and name not in self.variables:
                self.variables[name] = variable
                self.values[name] = environ[variable]

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.values)


class ModulesSettings(BaseSettings):
    """The six ``[modules]`` directives, each one a list of lines' values."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True)

    autoload: bool = True
    load: tuple[str, ...] = ()
    require: tuple[str, ...] = ()
    preload: tuple[str, ...] = ()
    preload_require: tuple[str, ...] = ()
    noload: tuple[str, ...] = ()

    @field_validator("autoload", mode="before")
    @classmethod
    def _bool(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        parsed = parse_bool(value) if isinstance(value, str) else None
        if parsed is None:
            raise ValueError(bad_bool(str(value)))
        return parsed

    @field_validator("load", "require", "preload", "preload_require", "noload", mode="before")
    @classmethod
    def _list(cls, value: Any, info: ValidationInfo) -> Any:
        return _names(value, FIELDS[str(info.field_name)])

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        inputs = _INPUTS.get()
        if inputs is None:
            # Built directly, not through validate(): code and MODLOADER_ variables only.
            return (init_settings, EnvironmentSource(settings_cls, os.environ, "MODLOADER_"))
        environment = EnvironmentSource(settings_cls, inputs.environ, inputs.env_prefix)
        conf = ModulesConfSource(settings_cls, inputs.conf)
        # Record where each field's value comes from, strongest source first.
        file_fields = conf()
        for name in FIELDS:
            if name in environment.variables:
                inputs.origins[name] = environment.variables[name]
            elif name in file_fields:
                inputs.origins[name] = "<file>"
        return (init_settings, environment, conf)


@dataclass(frozen=True, slots=True)
class Validated:
    """The outcome of :func:`validate`."""

    #: field -> validated value, for every field that validated (all of
    #: them when :attr:`errors` is empty). Lists are tuples of names.
    fields: Mapping[str, Any]
    #: field -> ``<code>``, a variable name, ``<file>`` or ``<default>``.
    origins: Mapping[str, str]
    #: Every problem found in the values from code and the environment.
    errors: tuple[ConfigIssue, ...]


def validate(
    *,
    conf: ParsedConf | None,
    environ: Mapping[str, str],
    env_prefix: str,
    values: Mapping[str, Any],
) -> Validated:
    """Validate every source together; never raises for a bad value.

    ``values`` uses the field names (``preload_require``); the caller has
    already refused unknown keys.
    """
    inputs = _Inputs(conf, environ, env_prefix)
    token = _INPUTS.set(inputs)
    try:
        settings = ModulesSettings(**dict(values))
    except ValidationError as exc:
        failed = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        origins = _origins(inputs.origins, values)
        return Validated(
            _partial(failed, origins, values, environ, env_prefix, conf),
            origins,
            tuple(_issues(exc, origins, conf)),
        )
    finally:
        _INPUTS.reset(token)
    return Validated(settings.model_dump(), _origins(inputs.origins, values), ())


def _origins(found: Mapping[str, str], values: Mapping[str, Any]) -> dict[str, str]:
    return {name: CODE if name in values else found.get(name, "<default>") for name in FIELDS}


def _partial(
    failed: set[str],
    origins: Mapping[str, str],
    values: Mapping[str, Any],
    environ: Mapping[str, str],
    env_prefix: str,
    conf: ParsedConf | None,
) -> dict[str, Any]:
    """The fields that did validate, so that the rules can still run on them."""
    environment = EnvironmentSource(ModulesSettings, environ, env_prefix).values
    from_file = ModulesConfSource(ModulesSettings, conf)()
    fields: dict[str, Any] = {}
    for name in FIELDS:
        if name in failed or name == "autoload":
            continue
        origin = origins[name]
        raw = values[name] if origin == CODE else environment.get(name, from_file.get(name, ()))
        try:
            fields[name] = _names(raw, FIELDS[name])
        except ValueError:  # pragma: no cover - a failed field is never here
            continue
    return fields


def _issues(
    exc: ValidationError, origins: Mapping[str, str], conf: ParsedConf | None
) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    for error in exc.errors(include_url=False):
        name = str(error["loc"][0]) if error["loc"] else ""
        key = FIELDS.get(name, name)
        if error["type"] == "value_error":
            message = str(error["ctx"]["error"])
        else:
            message = f"Invalid value for '{key}': {error['msg']}"
        kind = "bad-bool" if name == "autoload" else "bad-value"
        source, line = origins.get(name, CODE), 0
        if source == "<file>" and conf is not None:
            # The reader has checked the file's values; name the last line anyway.
            lines = [d for d in conf.directives if d.key == key]
            source, line = (lines[-1].source, lines[-1].line) if lines else (conf.path, 0)
        issues.append(ConfigIssue(source, line, kind, message))
    return issues
