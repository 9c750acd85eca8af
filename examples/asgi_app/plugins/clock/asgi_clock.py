"""web_clock: a background task on the application's loop, and GET /clock to read it.

``async def load`` runs on the loop that serves the requests, so the task it
creates lives there; ``async def unload`` cancels it and waits for it to end.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from modloader import ModuleContext

#: Seconds between two ticks.
TICK = 0.05


class ClockModule:
    description = "GET /clock: ticks counted by a task on the loop"
    requires = ("core_http",)

    def __init__(self) -> None:
        self.ticks = 0
        self.task: asyncio.Task[None] | None = None

    async def load(self, ctx: ModuleContext) -> None:
        self.task = asyncio.create_task(self._tick(), name="web_clock")
        with ctx.use("core_http") as http:
            http.obj.add_routes(ctx, [Route("/clock", self.clock)])

    async def unload(self, ctx: ModuleContext) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            self.ticks += 1

    async def clock(self, request: Request) -> JSONResponse:
        running = self.task is not None and not self.task.done()
        return JSONResponse({"ticks": self.ticks, "running": running})
