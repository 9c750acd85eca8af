"""The loader: the module list and the only writer of module state.

Every change to the module list happens under one re-entrant lock, so a
module's own ``load()``/``unload()`` may call back into the host from the same
thread. Taking and releasing references (:mod:`modloader._registry.refs`) does
not take the lock.
"""

from __future__ import annotations

import itertools
import logging
import sys
import threading
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING
from typing import Any

from modloader._discovery.base import Candidate
from modloader._discovery.base import Discovery
from modloader._discovery.entrypoints import forget_directory_listings
from modloader._names import name_key
from modloader._names import suggest
from modloader._registry.context import CommandHandlerT
from modloader._registry.context import ModuleContext
from modloader._registry.events import EventBus
from modloader._registry.events import EventKind
from modloader._registry.record import ModuleRecord
from modloader._registry.record import Registration
from modloader._registry.record import read_contract
from modloader._registry.refs import ModuleHandle
from modloader._registry.refs import acquire
from modloader._registry.states import ModuleState
from modloader._registry.states import check_transition
from modloader.errors import NoSuchModuleError
from modloader.module import LoadResult
from modloader.module import ModuleDeclined
from modloader.module import SupportLevel

if TYPE_CHECKING:
    from modloader._hooks.manager import HostHooks

__all__ = ["Loader", "ModuleCommand", "Outcome", "StartResult"]

_log = logging.getLogger("modloader")
_S = ModuleState

#: The holder label of a built-in's permanent reference.
BUILTIN_HOLDER = "built-in"


@dataclass(slots=True)
class Outcome:
    """What an operation did: success, and the lines an operator reads."""

    ok: bool = True
    lines: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        self.lines.append(line)

    def fail(self, line: str | None = None) -> Outcome:
        if line:
            self.lines.append(line)
        self.ok = False
        return self


@dataclass(frozen=True, slots=True)
class ModuleCommand:
    """A console command contributed by a running module."""

    words: str
    owner: str
    handler: CommandHandlerT
    summary: str
    usage: str | None


class StartResult:
    """How starting one module ended (an enum would need a payload; these carry the reason)."""

    RUNNING = "running"
    DECLINED = "declined"
    DEP_DECLINED = "dep-declined"
    FAILED = "failed"


