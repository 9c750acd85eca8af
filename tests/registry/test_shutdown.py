"""Unwinding: every running module unloaded, newest first, whatever the modules do."""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

import pytest

from modloader import Host
from modloader import ModulesConfig
from modloader import ModuleTimeoutError
from modloader import StaticDiscovery
from modloader._registry.shutdown import unwind
from tests.registry.test_startup import Journal
from tests.registry.test_startup import module


def _host(timeout: float, **modules: Any) -> Host:
    host = Host(
        "test.shutdown",
        discovery=StaticDiscovery("test.shutdown", dict(modules)),
        config=ModulesConfig(autoload=True),
        module_timeout=timeout,
    )
    host.start()
    return host


def test_unwind_unloads_newest_first_on_one_call_thread() -> None:
    journal = Journal()
    threads: set[int] = set()

    class Traced:
        def unload(self, ctx: Any) -> None:
            threads.add(threading.get_ident())
            journal.append(f"unload {ctx.name}")

    host = _host(30, a=module(journal), b=module(journal, requires=("a",)), c=Traced)
    assert unwind(host._lifecycle) == ["c", "b", "a"]
    assert journal[-3:] == ["unload c", "unload b", "unload a"]
    assert threads and threading.get_ident() not in threads
    assert host._lifecycle.modules.running_in_start_order() == []


def test_unwind_without_unload_calls_only_removes(caplog: pytest.LogCaptureFixture) -> None:
    journal = Journal()
    host = _host(30, a=module(journal), b=module(journal))
    assert unwind(host._lifecycle, call_unload=False) == ["b", "a"]
    assert not [line for line in journal if line.startswith("unload")]


def test_a_module_busy_past_the_limit_is_named_and_left(caplog: pytest.LogCaptureFixture) -> None:
    journal = Journal()
    gate = threading.Event()

    class Slow:
        def reload(self, ctx: Any) -> None:
            gate.wait(30)

    host = _host(0.3, a=module(journal), slow=Slow)
    errors: list[BaseException] = []

    def reload() -> None:
        try:
            host.reload("slow")
        except ModuleTimeoutError as exc:  # past the limit: the reload goes on meanwhile
            errors.append(exc)

    reloading = threading.Thread(target=reload)
    reloading.start()
    deadline = time.monotonic() + 10
    while not host._lifecycle.modules.get("slow").busy and time.monotonic() < deadline:
        time.sleep(0.01)
    with caplog.at_level(logging.WARNING, logger="modloader"):
        names = unwind(host._lifecycle)
    assert names == ["a"]
    assert "slow: not unloaded at shutdown: gave up waiting for its reload() after 0.3 s" in (
        caplog.text
    )
    gate.set()
    reloading.join(10)
    assert [type(e) for e in errors] == [ModuleTimeoutError]


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
