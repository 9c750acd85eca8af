"""examples/asgi_app end to end: a real uvicorn process, real HTTP, ``modloader -n NS -rx``.

The app and its two plugins are pip-installed into a real venv (starlette and
uvicorn come from the test environment); ``python -m uvicorn asgi_app:app``
serves it on a free port, its lifespan runs the AsyncHost and its control
socket at the namespace's default path, and an operator drives it with
``modloader -n asgi_app.modules -rx``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._dists import REPO
from tests._dists import Venv
from tests._dists import copy_venv
from tests._dists import venv_template_fixture  # noqa: F401 - what asgi_venv copies
from tests.integration._served import clean_env
from tests.integration._served import json_replies
from tests.integration._served import wait_for_workers

pytestmark = pytest.mark.slow

APP = REPO / "examples" / "asgi_app"
NAMESPACE = "asgi_app.modules"
#: How uvicorn ends after a graceful shutdown on SIGTERM: 0, or (0.29 and later)
#: by the signal again, once shutdown is complete.
STOPPED = (0, -signal.SIGTERM)


@pytest.fixture(scope="module")
def asgi_venv(venv_template: Venv, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    pytest.importorskip("uvicorn")
    pytest.importorskip("starlette")
    venv = copy_venv(venv_template, tmp_path_factory.mktemp("asgi") / "venv")
    venv.install(APP, APP / "plugins" / "hello", APP / "plugins" / "clock")
    return venv


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Uvicorn:
    """``python -m uvicorn asgi_app:app`` in a process of its own."""

    def __init__(
        self, venv: Venv, tmp: Path, workers: int | None = None, gunicorn: bool = False
    ) -> None:
        self.venv = venv
        self.runtime = tempfile.mkdtemp(prefix="mlt-")  # short: sockets hold 103 bytes
        self.socket = os.path.join(self.runtime, "modloader", f"{NAMESPACE}.sock")
        self.greeting = tmp / "greeting.txt"
        self.greeting.write_text("hello\n")
        self.env = clean_env(
            tmp, XDG_RUNTIME_DIR=self.runtime, ASGI_HELLO_GREETING_FILE=str(self.greeting)
        )
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        argv = [str(venv.python), "-m", "uvicorn", "asgi_app:app", "--port", str(port)]
        if gunicorn:  # gunicorn forks its workers (uvicorn --workers spawns them)
            argv = [str(venv.python), "-m", "gunicorn", "-k", "uvicorn.workers.UvicornWorker"]
            argv += ["--bind", f"127.0.0.1:{port}", "asgi_app:app"]
        if workers is not None:
            argv += ["--workers", str(workers)]
        self.proc = subprocess.Popen(
            argv,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its workers too are killed with its group (close)
        )
        deadline = time.monotonic() + 60
        while self.get("/")[0] != 200:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"uvicorn did not start: {self.proc.communicate()[0]}")
            time.sleep(0.1)

    def get(self, path: str) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(self.base + path, timeout=30) as reply:  # noqa: S310
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as exc:
            return exc.code, None
        except OSError:
            return 0, None

    def rx(self, line: str, *extra: str) -> subprocess.CompletedProcess[str]:
        """``modloader -n asgi_app.modules [extra] -rx LINE``: no ``-s``, the default socket."""
        return subprocess.run(
            [str(self.venv.path / "bin" / "modloader"), "-n", NAMESPACE, *extra, "-rx", line],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def replies(self, line: str) -> list[dict[str, Any]]:
        """Each process's structured reply to ``-rx LINE`` (one without workers)."""
        return json_replies(self.rx(line, "--json"))

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        try:
            out = self.proc.communicate(timeout=timeout)[0]
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out = self.proc.communicate()[0] + "\n(killed: did not stop in time)"
        return self.proc.returncode, out

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):  # the workers of a failed test too
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc.returncode is None:
            self.proc.communicate()
        shutil.rmtree(self.runtime, ignore_errors=True)


@pytest.fixture
def served(asgi_venv: Venv, tmp_path: Path) -> Iterator[Uvicorn]:
    running = Uvicorn(asgi_venv, tmp_path)
    try:
        yield running
    finally:
        running.close()


