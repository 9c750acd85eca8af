"""What ``-v`` shows, and a command's output before the log lines it caused (``-x``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from modloader.testing import make_distribution

FRAMEWORK = Path(__file__).resolve().parents[2] / "framework"
NAMESPACE = "verbose.modules"

PLUGIN = """
class KeyValue:
    def load(self, ctx):
        self.keys = {"one": 1}

    def unload(self, ctx):
        ctx.logger.warning("dropping %d key", len(self.keys))
"""


@pytest.fixture
def run(tmp_path):
    site = tmp_path / "site"
    make_distribution(
        site,
        "res-kv",
        files={"res_kv_plugin.py": PLUGIN},
        entry_points={NAMESPACE: {"res_kv": "res_kv_plugin:KeyValue"}},
    )
    conf = tmp_path / "modules.conf"
    conf.write_text("[modules]\nautoload = yes\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODLOADER_")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(site), str(FRAMEWORK)]),
        MODLOADER_CACHE_DIR=str(tmp_path / "cache"),
        NO_COLOR="1",
    )

    def run(*args: str) -> str:
        """stdout and stderr as one stream, in the order they were written."""
        done = subprocess.run(
            [sys.executable, "-m", "modloader", "-n", NAMESPACE, "-C", str(conf), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stdout
        return done.stdout

    run.conf = conf  # type: ignore[attr-defined]
    return run


def test_without_v_x_prints_the_output_only(run):
    out = run("-x", "module show like kv").splitlines()
    assert out[1].startswith("res_kv") and out[2] == "1 modules loaded"
    assert "INFO" not in "\n".join(out)


def test_v_shows_the_configuration_the_discovery_and_each_start(run):
    out = run("-v", "-x", "module show")
    assert f"INFO: Configuration: {run.conf}" in out
    assert f"INFO: Found 1 modules in '{NAMESPACE}' (" in out
    assert "INFO: Started res_kv (" in out
    assert "INFO: 1 modules running, 0 not running (" in out
    assert "DEBUG" not in out


def test_vv_shows_the_debug_lines_too(run):
    out = run("-vv", "-x", "module show")
    assert "DEBUG: Installed: res_kv" in out
    assert "DEBUG: Imported res_kv (" in out
    assert "DEBUG: autoload=yes, 0 entries, noload: none" in out


def test_a_commands_output_comes_before_the_log_lines_it_caused(run):
    lines = run("-x", "module unload res_kv").splitlines()
    assert lines[0] == "Unloaded res_kv"
    assert lines[1].endswith("WARNING: dropping 1 key")
