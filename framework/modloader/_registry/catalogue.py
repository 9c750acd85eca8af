"""The catalogue: what is installed in the namespace, name conflicts, and why a module is absent."""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from modloader._discovery.base import Candidate
from modloader._discovery.base import Discovery
from modloader._names import name_key
from modloader._names import suggest
from modloader.errors import DiscoveryError
from modloader.errors import ModLoaderError
from modloader.errors import ModuleNotInstalledError
from modloader.errors import NameConflictError

__all__ = ["Catalogue"]

_log = logging.getLogger("modloader")


class Catalogue:
    """The latest scan of the namespace, and what ``modules.conf`` keeps out of it."""

    def __init__(self, discovery: Discovery) -> None:
        self.discovery = discovery
        self._candidates: dict[str, Candidate] = {}
        self._conflicts: dict[str, list[Candidate]] = {}
        self._noload: frozenset[str] = frozenset()
        self.autoload = True
        # Scans asked for at the same time share one (see rescan).
        self._scan_lock = threading.Lock()
        #: Held while the scan's results are stored (a whole scan's, or one name's).
        self._update_lock = threading.Lock()
        self._tickets = itertools.count()
        self._last_scan_started = -1

    def configure(self, *, autoload: bool, noload: Iterable[str]) -> None:
        self.autoload = autoload
        self._noload = frozenset(name_key(n) for n in noload)

    def rescan(self, name: str | None = None) -> None:
        """Read the namespace again (metadata only): installs and upgrades since are seen.

        With ``name``, a discovery that can (``scan_for``) reads only ``name``'s
        entry points again, checking only what they depend on; when that finds
        none, the whole namespace is read again.

        Callers that ask for a whole scan while one runs wait for the next scan
        that starts after they asked (it sees everything installed before) and
        share it: under load, one scan serves every command that asked meanwhile.

        :raises DiscoveryError: the scan itself failed.
        """
        scan_for = getattr(self.discovery, "scan_for", None) if name is not None else None
        if name is not None and scan_for is not None:
            # Not under the scan lock: a name's scan is short, and commands on
            # different names must not queue behind each other's.
            found = self._scan(lambda: scan_for(name))
            if found:
                key = name_key(name)
                with self._update_lock:
                    self._candidates.pop(key, None)
                    self._conflicts.pop(key, None)
                    if len(found) == 1:
                        self._candidates[key] = found[0]
                    else:
                        self._conflicts[key] = found
                return
        asked = next(self._tickets)
        with self._scan_lock:
            if self._last_scan_started > asked:
                return  # a scan that started after we asked has just finished
            started = next(self._tickets)
            found = self._scan(self.discovery.scan)
            by_key: dict[str, list[Candidate]] = {}
            for candidate in found:
                key = candidate.key
                if key:
                    by_key.setdefault(key, []).append(candidate)
                else:
                    _unnamed(candidate)
            with self._update_lock:
                self._candidates = {k: v[0] for k, v in by_key.items() if len(v) == 1}
                self._conflicts = {k: v for k, v in by_key.items() if len(v) > 1}
            self._last_scan_started = started

    def _scan(self, scan: Callable[[], list[Candidate]]) -> list[Candidate]:
        try:
            return scan()
        except ModLoaderError:
            raise
        except Exception as exc:
            raise DiscoveryError(
                f"the namespace '{self.discovery.namespace}' could not be read: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    def candidate(self, name: str) -> Candidate | None:
        """The one distribution that publishes ``name`` (``None``: none, or several)."""
        return self._candidates.get(name_key(name))

    def conflict(self, name: str) -> NameConflictError | None:
        """The error for ``name`` when several distributions publish it, else ``None``."""
        group = self._conflicts.get(name_key(name))
        if group is None:
            return None
        publishers = [c.publisher for c in group]
        if len(set(publishers)) == len(publishers):
            return NameConflictError(name, publishers)
        # One distribution publishes it twice: say which entry points.
        detailed = [f"{c.publisher} ({c.name} = {c.value})" for c in group]
        return NameConflictError(name, detailed, one_distribution=len(set(publishers)) == 1)

    def absent(self, name: str) -> NameConflictError | ModuleNotInstalledError:
        """Why ``name`` cannot be loaded: a name conflict, or not installed ("did you mean")."""
        return self.conflict(name) or ModuleNotInstalledError(
            name, suggest(name, self.installed_names())
        )

    def installed_names(self) -> list[str]:
        """Every published module name (conflicting ones once), sorted case-insensitively."""
        names = [c.name for c in self._candidates.values()]
        names += [group[0].name for group in self._conflicts.values()]
        # No two names share a lower-cased form (they would share a key): str.lower alone
        # orders them as (lower, name) would, with no Python call per name.
        return sorted(names, key=str.lower)

    def installed_count(self) -> int:
        """How many names :meth:`installed_names` would list (without listing them)."""
        return len(self._candidates) + len(self._conflicts)

    def autoload_names(self) -> list[str]:
        """What ``autoload`` adds to the load order: installed, not ``noload``'ed."""
        if not self.autoload:
            return []
        return [n for n in self.installed_names() if name_key(n) not in self._noload]

    def missing_reason(self, dep: str) -> str:
        """Why the dependency ``dep`` is not in the module list."""
        conflict = self.conflict(dep)
        if conflict is not None:
            return f"'{dep}' {conflict.reason}"
        if self.candidate(dep) is None:
            return f"'{dep}' is not installed"
        if name_key(dep) in self._noload:
            return f"'{dep}' is noload'ed"
        if not self.autoload:
            return f"'{dep}' is not in the load order (autoload is off and it is not listed)"
        return f"'{dep}' is not loaded"

    def load(self, candidate: Candidate) -> Any:
        """Import what ``candidate`` names."""
        return self.discovery.load(candidate)

    def top_level_modules(self, candidate: Candidate) -> frozenset[str]:
        return self.discovery.top_level_modules(candidate)


def _unnamed(candidate: Candidate) -> None:
    """An entry point whose name is empty (``= pkg:Module``, or ``.so``): no command or
    call could name its module, so it is not one; the operator is told who publishes it."""
    _log.warning(
        "%s publishes an entry point without a module name in '%s' (%r = %s); it is ignored",
        candidate.publisher,
        candidate.group,
        candidate.name,
        candidate.value,
    )
