"""The one place the ``importlib_metadata`` backport enters.

It answers what needs a distribution's full metadata rather than the cheap
scan's headers: the files a distribution installed (so that a removed
module's own Python modules can be dropped from ``sys.modules``), and the
distributions inside a zip on the path. The backport rather than the standard
library: it carries the current behaviour (and fixes) on every supported
Python. It is imported only on those paths, never by a warm startup.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["distributions_in", "top_level_modules"]


def top_level_modules(dist_name: str, module_name: str) -> frozenset[str]:
    """The top-level Python modules ``dist_name`` installed (at least ``module_name``'s)."""
    import importlib_metadata

    names = {module_name.partition(".")[0]}
    try:
        dist = importlib_metadata.distribution(dist_name)
    except importlib_metadata.PackageNotFoundError:
        return frozenset(names)
    top_level = dist.read_text("top_level.txt")
    if top_level:
        names.update(line.strip() for line in top_level.splitlines() if line.strip())
    for file in dist.files or ():
        parts = file.parts
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
