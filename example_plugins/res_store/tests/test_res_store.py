"""res_store in a real host: an instance as the entry point, holders named on unload."""

from pathlib import Path

import pytest
from demo_res_store import Store
from demo_res_store import store

from modloader.module import LoadPriority
from modloader.testing import check_lifecycle
from modloader.testing import module_object

PROJECT = Path(__file__).resolve().parents[1]


class Reader:
    """A stand-in for a module that requires res_store (as app_echo does)."""

    requires = ("res_store",)


@pytest.fixture
def host(modloader_host):
    return modloader_host({"res_store": Store()})


def test_the_entry_point_names_an_instance_loaded_early():
    assert isinstance(store, Store)
    assert store.load_priority == LoadPriority.REALTIME_DRIVER


def test_commands_show_and_get(host):
    module = module_object(host, "res_store")
    module.put("b", "2")
    module.put("a", "1")
    assert host.run("store show").output == "a\nb\n2 keys"
    assert host.run("store get a").output == "a = 1"
    assert host.run("store get zz").output == "zz is not set"
    result = host.run("store get")
    assert not result.ok
    assert result.output.startswith("store get takes exactly one key")


def test_a_second_load_of_the_same_instance_starts_empty(modloader_host):
    # The instance outlives an unload: load() must not see the first run's data.
    instance = Store()
    host = modloader_host({"res_store": instance})
    instance.put("a", "1")
    assert host.run("module unload res_store").ok
    assert host.run("module load res_store").ok
    assert module_object(host, "res_store") is instance
    assert host.run("store show").output == "0 keys"


def test_unload_is_refused_while_a_module_requires_it(modloader_host):
    host = modloader_host({"res_store": Store(), "app_reader": Reader})
    assert host.get_module("res_store")["holders"] == ["app_reader"]
    result = host.run("module unload res_store")
    assert not result.ok
    assert "Soft unload failed, 'res_store' has use count 1 (held by app_reader)" in result.output
    assert host.run("module unload app_reader").ok
    check_lifecycle(host, "res_store")


def test_loads_and_unloads_cleanly(host):
    assert check_lifecycle(host, "res_store").reloaded is None  # it has no reload()
    assert not host.run("store show").ok


def test_the_published_entry_point_starts_it(fake_distributions, modloader_host):
    fake_distributions.add_project(PROJECT)
    host = modloader_host(namespace="modloader.demo", load=["res_store"], autoload=False)
    assert host.get_module("res_store")["load_priority"] == LoadPriority.REALTIME_DRIVER
    assert host.run("store show").output == "0 keys"


def test_it_implements_the_demo_hosts_status_hook(fake_distributions, modloader_host):
    from modloader.demo import DemoSpecs

    fake_distributions.add_project(PROJECT)
    host = modloader_host(
        namespace="modloader.demo", load=["res_store"], autoload=False, hookspecs=[DemoSpecs]
    )
    assert host.run("demo status").output == "res_store: 0 keys stored"
