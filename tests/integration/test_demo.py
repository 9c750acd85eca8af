"""The demo, end to end: every example plugin pip-installed, the ``modloader`` command
serving ``modloader.demo`` with its shipped demo.conf, an operator over ``-rx``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._dists import EXAMPLE_PLUGINS
from tests._dists import Venv
from tests._dists import copy_venv
from tests._dists import venv_template_fixture  # noqa: F401 - what demo_venv copies
from tests.integration._served import Served
from tests.integration._served import clean_env

pytestmark = pytest.mark.slow

PLUGINS = sorted(p for p in EXAMPLE_PLUGINS.iterdir() if (p / "pyproject.toml").is_file())

#: module show after startup: res_unwanted is noload'ed; every settings file is shipped.
STATUSES = {
    "app_busy": "Running",
    "app_echo": "Running",
    "chan_declines": "Running",
    "func_plain": "Running",
    "res_config_reload": "Running",
    "res_hello": "Running",
    "res_metrics": "Running",
    "res_metrics_echo": "Running",
    "res_store": "Running",
}


@pytest.fixture(scope="module")
def demo_venv(venv_template: Venv, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """One venv for the module, every example plugin installed once."""
    venv = copy_venv(venv_template, tmp_path_factory.mktemp("demo") / "venv")
    venv.install(*PLUGINS)
    return venv


SHIPPED = Path(__file__).resolve().parents[2] / "framework" / "modloader"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The operator's own copy of the demo's files, where ``modloader`` looks first."""
    env = clean_env(tmp_path)
    folder = Path(env["XDG_CONFIG_HOME"]) / "modloader" / "modloader.demo"
    folder.mkdir(parents=True)
    shutil.copy(SHIPPED / "demo.conf", folder / "modules.conf")
    for name in ("chan_declines", "res_config_reload", "res_hello"):
        shutil.copy(SHIPPED / f"{name}.conf", folder)
    (folder / "res_config_reload.conf").write_text("[general]\ngreeting = Hi\n")
    env["DEMO_SETTINGS"] = str(folder)
    return env


@pytest.fixture
def demo(demo_venv: Venv, env: dict[str, str]) -> Iterator[Served]:
    folder = tempfile.mkdtemp(prefix="mlt-")  # a Unix socket path is limited to ~100 bytes
    python = str(demo_venv.python)
    served = Served(
        [python, "-m", "modloader", "-n", "modloader.demo", "-s", f"{folder}/demo.sock"],
        f"{folder}/demo.sock",
        env,
        client=[python, "-m", "modloader"],
    )
    try:
        yield served
    finally:
        served.kill()
        shutil.rmtree(folder, ignore_errors=True)


def statuses(served: Served) -> dict[str, str]:
    shown = served.rx("module show", "--json")
    assert shown.returncode == 0, shown.stdout
    return {m["name"]: m["status"] for m in json.loads(shown.stdout)["data"]["modules"]}


def failed(served: Served, line: str) -> list[str]:
    done = served.rx(line)
    assert done.returncode == 1, done.stdout
    return done.stdout.splitlines()


