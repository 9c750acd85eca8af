"""The server against hostile or unlucky clients: slow lines, undecodable text, ids, stopping."""

import json
import logging
import os
import socket
import threading
import time

import pytest

from modloader._commands.base import CommandResult
from modloader._control.client import ControlClient
from modloader._control.unix import ControlServer
from modloader._control.unix import ServerState
from modloader._control.unix import check_socket_path
from modloader.errors import ControlError
from modloader.errors import SocketInUseError

STOPPING = "the host is stopping; the command was not run"


def raw(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5)
    sock.connect(path)
    return sock


def read_reply(sock):
    """One reply line (read a byte at a time: the next line stays for the next call)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return json.loads(data) if data else None


def test_a_line_sent_one_byte_at_a_time_is_cut_off_as_a_whole(server, executor):
    """request_timeout (0.5 s here) bounds the whole line, not each read of it."""
    sock = raw(server.path)
    payload = b'{"v":1,"id":7,"op":"execute","line":"echo never"' + b" " * 200
    started = time.monotonic()
    reply = None
    for byte in payload:  # one byte every 0.1 s: each read is quick, the line is not
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            break
        time.sleep(0.1)
        sock.setblocking(False)
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            data = None
        finally:
            sock.setblocking(True)
        if data is not None:
            reply = json.loads(data)
            break
        if time.monotonic() - started > 8:
            break
    elapsed = time.monotonic() - started
    sock.close()
    assert reply is not None, "the slow line was never cut off"
    assert reply["error"]["message"] == (
        "request not completed within 0.5 s (no newline); closing the connection"
    )
    assert elapsed < 4  # 0.5 s, generously bounded for a loaded machine
    assert executor.lines == []
    assert server.state is ServerState.LISTENING


def test_an_idle_connection_is_not_cut_off(server):
    """The limit starts with a line's first byte: a console may wait between lines."""
    sock = raw(server.path)
    time.sleep(1.0)  # twice request_timeout, idle
    sock.sendall(b'{"v":1,"id":3,"op":"ping"}\n')
    assert read_reply(sock)["ok"] is True
    sock.close()


@pytest.mark.parametrize(
    "line",
    [
        b'{"v":1,"id":5,"op":"execute","line":"module unload res_hello x\\udcff"}',
        b'{"v":1,"id":5,"op":"execute","line":"module unload res_hello \\ud800"}',
        b'{"v":1,"id":5,"op":"execute","line":"module unload res_hello x\xff"}',
        b'{"v":1,"id":5,"op":"complete","line":"module \\udcff"}',
    ],
    ids=["escaped-low-surrogate", "escaped-high-surrogate", "raw-byte-ff", "complete"],
)
def test_an_undecodable_request_runs_nothing(server, executor, line):
    sock = raw(server.path)
    sock.sendall(line + b"\n")
    reply = read_reply(sock)
    sock.close()
    assert reply["ok"] is False and reply["error"]["code"] == "protocol"
    assert reply["id"] == 5  # the id could be read: the reply carries it
    assert executor.lines == []


class _Undecodable:
    """Output and data holding lone surrogates, as bytes read with surrogateescape give."""

    def execute(self, line):
        return CommandResult(line=line, output="name: caf\udce9", data={"k\udcff": ["\udcff"]})

    def complete(self, line):
        return ["x\udcff"]


def test_every_reply_can_be_sent(sock_path):
    with (
        ControlServer(_Undecodable(), sock_path) as server,
        ControlClient(server.path, timeout=5) as client,
    ):
        result = client.execute("show", structured=True)
        assert client.complete("x") == ["x\\udcff"]
    assert result.ok
    assert result.output == "name: caf\\udce9"
    assert result.data == {"k\\udcff": ["\\udcff"]}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"v":1,"id":9,"op":"launch"}', "unknown request op 'launch'"),
        (b'{"v":1,"id":9,"op":"execute"}', "'execute' needs a 'line'"),
        (b'{"v":1,"id":9,"op":"execute","line":3}', "'line' must be a string"),
        (b'{"v":7,"id":9,"op":"ping"}', "unsupported protocol version 7"),
    ],
    ids=["unknown-op", "no-line", "line-not-a-string", "unknown-version"],
)
def test_an_error_reply_carries_the_request_id(server, line, message):
    sock = raw(server.path)
    sock.sendall(line + b"\n")
    reply = read_reply(sock)
    sock.close()
    assert reply["id"] == 9
    assert reply["error"]["message"].startswith(message)


