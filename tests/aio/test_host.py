"""AsyncHost itself: where hooks run, the loop never waits, time limits cancel, bad input."""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from typing import Any
from typing import ClassVar

import pytest

from modloader import AsyncHost
from modloader import Host
from modloader import HostState
from modloader import HostStateError
from modloader import LoadDeclinedError
from modloader import ModuleContext
from modloader import ModulesConfig
from modloader import ReloadError
from modloader import StartupError
from modloader import StaticDiscovery
from modloader import UnloadMode
from modloader import UnloadRefusedError
from modloader import hookimpl
from modloader import hookspec


def make(modules: dict[str, Any], **kwargs: Any) -> AsyncHost:
    return AsyncHost(
        "test.aio",
        discovery=StaticDiscovery("test.aio", modules),
        config=kwargs.pop("config", ModulesConfig()),
        **kwargs,
    )


class Where:
    """Records the thread and loop each hook ran in."""

    seen: ClassVar[dict[str, tuple[int, asyncio.AbstractEventLoop | None]]] = {}

    @staticmethod
    def note(what: str) -> None:
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        Where.seen[what] = (threading.get_ident(), loop)


class AsyncMod:
    async def load(self, ctx: ModuleContext) -> None:
        await asyncio.sleep(0.01)
        Where.note("async load")
        # Calls back into the registry from the loop (no lock is held while it runs).
        ctx.register_command("aio hello", lambda args: "hello from the loop")

    async def unload(self, ctx: ModuleContext) -> None:
        Where.note("async unload")

    async def reload(self, ctx: ModuleContext) -> None:
        Where.note("async reload")


class PlainMod:
    def load(self, ctx: ModuleContext) -> None:
        Where.note("plain load")


def test_async_hooks_run_on_the_loop_and_plain_ones_off_it() -> None:
    Where.seen.clear()

    async def main() -> tuple[int, asyncio.AbstractEventLoop]:
        host = make({"aio": AsyncMod, "plain": PlainMod})
        await host.start()
        assert (await host.run("aio hello")).output == "hello from the loop"
        await host.reload("aio")
        await host.unload("aio")
        assert not (await host.run("aio hello")).ok  # its command went with it
        await host.stop()
        return threading.get_ident(), asyncio.get_running_loop()

    here = asyncio.run(main())
    for hook in ("async load", "async reload", "async unload"):
        assert Where.seen[hook] == here, hook
    thread, loop = Where.seen["plain load"]
    assert (thread, loop) != here and thread != here[0] and loop is None


def test_a_slow_plain_module_never_blocks_the_loop() -> None:
    class Sleepy:
        def load(self, ctx: ModuleContext) -> None:
            time.sleep(0.5)

    async def main() -> tuple[int, list[str]]:
        host = make({"sleepy": Sleepy, "aio": AsyncMod})
        ticks = 0
        seen: list[str] = []

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1
                # Reads answer while the operation holds the registry.
                seen.extend(m.name for m in host.list_modules())

        task = asyncio.create_task(ticker())
        await host.start()
        task.cancel()
        await host.stop()
        return ticks, seen

    ticks, seen = asyncio.run(main())
    assert ticks >= 5  # 50 on an idle machine; the loop went on while load() slept
    assert "aio" in seen


def test_stop_after_a_cancelled_start_returns_once_the_startup_is_over() -> None:
    """A Ctrl-C under asyncio.run cancels the awaited start(); the startup goes on in
    its thread, stops itself, and stop() returns once what it started is unloaded."""
    events: list[str] = []

    class First:
        def unload(self, ctx: ModuleContext) -> None:
            events.append("unload a")

    class Slow:
        def load(self, ctx: ModuleContext) -> None:
            time.sleep(0.3)
            events.append("load slow done")

        def unload(self, ctx: ModuleContext) -> None:
            events.append("unload slow")

    async def main() -> list[str]:
        host = make({"a": First, "slow": Slow})
        starting = asyncio.create_task(host.start())
        await asyncio.sleep(0.1)
        starting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await starting
        returned = await host.stop()
        events.append(f"stop() returned {returned}")
        assert host.state is HostState.STOPPED
        return events

    assert asyncio.run(main()) == [
        "load slow done",
        "unload slow",
        "unload a",
        "stop() returned []",
    ]


