"""A real ``modloader`` process over real distributions, for tests that send it signals.

Three modules, ``alpha`` (priority 10), ``beta`` (20) and ``gamma`` (30), of
namespace ``sigtest.modules``, each its own installed distribution. Each writes
``EVENT NAME`` lines to the trace file (``load``, ``unload``, ``reload``, and
``loading``/``unloading`` when it is about to sleep), and behaves as the
environment says: ``SIGTEST_<BEHAVIOUR>=name,name`` makes those modules

* ``SLOW_LOAD``: sleep ``SIGTEST_SLEEP`` seconds (default 2) in ``load()``;
* ``HANG_LOAD`` / ``HANG_UNLOAD``: sleep 300 s in ``load()`` / ``unload()``;
* ``FAIL_RELOAD``: report a reload failure;
* ``THREAD``: start a non-daemon thread, ``sigtest-spinner-NAME``, that never ends.

``SIGTEST_SLOW_CORE=1`` makes the core init of the application command
(:data:`APP`, ``modloader.main(core_init=...)``) trace ``core_init`` and sleep.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import modloader
from modloader.testing import make_distribution

NAMESPACE = "sigtest.modules"
NAMES = ("alpha", "beta", "gamma")
_PRIORITIES = {"alpha": 10, "beta": 20, "gamma": 30}

_SOURCE = """\
import os
import threading
import time

NAME = {name!r}


def _trace(event):
    path = os.environ.get("SIGTEST_TRACE")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(event + " " + NAME + "\\n")


def _does(behaviour):
    return NAME in os.environ.get("SIGTEST_" + behaviour, "").split(",")


def _spin():
    while True:
        time.sleep(0.05)


class Plugin:
    load_priority = {priority}

    def load(self, ctx):
        _trace("load")
        if _does("SLOW_LOAD"):
            _trace("loading")
            time.sleep(float(os.environ.get("SIGTEST_SLEEP", "2")))
        if _does("HANG_LOAD"):
            _trace("loading")
            time.sleep(300)
        if _does("THREAD"):
            threading.Thread(target=_spin, name="sigtest-spinner-" + NAME).start()

    def unload(self, ctx):
        _trace("unload")
        if _does("HANG_UNLOAD"):
            _trace("unloading")
            time.sleep(300)

    def reload(self, ctx):
        _trace("reload")
        return not _does("FAIL_RELOAD")
"""

#: An application's command over the same modules, with a core init that may be slow.
APP = """\
import os
import sys
import time

import modloader


def core_init(host):
    with open(os.environ["SIGTEST_TRACE"], "a", encoding="utf-8") as out:
        out.write("core_init -\\n")
    if os.environ.get("SIGTEST_SLOW_CORE"):
        time.sleep(float(os.environ.get("SIGTEST_SLEEP", "2")))


sys.exit(modloader.main(prog="sigapp", namespace="sigtest.modules", core_init=core_init))
"""


def lay(site: Path) -> Path:
    """Install the three modules' distributions into ``site``."""
    add = functools.partial(make_distribution, site)
    for name in NAMES:
        module = f"sigtest_{name}"
        add(
            f"sigtest-{name}",
            "1.0",
            entry_points={NAMESPACE: {name: f"{module}:Plugin"}},
            files={f"{module}.py": _SOURCE.format(name=name, priority=_PRIORITIES[name])},
        )
    return site


def modloader_command() -> list[str]:
    script = Path(sys.executable).with_name("modloader")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys, modloader; sys.exit(modloader.main())"]


class Signalled:
    """One test's folder: a modules.conf, a trace file, a short socket path, the environment."""

    def __init__(self, site: Path, tmp: Path) -> None:
        self.tmp = tmp
        self.trace = tmp / "trace.log"
        # A socket path holds at most 103 bytes: a short folder of our own (0700).
        self.socket = os.path.join(tempfile.mkdtemp(prefix="mls-"), "host.sock")
        framework = Path(modloader.__file__).resolve().parents[1]
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.upper().startswith(("MODLOADER_", "SIGTEST_", "NOTIFY_SOCKET", "JOURNAL_"))
            and k != "PYTHONPATH"
        }
        self.env.update(
            PYTHONPATH=os.pathsep.join([str(framework), str(site)]),
            MODLOADER_CACHE_DIR=str(tmp / "cache"),
            XDG_CONFIG_HOME=str(tmp / "config-home"),
            XDG_STATE_HOME=str(tmp / "state-home"),
            SIGTEST_TRACE=str(self.trace),
        )

    def conf(self, text: str = "autoload = yes") -> str:
        path = self.tmp / "modules.conf"
        path.write_text("[modules]\n" + text + "\n", encoding="utf-8")
        return str(path)

    def start(
        self,
        *arguments: str,
        conf: str = "autoload = yes",
        env: dict[str, str] | None = None,
        app: bool = False,
        stderr: int | None = subprocess.PIPE,
    ) -> subprocess.Popen[str]:
        """``modloader -n NS -C conf -s SOCKET ARGUMENTS`` (or the application's command)."""
        if app:
            script = self.tmp / "sigapp.py"
            script.write_text(APP, encoding="utf-8")
            argv = [sys.executable, str(script)]
        else:
            argv = [*modloader_command(), "-n", NAMESPACE]
        argv += ["-C", self.conf(conf), "-s", self.socket, *arguments]
        return subprocess.Popen(
            argv,
            env={**self.env, **(env or {})},
            cwd=self.tmp,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )

    def rx(self, line: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*modloader_command(), "-s", self.socket, "-rx", line],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def lines(self) -> list[str]:
        if not self.trace.exists():
            return []
        return self.trace.read_text(encoding="utf-8").splitlines()

    def lifecycle(self) -> list[str]:
        """``load``/``unload`` lines, in order."""
        return [line for line in self.lines() if line.split()[0] in ("load", "unload")]

    def wait_for(self, line: str, proc: subprocess.Popen[str], timeout: float = 60) -> None:
        """Wait until the trace holds ``line``; fail with the output if the process ends first."""
        self.wait_until(lambda: line in self.lines(), proc, timeout, f"trace line {line!r}")

    def wait_for_socket(self, proc: subprocess.Popen[str], timeout: float = 60) -> None:
        self.wait_until(lambda: os.path.exists(self.socket), proc, timeout, f"socket {self.socket}")

    @staticmethod
    def wait_until(
        done: Callable[[], bool], proc: subprocess.Popen[str], timeout: float, what: str
    ) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                out, err = proc.communicate()
                raise AssertionError(f"no {what}: exit {proc.returncode}\n{out}\n{err}")
            time.sleep(0.02)


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str, str]:
    """Wait for the process to end; fail (after killing it) if it does not within ``timeout``."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"the process did not end within {timeout} s:\n{out}\n{err}") from None
    return proc.returncode, out, err
