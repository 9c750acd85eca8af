"""Startup (SPEC 4): load order, the required check, preload, core init, load, report."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Set
from typing import Any
from typing import NamedTuple

from modloader._config.model import ModulesConfig
from modloader._names import name_key
from modloader._registry.catalogue import Catalogue
from modloader._registry.graph import Slot
from modloader._registry.graph import plan_order
from modloader._registry.lifecycle import BUILTIN_HOLDER
from modloader._registry.lifecycle import Lifecycle
from modloader._registry.outcomes import StartResult
from modloader._registry.record import ModuleRecord
from modloader._registry.refs import acquire
from modloader._registry.shutdown import unwind
from modloader._registry.states import ModuleState
from modloader._registry.steps import Steps
from modloader._registry.steps import run_steps
from modloader.errors import ConfigIssue
from modloader.errors import ModLoaderError
from modloader.errors import NameConflictError
from modloader.errors import StartupError

__all__ = ["OrderEntry", "StartupReport", "load_order", "run_startup", "stray_noloads"]

_log = logging.getLogger("modloader")
_S = ModuleState


class StartupReport:
    """What startup did: the messages in order, and the counts."""

    __slots__ = ("declined", "messages", "running", "seconds")

    def __init__(self) -> None:
        #: ``(logging level, message)`` in the order they happened.
        self.messages: list[tuple[int, str]] = []
        self.running = 0
        self.declined = 0
        self.seconds = 0.0

    def __repr__(self) -> str:
        return (
            f"StartupReport(running={self.running}, declined={self.declined},"
            f" seconds={self.seconds:.3f}, messages={self.messages!r})"
        )

    def say(self, level: int, message: str, *, logged: bool = False) -> None:
        """Add a message to :attr:`messages` and log it at ``level`` (the host's own use);
        ``logged``: it was logged already, in other words."""
        self.messages.append((level, message))
        if not logged:
            _log.log(level, "%s", message)

    @property
    def lines(self) -> list[str]:
        return [m for _, m in self.messages]


class OrderEntry(NamedTuple):
    """A module in the load order, with what ``modules.conf`` says of it."""

    name: str
    required: bool
    preload: bool


def _ms_since(began: float) -> float:
    return (time.perf_counter() - began) * 1000


def _reason_line(name: str, reason: str) -> str:
    # Dependency messages already name the module (SPEC 4.3 wording).
    return (
        reason if reason.startswith("Failed to resolve dependencies for") else f"{name}: {reason}"
    )


def load_order(life: Lifecycle, config: ModulesConfig, builtin_keys: set[str]) -> list[OrderEntry]:
    """Explicit entries in config order, then (autoload) every other module by name."""
    entries: dict[str, OrderEntry] = {}
    for entry in config.entries:
        key = name_key(entry.name)
        if key not in builtin_keys:
            entries.setdefault(key, OrderEntry(entry.name, entry.required, entry.preload))
    for name in life.catalogue.autoload_names():
        key = name_key(name)
        if key not in builtin_keys:
            entries.setdefault(key, OrderEntry(name, False, False))
    return list(entries.values())


_NO_KEYS: frozenset[str] = frozenset()


def _dependency_keys(
    record: ModuleRecord, members: Mapping[str, ModuleRecord], enhancers: Mapping[str, set[str]]
) -> Set[str]:
    """Keys ``record`` must start after (SPEC 4.2), among ``members``.

    A module that requires (or enhances) itself keeps its own key: that is a
    cycle, ``a -> a``.
    """
    if not (record.requires or record.enhances or record.optional_modules):
        return _NO_KEYS  # most modules: nothing to start after
    keys = {name_key(n) for n in record.dependencies}
    implied = {name_key(n) for n in record.optional_modules if name_key(n) in members}
    # The enhancers of what it requires start before it too.
    for target in record.requires:
        implied.update(enhancers.get(name_key(target), ()))
    implied.discard(record.key)
    return keys | implied


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
        life: Lifecycle,
        report: StartupReport,
        stop_requested: Callable[[], bool] | None = None,
    ) -> None:
        self.life = life
        self.report = report
        self.stop_requested = stop_requested
        self.dep_declined: dict[str, list[str]] = {}
        #: Keys whose decline was already reported (each is reported once).
        self.reported: set[str] = set()

    def abort(self, message: str, module: str | None) -> StartupError:
        self.report.say(logging.ERROR, message)
        unwind(self.life)
        return StartupError(message, module)

    def check_stop(self, before: str) -> None:
        """A stop was requested (SIGTERM during startup): start nothing more, unwind."""
        if self.stop_requested is None or not self.stop_requested():
            return
        message = f"Startup stopped before {before}: a stop was requested"
        self.report.say(logging.WARNING, message)
        unwind(self.life)
        raise StartupError(message, None)

    def declined(self, record: ModuleRecord) -> None:
        if record.key in self.reported:
            return
        self.reported.add(record.key)
        self.report.say(logging.WARNING, f"{record.name} declined to load.")
        if record.error:  # logged as it was raised, if it was: "X: load() raised ..."
            logged = record.error == record.logged
            self.report.say(logging.WARNING, _reason_line(record.name, record.error), logged=logged)
        if record.required:
            raise self.abort(f"*** Failed to load required module {record.name}", record.name)

    def run_phase(self, records: list[ModuleRecord]) -> None:
        """Import ``records``, then start them in order: each a run of steps (one thread)."""
        life = self.life
        ordered = sorted(records, key=lambda r: r.position)
        run_steps(ordered, self.importing, lock=life.lock, limit=life.timeout)
        members = {r.key: r for r in records if r.state is _S.PENDING}
        order = [members[key] for key in self.plan(members)]
        run_steps(order, self.starting, lock=life.lock, limit=life.timeout)
        self.flush_dependents()

    def importing(self, record: ModuleRecord) -> Steps[None]:
        if record.state is _S.PENDING:
            self.check_stop(record.name)
            began = time.perf_counter()
            imported = yield from self.life.importing(record)
            if _log.isEnabledFor(logging.DEBUG):
                word = "Imported" if imported else "Could not import"
                _log.debug("%s %s (%.1f ms)", word, record.name, _ms_since(began))
        if record.state in (_S.DECLINED, _S.TIMED_OUT):  # its import failed (or hung)
            self.declined(record)

    def plan(self, members: dict[str, ModuleRecord]) -> list[str]:
        """The start order of ``members``; the modules on a cycle are declined here."""
        slots: dict[str, Slot] = {k: (r.load_priority, r.position, k) for k, r in members.items()}
        enhancers = _enhancers(members)
        deps = {k: _dependency_keys(r, members, enhancers) for k, r in members.items()}
        plan = plan_order(slots, deps)
        for cycle in plan.cycles:
            path = " -> ".join(members[k].name for k in cycle)
            for key in dict.fromkeys(cycle):
                self.life.decline(members[key], f"dependency cycle: {path}")
                self.declined(members[key])
        if not plan.blocked:
            return list(plan.order)
        blocked = plan_order(
            {k: slots[k] for k in plan.blocked}, {k: deps[k] for k in plan.blocked}
        ).order
        return [*plan.order, *blocked]

    def starting(self, record: ModuleRecord) -> Steps[None]:
        if record.state is not _S.PENDING:
            return
        self.check_stop(record.name)
        began = time.perf_counter()
        result, info = yield from self.life.starting(record)
        if _log.isEnabledFor(logging.INFO):
            word = "Started" if result is StartResult.RUNNING else "Did not start"
            _log.info("%s %s (%.1f ms)", word, record.name, _ms_since(began))
        if result is StartResult.RUNNING:
            self.report.running += 1
        elif result is StartResult.DEP_DECLINED:
            assert info is not None
            self.dep_declined.setdefault(info, []).append(record.name)
            if record.required:
                self.flush_dependents()
                raise self.abort(
                    f"Cannot load required module {record.name} that depends on {info}", record.name
                )
        elif result is StartResult.FAILED:
            raise self.abort(f"*** Failed to load module {record.name}", record.name)
        else:
            self.declined(record)

    def flush_dependents(self) -> None:
        for dep, names in self.dep_declined.items():
            self.report.say(
                logging.WARNING, f"Declined modules which depend on {dep}: {', '.join(names)}"
            )
        self.dep_declined.clear()


def _preload_closure(life: Lifecycle, records: list[ModuleRecord]) -> list[ModuleRecord]:
    """The preload entries and every dependency they need, pulled forward (SPEC 4.1)."""
    by_key = {r.key: r for r in records}
    chosen: dict[str, ModuleRecord] = {}
    queue = [r for r in records if r.preload]
    while queue:
        record = queue.pop(0)
        if record.key in chosen:
            continue
        chosen[record.key] = record
        if not life.import_module(record):
            continue
        for dep in (*record.dependencies, *record.optional_modules):
            other = by_key.get(name_key(dep))
            if other is not None and other.key not in chosen:
                queue.append(other)
    return sorted(chosen.values(), key=lambda r: r.position)


def _check_required(life: Lifecycle, order: list[OrderEntry], report: StartupReport) -> None:
    """Required modules must be installed and unique before anything starts."""
    for entry in order:
        if not entry.required or life.catalogue.candidate(entry.name) is not None:
            continue
        message = f"*** Failed to load module {entry.name} - Required"
        report.say(logging.ERROR, message)
        absent = life.catalogue.absent(entry.name)
        if isinstance(absent, NameConflictError):
            report.say(logging.ERROR, f"{entry.name}: {absent.reason}")
        else:
            report.say(logging.ERROR, f"{entry.name}: not installed{absent.hint}")
        raise StartupError(message, entry.name)


def run_startup(
    life: Lifecycle,
    config: ModulesConfig,
    *,
    builtins: Mapping[str, Any] | None = None,
    core_init: Callable[[], None] | None = None,
    stop_requested: Callable[[], bool] | None = None,
) -> StartupReport:
    """Start the host's modules; raise :class:`StartupError` (exit 2) when startup aborts.

    ``stop_requested`` is asked before each module, the core init and the built-ins,
    and at the end: once it answers ``True``, nothing more starts and what started
    is unwound.
    """
    started = time.perf_counter()
    report = StartupReport()
    run = _Startup(life, report, stop_requested)
    builtins = builtins or {}
    with life.lock:
        try:
            _run(life, config, run, builtins, core_init)
        except StartupError:
            raise
        except BaseException as exc:
            # Whatever stops startup (an interrupt while a module's code runs, a
            # failure of the host's own): what started is unloaded, newest first.
            _log.error(
                "startup stopped (%s); unloading the modules already started",
                type(exc).__name__,
                exc_info=not isinstance(exc, (KeyboardInterrupt, ModLoaderError)),
            )
            unwind(life)
            raise
    _summary(life, report, time.perf_counter() - started)
    return report


def _run(
    life: Lifecycle,
    config: ModulesConfig,
    run: _Startup,
    builtins: Mapping[str, Any],
    core_init: Callable[[], None] | None,
) -> None:
    report = run.report
    life.catalogue.configure(autoload=config.autoload, noload=config.noload)
    _say_configuration(config)
    scanned = time.perf_counter()
    life.catalogue.rescan()
    _say_discovered(life, config, report, time.perf_counter() - scanned)
    order = load_order(life, config, {name_key(n) for n in builtins})
    _check_required(life, order, report)
    records = _make_records(life, order, run)
    preload = _preload_closure(life, [r for r in records if r.state is _S.PENDING])
    if preload:
        run.run_phase(preload)
    if core_init is not None:
        run.check_stop("the core init")
        _core_init(life, core_init)
    run.check_stop("the load phase")
    for record in list(life.builtin_records(builtins)):
        if not _start_builtin(life, record):
            raise run.abort(f"*** Failed to load required module {record.name}", record.name)
        report.running += 1
    run.run_phase([r for r in records if r.state is _S.PENDING])
    # A stop asked for while the last module started: the host does not begin to run.
    run.check_stop("the host ran")


def _say_configuration(config: ModulesConfig) -> None:
    """Where the configuration came from (``-v``)."""
    if config.path is None:
        _log.info("Configuration: no modules.conf; defaults, environment and code")
    else:
        included = [f for f in config.files if f != config.path]
        more = f" (including {', '.join(included)})" if included else ""
        _log.info("Configuration: %s%s", config.path, more)
    _log.debug(
        "autoload=%s, %d entries, noload: %s",
        "yes" if config.autoload else "no",
        len(config.entries),
        ", ".join(config.noload) or "none",
    )


def _say_discovered(
    life: Lifecycle, config: ModulesConfig, report: StartupReport, seconds: float
) -> None:
    """How many modules the namespace holds (``-v``); a warning when it holds none."""
    catalogue = life.catalogue
    count = catalogue.installed_count()
    namespace = catalogue.discovery.namespace
    _log.info("Found %d modules in '%s' (%.0f ms)", count, namespace, seconds * 1000)
    if _log.isEnabledFor(logging.DEBUG):  # the names sorted only for a log that shows them
        _log.debug("Installed: %s", ", ".join(catalogue.installed_names()) or "none")
    if not count:
        from modloader._discovery.namespaces import empty_namespace_message

        report.say(logging.WARNING, empty_namespace_message(namespace))
        return
    for issue in stray_noloads(catalogue, config):
        report.say(logging.WARNING, str(issue))


def stray_noloads(catalogue: Catalogue, config: ModulesConfig) -> list[ConfigIssue]:
    """Each ``noload`` of a name not installed: allowed (it pre-empts a plugin), but said,
    with the close installed names (at startup, and by ``--check``)."""
    from modloader._names import suggest

    if not config.noload_at:  # the common case: the sort of every name is not made
        return []
    installed = catalogue.installed_names()
    if not installed:  # the namespace's own warning says it
        return []
    namespace = catalogue.discovery.namespace
    issues = []
    for entry in config.noload_at:
        if catalogue.candidate(entry.name) is None and catalogue.conflict(entry.name) is None:
            message = f"noload = {entry.name}: no module of that name is installed in '{namespace}'"
            close = suggest(entry.name, installed)
            if close:
                message += " (did you mean " + " or ".join(f"'{n}'" for n in close) + "?)"
            issues.append(ConfigIssue(entry.source, entry.line, "noload-not-installed", message))
    return issues


def _core_init(life: Lifecycle, core_init: Callable[[], None]) -> None:
    try:
        core_init()
    except BaseException:
        unwind(life)  # the preloaded modules release what they hold
        raise


def _summary(life: Lifecycle, report: StartupReport, seconds: float) -> None:
    report.declined = sum(1 for r in life.modules.records() if not r.state.running)
    if report.declined:
        report.say(logging.WARNING, "Some non-required modules failed to load.")
    report.seconds = seconds
    report.say(
        logging.INFO,
        f"{report.running} modules running, {report.declined} not running "
        f"({report.seconds * 1000:.0f} ms)",
    )


def _make_records(
    life: Lifecycle, order: Iterable[OrderEntry], run: _Startup
) -> list[ModuleRecord]:
    records = []
    for position, entry in enumerate(order):
        candidate = life.catalogue.candidate(entry.name)
        record = life.new_record(
            entry.name, candidate, required=entry.required, preload=entry.preload, position=position
        )
        if candidate is None:
            absent = life.catalogue.conflict(entry.name)
            life.decline(record, absent.reason if absent is not None else "not installed")
            run.declined(record)
        records.append(record)
    return records


def _start_builtin(life: Lifecycle, record: ModuleRecord) -> bool:
    result, _ = life.start(record)
    if result is not StartResult.RUNNING:
        return False
    # A built-in holds a permanent reference on itself until shutdown (SPEC 6).
    record.dep_handles.append(acquire(record, BUILTIN_HOLDER))
    return True
