"""Modules held in memory: for tests, and for hosts that assemble modules in code."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

from modloader._discovery.base import Candidate

__all__ = ["StaticDiscovery"]


class StaticDiscovery:
    """A discovery over objects given in code; nothing is read from the environment.

    ``modules`` maps a module name to its object (a class, an instance or a
    Python module). Use ``add`` and ``remove`` to mimic installs and removals.

    :raises TypeError: ``namespace`` is not a string, ``modules`` not a mapping,
        or a name not a string (``ValueError``: an empty one).
    """

    def __init__(
        self, namespace: str = "modloader.testing", modules: Mapping[str, Any] | None = None
    ) -> None:
        if not isinstance(namespace, str):
            raise TypeError(f"StaticDiscovery(): 'namespace' must be a str, not {namespace!r}")
        if modules is not None and not isinstance(modules, Mapping):
            raise TypeError(
                f"StaticDiscovery(): 'modules' must be a mapping (name -> object), "
                f"not of type {type(modules).__name__}"
            )
        self._namespace = namespace
        self._objects: dict[str, Any] = {}
        self._candidates: dict[str, Candidate] = {}
        #: Names whose object was asked for, in order: what was "imported".
        self.loaded: list[str] = []
        for name, obj in (modules or {}).items():
            self.add(name, obj)

    @property
    def namespace(self) -> str:
        """The entry-point group it stands for (the host's namespace)."""
        return self._namespace

    def add(
        self,
        name: str,
        obj: Any,
        *,
        dist_name: str | None = None,
        version: str | None = "1.0",
        summary: str | None = None,
    ) -> Candidate:
        """Make ``name`` discoverable, publishing ``obj`` (replaces an earlier one)."""
        if not isinstance(name, str):
            raise TypeError(f"StaticDiscovery: a module name must be a str, not {name!r}")
        if not name.strip():
            raise ValueError("StaticDiscovery: a module name must not be empty")
        candidate = Candidate(
            name=name,
            value=f"{getattr(obj, '__module__', None) or 'static'}:{name}",
            group=self._namespace,
            dist_name=dist_name or f"static-{name}",
            version=version,
            summary=summary,
        )
        self._candidates[name] = candidate
        self._objects[name] = obj
        return candidate

    def remove(self, name: str) -> None:
        """Make ``name`` undiscoverable, as an uninstall would (nothing if it is not there)."""
        self._candidates.pop(name, None)
        self._objects.pop(name, None)

    def scan(self) -> list[Candidate]:
        """Every module it publishes now (the discovery protocol: what the host lists)."""
        return list(self._candidates.values())

    def load(self, candidate: Candidate) -> Any:
        """The object of ``candidate`` (the discovery protocol: "import" it); an exception
        given as the object is raised, as a failing import would."""
        self.loaded.append(candidate.name)
        obj = self._objects[candidate.name]
        if isinstance(obj, BaseException):
            raise obj
        return obj

    def top_level_modules(self, candidate: Candidate) -> frozenset[str]:
        """The top-level Python modules whose code an unload of ``candidate`` drops: a
        Python module given as the object, else none (the objects live in your code)."""
        obj = self._objects.get(candidate.name)
        module = getattr(obj, "__name__", None) if type(obj).__name__ == "module" else None
        return (
            frozenset({module.partition(".")[0]})
            if module and module in sys.modules
            else frozenset()
        )

    def extend(self, modules: Iterable[tuple[str, Any]]) -> None:
        """:meth:`add` each ``(name, object)`` pair."""
        for name, obj in modules:
            self.add(name, obj)
