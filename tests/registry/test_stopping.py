"""Stopping: requests, and a stop made by one thread while others ask for it too."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import pytest

from modloader import Host
from modloader import ModulesConfig
from modloader import StaticDiscovery
from modloader._registry.states import HostState
from modloader._registry.steps import WAIT_SLICE
from modloader._registry.steps import _Run
from modloader._registry.stopping import Stopping
from tests.registry.test_shutdown import _host
from tests.registry.test_startup import Journal
from tests.registry.test_startup import module


def test_a_request_is_recorded_and_told_to_every_listener_in_order() -> None:
    stopping = Stopping()
    heard: list[tuple[str, bool]] = []
    stopping.on_request(lambda graceful: heard.append(("first", graceful)))
    stopping.on_request(lambda graceful: heard.append(("second", graceful)))
    assert stopping.wait_for_request(0) is None
    stopping.request(graceful=False)
    assert heard == [("first", False), ("second", False)]
    assert stopping.wait_for_request(0) is False


def test_only_a_running_or_new_host_is_claimed_and_every_claim_is_a_request() -> None:
    for state, claimed in [
        (HostState.CREATED, True),
        (HostState.RUNNING, True),
        (HostState.STARTING, False),
        (HostState.STOPPED, False),
    ]:
        stopping = Stopping()
        marked: list[bool] = []
        assert stopping.claim(lambda s=state: s, lambda m=marked: m.append(True)) is state
        assert marked == ([True] if claimed else [])
        assert stopping.requested.is_set()


@pytest.mark.parametrize("graceful", [True, False])
def test_a_stop_nobody_asked_for_is_told_as_a_request_once(graceful: bool) -> None:
    host = Host("ns", discovery=StaticDiscovery("ns", {"a": object}), config=ModulesConfig())
    heard: list[bool] = []
    host.on_stop_request(heard.append)
    host.on_stop_request(lambda graceful: 1 / 0)  # logged; the stop and the others go on
    host.start()
    assert host.wait_for_stop(0) is None
    host.stop(graceful=graceful)
    assert heard == [graceful]
    assert host.wait_for_stop(0) is graceful
    host.stop()
    assert heard == [graceful]


def test_a_stop_after_a_request_is_not_told_again() -> None:
    host = Host("ns", discovery=StaticDiscovery("ns", {"a": object}), config=ModulesConfig())
    heard: list[bool] = []
    host.on_stop_request(heard.append)
    host.start()
    host.request_stop(graceful=False)
    assert host.wait_for_stop(0) is False
    host.stop()
    assert heard == [False]


def test_awaiting_a_stop_nobody_claimed_returns_at_once() -> None:
    stopping = Stopping()
    started = time.monotonic()
    stopping.await_stopper()
    assert time.monotonic() - started < 1


def _slow_unload(journal: Journal, seconds: float) -> type:
    """A module whose ``unload()`` takes a while, and says when it has returned."""

    class SlowUnload:
        def unload(self, ctx: Any) -> None:
            journal.append(f"unloading {ctx.name}")
            time.sleep(seconds)
            journal.append(f"unloaded {ctx.name}")

    return SlowUnload


def _stop_in_thread(
    host: Host, results: list[tuple[str, list[str]]], label: str
) -> threading.Thread:
    thread = threading.Thread(target=lambda: results.append((label, host.stop())))
    thread.start()
    return thread


def test_a_second_stop_from_another_thread_returns_when_the_modules_are_unloaded() -> None:
    journal = Journal()
    host = _host(30, a=module(journal), slow=_slow_unload(journal, 0.5))
    results: list[tuple[str, list[str]]] = []
    first = _stop_in_thread(host, results, "first")
    deadline = time.monotonic() + 10
    while "unloading slow" not in journal and time.monotonic() < deadline:
        time.sleep(0.005)
    assert host.stop() == []  # the first caller has the names
    # It returned once the whole stop was over, not while slow's unload() still ran.
    assert journal[-3:] == ["unloading slow", "unloaded slow", "unload a"]
    first.join(10)
    assert results == [("first", ["slow", "a"])]


def test_two_threads_stopping_at_once_unload_each_module_once_newest_first() -> None:
    journal = Journal()
    host = _host(30, a=module(journal), b=module(journal), c=_slow_unload(journal, 0.2))
    results: list[tuple[str, list[str]]] = []
    gate = threading.Barrier(3)
    threads = [
        threading.Thread(target=lambda n=n: (gate.wait(), results.append((n, host.stop()))))
        for n in ("x", "y")
    ]
    for thread in threads:
        thread.start()
    gate.wait()
    for thread in threads:
        thread.join(10)
    assert sorted(names for _, names in results) == [[], ["c", "b", "a"]]
    unloads = [line for line in journal if line.startswith("unload")]
    assert unloads == ["unloading c", "unloaded c", "unload b", "unload a"]


def test_stop_from_an_unload_during_the_stop_returns_at_once() -> None:
    journal = Journal()
    answers: list[tuple[list[str], float]] = []

    class StopsAgain:
        def unload(self, ctx: Any) -> None:
            started = time.monotonic()
            answers.append((ctx.host.stop(), time.monotonic() - started))

    host = _host(5, a=module(journal), again=StopsAgain)
    started = time.monotonic()
    assert host.stop() == ["again", "a"]
    assert time.monotonic() - started < 2  # not the 5 s limit: nobody waited on itself
    assert [names for names, _ in answers] == [[]]
    assert answers[0][1] < 1


def test_stop_from_a_signal_handler_while_the_same_thread_stops_returns_at_once() -> None:
    journal = Journal()
    main = threading.get_ident()
    handled: list[list[str]] = []

    class Signals:
        def unload(self, ctx: Any) -> None:  # on a call thread: interrupt the stopping thread
            signal.pthread_kill(main, signal.SIGUSR1)
            time.sleep(0.3)

    host = _host(5, a=module(journal), sig=Signals)
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: handled.append(host.stop()))
    try:
        started = time.monotonic()
        assert host.stop() == ["sig", "a"]
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert handled == [[]]
    assert time.monotonic() - started < 3


def test_a_stop_interrupted_by_ctrl_c_goes_on_at_the_next_stop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    journal = Journal()
    ctrl_c = CtrlC(monkeypatch)

    class Interrupts:
        def unload(self, ctx: Any) -> None:  # the operator's Ctrl-C while stop() waits
            journal.append("unload interrupts")
            ctrl_c.press(ctx)

    host = _host(5, a=module(journal), b=module(journal), intr=Interrupts)
    with pytest.raises(KeyboardInterrupt):
        host.stop()
    # Stopped, but what it had not unloaded yet is still running, unload() not called.
    assert host.state is HostState.STOPPED
    assert _running(host) == ["a", "b"]
    assert host.stop() == ["b", "a"]  # the next stop goes on with it
    assert journal[-2:] == ["unload b", "unload a"]
    assert host.stop() == []  # and then it is over


def test_after_an_interrupted_stop_one_claim_goes_on_with_it() -> None:
    stopping = Stopping()
    marked: list[bool] = []
    assert stopping.claim(lambda: HostState.RUNNING, lambda: marked.append(True)) is (
        HostState.RUNNING
    )
    stopping.interrupted()
    stopping.over()
    # The host is stopped; the next claim is told what is left is running, once.
    assert stopping.claim(lambda: HostState.STOPPED, lambda: marked.append(True)) is (
        HostState.RUNNING
    )
    assert stopping.claim(lambda: HostState.STOPPED, lambda: marked.append(True)) is (
        HostState.STOPPED
    )
    assert marked == [True]  # the host was marked stopped once


def _running(host: Host) -> list[str]:
    return [m.name for m in host.list_modules() if m.state == "running"]


class CtrlC:
    """A Ctrl-C reaching the thread that waits for a module call, when that call asks.

    A real SIGINT can reach Python just before the waiting thread blocks, and is
    then handled only when that wait ends (CPython runs a signal's handler
    between two bytecodes): the test would race it. So the waiting thread's wait
    (``_Run._wait_a_while``) raises ``KeyboardInterrupt`` itself, at once, once
    :meth:`press` was called, which returns when the host has stopped waiting.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.pressed = threading.Event()

        def wait(run: _Run) -> bool:  # no time limits here: the calls end by themselves
            if self.pressed.is_set():
                self.pressed.clear()
                raise KeyboardInterrupt
            return run.finished.acquire(timeout=0.01)  # awake often, to see a press soon

        monkeypatch.setattr(_Run, "_wait_a_while", wait)

    def press(self, ctx: Any) -> None:
        self.pressed.set()
        deadline = time.monotonic() + 5
        while ctx.host.get_module(ctx.name).state != "timed-out" and time.monotonic() < deadline:
            time.sleep(0.01)


