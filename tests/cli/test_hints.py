"""Mistakes that used to pass in silence: a namespace with no module, a ``noload`` of nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests._dists import make_dist

FRAMEWORK = Path(__file__).resolve().parents[2] / "framework"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """One plugin in ``kvapp.plugins`` and one in ``other.modules``."""
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "kv.py").write_text("class M:\n    def load(self, ctx):\n        pass\n")
    make_dist(folder, "kv-cache", "1", entry_points={"kvapp.plugins": {"res_kv": "kv:M"}})
    metadata = next(folder.glob("kv_cache-*.dist-info")) / "METADATA"
    metadata.write_text(metadata.read_text() + "Requires-Dist: modloader>=0.1\n")
    make_dist(folder, "by-name", "1", entry_points={"other.modules": {"res_x": "kv:M"}})
    return folder


def run(
    site: Path, tmp_path: Path, *args: str, **variables: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODLOADER_")}
    env.update(variables)
    env.update(
        PYTHONPATH=os.pathsep.join([str(site), str(FRAMEWORK)]),
        MODLOADER_CACHE_DIR=str(tmp_path / "cache"),
        XDG_CONFIG_HOME=str(tmp_path / "config-home"),
        NO_COLOR="1",
    )
    return subprocess.run(
        [sys.executable, "-m", "modloader", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
        cwd=tmp_path,
    )


def test_a_misspelt_namespace_is_named_with_the_close_installed_ones(site, tmp_path):
    done = run(site, tmp_path, "-n", "kvapp.plugin", "-x", "module show")
    assert done.returncode == 0, done.stderr
    assert "0 modules loaded" in done.stdout
    assert "No module was found in the namespace 'kvapp.plugin'." in done.stderr
    assert "Did you mean 'kvapp.plugins'?" in done.stderr
    assert "'other.modules'" in done.stderr


def test_the_default_namespace_lists_the_namespaces_that_hold_modules(site, tmp_path):
    done = run(site, tmp_path, "-n", "nothing.here", "-x", "module show")
    assert "No module was found in the namespace 'nothing.here'." in done.stderr
    # Sorted, each once; the interpreter's own environment may add more (the example
    # plugins' modloader.demo in a developer's virtualenv).
    said = done.stderr.partition("Installed namespaces with modules: ")[2].partition(".\n")[0]
    listed = [name.strip("'") for name in said.split(", ")]
    assert {"kvapp.plugins", "other.modules"} <= set(listed)
    assert listed == sorted(set(listed))


def test_a_namespace_with_modules_says_nothing_of_the_kind(site, tmp_path):
    done = run(site, tmp_path, "-n", "kvapp.plugins", "-x", "module show")
    assert done.returncode == 0, done.stderr
    assert "res_kv" in done.stdout
    assert "No module was found" not in done.stderr


def test_a_noload_of_a_name_not_installed_is_a_warning_with_file_and_line(site, tmp_path):
    conf = tmp_path / "modules.conf"
    conf.write_text("[modules]\nautoload = yes\n\nnoload = res_kb\nnoload = res_kv\n")
    done = run(site, tmp_path, "-n", "kvapp.plugins", "-C", str(conf), "-x", "module show")
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 1, done.stderr
    assert warnings[0].endswith(
        f"{conf}:4: noload = res_kb: no module of that name is installed in 'kvapp.plugins'"
        " (did you mean 'res_kv'?)"
    )
    assert "0 modules loaded" in done.stdout  # the noload of the installed one still applies


def test_a_noload_from_the_environment_names_its_variable(site, tmp_path):
    done = run(site, tmp_path, "-n", "kvapp.plugins", "-x", "module show", MODLOADER_NOLOAD="gone")
    assert "MODLOADER_NOLOAD: noload = gone: no module of that name is installed" in done.stderr
