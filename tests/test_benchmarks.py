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
