"""Operations as steps: one call at a time (drive), or a whole run on one thread (run_steps)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from modloader._registry.calls import CallResult
from modloader._registry.calls import CallStatus
from modloader._registry.calls import OpLock
from modloader._registry.calls import extend_wait
from modloader._registry.steps import WAIT_SLICE
from modloader._registry.steps import ModuleCall
from modloader._registry.steps import Steps
from modloader._registry.steps import _Run
from modloader._registry.steps import run_one
from modloader._registry.steps import run_steps
from tests._hostile import within


class Journal:
    """What the steps and the module calls of a run saw."""

    def __init__(self, lock: OpLock) -> None:
        self.lock = lock
        self.results: dict[str, CallResult] = {}
        self.late: dict[str, CallResult] = {}
        self.threads: dict[str, int] = {}
        self.lock_in_call: dict[str, bool] = {}
        self.lock_in_step: dict[str, bool] = {}
        self.thrown: dict[str, BaseException] = {}

    def code(self, name: str, action: Callable[[], Any] | None = None) -> Callable[[], Any]:
        def run() -> Any:
            self.threads[name] = threading.get_ident()
            self.lock_in_call[name] = self.lock.owned()
            return action() if action is not None else name.upper()

        return run

    def step(
        self, actions: dict[str, Callable[[], Any]], limit: float | None = 0.3
    ) -> Callable[[str], Steps[None]]:
        def step(name: str) -> Steps[None]:
            self.lock_in_step[name] = self.lock.owned()

            def late(result: CallResult) -> None:
                self.late[name] = result

            try:
                call = ModuleCall("load", self.code(name, actions.get(name)), (), limit, late)
                self.results[name] = yield call
            except BaseException as exc:
                self.thrown[name] = exc
                raise

        return step


def test_a_run_makes_every_call_on_one_thread_with_the_lock_suspended() -> None:
    lock = OpLock()
    journal = Journal(lock)
    with lock, lock:
        run_steps(["a", "b", "c"], journal.step({}), lock=lock, limit=0.3)
        assert lock.owned()
    assert not lock.owned()
    assert {r.value for r in journal.results.values()} == {"A", "B", "C"}
    assert len(set(journal.threads.values())) == 1
    assert threading.get_ident() not in journal.threads.values()
    assert journal.lock_in_step == {"a": True, "b": True, "c": True}
    assert journal.lock_in_call == {"a": False, "b": False, "c": False}


def test_a_call_past_its_limit_is_given_up_and_the_run_goes_on_in_another_thread() -> None:
    lock = OpLock()
    journal = Journal(lock)
    gate = threading.Event()
    started = time.perf_counter()
    with lock:
        run_steps(["a", "hung", "c"], journal.step({"hung": gate.wait}), lock=lock, limit=0.3)
    assert time.perf_counter() - started < 5
    assert journal.results["hung"].status is CallStatus.TIMED_OUT
    assert journal.results["hung"].reason == "load() did not return within 0.3 s"
    assert journal.results["c"].value == "C"
    assert journal.threads["c"] != journal.threads["hung"]
    assert "hung" not in journal.late
    gate.set()
    deadline = time.monotonic() + 10
    while "hung" not in journal.late and time.monotonic() < deadline:
        time.sleep(0.01)
    assert journal.late["hung"].status is CallStatus.RETURNED
    assert journal.late["hung"].value is True


def test_what_a_call_raises_is_its_result_and_the_run_goes_on() -> None:
    lock = OpLock()
    journal = Journal(lock)

    def boom() -> None:
        raise KeyboardInterrupt("from the module")

    with lock:
        run_steps(["a", "b"], journal.step({"a": boom}), lock=lock, limit=0.3)
    assert journal.results["a"].status is CallStatus.RAISED
    assert journal.results["a"].reason == "KeyboardInterrupt: from the module"
    assert journal.results["b"].value == "B"


def test_what_a_step_raises_ends_the_run_and_is_raised_to_the_caller() -> None:
    lock = OpLock()
    seen: list[str] = []

    def step(name: str) -> Steps[None]:
        seen.append(name)
        yield ModuleCall("load", lambda: None, (), 1.0)
        if name == "b":
            raise ValueError("the registry's own error")

    with lock, pytest.raises(ValueError, match="the registry's own error"):
        run_steps(["a", "b", "c"], step, lock=lock, limit=1.0)
    assert seen == ["a", "b"]
    assert lock.owned() is False


def test_a_step_without_calls_and_an_empty_run_are_fine() -> None:
    lock = OpLock()
    seen: list[str] = []

    def step(name: str) -> Steps[None]:
        seen.append(name)
        if name == "never":
            yield ModuleCall("load", lambda: None, (), 1.0)

    run_steps([], step, lock=lock, limit=1.0)
    run_steps(["a", "b"], step, lock=lock, limit=None)
    assert seen == ["a", "b"]


def test_the_grace_a_call_asks_for_is_waited_for() -> None:
    lock = OpLock()
    journal = Journal(lock)

    def slow_but_asked() -> str:
        extend_wait(2.0)
        time.sleep(0.5)
        return "finished"

    run_steps(["x"], journal.step({"x": slow_but_asked}, limit=0.2), lock=lock, limit=0.2)
    assert journal.results["x"].status is CallStatus.RETURNED
    assert journal.results["x"].value == "finished"


def test_a_run_inside_a_step_runs_on_its_own_thread() -> None:
    lock = OpLock()
    outer, inner = Journal(lock), Journal(lock)

    def step(name: str) -> Steps[None]:
        yield from outer.step({})(name)
        if name == "a":
            run_steps(["x", "y"], inner.step({}), lock=lock, limit=1.0)

    with lock:
        run_steps(["a", "b"], step, lock=lock, limit=1.0)
    assert set(outer.results) == {"a", "b"}
    assert set(inner.results) == {"x", "y"}
    assert set(inner.threads.values()).isdisjoint(outer.threads.values())


def _interrupt_after(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals")
def test_a_ctrl_c_while_a_call_hangs_gives_it_up_and_throws_into_its_step() -> None:
    lock = OpLock()
    journal = Journal(lock)
    gate = threading.Event()
    _interrupt_after(0.3)
    with lock, pytest.raises(KeyboardInterrupt):
        run_steps(
            ["a", "hung", "c"], journal.step({"hung": gate.wait}, limit=30), lock=lock, limit=30
        )
    assert isinstance(journal.thrown["hung"], KeyboardInterrupt)
    assert "c" not in journal.results and "c" not in journal.threads  # nothing more started
    gate.set()
    deadline = time.monotonic() + 10
    while "hung" not in journal.late and time.monotonic() < deadline:
        time.sleep(0.01)
    assert journal.late["hung"].status is CallStatus.RETURNED


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals")
def test_a_ctrl_c_between_calls_finishes_the_item_in_hand_and_starts_no_other() -> None:
    lock = OpLock()
    begun: list[str] = []
    done: list[str] = []

    def step(name: str) -> Steps[None]:
        begun.append(name)
        time.sleep(0.6)  # the registry's own work, not a module call
        yield ModuleCall("load", lambda: None, (), 30.0)
        done.append(name)

    _interrupt_after(0.2)
    with lock, pytest.raises(KeyboardInterrupt):
        run_steps(["a", "b"], step, lock=lock, limit=30)
    # "a" was in hand: it ends (or its call, started after the Ctrl-C, is given up).
    assert begun == ["a"]
    assert done in ([], ["a"])


def test_a_ctrl_c_landing_as_the_run_ends_does_not_wait_for_it_again() -> None:
    # The watcher's wait for the end took `finished`, and the Ctrl-C was raised
    # just after (a signal is handled between two bytecodes): stopping the run
    # then must see that it is over, not wait for `finished` a second time.
    def step(name: str) -> Steps[None]:
        yield ModuleCall("load", lambda: None, (), 30.0)

    run = _Run(iter(["a"]), step, OpLock(), 30.0, hold=True)
    run.begin()
    assert run.finished.acquire(timeout=10)  # the run is over, and `finished` is taken
    assert within(5, run._stop) is None


@pytest.mark.parametrize("limit", [None, 30.0])
def test_the_watcher_never_blocks_longer_than_a_slice(limit: float | None) -> None:
    # A signal that reaches Python just before the watcher blocks is handled when
    # the wait ends: with a call of no (or a long) limit, that was never (or 30 s).
    gate = threading.Event()

    def step(name: str) -> Steps[None]:
        yield ModuleCall("load", gate.wait, (10,), limit)

    run = _Run(iter(["a"]), step, OpLock(), limit, hold=True)
    run.begin()
    try:
        began = time.monotonic()
        assert within(5, run._wait_a_while) is False  # a slice went by; the call runs on
        assert time.monotonic() - began < WAIT_SLICE + 1
    finally:
        gate.set()
    assert run.finished.acquire(timeout=10)


def test_run_one_starts_here_and_moves_to_a_call_thread_at_its_first_call() -> None:
    lock = OpLock()
    threads: list[int] = []

    def record(value: int) -> int:
        threads.append(threading.get_ident())
        return value

    def steps() -> Steps[int]:
        threads.append(threading.get_ident())  # the registry's own logic, before any call
        with lock:  # held across the calls: the levels go with the steps
            first = yield ModuleCall("load", record, (1,), 1.0)
            assert lock.owned()
            threads.append(threading.get_ident())
            second = yield ModuleCall("load", record, (2,), 1.0)
        return int(first.value) + int(second.value)

    with lock:
        assert run_one(steps(), lock=lock, limit=1.0) == 3
        assert lock.depth() == 1
    assert lock.depth() == 0
    here = threading.get_ident()
    assert threads[0] == here
    assert len(set(threads[1:])) == 1 and threads[1] != here  # one call thread for the rest


def test_run_one_without_a_module_call_never_leaves_this_thread() -> None:
    lock = OpLock()
    threads: list[int] = []

    def refused() -> Steps[None]:
        threads.append(threading.get_ident())
        with lock:
            raise ValueError("refused before any module code ran")
        yield ModuleCall("load", lambda: None, (), 1.0)  # never reached

    with pytest.raises(ValueError, match="refused"):
        run_one(refused(), lock=lock, limit=1.0)
    assert threads == [threading.get_ident()]
    assert lock.depth() == 0


def test_run_one_gives_up_a_hung_call_and_the_steps_go_on_with_their_lock_levels() -> None:
    lock = OpLock()
    gate = threading.Event()
    late: list[CallResult] = []
    seen: list[Any] = []

    def steps() -> Steps[str]:
        with lock, lock:
            result = yield ModuleCall("unload", gate.wait, (), 0.3, late.append)
            seen.append((result.status, lock.depth()))
        return "went on"

    assert run_one(steps(), lock=lock, limit=0.3) == "went on"
    assert seen == [(CallStatus.TIMED_OUT, 2)]
    assert lock.depth() == 0
    gate.set()
    deadline = time.monotonic() + 10
    while not late and time.monotonic() < deadline:
        time.sleep(0.01)
    assert late[0].status is CallStatus.RETURNED
    assert lock.acquire(timeout=5)  # nobody kept a level of it
    lock.release()


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals")
def test_a_ctrl_c_while_run_one_waits_is_thrown_into_the_steps_holding_their_levels() -> None:
    lock = OpLock()
    gate = threading.Event()
    seen: list[int] = []

    def steps() -> Steps[None]:
        with lock:
            try:
                yield ModuleCall("load", gate.wait, (), 30.0)
            except KeyboardInterrupt:
                seen.append(lock.depth())
                raise

    _interrupt_after(0.3)
    with pytest.raises(KeyboardInterrupt):
        run_one(steps(), lock=lock, limit=30.0)
    assert seen == [1]
    assert lock.depth() == 0
    gate.set()
