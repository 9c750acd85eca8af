"""``--log-file``: the whole log appended to a file, whatever the terminal shows."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests._dists import make_dist

FRAMEWORK = Path(__file__).resolve().parents[2] / "framework"
MODULE = """
import logging

class Module:
    description = "Logs as it loads"

    def load(self, ctx):
        ctx.logger.info("the quiet news")
        ctx.logger.warning("the loud news")
"""


def run(site, tmp_path, *args):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), str(FRAMEWORK)]),
        "MODLOADER_CACHE_DIR": str(tmp_path / "cache"),
    }
    return subprocess.run(
        [sys.executable, "-m", "modloader", "-n", "logs.modules", "-x", "module show", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )


def make_site(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    make_dist(
        site,
        "res-news",
        "1",
        {"logs.modules": {"res_news": "res_news:Module"}},
        {"res_news.py": MODULE},
    )
    return site


def test_the_file_gets_info_that_the_terminal_does_not_and_is_appended_to(tmp_path):
    site = make_site(tmp_path)
    log = tmp_path / "modloader.log"
    log.write_text("an earlier line\n")
    done = run(site, tmp_path, "--log-file", str(log))
    assert done.returncode == 0, done.stderr
    assert "the loud news" in done.stderr
    assert "the quiet news" not in done.stderr  # -x: warnings only on the terminal
    lines = log.read_text().splitlines()
    assert lines[0] == "an earlier line"
    assert any(line.endswith("INFO: the quiet news") for line in lines), lines
    assert any(line.endswith("WARNING: the loud news") for line in lines), lines


@pytest.mark.parametrize(
    ("what", "reason"),
    [
        ("missing", "No such file or directory"),
        # Opened as ``logging.FileHandler`` opens, the FIFO held the command for good.
        ("fifo", "it is a FIFO that no process reads"),
    ],
)
def test_a_log_file_that_cannot_be_opened_is_an_error_naming_it(tmp_path, what, reason):
    site = make_site(tmp_path)
    if what == "missing":
        log = tmp_path / "no" / "such" / "folder" / "modloader.log"
    else:
        log = tmp_path / "modloader.log"
        os.mkfifo(log)
    done = run(site, tmp_path, "--log-file", str(log))  # within run()'s 60 s
    assert done.returncode == 1
    assert done.stderr.strip() == f"modloader: error: cannot open the log file {log}: {reason}"
    assert done.stdout == ""  # no module was started


def test_a_fifo_that_a_process_reads_gets_the_log(tmp_path):
    site = make_site(tmp_path)
    fifo = tmp_path / "modloader.log"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # open before the command starts
    try:
        done = run(site, tmp_path, "--log-file", str(fifo))  # a few KB: the pipe holds them
        received = os.read(reader, 1 << 16).decode()
    finally:
        os.close(reader)
    assert done.returncode == 0, done.stderr
    assert any(line.endswith("INFO: the quiet news") for line in received.splitlines())


def test_a_log_file_that_cannot_be_written_is_said_once(tmp_path):
    """A full disk (``/dev/full`` here): logging printed a traceback per line."""
    site = make_site(tmp_path)
    log = tmp_path / "modloader.log"
    log.symlink_to("/dev/full")
    done = run(site, tmp_path, "--log-file", str(log), "-v")
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stderr.splitlines() if "cannot write the log file" in line]
    assert said == [
        f"modloader: cannot write the log file {log} ([Errno 28] No space left on device); "
        "its lines are lost while that lasts"
    ]
    assert "Traceback" not in done.stderr and "Logging error" not in done.stderr
    assert "the loud news" in done.stderr  # the terminal still has the log


def test_an_applications_command_says_its_own_name(tmp_path):
    """``modloader.main(prog="myapp")``: the log file's errors begin with ``myapp:``."""
    from modloader._cli.args import Options
    from modloader._cli.args import Profile
    from modloader._cli.local import configure_logging

    fifo = tmp_path / "myapp.log"
    os.mkfifo(fifo)
    options = Options(log_file=str(fifo), profile=Profile(prog="myapp", namespace="my.ns"))
    assert configure_logging(options) == (
        f"myapp: error: cannot open the log file {fifo}: it is a FIFO that no process reads"
    )


@pytest.mark.parametrize("rotation", ["moved", "removed"])
def test_a_rotated_log_file_is_followed(tmp_path, rotation):
    """``logrotate`` moves the file away and makes a new one (or the file is removed):
    the host wrote to the moved file for good, and the new one stayed empty."""
    import signal
    import time

    from tests._apps import wait_for_socket

    site = make_site(tmp_path)
    log, sock = tmp_path / "modloader.log", tmp_path / "c.sock"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), str(FRAMEWORK)]),
        "MODLOADER_CACHE_DIR": str(tmp_path / "cache"),
    }
    command = [sys.executable, "-m", "modloader", "-n", "logs.modules", "-s", str(sock)]
    host = subprocess.Popen(
        [*command, "--log-file", str(log)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        wait_for_socket(str(sock), host)
        if rotation == "moved":
            log.rename(tmp_path / "modloader.log.1")
            log.write_text("")  # logrotate's "create"
        else:
            log.unlink()
        host.send_signal(signal.SIGHUP)  # something to log: "SIGHUP: reloading every module"
        deadline = time.monotonic() + 15
        while "SIGHUP: reloading every module" not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline, "the log file was not followed"
            time.sleep(0.05)
    finally:
        host.send_signal(signal.SIGTERM)
        _, stderr = host.communicate(timeout=30)
    assert host.returncode == 0, stderr
    if rotation == "moved":
        old = (tmp_path / "modloader.log.1").read_text()
        assert "INFO: the quiet news" in old and "SIGHUP" not in old


def test_a_second_command_in_one_process_closes_the_first_ones_log_file(tmp_path):
    """``modloader.main()`` run twice in one process (a test suite, an application):
    the log file the first opened is closed when the second sets up its log."""
    import logging

    from modloader._cli.args import Profile
    from modloader._cli.args import parse_args
    from modloader._cli.local import configure_logging

    def command(log: str):
        argv = ["-n", "logs.modules", "--log-file", str(tmp_path / log), "-x", "module show"]
        return parse_args(argv, Profile())

    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    try:
        assert configure_logging(command("first.log")) is None
        (first,) = [h for h in root.handlers if getattr(h, "path", None)]
        stream = first.stream
        assert configure_logging(command("second.log")) is None
        assert stream.closed
        assert [h.path for h in root.handlers if getattr(h, "path", None)] == [
            str(tmp_path / "second.log")
        ]
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = saved
        root.setLevel(level)
