"""``Host.stop()`` while a ``module load`` runs: the module never runs in a stopped host.

The stop unloads what is running; a module whose ``load()`` is still running
then is not among them. When that ``load()`` returns, the module is unloaded
again (its ``unload()`` called) and the load fails, saying why.
"""

from __future__ import annotations

import threading
from typing import Any

from modloader import Host
from modloader import LoadDeclinedError
from tests.registry.conftest import HostFactory

REASON = "the host stopped while its load() ran; it was unloaded again"


def _tracing(events: list[str], name: str, on_load: Any = None) -> type:
    class Module:
        def load(self, ctx: Any) -> None:
            events.append(f"load {name}")
            if on_load is not None:
                on_load(ctx)

        def unload(self, ctx: Any) -> None:
            events.append(f"unload {name}")

    return Module


def _assert_nothing_runs(host: Host) -> None:
    assert host.state.value == "stopped"
    assert not any(info.status == "Running" for info in host.list_modules())
    assert host.stop() == []


def _stop_while_loading(host: Host, entered: threading.Event, release: threading.Event) -> Any:
    """Start the host, ``host.load("slow")`` in a thread, stop the host once ``entered``,
    then ``release`` the module: the error the load raised."""
    host.start()
    errors: list[BaseException] = []

    def load() -> None:
        try:
            host.load("slow")
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=load)
    thread.start()
    assert entered.wait(10)
    assert host.stop() == ["a"]
    release.set()
    thread.join(10)
    (error,) = errors
    assert isinstance(error, LoadDeclinedError)
    return error


def test_a_module_whose_load_stops_the_host_is_unloaded_again(make_host: HostFactory) -> None:
    events: list[str] = []

    def stop(ctx: Any) -> None:
        events.append(f"stop() returned {ctx.host.stop()}")

    host = make_host(
        {"a": _tracing(events, "a"), "stopper": _tracing(events, "stopper", stop)},
        noload=("stopper",),
    )
    host.start()
    result = host.run("module load stopper")
    assert not result.ok
    assert result.output.splitlines()[0] == f"stopper: {REASON}"
    assert events == [
        "load a",
        "load stopper",
        "unload a",
        "stop() returned ['a']",
        "unload stopper",
    ]
    _assert_nothing_runs(host)


def test_a_stop_from_another_thread_while_a_load_runs(make_host: HostFactory) -> None:
    events: list[str] = []
    entered, release = threading.Event(), threading.Event()

    def wait(ctx: Any) -> None:
        entered.set()
        release.wait(10)

    host = make_host(
        {"a": _tracing(events, "a"), "slow": _tracing(events, "slow", wait)}, noload=("slow",)
    )
    assert _stop_while_loading(host, entered, release).reason == REASON
    assert events == ["load a", "load slow", "unload a", "unload slow"]
    _assert_nothing_runs(host)


def test_a_stop_while_a_module_is_imported_leaves_its_load_uncalled() -> None:
    from modloader import ModulesConfig
    from modloader import StaticDiscovery

    events: list[str] = []
    entered, release = threading.Event(), threading.Event()

    class Blocking(StaticDiscovery):
        def load(self, candidate: Any) -> Any:
            if candidate.name == "slow":
                entered.set()  # the module's import is running
                release.wait(10)
            return super().load(candidate)

    modules = {"a": _tracing(events, "a"), "slow": _tracing(events, "slow")}
    host = Host(
        "test.modules",
        discovery=Blocking("test.modules", modules),
        config=ModulesConfig(autoload=True, noload=("slow",)),
    )
    error = _stop_while_loading(host, entered, release)
    assert error.reason == "the host stopped before it started"
    assert events == ["load a", "unload a"]
    _assert_nothing_runs(host)
