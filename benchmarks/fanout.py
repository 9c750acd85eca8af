"""The fan-out of ``modloader -rx "module show"`` to N processes of one namespace.

``python -m benchmarks.fanout [N ...]`` starts N ``modloader`` processes over
one namespace (each with its own control socket, as pre-fork workers have)
in a private runtime folder, then times the whole ``modloader -rx "module
show"`` process (the ``modloader`` command next to this interpreter, else
``python -m modloader``; ``framework/`` compiled first), fork to exit,
several times, and prints the median for each N (default: 1, 3 and 8). The
namespace has no modules: what is measured is the client's start, the
sockets' discovery, and one round trip to each process, in parallel.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.procs import clean_environ
from benchmarks.procs import compile_tree
from benchmarks.procs import modloader_command

__all__ = ["main", "measure"]

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "bench.fanout"
RUNS = 15


def _env(runtime: str, tmp: str) -> dict[str, str]:
    env = clean_environ()  # bytecode written and read, as an installed package has it
    env.update(
        PYTHONPATH=str(ROOT / "framework"),
        XDG_RUNTIME_DIR=runtime,
        XDG_CONFIG_HOME=os.path.join(tmp, "config"),
        MODLOADER_CACHE_DIR=os.path.join(tmp, "cache"),
    )
    return env


def _wait(runtime: str, count: int, timeout: float = 60) -> None:
    folder = os.path.join(runtime, "modloader")
    deadline = time.monotonic() + timeout
    while True:
        names = os.listdir(folder) if os.path.isdir(folder) else []
        if sum(name.endswith(".sock") for name in names) >= count:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {names} after {timeout} s")
        time.sleep(0.05)


def measure(count: int, runs: int = RUNS) -> list[float]:
    """Seconds each whole ``-rx "module show"`` process took, with ``count`` processes up."""
    tmp = tempfile.mkdtemp(prefix="mlb-")
    runtime = tempfile.mkdtemp(prefix="mlb-")
    env = _env(runtime, tmp)
    conf = os.path.join(tmp, "modules.conf")
    with open(conf, "w", encoding="utf-8") as out:
        out.write("[modules]\nautoload = yes\n")
    compile_tree(sys.executable, ROOT / "framework")
    command = [*modloader_command(sys.executable), "-n", NAMESPACE]
    hosts = []
    try:
        for started in range(1, count + 1):
            hosts.append(
                subprocess.Popen(
                    [*command, "-C", conf],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            _wait(runtime, started)
        times = []
        for _ in range(runs):
            began = time.perf_counter()
            done = subprocess.run(
                [*command, "-rx", "module show"], env=env, capture_output=True, check=False
            )
            times.append(time.perf_counter() - began)
            if done.returncode != 0 or done.stdout.count(b"0 modules loaded") != count:
                raise RuntimeError(f"-rx failed: {done.stdout!r} {done.stderr!r}")
        return times
    finally:
        for host in hosts:
            host.terminate()
        for host in hosts:
            host.wait(30)
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(runtime, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    counts = [int(a) for a in (sys.argv[1:] if argv is None else argv)] or [1, 3, 8]
    print(f"{'processes':>9}  {'median ms':>9}  {'min ms':>7}  {'max ms':>7}  runs")
    for count in counts:
        times = measure(count)
        print(
            f"{count:>9}  {statistics.median(times) * 1000:>9.1f}  "
            f"{min(times) * 1000:>7.1f}  {max(times) * 1000:>7.1f}  {len(times)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
