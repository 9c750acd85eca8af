"""pydantic enters through modloader._pydantic, whatever else is installed.

A damaged distribution anywhere on the path (an ``entry_points.txt`` that is
not UTF-8, or has a line without ``=``) made importlib.metadata raise inside
pydantic's search for its plugins, and so every command whose configuration
was not cached ended in a traceback.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from modloader._pydantic import damaged_distributions
from modloader.testing import make_distribution
from tests._apps import modloader_command
from tests._dists import run_python

NAMESPACE = "itest.pydantic"

_PLUGIN = """\
from modloader import Module, ModuleSettings


class Settings(ModuleSettings):
    greeting: str = "hello"


class Greeter(Module):
    description = "greets"
    settings_model = Settings

    def load(self, ctx):
        print("greeting:", ctx.settings.greeting)
"""

#: What a damaged entry_points.txt holds, and what importlib.metadata raises on it.
_DAMAGE = {
    "no-equals": (b"[console_scripts]\nbroken tool:main\n", "TypeError"),
    "not-utf8": (b"\xff\xfe[console_scripts]\nbroken = tool:main\n", "UnicodeDecodeError"),
}


def _damage(site: Path, how: str) -> Path:
    folder = make_distribution(site, "broken", "1.0", entry_points={"console_scripts": {}})
    (folder / "entry_points.txt").write_bytes(_DAMAGE[how][0])
    return folder


@pytest.mark.parametrize("how", list(_DAMAGE))
def test_a_damaged_distribution_is_named_and_the_host_starts(tmp_path: Path, how: str) -> None:
    site = tmp_path / "site"
    make_distribution(
        site,
        "greeter",
        entry_points={NAMESPACE: {"res_greeter": "greeter:Greeter"}},
        files={"greeter.py": _PLUGIN},
    )
    folder = _damage(site, how)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": f"{site}:{Path(__file__).parents[1] / 'framework'}",
        "MODLOADER_NO_CACHE": "1",  # the configuration is validated: pydantic is imported
    }
    proc = subprocess.run(
        [*modloader_command(), "-n", NAMESPACE, "-x", "module show"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "greeting: hello" in proc.stdout
    assert "1 modules loaded" in proc.stdout
    assert (
        "pydantic runs without its plugins: importlib.metadata cannot read the entry points "
        f"of {folder} ({_DAMAGE[how][1]}: "
    ) in proc.stderr
    assert "; reinstall or remove it\n" in proc.stderr


def test_damaged_distributions_names_each_folder_and_what_it_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    make_distribution(site, "fine", entry_points={"console_scripts": {"fine": "fine:main"}})
    folders = [_damage(site / how, how) for how in _DAMAGE]
    monkeypatch.setattr(sys, "path", [str(site), *(str(site / how) for how in _DAMAGE)])
    found = damaged_distributions()
    assert len(found) == 2
    for folder, (how, (_, error)) in zip(folders, _DAMAGE.items(), strict=True):
        assert any(line.startswith(f"{folder} ({error}: ") for line in found), (how, found)


_FAKE_PYDANTIC_SETTINGS = "raise TypeError('pydantic_settings is broken')\n"


@pytest.mark.parametrize("damaged", [True, False])
def test_a_pydantic_that_cannot_be_imported_is_not_hidden(tmp_path: Path, damaged: bool) -> None:
    """Not the metadata's doing (nothing damaged): pydantic's own error, as it is.
    Still failing once retried: a DiscoveryError naming the damaged distribution."""
    site = tmp_path / "site"
    (site / "pydantic_settings").mkdir(parents=True)
    (site / "pydantic_settings" / "__init__.py").write_text(_FAKE_PYDANTIC_SETTINGS)
    if damaged:
        _damage(site, "no-equals")
    proc = run_python(
        "import modloader._pydantic",
        path_entries=[site, Path(__file__).parents[1] / "framework"],
    )
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    if damaged:
        assert last.startswith(
            "modloader.errors.DiscoveryError: pydantic cannot be imported while a damaged "
            f"distribution is installed: {site / 'broken-1.0.dist-info'} (TypeError: "
        )
    else:
        assert last == "TypeError: pydantic_settings is broken"