def test_an_unreadable_request_gets_id_0(server):
    sock = raw(server.path)
    sock.sendall(b'{"v":1,"id":9,\n')
    assert read_reply(sock)["id"] == 0
    sock.close()


def test_a_request_arriving_while_the_host_stops_is_told_so(server, executor):
    busy = raw(server.path)
    busy.sendall(b'{"v":1,"id":1,"op":"execute","line":"slow 1.5"}\n')
    late = raw(server.path)
    late.sendall(b'{"v":1,"id":2,"op":"ping"}\n')
    assert read_reply(late)["ok"] is True  # accepted and served
    started = time.monotonic() + 5  # the command in progress is running (a busy machine)
    while "slow 1.5" not in executor.lines and time.monotonic() < started:
        time.sleep(0.01)
    closer = threading.Thread(target=server.close, kwargs={"timeout": 5})
    closer.start()
    deadline = time.monotonic() + 5
    while server.state is ServerState.LISTENING and time.monotonic() < deadline:
        time.sleep(0.01)
    late.sendall(b'{"v":1,"id":3,"op":"execute","line":"echo too late"}\n')
    reply = read_reply(late)
    assert read_reply(busy)["output"] == "done"  # the command in progress finished
    closer.join(10)
    late.close()
    busy.close()
    assert reply == {
        "v": 1,
        "id": 3,
        "ok": False,
        "exit_code": 1,
        "error": {"code": "stopping", "message": STOPPING},
    }
    assert "echo too late" not in executor.lines


def test_a_close_asked_for_while_another_waits_for_a_command_removes_the_socket_now(
    server, executor
):
    """A second signal during a graceful stop: the forced stop's close does not wait for
    the command the first close waits for, and the socket file goes before the process."""
    busy = raw(server.path)
    busy.sendall(b'{"v":1,"id":1,"op":"execute","line":"slow 1.5"}\n')
    deadline = time.monotonic() + 5
    while "slow 1.5" not in executor.lines and time.monotonic() < deadline:
        time.sleep(0.01)
    closer = threading.Thread(target=server.close, kwargs={"timeout": 5})
    closer.start()
    while server.state is ServerState.LISTENING and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    server.close(0.5)
    assert time.monotonic() - started < 0.5
    assert not os.path.lexists(server.path)
    assert closer.is_alive()  # the first close still waits for the command
    assert read_reply(busy)["output"] == "done"
    closer.join(10)
    busy.close()
    assert server.state is ServerState.CLOSED


def test_the_client_says_the_host_is_stopping(server):
    with ControlClient(server.path, timeout=5) as client:
        client.ping()
        server.close()
        with pytest.raises(ControlError, match=STOPPING):
            client.ping()


# -- before a host starts ------------------------------------------------------------------


def test_check_socket_path_refuses_a_world_writable_default_folder(short_tmp):
    folder = short_tmp / "modloader"
    folder.mkdir()
    folder.chmod(0o777)
    with pytest.raises(ControlError, match="others may write to it"):
        check_socket_path(str(folder / "a.sock"), private=True)


def test_check_socket_path_refuses_a_live_host(server):
    with pytest.raises(SocketInUseError):
        check_socket_path(server.path, private=False)


def test_check_socket_path_makes_a_missing_folder(short_tmp):
    check_socket_path(str(short_tmp / "new" / "a.sock"), private=True)
    assert oct(os.stat(short_tmp / "new").st_mode & 0o777) == "0o700"


def test_clients_not_yet_accepted_are_told_the_host_is_stopping(server, short_tmp):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(short_tmp / "backlog.sock"))
    listener.listen(8)
    waiting = [raw(str(short_tmp / "backlog.sock")) for _ in range(3)]  # never accepted
    server._turn_away(listener)  # what the accept loop does last when the host stops
    listener.close()
    for sock in waiting:
        reply = read_reply(sock)
        sock.close()
        assert reply["error"]["message"] == STOPPING


