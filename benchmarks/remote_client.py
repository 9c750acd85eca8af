"""How long ``modloader -rx "module show"`` takes, against ``python -c pass``.

Serves a fake executor on a socket in this process, then runs both commands N
times each, interleaved (so that machine noise hits both alike), and prints
median, min and max wall time and the ratio of the medians. Target: <= 1.5.

    python benchmarks/remote_client.py [-n 40]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from modloader._control.unix import ControlServer

ROOT = Path(__file__).resolve().parents[1]


def _fake_executor():
    spec = importlib.util.spec_from_file_location("fake_host", ROOT / "tests/control/fake_host.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FakeExecutor()


def _modloader_command(python: str) -> list[str]:
    script = Path(python).with_name("modloader")
    if script.exists():  # the installed console script, as an operator runs it
        return [str(script)]
    code = "import sys; from modloader._cli import main; sys.exit(main())"
    return [python, "-c", code]


def _time(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def measure(runs: int, python: str = sys.executable) -> dict[str, list[float]]:
    """Seconds per run of ``python -c pass`` and of ``modloader -rx "module show"``, interleaved."""
    folder = tempfile.mkdtemp(prefix="mlb-", dir="/tmp")
    try:
        path = os.path.join(folder, "bench.sock")
        with ControlServer(_fake_executor(), path):
            remote = [*_modloader_command(python), "-s", path, "-rx", "module show"]
            bare = [python, "-c", "pass"]
            for argv in (remote, bare, remote, bare):  # warm the file cache and bytecode
                _time(argv)
            times: dict[str, list[float]] = {"python -c pass": [], "modloader -rx": []}
            for _ in range(runs):
                times["python -c pass"].append(_time(bare))
                times["modloader -rx"].append(_time(remote))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=40, help="runs of each command")
    args = parser.parse_args()
    times = measure(args.n)
    print(f"{'command':<16} {'median ms':>10} {'min ms':>8} {'max ms':>8}   (n={args.n})")
    for name, values in times.items():
        print(
            f"{name:<16} {statistics.median(values) * 1e3:10.1f} "
            f"{min(values) * 1e3:8.1f} {max(values) * 1e3:8.1f}"
        )
    ratio = statistics.median(times["modloader -rx"]) / statistics.median(times["python -c pass"])
    print(f"ratio (median): {ratio:.2f}  target <= 1.5")
    return 0


if __name__ == "__main__":
    sys.exit(main())
