import importlib.util
import io
import logging
import os
import re
import select
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from modloader._cli import console as console_module
from modloader._cli.console import Console
from modloader._cli.console import default_history_path
from modloader._cli.console import run_console
from modloader._control.client import ControlClient
from modloader._control.client import RemoteExecutor
from modloader._control.unix import ControlServer
from tests._hostile import within

FAKE_HOST = Path(__file__).resolve().parents[1] / "control" / "fake_host.py"
CONTROL = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[>=]|\r")


def _fake_module():
    spec = importlib.util.spec_from_file_location("fake_host_console", FAKE_HOST)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def executor():
    return _fake_module().FakeExecutor()


def drive(executor, keys, tmp_path, **options):
    """Run a console over ``executor`` with ``keys`` typed; returns what it printed."""
    out = io.StringIO()
    options.setdefault("history_path", str(tmp_path / "history"))
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        pipe.send_text(keys)
        run_console(
            executor,
            stdout=out,
            input=pipe,
            output=DummyOutput(),
            **options,
        )
    return out.getvalue()


def test_runs_lines_until_ctrl_d(executor, tmp_path):
    out = drive(executor, "echo one\recho two\r\x04", tmp_path)
    assert executor.lines == ["echo one", "echo two"]
    assert out == "one\ntwo\n"


@pytest.mark.parametrize("word", ["exit", "quit", "  QUIT  "], ids=str.strip)
def test_exit_words_leave_without_reaching_the_executor(executor, tmp_path, word):
    drive(executor, f"echo a\r{word}\recho never\r", tmp_path)
    assert executor.lines == ["echo a"]


def test_ctrl_c_clears_the_line(executor, tmp_path):
    drive(executor, "garbage\x03echo clean\r\x04", tmp_path)
    assert executor.lines == ["echo clean"]


def test_pasted_lines_run_in_turn(executor, tmp_path):
    """A terminal's bracketed paste of two lines ran them as one joined command."""
    paste = "\x1b[200~echo one\necho two\n\necho three\x1b[201~"
    out = drive(executor, f"{paste}\r\x04", tmp_path)
    assert executor.lines == ["echo one", "echo two", "echo three"]
    assert out == "one\ntwo\nthree\n"


def test_ctrl_c_while_a_command_runs_stops_waiting_not_the_host(executor, tmp_path):
    """Under the modloader command, SIGINT asks the host to stop: at a local console,
    giving up on a slow command (Ctrl-C) stopped the whole host."""
    import signal

    asked: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: asked.append(signum))
    try:
        ctrl_c = threading.Timer(
            0.3, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT)
        )
        ctrl_c.start()
        out = drive(executor, "slow 3\recho after\r\x04", tmp_path)
        assert asked == []  # the process's handler was not called
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler  # put back
    finally:
        signal.signal(signal.SIGINT, previous)
    assert out == "Interrupted while running 'slow 3'\nafter\n"


@pytest.mark.parametrize("errno_name", ["EPIPE", "ENOSPC"])
def test_output_that_cannot_be_written_is_the_commands_write_error(executor, errno_name):
    """``modloader -r`` with piped input: ``| head`` and ``> /dev/full`` ended in a
    traceback. A reader that has gone drops the rest; a full disk is an OutputError,
    which ``modloader`` says as ``write error`` (status 1)."""
    import errno as errnos

    from modloader._cli.output import OutputError

    number = getattr(errnos, errno_name)

    nowhere = os.open(os.devnull, os.O_WRONLY)

    class Failing(io.StringIO):
        def fileno(self):
            return nowhere

        def flush(self):
            raise (BrokenPipeError if number == errnos.EPIPE else OSError)(number, "no")

    console = Console(executor, stdout=Failing())
    try:
        if number == errnos.EPIPE:
            console.write("dropped")
            return
        with pytest.raises(OutputError, match="no"):
            console.write("lost")
        failed: list[BaseException] = []

        def log_line() -> None:
            try:
                console.write("a log line")
            except BaseException as exc:
                failed.append(exc)

        logs = threading.Thread(target=log_line)
        logs.start()
        logs.join()
        assert failed == []  # another thread's write drops it: the main thread says it
    finally:
        os.close(nowhere)


def test_blank_lines_are_skipped_and_failures_printed(executor, tmp_path):
    out = drive(executor, "\r   \rnope\r\x04", tmp_path)
    assert executor.lines == ["nope"]
    assert out.endswith("Command 'nope' failed.\n")


