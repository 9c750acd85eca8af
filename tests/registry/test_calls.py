"""Module code runs in its own thread, with a time limit, never under the registry's lock."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from modloader import Host
from modloader import LoadDeclinedError
from modloader import ModuleBusyError
from modloader import ModuleDeclined
from modloader import ModulesConfig
from modloader import ModuleTimeoutError
from modloader import ReloadError
from modloader import StaticDiscovery
from modloader import UnloadMode
from modloader import UnloadRefusedError
from modloader._registry.calls import CallResult
from modloader._registry.calls import CallStatus
from modloader._registry.calls import OpLock
from modloader._registry.calls import current_limit
from modloader._registry.calls import extend_wait
from modloader._registry.steps import ModuleCall
from modloader._registry.steps import Steps
from modloader._registry.steps import run_one
from tests._hostile import Unsayable
from tests._hostile import Untellable


class Custom(BaseException):
    pass


RAISED = [KeyboardInterrupt, SystemExit, GeneratorExit, Custom]
IDS = ["KeyboardInterrupt", "SystemExit", "GeneratorExit", "custom"]


class Scripted:
    """A module whose hooks do what ``script[hook]`` says: ``None`` (return), an
    exception (raise it), an Event (wait for it, then return ``result[hook]``)."""

    def __init__(self) -> None:
        self.script: dict[str, Any] = {}
        self.result: dict[str, Any] = {}
        self.calls: list[str] = []
        self.entered: dict[str, threading.Event] = {
            h: threading.Event() for h in ("load", "unload", "reload")
        }

    def _run(self, hook: str) -> Any:
        self.calls.append(hook)
        self.entered[hook].set()
        action = self.script.get(hook)
        if isinstance(action, BaseException):
            raise action
        if isinstance(action, threading.Event):
            action.wait(30)
        return self.result.get(hook)

    def load(self, ctx: Any) -> Any:
        return self._run("load")

    def unload(self, ctx: Any) -> Any:
        return self._run("unload")

    def reload(self, ctx: Any) -> Any:
        return self._run("reload")


def run_call(
    hook: str,
    fn: Any,
    args: tuple[Any, ...],
    *,
    limit: float | None,
    on_late: Any = None,
) -> CallResult:
    """One module call, as an operation of one step."""

    def steps() -> Steps[CallResult]:
        return (yield ModuleCall(hook, fn, args, limit, on_late))

    return run_one(steps(), lock=OpLock(), limit=limit)


def make(modules: dict[str, Any], timeout: float | None = 30.0) -> Host:
    discovery = StaticDiscovery("test.calls", modules)
    host = Host(
        "test.calls",
        discovery=discovery,
        config=ModulesConfig(autoload=True),
        module_timeout=timeout,
    )
    host.start()
    return host


def state(host: Host, name: str) -> str:
    return host.get_module(name).state


def wait_until(predicate: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


# -- the lock and the call ------------------------------------------------------------------


def test_oplock_is_reentrant_and_suspends_every_level() -> None:
    lock = OpLock()
    seen: list[int] = []
    with lock, lock:
        assert lock.owned()
        assert lock.depth() == 2
        depth = lock.suspend()
        assert depth
        assert not lock.owned()
        assert lock.depth() == 0

        def other_thread() -> None:
            lock.acquire()
            seen.append(lock.depth())
            lock.release()

        other = threading.Thread(target=other_thread)
        other.start()
        other.join(5)
        assert not other.is_alive()
        lock.restore(depth)
        assert lock.owned()
        assert lock.depth() == 2
        seen.append(lock.depth())
    assert seen == [1, 2]
    assert not lock.owned()
    assert lock.depth() == 0
    assert lock.suspend() == 0


def test_a_call_that_outlives_its_limit_is_handed_over_late() -> None:
    release = threading.Event()
    late: list[Any] = []
    started = time.perf_counter()
    result = run_call(
        "load", lambda: release.wait(30) and "done", (), limit=0.2, on_late=late.append
    )
    assert result.status is CallStatus.TIMED_OUT
    assert result.reason == "load() did not return within 0.2 s"
    assert time.perf_counter() - started < 5
    release.set()
    wait_until(lambda: late)
    assert late[0].status is CallStatus.RETURNED
    assert late[0].value == "done"


@pytest.mark.parametrize("kind", RAISED, ids=IDS)
def test_whatever_module_code_raises_is_in_the_result(kind: type[BaseException]) -> None:
    raised = kind("boom")

    def boom() -> None:
        raise raised

    result = run_call("load", boom, (), limit=5)
    assert result.status is CallStatus.RAISED
    assert result.error is raised


# -- run time: a BaseException from load(), unload() or reload() -----------------------------


@pytest.mark.parametrize("kind", RAISED, ids=IDS)
def test_a_base_exception_from_load_at_run_time_is_a_decline(kind: type[BaseException]) -> None:
    raised = kind("boom")
    mod = Scripted()
    host = make({"x": mod})
    host.unload("x")
    mod.script["load"] = raised
    with pytest.raises(LoadDeclinedError) as info:
        host.load("x")
    assert info.value.reason is not None
    assert info.value.reason.startswith(type(raised).__name__)
    assert state(host, "x") == "declined"
    # Nothing is stuck: every operation works on it again.
    mod.script.clear()
    assert host.run("module load x").ok
    assert host.run("module unload -h x").ok
    assert host.run("module load x").ok
    assert host.run("module refresh x").ok
    assert state(host, "x") == "running"


@pytest.mark.parametrize("kind", RAISED, ids=IDS)
def test_a_base_exception_from_unload_is_a_refusal(kind: type[BaseException]) -> None:
    raised = kind("boom")
    mod = Scripted()
    host = make({"x": mod})
    mod.script["unload"] = raised
    result = host.run("module unload x")
    assert not result.ok
    assert result.output.splitlines()[-2] == "Unable to unload resource x"
    assert state(host, "x") == "running"
    assert host.run("module unload -h x").ok
    mod.script.clear()
    assert host.run("module load x").ok


@pytest.mark.parametrize("kind", RAISED, ids=IDS)
def test_a_base_exception_from_reload_is_a_failed_reload(kind: type[BaseException]) -> None:
    raised = kind("boom")
    mod = Scripted()
    host = make({"x": mod})
    mod.script["reload"] = raised
    with pytest.raises(ReloadError):
        host.reload("x")
    assert state(host, "x") == "running"
    mod.script.clear()
    assert host.reload("x").reloaded == ("x",)


# -- hung modules ----------------------------------------------------------------------------


def test_reads_and_other_modules_go_on_while_a_load_hangs() -> None:
    hung, other = Scripted(), Scripted()
    host = make({"hung": hung, "other": other}, timeout=30)
    host.unload("hung")
    host.unload("other")
    gate = threading.Event()
    hung.script["load"] = gate
    hung.entered["load"].clear()
    outcome: list[Any] = []
    worker = threading.Thread(target=lambda: outcome.append(host.run("module load hung")))
    worker.start()
    try:
        assert hung.entered["load"].wait(10)
        started = time.perf_counter()
        shown = host.run("module show")
        assert time.perf_counter() - started < 1.0
        assert "hung" in shown.output
        assert state(host, "hung") == "loading"
        started = time.perf_counter()
        assert host.run("module load other").ok  # does not wait for the hung one
        assert time.perf_counter() - started < 5.0
        busy = host.run("module unload hung")
        assert not busy.ok
        assert "is busy: its load() has not returned yet" in busy.output
    finally:
        gate.set()
        worker.join(10)
    assert outcome[0].ok
    assert state(host, "hung") == "running"


def test_a_load_that_times_out_is_shown_and_undone_when_it_returns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    mod = Scripted()
    host = make({"x": mod}, timeout=0.3)
    host.unload("x")
    gate = threading.Event()
    mod.script["load"] = gate
    started = time.perf_counter()
    with pytest.raises(LoadDeclinedError) as info:
        host.load("x")
    assert time.perf_counter() - started < 5
    assert info.value.reason == "load() did not return within 0.3 s"
    assert state(host, "x") == "timed-out"
    assert host.get_module("x").status == "Not Running"
    with pytest.raises(ModuleBusyError):
        host.load("x")
    with caplog.at_level(logging.WARNING, logger="modloader"):
        gate.set()
        wait_until(lambda: state(host, "x") == "declined")
    # Reported as not loaded, so it was unloaded again when load() returned.
    assert mod.calls[-2:] == ["load", "unload"]
    last_error = host.get_module("x").last_error
    assert last_error is not None
    assert "unloaded again" in last_error
    assert "after the host stopped waiting" in caplog.text
    mod.script.clear()
    assert host.load("x").name == "x"


def _declined_late(host: Host, gate: threading.Event) -> str:
    """``module load x`` past the limit; then ``gate`` lets its ``load()`` end. The
    reason ``x`` ends declined with."""
    with pytest.raises(LoadDeclinedError):
        host.load("x")
    gate.set()
    wait_until(lambda: state(host, "x") == "declined")
    last_error = host.get_module("x").last_error
    assert last_error is not None
    return last_error


def test_a_load_that_times_out_then_raises_is_cleaned_and_says_so() -> None:
    mod = Scripted()
    host = make({"x": mod}, timeout=0.3)
    host.unload("x")
    gate = threading.Event()
    removed: list[str] = []

    def load(ctx: Any) -> None:
        ctx.register("a thing", lambda: removed.append("a thing"))
        gate.wait(30)
        raise RuntimeError("boom")

    mod.load = load  # type: ignore[method-assign]
    before = list(mod.calls)
    last_error = _declined_late(host, gate)
    assert last_error.startswith(
        "load() did not return within 0.3 s (it raised RuntimeError: boom after "
    )
    assert removed == ["a thing"]  # what it registered before it raised is removed
    assert mod.calls == before  # it never ran: its unload() is not called


def test_a_late_load_undone_says_what_its_unload_did() -> None:
    mod = Scripted()
    host = make({"x": mod}, timeout=0.3)
    host.unload("x")
    gate = threading.Event()
    mod.script["load"] = gate
    mod.script["unload"] = ValueError("cannot let go")
    last_error = _declined_late(host, gate)
    assert re.fullmatch(
        r"load\(\) did not return within 0\.3 s \(it returned after [0-9.]+ s and "
        r"was unloaded again \(ValueError: cannot let go\)\)",
        last_error,
    ), last_error
    assert mod.calls[-2:] == ["load", "unload"]


def test_a_timed_out_load_can_be_hard_unloaded_and_loaded_again() -> None:
    mod = Scripted()
    host = make({"x": mod}, timeout=0.3)
    host.unload("x")
    gate = threading.Event()
    mod.script["load"] = gate
    with pytest.raises(LoadDeclinedError):
        host.load("x")
    assert host.run("module unload -h x").ok
    gate.set()
    wait_until(lambda: mod.calls[-1] == "unload")
    mod.script.clear()
    assert host.load("x").name == "x"


def test_an_unload_that_times_out_is_finished_when_it_returns() -> None:
    mod = Scripted()
    host = make({"x": mod}, timeout=0.3)
    gate = threading.Event()
    mod.script["unload"] = gate
    with pytest.raises(ModuleTimeoutError) as info:
        host.unload("x")
    assert info.value.hook == "unload"
    assert "is busy: its unload() has not returned yet" in host.run("module unload x").output
    assert state(host, "x") == "timed-out"
    gate.set()
    wait_until(lambda: "x" not in [m.name for m in host.list_modules()])


def test_an_unload_that_times_out_and_refuses_stays_running() -> None:
    mod = Scripted()
    host = make({"x": mod}, timeout=0.3)
    gate = threading.Event()
    mod.script["unload"] = gate
    mod.result["unload"] = False
    result = host.run("module unload x")
    assert result.output.splitlines() == [
        "Module 'x': unload() did not return within 0.3 s (it goes on in the background)",
        "Unable to unload resource x",
        "Command 'module unload x' failed.",
    ]
    gate.set()
    wait_until(lambda: state(host, "x") == "running")
    with host.use("x"):
        pass


def test_a_reload_that_times_out_leaves_the_module_running() -> None:
    mod = Scripted()
    host = make({"x": mod}, timeout=0.3)
    gate = threading.Event()
    mod.script["reload"] = gate
    with pytest.raises(ModuleTimeoutError):
        host.reload("x")
    assert state(host, "x") == "running"
    with host.use("x"):
        pass
    with pytest.raises(ModuleBusyError):
        host.reload("x")
    gate.set()
    wait_until(lambda: host.get_module("x").last_error is None)
    mod.script.clear()
    assert host.reload("x").reloaded == ("x",)


def test_a_graceful_stop_gives_up_on_a_hung_unload_and_names_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    first, hung, last = Scripted(), Scripted(), Scripted()
    host = make({"a_first": first, "b_hung": hung, "c_last": last}, timeout=0.3)
    gate = threading.Event()
    hung.script["unload"] = gate
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="modloader"):
        stopped = host.stop()
    assert time.perf_counter() - started < 10
    assert stopped == ["c_last", "b_hung", "a_first"]
    assert first.calls[-1] == "unload"
    assert "b_hung: gave up waiting for unload() after 0.3 s" in caplog.text
    gate.set()


def test_no_limit_waits_for_the_module() -> None:
    mod = Scripted()
    host = make({"x": mod}, timeout=None)
    assert host.module_timeout is None
    host.unload("x")
    gate = threading.Event()
    mod.script["load"] = gate
    threading.Timer(0.5, gate.set).start()
    assert host.load("x").name == "x"


def test_a_firm_unload_whose_dependent_hangs_names_the_dependent() -> None:
    base, user = Scripted(), Scripted()

    class User(Scripted):
        requires = ("base",)

    user = User()
    host = make({"base": base, "user": user}, timeout=0.3)
    gate = threading.Event()
    user.script["unload"] = gate
    with pytest.raises(ModuleTimeoutError) as info:
        host.unload("base", UnloadMode.FIRM)
    assert info.value.module == "user"
    assert state(host, "base") == "running"
    assert state(host, "user") == "timed-out"
    gate.set()
    wait_until(lambda: "user" not in [m.name for m in host.list_modules()])
    assert host.unload("base").name == "base"


@pytest.mark.parametrize("bad", [0, -1, float("inf"), "30", True])
def test_module_timeout_is_checked(bad: Any) -> None:
    with pytest.raises((TypeError, ValueError), match="module_timeout"):
        Host("test.calls", discovery=StaticDiscovery("test.calls", {}), module_timeout=bad)


def test_a_load_that_hangs_at_startup_is_given_up_and_the_next_modules_start() -> None:
    first, hung, last = Scripted(), Scripted(), Scripted()
    gate = threading.Event()
    hung.script["load"] = gate
    discovery = StaticDiscovery("test.calls", {"a_first": first, "b_hung": hung, "c_last": last})
    host = Host(
        "test.calls", discovery=discovery, config=ModulesConfig(autoload=True), module_timeout=0.3
    )
    started = time.perf_counter()
    report = host.start()
    assert time.perf_counter() - started < 10
    assert "b_hung: load() did not return within 0.3 s (it is still running)" in report.lines
    assert [state(host, n) for n in ("a_first", "b_hung", "c_last")] == [
        "running",
        "timed-out",
        "running",
    ]
    gate.set()
    wait_until(lambda: state(host, "b_hung") == "declined")
    assert hung.calls == ["load", "unload"]  # reported as not loaded: undone when it returned
    assert host.stop() == ["c_last", "a_first"]
    assert first.calls == last.calls == ["load", "unload"]


def test_an_import_that_hangs_times_out_and_ends_declined() -> None:
    gate = threading.Event()

    class Slow:
        def __init__(self) -> None:  # instantiating the entry point is part of the import
            gate.wait(30)

    discovery = StaticDiscovery("test.calls", {"slow": Slow, "ok": Scripted()})
    host = Host(
        "test.calls", discovery=discovery, config=ModulesConfig(autoload=True), module_timeout=0.3
    )
    report = host.start()
    assert "slow: its import did not finish within 0.3 s (it is still running)" in report.lines
    assert state(host, "slow") == "timed-out"
    assert state(host, "ok") == "running"
    gate.set()
    wait_until(lambda: state(host, "slow") == "declined")
    last_error = host.get_module("slow").last_error
    assert last_error is not None
    assert last_error.startswith("its import did not finish within 0.3 s")
    assert host.load("slow").name == "slow"


@pytest.mark.parametrize("hook", ["load", "unload", "reload", "settings_model"])
def test_a_hook_attribute_that_hangs_when_read_is_given_up_at_import(hook: str) -> None:
    # Reading an attribute runs the module's code too (a property): it is read in the
    # import's module call, under its time limit, and never under the host's lock.
    gate = threading.Event()

    class Hangs:
        pass

    setattr(Hangs, hook, property(lambda self: gate.wait(30)))

    class Fine:
        def reload(self, ctx: Any) -> None:
            pass

    host = Host(
        "test.calls",
        discovery=StaticDiscovery("test.calls", {"hangs": Hangs, "fine": Fine}),
        config=ModulesConfig(autoload=True),
        module_timeout=0.3,
    )
    try:
        started = time.monotonic()
        host.start()
        assert state(host, "hangs") == "timed-out"
        assert state(host, "fine") == "running"
        assert host.get_module("hangs").last_error == (
            "its import did not finish within 0.3 s (it is still running)"
        )
        assert host.reload().reloaded == ("fine",)
        assert host.stop() == ["fine"]
        assert time.monotonic() - started < 5
    finally:
        gate.set()


class _Unshowable:
    def __repr__(self) -> str:
        raise ValueError("no repr")


class _BadText:
    def __str__(self) -> str:
        raise SystemExit(5)


#: Exceptions whose ``str()`` (or decline reason's) is broken, and the reason then given.
_UNSAYABLE = {
    "str-raises": (
        lambda: Unsayable(ValueError("no")),
        "Unsayable: <its str() raised ValueError>",
    ),
    "str-exits": (lambda: Unsayable(SystemExit(4)), "Unsayable: <its str() raised SystemExit>"),
    "reason-exits": (lambda: ModuleDeclined(_BadText()), "<its str() raised SystemExit>"),  # type: ignore[arg-type]
    # Nothing to say: the class's name alone, as Python's traceback ends (not "Name: ").
    "says-nothing": (lambda: asyncio.CancelledError(), "CancelledError"),
    "says-nothing-base": (lambda: KeyboardInterrupt(), "KeyboardInterrupt"),
}


@pytest.mark.parametrize("case", list(_UNSAYABLE))
def test_an_exception_that_cannot_say_what_it_is_declines_its_module(case: str) -> None:
    make_error, reason = _UNSAYABLE[case]
    raised = make_error()

    # What the exception says is read in the module's call: its str() is its code.
    class Raises:
        def load(self, ctx: Any) -> None:
            raise raised

    host = make({"bad": Raises, "fine": Scripted()})
    assert state(host, "fine") == "running"
    assert state(host, "bad") == "declined"
    assert host.get_module("bad").last_error == reason
    with pytest.raises(LoadDeclinedError) as info:
        host.load("bad")
    assert info.value.reason == reason
    assert host.stop() == ["fine"]


def test_a_load_result_that_cannot_be_shown_is_named_by_its_type() -> None:
    class Returns:
        def load(self, ctx: Any) -> Any:
            return _Unshowable()

    host = make({"odd": Returns})
    assert host.get_module("odd").last_error == (
        "load() returned an object of type _Unshowable, not a LoadResult"
    )
    host.stop()


def test_an_exception_whose_str_hangs_is_given_up_at_the_limit() -> None:
    gate = threading.Event()

    class Slow(Exception):
        def __str__(self) -> str:
            gate.wait(30)
            return "slow"

    class Raises:
        def load(self, ctx: Any) -> None:
            raise Slow()

    started = time.monotonic()
    try:
        host = make({"bad": Raises}, timeout=0.3)
        assert time.monotonic() - started < 5
        assert state(host, "bad") == "timed-out"
    finally:
        gate.set()
    wait_until(lambda: state(host, "bad") == "declined")
    host.stop()


def test_a_traceback_is_formatted_in_the_call_only_for_debug_logging(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Raises:
        def load(self, ctx: Any) -> None:
            raise ValueError("plain")

    with caplog.at_level(logging.INFO, logger="modloader"):
        host = make({"bad": Raises})
    assert host.get_module("bad").last_error == "ValueError: plain"
    assert "Traceback" not in caplog.text
    host.stop()
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="modloader"):
        host = make({"bad": Raises})
    traces = [r.getMessage() for r in caplog.records if "the traceback of" in r.getMessage()]
    assert len(traces) == 1
    assert traces[0].startswith("bad: the traceback of load()\nTraceback (most recent call last)")
    assert traces[0].endswith("ValueError: plain")
    host.stop()


def test_a_traceback_that_cannot_be_formatted_is_the_module_s_not_the_host_s(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # With -v the host logs the traceback of what a module raised. Formatting it
    # runs the exception's code (its str(), its __notes__): in the module's call.
    class Exits:
        def load(self, ctx: Any) -> None:
            raise Untellable(SystemExit(6))

    with caplog.at_level(logging.DEBUG, logger="modloader"):
        host = make({"bad": Exits, "fine": Scripted()})
    assert state(host, "bad") == "declined"
    assert state(host, "fine") == "running"
    assert "bad: the traceback of load()\n<its traceback could not be formatted: SystemExit>" in (
        caplog.text
    )
    assert host.stop() == ["fine"]


def test_a_traceback_that_hangs_when_formatted_is_given_up_at_the_limit(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = threading.Event()

    class SlowNotes(Exception):
        @property
        def __notes__(self) -> list[str]:
            gate.wait(30)
            return []

    class Raises:
        def load(self, ctx: Any) -> None:
            raise SlowNotes()

    started = time.monotonic()
    try:
        with caplog.at_level(logging.DEBUG, logger="modloader"):
            host = make({"bad": Raises, "fine": Scripted()}, timeout=0.3)
        assert time.monotonic() - started < 5
        assert state(host, "bad") == "timed-out"
        assert state(host, "fine") == "running"
    finally:
        gate.set()
    wait_until(lambda: state(host, "bad") == "declined")
    assert host.stop() == ["fine"]


def test_a_module_that_requires_itself_is_a_cycle() -> None:
    class Selfish(Scripted):
        requires = ("selfish",)

    host = make({"selfish": Selfish()})
    assert host.get_module("selfish").last_error == "dependency cycle: selfish -> selfish"
    result = host.run("module load selfish")
    assert "selfish: dependency cycle: selfish -> selfish" in result.output.splitlines()


def test_an_interrupted_wait_leaves_the_module_timed_out_then_reconciled() -> None:
    import os
    import signal

    mod = Scripted()
    host = make({"x": mod}, timeout=30)
    host.unload("x")
    gate = threading.Event()
    mod.script["load"] = gate
    # A Ctrl-C reaching the waiting (main) thread while load() runs.
    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
    with pytest.raises(KeyboardInterrupt):
        host.load("x")
    assert state(host, "x") == "timed-out"
    assert host.get_module("x").last_error == "the host stopped waiting for load() (interrupted)"
    gate.set()
    wait_until(lambda: state(host, "x") == "declined")
    # Not "did not return within 30 s": nobody waited that long.
    error = host.get_module("x").last_error or ""
    assert error.startswith("the wait for load() was interrupted after 0."), error
    assert error.endswith("s and was unloaded again)"), error
    mod.script.clear()
    assert host.load("x").name == "x"


def test_a_thread_that_load_starts_is_not_a_daemon_but_the_call_thread_is() -> None:
    seen: dict[str, bool] = {}
    stop = threading.Event()

    class Starts:
        def load(self, ctx: Any) -> None:
            seen["call thread while calling"] = threading.current_thread().daemon
            worker = threading.Thread(target=stop.wait, args=(30,))
            seen["started thread"] = worker.daemon
            worker.start()

    host = make({"starts": Starts})
    try:
        assert seen == {"call thread while calling": False, "started thread": False}
        idle = [t for t in threading.enumerate() if t.name == "modloader-module-call"]
        assert idle and all(t.daemon for t in idle)  # an idle call thread never holds exit
    finally:
        stop.set()
        host.stop()


def test_extend_wait_lets_a_call_that_ends_itself_at_its_limit_report_so() -> None:
    def ends_late() -> str:
        extend_wait(5.0)
        limit = current_limit()
        assert limit is not None and limit[0] == 0.2
        time.sleep(0.4)  # past its limit, within the grace
        return "ended"

    result = run_call("load", ends_late, (), limit=0.2)
    assert result.status is CallStatus.RETURNED
    assert result.value == "ended"
    assert current_limit() is None  # no call runs in this thread


def _settings_host(check: Any, timeout: float) -> Host:
    from pydantic import field_validator

    from modloader import ModuleSettings

    class Settings(ModuleSettings):
        size: int = 1

        @field_validator("size")
        @classmethod
        def _check(cls, value: int) -> int:
            check()
            return value

    class Configured:
        settings_model = Settings

        def load(self, ctx: Any) -> None:
            pass

    host = Host(
        "test.calls",
        discovery=StaticDiscovery("test.calls", {"configured": Configured}),
        config=ModulesConfig(autoload=True),
        module_settings={"configured": {"size": 2}},
        module_timeout=timeout,
    )
    host.start()
    return host


def test_a_settings_validator_that_raises_declines_its_module() -> None:
    def explode() -> None:
        raise KeyboardInterrupt("from a validator")

    host = _settings_host(explode, 30.0)
    try:
        info = host.get_module("configured")
        assert info.state == "declined"
        assert "KeyboardInterrupt: from a validator" in (info.last_error or "")
    finally:
        host.stop()


def test_a_settings_validator_that_hangs_times_out_like_load() -> None:
    release = threading.Event()
    host = _settings_host(lambda: release.wait(30), 0.2)
    try:
        assert state(host, "configured") == "timed-out"
        assert "load() did not return within 0.2 s" in (
            host.get_module("configured").last_error or ""
        )
        release.set()
        wait_until(lambda: state(host, "configured") != "timed-out")
        assert state(host, "configured") == "declined"  # a late load is undone
    finally:
        release.set()
        host.stop()


# -- the switch interval while an operation runs -----------------------------------------


class SeesInterval:
    def __init__(self) -> None:
        self.seen: list[float] = []
        self.gate: threading.Event | None = None

    def load(self, ctx: Any) -> None:
        self.seen.append(sys.getswitchinterval())
        if self.gate is not None:
            self.gate.wait(30)


def _interval_host(module: Any, interval: float | None = 0.0001) -> Host:
    discovery = StaticDiscovery("test.calls", {"x": module})
    host = Host(
        "test.calls",
        discovery=discovery,
        config=ModulesConfig(autoload=False),
        operation_switch_interval=interval,
        switch_interval=None,  # what start() lowers it to for good: not this test's
    )
    host.start()
    return host


@pytest.fixture
def interval() -> Iterator[float]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    yield 0.005
    sys.setswitchinterval(before)


def test_an_operation_runs_with_a_short_switch_interval_then_puts_it_back(interval: float) -> None:
    module = SeesInterval()
    host = _interval_host(module)
    host.load("x")
    assert module.seen == [pytest.approx(0.0001)]
    assert sys.getswitchinterval() == pytest.approx(interval)


def test_overlapping_operations_put_the_interval_back_once_the_last_ends(interval: float) -> None:
    first, second = SeesInterval(), SeesInterval()
    first.gate = threading.Event()
    discovery = StaticDiscovery("test.calls", {"a": first, "b": second})
    host = Host(
        "test.calls",
        discovery=discovery,
        config=ModulesConfig(autoload=False),
        operation_switch_interval=0.0001,
        switch_interval=None,
    )
    host.start()
    loading = threading.Thread(target=host.load, args=("a",))
    loading.start()
    wait_until(lambda: first.seen)
    host.load("b")  # starts and ends while "a" still loads
    assert sys.getswitchinterval() == pytest.approx(0.0001)
    first.gate.set()
    loading.join(10)
    assert sys.getswitchinterval() == pytest.approx(interval)


def test_none_and_a_lower_interval_are_left_alone(interval: float) -> None:
    module = SeesInterval()
    host = _interval_host(module, None)
    host.load("x")
    assert module.seen == [pytest.approx(interval)]
    sys.setswitchinterval(0.00005)  # the application's own, lower already
    other = SeesInterval()
    _interval_host(other).load("x")
    assert other.seen == [pytest.approx(0.00005)]
    assert sys.getswitchinterval() == pytest.approx(0.00005)


def test_an_interval_the_application_sets_meanwhile_is_kept(interval: float) -> None:
    module = SeesInterval()
    module.gate = threading.Event()
    host = _interval_host(module)
    loading = threading.Thread(target=host.load, args=("x",))
    loading.start()
    wait_until(lambda: module.seen)
    sys.setswitchinterval(0.002)  # the application changes its mind meanwhile
    module.gate.set()
    loading.join(10)
    assert sys.getswitchinterval() == pytest.approx(0.002)


def test_a_name_not_in_the_list_is_refused_without_waiting_for_the_lock() -> None:
    from modloader import NoSuchModuleError

    host = make({"x": Scripted()})
    life = host._lifecycle  # the registry's lock, held by another operation meanwhile
    taken, done = threading.Event(), threading.Event()

    def hold() -> None:
        with life.lock:
            taken.set()
            done.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        taken.wait(10)
        started = time.perf_counter()
        for call in (host.unload, host.reload, host.refresh):
            with pytest.raises(NoSuchModuleError, match="No such module 'xy'") as info:
                call("xy")  # type: ignore[operator]
            assert info.value.suggestion == "x"
        assert time.perf_counter() - started < 5
    finally:
        done.set()
        holder.join(10)


def test_a_load_at_startup_may_load_another_module_from_its_call_thread() -> None:
    from modloader import ModuleEntry

    seen: list[str] = []

    class Second:
        def load(self, ctx: Any) -> None:
            seen.append(f"second in {threading.current_thread().name}")

    class First:
        def load(self, ctx: Any) -> None:
            seen.append(f"first in {threading.current_thread().name}")
            seen.append(f"loaded {ctx.host.load('second').name}")

    host = Host(
        "test.calls",
        discovery=StaticDiscovery("test.calls", {"first": First, "second": Second}),
        config=ModulesConfig(autoload=False, entries=(ModuleEntry("first"),)),
        module_timeout=5,
    )
    host.start()
    assert seen == [
        "first in modloader-module-call",
        "second in modloader-module-call",
        "loaded second",
    ]
    assert [(m.name, m.state) for m in host.list_modules()] == [
        ("first", "running"),
        ("second", "running"),
    ]
    # "second" was running before "first" (its load() returned first): unloaded after it.
    assert host.stop() == ["first", "second"]


FORK_DURING_AN_OPERATION = """
import os, sys, threading, time
from modloader import Host, ModulesConfig, StaticDiscovery

