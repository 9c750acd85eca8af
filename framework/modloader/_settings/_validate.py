"""Sources merged strongest first, validated by the module's model, every value with its origin.

With :mod:`.model`, the only part of module settings that uses pydantic (its
names come through :mod:`modloader._pydantic`); it is imported only for a
module that declares ``settings_model``.
"""

from __future__ import annotations

import functools
import json
import types
import typing
from collections.abc import Mapping
from typing import Any
from typing import NamedTuple

from modloader._names import suggest
from modloader._pydantic import BaseModel
from modloader._pydantic import SecretBytes
from modloader._pydantic import SecretStr
from modloader._pydantic import ValidationError
from modloader._pydantic import to_jsonable_python
from modloader._settings.conffile import ConfFile
from modloader.errors import ConfigIssue

__all__ = ["CODE", "DEFAULT", "Origin", "Resolved", "effective_values", "resolve"]

#: The origin label of a value given in code, and of a default.
CODE = "code"
DEFAULT = "default"
_CODE_SOURCE = "<code>"

Path = tuple[str, ...]


class Origin(NamedTuple):
    """Where a value came from: a file and line, an environment variable, or code."""

    source: str
    line: int = 0

    @property
    def label(self) -> str:
        if self.source == _CODE_SOURCE:
            return CODE
        return f"{self.source}:{self.line}" if self.line else self.source


class Resolved:
    """One module's settings after every source: the instance, or every error."""

    __slots__ = ("errors", "origins", "settings", "warnings")

    def __init__(self) -> None:
        self.settings: Any = None
        self.errors: list[ConfigIssue] = []
        self.warnings: list[ConfigIssue] = []
        self.origins: dict[Path, Origin] = {}

    @property
    def ok(self) -> bool:
        return not self.errors and self.settings is not None


# -- the model's shape ---------------------------------------------------------------


