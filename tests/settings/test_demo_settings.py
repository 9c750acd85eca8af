"""The demo's shipped settings files: ``modloader -n modloader.demo`` starts without warnings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from modloader.testing import project_distribution

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "framework" / "modloader"
PLUGINS = sorted(
    p for p in (ROOT / "example_plugins").iterdir() if (p / "pyproject.toml").is_file()
)


@pytest.fixture
def demo_env(tmp_path: Path) -> dict[str, str]:
    """Every example plugin's distribution laid in a site; its code from the project folder."""
    site = tmp_path / "site"
    for project in PLUGINS:
        project_distribution(site, project)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MODLOADER_"))}
    env["MODLOADER_CACHE_DIR"] = str(tmp_path / "cache")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config-home")  # no operator file: the shipped one
    env["PYTHONPATH"] = os.pathsep.join([str(site), *map(str, PLUGINS), str(ROOT / "framework")])
    return env


def modloader(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modloader", "-n", "modloader.demo", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_demo_checks_clean(demo_env: dict[str, str]) -> None:
    done = modloader(demo_env, "--check")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "check OK: 9 modules would start, 3 with settings\n"


def test_the_demo_starts_without_warnings_and_shows_origins(demo_env: dict[str, str]) -> None:
    done = modloader(demo_env, "-v", "-x", "module settings res_hello")
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr and "ERROR" not in done.stderr, done.stderr
    assert "9 modules running, 0 not running" in done.stderr
    rows = [line.split() for line in done.stdout.splitlines()]
    assert ["greeting", "Hello", f"{SHIPPED / 'res_hello.conf'}:11"] in rows


def test_the_environment_and_another_config_folder(
    demo_env: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "chan_declines.conf").write_text("[general]\nchanel = a\n")
    demo_env["MODLOADER_RES_HELLO__GREETING"] = "Hi"
    done = modloader(demo_env, "--config-dir", str(folder), "-x", "hello")
    assert (done.returncode, done.stdout) == (0, "Hi, world!\n")
    assert (
        f"chan_declines: invalid settings: {folder / 'chan_declines.conf'}:2: Unknown key "
        "'chanel' in [general] (did you mean 'channel'?)"
    ) in done.stderr
    checked = modloader(demo_env, "--config-dir", str(folder), "--check")
    assert checked.returncode == 1
    assert checked.stdout.startswith("check FAILED (")
