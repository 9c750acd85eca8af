"""The lifecycle: the only writer of module state (import, start, stop, remove).

Every change to the module list happens under one re-entrant lock, which is
never held while module code runs: a module's code runs through
:meth:`Lifecycle.module_call` (the one place it is called), in a call thread
with a time limit, while the lock is suspended (:mod:`modloader._registry.calls`).
The operations that call module code are generators of steps
(:mod:`modloader._registry.steps`), run by :meth:`Lifecycle.run` (one
operation: here until its first module call, then on a call thread) or, at
startup and in :func:`~modloader._registry.shutdown.unwind`, many of them on one
call thread.
A module's own ``load()``/``unload()`` may call back into the host from there.
A module whose code is running is *busy* (:attr:`ModuleRecord.busy`); the
operations refuse to touch it meanwhile. Taking and releasing references
(:mod:`modloader._registry.refs`) does not take the lock.

Two points of a module's life are single on purpose: :meth:`Lifecycle.became_running`
(its ``load()`` succeeded) and :meth:`Lifecycle.unloading` (its
``unload()`` is about to be called). Whatever must happen at those moments goes there.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from typing import TYPE_CHECKING
from typing import Any
from typing import TypeVar

from modloader._discovery.base import Candidate
from modloader._registry import reconcile
from modloader._registry.calls import DEFAULT_TIMEOUT
from modloader._registry.calls import CallResult
from modloader._registry.calls import CallStatus
from modloader._registry.calls import LateT
from modloader._registry.calls import OpLock
from modloader._registry.calls import QuickSwitching
from modloader._registry.calls import invoke
from modloader._registry.calls import log_raised
from modloader._registry.calls import refusal
from modloader._registry.calls import refuse_awaitable
from modloader._registry.catalogue import Catalogue
from modloader._registry.code import drop_code
from modloader._registry.context import CommandSink
from modloader._registry.context import LoaderPort
from modloader._registry.context import ModuleContext
from modloader._registry.deps import references_wanted
from modloader._registry.deps import unmet_dependencies
from modloader._registry.events import EventBus
from modloader._registry.events import EventKind
from modloader._registry.modlist import ModuleList
from modloader._registry.outcomes import StartResult
from modloader._registry.outcomes import describe
from modloader._registry.record import ModuleRecord
from modloader._registry.record import read_contract
from modloader._registry.record import remove_registrations
from modloader._registry.refs import ModuleHandle
from modloader._registry.refs import acquire
from modloader._registry.states import ModuleState
from modloader._registry.states import check_transition
from modloader._registry.steps import ModuleCall
from modloader._registry.steps import Steps
from modloader._registry.steps import run_one
from modloader._registry.words import shown
from modloader.module import LoadResult
from modloader.module import ModuleDeclined
from modloader.module import SupportLevel

if TYPE_CHECKING:
    from modloader._hooks.manager import HostHooks
    from modloader._host import Host
    from modloader._settings.service import SettingsService

__all__ = ["BUILTIN_HOLDER", "Lifecycle", "describe", "refusal"]

_log = logging.getLogger("modloader")
_S = ModuleState
T = TypeVar("T")

#: The holder label of a built-in's permanent reference.
BUILTIN_HOLDER = "built-in"


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
        self.lock = OpLock()
        #: Seconds a module call may take (``None``: no limit); ``Host(module_timeout=...)``.
        self.timeout: float | None = DEFAULT_TIMEOUT
        #: The switch interval while an operation runs; ``Host(operation_switch_interval=...)``.
        self.switch_interval: float | None = None
        #: How a module's function is invoked in its thread (``fn(*args)``); replaceable,
        #: e.g. to run coroutine functions on an event loop.
        self.invoke: Callable[[Callable[..., Any], tuple[Any, ...]], Any] = invoke
        #: What the modules' contexts ask of the loader (their own records, their commands).
        self.port = LoaderPort(modules, self.lock, commands)
        self._seq = itertools.count(1)
        #: The host has stopped (set before it unwinds): no module starts running now.
        self.closed = False
        #: Module settings, validated before each ``load()`` (set by the host).
        self.settings: SettingsService | None = None
        #: What an awaitable returned by a module's ``load``/``unload``/``reload``
        #: becomes: ``settle(record, hook, awaitable) -> result``. A plain host
        #: refuses it; :class:`modloader.AsyncHost` awaits it on its loop.
        self.settle: Callable[[ModuleRecord, str, Awaitable[Any]], Any] = refuse_awaitable
        #: Records whose contract names modules they enhance (few): see deps.references_wanted.
        self.enhancers: list[ModuleRecord] = []

    def hook_result(self, record: ModuleRecord, hook: str, result: Any) -> Any:
        """``result`` of ``record``'s ``hook``, awaited through :attr:`settle` if awaitable."""
        if result is not None and isinstance(result, Awaitable):
            return self.settle(record, hook, result)
        return result

    # -- what a module's context asks for ----------------------------------------------

    def use(self, name: str, holder: str) -> ModuleHandle[Any]:
        return acquire(self.modules.get(name), holder)

    # -- records -----------------------------------------------------------------------

    def new_record(self, name: str, candidate: Candidate | None, **flags: Any) -> ModuleRecord:
        record = ModuleRecord(name=name, candidate=candidate, **flags)
        # The context speaks for the module: it carries the entry point's own name,
        # while the record keeps the spelling the operator used (messages echo it).
        record.ctx = ModuleContext(candidate.name if candidate else name, self.host, self.port)
        self.modules.add(record)
        return record

    def builtin_records(self, builtins: Mapping[str, Any]) -> Iterator[ModuleRecord]:
        """Records for the host's built-in modules (already imported: they are objects)."""
        for name, obj in builtins.items():
            record = self.new_record(name, None, builtin=True, position=-1)
            read_contract(record, obj)
            self.index_enhancer(record)
            record.obj = record.plugin = obj
            yield record

    def set_state(self, record: ModuleRecord, state: ModuleState) -> None:
        check_transition(record.name, record.state, state)
        record.state = state

    # -- calling module code -------------------------------------------------------------

    def run(self, steps: Steps[T]) -> T:
        """Run one operation's steps, here until its first module call, then on a
        call thread (:func:`~modloader._registry.steps.run_one`)."""
        with QuickSwitching(self.switch_interval):
            return run_one(steps, lock=self.lock, limit=self.timeout)

    def module_call(
        self,
        record: ModuleRecord,
        hook: str,
        fn: Callable[..., Any],
        args: tuple[Any, ...] = (),
        *,
        on_late: LateT | None = None,
        claimed: bool = False,
    ) -> Steps[CallResult]:
        """Run ``fn(*args)``, a piece of ``record``'s code: the one place module code runs.

        It runs in a call thread with the lock suspended and ``record`` busy
        (``record.busy == hook``; ``claimed``: the caller made it busy, and makes it
        idle again itself), for at most :attr:`timeout` seconds
        (:mod:`modloader._registry.steps`). A call that outlives it leaves
        ``record`` busy until it returns; then ``on_late(result)`` runs under the
        lock, in the module's thread, to reconcile its state. Whatever the code
        raises is in the result (and logged here).
        """
        record.busy = hook
        invoke = self.invoke

        def late(result: CallResult) -> None:
            with self.lock:
                record.busy = None
                record.logged = log_raised(record.name, result)
                _log.warning(
                    "%s: %s() returned %.1f s after the host stopped waiting for it (%s)",
                    record.name,
                    hook,
                    result.seconds,
                    result.status.value,
                )
                if on_late is not None:
                    on_late(result)

        try:
            result = yield ModuleCall(
                hook, self._settled, (record, hook, invoke, fn, args), self.timeout, late
            )
        except BaseException:
            # The caller was interrupted while waiting (a Ctrl-C in the main thread): the
            # call goes on in its thread, shown as timed out, and ``late`` reconciles.
            _log.warning("%s: stopped waiting for %s() (interrupted)", record.name, hook)
            if record.state in (_S.PENDING, _S.LOADING, _S.UNLOADING):
                record.error = f"the host stopped waiting for {hook}() (interrupted)"
                self.set_state(record, _S.TIMED_OUT)
            raise
        if result.status is not CallStatus.TIMED_OUT:
            if not claimed:
                record.busy = None
            record.logged = log_raised(record.name, result)
        else:
            _log.warning("%s: %s", record.name, result.reason)
        return result

    def _settled(
        self,
        record: ModuleRecord,
        hook: str,
        invoke: Callable[[Callable[..., Any], tuple[Any, ...]], Any],
        fn: Callable[..., Any],
        args: tuple[Any, ...],
    ) -> Any:
        """In the module's thread: call ``fn``, and settle an awaitable it returns."""
        return self.hook_result(record, hook, invoke(fn, args))

    def time_out(self, record: ModuleRecord, result: CallResult) -> None:
        """``record``'s import, ``load()`` or ``unload()`` outlived its limit: say so."""
        record.error = f"{result.reason} (it is still running)"
        self.set_state(record, _S.TIMED_OUT)
        self.events.emit(EventKind.TIMED_OUT, record.name, record.error)

    def decline(self, record: ModuleRecord, reason: str) -> None:
        """Mark ``record`` declined with ``reason``; it holds no references or registrations."""
        if record.state is _S.PENDING:
            self.set_state(record, _S.LOADING)
        remove_registrations(record)  # what a load() registered before it raised
        self.release_deps(record)
        record.error = reason
        self.set_state(record, _S.DECLINED)
        self.events.emit(EventKind.DECLINED, record.name, reason)

    # -- importing ---------------------------------------------------------------------

    def import_module(self, record: ModuleRecord) -> bool:
        """:meth:`importing`, run (:meth:`run`)."""
        return self.run(self.importing(record))

    def importing(self, record: ModuleRecord) -> Steps[bool]:
        """Import the record's code and read its contract; a failure declines it."""
        if record.obj is not None or record.candidate is None:
            return True
        result = yield from self.module_call(
            record,
            "import",
            self._import,
            (record, record.candidate),
            on_late=lambda late: reconcile.late_import(self, record, late),
        )
        if result.status is CallStatus.TIMED_OUT:
            self.time_out(record, result)
            return False
        if result.status is CallStatus.RAISED:
            self.decline(record, result.reason)
            return False
        record.plugin, record.obj = result.value
        self.index_enhancer(record)
        return True

    def _import(self, record: ModuleRecord, candidate: Candidate) -> tuple[Any, Any]:
        plugin = self.catalogue.load(candidate)
        obj = plugin() if isinstance(plugin, type) else plugin
        read_contract(record, obj)
        return plugin, obj

    def index_enhancer(self, record: ModuleRecord) -> None:
        """Keep ``record`` in the enhancers index if it enhances (under the lock)."""
        if record.enhances:
            self.enhancers = [r for r in self.enhancers if r.state is not _S.REMOVED]
            self.enhancers.append(record)

    # -- starting ----------------------------------------------------------------------

    def start(self, record: ModuleRecord) -> tuple[StartResult, str | None]:
        """:meth:`starting`, run (:meth:`run`)."""
        return self.run(self.starting(record))

    def starting(self, record: ModuleRecord) -> Steps[tuple[StartResult, str | None]]:
        """Start one imported module whose dependencies were placed before it.

        Returns the result and the reason (for :attr:`StartResult.DEP_DECLINED`,
        the declined dependency's name).
        """
        if record.obj is None and not (yield from self.importing(record)):
            return StartResult.DECLINED, record.error
        cannot = self._cannot_start(record)
        if cannot is not None:
            return cannot
        self.set_state(record, _S.LOADING)
        # References on every dependency at once, or none (SPEC 4.3).
        try:
            for other in references_wanted(self.modules, self.enhancers, record):
                record.dep_handles.append(acquire(other, record.name))
        except Exception as exc:
            self.decline(record, f"could not reference a dependency: {exc}")
            return StartResult.DECLINED, record.error
        refused = self.hooks.admit(record) if self.hooks is not None else None
        if refused is not None:  # its hook implementations do not match their specs
            self.decline(record, refused)
            return StartResult.DECLINED, refused
        return (yield from self._loading(record))

    def _cannot_start(self, record: ModuleRecord) -> tuple[StartResult, str | None] | None:
        """Decline ``record`` if it cannot start now (the host stopped while it was
        imported, or a dependency is not running): the result and reason, else ``None``."""
        if self.closed:  # its load() is not called in a stopped host
            self.decline(record, "the host stopped before it started")
            return StartResult.DECLINED, record.error
        declined, missing = unmet_dependencies(self.modules, self.catalogue, record)
        if declined is not None:
            self.decline(record, f"dependency '{declined}' declined to load")
            return StartResult.DEP_DECLINED, declined
        if missing:
            reason = f"Failed to resolve dependencies for {record.name}: " + "; ".join(missing)
            self.decline(record, reason)
            return StartResult.DECLINED, reason
        return None

    def _loading(self, record: ModuleRecord) -> Steps[tuple[StartResult, str | None]]:
        load = self._loader(record)
        result = None
        if load is not None:
            call = yield from self.module_call(
                record,
                "load",
                load,
                (record.ctx,),
                on_late=lambda late: reconcile.late_load(self, record, late),
            )
            if call.status is CallStatus.TIMED_OUT:
                self.time_out(record, call)
                return StartResult.DECLINED, call.reason
            if call.status is CallStatus.RAISED or not reconcile.load_succeeded(call.value):
                yield from self.cleaning(record)  # what load() registered before it failed
            if isinstance(call.error, ModuleDeclined):
                reason = call.message or "load() raised ModuleDeclined without a reason"
                self.decline(record, reason)
                return StartResult.DECLINED, reason
            if call.status is CallStatus.RAISED:
                # Any exception, KeyboardInterrupt and SystemExit included: raised in
                # the module's thread, it is the module's, and a decline (SPEC 2).
                self.decline(record, call.reason)
                return StartResult.DECLINED, call.reason
            result = call.value
        if self.closed and reconcile.load_succeeded(result):
            # The host stopped while load() ran (a stop from another thread, or from the
            # module itself): the stop did not see it running, so it is undone here.
            undone = reconcile.unloaded_again((yield from self.undoing(record)))
            self.decline(record, f"the host stopped while its load() ran; it {undone}")
            return StartResult.DECLINED, record.error
        outcome = self.load_returned(record, result)
        if outcome[0] is StartResult.RUNNING and self.hooks is not None:
            for hook, replay in self.hooks.replay_missed(record):
                yield from self.module_call(record, hook, replay)  # logged here if need be
        return outcome

    def _loader(self, record: ModuleRecord) -> Callable[[ModuleContext], Any] | None:
        """What runs as ``record``'s ``load()`` call: for a module that declares settings,
        they are validated in it first (:meth:`SettingsService.validated_load`)."""
        if self.settings is None or record.settings_model is None:
            return record.load_hook
        return self.settings.validated_load(record, record.load_hook)

    def load_returned(self, record: ModuleRecord, result: Any) -> tuple[StartResult, str | None]:
        """``record``'s ``load()`` returned ``result``: it runs, fails or declines."""
        if reconcile.load_succeeded(result):
            self.became_running(record)
            return StartResult.RUNNING, None
        remove_registrations(record)
        if result is LoadResult.FAILURE:
            self.release_deps(record)
            record.error = "load() returned FAILURE"
            self.set_state(record, _S.FAILED)
            self.events.emit(EventKind.FAILED, record.name, record.error)
            return StartResult.FAILED, record.error
        reason = (
            "load() returned DECLINE"
            if result is LoadResult.DECLINE
            else f"load() returned {shown(result)}, not a LoadResult"
        )
        self.decline(record, reason)
        return StartResult.DECLINED, reason

    def became_running(self, record: ModuleRecord) -> None:
        """``record``'s ``load()`` succeeded: the one place a module becomes running."""
        record.start_seq = next(self._seq)
        record.load_time = time.time()
        record.error = None
        self.set_state(record, _S.RUNNING)
        if self.hooks is not None:  # it joins the hooks; the historic calls it missed are
            self.hooks.join(record)  # replayed by _loading, as module calls
        if record.support_level == SupportLevel.DEPRECATED.value:
            _log.warning(
                "Module '%s' is deprecated and may be removed in a future version.", record.name
            )
        self.events.emit(EventKind.LOADED, record.name)

    # -- stopping ----------------------------------------------------------------------

    def release_deps(self, record: ModuleRecord) -> None:
        """Give back the references ``record`` holds on its dependencies."""
        for handle in record.dep_handles:
            handle.release()
        record.dep_handles.clear()

    def cleaning(self, record: ModuleRecord) -> Steps[None]:
        """Remove what ``record`` registered, as a module call (:func:`remove_registrations`
        runs the module's ``remove`` callables: in its thread, under the time limit)."""
        if record.registrations:
            yield from self.module_call(record, "remove", remove_registrations, (record,))

    def removing(self, record: ModuleRecord, *, drop_code: bool = True) -> Steps[None]:
        """:meth:`remove`, its registrations removed first by :meth:`cleaning`."""
        if record.registrations:  # most have none: no steps made for them (shutdown at 1,000)
            yield from self.cleaning(record)
        self.remove(record, drop_code=drop_code)

    def undoing(self, record: ModuleRecord) -> Steps[CallResult | None]:
        """Undo a ``load()`` that succeeded where the module must not run (the host
        stopped meanwhile, or nobody waited for it): its ``unload()`` called, what it
        registered removed. Returns what the ``unload()`` call did."""
        call = yield from self.unloading(record)
        yield from self.cleaning(record)
        return call

    def unloading(self, record: ModuleRecord) -> Steps[CallResult | None]:
        """Call ``unload(ctx)``: the one place a running module is asked to stop.

        Returns what the call did (``None``: the module has no ``unload``);
        :func:`refusal` says whether it refused. A call that outlives its limit
        is reconciled when it returns (:func:`reconcile.late_unload`).
        """
        if self.hooks is not None:  # no hook call enters the module from here on
            self.hooks.leave(record)
        unload = record.unload_hook
        if unload is None:
            return None
        return (
            yield from self.module_call(
                record,
                "unload",
                unload,
                (record.ctx,),
                on_late=lambda late: reconcile.late_unload(self, record, late),
            )
        )

    def remove(self, record: ModuleRecord, *, drop_code: bool = True) -> None:
        """Take ``record`` out of the module list (its hooks already called).

        ``drop_code=False`` keeps its Python modules imported (at shutdown,
        where nothing will load them again, dropping them is wasted work).
        """
        remove_registrations(record)
        self.release_deps(record)
        if self.settings is not None:
            self.settings.forget(record)
        if record.state is not _S.REMOVED:
            self.set_state(record, _S.REMOVED)
        self.modules.forget(record)
        self.events.emit(EventKind.UNLOADED, record.name, record.error)
        if drop_code:
            self.drop_code(record)

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
        """Drop the removed module's Python modules from ``sys.modules`` (SPEC 5.3)."""
        return drop_code(self, record)
