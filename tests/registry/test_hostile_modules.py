"""Broken and hung modules against a real ``modloader`` process and its real control socket.

Each plugin is a real installed distribution whose hooks read what to do from a
file (``<name>.<hook>`` in the folder named by ``HOSTILE_DIR``): nothing (return),
``sleep N``, ``False``, or the name of an exception to raise. So one host can
be made to misbehave at run time, command by command. Every hook appends
``<hook> <name>`` to ``trace.log`` when it is called.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import modloader
from modloader._control.client import ControlClient
from modloader.testing import make_distribution
from tests._plugins import write_conf

NAMESPACE = "itest.hostile"

_SOURCE = """\
import builtins
import os
import time
from pathlib import Path

NAME = {name!r}
REQUIRES = {requires!r}


class Custom(BaseException):
    pass


def _act(hook, ctx=None):
    folder = Path(os.environ["HOSTILE_DIR"])
    with open(folder / "trace.log", "a", encoding="utf-8") as out:
        out.write(hook + " " + NAME + "\\n")
    path = folder / (NAME + "." + hook)
    what = path.read_text().strip() if path.exists() else ""
    if what.startswith("sleep "):
        time.sleep(float(what.split()[1]))
    elif what == "False":
        return False
    elif what == "Custom":
        raise Custom("custom from " + NAME)
    elif what == "SystemExit":
        raise SystemExit(7)
    elif what == "host.stop()":
        ctx.host.stop()
    elif what:
        raise getattr(builtins, what)("from " + NAME)
    return None


class Plugin:
    requires = REQUIRES

    def load(self, ctx):
        _act("load", ctx)
        ctx.register_command(NAME + " boom", self.boom)

    def unload(self, ctx):
        return _act("unload")

    def reload(self, ctx):
        return _act("reload")

    def boom(self, args):
        _act("command")
        return "boom ok"
