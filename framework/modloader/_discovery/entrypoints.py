"""Discovery over installed distributions; the one place stevedore enters.

Listing is metadata only (:func:`modloader._discovery.scan.scan_group`, with
its never-stale cache). Importing one module is :meth:`EntryPointDiscovery.load`,
which resolves ``module:attr`` exactly as ``EntryPoint.load`` does. The set of
running modules is offered to app authors as a stevedore ``ExtensionManager``
of ``Extension`` records (:func:`extension_manager`), built when asked for:
stevedore and ``importlib.metadata`` cost a host's startup more than the
whole warm discovery, so startup does not import them. stevedore's own
entry-point caches are not used for listing: they are never refreshed within
a process, so a distribution installed after the first scan would stay
invisible to ``module load``.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import Iterable
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any

from modloader._discovery.base import Candidate
from modloader._discovery.base import target

if TYPE_CHECKING:
    from stevedore.extension import ExtensionManager

    from modloader._cachestore import CacheStore

__all__ = ["EntryPointDiscovery", "extension_manager", "load_entry_point"]


class EntryPointDiscovery:
    """Modules from the entry points of ``namespace`` in the installed distributions."""

    def __init__(
        self,
        namespace: str,
        *,
        path: Sequence[str] | None = None,
        cache: CacheStore | None = None,
    ) -> None:
        self._namespace = namespace
        self._path = path
        self._cache = cache

    @property
    def namespace(self) -> str:
        return self._namespace

    def scan(self) -> list[Candidate]:
        from modloader._discovery.scan import scan_group

        forget_directory_listings()  # let imports see distributions installed since
        return scan_group(self._namespace, path=self._path, cache=self._cache)

    def scan_for(self, name: str) -> list[Candidate]:
        """The entry points named ``name`` (as :meth:`scan` would list them), checking less.

        Only what they depend on is checked: the path folders (a distribution
        installed since is read) and the distributions that publish ``name``.
        """
        from modloader._discovery.scan import scan_group

        forget_directory_listings()
        return scan_group(self._namespace, path=self._path, cache=self._cache, wanted=name)

    def load(self, candidate: Candidate) -> Any:
        return load_entry_point(candidate.value)

    def top_level_modules(self, candidate: Candidate) -> frozenset[str]:
        if candidate.dist_name is None:
            return frozenset({candidate.module_name.partition(".")[0]})
        from modloader._discovery import _metadata

        if candidate.origin is not None:  # a metadata folder on disk
            return _metadata.folder_top_levels(candidate.origin, candidate.module_name)
        return _metadata.top_level_modules(candidate.dist_name, candidate.module_name)


def forget_directory_listings() -> None:
    """Make the import system re-read the folders on ``sys.path`` that may have changed.

    What ``importlib.invalidate_caches()`` does for path entries, without its
    other finders (on Python 3.13 it also imports ``importlib.metadata``, about
    30 ms, which a warm startup never needs), and only where it is needed. A
    path finder re-reads its folder by itself when the folder's mtime changes;
    it can miss a change only while that mtime is recent, within the clock's
    tick of its last read (the scan's "racy" window). So a folder is forgotten
    unless it was forgotten before at its current mtime, already old enough
    then: whatever was read since is final. Re-reading every folder at every
    ``module load`` made each import list its folders again, holding the
    interpreter's import lock, which every other import waits for. Only the
    folders on :data:`sys.path` are checked (a package's own folder is simply
    forgotten: it is read again only when something is imported from it).
    """
    from modloader._discovery.scan import RACY_NS

    settled_before = time.time_ns() - RACY_NS
    on_path = set(sys.path)
    for path, finder in list(sys.path_importer_cache.items()):
        invalidate = getattr(finder, "invalidate_caches", None)
        if invalidate is None:
            continue
        if path not in on_path:  # a package's folder: forgetting costs nothing until used
            invalidate()
            continue
        try:
            mtime = os.stat(path or ".").st_mtime_ns
        except (OSError, ValueError):
            mtime = None
        if mtime is not None and _SETTLED.get(path) == mtime:
            continue
        invalidate()
        if mtime is not None and mtime < settled_before:
            _SETTLED[path] = mtime
        else:
            _SETTLED.pop(path, None)


#: Path entry -> the mtime its finder was last forgotten at, old enough then to be final.
_SETTLED: dict[str, int] = {}


def load_entry_point(value: str) -> Any:
    """Import ``module.path:attr.path`` and return the object, as ``EntryPoint.load`` does."""
    module_name, attrs = target(value)
    obj: Any = importlib.import_module(module_name)
    for attr in filter(None, attrs.split(".")):
        obj = getattr(obj, attr)
    return obj


def extension_manager(
    namespace: str, running: Iterable[tuple[Candidate, Any, Any]]
) -> ExtensionManager[Any]:
    """The running modules as a stevedore ``ExtensionManager`` (for ``map``/``map_method``).

    ``running`` holds ``(candidate, plugin, obj)`` for each running module, in
    start order: the plugin is what the entry point names, the object the one
    whose hooks are called (stevedore's ``Extension.obj``). The manager is a
    real one whose plugins are those modules: it does not scan or import again.
    """
    from importlib.metadata import EntryPoint

    from stevedore.extension import Extension
    from stevedore.extension import ExtensionManager

    extensions: list[Extension[Any]] = [
        Extension(c.name, EntryPoint(c.name, c.value, c.group), plugin, obj)
        for c, plugin, obj in running
    ]

    class RunningModules(ExtensionManager[Any]):
        """The host's running modules, in start order."""

        def _load_plugins(
            self,
            invoke_on_load: bool,
            invoke_args: tuple[Any, ...],
            invoke_kwds: dict[str, Any],
        ) -> list[Extension[Any]]:
            return extensions

    return RunningModules(namespace)
