"""The bridge between the registry's worker threads and the application's event loop.

:class:`~modloader.AsyncHost` runs every registry operation off the loop, in a
worker thread (``asyncio.to_thread``), so a plain ``load()`` that imports code
or sleeps never blocks the loop. A module's code runs in a thread of its own
(``Lifecycle.module_call``), with the registry's lock released; a hook that is
``async def`` returns a coroutine there, and :meth:`LoopBridge.settle` hands it
to the loop (``run_coroutine_threadsafe``) and waits for it. The coroutine is
cancelled when the module call's time limit (``module_timeout``) runs out. As
no lock is held meanwhile, the coroutine may call back into the registry.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from collections.abc import Coroutine
from typing import TYPE_CHECKING
from typing import Any

from modloader._registry.calls import current_limit
from modloader._registry.calls import extend_wait
from modloader._registry.calls import waiting_threads

if TYPE_CHECKING:
    from modloader._registry.record import ModuleRecord

__all__ = ["CANCEL_GRACE", "HookTimeoutError", "LoopBridge", "awaited"]

#: Seconds a cancelled coroutine has to wind down before the host stops waiting.
CANCEL_GRACE = 5.0


class HookTimeoutError(TimeoutError):
    """A module's async hook did not finish within the time limit; it was cancelled."""


class LoopBridge:
    """Runs modules' coroutines on one event loop, for callers in other threads.

    A module's ``async`` hook is cancelled when the time limit of the module
    call it runs in (``module_timeout``) runs out.
    """

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Use ``loop`` (called on it, by ``AsyncHost.start``)."""
        self.loop = loop
        self._loop_thread = threading.get_ident()

    def on_loop_thread(self) -> bool:
        return threading.get_ident() == self._loop_thread

    def settle(self, record: ModuleRecord, hook: str, awaitable: Awaitable[Any]) -> Any:
        """What the lifecycle calls for an awaitable hook result: await it on the loop."""
        what = f"{hook}() of module '{record.name}'"
        try:
            self._check(what)
        except RuntimeError:
            close = getattr(awaitable, "close", None)
            if callable(close):
                close()  # never started: no "never awaited" warning later
            raise
        limit = current_limit()
        if limit is None:
            return self.wait(awaited(awaitable), what)
        extend_wait(CANCEL_GRACE)  # the coroutine is cancelled at the limit: see it end
        seconds, left = limit
        return self.wait(_limited(awaitable, max(left, 0.0), seconds, what), what)

    def _check(self, what: str) -> None:
        loop = self.loop
        if loop is None or loop.is_closed() or not loop.is_running():
            raise RuntimeError(f"{what} is a coroutine, and the host's event loop is not running")
        if self.on_loop_thread() or self._loop_thread in waiting_threads():
            raise RuntimeError(
                f"{what} is a coroutine, and it was reached from a blocking call on the "
                f"event loop's own thread; await the AsyncHost's method instead"
            )

    def wait(self, coro: Coroutine[Any, Any, Any], what: str) -> Any:
        """Run ``coro`` on the loop and block this (worker) thread until it ends.

        :raises RuntimeError: there is no running loop, or this *is* the loop's
            thread (blocking it would deadlock: the caller must ``await``).
        """
        try:
            self._check(what)
        except RuntimeError:
            coro.close()
            raise
        assert self.loop is not None
        future = asyncio.run_coroutine_threadsafe(_kept_off_the_loop(coro), self.loop)
        try:
            result = future.result()
        except BaseException:
            future.cancel()
            raise
        if isinstance(result, _Raised):
            raise result.error  # here, in the thread that waits: the module's call
        return result


class _Raised:
    """What a coroutine raised that must not reach the event loop (see below)."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


async def _kept_off_the_loop(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro``; hand back a ``SystemExit`` or ``KeyboardInterrupt`` it raises.

    A task that raises either does not keep it: asyncio raises it again out of
    the event loop, which ends the application's ``asyncio.run()``. A module's
    ``async def load()`` that raises ``SystemExit`` is the module's, and is
    reported as any other exception it raises.
    """
    try:
        return await coro
    except (KeyboardInterrupt, SystemExit) as exc:
        return _Raised(exc)


async def awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


async def _limited(awaitable: Awaitable[Any], left: float, seconds: float, what: str) -> Any:
    """Await ``awaitable`` for at most ``left`` seconds (of a limit of ``seconds``);
    past it, it is cancelled."""
    scope = asyncio.timeout(left)
    try:
        async with scope:
            return await awaitable
    except TimeoutError as exc:
        if not scope.expired():
            raise  # the module's own TimeoutError, not the time limit
        raise HookTimeoutError(
            f"{what} did not finish within {seconds:g} s and was cancelled"
        ) from exc