sys.setswitchinterval(0.005)
gate, entered = threading.Event(), threading.Event()

class Slow:
    def load(self, ctx):
        entered.set()
        gate.wait(30)

class Quick:
    def load(self, ctx):
        pass

host = Host("fork.test", discovery=StaticDiscovery("fork.test", {"slow": Slow, "quick": Quick}),
            config=ModulesConfig(autoload=False), switch_interval=None,
            operation_switch_interval=0.0001)
host.start()
loading = threading.Thread(target=host.load, args=("slow",))
loading.start()
entered.wait(10)
assert round(sys.getswitchinterval(), 6) == 0.0001
pid = os.fork()
if pid == 0:  # the child: no operation runs here
    before = round(sys.getswitchinterval(), 6)
    host.load("quick")  # an operation of its own, on a fresh call thread
    after = round(sys.getswitchinterval(), 6)
    print(f"child {before} {after} {host.is_running('quick')}", flush=True)
    os._exit(0)
os.waitpid(pid, 0)
gate.set()
loading.join(10)
print(f"parent {round(sys.getswitchinterval(), 6)}", flush=True)
"""


def test_a_fork_during_an_operation_leaves_the_child_its_own_switch_interval(
    tmp_path: Any,
) -> None:
    import subprocess

    script = tmp_path / "fork.py"
    script.write_text(FORK_DURING_AN_OPERATION, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["child 0.005 0.005 True", "parent 0.005"]


def test_no_thread_for_module_code_fails_the_operation_and_leaves_nothing_busy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``can't start new thread`` (memory, a limit on threads) was raised out of the
    operation half done: its module stayed busy for good (``its unload() has not
    returned yet``), and the stop left it loaded, though its code never ran."""
    from modloader._registry import calls

    def cannot_start(thread: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    one, two = Scripted(), Scripted()
    host = make({"one": one, "two": two})
    assert host.unload("two").name == "two"
    monkeypatch.setattr(calls, "_WORKERS", calls._Workers())  # no idle thread to reuse
    monkeypatch.setattr(calls._CallThread, "start", cannot_start)
    why = "RuntimeError: no thread could be started to run it (can't start new thread)"
    with pytest.raises(ReloadError):
        host.reload("one")
    with pytest.raises(UnloadRefusedError) as refused:
        host.unload("one", UnloadMode.FIRM)
    assert refused.value.reason == why
    with pytest.raises(LoadDeclinedError) as declined:
        host.load("two")
    assert declined.value.reason == why
    assert (one.calls, two.calls) == (["load"], ["load", "unload"])  # none ran meanwhile
    assert (state(host, "one"), state(host, "two")) == ("running", "declined")
    monkeypatch.undo()  # threads again: nothing was left busy
    assert host.load("two").name == "two"
    assert host.unload("one").name == "one"
    assert host.stop() == ["two"]
