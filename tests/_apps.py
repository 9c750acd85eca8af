"""Applications that embed modloader, run as real processes over real installed distributions.

The plugins are :mod:`tests._plugins` modules laid as ``.dist-info``
distributions in a folder put on the subprocess's ``PYTHONPATH`` (after the
folder this ``modloader`` is imported from, so the code under test is the one
that runs). Each test gets its own short runtime folder, so the default
control socket of a namespace (``$XDG_RUNTIME_DIR/modloader/NS.sock``) is its
own too.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from collections.abc import Sequence
from pathlib import Path

import modloader
from modloader.testing import make_distribution
from tests import _plugins as p

__all__ = [
    "NAMESPACE",
    "PLUGINS",
    "AppEnv",
    "app_env",
    "lay_plugins",
    "modloader_command",
    "wait_for_socket",
]

#: The namespace of the served application's modules.
NAMESPACE = "itest.served"
#: ``res_user`` requires ``res_base``: it starts second and stops first.
PLUGINS = (
    p.Plugin("res_base", description="The base resource", priority=10),
    p.Plugin("res_user", requires=("res_base",), priority=20, command="itest greet"),
)


def modloader_command() -> list[str]:
    """The ``modloader`` console script of this environment, else the same entry point."""
    script = Path(sys.executable).with_name("modloader")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys, modloader; sys.exit(modloader.main())"]


def wait_for_socket(path: str, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    """Wait until ``path`` exists; fail with the process's output if it ends first."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"no socket at {path}: exit {proc.returncode}\n{out}\n{err}")
        time.sleep(0.05)


class AppEnv:
    """A site with the plugins, a trace file, a modules.conf and a private runtime folder."""

    def __init__(self, site: Path, tmp: Path, runtime: str) -> None:
        self.tmp = tmp
        self.trace = tmp / "trace.log"
        self.conf = p.write_conf(tmp / "modules.conf", "autoload = yes")
        self.socket = os.path.join(runtime, "modloader", f"{NAMESPACE}.sock")
        framework = Path(modloader.__file__).resolve().parents[1]
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.upper().startswith(("MODLOADER_", "APP_")) and k != "PYTHONPATH"
        }
        self.env.update(
            PYTHONPATH=os.pathsep.join([str(framework), str(site)]),
            MODLOADER_CACHE_DIR=str(tmp / "cache"),
            XDG_CONFIG_HOME=str(tmp / "config-home"),
            XDG_STATE_HOME=str(tmp / "state-home"),
            XDG_RUNTIME_DIR=runtime,
            **{p.TRACE_VAR: str(self.trace)},
        )

    def lifecycle(self) -> list[str]:
        """The plugins' ``load``/``unload`` lines, in order."""
        return [line for line in p.read_trace(self.trace) if line.split()[0] in ("load", "unload")]

    def popen(self, argv: Sequence[str]) -> subprocess.Popen[str]:
        return subprocess.Popen(
            list(argv),
            env=self.env,
            cwd=self.tmp,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(argv),
            env=self.env,
            cwd=self.tmp,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def rx(self, line: str, *extra: str) -> subprocess.CompletedProcess[str]:
        """``modloader -n NAMESPACE [extra] -rx LINE``, with no ``-s``."""
        return self.run([*modloader_command(), "-n", NAMESPACE, *extra, "-rx", line])


def lay_plugins(folder: Path) -> Path:
    """Lay :data:`PLUGINS` as distributions in ``folder``; returns it."""
    p.install(functools.partial(make_distribution, folder), NAMESPACE, PLUGINS)
    return folder


@contextlib.contextmanager
def app_env(site: Path, tmp: Path) -> Iterator[AppEnv]:
    """An :class:`AppEnv` over ``site`` with a runtime folder of its own."""
    # Short, because a socket path holds at most 103 bytes.
    runtime = tempfile.mkdtemp(prefix="mlt-")
    try:
        yield AppEnv(site, tmp, runtime)
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
