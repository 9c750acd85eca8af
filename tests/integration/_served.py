"""A host command running in the foreground with its control socket, driven with ``-rx``."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["Served", "clean_env", "json_replies", "wait_for_workers"]


def clean_env(tmp: Path, **extra: str) -> dict[str, str]:
    """This environment without PYTHONPATH, with a fresh cache and config home under ``tmp``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["MODLOADER_CACHE_DIR"] = str(tmp / "cache")
    env["XDG_CONFIG_HOME"] = str(tmp / "config-home")
    env.update(extra)
    return env


def json_replies(done: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    """Each process's reply in the output of ``-rx LINE --json`` (one without workers)."""
    found = json.loads(done.stdout) if done.stdout else []
    return found if isinstance(found, list) else [found]


def wait_for_workers(
    replies: Callable[[str], list[dict[str, Any]]],
    count: int,
    server: subprocess.Popen[Any],
    output: Callable[[], str] = lambda: "",
    timeout: float = 120,
) -> list[dict[str, Any]]:
    """``replies("module show")`` once ``count`` worker hosts answer it, each ok.

    :raises AssertionError: ``server`` ended, or they did not within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = replies("module show")
        if len(found) == count and all(r["ok"] for r in found):
            return found
        if server.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{len(found)} of {count} workers answer:\n{output()}")
        time.sleep(0.2)


class Served:
    """``argv`` started in the foreground; :meth:`rx` talks to it through ``client``."""

    def __init__(
        self,
        argv: Sequence[str],
        socket: str,
        env: Mapping[str, str],
        *,
        client: Sequence[str],
        timeout: float = 30,
    ) -> None:
        self.socket = socket
        self.env = dict(env)
        self.client = list(client)
        self.proc = subprocess.Popen(
            list(argv), env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        deadline = time.monotonic() + timeout
        while not os.path.exists(socket):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"{argv[0]} did not start: {self.proc.communicate()[0]}")
            time.sleep(0.05)

    def rx(self, line: str, *extra: str) -> subprocess.CompletedProcess[str]:
        """Run ``line`` on the served host; ``extra`` options go before ``-rx``."""
        return subprocess.run(
            [*self.client, "-s", self.socket, *extra, "-rx", line],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def out(self, line: str) -> str:
        """The output of a command that must succeed."""
        done = self.rx(line)
        assert done.returncode == 0, f"{line!r} failed ({done.returncode}): {done.stdout}"
        return done.stdout.rstrip("\n")

    def wait(self, timeout: float = 30) -> str:
        """Wait for the process to end (killing it after ``timeout``); returns its output."""
        try:
            return self.proc.communicate(timeout=timeout)[0]
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.communicate()[0] + "\n(killed: did not stop in time)"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
