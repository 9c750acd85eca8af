"""Commands under load: many clients on the control socket while application threads spin on use().

Lays plugin distributions in a temporary site, starts a host over them in a
subprocess with ``--spinners`` application threads that do nothing but
``with host.use(name): pass`` in a loop, serves its control socket, and then:

1. measures ``module show`` and ``module refresh`` one at a time (the latency an
   operator sees under that load);
2. runs ``--clients`` clients for ``--duration`` seconds, each sending a mix of
   commands (show, show like, reload, refresh, unload + load, help) on its own
   connection, and reports the throughput and the p50/p90/p99 latencies.

Loopback only (a Unix socket in a temporary folder), bounded in time.

    python benchmarks/load.py             # 20 clients, 60 s
    python benchmarks/load.py --quick     # 8 clients, 5 s
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the suite's own modules

from benchmarks.procs import clean_environ  # noqa: E402

NAMESPACE = "bench.load"

_PLUGIN = textwrap.dedent(
    """\
    class Plugin:
        description = "load benchmark module {name}"

        def load(self, ctx):
            self.config = {{"name": ctx.name}}

        def reload(self, ctx):
            self.config = dict(self.config)

        def unload(self, ctx):
            return None
    """
)

_HOST = textwrap.dedent(
    """\
    import sys, threading
    from modloader import Host
    from modloader.errors import ModLoaderError

    namespace, conf, path, spinners, names = (
        sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5].split(",")
    )
    extra = {"switch_interval": float(sys.argv[6])} if len(sys.argv) > 6 else {}
    host = Host(namespace, config_path=conf, **extra)
    host.start()
    stop = threading.Event()

    def spin(name):
        use = host.use
        while not stop.is_set():
            try:
                with use(name):
                    pass
            except ModLoaderError:
                pass

    threads = [
        threading.Thread(target=spin, args=(names[i % len(names)],), daemon=True)
        for i in range(spinners)
    ]
    for t in threads:
        t.start()
    with host.serve(path):
        print("ready", flush=True)
        graceful = host.wait_for_stop()
    stop.set()
    host.stop(graceful=graceful is not False)
    """
)


def _lay_site(site: Path, count: int) -> list[str]:
    from modloader.testing import make_distribution

    names = [f"res_load{i:02d}" for i in range(count)]
    for name in names:
        make_distribution(
            site,
            f"bench-load-{name.replace('_', '-')}",
            "1.0",
            entry_points={NAMESPACE: {name: f"bench_{name}:Plugin"}},
            files={f"bench_{name}.py": _PLUGIN.format(name=name)},
        )
    return names


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _mix(rng: random.Random, names: list[str], own: str) -> str:
    roll = rng.random()
    if roll < 0.40:
        return "module show"
    if roll < 0.50:
        return "module show like load0"
    if roll < 0.70:
        return f"module reload {rng.choice(names)}"
    if roll < 0.80:
        return f"module refresh {own}"
    if roll < 0.90:
        return f"module unload {own}" if rng.random() < 0.5 else f"module load {own}"
    return "core show help"


def _client(
    path: str,
    names: list[str],
    own: str,
    until: float,
    seed: int,
    out: list[tuple[str, float, bool]],
) -> None:
    from modloader._control.client import ControlClient

    rng = random.Random(seed)
    with ControlClient(path, timeout=120) as client:
        while time.monotonic() < until:
            line = _mix(rng, names, own)
            started = time.perf_counter()
            result = client.execute(line)
            out.append((line.split()[1], time.perf_counter() - started, result.ok))


def _one_at_a_time(path: str, line: str, count: int) -> list[float]:
    from modloader._control.client import ControlClient

    times = []
    with ControlClient(path, timeout=120) as client:
        for _ in range(count):
            started = time.perf_counter()
            client.execute(line)
            times.append(time.perf_counter() - started)
    return times


def run(
    clients: int,
    duration: float,
    spinners: int,
    modules: int,
    framework: Path = ROOT / "framework",
    switch_interval: float | None = None,
) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="mlload-"))
    try:
        site = folder / "site"
        names = _lay_site(site, modules)
        conf = folder / "modules.conf"
        conf.write_text("[modules]\nautoload = yes\n", encoding="utf-8")
        path = str(folder / "h.sock")
        env = clean_environ()  # bytecode written and read, as an installed package has it
        env["PYTHONPATH"] = os.pathsep.join([str(framework), str(site)])
        env["MODLOADER_CACHE_DIR"] = str(folder / "cache")
        host = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _HOST,
                NAMESPACE,
                str(conf),
                path,
                str(spinners),
                ",".join(names),
                *([] if switch_interval is None else [str(switch_interval)]),
            ],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert host.stdout is not None
            if host.stdout.readline().strip() != "ready":
                raise SystemExit("the host did not start")
            show = _one_at_a_time(path, "module show", 30)
            refresh = _one_at_a_time(path, f"module refresh {names[0]}", 10)
            samples: list[tuple[str, float, bool]] = []
            until = time.monotonic() + duration
            threads = [
                threading.Thread(
                    target=_client,
                    args=(path, names, names[1 + i % (len(names) - 1)], until, i, samples),
                )
                for i in range(clients)
            ]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
            from modloader._control.client import ControlClient

            with ControlClient(path, timeout=60) as client:
                client.execute("core stop gracefully")
            host.wait(60)
        finally:
            if host.poll() is None:
                host.kill()
                host.wait()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    latencies = [s[1] for s in samples]
    by_kind: dict[str, list[float]] = {}
    for kind, seconds, _ in samples:
        by_kind.setdefault(kind, []).append(seconds)
    return {
        "clients": clients,
        "spinners": spinners,
        "modules": modules,
        "seconds": round(elapsed, 1),
        "commands": len(samples),
        "per_second": round(len(samples) / elapsed, 1),
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 1),
        "p90_ms": round(_percentile(latencies, 0.90) * 1000, 1),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(max(latencies, default=0) * 1000, 1),
        "by_command_p50_p99_ms": {
            kind: [
                round(_percentile(v, 0.5) * 1000, 1),
                round(_percentile(v, 0.99) * 1000, 1),
            ]
            for kind, v in sorted(by_kind.items())
        },
        "alone_module_show_median_ms": round(statistics.median(show) * 1000, 2),
        "alone_module_refresh_median_ms": round(statistics.median(refresh) * 1000, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of mixed load")
    parser.add_argument("--spinners", type=int, default=4, help="application threads on use()")
    parser.add_argument("--modules", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="8 clients for 5 s")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=None,
        help="Host(switch_interval=...) in the host (default: the Host's default)",
    )
    parser.add_argument(
        "--framework",
        type=Path,
        default=ROOT / "framework",
        help="the folder modloader is imported from in the host (to compare versions)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.duration = min(args.clients, 8), min(args.duration, 5.0)
    figures = run(
        args.clients,
        args.duration,
        args.spinners,
        args.modules,
        args.framework,
        args.switch_interval,
    )
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:<32} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
