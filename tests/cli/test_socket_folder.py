"""``modloader`` (serving) refuses an unsafe socket folder before it starts any module."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import modloader
from modloader.testing import make_distribution
from tests import _plugins as p

NAMESPACE = "itest.order"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site-packages")
    p.install_all(functools.partial(make_distribution, folder), [NAMESPACE])
    return folder


@pytest.fixture
def runtime() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="mls-", dir="/tmp"))  # short: a socket path
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _serve(site: Path, runtime: Path, tmp_path: Path, *extra: str) -> tuple[int, str, list[str]]:
    trace = tmp_path / "trace.log"
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("MODLOADER_")}
    env.update(
        # this modloader first (an editable install may point elsewhere), then the plugins
        PYTHONPATH=os.pathsep.join([str(Path(modloader.__file__).parents[1]), str(site)]),
        MODLOADER_CACHE_DIR=str(tmp_path / "cache"),
        XDG_CONFIG_HOME=str(tmp_path / "config-home"),
        XDG_RUNTIME_DIR=str(runtime),
        **{p.TRACE_VAR: str(trace)},
    )
    conf = p.write_conf(tmp_path / "modules.conf", p.ORDER_CONF)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from modloader._cli import main; raise SystemExit(main())",
            "-n",
            NAMESPACE,
            "-C",
            str(conf),
            *extra,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stderr, p.read_trace(trace)


@pytest.mark.parametrize("damage", ["world-writable", "symlink"])
def test_an_unsafe_default_folder_is_refused_before_any_module_starts(
    site: Path, runtime: Path, tmp_path: Path, damage: str
) -> None:
    folder = runtime / "modloader"
    if damage == "symlink":
        (runtime / "real").mkdir(mode=0o700)
        folder.symlink_to(runtime / "real")
    else:
        folder.mkdir()
        folder.chmod(0o777)
    code, err, trace = _serve(site, runtime, tmp_path)
    assert code == 1, err
    reason = "it is not a folder" if damage == "symlink" else "others may write to it"
    assert f"refusing {folder} for the control socket: {reason}" in err
    assert trace == []  # no module was imported, loaded or unloaded


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_socket_path_holding_something_else_is_refused_before_any_module_starts(
    site: Path, runtime: Path, tmp_path: Path, what: str
) -> None:
    path = runtime / "plain.sock"
    if what == "file":
        path.write_text("keep me")
    else:
        path.mkdir()
    code, err, trace = _serve(site, runtime, tmp_path, "-s", str(path))
    assert code == 1, err
    assert f"{path} exists and is not a socket; not replacing it" in err
    assert trace == []  # no module was imported, loaded or unloaded
    assert path.is_dir() if what == "folder" else path.read_text() == "keep me"