def test_an_operator_session(demo: Served, env: dict[str, str]) -> None:
    table = demo.out("module show").splitlines()
    assert table[-1] == "9 modules loaded"
    assert statuses(demo) == STATUSES

    assert demo.out("hello") == "Hello, world!"
    assert demo.out("echo hi  there") == "hi there"
    assert demo.out("store get app_echo.last") == "app_echo.last = hi there"

    # Soft unload: refused, the holders named.
    assert failed(demo, "module unload res_store")[:2] == [
        "Soft unload failed, 'res_store' has use count 1 (held by app_echo)",
        "Unable to unload resource res_store",
    ]
    # Firm unload: the running dependents go first.
    assert demo.out("module unload -f res_store").splitlines() == [
        "Forcing removal of module 'res_store' with use count 1",
        "Unloaded dependent module res_metrics_echo",
        "Unloaded dependent module app_echo",
        "Unloaded res_store",
    ]
    assert {n: s for n, s in statuses(demo).items() if n in STATUSES} == {
        n: s for n, s in STATUSES.items() if n not in ("res_store", "app_echo", "res_metrics_echo")
    }
    for name in ("res_store", "app_echo", "res_metrics_echo"):
        assert demo.out(f"module load {name}") == f"Loaded {name}"
    assert statuses(demo) == STATUSES

    # Reload re-reads the file; a broken file fails the reload and keeps the settings.
    conf = Path(env["DEMO_SETTINGS"]) / "res_config_reload.conf"
    conf.write_text("[general]\ngreeting = Good night\ninterval = 30\n")
    assert demo.out("module reload res_config_reload") == (
        "Module 'res_config_reload' reloaded successfully."
    )
    assert demo.out("settings show") == "greeting: Good night\ninterval: 30"
    conf.write_text("[general]\ncolour = red\n")
    assert failed(demo, "module reload res_config_reload")[:2] == [
        "The module 'res_config_reload' was not reloaded: its new settings are invalid "
        "(the previous ones stay in force)",
        f"  {conf}:2: Unknown key 'colour' in [general]",
    ]
    assert demo.out("settings show") == "greeting: Good night\ninterval: 30"
    # The settings in force, with the lines they were read from.
    rows = [line.split() for line in demo.out("module settings res_config_reload").splitlines()]
    assert ["greeting", "Good", "night", f"{conf}:2"] in rows
    assert ["interval", "30", f"{conf}:3"] in rows

    refreshed = demo.out("module refresh app_echo recursively")
    # The enhancer goes first and comes back after app_echo; the summary line comes last.
    assert refreshed.splitlines() == [
        "Unloaded res_metrics_echo",
        "Loaded res_metrics_echo",
        "Unloaded and loaded app_echo",
    ]
    assert statuses(demo) == STATUSES
    assert demo.out("echo again") == "again"

    # A job holds res_store and app_busy refuses to go while it runs.
    assert demo.out("busy start") == "job started"
    assert failed(demo, "module unload app_busy")[0] == "Firm unload failed for app_busy"
    assert "held by app_busy" in failed(demo, "module unload res_store")[0]
    assert demo.out("busy stop").startswith("job stopped after")

    stopped = demo.rx("core stop gracefully")
    # The reply may be lost to the shutdown it starts: see the next test.
    assert stopped.stdout in ("Stopping gracefully.\n", ""), stopped
    log = demo.wait()
    assert demo.proc.returncode == 0, log
    assert "Unloaded" not in log  # a graceful stop is quiet about each module
    assert not Path(demo.socket).exists()


def readme_sequence() -> list[str]:
    """The commands README.md tells a newcomer to try at the demo's prompt, in order."""
    text = " ".join((EXAMPLE_PLUGINS.parent / "README.md").read_text().split())
    found = re.search(r"try, in this order: (.*?), and Tab", text)
    assert found, "README.md no longer lists the commands to try"
    return re.findall(r"`([^`]+)`", re.sub(r"\([^)]*\)", "", found.group(1)))


def test_the_readme_sequence_leaves_every_module_running(demo: Served) -> None:
    commands = readme_sequence()
    assert commands[0] == "module show" and "module unload -f res_store" in commands
    for line in commands:
        done = demo.rx(line)
        refused = line == "module unload res_store"  # as the README announces
        assert done.returncode == (1 if refused else 0), done
    assert statuses(demo) == STATUSES


def test_the_core_stop_reply_reaches_the_client(demo: Served) -> None:
    stopped = demo.rx("core stop gracefully")
    demo.wait()
    assert (stopped.returncode, stopped.stdout) == (0, "Stopping gracefully.\n")


def test_modloader_x_runs_one_command_on_the_demo(demo_venv: Venv, env: dict[str, str]) -> None:
    done = subprocess.run(
        [str(demo_venv.python), "-m", "modloader", "-n", "modloader.demo", "-x", "module show"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()
    assert rows[-1] == "9 modules loaded"
    shown = {
        row.split()[0]: "Not Running" if "Not Running" in row else "Running" for row in rows[1:-1]
    }
    assert shown == STATUSES
    assert "WARNING" not in done.stderr, done.stderr
