"""One ``modules.conf`` read and checked on its own: :func:`read_modules_conf`."""

# Annotations evaluated, not strings: typing.NamedTuple compiles string ones (docs/design.md).

import os
from collections.abc import Collection
from collections.abc import Sequence
from typing import NamedTuple

from modloader._config._directives import Directive
from modloader._config._parser import parse_file
from modloader._config._rules import resolve
from modloader._config.model import ModuleEntry
from modloader.errors import ConfigIssue

__all__ = ["ParsedConf", "read_modules_conf", "sort_issues"]


class ParsedConf(NamedTuple):
    """A file and its includes after every rule of SPEC 3.1 and 3.2."""

    #: The file asked for, as given.
    path: str
    #: The last valid ``autoload`` value; ``None`` when there is none.
    autoload: bool | None
    #: Explicit entries, merged, ``noload`` removed, in first-position order.
    entries: tuple[ModuleEntry, ...]
    #: Every valid ``noload`` value as written, in order.
    noload: tuple[str, ...]
    #: Every error, in reading order; the file must be refused if there is one.
    errors: tuple[ConfigIssue, ...]
    #: Lines warned about and skipped.
    warnings: tuple[ConfigIssue, ...]
    #: Every ``[modules]`` directive with a known key, in reading order.
    directives: tuple[Directive, ...]
    #: Every file read (the file itself, then includes as they were met).
    files: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """``True`` when there is no error."""
        return not self.errors


def sort_issues(issues: Sequence[ConfigIssue], files: Sequence[str]) -> tuple[ConfigIssue, ...]:
    """``issues`` in reading order: by file (as first read), then line."""
    rank = {name: index for index, name in enumerate(files)}
    return tuple(sorted(issues, key=lambda i: (rank.get(i.source, len(rank)), i.line)))


def read_modules_conf(
    path: str | os.PathLike[str], *, builtins: Collection[str] = ()
) -> ParsedConf:
    """Read and check ``path`` and what it includes; never raises for what they contain.

    Problems are collected in :attr:`ParsedConf.errors` and
    :attr:`ParsedConf.warnings`, each naming its file and line. ``builtins``
    are names ``noload`` may not name.
    """
    from modloader._config import settings  # checking values needs pydantic

    name = os.fspath(path)
    raw = parse_file(name)
    validated = settings.validate(stronger=(), file=raw.directives)
    (layer,) = validated.layers
    resolution = resolve(layer.directives, builtins)
    return ParsedConf(
        path=name,
        autoload=layer.autoload,
        entries=resolution.entries,
        noload=resolution.noload,
        errors=sort_issues([*raw.errors, *validated.errors, *resolution.errors], raw.files),
        warnings=tuple(raw.warnings),
        directives=tuple(raw.directives),
        files=tuple(raw.files),
    )
