"""``Host.serve()``: an application serves its operators with the public API alone.

The application is a script of its own process over real installed
distributions; the operator is the real ``modloader`` command on the real
socket, found from the namespace alone (no ``-s``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modloader import ControlSocket
from modloader import Host
from modloader import HostStateError
from modloader.errors import SocketInUseError
from modloader.testing import module_host
from tests import _apps
from tests._apps import AppEnv
from tests._apps import wait_for_socket

#: The snippet of docs/embedding.md, with the configuration path from the command line.
APP = textwrap.dedent(
    """
    import signal
    import sys

    import modloader

    host = modloader.Host("itest.served", config_path=sys.argv[1], env_prefix="APP_")
    host.start()
    for signum in (signal.SIGTERM, signal.SIGINT):  # as the modloader command does
        signal.signal(signum, lambda signum, frame: host.request_stop())
    with host.serve():
        graceful = host.wait_for_stop()
    print("stopped:", host.stop(graceful=graceful is not False), flush=True)
    """
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _apps.lay_plugins(tmp_path_factory.mktemp("site-packages"))


@pytest.fixture
def app_env(site: Path, tmp_path: Path) -> Iterator[AppEnv]:
    with _apps.app_env(site, tmp_path) as env:
        yield env


def _start_app(app_env: AppEnv) -> subprocess.Popen[str]:
    script = app_env.tmp / "app.py"
    script.write_text(APP, encoding="utf-8")
    proc = app_env.popen([sys.executable, str(script), str(app_env.conf)])
    wait_for_socket(app_env.socket, proc)
    return proc


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"the application did not stop:\n{out}\n{err}") from None
    return proc.returncode, out, err


def test_modloader_rx_reaches_the_app_and_core_stop_stops_it(app_env: AppEnv) -> None:
    proc = _start_app(app_env)
    try:
        shown = app_env.rx("module show")
        assert shown.returncode == 0, shown.stderr
        lines = shown.stdout.splitlines()
        assert lines[0].split()[:2] == ["Module", "Description"]
        rows = {line.split()[0]: line for line in lines[1:-1]}
        assert sorted(rows) == ["res_base", "res_user"]
        assert "The base resource" in rows["res_base"]
        assert all("Running" in row for row in rows.values())
        assert lines[-1] == "2 modules loaded"
        # A module's own command, on the application's host.
        greeted = app_env.rx("itest greet ada")
        assert (greeted.returncode, greeted.stdout) == (0, "hello from res_user ada\n")

        stopping = app_env.rx("core stop gracefully")
        assert (stopping.returncode, stopping.stdout) == (0, "Stopping gracefully.\n")
        code, out, err = _finish(proc)
    finally:
        proc.kill()
    assert code == 0, err
    assert out == "stopped: ['res_user', 'res_base']\n"
    assert app_env.lifecycle() == [
        "load res_base",
        "load res_user",
        "unload res_user",
        "unload res_base",
    ]
    assert not os.path.exists(app_env.socket)
    gone = app_env.rx("module show")
    assert gone.returncode == 1
    assert "Unable to connect to remote modloader" in gone.stderr


def test_core_stop_now_stops_without_unloading(app_env: AppEnv) -> None:
    proc = _start_app(app_env)
    try:
        stopping = app_env.rx("core stop now")
        assert (stopping.returncode, stopping.stdout) == (0, "Stopping now.\n")
        code, out, err = _finish(proc)
    finally:
        proc.kill()
    assert (code, out) == (0, "stopped: []\n"), err
    assert app_env.lifecycle() == ["load res_base", "load res_user"]
    assert not os.path.exists(app_env.socket)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_a_signal_in_the_snippet_stops_gracefully(app_env: AppEnv, signum: int) -> None:
    proc = _start_app(app_env)
    try:
        proc.send_signal(signum)
        code, out, err = _finish(proc)
    finally:
        proc.kill()
    assert (code, out) == (0, "stopped: ['res_user', 'res_base']\n"), err
    assert not os.path.exists(app_env.socket)


# -- in this process -------------------------------------------------------------------


class _Plain:
    def load(self, ctx: object) -> None:
        pass


@pytest.fixture
def host() -> Host:
    return module_host({"res_plain": _Plain}, namespace="itest.inproc")


@pytest.fixture
def sock() -> Iterator[str]:
    folder = tempfile.mkdtemp(prefix="mlt-")  # short: a socket path holds 103 bytes
    yield os.path.join(folder, "h.sock")
    shutil.rmtree(folder, ignore_errors=True)


def test_serve_is_a_context_manager_and_close_is_idempotent(host: Host, sock: str) -> None:
    from modloader._control.client import ControlClient

    with host.serve(sock) as control:
        assert host.wait_for_stop(0) is None  # this application waits for requests
        assert isinstance(control, ControlSocket)
        assert control.path == sock
        assert not control.closed
        assert control.accepting
        with ControlClient(sock, timeout=5) as client:
            assert "res_plain" in client.execute("module show").output
            assert client.execute("core stop gracefully").output == "Stopping gracefully."
        assert host.wait_for_stop(5) is True
    assert control.closed
    assert not control.accepting
    assert not os.path.exists(sock)
    control.close()  # again: nothing happens
    assert repr(control) == f"<ControlSocket {sock!r} closed>"
    host.stop()


def test_a_command_in_progress_at_the_close_finishes_and_is_answered(sock: str) -> None:
    """As the stop of the modloader command closes the socket: a module load that takes
    longer than two seconds lost its reply (the connection was cut at two)."""
    import threading
    import time

    from modloader._control.client import execute_remote

    class Slow:
        def load(self, ctx: Any) -> None:
            ctx.register_command("slow", lambda args: time.sleep(2.5) or "done")

    host = module_host({"res_slow": Slow}, namespace="itest.inproc", module_timeout=1)
    control = host.serve(sock)
    answers: list[Any] = []
    client = threading.Thread(target=lambda: answers.append(execute_remote(sock, "slow")))
    client.start()
    time.sleep(0.5)  # the command runs
    control.close()  # waits for it: the host's module_timeout and 5 s more
    client.join(10)
    assert [a.output for a in answers] == ["done"]
    control.close(timeout=0)  # again: nothing happens
    host.stop()


def test_serve_refuses_a_host_that_is_not_running(sock: str) -> None:
    host = module_host({}, namespace="itest.inproc", start=False)
    with pytest.raises(HostStateError, match="cannot serve a host that is created; start it"):
        host.serve(sock)
    host.start()
    host.stop()
    with pytest.raises(HostStateError, match="cannot serve a host that is stopped"):
        host.serve(sock)
    assert not os.path.exists(sock)


def test_serve_refuses_a_live_socket(host: Host, sock: str) -> None:
    with host.serve(sock), pytest.raises(SocketInUseError, match="already listening"):
        host.serve(sock)
    host.stop()


def test_serve_names_a_wrong_path_type(host: Host) -> None:
    with pytest.raises(TypeError, match=r"serve\(path=...\) must be a str or os.PathLike"):
        host.serve(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"serve\(path=...\) must be a str or os.PathLike"):
        host.serve(b"/tmp/x.sock")  # type: ignore[arg-type]
    host.stop()


@pytest.mark.parametrize("path", ["", "/tmp/a\0b"])
def test_serve_refuses_an_empty_path_or_one_with_a_nul(host: Host, path: str) -> None:
    """An empty path was a bare ``FileNotFoundError: ''``."""
    with pytest.raises(ValueError, match=r"^serve\(path=...\) must be a socket path"):
        host.serve(path)
    assert host.run("module show").ok  # the host goes on
    host.stop()


def test_default_path_is_the_namespace_socket(
    host: Host, monkeypatch: pytest.MonkeyPatch, sock: str
) -> None:
    runtime = os.path.dirname(sock)
    monkeypatch.setenv("XDG_RUNTIME_DIR", runtime)
    with host.serve() as control:
        assert control.path == os.path.join(runtime, "modloader", "itest.inproc.sock")
        assert oct(os.stat(control.path).st_mode & 0o777) == "0o600"
        assert oct(os.stat(Path(control.path).parent).st_mode & 0o777) == "0o700"
    host.stop()


#: Every module operation from Python, typed, then served until ``core stop``.
TYPED_APP = textwrap.dedent(
    """
    import json
    import sys

    import modloader

    host = modloader.Host("itest.served", config_path=sys.argv[1], env_prefix="APP_")
    host.start()
    facts = {}
    infos = host.list_modules()
    assert all(isinstance(info, modloader.ModuleInfo) for info in infos)
    facts["modules"] = {info.name: [info.status, info.use_count] for info in infos}
    try:
        host.unload("res_base")
    except modloader.ModuleInUseError as exc:
        facts["in_use"] = [exc.name, exc.use_count, list(exc.holders)]
    unloaded = host.unload("res_user")
    assert isinstance(unloaded, modloader.UnloadOutcome)
    facts["unloaded"] = [unloaded.name, unloaded.mode.name]
    loaded = host.load("res_user")
    assert isinstance(loaded, modloader.LoadOutcome)
    facts["loaded"] = loaded.name
    refreshed = host.refresh("res_base", recursive=True)
    assert isinstance(refreshed, modloader.RefreshOutcome)
    facts["refreshed"] = [refreshed.name, [o.name for o in refreshed.dependents_loaded]]
    forced = host.unload("res_base", mode=modloader.UnloadMode.FIRM)
    facts["forced"] = [forced.name, list(forced.dependents_unloaded)]
    try:
        host.load("res_usr")
    except modloader.NoSuchModuleError as exc:
        facts["missing"] = [exc.name, exc.suggestion]
    try:
        host.load("res_user")
    except modloader.DependencyError as exc:
        facts["dependency"] = [exc.name, sorted(exc.missing)]
    host.load("res_base")
    host.load("res_user")
    facts["after"] = host.get_module("res_base").to_dict()["use_count"]
    print(json.dumps(facts), flush=True)
    with host.serve():
        graceful = host.wait_for_stop()
    host.stop(graceful=graceful is not False)
    """
)


def test_an_application_runs_every_operation_typed_and_serves_its_operators(
    app_env: AppEnv,
) -> None:
    """The public API alone: typed results and errors, ModuleInfo, -rx and core stop."""
    script = app_env.tmp / "typed_app.py"
    script.write_text(TYPED_APP, encoding="utf-8")
    proc = app_env.popen([sys.executable, str(script), str(app_env.conf)])
    try:
        wait_for_socket(app_env.socket, proc)
        shown = app_env.rx("module show")
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.splitlines()[-1] == "2 modules loaded"
        stopped = app_env.rx("core stop gracefully")
        assert stopped.returncode == 0, stopped.stderr
    finally:
        code, out, err = _finish(proc)
    assert code == 0, err
    facts = json.loads(out.splitlines()[0])
    assert facts["modules"] == {"res_base": ["Running", 1], "res_user": ["Running", 0]}
    assert facts["in_use"] == ["res_base", 1, ["res_user"]]
    assert facts["unloaded"] == ["res_user", "SOFT"]
    assert facts["loaded"] == "res_user"
    assert facts["refreshed"] == ["res_base", ["res_user"]]
    assert facts["forced"] == ["res_base", ["res_user"]]
    assert facts["missing"][0] == "res_usr"
    assert facts["missing"][1] == "res_user"
    assert facts["dependency"] == ["res_user", ["res_base"]]
    assert facts["after"] == 1
    assert app_env.lifecycle()[-2:] == ["unload res_user", "unload res_base"]


def test_a_remote_host_makes_the_typed_calls_on_a_modloader_process(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RemoteHost, from this process, on the ``modloader`` command's host in another."""
    from modloader import ModuleInUseError
    from modloader import RemoteHost
    from modloader import UnloadMode

    proc = app_env.popen(
        [*_apps.modloader_command(), "-n", _apps.NAMESPACE, "-C", str(app_env.conf)]
    )
    try:
        wait_for_socket(app_env.socket, proc)
        monkeypatch.setenv("XDG_RUNTIME_DIR", app_env.env["XDG_RUNTIME_DIR"])
        with RemoteHost(_apps.NAMESPACE) as remote:
            assert remote.pid == proc.pid
            with pytest.raises(ModuleInUseError) as caught:
                remote.unload("res_base")
            assert (caught.value.use_count, caught.value.holders) == (1, ("res_user",))
            outcome = remote.unload("res_base", UnloadMode.FIRM)
            assert outcome.dependents_unloaded == ("res_user",)
            assert [m.name for m in remote.list_modules()] == []
            assert remote.load("res_base").name == "res_base"
            assert remote.get_module("res_base").description == "The base resource"
            assert remote.run("core stop gracefully").output == "Stopping gracefully."
        code, _, err = _finish(proc)
    finally:
        proc.kill()
    assert code == 0, err
    assert app_env.lifecycle() == [
        "load res_base",
        "load res_user",
        "unload res_user",
        "unload res_base",
        "load res_base",
        "unload res_base",
    ]
