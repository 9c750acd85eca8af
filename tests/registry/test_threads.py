"""Commands and use() racing from many threads (SPEC 6): a fixed amount of each, checked after."""

from __future__ import annotations

import random
import sys
import threading
import time
from typing import Any

import pytest

from modloader import Host
from modloader import ModuleNotRunningError
from modloader import ModulesConfig
from modloader import NoSuchModuleError
from modloader import StaleHandleError
from modloader import StaticDiscovery

SOFT = ["res_a", "res_b", "res_c"]
FIRM = ["res_f1", "res_f2"]


class Plain:
    def load(self, ctx: Any) -> None:
        # Calls back into the host from inside load(): must not deadlock.
        ctx.host.run("module show like res")


class Dependent:
    requires = ("res_a",)

    def load(self, ctx: Any) -> None:
        with ctx.use("res_a"):
            pass

    def reload(self, ctx: Any) -> None:
        ctx.host.list_modules()


class Race:
    """Threads taking handles and running commands on one host, a fixed number of times each."""

    HANDLES = 3000
    COMMANDS = 400
    LINES = (
        *(f"module unload {n}" for n in SOFT),
        *(f"module load {n}" for n in SOFT),
        *(f"module refresh {n}" for n in SOFT),
        *(f"module unload -f {n}" for n in FIRM),
        *(f"module load {n}" for n in FIRM),
        "module reload",
        "module show",
        "module refresh res_a recursively",
        "module load app_dep",
    )

    def __init__(self, host: Host) -> None:
        self.host = host
        self.problems: list[str] = []
        self.counts = {"handles": 0, "tries": 0, "commands": 0}

    def user(self, seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(self.HANDLES):
            self.counts["tries"] += 1
            name = rng.choice(SOFT)
            try:
                handle = self.host.use(name, holder=f"user{seed}")
            except (ModuleNotRunningError, NoSuchModuleError):
                continue
            try:
                # A soft unload must never remove a module while a handle is held.
                for _ in range(3):
                    handle.obj  # noqa: B018 - raises if the module was removed under us
            except StaleHandleError:
                self.problems.append(f"{name} removed while held by user{seed}")
            finally:
                handle.release()
            self.counts["handles"] += 1

    def firm_user(self, seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(self.HANDLES):
            try:
                with self.host.use(rng.choice(FIRM), holder="firm-user") as handle:
                    handle.obj  # noqa: B018 - may be stale: firm unloads are allowed to do that
            except (ModuleNotRunningError, NoSuchModuleError, StaleHandleError):
                pass

    def commander(self, seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(self.COMMANDS):
            result = self.host.run(rng.choice(self.LINES))
            if "Traceback" in result.output or "Error:" in result.output.split(" ")[0]:
                self.problems.append(result.output)
            self.counts["commands"] += 1

    def run(self) -> None:
        threads = [threading.Thread(target=self.user, args=(i,)) for i in range(3)]
        threads += [threading.Thread(target=self.firm_user, args=(10,))]
        threads += [threading.Thread(target=self.commander, args=(20 + i,)) for i in range(2)]
        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-5)  # switch threads often: more interleavings per run
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)  # generous: a loaded 2-core machine is slow, not stuck
        finally:
            sys.setswitchinterval(interval)
        assert not any(t.is_alive() for t in threads), "deadlock: a thread never finished"


def test_commands_and_handles_race_without_breaking_invariants() -> None:
    modules: dict[str, Any] = {name: Plain for name in SOFT + FIRM}
    modules["app_dep"] = Dependent
    host = Host("ns", discovery=StaticDiscovery("ns", modules), config=ModulesConfig())
    host.start()
    race = Race(host)
    race.run()
    assert race.problems == []
    assert race.counts["tries"] == 3 * Race.HANDLES
    assert race.counts["commands"] == 2 * Race.COMMANDS

    # Every handle was released: what is left is exactly the dependency references.
    rows = {m["name"]: m for m in host.list_modules()}
    for name, row in rows.items():
        assert row["use_count"] >= 0
        assert row["status"] in ("Running", "Not Running")
        expected = sorted(
            other["name"]
            for other in rows.values()
            if other["status"] == "Running" and name in other["requires"]
        )
        if row["status"] == "Running":
            assert row["holders"] == expected, name
    # The state of every module agrees with what a fresh command reports.
    shown = host.run("module show").data["modules"]
    assert {m["name"]: m["status"] for m in shown} == {n: r["status"] for n, r in rows.items()}
    host.stop()


# -- operations that meet: each found racing, then made to meet on purpose ----------------


def _recorder(calls: list[str], name: str, requires: tuple[str, ...] = (), **hooks: Any) -> type:
    def load(self: Any, ctx: Any) -> None:
        calls.append(f"{name}.load")
        if "load" in hooks:
            hooks["load"]()

    def unload(self: Any, ctx: Any) -> Any:
        calls.append(f"{name}.unload")
        return hooks["unload"]() if "unload" in hooks else None

    return type(name, (), {"requires": requires, "load": load, "unload": unload})


class _Gate:
    """A piece of module code that waits inside until released."""

    def __init__(self, returns: Any = None) -> None:
        self.inside, self.release, self.returns = threading.Event(), threading.Event(), returns

    def __call__(self) -> Any:
        self.inside.set()
        self.release.wait(10)
        return self.returns


def _host(modules: dict[str, type], noload: tuple[str, ...] = ()) -> Host:
    host = Host(
        "t.races",
        discovery=StaticDiscovery("t.races", modules),
        config=ModulesConfig(noload=list(noload)),
    )
    host.start()
    return host


def _in_thread(fn: Any, *args: Any) -> tuple[threading.Thread, list[Any]]:
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(fn(*args))
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _running_with_dependencies_running(host: Host) -> None:
    """No module runs while one it requires does not."""
    rows = {m.name: m for m in host.list_modules()}
    for row in rows.values():
        if row.state == "running":
            for dep in row.requires:
                assert rows[dep].state == "running", (row.name, dep, rows[dep].state)


def test_a_module_a_firm_unload_is_taking_down_is_refused_to_other_operations() -> None:
    """While ``module unload -f c`` runs the unload() of a module that needs it, another
    unload (or load) of ``c`` took it for a declined module and removed it, unloaded."""
    from modloader import ModuleBusyError
    from modloader import UnloadMode

    calls: list[str] = []
    slow = _Gate(returns=False)  # refuses: the firm unload stops there, c stays
    inside, release = slow.inside, slow.release

    host = _host(
        {
            "c": _recorder(calls, "c"),
            "b": _recorder(calls, "b", ("c",)),
            "a": _recorder(calls, "a", ("b",), unload=slow),
        }
    )
    try:
        firm, outcome = _in_thread(host.unload, "c", UnloadMode.FIRM)
        assert inside.wait(10)
        for attempt in (lambda: host.unload("c"), lambda: host.load("c")):
            try:
                attempt()
            except ModuleBusyError as exc:
                assert exc.name == "c"
            else:
                raise AssertionError("an operation took a module another one is taking down")
        release.set()
        firm.join(10)
        assert type(outcome[0]).__name__ == "UnloadRefusedError"  # a refused; nothing else
        assert calls.count("c.unload") == 0 and calls.count("c.load") == 1
        assert {m.name: m.state for m in host.list_modules()} == {
            "a": "running",
            "b": "running",
            "c": "running",
        }
    finally:
        release.set()
        host.stop()


def test_a_firm_unload_waits_for_no_module_loading_on_top_of_a_dependent() -> None:
    """``a`` (requires b, requires c) in its load() when ``module unload -f c`` comes: the
    unload took b down and left a to start on a module no longer there."""
    from modloader import ModuleBusyError
    from modloader import UnloadMode

    calls: list[str] = []
    slow = _Gate()
    inside, release = slow.inside, slow.release

    host = _host(
        {
            "c": _recorder(calls, "c"),
            "b": _recorder(calls, "b", ("c",)),
            "a": _recorder(calls, "a", ("b",), load=slow),
        },
        noload=("a",),
    )
    try:
        loading, outcome = _in_thread(host.load, "a")
        assert inside.wait(10)
        try:
            host.unload("c", UnloadMode.FIRM)
        except ModuleBusyError as exc:
            assert (exc.name, exc.busy) == ("a", "load")
        else:
            raise AssertionError("a firm unload went on under a module's load()")
        release.set()
        loading.join(10)
        assert type(outcome[0]).__name__ == "LoadOutcome"
        _running_with_dependencies_running(host)
        assert host.unload("c", UnloadMode.FIRM).dependents_unloaded == ("a", "b")
    finally:
        release.set()
        host.stop()


def test_no_module_starts_on_a_dependent_a_firm_unload_is_taking_down() -> None:
    """``a`` (requires b) loaded while ``module unload -f c`` was busy with another of
    c's dependents: a started on b, which the unload then removed under it."""
    from modloader import DependencyError
    from modloader import UnloadMode

    calls: list[str] = []
    slow = _Gate()
    inside, release = slow.inside, slow.release

    host = _host(
        {
            "c": _recorder(calls, "c"),
            "b": _recorder(calls, "b", ("c",)),
            "d": _recorder(calls, "d", ("c",), unload=slow),
            "a": _recorder(calls, "a", ("b",)),
        },
        noload=("a",),
    )
    try:
        firm, outcome = _in_thread(host.unload, "c", UnloadMode.FIRM)
        assert inside.wait(10)
        try:
            host.load("a")
        except DependencyError as exc:
            assert "b" in exc.message
        else:
            raise AssertionError("a module started on one that is being unloaded")
        release.set()
        firm.join(10)
        assert set(outcome[0].dependents_unloaded) == {"b", "d"}
        assert [(m.name, m.state) for m in host.list_modules()] == [("a", "declined")]
        assert calls.count("a.load") == 0
    finally:
        release.set()
        host.stop()


def test_a_refused_soft_unload_does_not_fail_the_application_s_use_or_hooks() -> None:
    """A module in use, and an operator retrying ``module unload`` on it: each refusal
    flipped its state for a moment, and use() then failed, hook calls skipped it."""
    from modloader import ModuleInUseError
    from modloader import hookimpl
    from modloader import hookspec

    class Spec:
        @hookspec
        def ping(self) -> None: ...

    class Pinged:
        @hookimpl
        def ping(self) -> str:
            return "c"

    host = Host(
        "t.races2",
        discovery=StaticDiscovery("t.races2", {"c": Pinged}),
        config=ModulesConfig(),
        hookspecs=[Spec],
    )
    host.start()
    held = host.use("c", holder="app")
    stop = threading.Event()
    refused = [0]

    def retry() -> None:
        while not stop.is_set():
            try:
                host.unload("c")
            except ModuleInUseError:
                refused[0] += 1

    thread = threading.Thread(target=retry)
    thread.start()
    missed = failed = 0
    try:
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            missed += host.hook.ping() != ["c"]
            try:
                with host.use("c"):
                    pass
            except ModuleNotRunningError:
                failed += 1
    finally:
        stop.set()
        thread.join(10)
        held.release()
        host.stop()
    assert refused[0] > 0
    assert (missed, failed) == (0, 0)


def test_listing_never_shows_a_module_removed_meanwhile() -> None:
    """Reads take no lock: a row read as its record was removed said ``removed``, which
    is no state of a module in the list."""
    host = _host({f"m{i}": _recorder([], f"m{i}") for i in range(20)})
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            for i in range(20):
                host.unload(f"m{i}")
                host.load(f"m{i}")

    thread = threading.Thread(target=churn)
    thread.start()
    seen: set[str] = set()
    try:
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            seen.update(m.state for m in host.list_modules())
            try:
                seen.add(host.get_module("m3").state)
            except NoSuchModuleError:
                pass
    finally:
        stop.set()
        thread.join(10)
        host.stop()
    assert "removed" not in seen


def test_a_firm_unload_under_another_one_is_refused_not_run_past_it() -> None:
    """``module unload -f x`` marks b and d (both need x) and runs d's unload(); then
    ``module unload -f c`` (b needs c too) skipped b, marked by the first, and removed
    c while b, which needs it, was still to be asked to unload."""
    from modloader import ModuleBusyError
    from modloader import UnloadMode

    calls: list[str] = []
    slow = _Gate()
    host = _host(
        {
            "x": _recorder(calls, "x"),
            "c": _recorder(calls, "c"),
            "b": _recorder(calls, "b", ("x", "c")),
            "d": _recorder(calls, "d", ("x",), unload=slow),
        }
    )
    try:
        first, outcome = _in_thread(host.unload, "x", UnloadMode.FIRM)
        assert slow.inside.wait(10)
        with pytest.raises(ModuleBusyError) as refused:
            host.unload("c", UnloadMode.FIRM)
        assert refused.value.name == "b"
        slow.release.set()
        first.join(10)
        assert set(outcome[0].dependents_unloaded) == {"b", "d"}
        assert "c.unload" not in calls
        assert [(m.name, m.state) for m in host.list_modules()] == [("c", "running")]
    finally:
        slow.release.set()
        host.stop()