def test_routes_follow_their_modules_and_core_stop_stops_uvicorn(served: Uvicorn) -> None:
    assert served.get("/hello/ada") == (200, {"greeting": "hello, ada"})
    shown = json.loads(served.rx("module show", "--json").stdout)["data"]["modules"]
    assert {m["name"]: m["status"] for m in shown} == {
        "core_http": "Running",
        "web_clock": "Running",
        "web_hello": "Running",
    }

    unloaded = served.rx("module unload web_hello")
    assert (unloaded.returncode, unloaded.stdout) == (0, "Unloaded web_hello\n"), unloaded.stderr
    assert served.get("/hello/ada")[0] == 404
    assert "/hello" not in served.get("/")[1]["paths"]
    loaded = served.rx("module load web_hello")
    assert (loaded.returncode, loaded.stdout) == (0, "Loaded web_hello\n"), loaded.stderr
    assert served.get("/hello") == (200, {"greeting": "hello, world"})

    # An async reload, awaited on uvicorn's loop.
    served.greeting.write_text("bonjour\n")
    reloaded = served.rx("module reload web_hello")
    assert reloaded.stdout == "Module 'web_hello' reloaded successfully.\n"
    assert served.get("/hello/ada") == (200, {"greeting": "bonjour, ada"})

    # A task that an async load started on the server's loop, cancelled by its unload.
    first = served.get("/clock")[1]
    deadline = time.monotonic() + 10  # a tick every TICK seconds, however busy the machine
    while served.get("/clock")[1]["ticks"] == first["ticks"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert served.get("/clock")[1]["ticks"] > first["ticks"]
    refreshed = served.rx("module refresh web_clock")
    assert refreshed.stdout.splitlines()[-1] == "Unloaded and loaded web_clock"
    assert served.get("/clock")[1]["running"] is True

    refused = served.rx("module unload core_http")
    assert refused.returncode == 1

    stopping = served.rx("core stop gracefully")
    assert (stopping.returncode, stopping.stdout) == (0, "Stopping gracefully.\n")
    code, out = served.finish()
    assert code in STOPPED, out
    assert "modules stopped: web_clock, web_hello, core_http" in out
    assert not os.path.exists(served.socket)
    gone = served.rx("module show")
    assert gone.returncode == 1
    assert "Unable to connect to remote modloader" in gone.stderr


def test_sigterm_stops_the_server_and_the_host(served: Uvicorn) -> None:
    assert served.get("/clock")[0] == 200
    served.proc.send_signal(signal.SIGTERM)
    code, out = served.finish()
    assert code in STOPPED, out
    assert "modules stopped: web_hello, web_clock, core_http" in out
    assert not os.path.exists(served.socket)


def test_uvicorn_workers_each_run_a_host_and_rx_reaches_them_all(
    asgi_venv: Venv, tmp_path: Path
) -> None:
    server = Uvicorn(asgi_venv, tmp_path, workers=2)
    try:
        replies = wait_for_workers(server.replies, 2, server.proc)
        pids = sorted(r["pid"] for r in replies)
        assert server.proc.pid not in pids  # uvicorn's supervisor runs no host
        for reply in replies:
            shown = {m["name"]: m["status"] for m in reply["data"]["modules"]}
            assert shown == {"core_http": "Running", "web_clock": "Running", "web_hello": "Running"}

        unloaded = server.rx("module unload web_hello")
        assert unloaded.returncode == 0, unloaded.stdout + unloaded.stderr
        sections = unloaded.stdout.split("== pid ")[1:]
        assert sorted(int(s.split(" ", 1)[0]) for s in sections) == pids
        assert all(s.endswith("==\nUnloaded web_hello\n") for s in sections), sections
        for _ in range(8):  # whichever worker answers, the route went with the module
            assert server.get("/hello/ada")[0] == 404
            assert server.get("/clock")[0] == 200

        server.proc.send_signal(signal.SIGTERM)
        code, out = server.finish()
        folder = os.path.join(server.runtime, "modloader")
        left = os.listdir(folder) if os.path.exists(folder) else []
    finally:
        server.close()
    assert code in STOPPED, out
    assert out.count("modules stopped: web_clock, core_http") == 2, out
    assert left in ([], [f".{NAMESPACE}.lock"]), left  # every worker's socket removed


def test_core_stop_stops_gunicorn_and_every_uvicorn_worker(asgi_venv: Venv, tmp_path: Path) -> None:
    """Each worker's host asked the worker alone to stop; gunicorn booted a fresh one,
    undoing what operators had unloaded, while ``-rx`` said the stop had happened."""
    pytest.importorskip("gunicorn")
    server = Uvicorn(asgi_venv, tmp_path, workers=2, gunicorn=True)
    try:
        wait_for_workers(server.replies, 2, server.proc)
        stopped = server.rx("core stop gracefully")
        code, out = server.finish()
    finally:
        server.close()
    assert "stopping the server" in out, out
    assert "Booting worker" not in out.split("stopping the server", 1)[-1], out
    assert code == 0, out
    assert stopped.stdout.count("Stopping gracefully.") >= 1, stopped.stdout + stopped.stderr
    assert (
        out.count("modules stopped: web_clock, core_http")
        + out.count("modules stopped: web_hello, web_clock, core_http")
        == 2
    ), out
