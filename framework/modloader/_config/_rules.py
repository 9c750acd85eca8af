"""The rules of SPEC 3.2: booleans, merging by name, and ``noload``.

Pure functions over :class:`~._parser.Directive` lists, used both for one
file on its own (:func:`modloader._config.read_modules_conf`) and for the
directives of every source together (:func:`modloader._config.load_config`).
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Iterable
from dataclasses import dataclass

from modloader._config._parser import Directive
from modloader._config.model import ModuleEntry
from modloader._names import name_key
from modloader.errors import ConfigIssue

__all__ = ["FIELDS", "RULE_KINDS", "Resolution", "bad_bool", "parse_bool", "resolve"]

#: The settings fields (Python names) and the directive each one holds.
FIELDS = {
    "autoload": "autoload",
    "load": "load",
    "require": "require",
    "preload": "preload",
    "preload_require": "preload-require",
    "noload": "noload",
}

_TRUE = frozenset({"yes", "true", "y", "t", "1", "on"})
_FALSE = frozenset({"no", "false", "n", "f", "0", "off"})

#: The kinds of problem that depend on every directive together, not on one line.
RULE_KINDS = frozenset({"noload-required", "noload-builtin"})


def parse_bool(text: str) -> bool | None:
    """Asterisk's ``ast_true``/``ast_false`` words, any case; ``None`` for anything else."""
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    return None


def bad_bool(value: str, key: str = "autoload") -> str:
    """The message for a value that is not a boolean."""
    return (
        f"Invalid value '{value}' for '{key}': expected yes/true/y/t/1/on "
        "or no/false/n/f/0/off (any case)"
    )


@dataclass(frozen=True, slots=True)
class Resolution:
    """The outcome of the rules."""

    autoload: bool | None
    entries: tuple[ModuleEntry, ...]
    noload: tuple[str, ...]
    errors: tuple[ConfigIssue, ...]


def resolve(directives: Iterable[Directive], builtins: Collection[str] = ()) -> Resolution:
    """Apply SPEC 3.2 to ``directives`` in order.

    * ``autoload``: the last valid line wins; a bad value is ``bad-bool``.
    * ``load``/``require``/``preload``/``preload-require``: merged by
      :func:`~modloader._names.name_key`, first position and spelling kept,
      ``required`` and ``preload`` OR-ed.
    * ``noload``: removes the name wherever it stands; matching nothing is
      fine; a required entry or a built-in is an error.
    """
    autoload: bool | None = None
    merged: dict[str, ModuleEntry] = {}
    noloads: list[Directive] = []
    errors: list[ConfigIssue] = []
    for item in directives:
        if item.key == "autoload":
            value = parse_bool(item.value)
            if value is None:
                errors.append(ConfigIssue(item.source, item.line, "bad-bool", bad_bool(item.value)))
            else:
                autoload = value
            continue
        if item.key == "noload":
            noloads.append(item)
            continue
        required = item.key in {"require", "preload-require"}
        preload = item.key in {"preload", "preload-require"}
        key = name_key(item.value)
        first = merged.get(key)
        if first is None:
            merged[key] = ModuleEntry(item.value, required, preload, item.source, item.line)
        elif (required and not first.required) or (preload and not first.preload):
            merged[key] = ModuleEntry(
                first.name,
                first.required or required,
                first.preload or preload,
                first.source,
                first.line,
            )
    builtin_keys = {name_key(name) for name in builtins}
    removed: set[str] = set()
    for item in noloads:
        key = name_key(item.value)
        removed.add(key)
        entry = merged.get(key)
        if key in builtin_keys:
            errors.append(
                ConfigIssue(
                    item.source,
                    item.line,
                    "noload-builtin",
                    f"{item.value} is a built-in module, you cannot specify 'noload'.",
                )
            )
        elif entry is not None and entry.required:
            how = "preload-require" if entry.preload else "require"
            errors.append(
                ConfigIssue(
                    item.source,
                    item.line,
                    "noload-required",
                    f"{item.value} is configured with '{how}' and 'noload', this is impossible.",
                )
            )
    return Resolution(
        autoload,
        tuple(entry for key, entry in merged.items() if key not in removed),
        tuple(item.value for item in noloads),
        tuple(errors),
    )
