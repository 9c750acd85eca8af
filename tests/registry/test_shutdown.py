"""Unwinding: every running module unloaded, newest first, whatever the modules do."""

from __future__ import annotations

import logging
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
