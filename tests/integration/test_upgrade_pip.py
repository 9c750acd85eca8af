"""An upgrade as an operator does it: pip install a new version, then module refresh.

A real virtual environment, real pip installs, a real host running in the
foreground with its control socket, driven with ``modloader -rx``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._dists import EXAMPLE_PLUGINS
from tests._dists import Venv
from tests._dists import clone_project
from tests._dists import venv_fixture  # noqa: F401 - the venv fixture
from tests._dists import venv_template_fixture  # noqa: F401 - what venv copies

pytestmark = pytest.mark.slow

HELLO = EXAMPLE_PLUGINS / "res_hello"


class RunningHost:
    def __init__(self, venv: Venv, conf: Path, socket: str) -> None:
        self.venv = venv
        self.socket = socket
        env = dict(os.environ, MODLOADER_CACHE_DIR=str(conf.parent / "cache"))
        env.pop("PYTHONPATH", None)
        self.env = env
        self.proc = subprocess.Popen(
            [
                str(venv.python),
                "-m",
                "modloader",
                "-n",
                "modloader.demo",
                "-C",
                str(conf),
                "-s",
                socket,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 30
        while not os.path.exists(socket):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"host did not start: {self.proc.communicate()[0]}")
            time.sleep(0.05)

    def rx(self, line: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.venv.python), "-m", "modloader", "-s", self.socket, *extra, "-rx", line],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.rx("core stop gracefully")
            try:
                return self.proc.communicate(timeout=30)[0]
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.communicate()[0]


@pytest.fixture
def socket_dir() -> Iterator[str]:
    # Short, because a Unix socket path is limited to about 100 bytes.
    folder = tempfile.mkdtemp(prefix="mlt-")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("installed", ["before-start", "after-start"])
def test_pip_upgrade_then_refresh_runs_the_new_code(
    venv: Venv, tmp_path: Path, socket_dir: str, installed: str
) -> None:
    conf = tmp_path / "modules.conf"
    conf.write_text("[modules]\nautoload = yes\n")
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
    if installed == "before-start":
        venv.install(HELLO)
    host = RunningHost(venv, conf, os.path.join(socket_dir, "h.sock"))
    try:
        if installed == "after-start":
            assert host.rx("module show").stdout.splitlines()[-1] == "0 modules loaded"
            venv.install(HELLO)
            assert host.rx("module load res_hello").stdout.strip() == "Loaded res_hello"
        assert host.rx("hello").stdout.strip() == "Hello, world!"

        venv.install(version_two)  # while the host runs
        refreshed = host.rx("module refresh res_hello")
        assert (refreshed.returncode, refreshed.stdout.strip()) == (
            0,
            "Unloaded and loaded res_hello",
        )
        assert host.rx("hello").stdout.strip() == "Howdy, world!"
        shown = host.rx("module show like hello", "--json")
        row = __import__("json").loads(shown.stdout)["data"]["modules"][0]
        assert (row["name"], row["version"], row["status"]) == ("res_hello", "2.0.0", "Running")
    finally:
        log = host.stop()
    assert host.proc.returncode == 0, log
