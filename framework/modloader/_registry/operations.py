"""Run-time operations on the module list (SPEC 5.2-5.5): typed outcomes, typed refusals.

Each operation returns an outcome from :mod:`~modloader._registry.outcomes` or
raises a :class:`~modloader.errors.ModuleError` subclass carrying the facts.
Operator wording is made from them elsewhere (:mod:`modloader._commands.render`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import NoReturn

from modloader._names import name_key
from modloader._registry import reconcile
from modloader._registry.calls import CallResult
from modloader._registry.calls import CallStatus
from modloader._registry.deps import dependents_deep
from modloader._registry.events import EventKind
from modloader._registry.lifecycle import Lifecycle
from modloader._registry.lifecycle import refusal
from modloader._registry.outcomes import LoadOutcome
from modloader._registry.outcomes import RefreshOutcome
from modloader._registry.outcomes import ReloadOutcome
from modloader._registry.outcomes import ReloadStatus
from modloader._registry.outcomes import SettingsReload
from modloader._registry.outcomes import StartResult
from modloader._registry.outcomes import UnloadOutcome
from modloader._registry.record import ModuleRecord
from modloader._registry.record import labels
from modloader._registry.states import ModuleState
from modloader._registry.steps import Steps
from modloader._registry.words import shown
from modloader.errors import BuiltinModuleError
from modloader.errors import ConfigIssue
from modloader.errors import DependencyError
from modloader.errors import LoadDeclinedError
from modloader.errors import ModuleAlreadyRunningError
from modloader.errors import ModuleBusyError
from modloader.errors import ModuleError
from modloader.errors import ModuleInUseError
from modloader.errors import ModuleNotRunningError
from modloader.errors import ModuleTimeoutError
from modloader.errors import ReloadError
from modloader.errors import UnloadRefusedError
from modloader.module import ReloadResult
from modloader.module import UnloadMode

__all__ = ["Operations"]

_log = logging.getLogger("modloader")
_S = ModuleState


def _check_not_taken(name: str, record: ModuleRecord) -> None:
    """Refuse a module whose code runs, or that an operation is taking down (a firm
    unload unloading the modules that need it first): it is that operation's."""
    if record.busy:
        raise ModuleBusyError(name, record.busy)
    if record.state is _S.UNLOADING:
        raise ModuleBusyError(name, "unload")


