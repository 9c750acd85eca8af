"""The benchmark suite still runs against this checkout: ``python -m benchmarks --quick``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*arguments: str) -> subprocess.CompletedProcess[str]:
    """``python ARGUMENTS`` from the repository root; it must succeed."""
    proc = subprocess.run(
        [sys.executable, *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def test_quick_run_measures_every_side_and_operation(tmp_path):
    out = tmp_path / "out" / "results.json"
    argv = ["--quick", "--envs", str(tmp_path / "envs"), "--out", str(out), "--no-docs"]
    _run("-m", "benchmarks", *argv)
    results = json.loads(out.read_text())
    (size,) = results["sizes"]
    assert size["errors"] == {}
    sides = {"modloader", "stevedore", "importlib", "pluggy", "floor"}
    assert set(size["samples"]) == sides | {"modloader-cold", "stevedore-cold"}
    assert all(len(samples) == 2 for samples in size["samples"].values())
    runtime = results["runtime"]
    assert runtime["modules"] == 20
    for label, op in runtime["operations"].items():
        assert "error" not in op, (label, op)
        assert len(op["first"]) == 1 and len(op["warm"]) == 2
    assert runtime["remote"]["errors"] == {}
    assert set(runtime["remote"]["samples"]) == {"modloader -rx", "console floor", "interpreter"}
    assert runtime["use"]["errors"] == {}
    assert runtime["hooks"]["errors"] == {}
    assert len(runtime["hooks"]["samples"]["host.hook filter_note"]) == 2
    page = (out.parent / "benchmarks.md").read_text()
    assert "| first `module unload` of one module among 20 | ≤ 5 ms |" in page
    assert "| `host.hook` call over 10 modules / bare pluggy, `pick`, `firstresult`" in page
    assert "error:" not in page


@pytest.mark.slow
def test_the_load_run_serves_every_kind_of_command() -> None:
    """``benchmarks/load.py --quick``: clients against a host whose threads spin on use()."""
    proc = _run("benchmarks/load.py", "--quick", "--duration", "3", "--json")
    figures = json.loads(proc.stdout)
    assert figures["commands"] > 0 and figures["per_second"] > 0
    assert set(figures["by_command_p50_p99_ms"]) == {"load", "refresh", "reload", "show", "unload"}
    assert 0 < figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]


def _sandbox(tmp_path: Path):
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks.envgen import SIZES
        from benchmarks.envgen import Env
        from benchmarks.procs import Sandbox
    finally:
        sys.path.remove(str(ROOT))
    (tmp_path / "env" / "site").mkdir(parents=True)
    return Sandbox(sys.executable, Env(SIZES["S"], tmp_path / "env"), tmp_path / "work", 60.0)


def test_a_sample_s_peak_memory_is_its_own_not_the_runner_s(tmp_path):
    """Linux carries a process's resident size through exec into ru_maxrss: a sample
    forked by the runner itself could never report less than the runner holds."""
    sandbox = _sandbox(tmp_path)
    ballast = bytearray(b"\x01") * (200 * 1024 * 1024)  # the runner holds 200 MiB
    sample = sandbox.run([sys.executable, "-c", "pass"])
    assert len(ballast) and sample.rss_kib < 60 * 1024
    grown = sandbox.run([sys.executable, "-c", "b = bytearray(b'x') * (100 * 1024 * 1024)"])
    assert grown.rss_kib > 100 * 1024
    assert 0 < sample.seconds < 60


def test_a_sample_that_shows_fewer_modules_running_than_claimed_fails(tmp_path):
    from benchmarks.procs import SampleFailed

    sandbox = _sandbox(tmp_path)
    rows = "res_a   a   0   Running   core\nres_b   b   0   Not Running   unknown\n"
    show = [sys.executable, "-c", f"print({rows!r})"]
    assert sandbox.run(show, running=1).seconds > 0
    with pytest.raises(SampleFailed, match="1 modules running of 2"):
        sandbox.run(show, running=2)
    with pytest.raises(SampleFailed, match="exit status 3"):
        sandbox.run([sys.executable, "-c", "import sys; sys.exit(3)"])
