import json
import os
import socket
import stat
import threading
import time

import pytest

from modloader._control.client import ControlClient
from modloader._control.protocol import MAX_REQUEST_BYTES
from modloader._control.unix import ControlServer
from modloader._control.unix import PeerCredentials
from modloader._control.unix import ServerState
from modloader._control.unix import check_peer
from modloader._control.unix import is_listening
from modloader._control.unix import peer_credentials
from modloader.errors import AccessDeniedError
from modloader.errors import ControlError
from modloader.errors import SocketInUseError


def raw(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5)
    sock.connect(path)
    return sock


def read_line(sock):
    """Bytes up to and including the next newline (fewer at end of stream)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def read_reply(sock):
    """One reply line as a dict, or None at end of stream."""
    data = read_line(sock)
    return json.loads(data) if data else None


def assert_closed(sock):
    sock.settimeout(5)
    try:
        assert sock.recv(1) == b""
    except ConnectionResetError:
        pass


def assert_still_serving(path):
    with ControlClient(path, timeout=5) as client:
        assert client.execute("echo still here").output == "still here"


def request(**fields):
    return (json.dumps({"v": 1, **fields}) + "\n").encode()


# -- round trips --------------------------------------------------------------


def test_execute_round_trip(server, executor):
    with ControlClient(server.path, timeout=5) as client:
        result = client.execute("module show like res_", structured=True)
    assert result.ok and result.exit_code == 0
    assert result.output.splitlines()[-1] == "2 modules loaded"
    assert [row["name"] for row in result.data] == ["res_cache", "res_hello"]
    assert executor.lines == ["module show like res_"]


def test_failed_command_is_a_result_not_an_error(server):
    with ControlClient(server.path, timeout=5) as client:
        result = client.execute("modle show")
    assert (result.ok, result.exit_code) == (False, 1)
    assert result.output.endswith("Command 'modle show' failed.")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("", ["big", "echo", "log", "module", "slow"]),
        ("mod", ["module"]),
        ("module ", ["load", "refresh", "reload", "show", "unload"]),
        ("module lo", ["load"]),
        ("module unload res_", ["res_cache", "res_hello"]),
        ("zzz", []),
    ],
    ids=["empty", "command", "subcommands", "subcommand", "module-names", "nothing"],
)
def test_complete_round_trip(server, line, expected):
    with ControlClient(server.path, timeout=5) as client:
        assert client.complete(line) == expected


def test_hello_negotiates_the_version_and_names_the_host(server):
    with ControlClient(server.path, timeout=5) as client:
        hello = client.hello()
    assert hello.version == 2 and hello.pid == os.getpid()
    assert hello.server.startswith("modloader ")


def test_a_client_that_speaks_only_version_1_gets_version_1(server):
    with raw(server.path) as sock:
        sock.sendall(request(id=3, op="hello", versions=[1]))
        reply = read_reply(sock)
    assert reply["ok"] is True and reply["version"] == 1


def test_hello_without_a_common_version_is_refused(server):
    with raw(server.path) as sock:
        sock.sendall(request(id=4, op="hello", versions=[7, 8]))
        reply = read_reply(sock)
    assert reply["id"] == 4 and reply["error"]["code"] == "protocol"
    assert reply["error"]["message"] == "no common protocol version (client speaks 7, 8)"


def test_requests_on_one_connection_are_answered_in_order(server):
    with raw(server.path) as sock:
        sock.sendall(b"".join(request(id=n, op="execute", line=f"echo {n}") for n in range(1, 51)))
        with sock.makefile("rb") as lines:
            replies = [json.loads(lines.readline()) for _ in range(50)]
    assert [(r["id"], r["output"]) for r in replies] == [(n, str(n)) for n in range(1, 51)]


def test_executor_exception_is_an_error_reply_and_the_connection_goes_on(server, caplog):
    with ControlClient(server.path, timeout=5) as client:
        result = client.execute("boom")
        assert not result.ok
        assert (
            result.output == "internal error while running 'boom': RuntimeError: the executor broke"
        )
        assert client.execute("echo after").output == "after"
    assert "the executor broke" in caplog.text


# -- permissions and peers ----------------------------------------------------


def test_socket_is_0600_in_a_0700_folder(server):
    assert stat.S_IMODE(os.stat(server.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(server.path)).st_mode) == 0o700
    assert stat.S_ISSOCK(os.stat(server.path).st_mode)


def test_peer_credentials_name_this_process():
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        creds = peer_credentials(left)
    assert creds == PeerCredentials(pid=os.getpid(), uid=os.getuid(), gid=os.getgid())


@pytest.mark.parametrize("uid", [1000, 0], ids=["same-user", "root"])
def test_check_peer_lets_in_the_host_user_and_root(uid):
    check_peer(PeerCredentials(pid=1, uid=uid, gid=uid), host_uid=1000)
    check_peer(None, host_uid=1000)  # no credentials: the file permissions decide


def test_check_peer_refuses_another_user():
    with pytest.raises(AccessDeniedError) as info:
        check_peer(PeerCredentials(pid=77, uid=1001, gid=1001), host_uid=1000)
    assert str(info.value) == (
        "access denied: uid 1001 (pid 77) is neither the host's user (uid 1000) nor root"
    )


def _connect_as_nobody(path, payload):
    """Fork a child that becomes uid 65534, connects to ``path`` and reports what it got.

    The child is forked before the test starts any server thread and only
    touches already-imported built-ins, so forking here is safe.
    """
    go_r, go_w = os.pipe()
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.setgid(65534)
            os.setuid(65534)
            os.read(go_r, 1)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(5)
            try:
                sock.connect(path)
            except OSError as exc:
                os.write(out_w, f"connect failed: {type(exc).__name__}".encode())
                os._exit(0)
            sock.sendall(payload)
            os.write(out_w, read_line(sock) or b"EOF")
        except BaseException as exc:
            os.write(out_w, f"child error: {exc!r}".encode())
        os._exit(0)
    os.close(go_r)
    os.close(out_w)

    def run():
        os.write(go_w, b"x")
        os.close(go_w)
        with os.fdopen(out_r, "rb") as out:
            result = out.read()
        os.waitpid(pid, 0)
        return result.decode()

    return run


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_another_user_is_refused_by_peer_credentials(short_tmp, executor):
    shared = short_tmp / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # a folder the other user can reach, as /tmp
    short_tmp.chmod(0o755)
    path = str(shared / "x.sock")
    finish = _connect_as_nobody(path, request(id=1, op="execute", line="echo secret"))
    with ControlServer(executor, path) as server:
        os.chmod(server.path, 0o666)  # noqa: S103 - as if the socket's mode were wrong: the uid check remains
        reply = json.loads(finish())
        assert server.state is ServerState.LISTENING
        assert_still_serving(server.path)
    assert reply["ok"] is False and reply["error"]["code"] == "access-denied"
    assert reply["error"]["message"].startswith("access denied: uid 65534")
    assert executor.lines == ["echo still here"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_another_user_cannot_even_reach_the_default_folder(short_tmp, executor):
    short_tmp.chmod(0o755)
    path = str(short_tmp / "private" / "x.sock")
    finish = _connect_as_nobody(path, request(id=1, op="ping"))
    with ControlServer(executor, path, private_folder=True):
        assert finish() == "connect failed: PermissionError"


# -- one host per socket ------------------------------------------------------


def test_second_server_on_a_live_socket_is_refused(server, executor):
    second = ControlServer(executor, server.path)
    with pytest.raises(SocketInUseError) as info:
        second.start()
    assert info.value.path == server.path
    assert "already listening on" in str(info.value)
    assert_still_serving(server.path)
    assert is_listening(server.path)


def test_stale_socket_is_replaced(sock_path, executor):
    os.makedirs(os.path.dirname(sock_path), mode=0o700)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(sock_path)
    dead.close()  # a host that died: the file stays, nobody listens
    assert os.path.exists(sock_path) and not is_listening(sock_path)
    with ControlServer(executor, sock_path) as server:
        assert_still_serving(server.path)


def test_a_file_that_is_not_a_socket_is_not_replaced(sock_path, executor):
    os.makedirs(os.path.dirname(sock_path), mode=0o700)
    with open(sock_path, "w") as f:
        f.write("precious")
    with pytest.raises(ControlError, match="exists and is not a socket"):
        ControlServer(executor, sock_path).start()
    with open(sock_path) as f:
        assert f.read() == "precious"


# -- life -----------------------------------------------------------------------


def test_states_and_idempotent_close(sock_path, executor):
    server = ControlServer(executor, sock_path)
    assert server.state is ServerState.NEW
    server.start()
    assert server.state is ServerState.LISTENING
    with pytest.raises(ControlError, match="is listening"):
        server.start()
    server.close()
    server.close()
    assert server.state is ServerState.CLOSED
    assert not os.path.exists(sock_path)
    with pytest.raises(ControlError, match="is closed"):
        server.start()


def test_close_before_start(sock_path, executor):
    server = ControlServer(executor, sock_path)
    server.close()
    assert server.state is ServerState.CLOSED


def test_close_ends_idle_clients(server):
    sock = raw(server.path)
    sock.sendall(request(id=1, op="ping"))
    assert read_reply(sock)["ok"] is True
    started = time.monotonic()
    server.close()
    assert time.monotonic() - started < 1.5
    notice = read_reply(sock)  # an idle console is told why its connection ends
    assert notice["id"] == 0 and notice["error"]["code"] == "stopping"
    assert notice["error"]["message"] == "the host is stopping; the command was not run"
    assert_closed(sock)
    sock.close()


def test_close_leaves_a_socket_that_another_host_put_there(sock_path, executor):
    first = ControlServer(executor, sock_path)
    first.start()
    os.unlink(sock_path)  # e.g. removed by hand, and a new host started meanwhile
    with ControlServer(executor, sock_path):
        first.close()
        assert is_listening(sock_path)


# -- bad clients ----------------------------------------------------------------


def test_random_bytes_get_an_error_and_a_closed_connection(server):
    with raw(server.path) as sock:
        sock.sendall(os.urandom(4096).replace(b"\n", b"") + b"\n")
        reply = read_reply(sock)
        assert reply["ok"] is False and reply["error"]["code"] == "protocol"
        assert reply["error"]["message"].startswith("request is not valid")
        assert_closed(sock)
    assert_still_serving(server.path)


def test_oversized_request_gets_an_error(server, caplog):
    with raw(server.path) as sock:
        sock.sendall(b"{" + b" " * (MAX_REQUEST_BYTES + 10))
        reply = read_reply(sock)
        assert_closed(sock)
    said = f"request line is longer than {MAX_REQUEST_BYTES} bytes; closing the connection"
    assert reply["error"] == {"code": "protocol", "message": said}
    assert [r.getMessage() for r in caplog.records if "longer" in r.getMessage()] == [
        f"control socket: {said}"  # said once, not "...; closing that connection" after it
    ]
    assert_still_serving(server.path)


def test_half_sent_line_times_out(server):
    with raw(server.path) as sock:
        sock.sendall(b'{"v": 1, "op": "ex')
        started = time.monotonic()
        reply = read_reply(sock)
        assert_closed(sock)
    assert 0.3 < time.monotonic() - started < 3
    assert reply["error"]["message"] == (
        "request not completed within 0.5 s (no newline); closing the connection"
    )
    assert_still_serving(server.path)


def test_idle_client_is_not_timed_out(server):
    with raw(server.path) as sock:
        time.sleep(0.8)  # longer than request_timeout, but between requests
        sock.sendall(request(id=1, op="ping"))
        assert read_reply(sock) == {"v": 1, "id": 1, "ok": True}


def test_client_that_never_reads_is_dropped(server):
    sock = raw(server.path)
    sock.settimeout(0.1)
    sent = 0
    with pytest.raises(OSError):  # the buffers fill, then the host gives up on us
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            sock.sendall(request(id=1, op="execute", line="big 1000000"))
            sent += 1
    assert sent > 0
    _wait_for(lambda: server.client_count == 0)
    sock.close()
    assert_still_serving(server.path)


def test_a_thousand_connections_opened_and_dropped(server):
    for n in range(1000):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(server.path)
        if n % 3 == 1:
            sock.sendall(b'{"v": 1, "op": "ping"')  # dropped mid-request
        elif n % 3 == 2:
            sock.sendall(request(id=n, op="execute", line="echo x"))  # reply never read
        sock.close()
    _wait_for(lambda: server.client_count == 0)
    assert_still_serving(server.path)


def test_too_many_clients_get_an_error(sock_path, executor):
    with ControlServer(executor, sock_path, max_clients=3) as server:
        held = [raw(sock_path) for _ in range(3)]
        for sock in held:  # each is served (so counted) once it answered
            sock.sendall(request(id=1, op="ping"))
            assert read_reply(sock)["ok"] is True
        with raw(sock_path) as extra:
            reply = read_reply(extra)
        assert reply["error"] == {
            "code": "control",
            "message": "too many clients (at most 3); try again",
        }
        held.pop().close()
        _wait_for(lambda: server.client_count == 2)
        assert_still_serving(sock_path)
        for sock in held:
            sock.close()


def test_many_clients_at_once_and_a_slow_command_blocks_nobody(server):
    errors = []

    def client(n):
        try:
            with ControlClient(server.path, timeout=5) as c:
                for i in range(20):
                    assert c.execute(f"echo {n} {i}").output == f"{n} {i}"
        except Exception as exc:  # reported below
            errors.append(exc)

    slow = ControlClient(server.path, timeout=5)
    slow_result = []
    slow_thread = threading.Thread(target=lambda: slow_result.append(slow.execute("slow 1")))
    slow_thread.start()
    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert time.monotonic() - started < 0.9, "the slow command held the others up"
    slow_thread.join(5)
    slow.close()
    assert errors == []
    assert slow_result[0].output == "done"


def _wait_for(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_a_command_that_closes_the_server_still_gets_its_reply(sock_path):
    """``core stop`` closes the server from inside a command: its reply must go out first."""
    from modloader._commands.base import CommandResult

    holder = {}

    class Stopper:
        def execute(self, line):
            closing = threading.Thread(target=holder["server"].close)
            holder["closing"] = closing
            closing.start()
            time.sleep(0.05)  # the close is under way while the command still runs
            return CommandResult(line, ok=True, output="Stopping gracefully.")

        def complete(self, line):
            return []

    for attempt in range(10):
        path = f"{sock_path}.{attempt}"
        server = ControlServer(Stopper(), path)
        holder["server"] = server
        server.start()
        with ControlClient(path) as client:
            result = client.execute("core stop gracefully")
        assert (result.ok, result.output) == (True, "Stopping gracefully.")
        holder["closing"].join(5)
        assert server.state is ServerState.CLOSED
