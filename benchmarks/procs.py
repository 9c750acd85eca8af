"""Whole processes: what each side of the startup comparison runs, and how one sample is taken.

Every sample is a fresh process with the synthetic site and the checkout's
``framework/`` on ``PYTHONPATH`` and ``PYTHONDONTWRITEBYTECODE`` removed (the
site and the package are compiled first, as an installer leaves them). Its
wall time is taken around ``fork``/``exec`` to ``wait4``, and its peak
resident memory is ``wait4``'s ``ru_maxrss``.

Linux carries a process's resident size at ``exec`` into the new program's
``ru_maxrss``, so a process forked by this one (some tens of MiB) could never
report less than this one holds. Each sample is therefore forked by a small
launcher (:data:`LAUNCHER`, ``python -I -S``: about 7 MiB, below any Python
process measured), which times it and reports its ``wait4`` figures.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.envgen import GROUP
from benchmarks.envgen import Env

__all__ = [
    "COLD",
    "LAUNCHER",
    "STARTUP",
    "Sample",
    "SampleFailed",
    "Sandbox",
    "Side",
    "compile_tree",
    "modloader_command",
]

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Side:
    """One side of the startup comparison."""

    key: str
    label: str
    #: Python source run as ``python -c``, with ``sys.argv[1:]`` = group, plugin count,
    #: plugin module list; ``None``: the ``modloader`` command.
    script: str | None = None
    #: Run with no cache: an empty modloader cache folder per sample and stevedore's
    #: cache switched off.
    cold: bool = False


_COUNT = """
if n != int(sys.argv[2]):
    sys.exit(f"loaded {n} plugins of {sys.argv[2]}")
"""

#: Warm startup: the modloader command first, then what it is compared with.
STARTUP = [
    Side("modloader", 'modloader -n NS -C modules.conf -x "module show"'),
    Side(
        "stevedore",
        "stevedore ExtensionManager, list every extension (its cache warm)",
        """
import sys
from stevedore import ExtensionManager
n = 0
for ext in ExtensionManager(sys.argv[1]):
    print(ext.name, ext.entry_point.value)
    n += 1
"""
        + _COUNT,
    ),
    Side(
        "importlib",
        "importlib.metadata: entry_points(group=...) + ep.load() each",
        """
import sys
from importlib.metadata import entry_points
n = 0
for ep in entry_points(group=sys.argv[1]):
    ep.load()
    print(ep.name, ep.value)
    n += 1
"""
        + _COUNT,
    ),
    Side(
        "pluggy",
        "pluggy PluginManager.load_setuptools_entrypoints(group)",
        """
import sys
import pluggy
pm = pluggy.PluginManager("bench")
n = pm.load_setuptools_entrypoints(sys.argv[1])
for name, _ in pm.list_name_plugin():
    print(name)
"""
        + _COUNT,
    ),
    Side(
        "floor",
        "import the plugin modules by name (no discovery: the floor)",
        """
import sys
names = open(sys.argv[3]).read().split()
for name in names:
    __import__(name)
n = len(names)
"""
        + _COUNT,
    ),
]

#: Cold startup: no cache on either side.
COLD = [
    Side("modloader-cold", "modloader, as above, with an empty cache folder", None, cold=True),
    Side("stevedore-cold", "stevedore, as above, its cache switched off", STARTUP[1].script, True),
]


#: Forks, execs and waits for ``argv`` (``sys.argv[3:]``), killing it after ``sys.argv[2]``
#: seconds; writes ``seconds maxrss_kib exit_status`` to the descriptor ``sys.argv[1]``.
LAUNCHER = """
import os, signal, sys, time
fd, limit, argv = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execv(argv[0], argv)
    finally:
        os._exit(127)
