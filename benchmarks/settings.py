"""Startup cost of module settings: M modules, of which 20 declare ``settings_model``, vs none.

Standalone::

    python benchmarks/settings.py [--modules 100] [--with-settings 20] [--runs 7]

Lays M real plugin distributions (``.dist-info`` + code) in a temporary
site, twice: once where no module declares settings, once where
``--with-settings`` of them declare a model of six fields (a nested section, a
list) and have a ``<name>.conf`` of their own. For each, it starts a host in a
fresh Python process (``Host(...).start()``, then exit) and reports the median
wall time:

* **cold**: the first start after an install: the plugins' bytecode written (as
  pip writes it), an empty modloader cache (a fresh folder per run);
* **warm**: the cache left by the previous runs, as on a restart.

The four (two variants, cold and warm) run once per round, in a shuffled order,
so that the machine weighs on all of them alike.

It also says whether pydantic was imported, and times validating the 20
modules' settings in one process (what ``module reload`` with no name pays).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "framework"), str(ROOT)]  # run as a script

from benchmarks.procs import clean_environ  # noqa: E402
from benchmarks.procs import compile_tree  # noqa: E402
from benchmarks.timing import interleave  # noqa: E402
from modloader.testing import make_distribution  # noqa: E402

GROUP = "bench.settings"

_PLAIN = """
class Plugin:
    def load(self, ctx):
        pass
"""

_WITH_SETTINGS = """
from pydantic import BaseModel
from modloader import ModuleSettings


class Limits(BaseModel):
    low: int = 0
    high: int = 10


class Settings(ModuleSettings):
    capacity: int = 5
    label: str = "x"
    ratio: float = 0.5
    enabled: bool = True
    tags: list[str] = []
    limits: Limits = Limits()


class Plugin:
    settings_model = Settings

    def load(self, ctx):
        self.capacity = ctx.settings.capacity
"""

_CONF = """\
; settings of {name}
[general]
capacity = {index}
label = module {index}
enabled = yes
tags = a
tags = b
[limits]
high = 20
"""

_PROBE = """
import json, sys, time
started = time.perf_counter()
from modloader import Host
host = Host({group!r}, config_path=sys.argv[1])
report = host.start()
elapsed = time.perf_counter() - started
heavy = any(m.split(".")[0] in ("pydantic", "pydantic_settings") for m in sys.modules)
print(json.dumps({{"seconds": elapsed, "running": report.running, "pydantic": heavy}}))
"""


def lay(folder: Path, modules: int, with_settings: int) -> Path:
    """The site and config folder of one variant; returns the modules.conf path."""
    site, etc = folder / "site", folder / "etc"
    etc.mkdir(parents=True)
    for index in range(modules):
        name = f"mod_{index:04d}"
        declares = index < with_settings
        make_distribution(
            site,
            f"bench-settings-{index:04d}",
            entry_points={GROUP: {name: f"bench_settings_{index:04d}:Plugin"}},
            files={
                f"bench_settings_{index:04d}/__init__.py": _WITH_SETTINGS if declares else _PLAIN
            },
        )
        if declares:
            (etc / f"{name}.conf").write_text(_CONF.format(name=name, index=index))
    conf = etc / "modules.conf"
    conf.write_text("[modules]\nautoload = yes\n")
    return conf


def start_once(conf: Path, cache: Path) -> dict[str, object]:
    env = clean_environ()
    env["PYTHONPATH"] = os.pathsep.join([str(conf.parent.parent / "site"), str(ROOT / "framework")])
    env["MODLOADER_CACHE_DIR"] = str(cache)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(group=GROUP), str(conf)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    result["wall"] = time.perf_counter() - started
    return result


def measure(confs: dict[str, Path], runs: int, scratch: Path) -> dict[str, dict[str, object]]:
    """``{variant: figures}``: cold and warm starts of every variant, in the same rounds."""
    compile_tree(
        sys.executable, ROOT / "framework", *(c.parent.parent / "site" for c in confs.values())
    )
    fresh = itertools.count()
    subjects = {}
    for label, conf in confs.items():
        warm_cache = scratch / f"{label}-warm"
        start_once(conf, warm_cache)  # fills the cache the warm runs find
        subjects[f"{label} cold"] = lambda conf=conf: start_once(conf, scratch / f"c{next(fresh)}")
        subjects[f"{label} warm"] = lambda conf=conf, cache=warm_cache: start_once(conf, cache)
    samples, errors = interleave(subjects, runs)
    if errors:
        raise RuntimeError(f"a start failed: {errors}")
    figures: dict[str, dict[str, object]] = {}
    for label in confs:
        cold, warm = samples[f"{label} cold"], samples[f"{label} warm"]
        figures[label] = {
            "cold_ms": statistics.median(float(r["wall"]) for r in cold) * 1000,  # type: ignore[arg-type]
            "warm_ms": statistics.median(float(r["wall"]) for r in warm) * 1000,  # type: ignore[arg-type]
            "running": warm[-1]["running"],
            "pydantic_when_warm": warm[-1]["pydantic"],
        }
    return figures


def validate_in_process(conf: Path, with_settings: int, repeat: int) -> float:
    """Milliseconds to read and validate every declaring module's settings once."""
    sys.path.insert(0, str(conf.parent.parent / "site"))
    import importlib

    from modloader._settings.service import SettingsService

    service = SettingsService(env_prefix="BENCH_", config_dir=conf.parent)
    plugins = [
        (f"mod_{i:04d}", importlib.import_module(f"bench_settings_{i:04d}").Plugin())
        for i in range(with_settings)
    ]
    for name, obj in plugins:  # imports pydantic and builds the validators once
        assert service.read(name, obj).ok
    started = time.perf_counter()
    for _ in range(repeat):
        for name, obj in plugins:
            service.read(name, obj)
    return (time.perf_counter() - started) / repeat * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=100)
    parser.add_argument("--with-settings", type=int, default=20)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-settings-") as tmp:
        base = Path(tmp)
        variants = {"none declare": 0, f"{args.with_settings} declare": args.with_settings}
        confs = {
            label: lay(base / label.replace(" ", "-"), args.modules, declaring)
            for label, declaring in variants.items()
        }
        rows = measure(confs, args.runs, base / "scratch")
        print(f"{args.modules} modules, median of {args.runs} runs (wall time of a fresh process):")
        print(f"{'variant':<14} {'cold ms':>9} {'warm ms':>9} {'running':>8}  pydantic (warm)")
        for label, f in rows.items():
            print(
                f"{label:<14} {f['cold_ms']:>9.0f} {f['warm_ms']:>9.0f} {f['running']:>8}  "
                f"{f['pydantic_when_warm']}"
            )
        conf = confs[f"{args.with_settings} declare"]
        per = validate_in_process(conf, args.with_settings, 20)
        print(f"validating {args.with_settings} modules' settings in process: {per:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
