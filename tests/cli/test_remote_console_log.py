"""``modloader -r`` shows the host's log as it happens: a real host, real consoles, a real pty."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from modloader.testing import make_distribution

FRAMEWORK = Path(__file__).resolve().parents[2] / "framework"
CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[>=]|\r")
NAMESPACE = "rconsole.modules"

PLUGIN = """
class KeyValue:
    def load(self, ctx):
        self.keys = {"one": 1}
        log = ctx.logger

        def spam(args):
            for n in range(int(args[0])):
                log.info("spam line %d %s", n, "x" * 80)
            return f"logged {args[0]} lines"

        def warn(args):
            log.warning("kv warning %s", " ".join(args))
            return "warned"

        ctx.register_command("kv spam", spam, summary="Log N lines", usage="kv spam <n>")
        ctx.register_command("kv warn", warn, summary="Log a warning", usage="kv warn <text>")

    def unload(self, ctx):
        ctx.logger.info("dropping %d key", len(self.keys))
"""


@pytest.fixture
def world(tmp_path):
    """A real host serving a plugin on a socket, and how to run ``modloader`` against it."""
    site = tmp_path / "site"
    make_distribution(
        site,
        "res-kv",
        files={"res_kv_plugin.py": PLUGIN},
        entry_points={NAMESPACE: {"res_kv": "res_kv_plugin:KeyValue"}},
    )
    folder = Path(tempfile.mkdtemp(prefix="mlr-", dir="/tmp"))  # a socket path is short
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODLOADER_")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(site), str(FRAMEWORK)]),
        MODLOADER_CACHE_DIR=str(tmp_path / "cache"),
        MODLOADER_HISTORY_FILE=str(tmp_path / "history"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        NO_COLOR="1",
        TERM="xterm",
        PROMPT_TOOLKIT_NO_CPR="1",
        COLUMNS="120",
    )
    sock = str(folder / "host.sock")
    host_log = tmp_path / "host.log"
    with open(host_log, "wb") as stderr:
        host = subprocess.Popen(
            [sys.executable, "-m", "modloader", "-n", NAMESPACE, "-s", sock],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    deadline = time.monotonic() + 30
    while not os.path.exists(sock):
        assert host.poll() is None, host_log.read_text()
        assert time.monotonic() < deadline, "the host did not open its socket"
        time.sleep(0.05)

    class World:
        path = sock

        @staticmethod
        def rx(line):
            return subprocess.run(
                [sys.executable, "-m", "modloader", "-s", sock, "-rx", line],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )

        @staticmethod
        def console():
            return Terminal([sys.executable, "-m", "modloader", "-s", sock, "-r"], env)

    yield World
    host.terminate()
    host.wait(30)
    shutil.rmtree(folder, ignore_errors=True)


class Terminal:
    """A remote console on a pseudo-terminal."""

    def __init__(self, argv, env):
        master, slave = os.openpty()
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
        )
        os.close(slave)
        self.master = master
        self.seen = ""

    def _read(self, timeout):
        ready, _, _ = select.select([self.master], [], [], timeout)
        if ready:
            try:
                self.seen += CONTROL.sub("", os.read(self.master, 65536).decode(errors="replace"))
            except OSError:
                pass

    def expect(self, text, timeout=20.0):
        """Wait for ``text``; returns what came before it, and forgets both."""
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{text!r} not seen; got {self.seen[-800:]!r}"
            self._read(remaining)
        before, _, self.seen = self.seen.partition(text)
        return before

    def type(self, keys):
        os.write(self.master, keys.encode())

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        os.close(self.master)


def test_a_remote_console_shows_the_hosts_log_and_rx_shows_only_its_reply(world):
    term = world.console()
    try:
        term.expect("Connected to modloader")
        term.expect("*CLI>")
        done = world.rx("module unload res_kv")
        assert done.returncode == 0, done.stderr
        assert done.stdout == "Unloaded res_kv\n"  # -rx: the reply, never a log line
        assert done.stderr == ""
        term.expect("INFO[modloader.module.res_kv]: dropping 1 key")
        assert world.rx("module load res_kv").stdout == "Loaded res_kv\n"

        # This console's own verbosity: warnings only, then muted, then back.
        term.type("core set verbose 0\r")
        term.expect("Console verbose was 1 and is now 0.")
        term.expect("*CLI>")
        world.rx("kv spam 3")
        world.rx("kv warn first")
        seen = term.expect("WARNING[modloader.module.res_kv]: kv warning first")
        assert "spam line" not in seen
        term.type("logger mute\r")
        term.expect("Console is muted.")
        term.expect("*CLI>")
        world.rx("kv warn while muted")
        term.type("logger mute\r")
        seen = term.expect("Console is not muted anymore.")
        world.rx("kv warn after")
        seen += term.expect("kv warning after")
        assert "while muted" not in seen

        # A command typed here: its output first, then the log lines it caused.
        term.type("core set verbose 1\r")
        term.expect("Console verbose was 0 and is now 1.")
        term.expect("*CLI>")
        term.type("module unload res_kv\r")
        before = term.expect("dropping 1 key")
        assert "Unloaded res_kv" in before
        term.type("exit\r")
        assert term.proc.wait(20) == 0
    finally:
        term.close()


def test_consoles_have_their_own_verbosity(world):
    first, second = world.console(), world.console()
    try:
        for term in (first, second):
            term.expect("*CLI>")
        first.type("core set verbose off\r")
        first.expect("Console verbose was 1 and is now 0.")
        world.rx("kv spam 1")
        world.rx("kv warn both")
        second.expect("spam line 0")
        second.expect("kv warning both")
        assert "spam line" not in first.expect("kv warning both")
    finally:
        first.close()
        second.close()


def test_a_console_that_never_reads_does_not_block_the_host(world):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(world.path)
    sock.sendall(b'{"v":1,"id":1,"op":"hello","versions":[1,2]}\n')
    sock.sendall(b'{"v":2,"id":2,"op":"subscribe","verbose":1}\n')
    reader = sock.makefile("rb")
    assert json.loads(reader.readline())["version"] == 2
    assert json.loads(reader.readline())["ok"] is True
    began = time.monotonic()
    done = world.rx("kv spam 10000")  # the console reads nothing meanwhile
    elapsed = time.monotonic() - began
    assert done.stdout == "logged 10000 lines\n"
    assert elapsed < 30, f"the host took {elapsed:.1f} s with a console that does not read"
    sock.settimeout(20)
    spam, dropped = 0, 0
    while spam + dropped < 10000:
        message = json.loads(reader.readline())
        if message["event"] == "dropped":
            dropped += message["count"]
        elif "spam line" in message["text"]:
            spam += 1
    assert dropped > 0 and spam > 0
    sock.close()
