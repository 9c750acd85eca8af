"""Several processes of one namespace, each with its own control socket, reached by ``-rx``.

Real ``modloader`` processes over real installed distributions, real sockets
in a private runtime folder, real signals (SIGKILL for a process that died,
SIGSTOP for one that hangs).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modloader._control.checks import is_listening
from modloader._control.workers import list_sockets
from modloader._control.workers import worker_socket_path
from tests import _apps
from tests._apps import AppEnv


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _apps.lay_plugins(tmp_path_factory.mktemp("site-packages"))


@pytest.fixture
def app_env(site: Path, tmp_path: Path) -> Iterator[AppEnv]:
    with _apps.app_env(site, tmp_path) as env:
        yield env


class Fleet:
    """``modloader -n itest.served`` processes sharing the namespace's folder."""

    def __init__(self, env: AppEnv) -> None:
        self.env = env
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, count: int = 1) -> list[int]:
        started = []
        for _ in range(count):
            proc = self.env.popen(
                [*_apps.modloader_command(), "-n", _apps.NAMESPACE, "-C", str(self.env.conf)]
            )
            self.procs.append(proc)
            started.append(proc.pid)
            self.wait_listening(proc)
        return started

    def wait_listening(self, proc: subprocess.Popen[str], timeout: float = 60) -> None:
        """Until ``proc`` answers on a socket of the namespace."""
        deadline = time.monotonic() + timeout
        mine = {self.env.socket, worker_socket_path(self.env.socket, proc.pid)}
        while True:
            if any(is_listening(path) and self.owner(path) == proc.pid for path in mine):
                return
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                out, err = proc.communicate()
                raise AssertionError(f"pid {proc.pid} never served: {out}\n{err}")
            time.sleep(0.05)

    @staticmethod
    def owner(path: str) -> int | None:
        from modloader._control.client import ControlClient

        try:
            with ControlClient(path, connect_timeout=1.0, private_folder=True) as client:
                return client.peer_pid
        except Exception:
            return None

    def pids(self) -> list[int]:
        return [proc.pid for proc in self.procs if proc.poll() is None]

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)
                proc.terminate()
        for proc in self.procs:
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()


@pytest.fixture
def fleet(app_env: AppEnv) -> Iterator[Fleet]:
    fleet = Fleet(app_env)
    try:
        yield fleet
    finally:
        fleet.stop()


def sections(text: str) -> dict[int, str]:
    """``== pid N ==`` sections of a fan-out's output, by pid."""
    parts = re.split(r"^== pid (\d+)(?:: failed)? ==\n", text, flags=re.M)
    return {int(pid): body for pid, body in zip(parts[1::2], parts[2::2], strict=True)}


def test_each_process_has_its_own_owner_only_socket(fleet: Fleet, app_env: AppEnv) -> None:
    first, second, third = fleet.start(3)
    paths = list_sockets(app_env.socket)
    assert paths == [
        app_env.socket,
        *sorted(
            (worker_socket_path(app_env.socket, pid) for pid in (second, third)),
            key=lambda p: int(p.rsplit("@", 1)[1][:-5]),
        ),
    ]
    assert [fleet.owner(path) for path in paths] == [first, second, third]
    for path in paths:
        assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert oct(os.stat(os.path.dirname(app_env.socket)).st_mode & 0o777) == "0o700"


def test_rx_runs_on_every_process_with_a_section_per_pid(fleet: Fleet, app_env: AppEnv) -> None:
    pids = fleet.start(3)
    done = app_env.rx("module show")
    assert done.returncode == 0, done.stderr
    found = sections(done.stdout)
    assert sorted(found) == sorted(pids)
    for body in found.values():
        assert "2 modules loaded" in body
    assert done.stdout.endswith("All 3 processes show the same modules.\n")


