"""The control socket of an :class:`~modloader.AsyncHost`.

It is :meth:`Host.serve <modloader.Host.serve>`'s server: the same socket
path, folder and credential checks, framing and protocol, in background
threads. Each command runs in its connection's thread, which is where the
registry's blocking work belongs anyway; a module's coroutine is handed to the
application's loop, as for ``await host.load(...)``. The loop itself never
waits on a client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Self

from modloader._serving import ControlSocket

__all__ = ["AsyncControlSocket"]


class AsyncControlSocket:
    """An :class:`~modloader.AsyncHost`'s control socket: ``await close()`` or ``async with``."""

    __slots__ = ("_on_close", "_socket")

    def __init__(self, control: ControlSocket) -> None:
        self._socket = control
        self._on_close: list[Callable[[], object]] = []

    @property
    def path(self) -> str:
        """The socket's path."""
        return self._socket.path

    @property
    def closed(self) -> bool:
        """``True`` once :meth:`close` has run."""
        return self._socket.closed

    def on_close(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` when :meth:`close` runs (once)."""
        self._on_close.append(callback)

    async def close(self) -> None:
        """Stop accepting, end the open connections and remove the socket. Idempotent.

        Runs off the loop: a command still running (``core stop`` itself) is
        given two seconds to send its reply.
        """
        if self._socket.closed:
            return
        callbacks, self._on_close = self._on_close, []
        for callback in callbacks:
            callback()
        await asyncio.to_thread(self._socket.close)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<AsyncControlSocket {self.path!r} {'closed' if self.closed else 'open'}>"
