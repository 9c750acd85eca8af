"""What the configuration layer hands to the loader: plain, validated records.

The loader never sees pydantic: :func:`modloader._config.load_config` turns
the settings model into a :class:`ModulesConfig`.
"""

# Annotations evaluated, not strings: typing.NamedTuple compiles string ones (docs/design.md).

from typing import NamedTuple

from modloader.errors import ConfigIssue

__all__ = ["ModuleEntry", "ModulesConfig"]


class ModuleEntry(NamedTuple):
    """One explicit load-order entry, after merging every line that names it."""

    #: The first spelling seen (messages echo it).
    name: str
    #: ``require`` or ``preload-require`` named it.
    required: bool = False
    #: ``preload`` or ``preload-require`` named it.
    preload: bool = False
    #: Where it was first named: a file path, an environment variable, or ``<code>``.
    source: str = "<code>"
    #: The line in ``source`` (0 when the source has no lines).
    line: int = 0


class ModulesConfig(NamedTuple):
    """The six directives after every rule of SPEC 3.2 has been applied."""

    #: Append every discovered module that is not listed (default: yes).
    autoload: bool = True
    #: Explicit entries in first-position order, ``noload`` already removed.
    entries: tuple[ModuleEntry, ...] = ()
    #: Every ``noload`` value as written, in order.
    noload: tuple[str, ...] = ()
    #: Each ``noload`` with where it was written (for warnings about names not installed).
    noload_at: tuple[ModuleEntry, ...] = ()
    #: Lines that were warned about and skipped.
    warnings: tuple[ConfigIssue, ...] = ()
    #: The file read, if any (``None``: defaults, environment and code only).
    path: str | None = None
    #: Every file read: ``path``, then what it includes, as met.
    files: tuple[str, ...] = ()
