"""examples/notes_app end to end: an application embedding modloader, and its plugins.

The app and its two plugins are pip-installed into a real venv; ``notes-app``
runs in the foreground with its control socket, and an operator drives it with
``notes-app -r`` and with ``modloader -n notes_app.modules -rx``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._dists import REPO
from tests._dists import Venv
from tests._dists import copy_venv
from tests._dists import venv_template_fixture  # noqa: F401 - what notes_venv copies
from tests.integration._served import Served
from tests.integration._served import clean_env

pytestmark = pytest.mark.slow

APP = REPO / "examples" / "notes_app"
SQLITE = APP / "plugins" / "sqlite"
UPPER = APP / "plugins" / "upper"


@pytest.fixture(scope="module")
def notes_venv(venv_template: Venv, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    venv = copy_venv(venv_template, tmp_path_factory.mktemp("notes") / "venv")
    venv.install(APP, SQLITE, UPPER)
    return venv


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_env(tmp_path)


def notes_app(venv: Venv, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv.path / "bin" / "notes-app"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def served(notes_venv: Venv, env: dict[str, str], tmp_path: Path) -> Iterator[Served]:
    folder = tempfile.mkdtemp(prefix="mlt-")
    socket = f"{folder}/notes.sock"
    app = str(notes_venv.path / "bin" / "notes-app")
    running = Served(
        [app, "--data", str(tmp_path / "data"), "-s", socket], socket, env, client=[app, "-r"]
    )
    try:
        yield running
    finally:
        running.kill()
        shutil.rmtree(folder, ignore_errors=True)


def test_notes_pass_through_filters_into_the_preloaded_store(
    served: Served, notes_venv: Venv, env: dict[str, str], tmp_path: Path
) -> None:
    shown = json.loads(served.rx("module show", "--json").stdout)["data"]["modules"]
    rows = {m["name"]: m for m in shown}
    assert {n: m["status"] for n, m in rows.items()} == {
        "core_notes": "Running",
        "filter_upper": "Running",
        "res_notes_sqlite": "Running",
    }
    assert rows["res_notes_sqlite"]["preload"] and rows["res_notes_sqlite"]["required"]
    assert rows["core_notes"]["builtin"]
    # The core holds the backend while the store is open.
    assert rows["res_notes_sqlite"]["holders"] == ["notes store"]

    assert served.out("notes add buy milk") == "note 1 added"
    assert served.out("notes filters") == "filter_upper\n1 filter"
    # The same host through modloader's own client.
    modloader = [str(notes_venv.python), "-m", "modloader", "-n", "notes_app.modules"]
    listed = subprocess.run(
        [*modloader, "-rx", "notes list", "-s", served.socket],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (listed.returncode, listed.stdout) == (0, "   1  BUY MILK\n1 note\n")

    refused = served.rx("module unload res_notes_sqlite")
    assert refused.returncode == 1
    assert refused.stdout.splitlines()[0] == (
        "Soft unload failed, 'res_notes_sqlite' has use count 1 (held by notes store)"
    )
    assert served.out("module unload filter_upper") == "Unloaded filter_upper"
    assert served.out("notes add call Ada") == "note 2 added"
    assert served.out("module load filter_upper") == "Loaded filter_upper"
    assert served.out("notes add done") == "note 3 added"
    assert served.out("notes list") == "   1  BUY MILK\n   2  call Ada\n   3  DONE\n3 notes"

    served.rx("core stop gracefully")
    log = served.wait()
    assert served.proc.returncode == 0, log

    # The notes outlive the process; NOTES_APP_NOLOAD keeps the filter out.
    data = str(tmp_path / "data")
    env = dict(env, NOTES_APP_NOLOAD="filter_upper")
    added = notes_app(notes_venv, env, "--data", data, "-q", "-x", "notes add quiet one")
    assert (added.returncode, added.stdout) == (0, "note 4 added\n")
    listed_again = notes_app(notes_venv, env, "--data", data, "-q", "-x", "notes list")
    assert listed_again.stdout.splitlines()[-2:] == ["   4  quiet one", "4 notes"]


def test_config_option_and_what_happens_without_a_backend(
    notes_venv: Venv, env: dict[str, str], tmp_path: Path
) -> None:
    conf = tmp_path / "modules.conf"
    conf.write_text("[modules]\nautoload = no\nload = filter_upper\n")
    done = notes_app(
        notes_venv, env, "--data", str(tmp_path / "d"), "--config", str(conf), "-x", "x"
    )
    assert done.returncode == 2
    assert (
        "notes-app: startup failed: no storage backend is running; preload one in modules.conf"
        in done.stderr
    )

    missing = notes_app(notes_venv, env, "--config", str(tmp_path / "nope.conf"), "-x", "x")
    assert missing.returncode == 1
    assert str(tmp_path / "nope.conf") in missing.stderr


def test_the_user_config_replaces_the_shipped_one(
    notes_venv: Venv, env: dict[str, str], tmp_path: Path
) -> None:
    user = Path(env["XDG_CONFIG_HOME"]) / "notes_app" / "modules.conf"
    user.parent.mkdir(parents=True)
    user.write_text("[modules]\npreload = res_notes_sqlite\nnoload = filter_upper\n")
    done = notes_app(notes_venv, env, "--data", str(tmp_path / "d"), "-q", "-x", "notes filters")
    assert (done.returncode, done.stdout) == (0, "0 filters\n")
