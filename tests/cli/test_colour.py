"""Colour in the console: on a real terminal only, never with NO_COLOR."""

import io
import logging
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modloader._cli.colour import ColourFormatter
from modloader._cli.colour import colour_status_column
from modloader._cli.colour import enabled
from modloader._cli.console import Console
from tests._dists import make_dist

FRAMEWORK = Path(__file__).resolve().parents[2] / "framework"
GREEN_RUNNING = b"\x1b[32mRunning\x1b[0m"
RED_NOT_RUNNING = b"\x1b[31mNot Running\x1b[0m"
RED_WARNING = b"\x1b[1;31mWARNING\x1b[0m"

TABLE = """\
Module   Description  Use Count  Status      Support Level
res_a    Running man  0          Running          core
res_b    Not Running  0          Not Running      core
2 modules loaded"""


def test_the_status_column_is_coloured_and_nothing_else():
    lines = colour_status_column(TABLE).split("\n")
    assert lines[0] == TABLE.split("\n")[0]
    assert lines[1] == "res_a    Running man  0          \x1b[32mRunning\x1b[0m          core"
    assert lines[2] == "res_b    Not Running  0          \x1b[31mNot Running\x1b[0m      core"
    assert lines[3] == "2 modules loaded"
    assert colour_status_column("no table here") == "no table here"


def test_the_level_word_is_coloured_as_asterisk_does():
    formatter = ColourFormatter(logging.Formatter("%(levelname)s: %(message)s"))

    def shown(level):
        return formatter.format(logging.LogRecord("x", level, __file__, 1, "WARNING", (), None))

    assert shown(logging.WARNING) == "\x1b[1;31mWARNING\x1b[0m: WARNING"
    assert shown(logging.ERROR) == "\x1b[31mERROR\x1b[0m: WARNING"
    assert shown(logging.INFO) == "INFO: WARNING"


def test_off_when_not_a_terminal_or_no_color_or_dumb(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert not enabled(io.StringIO())
    assert not enabled(None)
    master, slave = os.openpty()
    with os.fdopen(slave, "w") as tty:
        assert enabled(tty)
        monkeypatch.setenv("NO_COLOR", "1")
        assert not enabled(tty)
        monkeypatch.delenv("NO_COLOR")
        monkeypatch.setenv("TERM", "dumb")
        assert not enabled(tty)
    os.close(master)
    assert Console(_NoExecutor(), stdout=io.StringIO(), history_path="").colour is False


class _NoExecutor:
    def execute(self, line):
        raise AssertionError(line)

    def complete(self, line):
        return []


# -- the modloader console on a pseudo-terminal ---------------------------------------

RUNS = "class Module:\n    description = 'Runs'\n    def load(self, ctx):\n        pass\n"
DECLINES = (
    "from modloader.module import ModuleDeclined\n"
    "class Module:\n    description = 'Declines'\n"
    "    def load(self, ctx):\n        raise ModuleDeclined('on purpose')\n"
)


def console_session(tmp_path, **env):
    """The raw bytes a ``modloader -c`` shows for ``module show`` on a real terminal."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    if not any(site.iterdir()):
        make_dist(
            site,
            "res-runs",
            "1",
            {"tint.modules": {"res_runs": "res_runs:Module"}},
            {"res_runs.py": RUNS},
        )
        make_dist(
            site,
            "res-declines",
            "1",
            {"tint.modules": {"res_declines": "res_declines:Module"}},
            {"res_declines.py": DECLINES},
        )
    master, slave = os.openpty()
    environ = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    environ.update(
        PYTHONPATH=os.pathsep.join([str(site), str(FRAMEWORK)]),
        TERM="xterm",
        PROMPT_TOOLKIT_NO_CPR="1",
        MODLOADER_CACHE_DIR=str(tmp_path / "cache"),
        MODLOADER_HISTORY_FILE=str(tmp_path / "history"),
        XDG_RUNTIME_DIR=str(tmp_path),
        **env,
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "modloader",
            "-n",
            "tint.modules",
            "-s",
            str(tmp_path / "s.sock"),
            "-c",
        ],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=environ,
        start_new_session=True,
    )
    os.close(slave)
    seen = b""

    def expect(text, timeout=30.0):
        nonlocal seen
        deadline = time.monotonic() + timeout
        while text not in seen:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{text!r} not seen; got {seen[-800:]!r}"
            if select.select([master], [], [], remaining)[0]:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    break

    try:
        expect(b"*CLI>")
        os.write(master, b"module show\r")
        expect(b"2 modules loaded")
        expect(b"*CLI>")
        os.write(master, b"exit\r")
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        os.close(master)
    return seen


@pytest.mark.skipif(sys.platform != "linux", reason="pseudo-terminals as Linux has them")
def test_a_terminal_gets_colour_and_no_color_turns_it_off(tmp_path):
    coloured = console_session(tmp_path)
    assert GREEN_RUNNING in coloured
    assert RED_NOT_RUNNING in coloured
    assert RED_WARNING in coloured  # "res_declines declined to load."
    plain = console_session(tmp_path, NO_COLOR="1")
    assert b"Not Running" in plain and b"WARNING" in plain
    assert GREEN_RUNNING not in plain
    assert RED_NOT_RUNNING not in plain
    assert RED_WARNING not in plain
