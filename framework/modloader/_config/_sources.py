"""The sources of the directives, and which one wins: no pydantic here.

Strongest first: values from code, ``<prefix><FIELD>`` environment
variables, the file (and its includes), the defaults. A stronger source
replaces a field's value; it never merges lists (SPEC 3.3).

Code and the environment give one :class:`Setting` per field, tagged with
its source; the file gives one :class:`~._directives.Directive` per line.
The settings model checks them all (:mod:`.settings`) into one
:class:`Layer` per source, and :func:`merge` puts the winners in load order.
"""

# Annotations evaluated, not strings: typing.NamedTuple compiles string ones (docs/design.md).

from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple

from modloader._config._directives import AUTOLOAD
from modloader._config._directives import BY_FIELD
from modloader._config._directives import BY_KEY
from modloader._config._directives import CODE
from modloader._config._directives import LIST_SPECS
from modloader._config._directives import SPECS
from modloader._config._directives import Directive
from modloader._config._directives import unknown_option
from modloader.errors import ConfigIssue

__all__ = ["Layer", "Setting", "code_settings", "env_settings", "env_variables", "merge"]


class Setting(NamedTuple):
    """One field's value as code or the environment gives it, not yet checked."""

    #: The settings field (``preload_require``).
    field: str
    #: A list, a comma-separated or JSON string, a boolean word, ...
    value: Any
    #: The environment variable's name, or ``<code>``.
    source: str


class Layer(NamedTuple):
    """What one source sets, checked."""

    #: The fields the source sets, valid or not: a stronger source's field
    #: replaces the weaker ones' even when it has errors.
    claimed: frozenset[str]
    #: Its valid ``autoload`` value (the last one, for a file).
    autoload: bool | None
    #: Its valid list directives, in order, each tagged with its source.
    directives: tuple[Directive, ...]


def env_variables(environ: Mapping[str, str], prefix: str) -> dict[str, str]:
    """The variables that set a directive, in name order; names matched in any case."""
    wanted = {f"{prefix}{spec.field}".upper() for spec in SPECS}
    return {name: environ[name] for name in sorted(environ) if name.upper() in wanted}


def env_settings(environ: Mapping[str, str], prefix: str) -> list[Setting]:
    """One setting per field set in ``environ``: the first variable in name order."""
    by_name = {f"{prefix}{spec.field}".upper(): spec.field for spec in SPECS}
    found: dict[str, Setting] = {}
    for name, value in env_variables(environ, prefix).items():
        field = by_name[name.upper()]
        found.setdefault(field, Setting(field, value, name))
    return list(found.values())


def code_settings(values: Mapping[str, Any] | None) -> tuple[list[Setting], list[ConfigIssue]]:
    """One setting per key of ``values`` (``preload_require`` or ``preload-require``)."""
    settings: list[Setting] = []
    issues: list[ConfigIssue] = []
    for key, value in (values or {}).items():
        field = str(key).lower().replace("-", "_")
        if field in BY_FIELD:
            settings.append(Setting(field, value, CODE))
        else:
            issues.append(unknown_option(str(key), CODE, 0))
    return settings, issues


def merge(layers: Sequence[Layer]) -> tuple[bool, list[Directive]]:
    """``autoload`` and the list directives in load order; ``layers`` strongest first.

    The last layer is the file's. Its lines come first, in file order, for
    every field it wins; then, field by field in :data:`~._directives.LIST_SPECS`
    order, the values of the fields a stronger source wins.
    """
    winners = {
        spec.field: next((x for x in layers if spec.field in x.claimed), None) for spec in SPECS
    }
    auto = winners[AUTOLOAD.field]
    autoload = True if auto is None or auto.autoload is None else auto.autoload
    file = layers[-1]
    ordered = [d for d in file.directives if winners[BY_KEY[d.key].field] is file]
    for spec in LIST_SPECS:
        layer = winners[spec.field]
        if layer is not None and layer is not file:
            ordered.extend(d for d in layer.directives if d.key == spec.key)
    return autoload, ordered
