"""Whole processes: what each side of the startup comparison runs, and how one sample is taken.

Every sample is a fresh process with the synthetic site and the checkout's
``framework/`` on ``PYTHONPATH`` and ``PYTHONDONTWRITEBYTECODE`` removed (the
site and the package are compiled first, as an installer leaves them). Its
wall time is taken around ``fork``/``exec`` to ``wait4``, and its peak
resident memory is ``wait4``'s ``ru_maxrss``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.envgen import GROUP
from benchmarks.envgen import Env

__all__ = [
    "COLD",
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
        """Run ``side`` once."""
        cache_dir = Path(tempfile.mkdtemp(dir=self.work / "tmp")) if side.cold else None
        try:
            return self.run(self.argv(side), self.environ(side.cold, cache_dir))
        finally:
            if cache_dir is not None:
                shutil.rmtree(cache_dir, ignore_errors=True)

    def run(self, argv: list[str], environ: dict[str, str] | None = None) -> Sample:
        """Run ``argv`` once (in this site's environment unless ``environ``)."""
        with tempfile.TemporaryFile() as err:
            started = time.perf_counter()
            proc = subprocess.Popen(
                argv,
                env=self.environ() if environ is None else environ,
                cwd=self.env.root,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
            timer = threading.Timer(self.timeout, proc.kill)
            timer.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                timer.cancel()
            elapsed = time.perf_counter() - started
            proc.returncode = code = os.waitstatus_to_exitcode(status)
            if code != 0:
                err.seek(0)
                tail = err.read().decode(errors="replace").strip().splitlines() or [""]
                why = "timed out" if elapsed >= self.timeout else f"exit status {code}"
                raise SampleFailed(f"{' '.join(argv[:3])}...: {why}: {tail[-1]}")
        return Sample(elapsed, usage.ru_maxrss)