def test_out_of_descriptors_the_host_pauses_accepting_then_serves_again(short_tmp):
    """A host at its descriptor limit (EMFILE) retried accept() at once, for as long
    as the limit lasted: 100 % of a CPU and a warning each time (680,000 lines in
    20 s). Now it pauses (up to 1 s), says so once, and serves again once
    descriptors are free."""
    import resource
    import signal
    import subprocess

    from tests._apps import modloader_command
    from tests._apps import wait_for_socket

    path = str(short_tmp / "ctl.sock")

    def few_descriptors():
        resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))

    host = subprocess.Popen(
        [*modloader_command(), "-n", "itest.descriptors", "-s", path],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=few_descriptors,
    )
    log = []
    reader = threading.Thread(target=lambda: log.extend(host.stdout), daemon=True)
    reader.start()
    try:
        wait_for_socket(path, host)
        clients = [raw(path) for _ in range(70)]  # more than the host can hold open

        def cpu_seconds():
            with open(f"/proc/{host.pid}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        time.sleep(1.0)
        before = cpu_seconds()
        time.sleep(2.0)
        assert cpu_seconds() - before < 0.5  # it was 2.0: a busy loop
        for sock in clients:
            sock.close()
        ran = subprocess.run(
            [*modloader_command(), "-s", path, "-rx", "module show", "--timeout", "10"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert ran.returncode == 0, ran.stderr
        assert "0 modules loaded" in ran.stdout
    finally:
        host.send_signal(signal.SIGTERM)
        host.wait(timeout=30)
        reader.join(10)
        host.stdout.close()
    said = "".join(log)
    assert said.count("control socket: cannot accept connections: Too many open files") == 1
    assert said.count("control socket: accepting connections again") == 1


def test_no_thread_for_a_connection_is_said_and_the_host_serves_again(server, monkeypatch, caplog):
    """Memory or a thread limit: ``can't start new thread`` for a connection ended
    the accepting thread (the socket was deaf for good), and the stop then failed
    with ``cannot join thread before it is started``: the modules were not unloaded."""
    refusing = threading.Event()
    refusing.set()
    start = threading.Thread.start

    def start_unless_refusing(thread):
        if thread.name == "modloader-control-conn" and refusing.is_set():
            raise RuntimeError("can't start new thread")
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", start_unless_refusing)
    with caplog.at_level(logging.INFO, logger="modloader.control"):
        for _ in range(3):
            sock = raw(server.path)
            reply = read_reply(sock)
            sock.close()
            assert reply["error"]["message"] == (
                "the host cannot serve another connection now (can't start new thread); try again"
            )
        refusing.clear()
        deadline = time.monotonic() + 10
        while True:  # accepting may be pausing: the client waits in the queue meanwhile
            with ControlClient(server.path, timeout=5) as client:
                if client.execute("echo back").output == "back":
                    break
            assert time.monotonic() < deadline
        # The accepting thread says it after starting the connection's thread, which may
        # have answered already: wait for the line (a loaded machine was seen to lose it).
        while len([r for r in caplog.records if r.name == "modloader.control"]) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    said = [r.getMessage() for r in caplog.records if r.name == "modloader.control"]
    assert said == [
        "control socket: cannot start a thread for a connection: can't start new thread; new "
        "clients wait, and accepting is tried again every 1 s at most until it works",
        "control socket: accepting connections again",
    ]
    server.close()  # the stop goes through
    assert server.state is ServerState.CLOSED


def test_a_failure_taking_a_client_does_not_end_accepting(server, monkeypatch, caplog):
    """Anything ``_accept`` raised (a MemoryError making the connection) ended the
    accepting thread: the socket was deaf for good."""
    from modloader._control import unix

    real = unix.Connection
    failures = [MemoryError()]

    def connection(*args, **kwargs):
        if failures:
            raise failures.pop()
        return real(*args, **kwargs)

    monkeypatch.setattr(unix, "Connection", connection)
    with caplog.at_level(logging.WARNING, logger="modloader.control"):
        lost = raw(server.path)
        deadline = time.monotonic() + 10
        while True:
            with ControlClient(server.path, timeout=5) as client:
                if client.execute("echo back").output == "back":
                    break
            assert time.monotonic() < deadline
        lost.close()
    assert server.accepting
    assert "control socket: taking a client failed (MemoryError: )" in caplog.text


@pytest.mark.parametrize("what", ["socket", "folder"])
def test_a_removed_socket_is_made_again(executor, short_tmp, monkeypatch, caplog, what):
    """A cleaner of the temporary folder (or a careless ``rm``) took the socket away:
    every client got ``Unable to connect`` until the host was restarted."""
    import shutil

    from modloader._control import unix

    monkeypatch.setattr(unix, "CHECK_SOCKET_EVERY", 0.05)
    path = short_tmp / "ctl" / "test.sock"
    server = ControlServer(executor, path)
    server.start()
    try:
        with caplog.at_level(logging.WARNING, logger="modloader.control"):
            if what == "socket":
                path.unlink()
            else:
                shutil.rmtree(path.parent)
            deadline = time.monotonic() + 10
            while not path.exists():
                assert time.monotonic() < deadline, "the socket was not made again"
                time.sleep(0.02)
            with ControlClient(str(path), timeout=5) as client:
                assert client.execute("echo back").output == "back"
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        assert f"control socket {path} was removed; it is there again" in caplog.text
        assert server.accepting
    finally:
        server.close()
    assert not path.exists()  # the new one is removed at the close, as the first was


def test_a_path_taken_by_something_else_is_left_alone(executor, short_tmp, monkeypatch, caplog):
    from modloader._control import unix

    monkeypatch.setattr(unix, "CHECK_SOCKET_EVERY", 0.05)
    path = short_tmp / "ctl" / "test.sock"
    server = ControlServer(executor, path)
    server.start()
    try:
        with caplog.at_level(logging.WARNING, logger="modloader.control"):
            path.unlink()
            path.write_text("somebody else's")  # not ours to replace
            time.sleep(0.3)
        assert path.read_text() == "somebody else's"
        said = [r.getMessage() for r in caplog.records if "replaced by another's" in r.getMessage()]
        assert said == [  # said once, not at every check
            f"control socket {path} was replaced by another's (a file, or another host's "
            "socket): this host cannot be reached there until it is removed"
        ]
    finally:
        server.close()
    assert path.read_text() == "somebody else's"  # nor to remove at the close


def _until(check: object, what: str) -> None:
    deadline = time.monotonic() + 10
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_a_worker_whose_socket_another_host_took_serves_beside_it(
    executor, short_tmp, monkeypatch, caplog
):
    """The namespace's socket removed, then bound by a host started since: the first was
    reached by nobody, and said nothing."""
    from modloader._control import unix
    from modloader._control.workers import worker_socket_path

    monkeypatch.setattr(unix, "CHECK_SOCKET_EVERY", 0.05)
    path = short_tmp / "ctl" / "ns.sock"
    first = ControlServer(executor, path, workers=True)
    first.start()
    try:
        with caplog.at_level(logging.WARNING, logger="modloader.control"):
            path.unlink()
            second = ControlServer(executor, path, workers=True)
            second.start()  # takes the namespace's socket, free at the moment
            try:
                beside = worker_socket_path(str(path), os.getpid())
                _until(lambda: first.path == beside and os.path.exists(beside), "not beside")
                with ControlClient(beside, timeout=5) as client:
                    assert client.execute("echo first").output == "first"
                assert second.path == str(path)
            finally:
                second.close()
        assert f"control socket {path} is another's; this host serves {beside}" in caplog.text
    finally:
        first.close()


def test_a_worker_beside_the_namespace_socket_takes_it_when_its_host_is_gone(
    executor, short_tmp, monkeypatch
):
    """The first worker retired (its socket went with it): ``-r`` and
    ``RemoteHost(namespace)`` reached nobody while the other workers ran."""
    from modloader._control import unix

    monkeypatch.setattr(unix, "CHECK_SOCKET_EVERY", 0.05)
    path = short_tmp / "ctl" / "ns.sock"
    first = ControlServer(executor, path, workers=True)
    first.start()
    second = ControlServer(executor, path, workers=True)
    second.start()
    beside = second.path
    try:
        assert beside != str(path) and os.path.exists(beside)
        first.close()  # its socket goes
        _until(lambda: second.path == str(path), "the namespace's socket was not taken")
        with ControlClient(str(path), timeout=5) as client:
            assert client.execute("echo second").output == "second"
        assert not os.path.exists(beside)  # one socket for one process
    finally:
        second.close()
    assert not path.exists()
