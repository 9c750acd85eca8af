"""``Host.request_stop()`` during ``Host.start()``: nothing more starts, what started unwinds.

What a SIGTERM during startup does in the ``modloader`` command; here the stop
is asked for by a module's own ``load()`` (or the core init), in process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from modloader import Host
from modloader import StartupError
from tests.registry.conftest import HostFactory


def _request(host: Host) -> None:
    host.request_stop()


def _modules(
    events: list[str], stopper: str, stop: Callable[[Host], object] = _request
) -> dict[str, Any]:
    """Modules a, b and c that trace their calls; ``stopper``'s load() calls ``stop(host)``."""

    def module(name: str) -> type:
        class Module:
            def load(self, ctx: Any) -> None:
                events.append(f"load {name}")
                if name == stopper:
                    stop(ctx.host)

            def unload(self, ctx: Any) -> None:
                events.append(f"unload {name}")

        return Module

    return {name: module(name) for name in ("a", "b", "c")}


def test_a_stop_requested_during_the_load_phase(make_host: HostFactory) -> None:
    events: list[str] = []
    host = make_host(_modules(events, "b"))
    with pytest.raises(StartupError, match="Startup stopped before c: a stop was requested"):
        host.start()
    assert events == ["load a", "load b", "unload b", "unload a"]
    assert host.state.value == "stopped"
    assert host.wait_for_stop(0) is True
    assert host.stop() == []  # already unwound


def test_a_stop_requested_during_the_preload_phase(make_host: HostFactory) -> None:
    events: list[str] = []
    host = make_host(_modules(events, "c"), load=("^c",))
    with pytest.raises(StartupError, match="before the core init"):
        host.start(core_init=lambda h: events.append("core init"))
    assert events == ["load c", "unload c"]


def test_a_stop_requested_by_the_core_init(make_host: HostFactory) -> None:
    events: list[str] = []
    host = make_host(_modules(events, "-"), load=("^b",))

    def core_init(h: Host) -> None:
        events.append("core init")
        h.request_stop()

    with pytest.raises(StartupError, match="before the load phase"):
        host.start(core_init=core_init)
    assert events == ["load b", "core init", "unload b"]


def test_without_a_stop_startup_is_unchanged(make_host: HostFactory) -> None:
    events: list[str] = []
    host = make_host(_modules(events, "-"))
    host.start()
    assert events == ["load a", "load b", "load c"]
    assert host.wait_for_stop(0) is None
    host.stop()
    assert events[3:] == ["unload c", "unload b", "unload a"]


def test_a_stop_requested_before_start_starts_nothing(make_host: HostFactory) -> None:
    """A signal that reached the command before ``start()`` ran."""
    events: list[str] = []
    host = make_host(_modules(events, "-"))
    host.request_stop()
    with pytest.raises(StartupError, match="Startup stopped before the load phase"):
        host.start()
    assert events == []


def test_a_stop_requested_by_the_last_module_still_stops_startup(make_host: HostFactory) -> None:
    events: list[str] = []
    host = make_host(_modules(events, "c"))
    with pytest.raises(StartupError, match="Startup stopped before the host ran"):
        host.start()
    assert events == ["load a", "load b", "load c", "unload c", "unload b", "unload a"]
    assert host.state.value == "stopped"


@pytest.mark.parametrize("stopper", ["b", "c"])
def test_stop_called_during_startup_stops_the_startup(make_host: HostFactory, stopper: str) -> None:
    # It used to unload the running modules under startup's feet, and start() then
    # went on and set the stopped host running again.
    events: list[str] = []

    def stop(host: Host) -> None:
        events.append(f"stop() returned {host.stop()}")

    host = make_host(_modules(events, stopper, stop))
    with pytest.raises(StartupError, match="a stop was requested"):
        host.start()
    started = ["a", "b", "c"][: "abc".index(stopper) + 1]
    assert events == [
        *[f"load {n}" for n in started],
        "stop() returned []",
        *[f"unload {n}" for n in reversed(started)],
    ]
    assert host.state.value == "stopped"
    assert not any(host.is_running(name) for name in "abc")
    assert host.stop() == []


def test_stop_from_another_thread_during_startup(make_host: HostFactory) -> None:
    import threading

    events: list[str] = []
    entered, release = threading.Event(), threading.Event()

    class Slow:
        def load(self, ctx: Any) -> None:
            events.append("load slow")
            entered.set()
            release.wait(10)

        def unload(self, ctx: Any) -> None:
            events.append("unload slow")

    class After:
        def load(self, ctx: Any) -> None:
            events.append("load zz")

    host = make_host({"slow": Slow, "zz": After})
    outcome: list[BaseException] = []

    def start() -> None:
        try:
            host.start()
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=start)
    thread.start()
    assert entered.wait(10)
    threading.Timer(0.3, release.set).start()
    # The startup stops itself; stop() returns once it is over, what it started unloaded.
    assert host.stop() == []
    assert events == ["load slow", "unload slow"]
    assert host.state.value == "stopped"
    assert release.is_set()
    thread.join(10)
    assert isinstance(outcome[0], StartupError)
