"""systemd's notify protocol and journal detection, over a real datagram socket."""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modloader._systemd import JournalFormatter
from modloader._systemd import notify
from modloader._systemd import under_journal
from tests.cli._signalled import Signalled
from tests.cli._signalled import finish


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


# -- a real ``modloader`` host under a fake service manager --------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.cli._signalled import lay

    return lay(tmp_path_factory.mktemp("site-packages"))


@pytest.fixture
def host(site: Path, tmp_path: Path) -> Iterator[Signalled]:
    signalled = Signalled(site, tmp_path)
    yield signalled
    shutil.rmtree(os.path.dirname(signalled.socket), ignore_errors=True)


def _fields(sock: socket.socket) -> dict[str, str]:
    """The next datagram, as ``{field: value}``."""
    return dict(line.split("=", 1) for line in sock.recv(4096).decode().splitlines())


def test_the_foreground_host_tells_systemd_its_state(
    host: Signalled, listener: tuple[socket.socket, str]
) -> None:
    sock, path = listener
    sock.settimeout(60)
    proc = host.start(env={"NOTIFY_SOCKET": path})
    try:
        ready = _fields(sock)
        assert ready["READY"] == "1"
        assert ready["STATUS"] == f"3 modules running, 0 not running; control socket {host.socket}"
        assert os.path.exists(host.socket)  # READY=1 once the socket is open
        # SIGHUP: RELOADING=1 (with the clock) ... READY=1.
        proc.send_signal(signal.SIGHUP)
        reloading = _fields(sock)
        assert reloading["RELOADING"] == "1"
        assert int(reloading["MONOTONIC_USEC"]) <= time_usec()
        again = _fields(sock)
        assert again["READY"] == "1"
        assert again["STATUS"] == "Running; last reload: 3 modules reloaded, 0 failed"
        assert [line for line in host.lines() if line.startswith("reload")] == [
            "reload alpha",
            "reload beta",
            "reload gamma",
        ]
        # A reload of every module through the socket says the same, in the same words.
        reloaded = host.rx("module reload")
        assert reloaded.returncode == 0, reloaded.stderr
        assert _fields(sock)["RELOADING"] == "1"
        assert _fields(sock) == {
            "READY": "1",
            "STATUS": "Running; last reload: 3 modules reloaded, 0 failed",
        }
        # A reload of one module is not a reload of the service.
        assert host.rx("module reload alpha").returncode == 0
        proc.send_signal(signal.SIGTERM)
        assert _fields(sock) == {"STOPPING": "1"}
        code, _, err = finish(proc)
    finally:
        proc.kill()
    assert code == 0, err
    sock.settimeout(0.2)
    with pytest.raises(TimeoutError):
        sock.recv(4096)  # nothing more: module reload alpha sent nothing


def test_a_stop_during_startup_never_says_ready(
    host: Signalled, listener: tuple[socket.socket, str]
) -> None:
    sock, path = listener
    sock.settimeout(60)
    proc = host.start(env={"NOTIFY_SOCKET": path, "SIGTEST_SLOW_LOAD": "beta"})
    try:
        host.wait_for("loading beta", proc)
        proc.send_signal(signal.SIGTERM)
        assert _fields(sock) == {"STOPPING": "1"}
        code, _, err = finish(proc)
    finally:
        proc.kill()
    assert code == 0, err
    sock.settimeout(0.2)
    with pytest.raises(TimeoutError):
        sock.recv(4096)


def test_under_the_journal_log_lines_carry_their_priority(host: Signalled, tmp_path: Path) -> None:
    log = tmp_path / "journal"
    with log.open("w") as stream:
        status = os.fstat(stream.fileno())
        proc = host.start(
            env={"JOURNAL_STREAM": f"{status.st_dev}:{status.st_ino}"}, stderr=stream.fileno()
        )
        try:
            host.wait_for_socket(proc)
            proc.send_signal(signal.SIGTERM)
            code, _, _ = finish(proc)
        finally:
            proc.kill()
    lines = log.read_text().splitlines()
    assert code == 0, lines
    assert "<6>3 modules running, 0 not running" in [line.split(" (")[0] for line in lines]
    assert any(line.startswith("<6>received SIGTERM: stopping gracefully") for line in lines)
    assert all(re.match(r"<[0-7]>", line) for line in lines), lines