def test_a_startup_whose_unwind_is_interrupted_leaves_the_rest_to_stop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    journal = Journal()
    ctrl_c = CtrlC(monkeypatch)

    class Last:  # its load(): the first Ctrl-C, and startup unloads what it started
        load_priority = 200

        def load(self, ctx: Any) -> None:
            ctrl_c.press(ctx)

    class Middle:  # its unload(): a second Ctrl-C, cutting that unwind short
        load_priority = 100

        def unload(self, ctx: Any) -> None:
            ctrl_c.press(ctx)

    host = Host(
        "test.shutdown",
        discovery=StaticDiscovery(
            "test.shutdown", {"a": module(journal, priority=10), "mid": Middle, "last": Last}
        ),
        config=ModulesConfig(autoload=True),
        module_timeout=5,
    )
    with pytest.raises(KeyboardInterrupt):
        host.start()
    assert host.state is HostState.STOPPED
    assert _running(host) == ["a"]
    assert host.stop() == ["a"]  # stop() unloads what the startup's unwind left
    assert journal[-1] == "unload a"


class _CountingEvent(threading.Event):
    """An event that records how long each wait on it may block."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.timeouts.append(timeout)
        return super().wait(timeout)


def test_waiting_for_a_request_never_blocks_longer_than_a_slice() -> None:
    # The application's SIGTERM handler (request_stop) runs between bytecodes of the
    # main thread: a wait that blocked for good would never run one that came late.
    stopping = Stopping()
    stopping.requested = _CountingEvent()
    threading.Timer(1.2, stopping.request, (False,)).start()
    assert stopping.wait_for_request(None) is False
    assert len(stopping.requested.timeouts) >= 2
    assert all(t is not None and t <= WAIT_SLICE for t in stopping.requested.timeouts)
    stopping = Stopping()
    stopping.requested = _CountingEvent()
    began = time.monotonic()
    assert stopping.wait_for_request(0.7) is None  # and a timeout is still kept
    assert 0.6 < time.monotonic() - began < 2


def test_core_stop_says_so_when_nothing_stops_the_host_on_request() -> None:
    """An application that neither waits for a request nor listens for one (a gunicorn
    worker's host, say) was told "Stopping gracefully." and went on running."""

    def make() -> Host:
        host = Host("ns", discovery=StaticDiscovery("ns", {"a": object}), config=ModulesConfig())
        host.start()
        return host

    deaf = make()
    result = deaf.run("core stop gracefully")
    assert not result.ok
    assert result.output.startswith("Nothing stops this host on request: its application")
    assert result.data == {"stopping": None}
    assert deaf.request_stop() is False
    deaf.stop()

    waits = make()
    assert waits.wait_for_stop(0) is None  # it waits now and then, between its work
    assert waits.run("core stop now").output == "Stopping now."
    assert waits.wait_for_stop(0) is False
    waits.stop()

    listens = make()
    heard: list[bool] = []
    listens.on_stop_request(heard.append)
    assert listens.request_stop() is True and heard == [True]
    listens.stop()
