"""The sockets of a namespace's processes: names, listing, stale ones, claiming under the lock."""

from __future__ import annotations

import os
import socket

import pytest

from modloader._cli.fanout import Reply
from modloader._cli.fanout import differences
from modloader._commands.base import CommandResult
from modloader._control.unix import ControlServer
from modloader._control.workers import list_sockets
from modloader._control.workers import remove_stale_workers
from modloader._control.workers import socket_pid
from modloader._control.workers import worker_socket_path
from modloader.errors import SocketInUseError


def test_worker_names_cannot_be_taken_for_a_namespace(short_tmp):
    primary = str(short_tmp / "my.app.1.sock")  # namespace "my.app.1"
    assert worker_socket_path(primary, 42) == str(short_tmp / "my.app.1@42.sock")
    assert socket_pid(primary, str(short_tmp / "my.app.1@42.sock")) == 42
    assert socket_pid(primary, primary) is None
    assert socket_pid(primary, str(short_tmp / "my.app.sock")) is None
    assert socket_pid(primary, str(short_tmp / "my.app.1@x.sock")) is None
    assert socket_pid(primary, str(short_tmp / "my.app.1@٣.sock")) is None  # not ASCII


def test_list_sockets_namespace_first_then_by_pid(short_tmp):
    primary = str(short_tmp / "ns.sock")
    assert list_sockets(primary) == []
    for name in ["ns@100.sock", "ns@9.sock", "other@5.sock", "ns.sock", "ns@1.sock.bak"]:
        (short_tmp / name).touch()
    assert list_sockets(primary) == [
        primary,
        str(short_tmp / "ns@9.sock"),
        str(short_tmp / "ns@100.sock"),
    ]
    assert list_sockets(str(short_tmp / "missing" / "ns.sock")) == []


def test_only_dead_worker_sockets_are_removed(short_tmp):
    primary = str(short_tmp / "ns.sock")
    live = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    live.bind(worker_socket_path(primary, 1))
    live.listen(1)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(worker_socket_path(primary, 2))
    dead.close()  # the file stays, nobody listens
    (short_tmp / "ns@3.sock").write_text("not a socket")
    try:
        assert remove_stale_workers(primary) == [worker_socket_path(primary, 2)]
        assert os.path.exists(worker_socket_path(primary, 1))
        assert (short_tmp / "ns@3.sock").read_text() == "not a socket"
    finally:
        live.close()


def test_a_second_server_of_the_namespace_serves_beside_the_first(executor, sock_path):
    with ControlServer(executor, sock_path, private_folder=True, workers=True) as first:
        with ControlServer(executor, sock_path, private_folder=True, workers=True) as second:
            assert first.path == sock_path
            assert second.path == worker_socket_path(sock_path, os.getpid())
            assert second.requested_path == sock_path
            assert oct(os.stat(second.path).st_mode & 0o777) == "0o600"
            assert list_sockets(sock_path) == [first.path, second.path]
        assert list_sockets(sock_path) == [first.path]  # closing removes its own
    assert list_sockets(sock_path) == []


def test_without_workers_a_live_socket_is_still_refused(executor, sock_path):
    with ControlServer(executor, sock_path, private_folder=True, workers=True):
        with pytest.raises(SocketInUseError):
            ControlServer(executor, sock_path, private_folder=True).start()


def _shown(pid: int, **versions: str) -> Reply:
    rows = [
        {"name": name, "status": "Running", "version": version}
        for name, version in versions.items()
    ]
    data = {"modules": rows, "count": len(rows)}
    return Reply(pid, f"/s/{pid}", result=CommandResult("module show", data=data))


def test_differences_name_the_modules_and_the_pids():
    same = [_shown(1, a="1.0"), _shown(2, a="1.0")]
    assert differences(same) == "All 2 processes show the same modules."
    mixed = [_shown(1, a="1.0", b="2"), _shown(2, a="2.0", b="2"), _shown(3, a="2.0")]
    assert differences(mixed) == (
        "Processes differ: a version (1.0: pid 1; 2.0: pids 2, 3); "
        "b status (Running: pids 1, 2; not shown: pid 3)"
    )
    said = "pid 4: no reply from the host within 1 s"
    timed_out = Reply(4, "/s/4", error=said, error_code="timeout")
    assert differences([_shown(1, a="1.0"), timed_out]) is None
    assert timed_out.as_dict()["error"] == {
        "code": "timeout",
        "message": "pid 4: no reply from the host within 1 s",
    }
