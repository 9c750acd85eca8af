"""The WSGI application: ``GET /`` greets through the ``res_hello`` module.

Each gunicorn worker starts its own host after the fork (see
``workers_app/gunicorn_conf.py``) and serves its control socket in the
namespace's folder, so ``modloader -n modloader.demo -rx CMD`` reaches every
worker. The host reads the ``modloader.demo`` namespace, where the
``res_hello`` example plugin publishes its module; ``WORKERS_APP_CONF`` names
the modules.conf (default: modloader's own location for the namespace).
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

import modloader

__all__ = ["application", "start", "stop"]

NAMESPACE = "modloader.demo"

_host: modloader.Host | None = None
_control: modloader.ControlSocket | None = None


def start() -> None:
    """Start this process's host and serve its control socket (once per worker)."""
    global _host, _control
    _host = modloader.Host(NAMESPACE, config_path=os.environ.get("WORKERS_APP_CONF"))
    _host.on_stop_request(_stop_the_server)
    _host.start()
    _control = _host.serve()  # <namespace>.sock, or <namespace>@<pid>.sock beside it


def _stop_the_server(graceful: bool) -> None:
    """``core stop gracefully|now``: ask gunicorn's master (this worker's parent) to stop
    every worker, as SIGTERM (graceful) or SIGINT (quick) to it does."""
    os.kill(os.getppid(), signal.SIGTERM if graceful else signal.SIGINT)


def stop() -> None:
    """Close the socket and unload every module (when the worker exits)."""
    if _control is not None:
        _control.close()
    if _host is not None:
        _host.stop()


def _greeting() -> dict[str, Any]:
    if _host is None:
        return {"pid": os.getpid(), "error": "no host in this process"}
    try:
        with _host.use("res_hello", holder="http") as hello:
            return {
                "pid": os.getpid(),
                "greeting": hello.obj.hello([]),
                "version": _host.get_module("res_hello").version,
            }
    except modloader.ModLoaderError as exc:  # unloaded, say: the app goes on
        return {"pid": os.getpid(), "error": str(exc)}


def application(
    environ: dict[str, Any], start_response: Callable[[str, list[tuple[str, str]]], Any]
) -> Iterable[bytes]:
    """``GET /``: this worker's pid, the greeting and res_hello's version, as JSON."""
    body = json.dumps(_greeting()).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
