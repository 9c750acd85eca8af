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


@pytest.mark.parametrize("raised", [SystemExit(3), KeyboardInterrupt()])
@pytest.mark.parametrize("hook", ["load", "unload"])
def test_an_async_hook_raising_systemexit_does_not_end_the_event_loop(
    raised: BaseException, hook: str
) -> None:
    # Raised out of a task, SystemExit and KeyboardInterrupt are raised again by
    # asyncio out of the loop: the application's asyncio.run() would end with it.
    class Raises:
        async def load(self, ctx: ModuleContext) -> None:
            if hook == "load":
                raise raised

        async def unload(self, ctx: ModuleContext) -> None:
            raise raised

    class Fine:
        async def load(self, ctx: ModuleContext) -> None:
            await asyncio.sleep(0)

    async def main() -> tuple[str, str, list[str], str]:
        host = AsyncHost(
            "test.bridge",
            discovery=StaticDiscovery("test.bridge", {"raises": Raises, "fine": Fine}),
            config=ModulesConfig(),
        )
        await host.start()
        unloaded = ""
        if hook == "unload":
            unloaded = (await host.run("module unload raises")).output
        info = host.get_module("raises")
        await asyncio.sleep(0.05)  # the loop goes on
        return info.state, info.last_error or "", await host.stop(), unloaded

    state, error, stopped, unloaded = asyncio.run(main())
    name = type(raised).__name__
    if hook == "load":
        assert (state, error) == ("declined", "SystemExit: 3" if name == "SystemExit" else name)
        assert stopped == ["fine"]
    else:  # an unload() that raises refuses; at stop, it is removed all the same
        assert state == "running"
        assert "Unable to unload resource raises" in unloaded
        assert sorted(stopped) == ["fine", "raises"]
