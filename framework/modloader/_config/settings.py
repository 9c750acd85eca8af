"""The settings model: pydantic-settings checks the values of every source (SPEC 3.3).

pydantic and pydantic-settings come through :mod:`modloader._pydantic`;
:func:`modloader.load_config` imports this module only when a result is not
already cached.

:data:`ModulesSettings` has one field per directive of
:data:`~._directives.SPECS`: ``autoload`` a boolean (pydantic's boolean
words are Asterisk's: yes/true/y/t/1/on, no/false/n/f/0/off, any case), the
others tuples of module names. A module name is a string, blanks around it
removed, not empty, holding no control character and no byte that was not
UTF-8. A list from the environment or code may be a comma-separated string
or a JSON list.

:func:`validate` checks every source with the model, each value tagged with
its source: a variable's or a code value's whole list at once, the file's
lines one field at a time, so that a problem names its line. A file's
value is checked even when a stronger source replaces it.

Built directly, ``ModulesSettings()`` reads values from code and
``MODLOADER_`` variables (:class:`EnvironmentSource`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Annotated
from typing import Any
from typing import NamedTuple

from modloader._config._directives import AUTOLOAD
from modloader._config._directives import BY_FIELD
from modloader._config._directives import BY_KEY
from modloader._config._directives import SPECS
from modloader._config._directives import Directive
from modloader._config._directives import Spec
from modloader._config._sources import Layer
from modloader._config._sources import Setting
from modloader._config._sources import env_settings
from modloader._names import BLANKS
from modloader._pydantic import AfterValidator
from modloader._pydantic import BaseModel
from modloader._pydantic import BaseSettings
from modloader._pydantic import BeforeValidator
from modloader._pydantic import ConfigDict
from modloader._pydantic import ErrorDetails
from modloader._pydantic import FieldInfo
from modloader._pydantic import PydanticBaseSettingsSource
from modloader._pydantic import SettingsConfigDict
from modloader._pydantic import StringConstraints
from modloader._pydantic import ValidationError
from modloader._pydantic import ValidationInfo
from modloader._pydantic import create_model
from modloader.errors import ConfigIssue

__all__ = ["EnvironmentSource", "ModulesSettings", "Validated", "bad_bool", "validate"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NOT_UTF8 = "\ufffd"
_NOT_UTF8_NAME = "Invalid module name {!r} in '{}': it holds bytes that are not UTF-8"


def bad_bool(value: object, key: str = AUTOLOAD.key) -> str:
    """The message for a value that is not a boolean."""
    return (
        f"Invalid value '{value}' for '{key}': expected yes/true/y/t/1/on "
        "or no/false/n/f/0/off (any case)"
    )


def _key(info: ValidationInfo) -> str:
    return BY_FIELD[str(info.field_name)].key


def _decode(value: Any, info: ValidationInfo) -> Any:
    """A string from the environment or code: a JSON list, or comma-separated names."""
    if not isinstance(value, str):
        return value
    text = value.strip(BLANKS)
    if not text.startswith("["):
        return tuple(part.strip(BLANKS) for part in text.split(",") if part.strip(BLANKS))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"Invalid value for '{_key(info)}': not a JSON list ({exc.msg})"
        raise ValueError(message) from None
    except RecursionError:  # [[[[...: deeper than the JSON reader goes
        message = f"Invalid value for '{_key(info)}': not a JSON list (nested too deeply)"
        raise ValueError(message) from None


def _printable(value: str, info: ValidationInfo) -> str:
    """Refuse control characters, and U+FFFD: bytes of the file that were not UTF-8.

    Lone surrogates (undecodable bytes from code) pydantic refuses itself.
    """
    control = _CONTROL.search(value)
    if control is not None:
        what = f"the control character U+{ord(control.group()):04X}"
        raise ValueError(f"Invalid module name {value!r} in '{_key(info)}': it holds {what}")
    if _NOT_UTF8 in value:
        raise ValueError(_NOT_UTF8_NAME.format(value, _key(info)))
    return value


def _strip_blanks(value: object) -> object:
    """Blanks around a name are not part of it; control characters (some of which
    ``str.strip()`` would take for blanks) are, and :func:`_printable` refuses them."""
    return value.strip(BLANKS) if isinstance(value, str) else value


ModuleName = Annotated[
    str,
    StringConstraints(min_length=1),
    BeforeValidator(_strip_blanks),
    AfterValidator(_printable),
]
Names = Annotated[tuple[ModuleName, ...], BeforeValidator(_decode)]
#: ``autoload``: pydantic's boolean words, blanks around them not part of them.
Flag = Annotated[bool, BeforeValidator(_strip_blanks)]


class EnvironmentSource(PydanticBaseSettingsSource):
    """``<prefix><FIELD>`` variables of a mapping, names matched in any case."""

    def __init__(
        self, settings_cls: type[BaseSettings], environ: Mapping[str, str], prefix: str
    ) -> None:
        super().__init__(settings_cls)
        self.values = {s.field: s.value for s in env_settings(environ, prefix)}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.values)


class _Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="forbid", frozen=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, EnvironmentSource(settings_cls, os.environ, "MODLOADER_"))


def _field(spec: Spec) -> Any:
    return (Flag, True) if spec is AUTOLOAD else (Names, ())


#: The directives as a settings model: one field per :data:`~._directives.SPECS` entry.
ModulesSettings = create_model(
    "ModulesSettings",
    __base__=_Settings,
    __module__=__name__,
    **{spec.field: _field(spec) for spec in SPECS},
)


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: The same fields without settings sources: one value checked on its own, whatever
#: the environment holds (a ``BaseSettings`` model would read ``MODLOADER_*`` too).
_FieldsModel = create_model(
    "ModulesFields",
    __base__=_Fields,
    __module__=__name__,
    **{spec.field: _field(spec) for spec in SPECS},
)


class Validated(NamedTuple):
    """The outcome of :func:`validate`."""

    #: One layer per stronger source, in the order given, then the file's.
    layers: tuple[Layer, ...]
    #: Every problem found, each naming its source (and line).
    errors: tuple[ConfigIssue, ...]


def _check(field: str, value: Any) -> tuple[Any, list[ErrorDetails]]:
    """The model's value for one field, or the model's errors."""
    try:
        return getattr(_FieldsModel.model_validate({field: value}), field), []
    except ValidationError as exc:
        return None, exc.errors(include_url=False)


def _issue(error: ErrorDetails, field: str, where: tuple[str, int]) -> ConfigIssue:
    """One pydantic error as the message an operator reads."""
    source, line = where
    key = BY_FIELD[field].key
    item = len(error["loc"]) > 1
    if field == AUTOLOAD.field:
        return ConfigIssue(source, line, "bad-bool", bad_bool(error["input"]))
    if error["type"] == "value_error":
        kind = "bad-name" if item else "bad-value"
        return ConfigIssue(source, line, kind, str(error.get("ctx", {}).get("error")))
    if error["type"] == "string_unicode":
        return ConfigIssue(source, line, "bad-name", _NOT_UTF8_NAME.format(error["input"], key))
    if item and line:
        return ConfigIssue(source, line, "syntax", f"'{key}' needs a module name")
    if item:
        message = f"Invalid value for '{key}': {error['input']!r} is not a module name"
    elif error["type"] == "tuple_type":
        message = (
            f"Invalid value for '{key}': expected a list of module names "
            "or a comma-separated string"
        )
    else:
        message = f"Invalid value for '{key}': {error['msg']}"
    return ConfigIssue(source, line, "bad-value", message)


def _setting_layer(settings: Sequence[Setting], errors: list[ConfigIssue]) -> Layer:
    """Code's or the environment's values, each field checked as a whole."""
    autoload: bool | None = None
    directives: list[Directive] = []
    for setting in settings:
        value, problems = _check(setting.field, setting.value)
        errors.extend(_issue(p, setting.field, (setting.source, 0)) for p in problems)
        if problems:
            continue
        if setting.field == AUTOLOAD.field:
            autoload = bool(value)
        else:
            key = BY_FIELD[setting.field].key
            directives.extend(Directive(key, name, setting.source, 0) for name in value)
    return Layer(frozenset(s.field for s in settings), autoload, tuple(directives))


def _file_layer(lines: Sequence[Directive], errors: list[ConfigIssue]) -> Layer:
    """The file's lines: each ``autoload`` line, then each list field's lines together."""
    autoload: bool | None = None
    bad: set[int] = set()
    by_field: dict[str, list[int]] = {}
    for index, line in enumerate(lines):
        by_field.setdefault(BY_KEY[line.key].field, []).append(index)
    claimed = frozenset(by_field)
    for index in by_field.pop(AUTOLOAD.field, []):
        value, problems = _check(AUTOLOAD.field, lines[index].value)
        if problems:
            bad.add(index)
            where = (lines[index].source, lines[index].line)
            errors.extend(_issue(p, AUTOLOAD.field, where) for p in problems)
        else:
            autoload = bool(value)
    for field, indices in by_field.items():
        _, problems = _check(field, tuple(lines[i].value for i in indices))
        for problem in problems:
            index = indices[int(problem["loc"][1])]
            bad.add(index)
            errors.append(_issue(problem, field, (lines[index].source, lines[index].line)))
    directives = tuple(d for i, d in enumerate(lines) if i not in bad and d.key != AUTOLOAD.key)
    return Layer(claimed, autoload, directives)


def validate(*, stronger: Sequence[Sequence[Setting]], file: Sequence[Directive]) -> Validated:
    """Check every source with the settings model; never raises for a bad value.

    ``stronger`` are the settings of code and of the environment, strongest
    first; ``file`` the file's directives in reading order.
    """
    errors: list[ConfigIssue] = []
    layers = [_setting_layer(settings, errors) for settings in stronger]
    layers.append(_file_layer(file, errors))
    return Validated(tuple(layers), tuple(errors))
