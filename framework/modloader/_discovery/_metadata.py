"""The one place the ``importlib_metadata`` backport enters.

It answers what needs a distribution's full metadata rather than the cheap
scan's headers: the files a distribution installed (so that a removed
module's own Python modules can be dropped from ``sys.modules``), and the
distributions inside a zip on the path. The backport rather than the
standard library: it carries the current behaviour (and fixes) on every
supported Python. It is imported only on those paths, never by a warm
startup; a ``*.dist-info`` folder the scan found is read directly (its
``RECORD`` and ``top_level.txt``), without it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any

from modloader._files import open_regular

__all__ = ["dist_info_top_levels", "distributions_in", "top_level_modules"]


def top_level_modules(dist_name: str, module_name: str) -> frozenset[str]:
    """The top-level Python modules ``dist_name`` installed (at least ``module_name``'s)."""
    import importlib_metadata

    try:
        dist = importlib_metadata.distribution(dist_name)
    except importlib_metadata.PackageNotFoundError:
        return frozenset({module_name.partition(".")[0]})
    files = [file.parts for file in dist.files or ()]
    return top_levels_of(module_name, dist.read_text("top_level.txt"), files)


def dist_info_top_levels(folder: str, module_name: str) -> frozenset[str] | None:
    """As :func:`top_level_modules`, read straight from a ``*.dist-info`` folder.

    ``None`` when ``folder`` is not a readable ``*.dist-info`` with a ``RECORD``
    (an egg, a zip): :func:`top_level_modules` answers then.
    """
    if not folder.endswith(".dist-info"):
        return None
    try:
        with open_regular(os.path.join(folder, "RECORD"), "utf-8") as fh:
            files = [_record_path(line).split("/") for line in fh if line.strip()]
    except (OSError, ValueError):
        return None
    try:
        with open_regular(os.path.join(folder, "top_level.txt"), "utf-8") as fh:
            top_level: str | None = fh.read()
    except (OSError, ValueError):
        top_level = None
    return top_levels_of(module_name, top_level, files)


def _record_path(line: str) -> str:
    """The path of one ``RECORD`` row (``path,hash,size``; a path with a comma is quoted)."""
    path = line.rstrip("\r\n").rsplit(",", 2)[0]
    if path.startswith('"') and path.endswith('"'):
        path = path[1:-1].replace('""', '"')
    return path


def top_levels_of(
    module_name: str, top_level: str | None, files: Iterable[Sequence[str]]
) -> frozenset[str]:
    """The top-level names in ``top_level.txt`` and the installed files' paths (as parts)."""
    names = {module_name.partition(".")[0]}
    if top_level:
        names.update(line.strip() for line in top_level.splitlines() if line.strip())
    for parts in files:
        if not parts or parts[0].endswith((".dist-info", ".egg-info")) or parts[0] == "..":
            continue
        if len(parts) == 1:
            if parts[0].endswith(".py"):
                names.add(parts[0][:-3])
        elif parts[0].isidentifier():
            names.add(parts[0])
    names.discard("__pycache__")
    return frozenset(names)


def distributions_in(entry: str) -> Iterator[tuple[str | None, str | None, str | None, Any]]:
    """``(name, version, summary, entry points)`` of each distribution in one path entry."""
    import importlib_metadata

    for dist in importlib_metadata.distributions(path=[entry]):
        meta: Any = dist.metadata  # None for a broken distribution on newer Pythons
        name = meta.get("Name") if meta is not None else None
        summary = meta.get("Summary") if meta is not None else None
        yield name, dist.version, summary, dist.entry_points
