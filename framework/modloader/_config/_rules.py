"""The rules of SPEC 3.2 over checked directives: merging by name, and ``noload``.

Pure functions over :class:`~._directives.Directive` lists whose values the
settings model has already checked. They run once per configuration: over
one file on its own (:func:`modloader._config.read_modules_conf`), or over
the directives of every source together, in load order
(:func:`modloader.load_config`).
"""

# Annotations evaluated, not strings: typing.NamedTuple compiles string ones (docs/design.md).

from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Mapping
from typing import NamedTuple

from modloader._config._directives import AUTOLOAD
from modloader._config._directives import BY_KEY
from modloader._config._directives import CODE
from modloader._config._directives import LIST_SPECS
from modloader._config._directives import NOLOAD
from modloader._config._directives import Directive
from modloader._config.model import ModuleEntry
from modloader._config.model import ModulesConfig
from modloader._names import name_key
from modloader.errors import ConfigIssue

__all__ = ["Resolution", "config_issues", "resolve"]


class Resolution(NamedTuple):
    """The outcome of the rules."""

    entries: tuple[ModuleEntry, ...]
    noload: tuple[str, ...]
    errors: tuple[ConfigIssue, ...]
    #: Each ``noload`` as an entry that says where it was written.
    noload_at: tuple[ModuleEntry, ...] = ()


def _merge(merged: dict[str, ModuleEntry], item: Directive) -> None:
    """Add one list directive: the first position and spelling stay, the flags are OR-ed."""
    spec = BY_KEY[item.key]
    key = name_key(item.value)
    first = merged.get(key)
    if first is None:
        merged[key] = ModuleEntry(item.value, spec.required, spec.preload, item.source, item.line)
    else:
        merged[key] = first._replace(
            required=first.required or spec.required, preload=first.preload or spec.preload
        )


def _noload_issue(
    item: Directive, merged: Mapping[str, ModuleEntry], builtin_keys: Collection[str]
) -> ConfigIssue | None:
    """What is wrong with one ``noload``: naming a built-in or a required module."""
    key = name_key(item.value)
    if key in builtin_keys:
        message = f"{item.value} is a built-in module, you cannot specify 'noload'."
        return ConfigIssue(item.source, item.line, "noload-builtin", message)
    entry = merged.get(key)
    if entry is None or not entry.required:
        return None
    how = "preload-require" if entry.preload else "require"
    message = f"{item.value} is configured with '{how}' and 'noload', this is impossible."
    return ConfigIssue(item.source, item.line, "noload-required", message)


def resolve(directives: Iterable[Directive], builtins: Collection[str] = ()) -> Resolution:
    """Apply SPEC 3.2 to the list directives, in load order.

    * ``load``/``require``/``preload``/``preload-require``: merged by
      :func:`~modloader._names.name_key`, first position and spelling kept,
      ``required`` and ``preload`` OR-ed.
    * ``noload``: removes the name wherever it stands; matching nothing is
      fine; a required entry or a built-in is an error.

    ``autoload`` is not a rule over names: the settings model settles it.
    """
    merged: dict[str, ModuleEntry] = {}
    noloads: list[Directive] = []
    for item in directives:
        if item.key == NOLOAD.key:
            noloads.append(item)
        elif item.key != AUTOLOAD.key:
            _merge(merged, item)
    builtin_keys = {name_key(name) for name in builtins}
    issues = (_noload_issue(item, merged, builtin_keys) for item in noloads)
    removed = {name_key(item.value) for item in noloads}
    return Resolution(
        tuple(entry for key, entry in merged.items() if key not in removed),
        tuple(item.value for item in noloads),
        tuple(issue for issue in issues if issue is not None),
        tuple(ModuleEntry(item.value, source=item.source, line=item.line) for item in noloads),
    )


#: A resolved entry's flags -> the directive that gives them.
_BY_FLAGS: dict[tuple[bool, bool], str] = {
    (spec.required, spec.preload): spec.key for spec in LIST_SPECS if spec is not NOLOAD
}


def config_issues(config: ModulesConfig, builtins: Collection[str] = ()) -> tuple[ConfigIssue, ...]:
    """What the rules find wrong in a :class:`ModulesConfig` made in code, which no
    source went through: a ``noload`` of a built-in or of a required module."""
    directives = [
        Directive(_BY_FLAGS[entry.required, entry.preload], entry.name, entry.source, entry.line)
        for entry in config.entries
    ]
    written = {name_key(entry.name): entry for entry in config.noload_at}
    for name in config.noload:
        at = written.get(name_key(name))
        source, line = (at.source, at.line) if at is not None else (CODE, 0)
        directives.append(Directive(NOLOAD.key, name, source, line))
    return resolve(directives, builtins).errors
