"""Run the benchmarks and write a Markdown report.

``python -m benchmarks`` times whole processes (a fresh interpreter per
sample, the synthetic site on ``PYTHONPATH``), all cases side by side in each
round, rounds repeated in shuffled order; it reports the median, minimum and
maximum wall time, the peak resident memory of each sample (``wait4``'s
``ru_maxrss``) and the ratio of each case's median to its reference case. Then
it runs in-process timings (:mod:`benchmarks.micro`).

The report goes to ``benchmarks/results/latest.md`` and, unless ``--quick``
(or with ``--docs``), to ``docs/_generated/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from benchmarks import micro
from benchmarks.cases import CASES
from benchmarks.cases import SKIP
from benchmarks.cases import Case
from benchmarks.envgen import GROUP
from benchmarks.envgen import SIZES
from benchmarks.envgen import Env
from benchmarks.envgen import ensure_env
from benchmarks.envgen import settle

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DOCS_COPY = ROOT / "docs" / "_generated" / "benchmarks.md"


@dataclass
class Row:
    case: Case
    times: list[float] = field(default_factory=list)  # seconds
    rss: list[int] = field(default_factory=list)  # KiB
    skipped: bool = False
    error: str | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.times)


@dataclass
class SizeResult:
    env: Env
    rows: dict[str, Row]
    micro: list[tuple[str, list[list[object]] | str]]


class Runner:
    """Runs the samples of one environment."""

    def __init__(
        self, python: str, env: Env, work: Path, extra_path: list[str], timeout: float
    ) -> None:
        self.python = python
        self.timeout = timeout
        self.env = env
        self.work = work
        self.extra_path = extra_path
        if work.exists():
            shutil.rmtree(work)
        (work / "xdg-cold" / "python-entrypoints").mkdir(parents=True)
        (work / "xdg-cold" / "python-entrypoints" / ".disable").touch()
        (work / "xdg-warm").mkdir()
        (work / "modloader-warm").mkdir()
        (work / "tmp").mkdir()

    def environ(self, caches: frozenset[str], modloader_dir: Path) -> dict[str, str]:
        environ = {
            k: v for k, v in os.environ.items() if not k.startswith(("MODLOADER_", "BENCH_"))
        }
        cold = "stevedore-cold" in caches or "modloader-cold" in caches
        leaf = next(i for i in range(4, self.env.size.plugins) if i % 5 == 4)
        environ.update(
            PYTHONPATH=os.pathsep.join([*self.extra_path, str(self.env.site)]),
            MODLOADER_CACHE_DIR=str(modloader_dir),
            XDG_CACHE_HOME=str(self.work / ("xdg-cold" if cold else "xdg-warm")),
            BENCH_GROUP=GROUP,
            BENCH_PLUGINS=str(self.env.plugin_modules),
            BENCH_CONF=str(self.env.modules_conf),
            BENCH_LEAF=f"plug_{leaf:04d}",
        )
        return environ

    def sample(self, case: Case) -> tuple[int, float, int, str]:
        """Run the case once: (exit status, seconds, peak RSS in KiB, stderr)."""
        cold_dir = None
        if "modloader-cold" in case.caches:
            cold_dir = Path(tempfile.mkdtemp(dir=self.work / "tmp"))
        try:
            environ = self.environ(case.caches, cold_dir or self.work / "modloader-warm")
            with tempfile.TemporaryFile() as err:
                start = time.perf_counter()
                proc = subprocess.Popen(
                    [self.python, "-c", case.script],
                    env=environ,
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
                elapsed = time.perf_counter() - start
                proc.returncode = os.waitstatus_to_exitcode(status)
                err.seek(0)
                stderr = err.read().decode(errors="replace")
                if elapsed >= self.timeout:
                    stderr += f"\ntimed out after {self.timeout:.0f} s"
        finally:
            if cold_dir is not None:
                shutil.rmtree(cold_dir, ignore_errors=True)
        return proc.returncode, elapsed, usage.ru_maxrss, stderr

    def script(self, source: str) -> dict[str, object]:
        environ = self.environ(frozenset(), self.work / "modloader-warm")
        try:
            proc = subprocess.run(
                [self.python, "-c", source],
                env=environ,
                cwd=self.env.root,
                capture_output=True,
                text=True,
                check=False,
                timeout=self.timeout * 5,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {self.timeout * 5:.0f} s"}
        if proc.returncode != 0:
            return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
        result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
        return result


def run_size(runner: Runner, repeats: int, log: bool) -> SizeResult:
    rows = {case.key: Row(case) for case in CASES}
    for _ in range(2):  # warm-up: bytecode written, caches filled, file system cache warm
        for row in rows.values():
            status, _, _, stderr = runner.sample(row.case)
            if status == SKIP:
                row.skipped = True
            elif status != 0:
                row.error = (stderr.strip().splitlines() or ["failed"])[-1]
    live = [row for row in rows.values() if not row.skipped and row.error is None]
    for round_ in range(repeats):
        order = live[:]
        random.Random(round_).shuffle(order)
        for row in order:
            if row.error is not None:
                continue
            status, elapsed, rss, stderr = runner.sample(row.case)
            if status != 0:
                row.error = (stderr.strip().splitlines() or ["failed"])[-1]
                continue
            row.times.append(elapsed)
            row.rss.append(rss)
        if log:
            print(f"  {runner.env.size.label}: round {round_ + 1}/{repeats}", file=sys.stderr)
    micro_rows: list[tuple[str, list[list[object]] | str]] = []
    for title, source in (
        ("Listing, in process", micro.LISTING),
        ("Host operations", micro.HOST_OPS),
    ):
        out = runner.script(source)
        if "rows" in out:
            micro_rows.append((title, out["rows"]))  # type: ignore[arg-type]
        else:
            micro_rows.append((title, str(out.get("skip") or out.get("error"))))
    return SizeResult(runner.env, rows, micro_rows)


# -- the report -----------------------------------------------------------------------------------


def machine(python: str) -> list[tuple[str, str]]:
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
        "for d in ('modloader', 'stevedore', 'pluggy', 'importlib_metadata'):\n"
        "    try: v[d] = version(d)\n"
        "    except Exception: v[d] = 'absent'\n"
        "print(json.dumps([sys.version.split()[0], platform.python_implementation(), v]))\n"
    )
    out = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True).stdout
    pyver, impl, versions = json.loads(out)
    return [
        ("CPU", cpu),
        ("Cores", str(os.cpu_count())),
        ("Python", f"{impl} {pyver}"),
        ("OS", platform.platform()),
        ("Packages", ", ".join(f"{k} {v}" for k, v in versions.items())),
        ("Load average", " ".join(f"{x:.2f}" for x in os.getloadavg())),
    ]


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f}"


def _targets(results: list[SizeResult], remote: dict[str, list[float]]) -> list[str]:
    """The figures the project holds itself to, each with its target and verdict."""
    rows: list[tuple[str, float | None, str]] = []

    def ratio(res: SizeResult, key: str, ref: str, how: str = "median") -> float | None:
        a, b = res.rows.get(key), res.rows.get(ref)
        if a is None or b is None or not a.times or not b.times:
            return None
        if how == "rss":
            return max(a.rss) / max(b.rss)
        return a.median / b.median

    for res in results:
        label = res.env.size.label
        if label in ("M", "L"):
            rows.append(
                (
                    f"warm startup at {label} / stevedore warm",
                    ratio(res, "modloader-warm", "stevedore-warm"),
                    "<= 1.0",
                )
            )
            rows.append(
                (
                    f"cold startup at {label} / stevedore cold",
                    ratio(res, "modloader-cold", "stevedore-cold"),
                    "reported",
                )
            )
        if label == "L":
            rows.append(
                (
                    "peak memory at L / stevedore warm",
                    ratio(res, "modloader-warm", "stevedore-warm", "rss"),
                    "<= 1.2",
                )
            )
    for res in results[-1:]:
        for title, body in res.micro:
            if title != "Host operations" or isinstance(body, str):
                continue
            values = {str(label): value for label, value, _ in body}
            use = values.get("use() acquire + release")
            lock = values.get("threading.Lock acquire + release")
            if use is not None and lock is not None:
                rows.append(
                    (
                        f"use() / threading.Lock, per operation ({res.env.size.label})",
                        float(use) / float(lock),
                        "<= 5",
                    )  # type: ignore[arg-type]
                )
    rx = statistics.median(remote["modloader -rx"]) / statistics.median(remote["python -c pass"])
    rows.append(('`modloader -rx "module show"` / `python -c pass`', rx, "<= 1.5"))
    lines = [
        "**Targets** (ratios of medians, this run)",
        "",
        "| figure | ratio | target |",
        "|---|---:|---|",
    ]
    for name, value, target in rows:
        shown = "n/a" if value is None else f"{value:.2f}"
        lines.append(f"| {name} | {shown} | {target} |")
    return [*lines, ""]


def _remote(remote: dict[str, list[float]]) -> list[str]:
    lines = [
        "### The remote client",
        "",
        f'`modloader -rx "module show"` against a host on a socket, and `python -c pass`, '
        f"interleaved, {len(remote['python -c pass'])} runs each.",
        "",
        "| Command | median ms | min ms | max ms |",
        "|---|---:|---:|---:|",
    ]
    for name, values in remote.items():
        lines.append(
            f"| `{name}` | {_ms(statistics.median(values))} | {_ms(min(values))} | "
            f"{_ms(max(values))} |"
        )
    return [*lines, ""]


def render(
    results: list[SizeResult],
    repeats: int,
    quick: bool,
    python: str,
    sources: list[str],
    remote: dict[str, list[float]],
) -> str:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    mode = "--quick" if quick else "full"
    lines = [
        f"Generated by `python -m benchmarks` ({mode} run, {repeats} samples per case) on {now}.",
        "",
        "| Machine | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in machine(python)),
        *(f"| modloader source | `{src}` first on PYTHONPATH |" for src in sources),
        "",
        *_targets(results, remote),
    ]
    titles = {
        "base": "Interpreter baselines",
        "load": "Discover and import every plugin (whole process)",
        "list": "List the group's entry points, importing no plugin (whole process)",
    }
    for res in results:
        size = res.env.size
        lines += [
            f"### Size {size.label}: {size.plugins} plugins among {size.dists} distributions",
            "",
        ]
        for section, title in titles.items():
            lines += [
                f"**{title}**",
                "",
                "| Case | median ms | min ms | max ms | peak RSS MiB | ratio |",
                "|---|---:|---:|---:|---:|---|",
            ]
            for row in res.rows.values():
                if row.case.section != section:
                    continue
                if row.skipped:
                    lines.append(
                        f"| {row.case.label} | skipped: subject not in this checkout | | | | |"
                    )
                    continue
                if row.error is not None or not row.times:
                    lines.append(f"| {row.case.label} | error: {row.error} | | | | |")
                    continue
                ratio = ""
                ref = res.rows.get(row.case.versus or "")
                if ref is not None and ref.times:
                    ratio = (
                        f"{row.median / ref.median:.2f} x {ref.case.key} "
                        f"(min: {min(row.times) / min(ref.times):.2f} x)"
                    )
                lines.append(
                    f"| {row.case.label} | {_ms(row.median)} | {_ms(min(row.times))} | "
                    f"{_ms(max(row.times))} | {max(row.rss) / 1024:.1f} | {ratio} |"
                )
            lines.append("")
        for title, body in res.micro:
            lines += [f"**{title}** (median of repeated `timeit` runs)", ""]
            if isinstance(body, str):
                lines += [f"Skipped: {body}", ""]
                continue
            lines += ["| Operation | time | unit |", "|---|---:|---|"]
            for label, value, unit in body:
                shown = "skipped" if value is None else f"{float(value):.3g}"  # type: ignore[arg-type]
                lines.append(f"| {label} | {shown} | {unit} |")
            lines.append("")
    lines += _remote(remote)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="sizes S and M, 5 samples (< 2 min)")
    parser.add_argument("--sizes", help="comma-separated sizes (S, M, L)")
    parser.add_argument("--repeats", type=int, help="samples per case (default 11; 5 with --quick)")
    parser.add_argument("--python", default=sys.executable, help="interpreter to measure")
    parser.add_argument(
        "--modloader-src",
        action="append",
        default=[],
        metavar="DIR",
        help="put DIR first on PYTHONPATH (measure another modloader source tree)",
    )
    parser.add_argument(
        "--envs", type=Path, default=RESULTS / "envs", help="where environments live"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.md")
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds before a sample is killed (60)"
    )
    parser.add_argument(
        "--docs",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"also write {DOCS_COPY.relative_to(ROOT)} (default: unless --quick)",
    )
    args = parser.parse_args(argv)

    labels = (args.sizes or ("S,M" if args.quick else "S,M,L")).upper().split(",")
    repeats = args.repeats or (5 if args.quick else 11)
    envs = [ensure_env(SIZES[label], args.envs) for label in labels]
    for env in envs:
        settle(env)  # let the new files age past the scan cache's racy window
    results = []
    for env in envs:
        print(f"size {env.size.label} ({env.size.plugins} of {env.size.dists})", file=sys.stderr)
        work = args.envs / f"work-{env.size.label}"
        runner = Runner(args.python, env, work, args.modloader_src, args.timeout)
        results.append(run_size(runner, repeats, log=True))
    print("remote client", file=sys.stderr)
    from benchmarks.remote_client import measure

    remote = measure(repeats * 4, args.python)
    body = render(results, repeats, args.quick, args.python, args.modloader_src, remote)
    report = "# Benchmark results\n\n" + body
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    print(f"wrote {args.out}", file=sys.stderr)
    if args.docs or (args.docs is None and not args.quick):
        DOCS_COPY.parent.mkdir(parents=True, exist_ok=True)
        DOCS_COPY.write_text(report.replace("# Benchmark results\n\n", "", 1))
        print(f"wrote {DOCS_COPY}", file=sys.stderr)
    return 0
