"""The bridge to the loop: no lock held while a coroutine runs, one time limit, cancellation."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from modloader import AsyncHost
from modloader import LoadDeclinedError
from modloader import ModuleContext
from modloader import ModulesConfig
from modloader import StaticDiscovery


def make(modules: dict[str, Any], **kwargs: Any) -> AsyncHost:
    return AsyncHost(
        "test.bridge",
        discovery=StaticDiscovery("test.bridge", modules),
        config=ModulesConfig(autoload=False),
        **kwargs,
    )


def test_other_operations_go_on_while_an_async_load_runs() -> None:
    release = asyncio.Event()
    entered = asyncio.Event()

    class Slow:
        async def load(self, ctx: ModuleContext) -> None:
            entered.set()
            await release.wait()
            ctx.register_command("slow hello", lambda args: "hello")

    class Quick:
        def load(self, ctx: ModuleContext) -> None:
            ctx.register_command("quick hello", lambda args: "quick")

    async def main() -> tuple[list[str], str]:
        host = make({"slow": Slow, "quick": Quick})
        await host.start()
        slow = asyncio.create_task(host.load("slow"))
        await entered.wait()
        # slow's load() is awaited on this loop; the registry is not locked meanwhile.
        await asyncio.wait_for(host.load("quick"), 30)
        shown = [m.name for m in host.list_modules() if m.status == "Running"]
        release.set()
        await slow
        reply = (await host.run("slow hello")).output
        await host.stop()
        return shown, reply

    shown, reply = asyncio.run(main())
    assert shown == ["quick"]
    assert reply.strip() == "hello"


def test_time_limit_is_the_host_module_timeout() -> None:
    assert make({}).time_limit == make({}).host.module_timeout == 30.0
    assert make({}, time_limit=0.5).host.module_timeout == 0.5
    assert make({}, module_timeout=0.25).time_limit == 0.25
    assert make({}, time_limit=None).host.module_timeout is None
    assert make({}, time_limit=2, module_timeout=2).time_limit == 2


def test_time_limit_and_a_different_module_timeout_are_refused() -> None:
    with pytest.raises(TypeError, match="'time_limit' and 'module_timeout' are the same limit"):
        make({}, time_limit=1, module_timeout=2)


def test_a_changed_module_timeout_cancels_the_next_async_hook() -> None:
    ended = threading.Event()

    class Waits:
        async def load(self, ctx: ModuleContext) -> None:
            try:
                await asyncio.Event().wait()  # never set
            finally:
                ended.set()

    async def main() -> str:
        host = make({"hangs": Waits})
        await host.start()
        host.host.module_timeout = 0.2
        with pytest.raises(LoadDeclinedError) as caught:
            await host.load("hangs")
        state = host.get_module("hangs").state
        await host.stop()
        return f"{caught.value.reason} / {state}"

    said = asyncio.run(main())
    assert ended.is_set()
    # Cancelled at the limit: a decline with the cancellation, not a time-out.
    assert "HookTimeoutError: load() of module 'hangs' did not finish within 0.2 s" in said
    assert said.endswith("/ declined")
