"""asgi-app in process: a real uvicorn server on a free port, real HTTP, the real control socket.

The plugins are published from their own ``pyproject.toml`` (no pip run);
uvicorn serves the app from a thread of its own; requests are plain urllib.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from asgi_app import create_app

from modloader.pytest_plugin import FakeSite

HERE = Path(__file__).resolve().parents[1]
PLUGINS = [HERE / "plugins" / "hello", HERE / "plugins" / "clock"]


class Served:
    """The app under a real uvicorn server in a thread."""

    def __init__(self, socket: str) -> None:
        self.socket = socket
        self.stop_requests = 0
        app = create_app(socket=socket, on_stop=self._on_stop)
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert self.thread.is_alive(), "uvicorn stopped during startup"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        (listener,) = [s for server in self.server.servers for s in server.sockets]
        self.base = f"http://127.0.0.1:{listener.getsockname()[1]}"

    def _on_stop(self) -> None:
        self.stop_requests += 1
        self.server.should_exit = True

    def get(self, path: str) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(self.base + path, timeout=30) as reply:  # noqa: S310 - http
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as exc:
            return exc.code, None

    def rx(self, line: str) -> subprocess.CompletedProcess[str]:
        """``modloader -s SOCKET -rx LINE``: the operator's command, in a process of its own."""
        return subprocess.run(
            [sys.executable, "-m", "modloader", "-s", self.socket, "-rx", line],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(60)


@pytest.fixture
def served(fake_distributions: FakeSite, tmp_path: Path) -> Iterator[Served]:
    for project in PLUGINS:
        fake_distributions.add_project(project)
    folder = tempfile.mkdtemp(prefix="asgi-")  # short: a socket path holds 103 bytes at most
    greeting = tmp_path / "greeting.txt"
    greeting.write_text("hello\n")
    os.environ["ASGI_HELLO_GREETING_FILE"] = str(greeting)
    running = Served(os.path.join(folder, "app.sock"))
    try:
        yield running
    finally:
        running.stop()
        os.environ.pop("ASGI_HELLO_GREETING_FILE", None)
        shutil.rmtree(folder, ignore_errors=True)


def test_module_routes_come_and_go_with_their_modules(served: Served) -> None:
    assert served.get("/hello/ada") == (200, {"greeting": "hello, ada"})
    status, index = served.get("/")
    assert status == 200
    assert {m["name"]: m["status"] for m in index["modules"]} == {
        "core_http": "Running",
        "web_clock": "Running",
        "web_hello": "Running",
    }
    assert served.rx("module unload web_hello").stdout == "Unloaded web_hello\n"
    assert served.get("/hello/ada")[0] == 404
    assert served.get("/hello")[0] == 404
    assert served.rx("module load web_hello").stdout == "Loaded web_hello\n"
    assert served.get("/hello") == (200, {"greeting": "hello, world"})


def test_a_task_started_by_an_async_load_runs_on_the_servers_loop(served: Served) -> None:
    first = served.get("/clock")[1]["ticks"]
    time.sleep(0.3)
    assert served.get("/clock")[1]["ticks"] > first
    assert served.rx("module unload web_clock").returncode == 0
    assert served.get("/clock")[0] == 404


def test_reload_is_awaited_on_the_loop(served: Served, tmp_path: Path) -> None:
    (tmp_path / "greeting.txt").write_text("bonjour\n")
    assert served.rx("module reload web_hello").stdout == (
        "Module 'web_hello' reloaded successfully.\n"
    )
    assert served.get("/hello/ada") == (200, {"greeting": "bonjour, ada"})


def test_core_stop_stops_the_server(served: Served) -> None:
    assert served.rx("core stop gracefully").returncode == 0
    served.thread.join(60)
    assert not served.thread.is_alive()
    assert served.stop_requests == 1
    assert not os.path.exists(served.socket)


def test_a_second_app_on_the_same_socket_does_not_start(served: Served) -> None:
    app = create_app(socket=served.socket, on_stop=lambda: None)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical")
    second = uvicorn.Server(config)
    exits: list[object] = []

    def run() -> None:
        try:
            second.run()
        except SystemExit as exc:  # uvicorn's "startup failed"
            exits.append(exc.code)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive()
    assert not second.started
    assert exits == [3]
    assert app.state.host.state.value == "stopped"  # what it had started was stopped again
    assert served.get("/hello/ada") == (200, {"greeting": "hello, ada"})  # the first goes on
    assert served.rx("module show").returncode == 0
