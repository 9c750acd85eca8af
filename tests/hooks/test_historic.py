"""Historic calls replayed to a module as it joins: its own code, under the time limit.

pluggy replays them from its registration, which runs under the loader's lock;
the host notes them there and makes them afterwards as module calls, so that
whatever a module's implementation does (raise anything, hang, call back into
the host) it does in its own thread, and the host goes on.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from modloader import Host
from modloader import ModuleBusyError
from tests.hooks.conftest import HookSite
from tests.hooks.conftest import obj

HostFactory = Callable[..., Host]

#: Raises what it is told to for the first app it hears of, and records the others.
RAISER = """
class Module:
    def __init__(self):
        self.apps = []

    @hookimpl
    def app_ready(self, app):
        if not self.apps and app.startswith("raise "):
            self.apps.append("raised")
            raise eval(app.removeprefix("raise "))
        self.apps.append(app)

    @hookimpl
    def filter_note(self, text):
        return text + "|" + NAME
"""

#: Waits for the test to open the gate, then says what it was told.
WAITER = """
import threading

GATE = threading.Event()


class Module:
    def __init__(self):
        self.apps = []

    @hookimpl
    def app_ready(self, app):
        GATE.wait(30)
        self.apps.append(app)
        return "ready " + NAME
"""


def gate(name: str) -> Any:
    return importlib.import_module(f"hookmod_{name}.module").GATE


@pytest.mark.parametrize(
    "raised", ["KeyboardInterrupt()", "SystemExit(3)", "GeneratorExit()", "RuntimeError('no')"]
)
def test_a_replay_that_raises_anything_is_logged_and_the_next_is_made(
    hook_site: HookSite, app_host: HostFactory, caplog: pytest.LogCaptureFixture, raised: str
) -> None:
    host = app_host()
    host.hook.app_ready.call_historic(kwargs={"app": f"raise {raised}"})
    host.hook.app_ready.call_historic(kwargs={"app": "notes"})
    hook_site.add("res_raiser", RAISER)

    result = host.run("module load res_raiser")  # a command's failure is a result: none here

    assert result.ok, result.output
    assert obj(host, "res_raiser").apps == ["raised", "notes"]
    assert "res_raiser: replaying historic hook 'app_ready' raised" in caplog.text
    assert host.is_running("res_raiser")
    assert host.hook.filter_note(text="n") == ["n|res_raiser"]


def test_a_replay_that_hangs_is_given_up_at_the_time_limit_and_the_host_goes_on(
    hook_site: HookSite, app_host: HostFactory, caplog: pytest.LogCaptureFixture
) -> None:
    host = app_host()
    host.module_timeout = 0.3
    host.hook.app_ready.call_historic(kwargs={"app": "notes"})
    hook_site.add("res_slow", WAITER)

    began = time.monotonic()
    assert host.run("module load res_slow").output == "Loaded res_slow"
    assert time.monotonic() - began < 5
    assert "res_slow: app_ready() did not return within 0.3 s" in caplog.text

    # The host answers; the module runs, busy until its implementation returns.
    assert host.get_module("res_slow").running
    assert "res_slow" in host.run("module show").output
    with pytest.raises(ModuleBusyError, match=r"its app_ready\(\) has not returned yet"):
        host.unload("res_slow")

    gate("res_slow").set()
    deadline = time.monotonic() + 10
    while "res_slow: app_ready() returned" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "res_slow: app_ready() returned" in caplog.text
    assert obj(host, "res_slow").apps == ["notes"]
    assert host.run("module unload res_slow").ok


def test_a_replay_at_startup_is_bounded_too(
    hook_site: HookSite, app_host: HostFactory, caplog: pytest.LogCaptureFixture
) -> None:
    hook_site.add("res_slow", WAITER)
    hook_site.add("res_next")
    host = app_host(start=False)
    host.module_timeout = 0.3

    began = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="modloader"):
        host.start(core_init=lambda h: h.hook.app_ready.call_historic(kwargs={"app": "notes"}))
    assert time.monotonic() - began < 5
    gate("res_slow").set()

    assert host.is_running("res_slow") and host.is_running("res_next")
    assert obj(host, "res_next").apps == ["notes"]
    assert "res_slow: app_ready() did not return within 0.3 s" in caplog.text


def test_replayed_results_reach_the_result_callback(
    hook_site: HookSite, app_host: HostFactory
) -> None:
    host = app_host()
    results: list[Any] = []
    host.hook.app_ready.call_historic(result_callback=results.append, kwargs={"app": "a"})
    host.hook.app_ready.call_historic(result_callback=results.append, kwargs={"app": "b"})
    hook_site.add("res_slow", WAITER)
    gate("res_slow").set()

    assert host.run("module load res_slow").ok
    assert results == ["ready res_slow", "ready res_slow"]
    assert obj(host, "res_slow").apps == ["a", "b"]


def test_a_replay_may_call_back_into_the_host(hook_site: HookSite, app_host: HostFactory) -> None:
    # The replay runs with the loader's lock released, as load() does: a module that
    # registers a command in answer (which takes the lock) does not wait for itself.
    host = app_host()
    host.module_timeout = 5
    host.hook.app_ready.call_historic(kwargs={"app": "notes"})
    hook_site.add(
        "res_eager",
        """
        class Module:
            def load(self, ctx):
                self.ctx = ctx

            @hookimpl
            def app_ready(self, app):
                self.ctx.register_command("eager hello", lambda args: "hello " + app)
        """,
    )
    began = time.monotonic()
    assert host.run("module load res_eager").ok
    assert time.monotonic() - began < 4  # not the 5 s limit: it did not wait for itself
    assert host.run("eager hello").output == "hello notes"


def test_a_result_callback_that_raises_is_the_callers_and_the_next_replay_is_made(
    hook_site: HookSite, app_host: HostFactory, caplog: pytest.LogCaptureFixture
) -> None:
    host = app_host()
    results: list[Any] = []

    def fussy(result: Any) -> None:
        results.append(result)
        if len(results) == 1:
            raise SystemExit("the app's callback")

    host.hook.app_ready.call_historic(result_callback=fussy, kwargs={"app": "a"})
    host.hook.app_ready.call_historic(result_callback=fussy, kwargs={"app": "b"})
    hook_site.add("res_slow", WAITER)
    gate("res_slow").set()

    assert host.run("module load res_slow").ok
    assert results == ["ready res_slow", "ready res_slow"]
    assert obj(host, "res_slow").apps == ["a", "b"]
    assert (
        "the result callback of historic hook 'app_ready' raised on res_slow's result"
        in caplog.text
    )
    assert "res_slow: replaying historic hook" not in caplog.text