def _strip_optional(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _strip_optional(args[0])
    if origin is typing.Annotated:
        return _strip_optional(typing.get_args(annotation)[0])
    return annotation


def _kind(annotation: Any) -> tuple[str, Any]:
    """``("model", cls)``, ``("mapping", value type)``, ``("list", None)``, ``("scalar", None)``."""
    annotation = _strip_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "model", annotation
    origin = typing.get_origin(annotation)
    if origin in (dict, Mapping, typing.Mapping):
        args = typing.get_args(annotation)
        return "mapping", _strip_optional(args[1]) if len(args) == 2 else Any
    if origin in (list, tuple, set, frozenset) or annotation in (list, tuple, set, frozenset):
        return "list", None
    if origin is not None and origin.__name__ in ("Sequence", "MutableSequence", "AbstractSet"):
        return "list", None
    return "scalar", None


@functools.lru_cache(maxsize=512)  # keyed by the class: a model loaded afresh is a new key
def _fields(model: type[BaseModel]) -> dict[str, tuple[str, Any]]:
    """Lower-cased key (name, alias, ``-`` for ``_``) -> (field name, annotation)."""
    found: dict[str, tuple[str, Any]] = {}
    for name, info in model.model_fields.items():
        for key in (name, info.alias, info.validation_alias):
            if isinstance(key, str):
                found[key.lower()] = (name, info.annotation)
                found[key.lower().replace("_", "-")] = (name, info.annotation)
    return found


def _match(model: type[BaseModel], key: str) -> tuple[str, Any] | None:
    return _fields(model).get(key.strip().lower())


def _hint(model: type[BaseModel] | None, key: str, extra: tuple[str, ...] = ()) -> str:
    names = [*extra, *(model.model_fields if model is not None else ())]
    close = suggest(key.lower(), names, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _mapping_field(model: type[BaseModel]) -> tuple[str, Any] | None:
    """The field that takes sections named by the user: the first ``dict[str, ...]`` field."""
    for name, info in model.model_fields.items():
        kind, value = _kind(info.annotation)
        if kind == "mapping":
            return name, value
    return None


# -- merging -------------------------------------------------------------------------


class _Merged:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.origins: dict[Path, Origin] = {}
        #: Sections and mapping entries: where they were opened (for errors only).
        self.containers: dict[Path, Origin] = {}

    def mark(self, path: Path, origin: Origin) -> None:
        node = self.data
        for part in path:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        self.containers.setdefault(path, origin)

    def set(self, path: Path, value: Any, origin: Origin) -> None:
        node = self.data
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[path[-1]] = value
        for known in [p for p in self.origins if p[: len(path)] == path]:
            del self.origins[known]
        self.origins[path] = origin

    def append(self, path: Path, value: Any, origin: Origin) -> None:
        node = self.data
        for part in path[:-1]:
            node = node.setdefault(part, {})
        items = node.setdefault(path[-1], [])
        if path not in self.origins:
            self.origins[path] = origin
        self.origins[(*path, str(len(items)))] = origin
        items.append(value)


def _section_target(
    model: type[BaseModel], section: str
) -> tuple[Path, type[BaseModel] | None] | None:
    if section.lower() == "general":
        return (), model
    found = _match(model, section)
    if found is not None and _kind(found[1])[0] == "model":
        return (found[0],), _kind(found[1])[1]
    mapping = _mapping_field(model)
    if mapping is not None:
        value = mapping[1]
        target = value if isinstance(value, type) and issubclass(value, BaseModel) else None
        return (mapping[0], section), target
    return None


def _from_file(model: type[BaseModel], conf: ConfFile, merged: _Merged, out: Resolved) -> None:
    sections = ["general", *(n for n, i in model.model_fields.items() if _is_model(i.annotation))]
    for section in conf.sections:
        target = _section_target(model, section.name)
        if target is None:
            message = (
                f"Unknown section [{section.name}]{_hint(None, section.name, tuple(sections))}"
            )
            out.errors.append(ConfigIssue(section.source, section.line, "unknown-section", message))
            continue
        prefix, sub = target
        if len(prefix) == 2:  # a user-named section: it exists even when empty
            merged.mark(prefix, Origin(section.source, section.line))
        for entry in section.entries:
            origin = Origin(entry.source, entry.line)
            if sub is None:
                merged.set((*prefix, entry.key), entry.value, origin)
                continue
            found = _match(sub, entry.key)
            if found is None:
                message = f"Unknown key '{entry.key}' in [{section.name}]{_hint(sub, entry.key)}"
                out.errors.append(ConfigIssue(entry.source, entry.line, "unknown-key", message))
            elif _kind(found[1])[0] == "list":
                merged.append((*prefix, found[0]), entry.value, origin)
            else:
                merged.set((*prefix, found[0]), entry.value, origin)


def _is_model(annotation: Any) -> bool:
    return _kind(annotation)[0] == "model"


def _env_value(kind: str, raw: str) -> Any:
    if kind in ("list", "mapping", "model"):
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: nested too deeply
            if kind == "list":
                return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def _env_path(
    model: type[BaseModel], variable: str, parts: list[str], out: Resolved
) -> tuple[Path, str]:
    """The field path one variable names (empty: it names none) and the kind of its value."""
    current: type[BaseModel] | None = model
    path: list[str] = []
    kind = "model"
    for index, part in enumerate(parts):
        if kind == "mapping":
            path.append(part)
            kind, current = ("model", current) if current is not None else ("scalar", None)
            continue
        if current is None:
            break
        found = _match(current, part)
        if found is None:
            message = f"names no setting: unknown field '{part}'{_hint(current, part)}; ignored"
            out.warnings.append(ConfigIssue(variable, 0, "unknown-env", message))
            return (), kind
        path.append(found[0])
        kind, inner = _kind(found[1])
        if kind in ("model", "mapping"):
            current = inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None
        elif index < len(parts) - 1:
            message = f"'{found[0]}' has no fields; '{'__'.join(parts[index + 1 :])}' ignored"
            out.warnings.append(ConfigIssue(variable, 0, "unknown-env", message))
            return (), kind
    return tuple(path), kind


def _from_env(
    model: type[BaseModel], head: str, environ: Mapping[str, str], merged: _Merged, out: Resolved
) -> None:
    for variable in sorted(environ):
        if not variable.upper().startswith(head):
            continue
        parts = variable[len(head) :].lower().split("__")  # the prefix alone: [""], no setting
        path, kind = _env_path(model, variable, parts, out)
        if not path:
            continue
        raw = environ[variable]
        try:  # read as UTF-8 with its undecodable bytes kept as lone surrogates
            raw.encode("utf-8")
        except UnicodeEncodeError:  # a Latin-1 password, say: never used as something else
            message = "holds bytes that are not UTF-8 (set it as UTF-8)"
            out.errors.append(ConfigIssue(variable, 0, "not-utf8", message))
            continue
        merged.set(path, _env_value(kind, raw), Origin(variable))


def _from_code(
    model: type[BaseModel] | None,
    values: Mapping[str, Any],
    prefix: Path,
    merged: _Merged,
    out: Resolved,
) -> None:
    origin = Origin(_CODE_SOURCE)
    for key, value in values.items():
        if model is None:
            merged.set((*prefix, str(key)), value, origin)
            continue
        found = _match(model, str(key))
        if found is None:
            where = ".".join((*prefix, str(key)))
            message = f"Unknown setting '{where}'{_hint(model, str(key))}"
            out.errors.append(ConfigIssue(_CODE_SOURCE, 0, "unknown-key", message))
            continue
        name, annotation = found
        kind, inner = _kind(annotation)
        if kind == "model" and isinstance(value, Mapping):
            _from_code(inner, value, (*prefix, name), merged, out)
        elif kind == "mapping" and isinstance(value, Mapping):
            sub = inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None
            for item, item_value in value.items():
                if sub is not None and isinstance(item_value, Mapping):
                    merged.mark((*prefix, name, str(item)), origin)
                    _from_code(sub, item_value, (*prefix, name, str(item)), merged, out)
                else:
                    merged.set((*prefix, name, str(item)), item_value, origin)
        else:
            merged.set((*prefix, name), value, origin)


# -- validation ----------------------------------------------------------------------


def _origin_of(origins: Mapping[Path, Origin], path: Path) -> Origin | None:
    for end in range(len(path), 0, -1):
        found = origins.get(path[:end])
        if found is not None:
            return found
    return None


def _origin_label(origins: Mapping[Path, Origin], path: Path) -> str:
    """Where a value came from, for the operator: ``file:3``; a list given over several
    lines names each (``file:3,4``, or ``file:3, other.conf:1`` across files)."""
    origin = _origin_of(origins, path)
    if origin is None:
        return DEFAULT
    items: list[Origin] = []  # a list's items, each where it was given
    while (item := origins.get((*path, str(len(items))))) is not None:
        items.append(item)
    if len(items) < 2:
        return origin.label
    lines: dict[str, list[int]] = {}
    for item in items:
        lines.setdefault(item.source, []).append(item.line)
    return ", ".join(
        f"{source}:{','.join(map(str, numbers))}" if all(numbers) else Origin(source).label
        for source, numbers in lines.items()
    )


def _describe(origin: Origin, path: Path) -> str:
    key = ".".join(path)
    return (
        f"'{key}'" if origin.line or origin.source == _CODE_SOURCE else f"'{key}' ({origin.source})"
    )


def resolve(
    model: type[BaseModel],
    *,
    conf: ConfFile | None,
    env_head: str,
    environ: Mapping[str, str],
    code: Mapping[str, Any] | None,
) -> Resolved:
    """Merge file < environment < code over the defaults, and validate with ``model``."""
    out = Resolved()
    merged = _Merged()
    if conf is not None:
        out.errors.extend(conf.errors)
        out.warnings.extend(conf.warnings)
        _from_file(model, conf, merged, out)
    _from_env(model, env_head, environ, merged, out)
    if code:
        _from_code(model, code, (), merged, out)
    out.origins = merged.origins
    try:
        validated = model.model_validate(merged.data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            path = tuple(str(p) for p in error["loc"])
            origin = _origin_of(merged.origins, path) or _origin_of(merged.containers, path)
            if origin is None:
                source = conf.path if conf is not None else _CODE_SOURCE
                where = f"'{'.'.join(path)}'" if path else "the settings"
                env = env_head + "__".join(path).upper()
                message = f"{where}: {error['msg']}"
                if error["type"] == "missing":
                    section = f"[{path[-2]}]" if len(path) > 1 else "[general]"
                    place = f"{section} of this file" if conf is not None else "code"
                    message = f"{where} is required: set it in {place} or {env}"
                out.errors.append(ConfigIssue(source, 0, error["type"], message))
                continue
            shown = error.get("input")
            plain = isinstance(shown, str | int | float) and not _secret_at(model, path)
            got = f", got {shown!r}" if plain else ""
            message = f"'{'.'.join(path)}': {error['msg']}{got}"
            if error["type"] == "missing":
                message = f"'{'.'.join(path)}' is required"
            out.errors.append(ConfigIssue(origin.source, origin.line, error["type"], message))
    else:
        if not out.errors:  # every error is reported, but a partly read source is never used
            out.settings = validated
    first = conf.path if conf is not None else ""
    out.errors.sort(key=lambda i: (i.source != first, i.source, i.line or float("inf")))
    return out


def _secret_at(model: type[BaseModel], path: Path) -> bool:
    """Whether the value at ``path`` may be a secret (``SecretStr``, ``SecretBytes``), so
    that an error about it must not echo it: ``True`` unless the model says otherwise."""
    annotation: Any = model
    for key in path:
        kind, inner = _kind(annotation)
        if kind == "model":
            found = _match(inner, key)
            if found is None:
                return True
            annotation = found[1]
        elif kind == "mapping":
            annotation = inner
        elif kind == "list":
            args = typing.get_args(_strip_optional(annotation))
            annotation = args[0] if args else Any
        else:
            return True  # deeper than the model says: nothing to go by
    return _holds_secret(annotation, set())


def _holds_secret(annotation: Any, seen: set[type]) -> bool:
    """Whether a value of ``annotation`` may hold a secret anywhere in it: a nested
    model's field, a mapping's value, a list's item (a model given whole, as JSON from
    the environment or ``key=value`` pairs in a file, echoes all of it)."""
    found = _strip_optional(annotation)
    if found is Any:
        return True
    if isinstance(found, type):
        if issubclass(found, SecretStr | SecretBytes):
            return True
        if issubclass(found, BaseModel):
            if found in seen:  # a model that holds itself
                return False
            seen.add(found)
            return any(_holds_secret(f.annotation, seen) for f in found.model_fields.values())
    return any(_holds_secret(arg, seen) for arg in typing.get_args(found))


# -- the operator's view -------------------------------------------------------------


def _shown(value: Any) -> Any:
    if isinstance(value, SecretStr | SecretBytes):
        return "**********" if value.get_secret_value() else ""
    return to_jsonable_python(value, fallback=repr)


def effective_values(resolved: Resolved) -> list[dict[str, Any]]:
    """Every leaf value with its origin label (``default`` when no source set it)."""
    rows: list[dict[str, Any]] = []

    def walk(value: Any, path: Path) -> None:
        if isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name), (*path, name))
            return
        if (
            isinstance(value, Mapping)
            and value
            and all(isinstance(v, BaseModel) for v in value.values())
        ):
            for key, item in value.items():
                walk(item, (*path, str(key)))
            return
        rows.append(
            {
                "key": ".".join(path),
                "value": _shown(value),
                "origin": _origin_label(resolved.origins, path),
            }
        )

    if resolved.settings is not None:
        walk(resolved.settings, ())
    return rows