class Operations:
    """``load``, ``unload``, ``reload`` and ``refresh`` over one :class:`Lifecycle`."""

    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle
        self._reload_guard = threading.Lock()
        #: False until startup has finished; reloads asked for before are queued.
        self.ready = False
        self._queued: list[tuple[str, ...]] = []

    # -- load ------------------------------------------------------------------------

    def load(self, name: str) -> LoadOutcome:
        """Load ``name`` from the installed distributions (SPEC 5.2)."""
        return self.lifecycle.run(self.load_steps(name))

    def load_steps(self, name: str, *, rescan: bool = True) -> Steps[LoadOutcome]:
        """:meth:`load` as steps (:mod:`modloader._registry.steps`)."""
        life = self.lifecycle
        if rescan:
            self._check_loadable(name)  # answered without scanning when it is refused
            # Distributions installed since startup are seen (SPEC 5.2): only the
            # name's entry points when discovery can (the whole namespace when that
            # finds none). The scan reads the disk, so it runs before the lock is
            # taken: nobody waits for it.
            life.catalogue.rescan(name)
        with life.lock:
            record = life.modules.find(name)
            if record is not None:
                self._check_loadable(name)
            replaced = record is not None
            if record is not None:
                yield from life.removing(record)
            try:
                yield from self._load_fresh(name)
            except ModuleError as exc:
                exc.replaced_declined = replaced
                raise
            return LoadOutcome(name, replaced_declined=replaced)

    def _check_loadable(self, name: str) -> None:
        record = self.lifecycle.modules.find(name)
        if record is None:
            return
        _check_not_taken(name, record)
        if record.state is _S.RUNNING:
            raise ModuleAlreadyRunningError(name)

    def _load_fresh(self, name: str) -> Steps[None]:
        life = self.lifecycle
        candidate = life.catalogue.candidate(name)
        if candidate is None:
            raise life.catalogue.absent(name)
        record = life.new_record(candidate.name, candidate)
        if not (yield from life.importing(record)):
            raise LoadDeclinedError(name, record.error, importing=True)
        if record.key in {name_key(d) for d in record.dependencies}:
            cycle = f"dependency cycle: {record.name} -> {record.name}"
            life.decline(record, cycle)
            raise LoadDeclinedError(name, cycle)
        missing = self._missing_dependencies(record)
        if missing:
            error = DependencyError(record.name, missing)
            life.decline(record, error.message)
            raise error
        result, reason = yield from life.starting(record)
        if result is not StartResult.RUNNING:
            raise LoadDeclinedError(name, reason)

    def _missing_dependencies(self, record: ModuleRecord) -> dict[str, str]:
        """Dependencies are not started for you (SPEC 5.2): each one not running, and why."""
        life = self.lifecycle
        missing: dict[str, str] = {}
        for dep in record.dependencies:
            other = life.modules.find(dep)
            if other is None and life.catalogue.candidate(dep) is None:
                missing[dep] = "not installed"
            elif other is None:
                missing[dep] = "not loaded"
            elif other.state is not _S.RUNNING:
                missing[dep] = other.state.value
        return missing

    # -- unload ----------------------------------------------------------------------

    def unload(self, name: str, mode: UnloadMode = UnloadMode.SOFT) -> UnloadOutcome:
        """Unload ``name`` (SPEC 5.3); a refused unload changes nothing."""
        return self.lifecycle.run(self.unload_steps(name, mode))

    def unload_steps(self, name: str, mode: UnloadMode = UnloadMode.SOFT) -> Steps[UnloadOutcome]:
        """:meth:`unload` as steps."""
        life = self.lifecycle
        # Before the lock (reads take none): a name not in the list is refused with its
        # suggestions, and the files that say which Python modules to drop are read.
        life.top_levels(life.modules.get(name))
        with life.lock:
            record = life.modules.get(name)
            if record.builtin:
                raise BuiltinModuleError(name)
            taken = self._check_not_busy(name, record, mode)
            if record.state is not _S.RUNNING:
                yield from life.removing(record)
                return UnloadOutcome(name, mode, previously_declined=True)
            if record.holders and mode is UnloadMode.SOFT:  # refused as it is: use() goes on
                self._in_use(name, record)
            life.set_state(record, _S.UNLOADING)
            count = record.use_count  # again: a use() may have been granted just before
            if count and mode is UnloadMode.SOFT:
                life.set_state(record, _S.RUNNING)
                self._in_use(name, record)
            dependents = (
                (yield from self._unload_dependents(name, record, mode, count, taken))
                if count
                else ()
            )
            call = yield from life.unloading(record)
            why = refusal(call)
            if why and mode is not UnloadMode.HARD:
                self._refused(name, record, call, count, dependents)
            if why:
                record.error = f"removed by hard unload although unload() refused: {why}"
            yield from life.removing(record)
            return UnloadOutcome(
                name,
                mode,
                forced_use_count=count,
                dependents_unloaded=dependents,
                removed_despite_refusal=why,
            )

    @staticmethod
    def _in_use(name: str, record: ModuleRecord) -> NoReturn:
        raise ModuleInUseError(name, record.use_count, labels(list(record.holders.values())))

    def _check_not_busy(
        self, name: str, record: ModuleRecord, mode: UnloadMode
    ) -> list[ModuleRecord]:
        """Refuse while the module's code (or a module holding it) is running, or another
        operation is taking it down. A firm or hard unload takes its dependents down
        too: each must be free, and a module whose code runs while holding one of them
        refuses it as well. Returns those dependents, deepest first (none for a soft one).

        A hard unload may take away a module whose call timed out.
        """
        timed_out = record.state is _S.TIMED_OUT and mode is UnloadMode.HARD
        if not timed_out:
            _check_not_taken(name, record)
        dependents: list[ModuleRecord] = []
        if mode is not UnloadMode.SOFT and record.holders:
            dependents = dependents_deep(self.lifecycle.modules, record)
            for dependent in dependents:
                _check_not_taken(dependent.name, dependent)  # its code runs, or another's
        taken = {record, *dependents}
        for other in self.lifecycle.modules.records():
            if other.busy and other is not record:
                if any(h._record in taken for h in list(other.dep_handles)):
                    raise ModuleBusyError(other.name, other.busy)
        return dependents[::-1]

    def _refused(
        self,
        name: str,
        record: ModuleRecord,
        call: CallResult | None,
        count: int,
        dependents: tuple[str, ...],
        refused_by: ModuleRecord | None = None,
    ) -> None:
        """An ``unload()`` refused, raised or timed out: say so (a timeout is reconciled later)."""
        life = self.lifecycle
        who = refused_by or record
        if call is not None and call.status is CallStatus.TIMED_OUT:
            life.time_out(who, call)
            if who is not record:
                life.set_state(record, _S.RUNNING)
            assert call.limit is not None
            raise ModuleTimeoutError(name, "unload", call.limit, module=who.name)
        if who is not record:
            life.set_state(who, _S.RUNNING)
        life.set_state(record, _S.RUNNING)
        raise UnloadRefusedError(
            name,
            who.name,
            refusal(call) or "",
            forced_use_count=count,
            dependents_unloaded=dependents,
        )

    def _unload_dependents(
        self,
        name: str,
        record: ModuleRecord,
        mode: UnloadMode,
        count: int,
        taken: list[ModuleRecord],
    ) -> Steps[tuple[str, ...]]:
        """Firm and hard: take the running dependents down first, deepest first (``taken``:
        :meth:`_check_not_busy` found them free, under the same hold of the lock)."""
        life = self.lifecycle
        done: list[str] = []
        # All of them at once: while they go one by one, no other operation takes one,
        # and no module that needs one starts (it is not running).
        for dependent in taken:
            life.set_state(dependent, _S.UNLOADING)
        try:
            for dependent in taken:
                call = yield from life.unloading(dependent)
                if refusal(call) and mode is not UnloadMode.HARD:
                    self._refused(name, record, call, count, tuple(done), refused_by=dependent)
                yield from life.removing(dependent)
                done.append(dependent.name)
        except BaseException:
            for dependent in taken:  # those not reached yet run on
                if dependent.state is _S.UNLOADING and not dependent.busy:
                    life.set_state(dependent, _S.RUNNING)
            raise
        return tuple(done)

    # -- reload ----------------------------------------------------------------------

    def reload(self, names: Sequence[str] = ()) -> ReloadOutcome:
        """Reload ``names`` (none: every running module that can), SPEC 5.4.

        Before startup has finished the request is queued. Each name is done
        (no early stop); those refused are in :attr:`ReloadOutcome.refused`.

        :raises ReloadError: another reload is in progress (``reason`` ``"busy"``).
        """
        if not self.ready:
            self._queued.append(tuple(names))
            return ReloadOutcome(queued=True)
        if not self._reload_guard.acquire(blocking=False):
            raise ReloadError(", ".join(names), "busy")
        try:
            if not names:
                return self._reload_all()
            return self._reload_named(names)
        finally:
            self._reload_guard.release()

    def _reload_named(self, names: Sequence[str]) -> ReloadOutcome:
        done: list[str] = []
        unchanged: list[str] = []
        refused: list[ModuleError] = []
        settings: list[SettingsReload] = []
        for name in names:  # each is done; no early stop (SPEC 5.4)
            try:
                (done if self._reload_one(name, settings) else unchanged).append(name)
            except ModuleError as exc:
                refused.append(exc)
        return ReloadOutcome(
            reloaded=tuple(done),
            refused=tuple(refused),
            unchanged=tuple(unchanged),
            settings=tuple(settings),
        )

    # A reload changes no state: the lock is taken only to claim the module (make it
    # busy), so that nothing else touches it while its reload() runs, without the lock.

    def _claim(self, record: ModuleRecord) -> bool:
        with self.lifecycle.lock:
            if record.state is not _S.RUNNING or record.busy:
                return False  # unloaded meanwhile, or its code is running
            record.busy = "reload"
            return True

    def _has_settings(self, record: ModuleRecord) -> bool:
        return self.lifecycle.settings is not None and record.settings_model is not None

    def _reload_all(self) -> ReloadOutcome:
        reloaded: list[str] = []
        failed: list[str] = []
        unchanged: list[str] = []
        settings: list[SettingsReload] = []
        for record in self.lifecycle.modules.running_in_start_order():
            has_settings = self._has_settings(record)
            if not has_settings and record.reload_hook is None:
                continue
            if not self._claim(record):
                continue
            if not has_settings:
                (reloaded if self._reload_record(record) is None else failed).append(record.name)
                continue
            swap = self._reload_settings(record, [])
            settings.append(swap)
            if swap.status is ReloadStatus.UNCHANGED:
                unchanged.append(record.name)
            else:
                (reloaded if swap.ok else failed).append(record.name)
        return ReloadOutcome(
            reloaded=tuple(reloaded),
            failed=tuple(failed),
            unchanged=tuple(unchanged),
            settings=tuple(settings),
        )

    def _reload_one(self, name: str, settings: list[SettingsReload]) -> bool:
        """Reload ``name``: ``True`` when reloaded, ``False`` when its settings had not changed."""
        self.lifecycle.modules.get(name)  # not in the list: refused before the lock
        with self.lifecycle.lock:
            record = self.lifecycle.modules.get(name)
            if record.busy:
                raise ModuleBusyError(name, record.busy)
            if record.state is not _S.RUNNING:
                raise ModuleNotRunningError(name, record.state.value)
            has_settings = self._has_settings(record)
            if not has_settings and record.reload_hook is None:
                raise ReloadError(name, "not-supported")
            record.busy = "reload"
        if not has_settings:
            error = self._reload_record(record)
            if error is not None:
                raise error
            return True
        errors: list[ModuleError] = []
        swap = self._reload_settings(record, errors)
        settings.append(swap)
        error = swap.error(name)
        if error is not None:
            timed_out = [e for e in errors if isinstance(e, ModuleTimeoutError)]
            raise timed_out[0] if timed_out else error
        return swap.status is ReloadStatus.APPLIED

    def _reload_settings(self, record: ModuleRecord, errors: list[ModuleError]) -> SettingsReload:
        """For a claimed module that declares settings: re-read them, swap them in atomically.

        Reading them runs the settings model's validators, and comparing them with
        those in force its ``__eq__``: the module's code, so a module call, as at
        load, the claim kept. ``reload()`` is called only when they changed; what
        it reports goes to ``errors``.
        """
        life = self.lifecycle
        service = life.settings
        assert service is not None and record.ctx is not None
        released = False

        def call_reload() -> bool:
            nonlocal released
            released = True  # its module call releases the claim
            error = self._reload_record(record)
            if error is not None:
                errors.append(error)
            return error is None

        try:
            read = life.run(
                life.module_call(record, "reload", service.reread, (record,), claimed=True)
            )
            if read.status is CallStatus.TIMED_OUT:
                released = True  # busy until the validators return: the late call releases it
                assert read.limit is not None
                errors.append(ModuleTimeoutError(record.name, "reload", read.limit))
                return _not_read(record, f"validating them did not finish within {read.limit:g} s")
            if read.status is CallStatus.RAISED:
                return _not_read(record, f"validating them raised {read.reason}")
            return service.apply(record, read.value, call_reload)
        finally:
            if not released:
                with life.lock:
                    record.busy = None

    def _reload_record(self, record: ModuleRecord) -> ModuleError | None:
        """Call ``reload(ctx)`` (``record`` claimed); ``None`` when it reloaded, else the error."""
        life = self.lifecycle
        events = life.events
        assert record.reload_hook is not None  # the callers made sure it has one
        call = life.run(
            life.module_call(
                record,
                "reload",
                record.reload_hook,
                (record.ctx,),
                on_late=lambda late: reconcile.late_reload(life, record, late),
            )
        )
        if call.status is CallStatus.TIMED_OUT:
            assert call.limit is not None
            record.error = f"{call.reason} (it is still running)"
            events.emit(EventKind.RELOAD_FAILED, record.name, record.error)
            return ModuleTimeoutError(record.name, "reload", call.limit)
        if call.status is CallStatus.RAISED:
            events.emit(EventKind.RELOAD_FAILED, record.name, call.reason)
            return ReloadError(record.name, "failed")
        result = call.value
        if result is None or result is ReloadResult.SUCCESS or result is True:
            events.emit(EventKind.RELOADED, record.name)
            return None
        events.emit(EventKind.RELOAD_FAILED, record.name, f"reload() returned {shown(result)}")
        return ReloadError(record.name, "failed")

    def run_queued_reloads(self) -> list[tuple[tuple[str, ...], ReloadOutcome | ModuleError]]:
        """Startup has finished: run what was asked for before; returns what each did."""
        self.ready = True
        done: list[tuple[tuple[str, ...], ReloadOutcome | ModuleError]] = []
        queued, self._queued = self._queued, []
        for names in queued:
            try:
                done.append((names, self.reload(names)))
            except ModuleError as exc:
                done.append((names, exc))
        return done

    # -- refresh ---------------------------------------------------------------------

    def refresh(self, name: str, recursive: bool = False) -> RefreshOutcome:
        """Unload then load with fresh code (SPEC 5.5).

        A refusal raises the step's error; :attr:`ModuleError.progress` holds
        the unloads already done.
        """
        return self.lifecycle.run(self.refresh_steps(name, recursive))

    def refresh_steps(self, name: str, recursive: bool = False) -> Steps[RefreshOutcome]:
        """:meth:`refresh` as steps."""
        life = self.lifecycle
        record = life.modules.get(name)  # refused without scanning when it is not there
        if record.busy:
            raise ModuleBusyError(name, record.busy)
        life.top_levels(record)  # read before the lock, as unload does
        # Before the lock, as for load: only what publishes the name is read again
        # (the whole namespace when that finds nothing).
        life.catalogue.rescan(name)
        with life.lock:
            record = life.modules.get(name)
            if record.busy:
                raise ModuleBusyError(name, record.busy)
            dependents = dependents_deep(life.modules, record) if recursive else []
            if recursive:
                self._refresh_check(record, dependents)
            progress: list[UnloadOutcome] = []
            try:
                for dependent in reversed(dependents):
                    progress.append((yield from self.unload_steps(dependent.name)))
                progress.append((yield from self.unload_steps(record.name)))
                yield from self.load_steps(name, rescan=False)
            except ModuleError as exc:
                exc.progress = tuple(progress)
                raise
            back: list[LoadOutcome | ModuleError] = []
            for dependent in dependents:
                try:
                    life.catalogue.rescan(dependent.name)
                    back.append((yield from self.load_steps(dependent.name, rescan=False)))
                except ModuleError as exc:
                    back.append(exc)
            return RefreshOutcome(name, recursive, tuple(progress[:-1]), tuple(back))

    def _refresh_check(self, record: ModuleRecord, dependents: list[ModuleRecord]) -> None:
        """Nothing changes if a step would be refused: check every use count first."""
        inside = {id(h) for r in dependents for h in r.dep_handles}
        for member in [record, *dependents]:
            outside = [holder for h, holder in list(member.holders.items()) if id(h) not in inside]
            if outside:
                raise ModuleInUseError(member.name, len(outside), labels(outside))


def _not_read(record: ModuleRecord, why: str) -> SettingsReload:
    """A reload whose new settings could not be validated: the old ones stay."""
    issue = ConfigIssue("<settings_model>", 0, "validation-failed", why)
    return SettingsReload(record.name, ReloadStatus.INVALID, (issue,))
