"""A console whose input is no terminal: ``modloader -c < commands``, ``-r < commands``."""

from __future__ import annotations

import functools
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from modloader._cli.colour import is_terminal
from modloader._cli.script import script_lines
from modloader.testing import make_distribution
from tests import _plugins as p

NAMESPACE = "itest.order"


def test_the_lines_of_a_pipe_each_once_the_last_without_its_newline_too() -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, b"module show\r\nhello \xff there\n\nlast")
    os.close(write_end)
    try:
        assert list(script_lines(read_end, threading.Event())) == [
            "module show\r",
            "hello \ufffd there",
            "",
            "last",
        ]
    finally:
        os.close(read_end)


def test_a_pipe_nobody_writes_to_does_not_hold_a_stopped_console() -> None:
    read_end, write_end = os.pipe()
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    try:
        assert list(script_lines(read_end, stop)) == []
        assert time.monotonic() - started < 3
    finally:
        os.close(write_end)
        os.close(read_end)


def test_a_console_after_another_reads_on_where_it_stopped() -> None:
    """``-R`` makes a console for each connection, over the one standard input."""
    read_end, write_end = os.pipe()
    os.write(write_end, b"first\nsecond\nthird\n")
    os.close(write_end)
    try:
        stop = threading.Event()
        first = script_lines(read_end, stop)
        assert next(first) == "first"
        stop.set()
        assert list(first) == []
        assert list(script_lines(read_end, threading.Event())) == ["second", "third"]
        assert list(script_lines(read_end, threading.Event())) == []  # its end, again
    finally:
        os.close(read_end)


def test_no_descriptor_is_no_line() -> None:
    assert list(script_lines(None, threading.Event())) == []
    assert not is_terminal(None)
    assert not is_terminal(object())


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("script-site")
    p.install_all(functools.partial(make_distribution, folder), [NAMESPACE])
    return folder


def _console(site: Path, tmp_path: Path, stdin: object) -> subprocess.Popen[str]:
    environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("MODLOADER_")}
    environ.update(
        PYTHONPATH=os.pathsep.join([str(site), str(Path(p.__file__).parents[1] / "framework")]),
        MODLOADER_CACHE_DIR=str(tmp_path / "cache"),
        MODLOADER_HISTORY_FILE=str(tmp_path / "history"),
        XDG_CONFIG_HOME=str(tmp_path / "config-home"),
        **{p.TRACE_VAR: str(tmp_path / "trace.log")},
    )
    code = "import sys; from modloader._cli import main; sys.exit(main())"
    argv = [sys.executable, "-c", code, "-n", NAMESPACE, "-s", str(tmp_path / "h.sock"), "-c"]
    return subprocess.Popen(
        argv,
        env=environ,
        cwd=tmp_path,
        stdin=stdin,  # type: ignore[arg-type]
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_file_of_commands_is_run_line_by_line(site: Path, tmp_path: Path) -> None:
    commands = tmp_path / "commands.txt"
    commands.write_text("module show like zzz\n\n  help module show  \ncore stop now\nnever run\n")
    with commands.open("rb") as stdin:
        proc = _console(site, tmp_path, stdin)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert lines[:2] == ["*CLI> module show like zzz", lines[1]]
    assert lines[1].split()[:2] == ["Module", "Description"]
    assert "0 modules loaded" in lines
    assert "*CLI> help module show" in lines
    assert lines[-2:] == ["*CLI> core stop now", "Stopping now."]
    assert "never run" not in out
    assert "not a terminal" not in err


def test_a_pipe_left_open_does_not_hold_a_stop_by_signal(site: Path, tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    try:
        proc = _console(site, tmp_path, read_end)
        os.write(write_end, b"module show like zzz\n")
        assert proc.stdout is not None
        seen = b""  # read from the descriptor: communicate() below does, past any buffer
        deadline = time.monotonic() + 60
        while b"0 modules loaded" not in seen:
            left = deadline - time.monotonic()
            assert left > 0, f"the console ran nothing: {seen!r}"
            if select.select([proc.stdout], [], [], left)[0]:
                seen += os.read(proc.stdout.fileno(), 65536)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)  # the writer is still there, saying nothing
    finally:
        os.close(write_end)
        os.close(read_end)
    assert proc.returncode == 0, err
    assert seen.startswith(b"*CLI> module show like zzz\n")
    assert "Fatal Python error" not in err
