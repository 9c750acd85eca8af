"""The lifecycle: the only writer of module state (import, start, stop, remove).

Every change to the module list happens under one re-entrant lock, so a
module's own ``load()``/``unload()`` may call back into the host from the same
thread. Taking and releasing references (:mod:`modloader._registry.refs`) does
not take the lock.

Two points of a module's life are single on purpose: :meth:`Lifecycle.became_running`
(its ``load()`` succeeded) and :meth:`Lifecycle.about_to_unload` (its
``unload()`` is about to be called). Whatever must happen at those moments goes there.
"""

from __future__ import annotations

import gc
import itertools
import logging
import sys
import threading
import time
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from typing import TYPE_CHECKING
from typing import Any
from typing import Protocol

from modloader._discovery.base import Candidate
from modloader._discovery.entrypoints import forget_directory_listings
from modloader._names import name_key
from modloader._registry.catalogue import Catalogue
from modloader._registry.context import CommandHandlerT
from modloader._registry.context import ModuleContext
from modloader._registry.events import EventBus
from modloader._registry.events import EventKind
from modloader._registry.modlist import ModuleList
from modloader._registry.outcomes import ModuleInfo
from modloader._registry.outcomes import StartResult
from modloader._registry.record import ModuleRecord
from modloader._registry.record import Registration
from modloader._registry.record import read_contract
from modloader._registry.refs import ModuleHandle
from modloader._registry.refs import acquire
from modloader._registry.states import ModuleState
from modloader._registry.states import check_transition
from modloader.module import LoadResult
from modloader.module import ModuleDeclined
from modloader.module import SupportLevel

if TYPE_CHECKING:
    from modloader._hooks.manager import HostHooks
    from modloader._host import Host
    from modloader._settings.service import SettingsService

__all__ = ["BUILTIN_HOLDER", "CommandSink", "Lifecycle", "describe"]

_log = logging.getLogger("modloader")
_S = ModuleState

#: The holder label of a built-in's permanent reference.
BUILTIN_HOLDER = "built-in"


class CommandSink(Protocol):
    """Where module commands go (the host's one command table)."""

    def add_module_command(
        self, owner: str, words: str, handler: CommandHandlerT, summary: str, usage: str | None
    ) -> Callable[[], None]: ...


