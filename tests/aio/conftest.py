"""Hosts for the acceptance tests: one rule set, run against Host and AsyncHost.

``host_kind`` is ``sync`` (a :class:`~modloader.Host` with plain modules),
``async-plain`` (an :class:`~modloader.AsyncHost` with plain modules, run off
its loop) or ``async`` (an ``AsyncHost`` whose modules' hooks are all ``async
def``, awaited on its loop). The tests drive every kind through one blocking
interface: :class:`Driven` runs the ``AsyncHost``'s coroutines on a real
event loop in a thread of its own.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from collections.abc import Coroutine
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any

import pytest

from modloader import AsyncHost
from modloader import Host
from modloader import ModuleEntry
from modloader import ModuleInfo
from modloader import ModulesConfig
from modloader import StaticDiscovery
from modloader import UnloadMode

KINDS = ["sync", "async-plain", "async"]


class Journal(list[str]):
    """What the modules did, in order (and, for async hooks, on which loop)."""

    loops: set[int]

    def __init__(self) -> None:
        super().__init__()
        self.loops = set()


class LoopThread:
    """A real event loop, running in a thread of its own until :meth:`close`."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class Driven:
    """An AsyncHost behind Host's blocking methods (its coroutines run on ``runner``)."""

    def __init__(self, host: AsyncHost, runner: LoopThread) -> None:
        self.aio = host
        self.runner = runner

    def start(self, core_init: Callable[[Any], Any] | None = None) -> Any:
        return self.runner.call(self.aio.start(core_init))

    def stop(self, graceful: bool = True) -> list[str]:
        result: list[str] = self.runner.call(self.aio.stop(graceful))
        return result

    def load(self, name: str) -> Any:
        return self.runner.call(self.aio.load(name))

    def unload(self, name: str, mode: UnloadMode = UnloadMode.SOFT) -> Any:
        return self.runner.call(self.aio.unload(name, mode))

    def reload(self, name: str | None = None) -> Any:
        return self.runner.call(self.aio.reload(name))

    def refresh(self, name: str, recursive: bool = False) -> Any:
        return self.runner.call(self.aio.refresh(name, recursive))

    def run(self, line: str) -> Any:
        return self.runner.call(self.aio.run(line))

    def use(self, name: str, holder: str = "host") -> Any:
        return self.aio.use(name, holder)

    def get_module(self, name: str) -> ModuleInfo:
        return self.aio.get_module(name)

    def list_modules(self) -> list[ModuleInfo]:
        return self.aio.list_modules()


def module(
    journal: Journal,
    kind: str,
    *,
    requires: tuple[str, ...] = (),
    priority: int | None = None,
    result: Any = None,
    raises: BaseException | None = None,
    refuse_unload: bool = False,
    reload_result: Any = None,
    reloadable: bool = True,
) -> type:
    """A module class whose hooks write to ``journal``; ``async def`` ones for kind ``async``."""

    def loaded(ctx: Any) -> Any:
        journal.append(f"load {ctx.name}")
        if raises is not None:
            raise raises
        return result

    def unloaded(ctx: Any) -> Any:
        journal.append(f"unload {ctx.name}")
        return False if refuse_unload else None

    def reloaded(ctx: Any) -> Any:
        journal.append(f"reload {ctx.name}")
        return reload_result

    if kind == "async":

        async def on_loop(hook: Callable[[Any], Any], ctx: Any) -> Any:
            await asyncio.sleep(0)
            journal.loops.add(id(asyncio.get_running_loop()))
            return hook(ctx)

        attrs: dict[str, Any] = {
            "load": lambda self, ctx: on_loop(loaded, ctx),
            "unload": lambda self, ctx: on_loop(unloaded, ctx),
            "reload": lambda self, ctx: on_loop(reloaded, ctx),
        }
    else:
        attrs = {
            "load": lambda self, ctx: loaded(ctx),
            "unload": lambda self, ctx: unloaded(ctx),
            "reload": lambda self, ctx: reloaded(ctx),
        }
    if not reloadable:
        del attrs["reload"]
    attrs["requires"] = requires
    if priority is not None:
        attrs["load_priority"] = priority
    return type("M", (), attrs)


def entries(*specs: str) -> tuple[ModuleEntry, ...]:
    """``"name"``, ``"name!"`` (required), ``"^name"`` (preload), ``"^name!"`` (both)."""
    return tuple(
        ModuleEntry(s.strip("^!"), required=s.endswith("!"), preload=s.startswith("^"))
        for s in specs
    )


HostFactory = Callable[..., Any]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def journal() -> Journal:
    return Journal()


@pytest.fixture
def runner() -> Iterator[LoopThread]:
    loop = LoopThread()
    yield loop
    loop.close()


@pytest.fixture
def make_host(kind: str, runner: LoopThread) -> Iterator[HostFactory]:
    """``make_host(modules, load=(...), autoload=True)``: a Host, or a driven AsyncHost."""
    made: list[Any] = []

    def factory(
        modules: Mapping[str, Any], *, autoload: bool = True, load: tuple[str, ...] = ()
    ) -> Any:
        discovery = StaticDiscovery("test.aio", modules)
        config = ModulesConfig(autoload=autoload, entries=entries(*load))
        if kind == "sync":
            host: Any = Host("test.aio", discovery=discovery, config=config)
        else:
            host = Driven(AsyncHost("test.aio", discovery=discovery, config=config), runner)
        made.append(host)
        return host

    yield factory
    for host in made:
        host.stop(graceful=False)