def test_p_picks_one_and_show_says_where_they_differ(fleet: Fleet, app_env: AppEnv) -> None:
    pids = fleet.start(3)
    one = app_env.rx("module unload res_user", "-p", str(pids[1]))
    assert (one.returncode, one.stdout) == (0, "Unloaded res_user\n"), one.stderr
    shown = app_env.rx("module show")
    assert shown.returncode == 0
    # Sections come in socket order: the namespace's (the first to start), then by pid.
    assert shown.stdout.splitlines()[-1] == (
        f"Processes differ: res_user status (Running: pids {pids[0]}, {pids[2]}; "
        f"not shown: pid {pids[1]})"
    )
    # -r -p PID: the console attaches to that process's socket.
    from modloader._control.workers import socket_of

    assert socket_of(app_env.socket, pids[0]) == app_env.socket
    assert socket_of(app_env.socket, pids[2]) == worker_socket_path(app_env.socket, pids[2])
    missing = app_env.rx("module show", "-p", "999999999")
    assert missing.returncode == 1
    assert "no process 999999999 answers" in missing.stderr


def test_json_is_a_list_with_each_pid(fleet: Fleet, app_env: AppEnv) -> None:
    pids = fleet.start(2)
    done = app_env.rx("module show", "--json")
    assert done.returncode == 0, done.stderr
    replies = json.loads(done.stdout)
    assert sorted(reply["pid"] for reply in replies) == sorted(pids)
    for reply in replies:
        assert reply["schema"] == 1
        assert (reply["ok"], reply["exit_code"], reply["command"]) == (True, 0, "module show")
        assert reply["data"]["count"] == 2
    failed = app_env.rx("module unload res_none", "--json")
    assert failed.returncode == 1
    assert [reply["ok"] for reply in json.loads(failed.stdout)] == [False, False]


def test_one_process_keeps_the_single_host_output(fleet: Fleet, app_env: AppEnv) -> None:
    (pid,) = fleet.start(1)
    done = app_env.rx("module show")
    assert done.returncode == 0
    assert "== pid" not in done.stdout
    assert done.stdout.endswith("2 modules loaded\n")
    structured = json.loads(app_env.rx("module show", "--json").stdout)
    assert (structured["pid"], structured["data"]["count"]) == (pid, 2)


def test_a_dead_process_is_skipped_and_its_socket_cleaned(fleet: Fleet, app_env: AppEnv) -> None:
    first, second, third = fleet.start(3)
    dead = worker_socket_path(app_env.socket, second)
    os.kill(second, signal.SIGKILL)
    fleet.procs[1].wait(30)
    assert os.path.exists(dead)  # SIGKILL: nobody removed it
    done = app_env.rx("module show")
    assert done.returncode == 0, done.stderr
    assert sorted(sections(done.stdout)) == sorted([first, third])
    fleet.start(1)
    assert not os.path.exists(dead)


def test_the_namespace_socket_of_a_dead_process_goes_to_the_next(
    fleet: Fleet, app_env: AppEnv
) -> None:
    first, second = fleet.start(2)
    os.kill(first, signal.SIGKILL)
    fleet.procs[0].wait(30)
    alone = app_env.rx("module show")  # only the worker socket answers
    assert alone.returncode == 0 and "== pid" not in alone.stdout, alone.stderr
    (third,) = fleet.start(1)
    assert fleet.owner(app_env.socket) == third
    assert sorted(sections(app_env.rx("module show").stdout)) == sorted([second, third])


def test_a_hung_process_is_bounded_and_named(fleet: Fleet, app_env: AppEnv) -> None:
    first, second = fleet.start(2)
    os.kill(second, signal.SIGSTOP)
    try:
        started = time.monotonic()
        done = app_env.rx("module show", "--timeout", "1")
        took = time.monotonic() - started
    finally:
        os.kill(second, signal.SIGCONT)
    assert done.returncode == 1
    found = sections(done.stdout)
    assert "2 modules loaded" in found[first]
    assert found[second] == f"pid {second}: no reply from the host within 1 s\n"
    assert took < 30
    # The one process, by -p: said as a single host's error is.
    os.kill(second, signal.SIGSTOP)
    try:
        alone = app_env.rx("module show", "--timeout", "1", "-p", str(second))
    finally:
        os.kill(second, signal.SIGCONT)
    assert alone.returncode == 1
    assert alone.stderr.strip().splitlines()[-1] == "modloader: no reply from the host within 1 s"


