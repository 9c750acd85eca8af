"""gunicorn hooks: a host per worker, started after the fork and stopped at its exit.

``gunicorn -c python:workers_app.gunicorn_conf --workers 3 workers_app.app:application``
"""

from __future__ import annotations

from typing import Any


def post_worker_init(worker: Any) -> None:
    """In each worker, once it is forked: start its host and serve its socket."""
    from workers_app import app

    app.start()


def worker_exit(server: Any, worker: Any) -> None:
    """In each worker, as it exits: close its socket and stop its host."""
    from workers_app import app

    app.stop()
