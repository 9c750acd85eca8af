import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from modloader._cli.serve import Foreground
from modloader._control.client import ControlClient
from modloader._control.unix import ControlServer
from modloader._control.unix import is_listening


class FakeHost:
    def __init__(self, executor):
        self.executor = executor
        self.stops = []

    def stop(self, graceful):
        self.stops.append(graceful)


def _wait_for_socket(path, timeout=10.0):
    """Wait until a host listens on ``path`` (the file exists from bind(), before listen())."""
    deadline = time.monotonic() + timeout
    while not is_listening(path):
        assert time.monotonic() < deadline, f"nothing listens on {path}"
        time.sleep(0.02)


@pytest.mark.parametrize("graceful", [True, False], ids=["gracefully", "now"])
def test_foreground_serves_until_asked_to_stop(executor, sock_path, graceful):
    host = FakeHost(executor)
    foreground = Foreground(host, socket_path=sock_path)
    answers = []

    def operator():
        try:
            _wait_for_socket(sock_path)
            with ControlClient(sock_path, timeout=5) as client:
                answers.append(client.execute("echo served").output)
        finally:  # a failure above must not leave run() waiting for ever
            foreground.request_stop(graceful=graceful)

    thread = threading.Thread(target=operator)
    thread.start()
    assert foreground.run() == 0
    thread.join(5)
    assert answers == ["served"]
    assert host.stops == [graceful]
    assert not os.path.exists(sock_path)


def test_foreground_refuses_a_live_socket(executor, sock_path, capsys):
    host = FakeHost(executor)
    with ControlServer(executor, sock_path):
        assert Foreground(host, socket_path=sock_path).run() == 1
    assert "already listening on" in capsys.readouterr().err
    assert host.stops == [True]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_signal_stops_the_host_gracefully(sock_path, signum):
    script = textwrap.dedent(
        f"""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("fh", {str(_fake_host())!r})
        fh = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(fh)
        from modloader._cli.serve import Foreground

        class Host:
            executor = fh.FakeExecutor()
            def stop(self, graceful):
                print("stopped graceful" if graceful else "stopped now", flush=True)

        sys.exit(Foreground(Host(), socket_path={sock_path!r}).run())
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_for_socket(sock_path)
        with ControlClient(sock_path, timeout=5) as client:
            assert client.execute("echo up").output == "up"
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert out == "stopped graceful\n"
    assert not os.path.exists(sock_path)


def _fake_host():
    from pathlib import Path

    return Path(__file__).with_name("fake_host.py")