def test_the_time_limit_cancels_an_async_load() -> None:
    cancelled = threading.Event()

    class Hangs:
        async def load(self, ctx: ModuleContext) -> None:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                cancelled.set()
                raise

    async def main() -> AsyncHost:
        host = make({"hangs": Hangs}, time_limit=0.2)
        started = time.monotonic()
        await host.start()
        assert time.monotonic() - started < 30
        with pytest.raises(LoadDeclinedError) as caught:
            await host.load("hangs")
        assert "did not finish within 0.2 s and was cancelled" in str(caught.value.reason)
        await host.stop()
        return host

    host = asyncio.run(main())
    assert cancelled.is_set()
    assert host.time_limit == 0.2


def test_the_time_limit_refuses_a_hung_async_unload_and_fails_a_reload() -> None:
    class Stuck:
        async def unload(self, ctx: ModuleContext) -> None:
            await asyncio.sleep(60)

        async def reload(self, ctx: ModuleContext) -> None:
            await asyncio.sleep(60)

    async def main() -> None:
        host = make({"stuck": Stuck}, time_limit=0.1)
        await host.start()
        with pytest.raises(ReloadError) as reload_error:
            await host.reload("stuck")
        assert reload_error.value.reason == "failed"
        with pytest.raises(UnloadRefusedError) as caught:
            await host.unload("stuck")
        assert "unload() of module 'stuck' did not finish within 0.1 s" in caught.value.reason
        outcome = await host.unload("stuck", UnloadMode.HARD)
        assert outcome.removed_despite_refusal is not None
        await host.stop()

    asyncio.run(main())


def test_a_module_timeout_error_is_its_own() -> None:
    class Raises:
        async def load(self, ctx: ModuleContext) -> None:
            raise TimeoutError("the database did not answer")

    async def main() -> str | None:
        host = make({"raises": Raises})
        await host.start()
        return host.get_module("raises").last_error

    assert asyncio.run(main()) == "TimeoutError: the database did not answer"


def test_an_async_module_under_a_plain_host_declines_naming_asynchost() -> None:
    host = Host("test.aio", discovery=StaticDiscovery("test.aio", {"aio": AsyncMod}))
    host.start()
    info = host.get_module("aio")
    assert info.status == "Not Running"
    assert info.last_error == (
        "TypeError: load() of module 'aio' is a coroutine function; "
        "async modules need modloader.AsyncHost"
    )
    host.stop()


def test_core_init_may_be_a_coroutine_and_runs_between_the_phases() -> None:
    order: list[str] = []

    class Early:
        load_priority = 200

        async def load(self, ctx: ModuleContext) -> None:
            order.append("early")

    class Late:
        def load(self, ctx: ModuleContext) -> None:
            order.append("late")

    async def core_init(host: AsyncHost) -> None:
        await asyncio.sleep(0.01)
        assert host.get_module("early").status == "Running"
        order.append("core")

    async def main() -> None:
        from modloader import ModuleEntry

        config = ModulesConfig(entries=(ModuleEntry("early", preload=True),))
        async with make({"early": Early, "late": Late}, config=config) as host:
            assert host.state.value == "running"
        assert host.state.value == "stopped"

        second = make({"early": Early, "late": Late}, config=config)
        await second.start(core_init)
        await second.stop()

    asyncio.run(main())
    assert order == ["early", "late", "early", "core", "late"]


def test_a_required_failure_raises_startup_error() -> None:
    class Fails:
        async def load(self, ctx: ModuleContext) -> None:
            raise RuntimeError("no")

    async def main() -> None:
        from modloader import ModuleEntry

        config = ModulesConfig(entries=(ModuleEntry("fails", required=True),))
        host = make({"fails": Fails}, config=config)
        with pytest.raises(StartupError) as caught:
            await host.start()
        assert caught.value.exit_code == 2
        assert host.state.value == "stopped"

    asyncio.run(main())


def test_use_works_with_and_async_with() -> None:
    async def main() -> None:
        host = make({"plain": PlainMod})
        await host.start()
        async with host.use("plain", "web") as handle:
            assert host.get_module("plain").holders == ("web",)
            assert handle.obj is host.use("plain").obj
        assert host.get_module("plain").use_count == 1  # the plain use() above, unreleased
        await host.stop()
        with pytest.raises(HostStateError):
            host.use("plain")

    asyncio.run(main())