def test_executor_exception_keeps_the_console(executor, tmp_path):
    out = drive(executor, "boom\recho ok\r\x04", tmp_path)
    assert "Command 'boom' failed: RuntimeError: the executor broke" in out
    assert out.endswith("ok\n")


def test_history_file_is_kept(executor, tmp_path):
    drive(executor, "echo first\rmodule show\r\x04", tmp_path)
    history = (tmp_path / "history").read_text()
    assert "+echo first" in history and "+module show" in history
    assert oct(os.stat(tmp_path / "history").st_mode & 0o777) == "0o600"
    # Up arrow twice recalls the first line of the previous run.
    drive(executor, "\x1b[A\x1b[A\r\x04", tmp_path)
    assert executor.lines[-1] == "echo first"


@pytest.mark.parametrize("what", ["fifo", "link-to-dev-zero", "folder", "too-big"])
def test_a_history_file_that_is_not_one_is_not_kept(executor, tmp_path, caplog, what):
    """A FIFO nobody reads held the console for good before its first prompt; a
    link to /dev/zero (or gigabytes of history) would have been read whole."""
    history = tmp_path / "history"
    if what == "fifo":
        os.mkfifo(history)
    elif what == "link-to-dev-zero":
        history.symlink_to("/dev/zero")
    elif what == "folder":
        history.mkdir()
    else:
        with history.open("wb") as file:
            file.truncate(console_module.MAX_HISTORY_BYTES + 1)  # sparse: no disk used
    out = within(10, lambda: drive(executor, "echo still here\r\x04", tmp_path))
    assert out == "still here\n"
    assert "console history not kept" in caplog.text


def test_a_history_file_that_cannot_be_written_loses_the_line_not_the_command(
    executor, tmp_path, caplog
):
    """A full disk (ENOSPC), or the history's folder removed while the console runs:
    each line typed ended in prompt_toolkit's traceback and "Press ENTER to
    continue...", and the command was not run."""
    folder = tmp_path / "state"
    folder.mkdir()
    execute = executor.execute

    def execute_and_remove_the_folder(line):
        if folder.exists():
            shutil.rmtree(folder)  # from now on, each write of the history fails
        return execute(line)

    executor.execute = execute_and_remove_the_folder
    with caplog.at_level(logging.WARNING, logger="modloader.console"):
        out = within(
            10,
            lambda: drive(
                executor,
                "echo one\recho two\recho three\r\x04",
                tmp_path,
                history_path=str(folder / "history"),
            ),
        )
    assert executor.lines == ["echo one", "echo two", "echo three"]
    assert out == "one\ntwo\nthree\n"
    said = [r.getMessage() for r in caplog.records if "history" in r.getMessage()]
    assert said == [
        f"console history not written to {folder / 'history'} (No such file or directory); "
        "this session's lines are kept in memory"
    ]


def test_a_line_whose_history_write_failed_is_kept_in_memory(tmp_path):
    history = console_module._open_history(str(tmp_path / "gone" / "history"))
    shutil.rmtree(tmp_path / "gone")
    history.append_string("module show")
    assert list(history.get_strings()) == ["module show"]


def test_log_records_are_printed_to_the_console(executor, tmp_path):
    logger = logging.getLogger("fake")
    logger.propagate = False
    try:
        out = drive(executor, "log disk almost full\r\x04", tmp_path, logger=logger)
    finally:
        logger.propagate = True
    assert "WARNING[fake.host]: disk almost full" in out
    assert logger.handlers == []  # removed when the console ends


def test_a_commands_output_comes_before_the_log_lines_it_caused(executor, tmp_path):
    logger = logging.getLogger("fake")
    logger.propagate = False
    try:
        out = drive(executor, "log one\rlog two\r\x04", tmp_path, logger=logger)
    finally:
        logger.propagate = True
    lines = [line.split("]: ")[-1] for line in out.splitlines()]
    assert lines == ["logged", "one", "logged", "two"]


def test_a_local_console_sets_its_own_verbosity(executor, tmp_path):
    logger = logging.getLogger("fake")
    logger.propagate = False
    keys = "log shown\rlogger mute\rlog hidden\rlogger mute\rlog again\r\x04"
    try:
        out = drive(executor, keys, tmp_path, logger=logger)
    finally:
        logger.propagate = True
    assert "Console is muted." in out and "Console is not muted anymore." in out
    assert "shown" in out and "again" in out and "hidden" not in out
    assert executor.lines == ["log shown", "log hidden", "log again"]  # mute never reached it


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mod", [("module ", -3)]),
        ("module ", [(w, 0) for w in ["load", "refresh", "reload", "show", "unload"]]),
        ("module unload res_", [("res_cache", -4), ("res_hello", -4)]),
        ("nothing", []),
    ],
    ids=["unique-adds-space", "subcommands", "module-names", "none"],
)
def test_completion_asks_the_executor(executor, text, expected):
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    with create_pipe_input() as pipe:  # a console at a terminal (no input: a script's)
        console = Console(executor, history_path="", input=pipe, output=DummyOutput())
    assert console.session is not None and console.session.completer is not None
    completions = console.session.completer.get_completions(Document(text), CompleteEvent())
    assert [(c.text, c.start_position) for c in completions] == expected


