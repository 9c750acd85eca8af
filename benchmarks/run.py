"""Run the benchmarks: measure, write the results as JSON, render the results page from them.

``python -m benchmarks`` runs the full suite (about ten minutes);
``--quick`` runs every measurement once or twice at size S, in seconds (the
test suite runs it). ``--render FILE`` renders an earlier run's JSON again
without measuring. See ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks import runtime
from benchmarks.envgen import SIZES
from benchmarks.envgen import Size
from benchmarks.envgen import ensure_env
from benchmarks.envgen import settle
from benchmarks.procs import COLD
from benchmarks.procs import ROOT
from benchmarks.procs import STARTUP
from benchmarks.procs import Sandbox
from benchmarks.procs import compile_tree
from benchmarks.timing import interleave

RESULTS = ROOT / "benchmarks" / "results"
DOCS = ROOT / "docs" / "_generated"


@dataclass(frozen=True)
class Plan:
    """How much of everything a run measures."""

    #: "full" or "quick".
    name: str
    sizes: list[str]
    #: Startup rounds at each size (fewer for the largest), after ``warmup`` rounds.
    rounds: dict[str, int]
    warmup: int
    #: Sizes where the cold pair runs too.
    cold: set[str]
    #: The size whose host serves the run-time operations (its plugin count: "N modules").
    runtime: str
    hosts: int
    warm_calls: int
    remote_rounds: int
    use_rounds: int
    use_number: int
    #: Interleaved rounds of hook calls, and calls per sample.
    hook_rounds: int
    hook_number: int
    settle: bool


FULL = Plan(
    name="full",
    sizes=list(SIZES),
    rounds={"S": 31, "100": 31, "M": 31, "500": 31, "L": 31, "2000": 15, "5000": 9},
    warmup=2,
    cold={"S", "M", "L"},
    runtime="L",
    hosts=5,
    warm_calls=20,
    remote_rounds=60,
    use_rounds=31,
    use_number=200_000,
    hook_rounds=31,
    hook_number=20_000,
    settle=True,
)
QUICK = dataclasses.replace(
    FULL,
    name="quick",
    sizes=["S"],
    rounds=dict.fromkeys(SIZES, 2),
    warmup=1,
    runtime="S",
    hosts=1,
    warm_calls=2,
    remote_rounds=2,
    use_rounds=2,
    use_number=1_000,
    hook_rounds=2,
    hook_number=200,
    settle=False,
)


def machine(python: str) -> dict[str, str]:
    """What the figures were taken on."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    probe = (
        "import json, platform, sys\n"
        "from importlib.metadata import version\n"
        "v = {}\n"
        "for d in ('stevedore', 'pluggy'):\n"
        "    try: v[d] = version(d)\n"
        "    except Exception: v[d] = 'absent'\n"
        "print(json.dumps([sys.version.split()[0], platform.python_implementation(), v]))\n"
    )
    out = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True).stdout
    pyver, impl, versions = json.loads(out)
    git = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%h %cs %s"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "framework"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "CPU": cpu,
        "Cores": str(os.cpu_count()),
        "Python": f"{impl} {pyver}",
        "OS": platform.platform(),
        "Compared with": ", ".join(f"{k} {v}" for k, v in versions.items())
        + f", importlib.metadata of Python {pyver} (which all three use)",
        "modloader source": f"framework/ of {git or 'this checkout'}"
        + (" (with uncommitted changes)" if dirty else ""),
        "Load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def measure_size(python: str, size: Size, plan: Plan, envs: Path, timeout: float) -> Any:
    """The startup rounds at one size: every side's (seconds, peak RSS KiB) per round."""
    env = ensure_env(size, envs)
    compile_tree(python, env.site, ROOT / "framework")
    if plan.settle:
        settle(env)  # let the new files age past the discovery cache's racy window
    sandbox = Sandbox(python, env, envs / f"work-{size.label}", timeout)
    sides = STARTUP + (COLD if size.label in plan.cold else [])
    load = os.getloadavg()[0]
    samples, errors = interleave(
        {side.key: (lambda side=side: sandbox.sample(side)) for side in sides},
        plan.rounds[size.label],
        plan.warmup,
    )
    return {
        "label": size.label,
        "plugins": size.plugins,
        "dists": size.dists,
        "load": load,
        "samples": {k: [[s.seconds, s.rss_kib] for s in v] for k, v in samples.items()},
        "errors": errors,
    }


def measure(python: str, plan: Plan, envs: Path, timeout: float, log: bool) -> dict[str, Any]:
    """Everything the plan says, as the results' JSON object."""
    started = datetime.datetime.now(datetime.UTC)
    results: dict[str, Any] = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "mode": plan.name,
        "machine": machine(python),
        "sides": {side.key: side.label for side in STARTUP + COLD},
        "sizes": [],
    }
    for label in plan.sizes:
        size = SIZES[label]
        if log:
            print(f"startup at {label}: {size.plugins} of {size.dists}", file=sys.stderr)
        results["sizes"].append(measure_size(python, size, plan, envs, timeout))
    size = SIZES[plan.runtime]
    if log:
        print(f"run-time operations with {size.plugins} modules", file=sys.stderr)
    env = ensure_env(size, envs)
    compile_tree(python, env.site, ROOT / "framework")  # whichever sizes ran before
    if plan.settle:
        settle(env)
    sandbox = Sandbox(python, env, envs / "work-runtime", timeout)
    results["runtime"] = {
        "label": size.label,
        "modules": size.plugins,
        "hosts": plan.hosts,
        "operations": runtime.measure_operations(sandbox, plan.hosts, plan.warm_calls),
        "remote": runtime.measure_remote(sandbox, plan.remote_rounds),
        "use": runtime.measure_use(sandbox, plan.use_rounds, plan.use_number),
        "hooks": runtime.measure_hooks(sandbox, plan.hook_rounds, plan.hook_number),
    }
    finished = datetime.datetime.now(datetime.UTC)
    results["machine"]["Load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results["machine"]["Wall time of the run"] = f"{(finished - started).total_seconds():.0f} s"
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="size S, 2 rounds: seconds")
    parser.add_argument("--sizes", help=f"comma-separated sizes of {', '.join(SIZES)}")
    parser.add_argument("--python", default=sys.executable, help="interpreter to measure")
    parser.add_argument("--envs", type=Path, default=RESULTS / "envs", help="synthetic sites")
    parser.add_argument(
        "--out", type=Path, default=RESULTS / "latest.json", help="the results' JSON"
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per process")
    parser.add_argument(
        "--docs",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"render into {DOCS.relative_to(ROOT)} (default: unless --quick)",
    )
    parser.add_argument("--render", type=Path, metavar="JSON", help="render this run, no measuring")
    args = parser.parse_args(argv)

    plan = QUICK if args.quick else FULL
    if args.sizes:
        labels = args.sizes.upper().split(",")
        unknown = [label for label in labels if label not in SIZES]
        if unknown:
            parser.error(f"unknown size {', '.join(unknown)}: choose from {', '.join(SIZES)}")
        plan = dataclasses.replace(plan, sizes=labels)
    if args.render:
        results = json.loads(args.render.read_text())
    else:
        results = measure(args.python, plan, args.envs, args.timeout, log=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1) + "\n")
        print(f"wrote {args.out}", file=sys.stderr)
    folder = DOCS if args.docs or (args.docs is None and not args.quick) else args.out.parent
    if folder == DOCS and not args.render:
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(args.out, DOCS / "benchmarks.json")
    for path in report.write(results, folder):
        print(f"wrote {path}", file=sys.stderr)
    return 0
