"""The bridge between the registry's worker threads and the application's event loop.

:class:`~modloader.AsyncHost` runs every registry operation off the loop, in a
worker thread (``asyncio.to_thread``), so a plain ``load()`` that imports code
or sleeps never blocks the loop. A module whose hook is ``async def`` returns a
coroutine there; :meth:`LoopBridge.settle` hands it back to the loop
(``run_coroutine_threadsafe``), under the time limit, and waits for it.

While the worker waits, it holds the registry's lock, and the coroutine on the
loop may call back into the registry (``ctx.register_command`` takes the lock).
:class:`LendableLock` lends the lock to the loop's thread for that time: the
owner is blocked, so the registry still changes in one place at a time.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from collections.abc import Coroutine
from types import TracebackType
from typing import TYPE_CHECKING
from typing import Any

if TYPE_CHECKING:
    from modloader._registry.record import ModuleRecord

__all__ = ["HookTimeoutError", "LendableLock", "LoopBridge"]


class HookTimeoutError(TimeoutError):
    """A module's async hook did not finish within the time limit; it was cancelled."""


class LendableLock:
    """A re-entrant lock whose owner can let one other thread in while it waits for it.

    Used as the registry's lock under :class:`~modloader.AsyncHost`: the worker
    thread that runs an operation lends it to the loop's thread while a module's
    coroutine runs there, and takes it back (after any block the loop's thread
    entered has ended) before it goes on. A thread already waiting for the lock
    when the loan starts is let in too: the loop's thread may be waiting for it
    (a read) when the worker reaches a module's coroutine.
    """

    __slots__ = ("_borrowed", "_borrower", "_cond", "_count", "_owner")

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._owner: int | None = None
        self._count = 0
        self._borrower: int | None = None
        self._borrowed = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._count += 1
                return True
            if not blocking and self._owner is not None and self._borrower != me:
                return False
            free = self._cond.wait_for(
                lambda: self._owner is None or self._borrower == me,
                None if timeout < 0 else timeout,
            )
            if not free:
                return False
            if self._borrower == me:
                self._borrowed += 1
            else:
                self._owner, self._count = me, 1
            return True

    def release(self) -> None:
        me = threading.get_ident()
        with self._cond:
            if self._borrower == me and self._borrowed:
                self._borrowed -= 1
            elif self._owner == me:
                self._count -= 1
                if self._count == 0:
                    self._owner = None
            else:
                raise RuntimeError("cannot release a lock this thread does not hold")
            self._cond.notify_all()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def lend(self, thread_id: int) -> None:
        """Let ``thread_id`` in while the calling thread (which holds the lock) waits."""
        with self._cond:
            self._borrower = thread_id
            self._cond.notify_all()

    def take_back(self) -> None:
        """End the loan, once the borrower has left every block it entered."""
        with self._cond:
            self._cond.wait_for(lambda: self._borrowed == 0)
            self._borrower = None


class LoopBridge:
    """Runs modules' coroutines on one event loop, for callers in other threads.

    :param time_limit: seconds a module's ``async`` hook may run before it is
        cancelled (``None``: no limit).
    """

    def __init__(self, lock: LendableLock, time_limit: float | None) -> None:
        self.lock = lock
        self.time_limit = time_limit
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
        return self.wait(_limited(awaitable, self.time_limit, what), what)

    def _check(self, what: str) -> None:
        loop = self.loop
        if loop is None or loop.is_closed() or not loop.is_running():
            raise RuntimeError(f"{what} is a coroutine, and the host's event loop is not running")
        if self.on_loop_thread():
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
        assert self.loop is not None and self._loop_thread is not None
        # Lent before the coroutine is scheduled: it may take the lock at once.
        self.lock.lend(self._loop_thread)
        try:
            future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        except BaseException:
            self.lock.take_back()
            raise
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise
        finally:
            self.lock.take_back()


async def _limited(awaitable: Awaitable[Any], seconds: float | None, what: str) -> Any:
    """Await ``awaitable`` for at most ``seconds``; past it, it is cancelled."""
    if seconds is None:
        return await awaitable
    scope = asyncio.timeout(seconds)
    try:
        async with scope:
            return await awaitable
    except TimeoutError as exc:
        if not scope.expired():
            raise  # the module's own TimeoutError, not the time limit
        raise HookTimeoutError(
            f"{what} did not finish within {seconds:g} s and was cancelled"
        ) from exc
