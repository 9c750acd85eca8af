"""Code unload and upgrade: after removal the distribution's code is dropped and re-imported."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from modloader import StaleHandleError
from modloader.pytest_plugin import FakeSite

VERSIONED = """
from upgradable.helpers import GREETING

class Greeter:
    def load(self, ctx):
        ctx.register_command("greet", lambda args: GREETING)

    def greet(self):
        return GREETING
"""


def install(site: FakeSite, version: str, greeting: str) -> None:
    site.add(
        "upgradable",
        version,
        entry_points={"upgrade.test": {"res_greeter": "upgradable.module:Greeter"}},
        files={
            "upgradable/__init__.py": "",
            "upgradable/module.py": VERSIONED,
            "upgradable/helpers.py": f"GREETING = {greeting!r}\n",
        },
        summary=f"Greeter {version}",
    )


@pytest.fixture
def site(fake_distributions: FakeSite) -> FakeSite:
    install(fake_distributions, "1.0", "hello from 1.0")
    fake_distributions.add(
        "bystander",
        "1.0",
        entry_points={"upgrade.test": {"res_bystander": "bystander:Mod"}},
        files={"bystander.py": "class Mod:\n    pass\n"},
    )
    return fake_distributions


def test_refresh_after_upgrade_runs_the_new_code(site: FakeSite, modloader_host: Any) -> None:
    host = modloader_host(namespace="upgrade.test")
    assert host.run("greet").output == "hello from 1.0"
    old = host.use("res_greeter", holder="test")
    assert old.obj.greet() == "hello from 1.0"
    old.release()

    install(site, "2.0", "hello from 2.0")  # as pip does: old files out, new files in
    result = host.run("module refresh res_greeter")
    assert result.output == "Unloaded and loaded res_greeter"
    assert host.run("greet").output == "hello from 2.0"
    with host.use("res_greeter") as new:
        assert new.obj.greet() == "hello from 2.0"
    assert host.get_module("res_greeter")["version"] == "2.0"
    # Only the upgraded distribution's modules were dropped and re-imported.
    assert "bystander" in sys.modules


def test_forced_unload_leaves_held_handles_stale(site: FakeSite, modloader_host: Any) -> None:
    host = modloader_host(namespace="upgrade.test")
    handle = host.use("res_greeter", holder="long-job")
    assert host.run("module unload -f res_greeter").ok
    assert "upgradable.module" not in sys.modules
    with pytest.raises(StaleHandleError):
        handle.obj.greet()
    assert host.run("module load res_greeter").ok
    with pytest.raises(StaleHandleError):  # a new load does not revive an old handle
        handle.obj.greet()


def test_shared_code_is_kept_while_another_module_uses_it(
    fake_distributions: FakeSite, modloader_host: Any
) -> None:
    fake_distributions.add(
        "twins",
        "1.0",
        entry_points={"upgrade.test": {"res_twin_a": "twins:A", "res_twin_b": "twins:B"}},
        files={"twins.py": "class A:\n    pass\nclass B:\n    pass\n"},
    )
    host = modloader_host(namespace="upgrade.test")
    assert host.run("module unload res_twin_a").ok
    assert "twins" in sys.modules  # res_twin_b still runs from it
    assert host.run("module unload res_twin_b").ok
    assert "twins" not in sys.modules


def test_startup_objects_are_frozen_until_a_module_s_code_is_dropped(
    site: FakeSite, modloader_host: Any
) -> None:
    import gc

    gc.unfreeze()
    host = modloader_host(namespace="upgrade.test")
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0  # startup's objects: full collections skip them
    assert host.run("module unload res_greeter").ok
    assert "upgradable.module" not in sys.modules
    assert gc.get_freeze_count() == 0  # the dropped code's garbage can be collected


def test_a_declined_module_does_not_keep_the_code_of_its_distribution(
    fake_distributions: FakeSite, modloader_host: Any
) -> None:
    twins = (
        "VERSION = {version!r}\n"
        "class A:\n"
        "    def load(self, ctx):\n"
        "        ctx.register_command('twin version', lambda args: VERSION)\n"
        "class B:\n"
        "    def load(self, ctx):\n"
        "        raise RuntimeError('B declines')\n"
    )

    def install_twins(version: str) -> None:
        fake_distributions.add(
            "twins",
            version,
            entry_points={"upgrade.test": {"res_twin_a": "twins:A", "res_twin_b": "twins:B"}},
            files={"twins.py": twins.format(version=version)},
        )

    install_twins("1.0")
    host = modloader_host(namespace="upgrade.test")
    assert host.get_module("res_twin_b")["state"] == "declined"
    assert host.run("twin version").output == "1.0"
    install_twins("2.0")
    assert host.run("module refresh res_twin_a").output == "Unloaded and loaded res_twin_a"
    assert host.run("twin version").output == "2.0"  # not the old code under the new version
    assert host.get_module("res_twin_a")["version"] == "2.0"
    assert host.run("module unload res_twin_a").ok
    assert "twins" not in sys.modules
