"""systemd's notify protocol and journal detection, over a real datagram socket."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from modloader._systemd import JournalFormatter
from modloader._systemd import notify
from modloader._systemd import under_journal


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(5)
    yield sock, path
    sock.close()


def test_outside_systemd_nothing_is_sent() -> None:
    assert notify("READY=1", environ={}) is False


def test_ready_reaches_the_socket(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    assert notify("READY=1", "STATUS=3 modules running", environ={"NOTIFY_SOCKET": path})
    assert sock.recv(4096) == b"READY=1\nSTATUS=3 modules running"


def test_reloading_carries_the_monotonic_clock(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    before = time_usec()
    notify("RELOADING=1", environ={"NOTIFY_SOCKET": path})
    fields = dict(line.split("=", 1) for line in sock.recv(4096).decode().splitlines())
    assert fields["RELOADING"] == "1"
    assert before <= int(fields["MONOTONIC_USEC"]) <= time_usec()


def test_abstract_socket_address() -> None:
    name = f"modloader-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        assert notify("STOPPING=1", environ={"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(4096) == b"STOPPING=1"


def test_an_unreachable_socket_is_not_an_error(tmp_path: Path) -> None:
    assert notify("READY=1", environ={"NOTIFY_SOCKET": str(tmp_path / "gone")}) is False


def test_journal_stream_must_be_our_stderr(tmp_path: Path) -> None:
    log = tmp_path / "stderr"
    code = (
        "import os, sys; from modloader._systemd import under_journal; "
        "st = os.fstat(2); "
        "print(under_journal({'JOURNAL_STREAM': f'{st.st_dev}:{st.st_ino}'}), "
        "under_journal({'JOURNAL_STREAM': '1:2'}), under_journal({'JOURNAL_STREAM': 'x'}))"
    )
    with log.open("w") as stderr:
        out = subprocess.run(
            [sys.executable, "-c", code],
            stderr=stderr,
            capture_output=False,
            stdout=subprocess.PIPE,
        )
    assert out.stdout.decode().split() == ["True", "False", "False"]
    assert under_journal({}) is False


def test_journal_formatter_prefixes_every_line_with_the_priority() -> None:
    formatter = JournalFormatter()

    def line(level: int, message: str) -> str:
        return formatter.format(logging.LogRecord("m", level, __file__, 1, message, None, None))

    assert line(logging.ERROR, "boom\nsecond") == "<3>boom\n<3>second"
    assert line(logging.WARNING, "w") == "<4>w"
    assert line(logging.INFO, "i") == "<6>i"
    assert line(logging.DEBUG, "d") == "<7>d"
    assert line(logging.CRITICAL, "c") == "<2>c"


def time_usec() -> int:
    import time

    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