def test_wait_for_stop_wakes_on_a_request_from_another_thread() -> None:
    async def main() -> bool:
        host = make({"plain": PlainMod})
        await host.start()
        threading.Timer(0.05, host.request_stop, kwargs={"graceful": False}).start()
        graceful = await asyncio.wait_for(host.wait_for_stop(), 30)
        assert await host.stop(graceful=graceful) == []
        return graceful

    assert asyncio.run(main()) is False


def test_a_blocking_call_on_the_loop_that_reaches_an_async_hook_is_refused() -> None:
    async def main() -> str | None:
        host = make({"aio": AsyncMod}, config=ModulesConfig(autoload=False))
        await host.start()
        with pytest.raises(LoadDeclinedError):
            host.host.load("aio")  # the Host underneath, called on the loop's thread
        return host.get_module("aio").last_error

    error = asyncio.run(main())
    assert error is not None and "await the AsyncHost's method instead" in error


@pytest.mark.parametrize(
    ("limit", "error", "message"),
    [
        (0, ValueError, "must be more than 0 seconds, not 0"),
        (-1, ValueError, "must be more than 0 seconds, not -1"),
        (float("nan"), ValueError, "must be more than 0 seconds, not nan"),
        ("5", TypeError, "must be seconds \\(a number\\) or None, not '5'"),
        (True, TypeError, "must be seconds \\(a number\\) or None, not True"),
    ],
)
def test_a_bad_time_limit_is_refused_as_host_refuses_a_module_timeout(
    limit: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=rf"^AsyncHost\(\): 'time_limit' {message}$"):
        make({}, time_limit=limit)
    with pytest.raises(error, match=rf"^AsyncHost\(\): 'module_timeout' {message}$"):
        make({}, module_timeout=limit)
    with pytest.raises(error, match=rf"^Host\(\): 'module_timeout' {message}$"):
        Host("x", module_timeout=limit)  # type: ignore[arg-type]


def test_the_two_names_of_the_time_limit() -> None:
    assert AsyncHost("x").time_limit == Host("x").module_timeout == 30
    assert AsyncHost("x", time_limit=None).time_limit is None
    assert AsyncHost("x", module_timeout=5).time_limit == 5
    assert AsyncHost("x", time_limit=5, module_timeout=5).time_limit == 5
    with pytest.raises(TypeError, match="are the same limit; give one of them"):
        AsyncHost("x", time_limit=5, module_timeout=6)