class Loader:
    """Holds the module list; starts, stops and reloads modules."""

    def __init__(self, discovery: Discovery, *, host: Any = None) -> None:
        self.discovery = discovery
        self.host = host
        self.events = EventBus()
        self.lock = threading.RLock()
        #: key -> record: the module list.
        self.records: dict[str, ModuleRecord] = {}
        #: Exact spelling -> record, so use() skips name normalisation on the hot path.
        self.by_spelling: dict[str, ModuleRecord] = {}
        #: key -> candidate, from the latest scan (conflicting names excluded).
        self.candidates: dict[str, Candidate] = {}
        #: key -> every candidate publishing that name, when more than one does.
        self.conflicts: dict[str, list[Candidate]] = {}
        #: Keys ``noload`` named, for messages about absent dependencies.
        self.noload_keys: set[str] = set()
        self.autoload = True
        self.commands: dict[str, ModuleCommand] = {}
        self._seq = itertools.count(1)
        #: The host's hooks (modloader._hooks), when it declares any: told before
        #: load(), before unload() and on every state change.
        self.hooks: HostHooks | None = None

    # -- discovery -----------------------------------------------------------------

    def rescan(self) -> None:
        """Read the namespace again (metadata only): installs and upgrades since are seen."""
        by_key: dict[str, list[Candidate]] = {}
        for candidate in self.discovery.scan():
            by_key.setdefault(candidate.key, []).append(candidate)
        self.candidates = {k: v[0] for k, v in by_key.items() if len(v) == 1}
        self.conflicts = {k: v for k, v in by_key.items() if len(v) > 1}

    def conflict_reason(self, key: str) -> str:
        publishers = ", ".join(sorted(c.publisher for c in self.conflicts[key]))
        return f"module name is published by more than one distribution: {publishers}"

    def installed_names(self) -> list[str]:
        return sorted(
            [c.name for c in self.candidates.values()]
            + [v[0].name for v in self.conflicts.values()],
            key=str.lower,
        )

    # -- lookup --------------------------------------------------------------------

    def find(self, name: str) -> ModuleRecord | None:
        record = self.by_spelling.get(name)
        if record is not None and record.state is not _S.REMOVED:
            return record
        record = self.records.get(name_key(name))
        if record is not None and record.state is not _S.REMOVED:
            self.by_spelling[name] = record
            record.spellings.append(name)
        return record

    def get(self, name: str) -> ModuleRecord:
        record = self.find(name)
        if record is None:
            raise NoSuchModuleError(
                name, suggest(name, [r.name for r in list(self.records.values())])
            )
        return record

    def ordered(self) -> list[ModuleRecord]:
        """The module list, sorted case-insensitively by name."""
        return sorted(list(self.records.values()), key=lambda r: (r.name.lower(), r.name))

    def running_in_start_order(self) -> list[ModuleRecord]:
        running = [r for r in list(self.records.values()) if r.state in (_S.RUNNING, _S.UNLOADING)]
        return sorted(running, key=lambda r: r.start_seq)

    # -- references (lock-free hot path) ---------------------------------------------

    def use(self, name: str, holder: str) -> ModuleHandle:
        record = self.by_spelling.get(name)
        if record is None or record.state is _S.REMOVED:
            record = self.get(name)
        return acquire(record, holder)

    # -- registrations ---------------------------------------------------------------

    def add_registration(self, owner: str, what: str, remove: Callable[[], None]) -> None:
        with self.lock:
            self.get(owner).registrations.append(Registration(what, remove))

    def register_command(
        self, owner: str, words: str, handler: CommandHandlerT, summary: str, usage: str | None
    ) -> None:
        words = " ".join(words.split()).lower()
        with self.lock:
            owner = self.get(owner).name
            existing = self.commands.get(words)
            if existing is not None and existing.owner != owner:
                raise ValueError(f"command '{words}' is already registered by '{existing.owner}'")
            self.commands[words] = ModuleCommand(words, owner, handler, summary, usage)

            def remove() -> None:
                if (
                    self.commands.get(words, None) is not None
                    and self.commands[words].owner == owner
                ):
                    del self.commands[words]

            self.get(owner).registrations.append(Registration(f"command '{words}'", remove))

    # -- records -------------------------------------------------------------------

    def new_record(self, name: str, candidate: Candidate | None, **flags: Any) -> ModuleRecord:
        record = ModuleRecord(name=name, candidate=candidate, **flags)
        # The context speaks for the module: it carries the entry point's own name,
        # while the record keeps the spelling the operator used (messages echo it).
        record.ctx = ModuleContext(candidate.name if candidate else name, self.host, self)
        old = self.records.get(record.key)
        if old is not None:
            self._forget(old)
        self.records[record.key] = record
        return record

    def _forget(self, record: ModuleRecord) -> None:
        if self.records.get(record.key) is record:
            del self.records[record.key]
        for spelling in record.spellings:
            if self.by_spelling.get(spelling) is record:
                del self.by_spelling[spelling]

    def set_state(self, record: ModuleRecord, state: ModuleState) -> None:
        old = record.state
        check_transition(record.name, old, state)
        record.state = state
        if self.hooks is not None:  # hooks: join when running, rejoin, forget when removed
            self.hooks.transition(record, old, state)

    def decline(self, record: ModuleRecord, reason: str) -> None:
        """Mark ``record`` declined with ``reason``; it holds no references."""
        self._release_deps(record)
        record.error = reason
        self.set_state(record, _S.DECLINED)
        self.events.emit(EventKind.DECLINED, record.name, reason)

    # -- importing -----------------------------------------------------------------

    def import_module(self, record: ModuleRecord) -> bool:
        """Import the record's code and read its contract; a failure declines it."""
        if record.obj is not None or record.candidate is None:
            return True
        try:
            plugin = self.discovery.load(record.candidate)
            obj = plugin() if isinstance(plugin, type) else plugin
            read_contract(record, obj)
        except (Exception, SystemExit) as exc:
            _log.debug("importing %s failed", record.name, exc_info=True)
            self.set_state(record, _S.LOADING)
            self.decline(record, f"{type(exc).__name__}: {exc}")
            return False
        record.plugin, record.obj = plugin, obj
        return True

    # -- starting ------------------------------------------------------------------

    def missing_reason(self, dep: str) -> str:
        """Why ``dep`` is not in the module list."""
        key = name_key(dep)
        if key in self.conflicts:
            return f"'{dep}' {self.conflict_reason(key)}"
        if key not in self.candidates:
            return f"'{dep}' is not installed"
        if key in self.noload_keys:
            return f"'{dep}' is noload'ed"
        if not self.autoload:
            return f"'{dep}' is not in the load order (autoload is off and it is not listed)"
        return f"'{dep}' is not loaded"

    def start(self, record: ModuleRecord) -> tuple[str, str | None]:
        """Start one imported module whose dependencies were placed before it.

        Returns ``(StartResult.*, reason or the declined dependency's name)``.
        """
        if not self.import_module(record):
            return StartResult.DECLINED, record.error
        missing: list[str] = []
        for dep in record.dependencies:
            dep_record = self.find(dep)
            if dep_record is None or dep_record.state is _S.REMOVED:
                missing.append(self.missing_reason(dep))
            elif dep_record.state in (_S.DECLINED, _S.FAILED):
                self.set_state(record, _S.LOADING)
                self.decline(record, f"dependency '{dep_record.name}' declined to load")
                return StartResult.DEP_DECLINED, dep_record.name
            elif dep_record.state is not _S.RUNNING:
                missing.append(f"'{dep}' is not running ({dep_record.state.value})")
        self.set_state(record, _S.LOADING)
        if missing:
            reason = f"Failed to resolve dependencies for {record.name}: " + "; ".join(missing)
            self.decline(record, reason)
            return StartResult.DECLINED, reason
        # References on every dependency at once, or none (SPEC 4.3).
        wanted = list(record.dependencies) + [
            n
            for n in record.optional_modules
            if (r := self.find(n)) is not None and r.state.running
        ]
        try:
            for dep in dict.fromkeys(name_key(n) for n in wanted):
                record.dep_handles.append(acquire(self.records[dep], record.name))
        except Exception as exc:
            self.decline(record, f"could not reference a dependency: {exc}")
            return StartResult.DECLINED, record.error
        return self._call_load(record)

    def _call_load(self, record: ModuleRecord) -> tuple[str, str | None]:
        if self.hooks is not None:  # hooks: implementations checked against their specs
            refused = self.hooks.admit(record)
            if refused is not None:
                self.decline(record, refused)
                return StartResult.DECLINED, refused
        load = getattr(record.obj, "load", None)
        try:
            result = load(record.ctx) if callable(load) else None
        except ModuleDeclined as exc:
            self.decline(record, exc.reason)
            return StartResult.DECLINED, exc.reason
        except (Exception, SystemExit) as exc:
            _log.warning("%s: load() raised", record.name, exc_info=True)
            reason = f"{type(exc).__name__}: {exc}"
            self.decline(record, reason)
            return StartResult.DECLINED, reason
        if result is None or result is LoadResult.SUCCESS:
            record.start_seq = next(self._seq)
            record.load_time = time.time()
            record.error = None
            self.set_state(record, _S.RUNNING)
            if record.support_level == SupportLevel.DEPRECATED.value:
                _log.warning(
                    "Module '%s' is deprecated and may be removed in a future version.", record.name
                )
            self.events.emit(EventKind.LOADED, record.name)
            return StartResult.RUNNING, None
        if result is LoadResult.FAILURE:
            self._run_cleanup(record)
            self._release_deps(record)
            record.error = "load() returned FAILURE"
            self.set_state(record, _S.FAILED)
            self.events.emit(EventKind.FAILED, record.name, record.error)
            return StartResult.FAILED, record.error
        reason = (
            "load() returned DECLINE"
            if result is LoadResult.DECLINE
            else (f"load() returned {result!r}, not a LoadResult")
        )
        self._run_cleanup(record)
        self.decline(record, reason)
        return StartResult.DECLINED, reason

    # -- stopping ------------------------------------------------------------------

    def _release_deps(self, record: ModuleRecord) -> None:
        for handle in record.dep_handles:
            handle.release()
        record.dep_handles.clear()

    def _run_cleanup(self, record: ModuleRecord) -> list[str]:
        """Remove everything the module registered; returns what failed to go."""
        problems = []
        for registration in reversed(record.registrations):
            try:
                registration.remove()
            except Exception as exc:
                _log.warning(
                    "%s: removing %s failed", record.name, registration.what, exc_info=True
                )
                problems.append(f"{registration.what}: {exc}")
        record.registrations.clear()
        return problems

    def call_unload(self, record: ModuleRecord) -> str | None:
        """Call ``unload(ctx)``; returns why it refused, or ``None``."""
        if self.hooks is not None:  # hooks: no call enters the module from here on
            self.hooks.leave(record)
        unload = getattr(record.obj, "unload", None)
        if not callable(unload):
            return None
        try:
            result = unload(record.ctx)
        except (Exception, SystemExit) as exc:
            _log.warning("%s: unload() raised", record.name, exc_info=True)
            return f"{type(exc).__name__}: {exc}"
        return "unload() returned False" if result is False else None

    def remove(self, record: ModuleRecord, *, drop_code: bool = True) -> None:
        """Take ``record`` out of the module list (its hooks already called).

        ``drop_code=False`` keeps its Python modules imported (at shutdown,
        where nothing will load them again, dropping them is wasted work).
        """
        self._run_cleanup(record)
        self._release_deps(record)
        if record.state is not _S.REMOVED:
            self.set_state(record, _S.REMOVED)
        self._forget(record)
        self.events.emit(EventKind.UNLOADED, record.name, record.error)
        if drop_code:
            self.drop_code(record)

    def dependents(self, record: ModuleRecord) -> list[ModuleRecord]:
        """Running modules that hold a dependency reference on ``record``."""
        holders = {h.holder for h in list(record.holders)}
        return [
            r
            for r in self.running_in_start_order()
            if r is not record
            and r.name in holders
            and any(h._record is record for h in r.dep_handles)
        ]

    def top_levels(self, record: ModuleRecord) -> frozenset[str]:
        """The top-level Python modules of ``record``'s distribution (read once per record)."""
        if record.top_levels is None:
            record.top_levels = (
                frozenset()
                if record.candidate is None
                else self.discovery.top_level_modules(record.candidate)
            )
        return record.top_levels

    def drop_code(self, record: ModuleRecord) -> list[str]:
        """Drop the removed module's Python modules from ``sys.modules`` (SPEC 5.3).

        Only the distribution's own top-level modules, and only when no module
        still in the list comes from code under the same names.
        """
        tops = set(self.top_levels(record))
        if not tops:
            return []
        for other in list(self.records.values()):
            if other.candidate is not None and other.obj is not None:
                tops -= self.top_levels(other)
        tops.discard("modloader")
        dropped = [n for n in list(sys.modules) if n.partition(".")[0] in tops]
        for name in dropped:
            sys.modules.pop(name, None)
        if dropped:
            forget_directory_listings()
        return dropped

    # -- introspection -------------------------------------------------------------

    def describe(self, record: ModuleRecord) -> dict[str, Any]:
        """The structured form of one ``module show`` row."""
        return {
            "name": record.name,
            "description": record.shown_description,
            "use_count": record.use_count,
            "status": record.state.status,
            "state": record.state.value,
            "support_level": record.support_level,
            "version": record.version,
            "distribution": record.dist_name,
            "builtin": record.builtin,
            "required": record.required,
            "preload": record.preload,
            "holders": sorted(list(record.holders.values())),
            "requires": list(record.requires),
            "optional_modules": list(record.optional_modules),
            "enhances": list(record.enhances),
            "load_priority": record.load_priority,
            "load_time": record.load_time,
            "last_error": record.error,
        }


def builtin_records(loader: Loader, builtins: Mapping[str, Any]) -> Iterable[ModuleRecord]:
    """Records for the host's built-in modules (already imported: they are objects)."""
    for name, obj in builtins.items():
        record = loader.new_record(name, None, builtin=True)
        read_contract(record, obj)
        record.obj = obj
        record.plugin = obj
        yield record
