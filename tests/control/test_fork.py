"""A host started, and served, before a fork (gunicorn ``--preload``) works in every child.

A real parent process starts a host from installed distributions, serves it
on the namespace's default socket, then forks two children with ``os.fork``;
each child must answer ``modloader -rx`` on a socket of its own, run module
operations (fresh locks), and leave the parent's socket alone.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests import _apps
from tests._apps import AppEnv

from modloader._control.workers import list_sockets
from modloader._control.workers import worker_socket_path

PRELOAD = textwrap.dedent(
    """
    import os, signal, sys, time
    import modloader

    host = modloader.Host("itest.served", config_path=sys.argv[1])
    host.start()
    explicit = host.serve(sys.argv[2])  # a path of our choosing: stays the parent's
    control = host.serve()  # the namespace's socket
    children = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, lambda *a: host.request_stop())
            host.wait_for_stop()
            control.close()
            os._exit(0)
        children.append(pid)
    print(" ".join(str(c) for c in children), flush=True)
    signal.signal(signal.SIGTERM, lambda *a: host.request_stop())
    host.wait_for_stop()
    for child in children:
        os.kill(child, signal.SIGTERM)
        os.waitpid(child, 0)
    control.close()
    explicit.close()
    host.stop()
    """
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _apps.lay_plugins(tmp_path_factory.mktemp("site-packages"))


@pytest.fixture
def app_env(site: Path, tmp_path: Path) -> Iterator[AppEnv]:
    with _apps.app_env(site, tmp_path) as env:
        yield env


def test_every_child_of_a_preloaded_host_serves_its_own_socket(app_env: AppEnv) -> None:
    script = app_env.tmp / "preload.py"
    script.write_text(PRELOAD, encoding="utf-8")
    chosen = os.path.join(os.path.dirname(app_env.socket), "chosen.sock")
    proc = app_env.popen([sys.executable, str(script), str(app_env.conf), chosen])
    try:
        assert proc.stdout is not None
        children = [int(pid) for pid in proc.stdout.readline().split()]
        assert len(children) == 2, proc.communicate(timeout=5)
        expected = [app_env.socket, *(worker_socket_path(app_env.socket, c) for c in children)]
        deadline = time.monotonic() + 30
        while sorted(list_sockets(app_env.socket)) != sorted(expected):
            assert time.monotonic() < deadline, list_sockets(app_env.socket)
            time.sleep(0.05)
        shown = app_env.rx("module show", "--json")
        assert shown.returncode == 0, shown.stderr
        assert sorted(r["pid"] for r in json.loads(shown.stdout)) == sorted([proc.pid, *children])
        # Fresh locks: a module operation runs in a child, and only there.
        unload = app_env.rx("module unload res_user", "-p", str(children[0]))
        assert (unload.returncode, unload.stdout) == (0, "Unloaded res_user\n"), unload.stderr
        load = app_env.rx("module load res_user", "-p", str(children[0]))
        assert load.returncode == 0, load.stdout + load.stderr
        # The chosen socket is the parent's alone.
        mine = app_env.run(
            [*_apps.modloader_command(), "-s", chosen, "-rx", "module show", "--json"]
        )
        assert mine.returncode == 0
        os.kill(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "serves none" in err
        assert list_sockets(app_env.socket) == []
        assert not os.path.exists(chosen)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
