import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from modloader._cli import main
from modloader._cli.args import Options
from modloader._cli.remote import run_remote
from modloader._control.unix import ControlServer

FAKE_HOST = Path(__file__).resolve().parents[1] / "control" / "fake_host.py"
HEAVY = ("pydantic", "pydantic_settings", "stevedore", "prompt_toolkit", "importlib_metadata")


@pytest.fixture
def host(tmp_path_factory):
    import importlib.util
    import shutil
    import tempfile

    spec = importlib.util.spec_from_file_location("fake_host_cli", FAKE_HOST)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder = tempfile.mkdtemp(prefix="mlr-", dir="/tmp")
    with ControlServer(module.FakeExecutor(), os.path.join(folder, "h.sock")) as server:
        yield server
    shutil.rmtree(folder, ignore_errors=True)


def test_rx_prints_the_output(host, capsys):
    assert main(["-s", host.path, "-rx", "module show like hello"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[-2:] == [out.splitlines()[-2], "1 modules loaded"]
    assert out.splitlines()[-2].startswith("res_hello")
    assert err == ""


def test_rx_failed_command_exits_1(host, capsys):
    assert run_remote(Options(remote=True, socket=host.path, execute="bogus")) == 1
    assert capsys.readouterr().out.endswith("Command 'bogus' failed.\n")


def test_rx_json_prints_the_structured_form(host, capsys):
    assert main(["-s", host.path, "-rx", "echo a b", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "command": "echo a b",
        "ok": True,
        "exit_code": 0,
        "output": "a b",
        "data": ["a", "b"],
        "notes": [],
    }


def test_rx_without_a_host(tmp_path, capsys):
    path = str(tmp_path / "none.sock")
    assert main(["-s", path, "-rx", "module show"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"Unable to connect to remote modloader (does {path} exist?)\n"


def test_rx_without_a_host_json(tmp_path, capsys):
    path = str(tmp_path / "none.sock")
    assert main(["-s", path, "-rx", "module show", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "connect"


@pytest.mark.parametrize("json_flag", [[], ["--json"]], ids=["thin", "full"])
def test_rx_without_a_host_names_the_applications_command(tmp_path, capsys, json_flag):
    """Both clients say it in Asterisk's words, with the command's own name (the full
    client printed ``modloader: Unable to connect to remote modloader ...``)."""
    path = str(tmp_path / "none.sock")
    argv = ["-s", path, "-rx", "module show", *json_flag]
    assert main(argv, prog="myapp", namespace="my.ns") == 1
    out, err = capsys.readouterr()
    said = f"Unable to connect to remote myapp (does {path} exist?)"
    assert err == said + "\n"
    if json_flag:
        assert json.loads(out)["error"] == {"code": "connect", "message": said}


def test_rx_default_socket_follows_the_namespace(monkeypatch, host, capsys):
    monkeypatch.setenv("XDG_RUNTIME_DIR", os.path.dirname(os.path.dirname(host.path)))
    folder = os.path.join(os.path.dirname(os.path.dirname(host.path)), "modloader")
    os.makedirs(folder, exist_ok=True)
    os.symlink(host.path, os.path.join(folder, "my.ns.sock"))
    try:
        assert main(["-n", "my.ns", "-rx", "echo found"]) == 0
    finally:
        os.unlink(os.path.join(folder, "my.ns.sock"))
    assert capsys.readouterr().out == "found\n"


def test_rx_imports_nothing_heavy(host):
    code = "import sys; from modloader._cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, "-s", host.path, "-rx", "module show"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "4 modules loaded"
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "modloader" in imported  # the measurement works
    assert sorted(imported & set(HEAVY)) == []


def test_fast_path_parses_only_plain_rx() -> None:
    from modloader._cli.rx import _parse

    assert _parse(["-rx", "module show"]) == ("modloader.modules", "module show", None)
    assert _parse(["-n", "a.b", "-r", "-x", "core show help", "-s", "/s"]) == (
        "a.b",
        "core show help",
        "/s",
    )
    assert _parse(["-rx", "module show", "--json"]) is None
    assert _parse(["-r"]) is None  # the console is the full client's
    assert _parse(["-x", "module show"]) is None  # not remote
    for refused in (["-s", ""], ["-n", ""], ["-n", " "]):  # the full parser says why
        assert _parse([*refused, "-rx", "module show"]) is None
    assert _parse(["-rx", " "]) is None


# -- whom the client talks to -------------------------------------------------------------

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")

#: The three remote clients: the thin -rx path, the full one (--json), the console (-r).
CLIENTS = {
    "rx-thin": lambda where: main([*where, "-rx", "module unload res_hello"]),
    "rx-full": lambda where: main([*where, "-rx", "module unload res_hello", "--json"]),
    "console": lambda where: main([*where, "-r"]),
}


def _fake_host_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("fake_host_cli", FAKE_HOST)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def short_tmp():
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="mlr-", dir="/tmp")
    os.chmod(folder, 0o755)  # noqa: S103 - another user may reach what is inside
    yield Path(folder)
    shutil.rmtree(folder, ignore_errors=True)


@needs_root
@pytest.mark.parametrize("client", list(CLIENTS))
def test_a_server_of_another_user_is_never_sent_anything(short_tmp, client, capsys):
    shared = short_tmp / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # a folder both may use, as /tmp: the folder check passes
    path = str(shared / "h.sock")
    finish = _fake_host_module().impostor(path)
    status = CLIENTS[client](["-s", path])
    assert finish() == b""  # not one byte reached the impostor
    out, err = capsys.readouterr()
    assert status == 1
    assert "pwned" not in out and "\x1b" not in out
    assert f"refusing to talk to {path}: the process listening there" in err
    assert "runs as uid 65534, neither this user (uid 0) nor root" in err


@needs_root
@pytest.mark.parametrize("client", list(CLIENTS))
def test_a_default_folder_made_by_another_user_is_refused(short_tmp, client, monkeypatch, capsys):
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(short_tmp))
    folder = short_tmp / "modloader-0"  # the fallback folder, made first by uid 65534
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    finish = _fake_host_module().impostor(str(folder / "my.ns.sock"))
    status = CLIENTS[client](["-n", "my.ns"])
    assert finish() == b""
    out, err = capsys.readouterr()
    assert status == 1
    assert "pwned" not in out
    assert f"refusing {folder} for the control socket: it belongs to uid 65534" in err


def _listener(path):
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    sock.listen(1)
    sock.setblocking(False)
    return sock


@pytest.mark.parametrize("client", list(CLIENTS))
@pytest.mark.parametrize("damage", ["world-writable", "symlink"])
def test_an_unsafe_default_folder_is_refused_before_connecting(
    short_tmp, client, damage, monkeypatch, capsys
):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(short_tmp))
    folder = short_tmp / "modloader"
    if damage == "symlink":
        real = short_tmp / "elsewhere"
        real.mkdir(mode=0o700)
        folder.symlink_to(real)
    else:
        folder.mkdir()
        folder.chmod(0o777)
    listener = _listener(str(folder / "my.ns.sock"))
    try:
        status = CLIENTS[client](["-n", "my.ns"])
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody even connected
    finally:
        listener.close()
    err = capsys.readouterr().err
    assert status == 1
    reason = "it is not a folder" if damage == "symlink" else "others may write to it (mode 0777"
    assert f"refusing {folder} for the control socket: {reason}" in err


# -- what the client shows ----------------------------------------------------------------


class _Hostile:
    """An executor whose output holds escape sequences and text that is not valid UTF-8."""

    def execute(self, line):
        from modloader._commands.base import CommandResult

        return CommandResult(
            line=line, output="\x1b]0;owned\x07title\x1b[2J\tcol\r\nnext \udcff \u202eevil"
        )

    def complete(self, line):
        return []


SHOWN = "\\x1b]0;owned\\x07title\\x1b[2J\tcol\\x0d\nnext \\udcff \\u202eevil\n"


@pytest.mark.parametrize("how", ["thin", "full"])
def test_control_characters_from_the_host_are_escaped(short_tmp, how, capsys):
    with ControlServer(_Hostile(), str(short_tmp / "h.sock")) as server:
        if how == "thin":
            status = main(["-s", server.path, "-rx", "anything"])
        else:
            status = run_remote(Options(remote=True, socket=server.path, execute="anything"))
    out, err = capsys.readouterr()
    assert (status, out, err) == (0, SHOWN, "")


class _Worded:
    """An executor whose output is ordinary text that is not ASCII."""

    def __init__(self, output):
        self.output = output

    def execute(self, line):
        from modloader._commands.base import CommandResult

        return CommandResult(line=line, output=self.output)

    def complete(self, line):
        return []


@pytest.mark.parametrize("how", ["thin", "full"])
@pytest.mark.parametrize(
    "text",
    ["caf\u00e9 \u6f22\u5b57 na\u0308ive", "beyond U+FFFF: \U0001f600 \u00e9"],
    ids=["escaped-on-the-wire", "utf-8-on-the-wire"],
)
def test_text_that_is_not_ascii_is_shown_as_it_is(short_tmp, how, text, capsys):
    with ControlServer(_Worded(text), str(short_tmp / "h.sock")) as server:
        if how == "thin":
            status = main(["-s", server.path, "-rx", "anything"])
        else:
            status = run_remote(Options(remote=True, socket=server.path, execute="anything"))
    out, err = capsys.readouterr()
    assert (status, out, err) == (0, text + "\n", "")


def test_json_keeps_the_exact_text(short_tmp, capsys):
    with ControlServer(_Hostile(), str(short_tmp / "h.sock")) as server:
        assert main(["-s", server.path, "-rx", "anything", "--json"]) == 0
    output = json.loads(capsys.readouterr().out)["output"]
    assert output.startswith("\x1b]0;owned\x07title") and "\\udcff" in output


# -- replies of any size, undecodable requests, a host that goes away ---------------------


@pytest.mark.parametrize("how", ["thin", "full"])
def test_a_reply_over_16_mb_is_read_whole(host, how, capsys):
    size = 20 * 1024 * 1024
    if how == "thin":
        status = main(["-s", host.path, "-rx", f"big {size}"])
    else:
        status = run_remote(Options(remote=True, socket=host.path, execute=f"big {size}"))
    out, err = capsys.readouterr()
    assert (status, len(out), err) == (0, size + 1, "")


def test_the_thin_client_caps_a_reply_with_a_clear_message(host, monkeypatch, capsys):
    from modloader._cli import rx

    monkeypatch.setattr(rx, "MAX_REPLY", 1024 * 1024)
    assert main(["-s", host.path, "-rx", "big 3000000"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"modloader: the reply is longer than {1024 * 1024} bytes; not reading further\n"


@pytest.mark.parametrize("how", ["thin", "full"])
def test_an_undecodable_command_is_not_run(host, how, capsys):
    line = "module unload res_hello x\udcff"  # what argv makes of the byte 0xff
    if how == "thin":
        status = main(["-s", host.path, "-rx", line])
    else:
        status = main(["-s", host.path, "-rx", line, "--json"])
    err = capsys.readouterr().err
    assert status == 1
    said = "'line' holds bytes that are not UTF-8 text (sent as a lone surrogate); nothing was run"
    assert said in err
    assert host.executor.lines == []


@pytest.mark.parametrize("how", ["thin", "full"])
def test_a_host_that_hangs_up_is_said_to_be_stopping(short_tmp, how, capsys):
    import threading

    path = str(short_tmp / "h.sock")
    listener = _listener(path)
    listener.setblocking(True)

    def hang_up():
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.close()  # as a host does when it stops in the middle of a request

    thread = threading.Thread(target=hang_up)
    thread.start()
    try:
        if how == "thin":
            status = main(["-s", path, "-rx", "echo hi"])
        else:
            status = run_remote(Options(remote=True, socket=path, execute="echo hi"))
    finally:
        thread.join(5)
        listener.close()
    err = capsys.readouterr().err
    assert status == 1
    assert "malformed" not in err
    assert "the host closed the connection without a reply (it may be stopping)" in err


@pytest.mark.parametrize("how", ["thin", "full"])
def test_a_refusal_sent_before_the_request_is_read_whatever_the_timing(
    short_tmp, how, monkeypatch, capsys
):
    """A host at its limit of clients answers a new one with a refusal and hangs up
    without reading: the request's send then fails (EPIPE); the reply is still there."""
    import socket
    import threading

    from modloader._cli import rx
    from modloader._control import client

    path = str(short_tmp / "h.sock")
    listener = _listener(path)
    listener.setblocking(True)
    refused = threading.Event()
    refusal = b'{"v":1,"id":0,"ok":false,"exit_code":1,"error":{"code":"control",'
    refusal += b'"message":"too many clients (at most 64); try again"}}\n'

    def refuse():
        conn, _ = listener.accept()
        conn.sendall(refusal)
        conn.shutdown(socket.SHUT_RDWR)
        conn.close()
        refused.set()

    def after_the_refusal(*args: object) -> None:  # the send comes after the hang-up
        assert refused.wait(5)

    monkeypatch.setattr(rx, "_check_peer", after_the_refusal)
    monkeypatch.setattr(client, "_check_server", after_the_refusal)
    thread = threading.Thread(target=refuse)
    thread.start()
    try:
        if how == "thin":
            status = main(["-s", path, "-rx", "module show"])
        else:
            status = run_remote(Options(remote=True, socket=path, execute="module show"))
    finally:
        thread.join(5)
        listener.close()
    err = capsys.readouterr().err
    assert status == 1
    assert "too many clients (at most 64); try again" in err, err


@pytest.mark.parametrize("how", ["thin", "full", "full-json"])
def test_a_host_that_does_not_answer_is_given_up_whatever_the_socket(
    short_tmp, how, monkeypatch, capsys
):
    """A hung or stopped (SIGSTOP) host: the kernel takes the connection and the request,
    and nothing answers. ``-rx`` gives up after REPLY_TIMEOUT with ``-s`` too, and says
    so in the name of the application's own command."""
    import threading
    import time

    from modloader._cli import remote
    from modloader._cli import rx
    from modloader._cli.args import Profile

    monkeypatch.setattr(rx, "REPLY_TIMEOUT", 0.5)
    monkeypatch.setattr(remote, "REPLY_TIMEOUT", 0.5)
    path = str(short_tmp / "h.sock")
    listener = _listener(path)
    listener.setblocking(True)
    done = threading.Event()

    def say_nothing():
        conn, _ = listener.accept()
        conn.recv(65536)
        done.wait(10)  # then hangs up: a client that waits for good fails, not hangs
        conn.close()

    thread = threading.Thread(target=say_nothing)
    thread.start()
    began = time.monotonic()
    app = {"prog": "myapp", "namespace": "my.ns"}
    try:
        if how == "thin":
            status = main(["-s", path, "-rx", "module show"], **app)
        elif how == "full":
            options = Options(remote=True, socket=path, execute="module show")
            status = run_remote(options._replace(profile=Profile(**app)))
        else:
            status = main(["-s", path, "-rx", "module show", "--json"], **app)
    finally:
        took = time.monotonic() - began
        done.set()
        thread.join(5)
        listener.close()
    out, err = capsys.readouterr()
    assert status == 1 and took < 5
    assert err == "myapp: no reply from the host within 0.5 s\n"
    if how == "full-json":
        assert json.loads(out)["error"] == {
            "code": "timeout",  # as the namespace's fan-out says it (it was "control")
            "message": "no reply from the host within 0.5 s",
        }


def _closed(streams, *args):
    """``modloader ARGS`` started with ``streams`` closed (``>&-``), as by a daemon or cron."""
    framework = str(Path(__file__).resolve().parents[2] / "framework")
    env = {**os.environ, "PYTHONPATH": framework}
    shell = 'exec "$@" ' + " ".join(f"{fd}>&-" for fd in streams)
    return subprocess.run(
        ["sh", "-c", shell, "sh", sys.executable, "-m", "modloader", *args],
        env=env,
        stdout=subprocess.PIPE if 1 not in streams else None,
        stderr=subprocess.PIPE if 2 not in streams else None,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("streams", [(1,), (1, 2), (0, 1, 2)])
def test_rx_with_its_standard_streams_closed(host, streams):
    """With stdout closed, printing the reply was an ``AttributeError`` traceback (exit 1)."""
    done = _closed(streams, "-s", host.path, "-rx", "echo hi")
    assert done.returncode == 0
    assert done.stderr in (None, b"")
    failed = _closed(streams, "-s", host.path, "-rx", "bogus")
    assert failed.returncode == 1  # the command's status, not a crash's


def test_a_local_command_with_stdout_closed(tmp_path, monkeypatch):
    monkeypatch.setenv("MODLOADER_CACHE_DIR", str(tmp_path))
    done = _closed((1,), "--cache", "show")
    assert done.returncode == 0
    assert done.stderr == b""


def test_minus_r_capital_reconnects_to_a_restarted_host() -> None:
    """Asterisk's ``-R``: the console outlives a restart of the host. ``-r`` ends there
    (``Disconnected from the host``), and so did every remote console before."""
    import shutil
    import signal
    import tempfile
    import threading
    import time

    from tests._apps import modloader_command

    folder = tempfile.mkdtemp(prefix="mlR-", dir="/tmp")  # a short path for the socket
    sock = os.path.join(folder, "c.sock")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "framework")}

    def host() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [*modloader_command(), "-n", "itest.reconnect", "-s", sock],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while not os.path.exists(sock):
            assert proc.poll() is None and time.monotonic() < deadline, "the host did not start"
            time.sleep(0.02)
        return proc

    first = host()
    console = subprocess.Popen(
        [*modloader_command(), "-s", sock, "-R"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    said: list[str] = []
    reader = threading.Thread(target=lambda: said.extend(console.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()

    def wait_for(text: str) -> None:
        deadline = time.monotonic() + 30
        while not any(text in line for line in said):
            assert time.monotonic() < deadline, f"no {text!r} in {said}"
            time.sleep(0.02)

    second = None
    try:
        wait_for(f"(pid = {first.pid})")
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=30)
        wait_for("Attempting to reconnect for 30 seconds")
        second = host()
        wait_for("Reconnect succeeded after")
        wait_for(f"(pid = {second.pid})")  # a new console, greeting the new host
        assert console.stdin is not None
        console.stdin.write("module show\n")
        console.stdin.flush()
        wait_for("0 modules loaded")
        console.stdin.write("exit\n")
        console.stdin.flush()
        assert console.wait(timeout=30) == 0
    finally:
        for proc in (first, second, console):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        reader.join(10)
        for pipe in (console.stdin, console.stdout):
            if pipe is not None:
                pipe.close()
        shutil.rmtree(folder, ignore_errors=True)
    text = "".join(said)
    assert text.index("Disconnected from the host") < text.index("Attempting to reconnect")


def test_minus_r_capital_gives_up_after_its_time(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from modloader._cli import remote
    from modloader._control.client import ControlClient

    monkeypatch.setattr(remote, "RECONNECT_SECONDS", 0.3)
    monkeypatch.setattr(remote, "RECONNECT_EVERY", 0.05)
    assert remote._reconnect(ControlClient(str(tmp_path / "nobody.sock"))) is None
    assert capsys.readouterr().out == (
        "Attempting to reconnect for 0.3 seconds\nFailed to reconnect for 0.3 seconds. Quitting.\n"
    )
