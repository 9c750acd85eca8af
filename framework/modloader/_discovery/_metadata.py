"""The one place the ``importlib_metadata`` backport enters.

It answers what needs a distribution's full metadata rather than the cheap
scan's headers: the files a distribution installed (so that a removed
module's own Python modules can be dropped from ``sys.modules``), and the
distributions inside a zip on the path. The backport rather than the
standard library: it carries the current behaviour (and fixes) on every
supported Python. It is imported only for what is in a zip, never by a warm
startup; a metadata folder the scan found on disk is read directly (a
``*.dist-info``'s ``RECORD`` and ``top_level.txt``, an ``*.egg-info``'s
``top_level.txt``), as regular files only.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any

from modloader._files import open_regular

__all__ = ["distributions_in", "folder_top_levels", "top_level_modules"]

_log = logging.getLogger("modloader")


def top_level_modules(dist_name: str, module_name: str) -> frozenset[str]:
    """The top-level Python modules ``dist_name`` installed (at least ``module_name``'s)."""
    import importlib_metadata

    try:
        dist = importlib_metadata.distribution(dist_name)
    except importlib_metadata.PackageNotFoundError:
        return frozenset({module_name.partition(".")[0]})
    files = [file.parts for file in dist.files or ()]
    return top_levels_of(module_name, dist.read_text("top_level.txt"), files)


def folder_top_levels(folder: str, module_name: str) -> frozenset[str]:
    """As :func:`top_level_modules`, read straight from a metadata folder on disk.

    ``folder`` is a ``*.dist-info`` (its ``RECORD`` and ``top_level.txt`` are
    read), a ``*.egg-info`` or an egg's ``EGG-INFO`` (its ``top_level.txt``).
    A file that is missing counts as empty; one that is there but cannot be
    read (not a regular file: a FIFO, a device linked there; not UTF-8;
    larger than :data:`MAX_METADATA_BYTES`) too, said in the log. The backport
    is not asked then: it would read the same file, and wait on a FIFO or read
    ``/dev/zero`` for ever.
    """
    files: list[list[str]] = []
    if folder.lower().endswith(".dist-info"):
        record = _read(os.path.join(folder, "RECORD"))
        files = [_record_path(line).split("/") for line in (record or "").splitlines()]
    top_level = _read(os.path.join(folder, "top_level.txt"))
    return top_levels_of(module_name, top_level, [f for f in files if f != [""]])


#: The largest ``RECORD`` or ``top_level.txt`` read (the largest real ``RECORD`` files
#: are some megabytes).
MAX_METADATA_BYTES = 64 * 1024 * 1024


def _read(path: str) -> str | None:
    """A metadata file's text; ``None`` when it is missing or cannot be read (logged)."""
    try:
        with open_regular(path, "utf-8") as fh:
            if os.fstat(fh.fileno()).st_size > MAX_METADATA_BYTES:
                raise ValueError(f"larger than {MAX_METADATA_BYTES} bytes")
            return fh.read()
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        if isinstance(exc, UnicodeDecodeError):
            reason = f"not UTF-8: {exc.reason}"
        else:
            reason = str(exc) or type(exc).__name__
        _log.warning(
            "%s cannot be read (%s): the Python modules its distribution installed are "
            "known only from its entry point and top_level.txt",
            path,
            reason,
        )
        return None


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