def test_elsewhere_log_lines_keep_their_time_stamp(host: Signalled) -> None:
    proc = host.start("-v", "-x", "module show", env={"JOURNAL_STREAM": "1:2"})
    code, _, err = finish(proc)
    assert code == 0, err
    assert err and all(line.startswith("[") for line in err.splitlines()), err


def test_exec_reload_fails_when_a_module_reports_a_reload_failure(host: Signalled) -> None:
    """``ExecReload=... -rx "module reload"``: systemctl reload fails when a reload failed."""
    proc = host.start(env={"SIGTEST_FAIL_RELOAD": "beta"})
    try:
        host.wait_for_socket(proc)
        failed = host.rx("module reload")
        assert (failed.returncode, failed.stdout) == (1, "Command 'module reload' failed.\n")
        assert host.rx("module reload alpha gamma").returncode == 0
        proc.send_signal(signal.SIGTERM)
        code, _, err = finish(proc)
    finally:
        proc.kill()
    assert code == 0, err
    # The operator's reply says it failed; the host's log says which module and why.
    assert err.count("beta: reload failed: reload() returned False") == 1


@pytest.mark.parametrize(
    ("environ", "interval"),
    [
        ({"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "30000000"}, 15.0),
        ({"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "$PID"}, 15.0),
        ({"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),
        ({"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "0"}, None),
        ({"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "soon"}, None),
        ({"WATCHDOG_USEC": "30000000"}, None),
        ({}, None),
    ],
    ids=["asked", "asked-of-us", "asked-of-another", "zero", "garbage", "no-socket", "outside"],
)
def test_the_watchdog_interval_is_half_what_systemd_asks(
    environ: dict[str, str], interval: float | None
) -> None:
    from modloader._systemd import watchdog_interval

    if environ.get("WATCHDOG_PID") == "$PID":
        environ = {**environ, "WATCHDOG_PID": str(os.getpid())}
    assert watchdog_interval(environ) == interval


def test_with_watchdogsec_the_host_says_it_is_alive_until_it_has_stopped(
    host: Signalled, listener: tuple[socket.socket, str]
) -> None:
    """``WatchdogSec=`` without ``WATCHDOG=1`` pings: systemd killed the host (SIGABRT)
    once the period passed, whatever it was doing."""
    sock, path = listener
    sock.settimeout(60)
    proc = host.start(env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"})  # 0.2 s
    try:
        assert _fields(sock)["READY"] == "1"
        started = time.monotonic()
        pings = [_fields(sock) for _ in range(5)]
        assert pings == [{"WATCHDOG": "1"}] * 5
        assert time.monotonic() - started < 2.0  # every 0.1 s
        proc.send_signal(signal.SIGTERM)
        seen = [_fields(sock)]
        while seen[-1] != {"STOPPING": "1"}:
            seen.append(_fields(sock))
        code, _, err = finish(proc)
    finally:
        proc.kill()
    assert code == 0, err
    assert "not told the host is alive" not in err


def test_the_watchdog_stops_pinging_while_the_host_is_not_well_and_says_so_once(
    listener: tuple[socket.socket, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from modloader._systemd import Watchdog

    sock, path = listener
    sock.settimeout(5)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    well = [True]
    watchdog = Watchdog(0.02, lambda: well[0], "the control socket is not served")
    watchdog.start()
    try:
        assert _fields(sock) == {"WATCHDOG": "1"}
        well[0] = False
        time.sleep(0.3)
        while True:  # what was sent before it fell ill
            sock.settimeout(0.2)
            try:
                sock.recv(4096)
            except TimeoutError:
                break
        time.sleep(0.2)
        with pytest.raises(TimeoutError):
            sock.recv(4096)  # no ping while unwell
        well[0] = True
        sock.settimeout(5)
        assert _fields(sock) == {"WATCHDOG": "1"}  # and again once well
    finally:
        watchdog.stop()
    said = [r.getMessage() for r in caplog.records if "WatchdogSec" in r.getMessage()]
    assert said == [
        "the control socket is not served: systemd is no longer told the host is alive, "
        "and restarts it after WatchdogSec="
    ]
