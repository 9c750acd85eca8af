"""The application: a Starlette app whose lifespan runs a modloader AsyncHost.

What asgi-app asks of its modules (found in ``asgi_app.modules``): a module
that serves HTTP requires the built-in ``core_http`` and adds its routes with
``http.add_routes(ctx, routes)``. The routes belong to the module: when it is
unloaded (``module unload``, ``module refresh``, a stop) they are removed, and
``module load`` adds them again. Module hooks may be ``async def``: they run
on the application's own loop, so a module can start tasks there.

The control socket is served from the lifespan: ``modloader -n
asgi_app.modules -rx "module show"``. ``core stop gracefully|now`` stops the
whole server, as SIGTERM does.

Configuration, from the environment (read when :func:`create_app` runs):

* ``ASGI_APP_CONFIG``: a ``modules.conf`` (default: the one shipped here);
* ``ASGI_APP_SOCKET``: the control socket (default: modloader's path for the namespace);
* ``ASGI_APP_AUTOLOAD``, ``ASGI_APP_NOLOAD``, ...: override the file's directives.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import AsyncIterator
from collections.abc import Callable
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute
from starlette.routing import Route
from starlette.routing import Router

from modloader import AsyncHost

if TYPE_CHECKING:
    from modloader import ModuleContext

__all__ = ["ENV_PREFIX", "NAMESPACE", "SHIPPED_CONFIG", "Http", "create_app"]

#: The entry-point group asgi-app reads its modules from.
NAMESPACE = "asgi_app.modules"
#: Environment variables under this prefix override modules.conf.
ENV_PREFIX = "ASGI_APP_"
#: The modules.conf used when ``ASGI_APP_CONFIG`` names none.
SHIPPED_CONFIG = Path(__file__).with_name("modules.conf")

# uvicorn's own logger: what the app says shows with the server's messages.
_log = logging.getLogger("uvicorn.error")


class Http:
    """The built-in ``core_http``: where modules add their HTTP routes."""

    description = "HTTP routes for modules"

    def __init__(self, router: Router) -> None:
        self._router = router

    def add_routes(self, ctx: ModuleContext, routes: Sequence[BaseRoute]) -> None:
        """Add ``routes`` for the module of ``ctx``; its unload removes them.

        :raises ValueError: another route already answers on one of the paths.
        """
        taken = {getattr(r, "path", None) for r in self._router.routes}
        for route in routes:
            path = getattr(route, "path", None)
            if path in taken:
                raise ValueError(f"{ctx.name}: the path {path} is already served")
        for route in routes:
            self._router.routes.append(route)
            remove = functools.partial(self._router.routes.remove, route)
            ctx.register(f"route {getattr(route, 'path', route)}", remove)

    def paths(self) -> list[str]:
        return [str(getattr(r, "path", r)) for r in self._router.routes]


def _stop_the_server() -> None:
    """What ``core stop`` does by default: ask uvicorn to shut down, as SIGTERM does.

    Under ``uvicorn --workers N`` or gunicorn (``-k uvicorn.workers.UvicornWorker``)
    this process is a worker its supervisor would replace: the supervisor is asked
    instead, which stops every worker. uvicorn starts its workers through
    :mod:`multiprocessing`; gunicorn forks them from its arbiter, which it imported.
    """
    supervisor = multiprocessing.parent_process()
    if supervisor is not None and supervisor.pid is not None:
        os.kill(supervisor.pid, signal.SIGTERM)
    elif "gunicorn.arbiter" in sys.modules:
        os.kill(os.getppid(), signal.SIGTERM)
    else:
        signal.raise_signal(signal.SIGTERM)


async def _index(request: Request) -> JSONResponse:
    """``GET /``: the modules, as ``module show`` sees them."""
    host: AsyncHost = request.app.state.host
    return JSONResponse(
        {
            "modules": [
                {"name": m.name, "status": m.status, "use_count": m.use_count}
                for m in host.list_modules()
            ],
            "paths": request.app.state.http.paths(),
        }
    )


def create_app(
    *,
    config_path: str | os.PathLike[str] | None = None,
    socket: str | os.PathLike[str] | None = None,
    on_stop: Callable[[], object] = _stop_the_server,
) -> Starlette:
    """The application; its lifespan starts the modules and serves the control socket.

    ``config_path`` and ``socket`` default to ``ASGI_APP_CONFIG`` and
    ``ASGI_APP_SOCKET``; ``on_stop`` is called when an operator runs ``core
    stop`` (default: SIGTERM to this process, which uvicorn turns into a
    graceful shutdown; the lifespan then stops the host).
    """
    config = config_path or os.environ.get("ASGI_APP_CONFIG") or None
    where = socket or os.environ.get("ASGI_APP_SOCKET") or None

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        http = Http(app.router)
        host = AsyncHost(
            NAMESPACE,
            config_path=config,
            default_config_path=SHIPPED_CONFIG,
            env_prefix=ENV_PREFIX,
            builtins={"core_http": http},
        )
        app.state.host, app.state.http = host, http
        report = await host.start()  # a StartupError here makes uvicorn exit (status 3)
        _log.info("modules: %s", report.lines[-1])
        try:
            control = await host.serve(where)
        except BaseException:  # another server on the socket, say: nothing stays started
            await host.stop()
            raise
        _log.info("control socket: modloader -n %s -rx 'module show' (%s)", NAMESPACE, control.path)
        graceful = True

        async def stop_when_asked() -> None:
            nonlocal graceful
            graceful = await host.wait_for_stop()
            _log.info("core stop %s: stopping the server", "gracefully" if graceful else "now")
            on_stop()

        watcher = asyncio.create_task(stop_when_asked())
        try:
            yield
        finally:
            watcher.cancel()
            stopped = await host.stop(graceful=graceful)
            _log.info("modules stopped: %s", ", ".join(stopped) or "none")

    return Starlette(routes=[Route("/", _index)], lifespan=lifespan)
