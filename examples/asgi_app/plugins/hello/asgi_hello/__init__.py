"""web_hello: greets over HTTP. Its hooks are ``async def``, run on the app's loop.

The greeting is read from the file ``ASGI_HELLO_GREETING_FILE`` names (if
set) at load, and again on ``module reload web_hello``.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from modloader import ModuleContext


async def _read_greeting() -> str:
    name = os.environ.get("ASGI_HELLO_GREETING_FILE")
    if not name:
        return "hello"
    # File input off the loop, as any async code should.
    text = await asyncio.to_thread(Path(name).read_text, encoding="utf-8")
    return text.strip() or "hello"


class HelloModule:
    description = "GET /hello and /hello/{name}"
    requires = ("core_http",)

    def __init__(self) -> None:
        self.greeting = "hello"

    async def load(self, ctx: ModuleContext) -> None:
        self.greeting = await _read_greeting()
        with ctx.use("core_http") as http:
            http.obj.add_routes(
                ctx, [Route("/hello", self.hello), Route("/hello/{name}", self.hello)]
            )

    async def reload(self, ctx: ModuleContext) -> None:
        self.greeting = await _read_greeting()
        ctx.logger.info("greeting is now %r", self.greeting)

    async def hello(self, request: Request) -> JSONResponse:
        name = request.path_params.get("name", "world")
        return JSONResponse({"greeting": f"{self.greeting}, {name}"})