signal.signal(signal.SIGALRM, lambda *_: os.kill(pid, signal.SIGKILL))
signal.setitimer(signal.ITIMER_REAL, limit)
_, status, usage = os.wait4(pid, 0)
elapsed = time.perf_counter() - started
signal.setitimer(signal.ITIMER_REAL, 0)
os.write(fd, f"{elapsed!r} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}".encode())
"""

#: A row of ``module show`` for a running module (the status column).
_RUNNING_ROW = re.compile(r"(?<!Not) Running +\S+$", re.MULTILINE)


class SampleFailed(Exception):
    """A measured process exited with an error or ran out of time."""


@dataclass(frozen=True)
class Sample:
    seconds: float
    rss_kib: int


def modloader_command(python: str) -> list[str]:
    """The ``modloader`` console script next to ``python``, as an operator runs it."""
    script = Path(python).with_name("modloader")
    if script.exists():
        return [str(script)]
    return [python, "-m", "modloader"]


def compile_tree(python: str, *folders: Path) -> None:
    """Write the bytecode of every source file under ``folders``, as an installer does."""
    subprocess.run(
        [python, "-m", "compileall", "-q", "-j", "0", *map(str, folders)],
        check=True,
        stdout=subprocess.DEVNULL,
        env=clean_environ(),
    )


def clean_environ() -> dict[str, str]:
    """This process's environment without anything that changes what is measured."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MODLOADER_", "PYTHON")) or k == "PYTHONHASHSEED"
    }


class Sandbox:
    """The environment of the processes run against one synthetic site."""

    def __init__(self, python: str, env: Env, work: Path, timeout: float) -> None:
        self.python = python
        self.env = env
        self.work = work
        self.timeout = timeout
        if work.exists():
            shutil.rmtree(work)
        (work / "xdg-cold" / "python-entrypoints").mkdir(parents=True)
        (work / "xdg-cold" / "python-entrypoints" / ".disable").touch()
        for folder in ("xdg-warm", "modloader-warm", "tmp"):
            (work / folder).mkdir()

    def environ(self, cold: bool = False, cache_dir: Path | None = None) -> dict[str, str]:
        environ = clean_environ()
        environ.update(
            PYTHONPATH=os.pathsep.join([str(ROOT / "framework"), str(self.env.site)]),
            MODLOADER_CACHE_DIR=str(cache_dir or self.work / "modloader-warm"),
            XDG_CACHE_HOME=str(self.work / ("xdg-cold" if cold else "xdg-warm")),
        )
        return environ

    def argv(self, side: Side) -> list[str]:
        if side.script is None:
            return [
                *modloader_command(self.python),
                *("-n", GROUP, "-C", str(self.env.modules_conf), "-x", "module show"),
            ]
        size = self.env.size
        return [
            self.python,
            "-c",
            side.script,
            *(GROUP, str(size.plugins), str(self.env.plugin_modules)),
        ]

    def sample(self, side: Side) -> Sample:
        """Run ``side`` once; the ``modloader`` command must show every plugin running."""
        cache_dir = Path(tempfile.mkdtemp(dir=self.work / "tmp")) if side.cold else None
        running = self.env.size.plugins if side.script is None else None
        try:
            return self.run(self.argv(side), self.environ(side.cold, cache_dir), running)
        finally:
            if cache_dir is not None:
                shutil.rmtree(cache_dir, ignore_errors=True)

    def run(
        self, argv: list[str], environ: dict[str, str] | None = None, running: int | None = None
    ) -> Sample:
        """Run ``argv`` once (in this site's environment unless ``environ``), through the
        launcher; with ``running``, its output must be a ``module show`` with that many
        modules running (a side that did less work than it claims is no sample)."""
        read, write = os.pipe()
        try:
            with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
                program = shutil.which(argv[0]) or argv[0]
                launch = [sys.executable, "-I", "-S", "-c", LAUNCHER, str(write), str(self.timeout)]
                launcher = subprocess.Popen(
                    [*launch, program, *argv[1:]],
                    env=self.environ() if environ is None else environ,
                    cwd=self.env.root,
                    stdout=out,
                    stderr=err,
                    pass_fds=(write,),
                )
                os.close(write)
                write = -1
                launcher.wait(self.timeout + 30)
                figures = os.read(read, 200).decode().split()
                if len(figures) != 3:
                    raise SampleFailed(f"{argv[0]}...: the launcher failed")
                elapsed, rss_kib, code = float(figures[0]), int(figures[1]), int(figures[2])
                if code != 0:
                    err.seek(0)
                    tail = err.read().decode(errors="replace").strip().splitlines() or [""]
                    why = "timed out" if elapsed >= self.timeout else f"exit status {code}"
                    raise SampleFailed(f"{' '.join(argv[:3])}...: {why}: {tail[-1]}")
                if running is not None:
                    out.seek(0)
                    shown = len(_RUNNING_ROW.findall(out.read().decode(errors="replace")))
                    if shown != running:
                        raise SampleFailed(f"{argv[0]}: {shown} modules running of {running}")
        finally:
            os.close(read)
            if write >= 0:
                os.close(write)
        return Sample(elapsed, rss_kib)
