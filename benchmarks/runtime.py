"""Run-time operations against a real host: a ``modloader`` process serving its control socket.

Each operation is timed on a freshly started host, on its first call (the
first command the host receives after the connection's ``hello``) and then
warm. The client is this process, speaking the control socket's wire format
(versioned JSON lines) itself, so that what is timed is the host's work and
the round trip. Then ``modloader -rx "module show"`` runs as a whole process
against such a host, paired with the console-script floor, ``use()`` is
timed against a bare lock in a host of its own, and a hook call over ten
modules against the same call through bare pluggy.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from benchmarks.envgen import GROUP
from benchmarks.envgen import install_plugin
from benchmarks.envgen import leaves
from benchmarks.envgen import remove_plugin
from benchmarks.procs import ROOT
from benchmarks.procs import Sandbox
from benchmarks.procs import compile_tree
from benchmarks.procs import modloader_command
from benchmarks.timing import first_and_warm
from benchmarks.timing import interleave

__all__ = ["OPERATIONS", "measure_hooks", "measure_operations", "measure_remote", "measure_use"]

#: What ``pip``'s generated console script runs before ``main``.
CONSOLE_FLOOR = "import re, sys"


class Wire:
    """A control-socket client: one connection, one JSON line each way per request."""

    def __init__(self, path: str, timeout: float) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise
        self.reader = self.sock.makefile("rb")
        self.ids = itertools.count(1)
        self.call(op="hello", versions=[1], client="benchmarks")

    def call(self, **request: Any) -> dict[str, Any]:
        request = {"v": 1, "id": next(self.ids), **request}
        self.sock.sendall(json.dumps(request).encode() + b"\n")
        line = self.reader.readline()
        if not line:
            raise RuntimeError("the host closed the connection")
        reply: dict[str, Any] = json.loads(line)
        if not reply.get("ok"):
            why = reply.get("error") or reply.get("output")
            raise RuntimeError(f"{request.get('line', request['op'])!r} failed: {why}")
        return reply

    def execute(self, line: str, structured: bool = False) -> dict[str, Any]:
        return self.call(op="execute", line=line, structured=structured)

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


@contextmanager
def served_host(sandbox: Sandbox) -> Iterator[tuple[str, Wire]]:
    """A ``modloader`` host serving the sandbox's site: (socket path, a connected client)."""
    folder = tempfile.mkdtemp(prefix="mlb-", dir="/tmp")  # short: socket paths are limited
    path = os.path.join(folder, "host.sock")
    log = open(sandbox.work / "host.log", "wb")
    argv = [
        *modloader_command(sandbox.python),
        *("-n", GROUP, "-C", str(sandbox.env.modules_conf), "-s", path),
    ]
    proc = subprocess.Popen(
        argv, env=sandbox.environ(), cwd=sandbox.env.root, stdout=log, stderr=log
    )
    try:
        wire = _connect(path, proc, sandbox)
        try:
            yield path, wire
        finally:
            wire.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(sandbox.timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def _connect(path: str, proc: subprocess.Popen[bytes], sandbox: Sandbox) -> Wire:
    deadline = time.monotonic() + sandbox.timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (sandbox.work / "host.log").read_text(errors="replace").strip()
            raise RuntimeError(f"the host exited ({proc.returncode}): {tail[-300:]}")
        try:
            return Wire(path, sandbox.timeout)
        except (FileNotFoundError, ConnectionRefusedError):
            time.sleep(0.01)
    raise RuntimeError(f"the host did not open {path} within {sandbox.timeout:.0f} s")


Step = Callable[[Sandbox, Wire, int], Callable[[], object]]


def _done(reply: dict[str, Any]) -> None:
    """A command that failed is no sample (it may have done less than it claims)."""
    if not reply.get("ok") or reply.get("exit_code"):
        raise RuntimeError(f"the command failed: {str(reply)[:300]}")


def _show(structured: bool) -> Step:
    def step(sandbox: Sandbox, wire: Wire, index: int) -> Callable[[], object]:
        return lambda: _done(wire.execute("module show", structured=structured))

    return step


def _unload(sandbox: Sandbox, wire: Wire, index: int) -> Callable[[], object]:
    name = leaves(sandbox.env.size)[index]
    return lambda: _done(wire.execute(f"module unload {name}"))


def _load_new(sandbox: Sandbox, wire: Wire, index: int) -> Callable[[], object]:
    module = install_plugin(sandbox.env.site, index)
    compile_tree(sandbox.python, sandbox.env.site / module)  # as pip installs it
    return lambda: _done(wire.execute(f"module load fresh_{index:04d}"))


#: Each operation: a label, and what its call number ``i`` does (prepared untimed).
OPERATIONS: dict[str, Step] = {
    "ping (the round trip alone)": lambda sandbox, wire, index: lambda: _done(wire.call(op="ping")),
    "module show": _show(False),
    "module show (structured)": _show(True),
    "module unload of one module": _unload,
    "module load of a newly installed module": _load_new,
}


def measure_operations(sandbox: Sandbox, hosts: int, warm: int) -> dict[str, Any]:
    """Each operation on ``hosts`` fresh hosts: ``{label: {"first": [...], "warm": [...]}}``."""
    warm = min(warm, len(leaves(sandbox.env.size)) - 1)
    results: dict[str, Any] = {}
    for label, step in OPERATIONS.items():
        first: list[float] = []
        later: list[float] = []
        try:
            for _ in range(hosts):
                with served_host(sandbox) as (_, wire):
                    times = first_and_warm(lambda i: step(sandbox, wire, i), warm)  # noqa: B023
                first.append(times[0])
                later.extend(times[1:])
                _remove_fresh(sandbox, warm)
        except Exception as exc:
            results[label] = {"error": f"{type(exc).__name__}: {exc}"}
            _remove_fresh(sandbox, warm)
            continue
        results[label] = {"first": first, "warm": later}
    return results


def _remove_fresh(sandbox: Sandbox, count: int) -> None:
    for index in range(count + 1):
        remove_plugin(sandbox.env.site, index)


def measure_remote(sandbox: Sandbox, rounds: int) -> dict[str, Any]:
    """``modloader -rx "module show"`` against a served host, paired with the console floor.

    The interpreter alone (``python -c pass``) runs in the same rounds, for scale.
    """
    try:
        with served_host(sandbox) as (path, wire):
            wire.execute("module show")
            reply = len(json.dumps(wire.execute("module show")["output"]))
            remote = [*modloader_command(sandbox.python), "-s", path, "-rx", "module show"]
            subjects = {  # each command, and how many modules its output must show running
                "modloader -rx": (remote, sandbox.env.size.plugins),
                "console floor": ([sandbox.python, "-c", CONSOLE_FLOOR], None),
                "interpreter": ([sandbox.python, "-c", "pass"], None),
            }
            samples, errors = interleave(
                {
                    key: (lambda argv=argv, n=shows: sandbox.run(argv, running=n).seconds)
                    for key, (argv, shows) in subjects.items()
                },
                rounds,
                warmup=2,
            )
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"samples": samples, "errors": errors, "reply_bytes": reply}


def measure_use(sandbox: Sandbox, rounds: int, number: int) -> dict[str, Any]:
    """``use()`` + release against ``threading.Lock`` acquire + release, in a host of its own."""
    conf, name = str(sandbox.env.modules_conf), leaves(sandbox.env.size)[0]
    return _script(sandbox, "benchmarks.use_lock", conf, name, str(rounds), str(number))


def measure_hooks(sandbox: Sandbox, rounds: int, number: int) -> dict[str, Any]:
    """A hook call over 10 modules against the same call through bare pluggy, in a process."""
    return _script(sandbox, "benchmarks.hooks", str(rounds), str(number))


def _script(sandbox: Sandbox, module: str, *args: str) -> dict[str, Any]:
    """Run ``python -m module args...`` in the sandbox; its JSON, or ``{"error": ...}``."""
    environ = sandbox.environ()
    environ["PYTHONPATH"] += os.pathsep + str(ROOT)
    argv = [sandbox.python, "-m", module, *args]
    proc = subprocess.run(
        argv, env=environ, cwd=sandbox.env.root, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        return {"error": tail}
    result: dict[str, Any] = json.loads(proc.stdout)
    return result
