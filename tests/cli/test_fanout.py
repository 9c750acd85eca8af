"""The fan-out of ``-rx`` over a namespace's processes, against hosts that answer oddly.

A tiny server on a real Unix socket speaks the wire format: it answers ``hello``,
then meets ``execute`` as a host that is stopping does (a ``stopping`` error), or
goes away before answering (a process that a worker's ``core stop`` stopped).
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
from collections.abc import Iterator

import pytest

from modloader._cli.fanout import print_replies
from modloader._cli.fanout import reach


def _serve(path: str, on_execute: str) -> threading.Thread:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(4)

    def run() -> None:
        with listener:
            conn, _ = listener.accept()
            with conn, conn.makefile("rwb") as stream:
                for raw in stream:
                    request = json.loads(raw)
                    reply: dict[str, object] = {"v": 1, "id": request["id"], "ok": True}
                    if request["op"] == "hello":
                        reply.update(version=1, server="fake", pid=os.getpid())
                    elif on_execute == "close":
                        return
                    else:
                        reply.update(ok=False, exit_code=1)
                        reply["error"] = {"code": on_execute, "message": "the host is stopping"}
                    stream.write(json.dumps(reply).encode() + b"\n")
                    stream.flush()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def socket_path() -> Iterator[str]:
    folder = tempfile.mkdtemp(prefix="mlf-")  # short: a socket path holds 103 bytes
    os.chmod(folder, 0o700)
    path = os.path.join(folder, "fake.modules.sock")
    yield path
    for name in os.listdir(folder):
        os.unlink(os.path.join(folder, name))
    os.rmdir(folder)


@pytest.mark.parametrize(
    ("on_execute", "said"), [("stopping", "Stopping already."), ("close", "Stopped.")]
)
def test_a_stop_that_finds_the_host_stopping_or_gone_succeeded(
    socket_path: str, on_execute: str, said: str
) -> None:
    """Under gunicorn, the first worker's core stop stops the others before they answer:
    the fan-out said they failed (exit 1) although every one stopped."""
    _serve(socket_path, on_execute)
    (reply,) = reach(socket_path, "core stop gracefully", timeout=10)
    assert reply.ok, reply.error
    assert reply.result is not None and reply.result.output == said


@pytest.mark.parametrize("on_execute", ["stopping", "close"])
def test_any_other_command_that_finds_the_host_stopping_or_gone_failed(
    socket_path: str, on_execute: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _serve(socket_path, on_execute)
    replies = reach(socket_path, "module show", timeout=10)
    assert [r.ok for r in replies] == [False]
    assert print_replies(replies, "module show", as_json=False) == 1