"""


def _command() -> list[str]:
    script = Path(sys.executable).with_name("modloader")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys, modloader; sys.exit(modloader.main())"]


class Env:
    def __init__(self, tmp: Path, site: Path) -> None:
        self.dir = tmp
        self.runtime = tempfile.mkdtemp(prefix="mlh-")
        self.socket = os.path.join(self.runtime, "h.sock")
        framework = Path(modloader.__file__).resolve().parents[1]
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.upper().startswith("MODLOADER_") and k != "PYTHONPATH"
        }
        self.env.update(
            PYTHONPATH=os.pathsep.join([str(framework), str(site)]),
            MODLOADER_CACHE_DIR=str(tmp / "cache"),
            XDG_CONFIG_HOME=str(tmp / "config-home"),
            XDG_RUNTIME_DIR=self.runtime,
            HOSTILE_DIR=str(tmp),
        )

    def behave(self, name: str, hook: str, what: str | None) -> None:
        path = self.dir / f"{name}.{hook}"
        if what is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(what, encoding="utf-8")

    def trace(self) -> list[str]:
        path = self.dir / "trace.log"
        return path.read_text(encoding="utf-8").splitlines() if path.exists() else []

    def argv(self, conf: str, *extra: str) -> list[str]:
        path = write_conf(self.dir / "modules.conf", conf)
        return [*_command(), "-n", NAMESPACE, "-C", str(path), *extra]

    def run(self, argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, env=self.env, cwd=self.dir, capture_output=True, text=True, timeout=timeout
        )

    def serve(self, conf: str, *extra: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            self.argv(conf, "-s", self.socket, *extra),
            env=self.env,
            cwd=self.dir,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not os.path.exists(self.socket):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                out, err = proc.communicate()
                raise AssertionError(f"no socket: exit {proc.returncode}\n{out}\n{err}")
            time.sleep(0.05)
        return proc

    def rx(self, line: str) -> subprocess.CompletedProcess[str]:
        return self.run([*_command(), "-s", self.socket, "-rx", line])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile-site")
    add = functools.partial(make_distribution, folder)
    for name, requires in (("alpha", []), ("beta", ["alpha"]), ("gamma", []), ("hung", [])):
        add(
            f"itest-hostile-{name}",
            "1.0",
            entry_points={NAMESPACE: {name: f"itest_hostile_{name}:Plugin"}},
            files={f"itest_hostile_{name}.py": _SOURCE.format(name=name, requires=requires)},
        )
    return folder


@pytest.fixture
def env(tmp_path: Path, site: Path) -> Iterator[Env]:
    made = Env(tmp_path, site)
    yield made
    shutil.rmtree(made.runtime, ignore_errors=True)


def _stop(proc: subprocess.Popen[str], timeout: float = 30) -> tuple[str, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"the host did not stop within {timeout} s\n{out}\n{err}") from None


def test_base_exceptions_from_load_at_run_time_leave_nothing_stuck(env: Env) -> None:
    proc = env.serve("autoload = yes")
    try:
        for kind in ("KeyboardInterrupt", "GeneratorExit", "Custom", "SystemExit"):
            assert env.rx("module unload gamma").returncode == 0
            env.behave("gamma", "load", kind)
            done = env.rx("module load gamma")
            assert done.returncode == 1
            assert done.stdout.splitlines()[0].startswith(f"gamma: {kind}")
            assert "Traceback" not in done.stdout + done.stderr
            assert "malformed" not in done.stdout + done.stderr
            env.behave("gamma", "load", None)
            for line in ("module load gamma", "module unload -h gamma", "module load gamma"):
                step = env.rx(line)
                assert step.returncode == 0, (line, step.stdout, step.stderr)
            assert env.rx("module refresh gamma").returncode == 0
        for hook in ("unload", "reload"):
            env.behave("gamma", hook, "KeyboardInterrupt")
            step = env.rx(f"module {hook} gamma")
            assert step.returncode == 1
            assert "Traceback" not in step.stdout + step.stderr
            env.behave("gamma", hook, None)
            assert env.rx(f"module {hook} gamma").returncode == 0
            assert env.rx("module load gamma").returncode == (0 if hook == "unload" else 1)
    finally:
        _, err = _stop(proc)
    assert proc.returncode == 0, err


@pytest.mark.parametrize("kind", ["KeyboardInterrupt", "Custom", "SystemExit"])
def test_a_base_exception_at_startup_unwinds_in_reverse(env: Env, kind: str) -> None:
    env.behave("gamma", "load", kind)
    done = env.run(
        env.argv("autoload = no\nload = alpha\nload = beta\nrequire = gamma", "-x", "module show")
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "*** Failed to load required module gamma" in done.stderr
    assert [t for t in env.trace() if t.split()[0] in ("load", "unload")] == [
        "load alpha",
        "load beta",
        "load gamma",
        "unload beta",
        "unload alpha",
    ]


def test_a_base_exception_at_startup_from_an_optional_module_is_a_decline(env: Env) -> None:
    env.behave("gamma", "load", "KeyboardInterrupt")
    done = env.run(env.argv("autoload = yes", "-x", "module show like gamma"))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "Not Running" in done.stdout


@pytest.mark.slow  # it waits out time limits
def test_a_hung_module_does_not_freeze_the_host(env: Env) -> None:
    proc = env.serve("autoload = yes", "--module-timeout", "2")
    try:
        env.behave("hung", "reload", "sleep 3.5")
        env.behave("hung", "unload", "sleep 60")
        started = time.monotonic()
        pending = subprocess.Popen(
            [*_command(), "-s", env.socket, "-rx", "module reload hung"],
            env=env.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(0.5)
        show = env.rx("module show")
        assert show.returncode == 0
        other = env.rx("module refresh gamma")
        assert other.returncode == 0, other.stdout
        assert time.monotonic() - started < 2.0 + 5.0  # they did not wait for the hung reload
        out, _ = pending.communicate(timeout=30)
        assert pending.returncode == 1
        assert "reload() did not return within 2 s" in out
        busy = env.rx("module unload hung")
        assert "is busy: its reload() has not returned yet" in busy.stdout
    finally:
        started = time.monotonic()
        out, err = _stop(proc)
    # The graceful stop waits at most the limit per module, and names the one it gave up on.
    assert time.monotonic() - started < 30
    assert proc.returncode == 0
    assert "hung: gave up waiting for unload() after 2 s" in err or "hung: not unloaded" in err
    assert "Traceback" not in err


def test_a_command_raising_keyboard_interrupt_answers_and_keeps_the_connection(env: Env) -> None:
    proc = env.serve("autoload = yes")
    try:
        env.behave("gamma", "command", "KeyboardInterrupt")
        with ControlClient(env.socket, timeout=10) as client:
            result = client.execute("gamma boom now")
            assert not result.ok
            assert result.output.splitlines()[0] == (
                "internal error while running 'gamma boom now': KeyboardInterrupt: from gamma"
            )
            env.behave("gamma", "command", "GeneratorExit")
            assert "GeneratorExit: from gamma" in client.execute("gamma boom").output
            env.behave("gamma", "command", None)
            assert client.execute("gamma boom").output == "boom ok"
            assert client.execute("module show like gamma").ok
    finally:
        _stop(proc)
    assert proc.returncode == 0


def test_a_module_that_stops_the_host_at_run_time_ends_the_command(env: Env) -> None:
    """Not a host stopped under a process that goes on serving nothing."""
    proc = env.serve("autoload = yes\nnoload = gamma")
    try:
        env.behave("gamma", "load", "host.stop()")
        answer = env.rx("module load gamma")
        assert "the host stopped while its load() ran" in answer.stdout + answer.stderr
        proc.wait(timeout=30)
    finally:
        _, err = _stop(proc)
    assert proc.returncode == 0
    assert "Traceback" not in err
