"""Run-time operations on the module list (SPEC 5.2-5.5), with the messages operators read."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from modloader._names import name_key
from modloader._names import suggest
from modloader._registry.events import EventKind
from modloader._registry.loader import Loader
from modloader._registry.loader import Outcome
from modloader._registry.loader import StartResult
from modloader._registry.record import ModuleRecord
from modloader._registry.states import ModuleState
from modloader.module import ReloadResult
from modloader.module import UnloadMode

__all__ = ["Operations"]

_log = logging.getLogger("modloader")
_S = ModuleState


class Operations:
    """``module load|unload|reload|refresh`` over one :class:`Loader`."""

    def __init__(self, loader: Loader) -> None:
        self.loader = loader
        self._reload_guard = threading.Lock()
        #: False until startup has finished; reloads asked for before are queued.
        self.ready = False
        self.queued_reloads: list[tuple[str, ...]] = []

    # -- load ------------------------------------------------------------------------

    def load(self, name: str) -> Outcome:
        out = Outcome()
        loader = self.loader
        with loader.lock:
            record = loader.find(name)
            if record is not None and record.state is _S.RUNNING:
                return out.fail(f"Module '{name}' already loaded and running.")
            if record is not None:
                out.add(f"Unloading module '{name}' that previously declined to load")
                loader.remove(record)
            loader.rescan()  # distributions installed since startup are seen (SPEC 5.2)
            key = name_key(name)
            candidate = loader.candidates.get(key)
            if candidate is None:
                if key in loader.conflicts:
                    return out.fail(f"Error loading module '{name}': {loader.conflict_reason(key)}")
                hint = suggest(name, loader.installed_names())
                detail = "no such module is installed"
                if hint:
                    detail += f" (did you mean '{hint[0]}'?)"
                return out.fail(f"Error loading module '{name}': {detail}")
            record = loader.new_record(candidate.name, candidate)
            if not loader.import_module(record):
                out.add(f"{name} declined to load: {record.error}")
                return out.fail(f"Unable to load module {name}")
            problem = self._dependency_problem(record)
            if problem is not None:
                loader.set_state(record, _S.LOADING)
                loader.decline(record, problem)
                return out.fail(problem)
            result, reason = loader.start(record)
            if result == StartResult.RUNNING:
                out.add(f"Loaded {name}")
                return out
            if reason:
                out.add(f"{name}: {reason}")
            return out.fail(f"Unable to load module {name}")

    def _dependency_problem(self, record: ModuleRecord) -> str | None:
        """Dependencies are not started for you (SPEC 5.2)."""
        loader = self.loader
        for dep in record.dependencies:
            other = loader.find(dep)
            if other is None and name_key(dep) not in loader.candidates:
                return f"{record.name} has one or more unknown dependencies."
            if other is None or other.state is not _S.RUNNING:
                return f"{record.name} loaded before dependency {dep}!"
        return None

    # -- unload ----------------------------------------------------------------------

    def unload(self, names: Sequence[str], mode: UnloadMode = UnloadMode.SOFT) -> Outcome:
        """Left to right; stop at the first failure (SPEC 5.3)."""
        out = Outcome()
        with self.loader.lock:
            for name in names:
                if not self._unload_one(name, mode, out):
                    return out.fail(f"Unable to unload resource {name}")
                out.add(f"Unloaded {name}")
        return out

    def _unload_one(self, name: str, mode: UnloadMode, out: Outcome) -> bool:
        loader = self.loader
        record = loader.find(name)
        if record is None:
            out.add(f"Unload failed, '{name}' could not be found")
            return False
        if record.builtin:
            out.add(f"Unload failed, '{name}' is a built-in module")
            return False
        if record.state is not _S.RUNNING:
            out.add(f"Unloading module '{name}' that previously declined to load")
            loader.remove(record)
            return True
        loader.set_state(record, _S.UNLOADING)
        count = record.use_count
        if count and mode is UnloadMode.SOFT:
            loader.set_state(record, _S.RUNNING)
            holders = ", ".join(sorted(list(record.holders.values())))
            out.add(
                f"Soft unload failed, '{name}' has use count {count}"
                + (f" (held by {holders})" if holders else "")
            )
            return False
        if count:
            out.add(f"Forcing removal of module '{name}' with use count {count}")
            for dependent in reversed(self._dependents_deep(record)):
                loader.set_state(dependent, _S.UNLOADING)
                refusal = loader.call_unload(dependent)
                if refusal and mode is not UnloadMode.HARD:
                    loader.set_state(dependent, _S.RUNNING)
                    loader.set_state(record, _S.RUNNING)
                    out.add(f"Firm unload failed for {dependent.name}")
                    return False
                loader.remove(dependent)
                out.add(f"Unloaded dependent module {dependent.name}")
        refusal = loader.call_unload(record)
        if refusal:
            out.add(f"Firm unload failed for {name}")
            if mode is not UnloadMode.HARD:
                loader.set_state(record, _S.RUNNING)
                return False
            out.add("** Dangerous **: Unloading resource anyway, at user request")
            record.error = f"removed by hard unload although unload() refused: {refusal}"
        loader.remove(record)
        return True

    def _dependents_deep(self, record: ModuleRecord) -> list[ModuleRecord]:
        """Running dependents of ``record``, transitively, each after what it needs."""
        found: dict[str, ModuleRecord] = {}

        def visit(target: ModuleRecord) -> None:
            for dependent in self.loader.dependents(target):
                if dependent.key not in found:
                    visit(dependent)
                    found[dependent.key] = dependent

        visit(record)
        return sorted(found.values(), key=lambda r: r.start_seq)

    # -- reload ----------------------------------------------------------------------

    def reload(self, names: Sequence[str]) -> Outcome:
        out = Outcome()
        if not self.ready:
            self.queued_reloads.append(tuple(names))
            what = ", ".join(names) if names else "all modules"
            return out.fail(f"{what}: cannot reload a module yet; request queued")
        if not self._reload_guard.acquire(blocking=False):
            return out.fail("A module reload request is already in progress; please be patient")
        try:
            with self.loader.lock:
                return self._reload_locked(names, out)
        finally:
            self._reload_guard.release()

    def _reload_locked(self, names: Sequence[str], out: Outcome) -> Outcome:
        if not names:
            for record in self.loader.running_in_start_order():
                if callable(getattr(record.obj, "reload", None)):
                    if not self._reload_record(record):
                        out.ok = False  # silent, but a failure: systemctl reload says so
            return out
        for name in names:  # each is done; no early stop (SPEC 5.4)
            line, ok = self._reload_one(name)
            out.add(line)
            if not ok:
                out.ok = False
        return out

    def _reload_one(self, name: str) -> tuple[str, bool]:
        record = self.loader.find(name)
        if record is None:
            return f"No such module '{name}'", False
        if record.state is not _S.RUNNING:
            return (
                f"The module '{name}' was not properly initialized. Before reloading the module, "
                f'you must run "module load {name}" and fix whatever is preventing the module '
                "from being initialized.",
                False,
            )
        if not callable(getattr(record.obj, "reload", None)):
            return f"The module '{name}' does not support reloads", False
        if self._reload_record(record):
            return f"Module '{name}' reloaded successfully.", True
        return f"The module '{name}' reported a reload failure", False

    def _reload_record(self, record: ModuleRecord) -> bool:
        try:
            result = record.obj.reload(record.ctx)
        except (Exception, SystemExit) as exc:
            _log.warning("%s: reload() raised", record.name, exc_info=True)
            self.loader.events.emit(
                EventKind.RELOAD_FAILED, record.name, f"{type(exc).__name__}: {exc}"
            )
            return False
        if result is None or result is ReloadResult.SUCCESS or result is True:
            self.loader.events.emit(EventKind.RELOADED, record.name)
            return True
        self.loader.events.emit(
            EventKind.RELOAD_FAILED, record.name, f"reload() returned {result!r}"
        )
        return False

    def run_queued_reloads(self) -> list[str]:
        """Startup has finished: run what was asked for before."""
        self.ready = True
        lines = []
        queued, self.queued_reloads = self.queued_reloads, []
        for names in queued:
            lines.extend(self.reload(names).lines)
        return lines

    # -- refresh ---------------------------------------------------------------------

    def refresh(self, name: str, recursively: bool = False) -> Outcome:
        """Unload then load with fresh code (SPEC 5.5)."""
        out = Outcome()
        loader = self.loader
        with loader.lock:
            record = loader.find(name)
            if record is None:
                out.add(f"Unload failed, '{name}' could not be found")
                return out.fail(f"Unable to unload resource {name}")
            dependents = self._dependents_deep(record) if recursively else []
            if recursively:
                problem = self._refresh_check(record, dependents)
                if problem:
                    out.add(problem)
                    return out.fail(f"Unable to unload resource {name}")
            for dependent in reversed(dependents):
                step = self.unload([dependent.name])
                out.lines.extend(step.lines)
                if not step.ok:
                    return out.fail(f"Unable to unload resource {name}")
            step = self.unload([record.name])
            if not step.ok:
                out.lines.extend(step.lines[:-1])
                return out.fail(f"Unable to unload resource {name}")
            loaded = self.load(name)
            if not loaded.ok:
                out.lines.extend(loaded.lines)
                return out.fail(f"Unable to load resource {name}")
            for dependent in dependents:
                back = self.load(dependent.name)
                out.lines.extend(back.lines)
                if not back.ok:
                    out.ok = False
            out.add(f"Unloaded and loaded {name}")
            return out

    def _refresh_check(self, record: ModuleRecord, dependents: list[ModuleRecord]) -> str | None:
        """Nothing changes if a step would be refused: check every use count first."""
        inside = {id(h) for r in dependents for h in r.dep_handles}
        for member in [record, *dependents]:
            outside = [holder for h, holder in list(member.holders.items()) if id(h) not in inside]
            if outside:
                return (
                    f"Soft unload failed, '{member.name}' has use count {len(outside)} "
                    f"(held by {', '.join(sorted(outside))})"
                )
        return None
