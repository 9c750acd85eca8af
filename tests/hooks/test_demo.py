"""The demo host declares DemoSpecs: ``modloader -n modloader.demo -x "demo status"``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import modloader
from modloader.testing import project_distribution

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORK = Path(modloader.__file__).resolve().parent.parent
PROJECTS = ("res_hello", "res_store")


@pytest.fixture
def demo_site(tmp_path: Path) -> Path:
    site = tmp_path / "site-packages"
    for project in PROJECTS:
        project_distribution(site, ROOT / "example_plugins" / project)
    return site


def run(site: Path, tmp_path: Path, *command: str) -> subprocess.CompletedProcess[str]:
    conf = tmp_path / "modules.conf"
    conf.write_text("[modules]\nautoload = yes\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODLOADER_")}
    # The metadata is laid in ``site``; the code is imported from the project folders.
    projects = [str(ROOT / "example_plugins" / p) for p in PROJECTS]
    env["PYTHONPATH"] = os.pathsep.join([str(site), *projects, str(FRAMEWORK)])
    env["XDG_RUNTIME_DIR"] = str(tmp_path)
    return subprocess.run(
        [sys.executable, "-m", "modloader", "-n", "modloader.demo", "-C", str(conf), *command],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_demo_status_asks_every_module_implementing_the_hook(
    demo_site: Path, tmp_path: Path
) -> None:
    done = run(demo_site, tmp_path, "-x", "demo status")
    assert done.returncode == 0, done.stderr
    # res_store starts first (load_priority), so it answers first.
    assert done.stdout.splitlines() == [
        "res_store: 0 keys stored",
        "res_hello: said 'Hello' 0 times",
    ]


def test_module_show_hooks_on_the_demo_host(demo_site: Path, tmp_path: Path) -> None:
    done = run(demo_site, tmp_path, "-x", "module show hooks")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1].split() == ["demo_status", "res_store,", "res_hello"]


def test_another_namespace_has_no_demo_command(demo_site: Path, tmp_path: Path) -> None:
    conf = tmp_path / "other.conf"
    conf.write_text("[modules]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODLOADER_")}
    env["PYTHONPATH"] = str(FRAMEWORK)
    done = subprocess.run(
        [sys.executable, "-m", "modloader", "-n", "other.ns", "-C", str(conf), "-x", "demo status"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 1
    assert "No such command 'demo status'" in done.stdout + done.stderr


def test_module_show_hooks_json(demo_site: Path, tmp_path: Path) -> None:
    import json

    done = run(demo_site, tmp_path, "--json", "-x", "module show hooks")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    hooks = payload["data"]["hooks"]
    assert [m["name"] for m in hooks[0]["modules"]] == ["res_store", "res_hello"]