def test_default_history_path(monkeypatch, tmp_path):
    monkeypatch.delenv("MODLOADER_HISTORY_FILE", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_history_path() == str(tmp_path / "modloader" / "history")
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_history_path() == str(tmp_path / ".local" / "state" / "modloader" / "history")
    monkeypatch.setenv("MODLOADER_HISTORY_FILE", "/x/y")
    assert default_history_path() == "/x/y"


def test_stop_from_another_thread(executor, tmp_path):
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        console = Console(
            executor, history_path="", stdout=io.StringIO(), input=pipe, output=DummyOutput()
        )
        timer = threading.Timer(0.3, console.stop)
        timer.start()
        started = time.monotonic()
        console.run()
        timer.join()
    assert time.monotonic() - started < 3


def test_remote_console_over_the_socket(executor, tmp_path):
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="mlc-", dir="/tmp")
    try:
        with ControlServer(executor, os.path.join(folder, "c.sock")) as server:
            with ControlClient(server.path, timeout=5) as client:
                remote = RemoteExecutor(client)
                out = drive(remote, "echo over the wire\rexit\r", tmp_path)
                assert remote.complete("module rel") == ["reload"]
            assert out == "over the wire\n"
            assert executor.lines == ["echo over the wire"]  # "exit" never reached the host
            with ControlClient(server.path, timeout=5) as client:  # the host runs on
                client.ping()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- a real terminal ------------------------------------------------------------


class Terminal:
    """The console script running on a pseudo-terminal."""

    def __init__(self, history, argv=None, env=None):
        master, slave = os.openpty()
        env = {**os.environ, **(env or {})}
        env.update(TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", COLUMNS="100")
        self.proc = subprocess.Popen(
            argv or [sys.executable, str(FAKE_HOST), "console", str(history)],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.master = master
        self.seen = b""

    def text(self):
        """What was seen, without the terminal's control sequences."""
        return CONTROL.sub(b"", self.seen).decode(errors="replace")

    def expect(self, text, timeout=10.0):
        """Wait for ``text`` on the screen, then forget everything up to it."""
        deadline = time.monotonic() + timeout
        while text not in self.text():
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{text!r} not seen; got {self.text()[-500:]!r}"
            ready, _, _ = select.select([self.master], [], [], remaining)
            if ready:
                try:
                    self.seen += os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    break
        seen = self.text()
        assert text in seen, f"{text!r} not seen; got {seen[-500:]!r}"
        self.seen = seen[seen.index(text) + len(text) :].encode()

    def type(self, keys):
        os.write(self.master, keys.encode())

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        os.close(self.master)


@pytest.fixture
def terminal(tmp_path):
    terms = []

    def start():
        term = Terminal(tmp_path / "history")
        terms.append(term)
        return term

    yield start
    for term in terms:
        term.close()


def test_console_on_a_real_terminal(terminal):
    # Keys are typed only once the prompt is back: between prompts the terminal is
    # in cooked mode, where it would turn Ctrl-C into SIGINT and eat Ctrl-D.
    term = terminal()
    term.expect("*CLI>")
    term.type("mod\t")  # Tab completes the command word and steps past it
    term.expect("module")
    term.type("show like hel\r")
    term.expect("1 modules loaded")
    term.expect("*CLI>")
    term.type("garbage\x03")  # Ctrl-C drops the line
    term.expect("*CLI>")
    term.type("echo after ctrl-c\r")
    term.expect("after ctrl-c")
    term.expect("*CLI>")
    term.type("log above the prompt\r")
    term.expect("WARNING:fake.host:above the prompt")
    term.expect("*CLI>")
    term.type("\x04")  # Ctrl-D leaves
    term.expect("console left")
    assert term.proc.wait(10) == 0

    second = terminal()  # history survives into the next run
    second.expect("*CLI>")
    second.type("\x1b[A\x1b[A\r")
    second.expect("after ctrl-c")
    second.expect("*CLI>")
    second.type("exit\r")
    second.expect("console left")
    assert second.proc.wait(10) == 0
