import os
import socket
import threading

import pytest

from modloader._control.client import ControlClient
from modloader._control.client import RemoteExecutor
from modloader._control.client import execute_remote
from modloader.errors import ConnectError
from modloader.errors import ControlError
from modloader.errors import ProtocolError


def test_nothing_listening_is_a_connect_error(sock_path):
    with pytest.raises(ConnectError) as info:
        execute_remote(sock_path, "module show")
    assert str(info.value) == f"Unable to connect to remote modloader (does {sock_path} exist?)"
    assert info.value.exit_code == 1


def test_stale_socket_is_a_connect_error(short_tmp):
    path = str(short_tmp / "dead.sock")
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(path)
    dead.close()
    with pytest.raises(ConnectError):
        ControlClient(path).connect()


def test_execute_remote(server):
    result = execute_remote(server.path, "echo a b", structured=True)
    assert (result.ok, result.output, result.data) == (True, "a b", ["a", "b"])


def test_remote_executor_never_raises(server, sock_path):
    client = ControlClient(server.path, timeout=5)
    executor = RemoteExecutor(client)
    assert executor.complete("module sh") == ["show"]
    server.close()
    lost = executor.execute("echo x")  # the host said why it closed the connection
    assert (lost.ok, lost.output) == (False, "the host is stopping; the command was not run")
    gone = executor.execute("echo x")  # the next command tries to connect again
    assert not gone.ok and gone.output.startswith("Unable to connect to remote modloader")
    assert executor.complete("mod") == []
    client.close()
    client.close()


def test_a_request_longer_than_the_host_reads_is_refused_before_it_is_sent(server, caplog):
    """A 70 kB line typed at a remote console: said at once, and the console goes on on the
    same connection (the host would have refused it and closed it)."""
    from modloader._control.protocol import MAX_REQUEST_BYTES

    client = ControlClient(server.path, timeout=5)
    executor = RemoteExecutor(client)
    assert executor.execute("echo before").ok
    connection = client._sock
    line = "echo " + "a" * MAX_REQUEST_BYTES
    with pytest.raises(ProtocolError, match=r"^the request is \d+ bytes, more than the 65536"):
        client.execute(line)
    refused = executor.execute(line)
    assert not refused.ok and refused.output.endswith("a host reads; not sent")
    assert executor.execute("echo after").output == "after"
    assert client._sock is connection
    assert "longer than" not in caplog.text  # nothing reached the host
    # The longest line a host reads is sent and answered.
    fits = "echo " + "b" * (MAX_REQUEST_BYTES - 100)
    assert executor.execute(fits).ok
    client.close()


def test_remote_executor_reconnects_after_the_host_restarts(server, executor):
    from modloader._control.unix import ControlServer

    client = ControlClient(server.path, timeout=5)
    remote = RemoteExecutor(client)
    assert remote.execute("echo one").ok
    server.close()
    assert not remote.execute("echo two").ok
    with ControlServer(executor, server.path):
        assert remote.execute("echo three").output == "three"
    client.close()


def _one_shot_server(path, reply):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)

    def serve():
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(reply)
        listener.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(
    ("reply", "error", "message"),
    [
        (b"<html>oops</html>\n", ProtocolError, "reply is not valid JSON"),
        (b"", ControlError, "closed the connection without a reply"),
        (
            b'{"v":1,"id":0,"ok":false,"error":{"code":"protocol","message":"bad"}}\n',
            ProtocolError,
            "bad",
        ),
    ],
    ids=["garbage", "hang-up", "protocol-error"],
)
def test_bad_replies(short_tmp, reply, error, message):
    path = str(short_tmp / "fake.sock")
    thread = _one_shot_server(path, reply)
    with ControlClient(path, timeout=5) as client, pytest.raises(error, match=message):
        client.execute("module show")
    thread.join(5)


def test_reply_timeout(short_tmp):
    path = str(short_tmp / "mute.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    with listener, ControlClient(path, timeout=0.2) as client:
        with pytest.raises(ControlError, match=r"no reply from the host within 0\.2 s"):
            client.ping()
        assert not client.connected


def test_permission_denied_is_reported_as_such(short_tmp, server):
    if os.geteuid() == 0:
        pytest.skip("root is never denied by file permissions")
    os.chmod(server.path, 0o000)
    with pytest.raises(ControlError, match="Permission denied"):
        ControlClient(server.path).connect()
