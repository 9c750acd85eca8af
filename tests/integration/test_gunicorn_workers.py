"""A real gunicorn with three workers, each running a host: one ``-rx`` reaches them all.

The example application ``examples/workers_app`` and the ``res_hello`` example
plugin are pip-installed into a real virtual environment; gunicorn forks three
workers, each starts its host from the ``post_worker_init`` hook and serves its
own control socket. After ``pip install --upgrade`` of a second version of
``res_hello``, ``modloader -n modloader.demo -rx "module refresh res_hello"``
must reach all three, and every worker then runs version 2 (seen through
``-rx`` and over HTTP).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._dists import EXAMPLE_PLUGINS
from tests._dists import REPO
from tests._dists import Venv
from tests._dists import clone_project
from tests._dists import venv_fixture  # noqa: F401 - the venv fixture
from tests._dists import venv_template_fixture  # noqa: F401 - what venv copies
from tests.integration._served import json_replies
from tests.integration._served import wait_for_workers

pytestmark = pytest.mark.slow

HELLO = EXAMPLE_PLUGINS / "res_hello"
WORKERS_APP = REPO / "examples" / "workers_app"
WORKERS = 3


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Gunicorn:
    """``gunicorn --workers 3 workers_app.app:application`` in the venv."""

    def __init__(self, venv: Venv, tmp: Path, runtime: str) -> None:
        self.venv = venv
        self.port = _free_port()
        conf = tmp / "modules.conf"
        conf.write_text("[modules]\nautoload = yes\n")
        self.env = dict(
            os.environ,
            XDG_RUNTIME_DIR=runtime,
            WORKERS_APP_CONF=str(conf),
            MODLOADER_CACHE_DIR=str(tmp / "cache"),
        )
        self.env.pop("PYTHONPATH", None)
        self.log = (tmp / "gunicorn.log").open("w+")
        self.proc = subprocess.Popen(
            [
                str(venv.python),
                "-m",
                "gunicorn",
                "-c",
                "python:workers_app.gunicorn_conf",
                "--workers",
                str(WORKERS),
                "--bind",
                f"127.0.0.1:{self.port}",
                "workers_app.app:application",
            ],
            env=self.env,
            cwd=tmp,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def rx(self, line: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.venv.python), "-m", "modloader", "-n", "modloader.demo", *extra, "-rx", line],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def replies(self, line: str) -> list[dict[str, Any]]:
        return json_replies(self.rx(line, "--json"))

    def get(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=30) as response:
            body: dict[str, Any] = json.loads(response.read())
            return body

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def runtime() -> Iterator[str]:
    folder = tempfile.mkdtemp(prefix="mlg-")  # short: a socket path holds 103 bytes
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _version(reply: dict[str, Any]) -> str:
    (row,) = [m for m in reply["data"]["modules"] if m["name"] == "res_hello"]
    return str(row["version"])


def test_refresh_after_pip_upgrade_reaches_every_worker(
    venv: Venv, tmp_path: Path, runtime: str
) -> None:
    venv.install(HELLO, WORKERS_APP)
    version_two = clone_project(
        HELLO,
        tmp_path / "res_hello-2",
        version="2.0.0",
        files={
            "demo_res_hello/__init__.py": (HELLO / "demo_res_hello/__init__.py")
            .read_text()
            .replace('"Hello"', '"Howdy"')
        },
    )
    server = Gunicorn(venv, tmp_path, runtime)
    try:
        before = wait_for_workers(server.replies, WORKERS, server.proc, server.output)
        pids = sorted(r["pid"] for r in before)
        assert server.proc.pid not in pids  # the master runs no host
        assert [_version(r) for r in before] == ["1.0.0"] * WORKERS
        assert server.get()["greeting"] == "Hello, world!"

        venv.install(version_two)  # pip install --upgrade, while the workers run
        refreshed = server.rx("module refresh res_hello")
        assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr
        sections = refreshed.stdout.split("== pid ")[1:]
        assert sorted(int(s.split(" ", 1)[0]) for s in sections) == pids
        assert all(s.endswith("==\nUnloaded and loaded res_hello\n") for s in sections), sections

        after = server.replies("module show")
        assert sorted(r["pid"] for r in after) == pids
        assert [_version(r) for r in after] == ["2.0.0"] * WORKERS
        greeted = server.replies("hello")
        assert [r["output"] for r in greeted] == ["Howdy, world!"] * WORKERS
        for _ in range(12):  # over HTTP, whichever worker answers
            body = server.get()
            assert body["pid"] in pids
            assert (body["greeting"], body["version"]) == ("Howdy, world!", "2.0.0")
    finally:
        server.stop()
    assert server.proc.returncode == 0, server.output()
    assert os.listdir(os.path.join(runtime, "modloader")) in ([], [".modloader.demo.lock"])