def test_bad_host_arguments_name_the_async_host() -> None:
    with pytest.raises(TypeError, match=r"^AsyncHost\(\): 'namespace'"):
        AsyncHost(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^AsyncHost\(\): 'settings' must be a mapping"):
        AsyncHost("x", settings=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^AsyncHost\(\): 'config' is the whole configuration"):
        AsyncHost("x", config=ModulesConfig(), config_path="modules.conf")
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'hookspec'"):
        AsyncHost("x", hookspec=[])  # type: ignore[call-arg]


def test_the_async_host_takes_every_argument_of_the_host() -> None:
    host = inspect.signature(Host).parameters
    aio = dict(inspect.signature(AsyncHost).parameters)
    assert aio.pop("time_limit").kind is inspect.Parameter.KEYWORD_ONLY
    assert list(aio) == list(host)
    for name, param in host.items():
        assert (aio[name].kind, aio[name].annotation) == (param.kind, param.annotation), name
        if name != "module_timeout":  # unset: time_limit's, else the default limit
            assert aio[name].default == param.default, name
    with pytest.raises(TypeError, match="core_init"):
        asyncio.run(make({}).start(core_init=42))  # type: ignore[arg-type]


def test_operations_need_a_started_host() -> None:
    async def main() -> None:
        host = make({"plain": PlainMod})
        with pytest.raises(HostStateError):
            await host.load("plain")
        with pytest.raises(HostStateError):
            await host.serve()
        assert repr(host) == "<AsyncHost 'test.aio' created>"

    asyncio.run(main())


def pinging_module(index: int) -> type:
    """An async module whose load adds the command ``m<index> ping``."""

    class Mod:
        async def load(self, ctx: ModuleContext) -> None:
            await asyncio.sleep(0.001)
            ctx.register_command(f"m{index} ping", lambda args: "pong")

        async def unload(self, ctx: ModuleContext) -> None:
            await asyncio.sleep(0.001)

    return Mod


def operator(host: Host, done: threading.Event) -> None:
    """A control-socket-like caller in a thread of its own, until ``done``."""
    while not done.is_set():
        assert host.run("module show").ok
        host.run("module reload m0")
        time.sleep(0.001)


async def cycle(host: AsyncHost, name: str) -> None:
    for _ in range(15):
        async with host.use(name, "web"):
            pass
        await host.unload(name)
        assert not (await host.run(f"{name} ping")).ok
        await host.load(name)
        assert (await host.run(f"{name} ping")).output == "pong"


def test_concurrent_operations_on_async_modules_stay_consistent() -> None:
    """Operations from many tasks and a thread at once: one at a time, none lost, no deadlock."""
    names = [f"m{i}" for i in range(6)]

    async def main() -> AsyncHost:
        host = make({name: pinging_module(i) for i, name in enumerate(names)})
        await host.start()
        done = threading.Event()
        thread = threading.Thread(target=operator, args=(host.host, done))
        thread.start()

        async def reader() -> None:
            while not done.is_set():
                assert {m.name for m in host.list_modules()} <= set(names)
                await asyncio.sleep(0)

        reading = asyncio.create_task(reader())
        try:
            await asyncio.wait_for(asyncio.gather(*(cycle(host, n) for n in names)), 120)
        finally:
            done.set()
            thread.join(30)
            await reading
        return host

    host = asyncio.run(main())
    assert [(m.name, m.status, m.use_count) for m in host.list_modules()] == [
        (name, "Running", 0) for name in names
    ]


def test_a_host_starts_once() -> None:
    async def main() -> None:
        host = make({"plain": PlainMod})
        await host.start()
        with pytest.raises(HostStateError, match="cannot start a host that is running"):
            await host.start()
        await host.stop()
        with pytest.raises(HostStateError, match="stopped"):
            await host.start()

    asyncio.run(main())


def test_other_host_arguments_go_to_the_host() -> None:
    with pytest.raises(TypeError, match="no_such_option"):
        AsyncHost("test.aio", no_such_option=1)  # type: ignore[call-arg]
    host = AsyncHost("test.aio", env_prefix="APP_", settings={"autoload": False})
    assert (host.host.env_prefix, host.host.settings) == ("APP_", {"autoload": False})


def test_module_settings_and_hooks_are_read_off_the_loop() -> None:
    from modloader import ModuleSettings
    from modloader import NoSuchModuleError
    from modloader import SettingValue

    class Settings(ModuleSettings):
        level: int = 1

    class WithSettings:
        settings_model = Settings

        def load(self, ctx: ModuleContext[Settings]) -> None:
            pass

    async def main() -> None:
        host = make({"res_set": WithSettings}, module_settings={"res_set": {"level": 2}})
        await host.start()
        info = await host.module_settings("res_set")
        assert info.values == (SettingValue("level", 2, "code"),)
        with pytest.raises(NoSuchModuleError):
            await host.module_settings("res_none")
        assert await host.list_hooks() == []  # no hookspecs
        await host.stop()

    asyncio.run(main())


class GreetSpec:
    @hookspec
    def greet(self, name: str) -> str:  # type: ignore[empty-body]
        """Each running module's greeting."""


class Greeter:
    @hookimpl
    def greet(self, name: str) -> str:
        Where.note("greet")
        return f"hello {name}"


def test_the_hooks_are_the_hosts_and_called_in_the_callers_thread() -> None:
    Where.seen.clear()

    async def main() -> tuple[list[str], bool]:
        async with make({"res_greet": Greeter}, hookspecs=[GreetSpec]) as host:
            assert host.hook is host.host.hook
            return host.hook.greet(name="Ann"), Where.seen["greet"][1] is asyncio.get_running_loop()

    assert asyncio.run(main()) == (["hello Ann"], True)
    with pytest.raises(AttributeError, match="declares no hooks: pass hookspecs"):
        make({}).hook  # noqa: B018
