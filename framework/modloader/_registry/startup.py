"""Startup (SPEC 4): load order, the required check, preload, core init, load, report."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from modloader._config.model import ModulesConfig
from modloader._names import name_key
from modloader._names import suggest
from modloader._registry.graph import Slot
from modloader._registry.graph import plan_order
from modloader._registry.loader import BUILTIN_HOLDER
from modloader._registry.loader import Loader
from modloader._registry.loader import StartResult
from modloader._registry.loader import builtin_records
from modloader._registry.record import ModuleRecord
from modloader._registry.refs import acquire
from modloader._registry.states import ModuleState
from modloader.errors import StartupError

__all__ = ["StartupReport", "run_startup", "unwind"]

_log = logging.getLogger("modloader")
_S = ModuleState


@dataclass(slots=True)
class StartupReport:
    """What startup did: the messages in order, and the counts."""

    #: ``(logging level, message)`` in the order they happened.
    messages: list[tuple[int, str]] = field(default_factory=list)
    running: int = 0
    declined: int = 0
    seconds: float = 0.0

    def say(self, level: int, message: str) -> None:
        self.messages.append((level, message))
        _log.log(level, "%s", message)

    @property
    def lines(self) -> list[str]:
        return [m for _, m in self.messages]


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    required: bool
    preload: bool


def _reason_line(name: str, reason: str) -> str:
    # Dependency messages already name the module (SPEC 4.3 wording).
    return (
        reason if reason.startswith("Failed to resolve dependencies for") else f"{name}: {reason}"
    )


def _load_order(loader: Loader, config: ModulesConfig, builtin_keys: set[str]) -> list[_Entry]:
    """Explicit entries in config order, then (autoload) every other module by name."""
    entries: dict[str, _Entry] = {}
    for entry in config.entries:
        key = name_key(entry.name)
        if key not in builtin_keys:
            entries.setdefault(key, _Entry(entry.name, entry.required, entry.preload))
    if config.autoload:
        names = [c.name for c in loader.candidates.values()] + [
            group[0].name for group in loader.conflicts.values()
        ]
        for name in sorted(names, key=lambda n: (n.lower(), n)):
            key = name_key(name)
            if key not in entries and key not in loader.noload_keys and key not in builtin_keys:
                entries[key] = _Entry(name, False, False)
    return list(entries.values())


def _dependency_keys(
    record: ModuleRecord, members: Mapping[str, ModuleRecord], enhancers: Mapping[str, set[str]]
) -> set[str]:
    """Keys ``record`` must start after (SPEC 4.2), among ``members``."""
    keys = {name_key(n) for n in record.dependencies}
    keys.update(name_key(n) for n in record.optional_modules if name_key(n) in members)
    # The enhancers of what it requires start before it too.
    for target in record.requires:
        keys.update(enhancers.get(name_key(target), ()))
    keys.discard(record.key)
    return keys


def _enhancers(members: Mapping[str, ModuleRecord]) -> dict[str, set[str]]:
    """Target key -> keys of the members that enhance it."""
    index: dict[str, set[str]] = {}
    for key, record in members.items():
        for target in record.enhances:
            index.setdefault(name_key(target), set()).add(key)
    return index


class _Startup:
    def __init__(
        self,
        loader: Loader,
        report: StartupReport,
        stop_requested: Callable[[], bool] | None = None,
    ) -> None:
        self.loader = loader
        self.report = report
        self.stop_requested = stop_requested
        self.dep_declined: dict[str, list[str]] = {}
        #: Keys whose decline was already reported (each is reported once).
        self.reported: set[str] = set()

    def abort(self, message: str, module: str | None) -> StartupError:
        self.report.say(logging.ERROR, message)
        unwind(self.loader)
        return StartupError(message, module)

    def check_stop(self, before: str) -> None:
        """A stop was requested (SIGTERM during startup): start nothing more, unwind."""
        if self.stop_requested is None or not self.stop_requested():
            return
        message = f"Startup stopped before {before}: a stop was requested"
        self.report.say(logging.WARNING, message)
        unwind(self.loader)
        raise StartupError(message, None)

    def declined(self, record: ModuleRecord) -> None:
        if record.key in self.reported:
            return
        self.reported.add(record.key)
        self.report.say(logging.WARNING, f"{record.name} declined to load.")
        if record.error:
            self.report.say(logging.WARNING, _reason_line(record.name, record.error))
        if record.required:
            raise self.abort(f"*** Failed to load required module {record.name}", record.name)

    def run_phase(self, records: list[ModuleRecord]) -> None:
        loader = self.loader
        for record in sorted(records, key=lambda r: r.position):
            if record.state is _S.PENDING:
                self.check_stop(record.name)
                loader.import_module(record)
            if record.state is _S.DECLINED:  # its import failed, here or in the preload closure
                self.declined(record)
        members = {r.key: r for r in records if r.state is _S.PENDING}
        slots: dict[str, Slot] = {k: (r.load_priority, r.position, k) for k, r in members.items()}
        enhancers = _enhancers(members)
        deps = {k: _dependency_keys(r, members, enhancers) for k, r in members.items()}
        plan = plan_order(slots, deps)
        for cycle in plan.cycles:
            path = " -> ".join(members[k].name for k in cycle)
            for key in dict.fromkeys(cycle):
                record = members[key]
                loader.set_state(record, _S.LOADING)
                loader.decline(record, f"dependency cycle: {path}")
                self.declined(record)
        blocked = plan_order(
            {k: slots[k] for k in plan.blocked}, {k: deps[k] for k in plan.blocked}
        ).order
        for key in (*plan.order, *blocked):
            self.start(members[key])
        self.flush_dependents()

    def start(self, record: ModuleRecord) -> None:
        if record.state is not _S.PENDING:
            return
        self.check_stop(record.name)
        result, info = self.loader.start(record)
        if result == StartResult.RUNNING:
            self.report.running += 1
        elif result == StartResult.DEP_DECLINED:
            assert info is not None
            self.dep_declined.setdefault(info, []).append(record.name)
            if record.required:
                self.flush_dependents()
                raise self.abort(
                    f"Cannot load required module {record.name} that depends on {info}", record.name
                )
        elif result == StartResult.FAILED:
            raise self.abort(f"*** Failed to load module {record.name}", record.name)
        else:
            self.declined(record)

    def flush_dependents(self) -> None:
        for dep, names in self.dep_declined.items():
            self.report.say(
                logging.WARNING, f"Declined modules which depend on {dep}: {', '.join(names)}"
            )
        self.dep_declined.clear()


def _preload_closure(loader: Loader, records: list[ModuleRecord]) -> list[ModuleRecord]:
    """The preload entries and every dependency they need, pulled forward (SPEC 4.1)."""
    by_key = {r.key: r for r in records}
    chosen: dict[str, ModuleRecord] = {}
    queue = [r for r in records if r.preload]
    while queue:
        record = queue.pop(0)
        if record.key in chosen:
            continue
        chosen[record.key] = record
        if not loader.import_module(record):
            continue
        for dep in (*record.dependencies, *record.optional_modules):
            other = by_key.get(name_key(dep))
            if other is not None and other.key not in chosen:
                queue.append(other)
    return sorted(chosen.values(), key=lambda r: r.position)


def run_startup(
    loader: Loader,
    config: ModulesConfig,
    *,
    builtins: Mapping[str, Any] | None = None,
    core_init: Callable[[], None] | None = None,
    stop_requested: Callable[[], bool] | None = None,
) -> StartupReport:
    """Start the host's modules; raise :class:`StartupError` (exit 2) when startup aborts.

    ``stop_requested`` is asked before each module, the core init and the built-ins:
    once it answers ``True``, nothing more starts and what started is unwound.
    """
    started = time.perf_counter()
    report = StartupReport()
    run = _Startup(loader, report, stop_requested)
    with loader.lock:
        loader.autoload = config.autoload
        loader.noload_keys = {name_key(n) for n in config.noload}
        loader.rescan()
        builtin_keys = {name_key(n) for n in builtins or {}}
        order = _load_order(loader, config, builtin_keys)
        for entry in order:  # required modules must be installed and unique before anything starts
            key = name_key(entry.name)
            if entry.required and key not in loader.candidates:
                message = f"*** Failed to load module {entry.name} - Required"
                report.say(logging.ERROR, message)
                if key in loader.conflicts:
                    report.say(logging.ERROR, f"{entry.name}: {loader.conflict_reason(key)}")
                else:
                    close = suggest(entry.name, loader.installed_names())
                    hint = f" (did you mean '{close[0]}'?)" if close else ""
                    report.say(logging.ERROR, f"{entry.name}: not installed{hint}")
                raise StartupError(message, entry.name)
        records = _make_records(loader, order, run)
        pending = [r for r in records if r.state is _S.PENDING]
        preload = _preload_closure(loader, pending)
        if preload:
            run.run_phase(preload)
        if core_init is not None:
            run.check_stop("the core init")
            try:
                core_init()
            except BaseException:
                unwind(loader)  # the preloaded modules release what they hold
                raise
        run.check_stop("the load phase")
        builtin_list = list(builtin_records(loader, builtins or {}))
        for record in builtin_list:
            record.position = -1
            if not _start_builtin(loader, record):
                raise run.abort(f"*** Failed to load required module {record.name}", record.name)
            report.running += 1
        run.run_phase([r for r in records if r.state is _S.PENDING])
    report.declined = sum(1 for r in list(loader.records.values()) if not r.state.running)
    if report.declined:
        report.say(logging.WARNING, "Some non-required modules failed to load.")
    report.seconds = time.perf_counter() - started
    report.say(
        logging.INFO,
        f"{report.running} modules running, {report.declined} not running "
        f"({report.seconds * 1000:.0f} ms)",
    )
    return report


def _make_records(loader: Loader, order: Iterable[_Entry], run: _Startup) -> list[ModuleRecord]:
    records = []
    for position, entry in enumerate(order):
        key = name_key(entry.name)
        candidate = loader.candidates.get(key)
        record = loader.new_record(
            entry.name, candidate, required=entry.required, preload=entry.preload, position=position
        )
        if candidate is None:
            reason = loader.conflict_reason(key) if key in loader.conflicts else "not installed"
            loader.decline(record, reason)
            run.declined(record)
        records.append(record)
    return records


def _start_builtin(loader: Loader, record: ModuleRecord) -> bool:
    result, _ = loader.start(record)
    if result != StartResult.RUNNING:
        return False
    # A built-in holds a permanent reference on itself until shutdown (SPEC 6).
    record.dep_handles.append(acquire(record, BUILTIN_HOLDER))
    return True


def unwind(loader: Loader, *, call_unload: bool = True) -> list[str]:
    """Unload every running module in reverse start order (abort and shutdown)."""
    names = []
    with loader.lock:
        for record in reversed(loader.running_in_start_order()):
            loader.set_state(record, _S.UNLOADING)
            if call_unload:
                refusal = loader.call_unload(record)
                if refusal:
                    _log.warning("%s refused to unload at shutdown: %s", record.name, refusal)
            loader.remove(record, drop_code=False)
            names.append(record.name)
    return names