def test_a_chosen_socket_is_still_one_hosts(fleet: Fleet, app_env: AppEnv) -> None:
    path = os.path.join(os.path.dirname(app_env.socket), "chosen.sock")
    command = [*_apps.modloader_command(), "-n", _apps.NAMESPACE, "-C", str(app_env.conf)]
    first = app_env.popen([*command, "-s", path])
    fleet.procs.append(first)
    _apps.wait_for_socket(path, first)
    second = app_env.run([*command, "-s", path])
    assert second.returncode == 1
    assert "already listening" in second.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-p", "12", "-x", "module show"], "-p picks a running process: use it with -r or -rx"),
        (["-s", "/s", "-p", "12", "-rx", "m"], "-p picks one of the namespace's processes"),
        (["-p", "0", "-rx", "module show"], "-p needs a process id, not 0"),
        (["--timeout", "0", "-rx", "m"], "--timeout needs a positive number of seconds"),
        (["--timeout", "1e300", "-rx", "m"], "(at most 9.22337e+09), not 1e+300"),
    ],
    ids=["not-remote", "with-s", "zero-pid", "zero-timeout", "endless-timeout"],
)
def test_p_and_timeout_are_checked(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from modloader import main

    assert main(argv) == 1
    assert message in capsys.readouterr().err


# -- RemoteHost.every: the same processes, from Python ------------------------------------


def test_every_gives_a_remote_host_for_each_process(
    fleet: Fleet, app_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modloader import RemoteHost
    from modloader import UnloadMode

    monkeypatch.setenv("XDG_RUNTIME_DIR", app_env.env["XDG_RUNTIME_DIR"])
    first, second, third = fleet.start(3)
    remotes = RemoteHost.every(_apps.NAMESPACE)
    try:
        # The namespace's socket first, then the workers' by pid: -rx's order.
        assert [r.pid for r in remotes] == [first, *sorted([second, third])]
        assert [r.path for r in remotes] == list_sockets(app_env.socket)
        for remote in remotes:
            assert remote.unload("res_user", UnloadMode.FIRM).name == "res_user"
    finally:
        for remote in remotes:
            remote.close()
    # Done in every process: -rx sees it everywhere.
    shown = sections(app_env.rx("module show like res_user").stdout)
    assert sorted(shown) == sorted([first, second, third])
    assert all("0 modules loaded" in body for body in shown.values())


def test_every_skips_a_dead_process_and_says_when_none_answers(
    fleet: Fleet, app_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modloader import RemoteHost
    from modloader.errors import ConnectError

    monkeypatch.setenv("XDG_RUNTIME_DIR", app_env.env["XDG_RUNTIME_DIR"])
    with pytest.raises(ConnectError) as caught:
        RemoteHost.every(_apps.NAMESPACE)  # nothing started yet
    assert caught.value.path == app_env.socket
    first, second = fleet.start(2)
    os.kill(second, signal.SIGKILL)
    fleet.procs[1].wait(30)
    assert os.path.exists(worker_socket_path(app_env.socket, second))  # left behind
    remotes = RemoteHost.every(_apps.NAMESPACE)
    try:
        assert [r.pid for r in remotes] == [first]
    finally:
        for remote in remotes:
            remote.close()


def test_every_refuses_a_folder_others_may_write(
    fleet: Fleet, app_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modloader import RemoteHost
    from modloader.errors import AccessDeniedError

    monkeypatch.setenv("XDG_RUNTIME_DIR", app_env.env["XDG_RUNTIME_DIR"])
    fleet.start(1)
    folder = os.path.dirname(app_env.socket)
    os.chmod(folder, 0o777)  # noqa: S103 - the unsafe folder is what is tested
    try:
        with pytest.raises(AccessDeniedError, match="others may write to it"):
            RemoteHost.every(_apps.NAMESPACE)
    finally:
        os.chmod(folder, 0o700)
    with pytest.raises(TypeError, match="every"):
        RemoteHost.every(None)  # type: ignore[arg-type]