class Lifecycle:
    """Starts, stops and removes the modules of one :class:`ModuleList`."""

    def __init__(
        self,
        modules: ModuleList,
        catalogue: Catalogue,
        *,
        host: Host,
        commands: Callable[[], CommandSink],
    ) -> None:
        self.modules = modules
        self.catalogue = catalogue
        self.host = host
        self.events = EventBus()
        #: The host's hooks, when it declares any: told at the single points below.
        self.hooks: HostHooks | None = None
        self.lock = threading.RLock()
        self._commands = commands
        self._seq = itertools.count(1)
        #: Module settings, validated before each ``load()`` (set by the host).
        self.settings: SettingsService | None = None
        #: What an awaitable returned by a module's ``load``/``unload``/``reload``
        #: becomes: ``settle(record, hook, awaitable) -> result``. A plain host
        #: refuses it; :class:`modloader.AsyncHost` awaits it on its loop.
        self.settle: Callable[[ModuleRecord, str, Awaitable[Any]], Any] = refuse_awaitable
        #: Records whose contract names modules they enhance (few): see references_wanted.
        self._enhancers: list[ModuleRecord] = []

    def hook_result(self, record: ModuleRecord, hook: str, result: Any) -> Any:
        """``result`` of ``record``'s ``hook``, awaited through :attr:`settle` if awaitable."""
        if result is not None and isinstance(result, Awaitable):
            return self.settle(record, hook, result)
        return result

    # -- what a module's context asks for ----------------------------------------------

    def use(self, name: str, holder: str) -> ModuleHandle[Any]:
        return acquire(self.modules.get(name), holder)

    def add_registration(self, owner: str, what: str, remove: Callable[[], None]) -> None:
        with self.lock:
            self.modules.get(owner).registrations.append(Registration(what, remove))

    def add_command(
        self, owner: str, words: str, handler: CommandHandlerT, summary: str, usage: str | None
    ) -> Callable[[], None]:
        with self.lock:
            owner = self.modules.get(owner).name
            return self._commands().add_module_command(owner, words, handler, summary, usage)

    # -- records -----------------------------------------------------------------------

    def new_record(self, name: str, candidate: Candidate | None, **flags: Any) -> ModuleRecord:
        record = ModuleRecord(name=name, candidate=candidate, **flags)
        # The context speaks for the module: it carries the entry point's own name,
        # while the record keeps the spelling the operator used (messages echo it).
        record.ctx = ModuleContext(candidate.name if candidate else name, self.host, self)
        self.modules.add(record)
        return record

    def builtin_records(self, builtins: Mapping[str, Any]) -> Iterator[ModuleRecord]:
        """Records for the host's built-in modules (already imported: they are objects)."""
        for name, obj in builtins.items():
            record = self.new_record(name, None, builtin=True, position=-1)
            self._read_contract(record, obj)
            record.obj = record.plugin = obj
            yield record

    def set_state(self, record: ModuleRecord, state: ModuleState) -> None:
        check_transition(record.name, record.state, state)
        record.state = state

    def decline(self, record: ModuleRecord, reason: str) -> None:
        """Mark ``record`` declined with ``reason``; it holds no references or registrations."""
        if record.state is _S.PENDING:
            self.set_state(record, _S.LOADING)
        self._run_cleanup(record)  # what a load() registered before it raised
        self._release_deps(record)
        record.error = reason
        self.set_state(record, _S.DECLINED)
        self.events.emit(EventKind.DECLINED, record.name, reason)

    # -- importing ---------------------------------------------------------------------

    def import_module(self, record: ModuleRecord) -> bool:
        """Import the record's code and read its contract; a failure declines it."""
        if record.obj is not None or record.candidate is None:
            return True
        try:
            plugin = self.catalogue.load(record.candidate)
            obj = plugin() if isinstance(plugin, type) else plugin
            self._read_contract(record, obj)
        except (Exception, SystemExit) as exc:
            # Logged as a failing load() is: the reason is the message, the traceback goes here.
            _log.warning("%s: import failed", record.name, exc_info=True)
            self.decline(record, f"{type(exc).__name__}: {exc}")
            return False
        record.plugin, record.obj = plugin, obj
        return True

    def _read_contract(self, record: ModuleRecord, obj: Any) -> None:
        read_contract(record, obj)
        if record.enhances:
            self._enhancers = [r for r in self._enhancers if r.state is not _S.REMOVED]
            self._enhancers.append(record)

    # -- starting ----------------------------------------------------------------------

    def references_wanted(self, record: ModuleRecord) -> list[ModuleRecord]:
        """What ``record`` holds a reference on while running (SPEC 4.2, 6).

        Its dependencies, its running optional modules, and the running
        enhancers of every module it requires.
        """
        wanted: dict[str, ModuleRecord] = {}
        for name in record.dependencies:
            dep = self.modules.get(name)
            wanted.setdefault(dep.key, dep)
        for name in record.optional_modules:
            other = self.modules.find(name)
            if other is not None and other.state.running:
                wanted.setdefault(other.key, other)
        if record.requires:
            targets = {self.modules.get(n).key for n in record.requires}
            enhancers = [
                other
                for other in self._enhancers
                if other.state.running and any(name_key(n) in targets for n in other.enhances)
            ]
            for other in sorted(enhancers, key=lambda r: r.start_seq):
                wanted.setdefault(other.key, other)
        wanted.pop(record.key, None)
        return list(wanted.values())

    def start(self, record: ModuleRecord) -> tuple[StartResult, str | None]:
        """Start one imported module whose dependencies were placed before it.

        Returns the result and the reason (for :attr:`StartResult.DEP_DECLINED`,
        the declined dependency's name).
        """
        if not self.import_module(record):
            return StartResult.DECLINED, record.error
        missing: list[str] = []
        for dep in record.dependencies:
            dep_record = self.modules.find(dep)
            if dep_record is None:
                missing.append(self.catalogue.missing_reason(dep))
            elif dep_record.state in (_S.DECLINED, _S.FAILED):
                self.decline(record, f"dependency '{dep_record.name}' declined to load")
                return StartResult.DEP_DECLINED, dep_record.name
            elif dep_record.state is not _S.RUNNING:
                missing.append(f"'{dep}' is not running ({dep_record.state.value})")
        if missing:
            reason = f"Failed to resolve dependencies for {record.name}: " + "; ".join(missing)
            self.decline(record, reason)
            return StartResult.DECLINED, reason
        self.set_state(record, _S.LOADING)
        # References on every dependency at once, or none (SPEC 4.3).
        try:
            for other in self.references_wanted(record):
                record.dep_handles.append(acquire(other, record.name))
        except Exception as exc:
            self.decline(record, f"could not reference a dependency: {exc}")
            return StartResult.DECLINED, record.error
        refused = self.hooks.admit(record) if self.hooks is not None else None
        if refused is not None:  # its hook implementations do not match their specs
            self.decline(record, refused)
            return StartResult.DECLINED, refused
        return self._call_load(record)

    def _call_load(self, record: ModuleRecord) -> tuple[StartResult, str | None]:
        if self.settings is not None:  # invalid settings decline the module before load()
            problem = self.settings.prepare(record)
            if problem is not None:
                self.decline(record, problem)
                return StartResult.DECLINED, problem
        load = getattr(record.obj, "load", None)
        try:
            result = self.hook_result(record, "load", load(record.ctx)) if callable(load) else None
        except ModuleDeclined as exc:
            self.decline(record, exc.reason)
            return StartResult.DECLINED, exc.reason
        except (Exception, SystemExit) as exc:
            _log.warning("%s: load() raised", record.name, exc_info=True)
            reason = f"{type(exc).__name__}: {exc}"
            self.decline(record, reason)
            return StartResult.DECLINED, reason
        if result is None or result is LoadResult.SUCCESS:
            self.became_running(record)
            return StartResult.RUNNING, None
        self._run_cleanup(record)
        if result is LoadResult.FAILURE:
            self._release_deps(record)
            record.error = "load() returned FAILURE"
            self.set_state(record, _S.FAILED)
            self.events.emit(EventKind.FAILED, record.name, record.error)
            return StartResult.FAILED, record.error
        reason = (
            "load() returned DECLINE"
            if result is LoadResult.DECLINE
            else f"load() returned {result!r}, not a LoadResult"
        )
        self.decline(record, reason)
        return StartResult.DECLINED, reason

    def became_running(self, record: ModuleRecord) -> None:
        """``record``'s ``load()`` succeeded: the one place a module becomes running."""
        record.start_seq = next(self._seq)
        record.load_time = time.time()
        record.error = None
        self.set_state(record, _S.RUNNING)
        if self.hooks is not None:  # it joins the hooks, missed historic calls replayed
            self.hooks.join(record)
        if record.support_level == SupportLevel.DEPRECATED.value:
            _log.warning(
                "Module '%s' is deprecated and may be removed in a future version.", record.name
            )
        self.events.emit(EventKind.LOADED, record.name)

    # -- stopping ----------------------------------------------------------------------

    def _release_deps(self, record: ModuleRecord) -> None:
        for handle in record.dep_handles:
            handle.release()
        record.dep_handles.clear()

    def _run_cleanup(self, record: ModuleRecord) -> None:
        """Remove everything the module registered (a failure is logged, not raised)."""
        for registration in reversed(record.registrations):
            try:
                registration.remove()
            except Exception:
                _log.warning(
                    "%s: removing %s failed", record.name, registration.what, exc_info=True
                )
        record.registrations.clear()

    def about_to_unload(self, record: ModuleRecord) -> str | None:
        """Call ``unload(ctx)``: the one place a running module is asked to stop.

        Returns why it refused, or ``None``.
        """
        if self.hooks is not None:  # no hook call enters the module from here on
            self.hooks.leave(record)
        unload = getattr(record.obj, "unload", None)
        if not callable(unload):
            return None
        try:
            result = self.hook_result(record, "unload", unload(record.ctx))
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
        if self.settings is not None:
            self.settings.forget(record)
        if record.state is not _S.REMOVED:
            self.set_state(record, _S.REMOVED)
        self.modules.forget(record)
        self.events.emit(EventKind.UNLOADED, record.name, record.error)
        if drop_code:
            self.drop_code(record)

    def unwind(self, *, call_unload: bool = True) -> list[str]:
        """Unload every running module in reverse start order (abort and shutdown)."""
        names = []
        with self.lock:
            for record in reversed(self.modules.running_in_start_order()):
                self.set_state(record, _S.UNLOADING)
                if call_unload:
                    refusal = self.about_to_unload(record)
                    if refusal:
                        _log.warning("%s refused to unload at shutdown: %s", record.name, refusal)
                self.remove(record, drop_code=False)
                names.append(record.name)
        return names

    def dependents(self, record: ModuleRecord) -> list[ModuleRecord]:
        """Running modules that hold a dependency reference on ``record``."""
        holders = {h.holder for h in list(record.holders)}
        return [
            r
            for r in self.modules.running_in_start_order()
            if r is not record
            and r.name in holders
            and any(h._record is record for h in r.dep_handles)
        ]

    def dependents_deep(self, record: ModuleRecord) -> list[ModuleRecord]:
        """Running dependents of ``record``, transitively, in start order."""
        found: dict[str, ModuleRecord] = {}

        def visit(target: ModuleRecord) -> None:
            for dependent in self.dependents(target):
                if dependent.key not in found:
                    visit(dependent)
                    found[dependent.key] = dependent

        visit(record)
        return sorted(found.values(), key=lambda r: r.start_seq)

    def top_levels(self, record: ModuleRecord) -> frozenset[str]:
        """The top-level Python modules of ``record``'s distribution (read once per record)."""
        if record.top_levels is None:
            record.top_levels = (
                frozenset()
                if record.candidate is None
                else self.catalogue.top_level_modules(record.candidate)
            )
        return record.top_levels

    def drop_code(self, record: ModuleRecord) -> list[str]:
        """Drop the removed module's Python modules from ``sys.modules`` (SPEC 5.3).

        Only the distribution's own top-level modules, and only when no module
        still in the list comes from code under the same names: another module
        of the same distribution, or one whose entry point's module is under
        one of them (only those have their distribution's files read).
        """
        tops = set(self.top_levels(record))
        if not tops:
            return []
        for other in self.modules.records():
            candidate = other.candidate
            if candidate is None or other.obj is None:
                continue
            if (
                candidate.dist_name == record.dist_name
                or candidate.module_name.partition(".")[0] in tops
            ):
                tops -= self.top_levels(other)
        tops.discard("modloader")
        dropped = [n for n in list(sys.modules) if n.partition(".")[0] in tops]
        for name in dropped:
            sys.modules.pop(name, None)
        if dropped:
            forget_directory_listings()
            gc.unfreeze()  # what startup froze may now hold this code's garbage
        return dropped


def refuse_awaitable(record: ModuleRecord, hook: str, awaitable: Awaitable[Any]) -> Any:
    """A plain :class:`~modloader.Host` cannot await a module's hook: say so, clearly."""
    close = getattr(awaitable, "close", None)
    if callable(close):
        close()  # a coroutine never awaited would warn at garbage collection
    raise TypeError(
        f"{hook}() of module '{record.name}' is a coroutine function; "
        f"async modules need modloader.AsyncHost"
    )


def describe(record: ModuleRecord) -> ModuleInfo:
    """A snapshot of one record, as :class:`ModuleInfo`."""
    return ModuleInfo(
        name=record.name,
        status=record.state.status,
        state=record.state.value,
        use_count=record.use_count,
        holders=tuple(sorted(list(record.holders.values()))),
        description=record.shown_description,
        support_level=record.support_level,
        version=record.version,
        distribution=record.dist_name,
        builtin=record.builtin,
        required=record.required,
        preload=record.preload,
        requires=record.requires,
        optional_modules=record.optional_modules,
        enhances=record.enhances,
        load_priority=record.load_priority,
        load_time=record.load_time,
        last_error=record.error,
    )
