"""app_echo in a real host: a required and an optional dependency, short-lived references."""

import pytest
from demo_app_echo import LAST_KEY
from demo_app_echo import EchoModule

from modloader.module import ModuleDeclined
from modloader.testing import check_lifecycle
from modloader.testing import module_object


class Store:
    """Stands in for res_store: what app_echo calls on it."""

    def __init__(self):
        self.data = {}

    def put(self, key, value):
        self.data[key] = value


class Metrics:
    """Stands in for res_metrics."""

    def __init__(self):
        self.counts = {}

    def count(self, name, amount=1):
        self.counts[name] = self.counts.get(name, 0) + amount


@pytest.fixture
def host(modloader_host):
    return modloader_host({"app_echo": EchoModule, "res_store": Store()})


def test_declares_its_dependencies():
    assert tuple(EchoModule.requires) == ("res_store",)
    assert tuple(EchoModule.optional_modules) == ("res_metrics",)


def test_echo_stores_the_line_and_releases_its_reference(host):
    assert host.run("echo hello  there").output == "hello there"
    assert module_object(host, "res_store").data[LAST_KEY] == "hello there"
    # Only the loader's own reference (from `requires`) is left.
    assert host.get_module("res_store")["holders"] == ["app_echo"]


def test_echo_counts_into_res_metrics_when_it_runs(modloader_host):
    metrics = Metrics()
    host = modloader_host({"app_echo": EchoModule, "res_store": Store(), "res_metrics": metrics})
    host.run("echo a")
    host.run("echo b")
    assert metrics.counts == {"app_echo.lines": 2}
    # The optional dependency started first and is held while app_echo runs.
    assert host.get_module("res_metrics")["holders"] == ["app_echo"]


class DecliningMetrics(Metrics):
    def load(self, ctx):
        raise ModuleDeclined("no metrics today")


def test_runs_and_echoes_when_res_metrics_declines(modloader_host):
    metrics = DecliningMetrics()
    host = modloader_host({"app_echo": EchoModule, "res_store": Store(), "res_metrics": metrics})
    assert host.get_module("res_metrics")["last_error"] == "no metrics today"
    assert host.run("echo still here").output == "still here"
    assert metrics.counts == {}


def test_without_res_store_it_declines_naming_it(modloader_host):
    host = modloader_host({"app_echo": EchoModule})
    row = host.get_module("app_echo")
    assert row["status"] == "Not Running"
    assert row["last_error"] == (
        "Failed to resolve dependencies for app_echo: 'res_store' is not installed"
    )
    assert not host.run("echo hi").ok


def test_listeners_hear_each_line_until_removed(host):
    heard = []
    remove = module_object(host, "app_echo").add_listener(heard.append)
    host.run("echo one")
    remove()
    host.run("echo two")
    assert heard == ["one"]


def test_echo_needs_words(host):
    result = host.run("echo")
    assert not result.ok
    lines = result.output.splitlines()
    assert lines[:2] == ["echo needs at least one word", "Usage: echo WORDS..."]


def test_loads_and_unloads_cleanly_releasing_res_store(host):
    check_lifecycle(host, "app_echo")
    assert host.get_module("res_store")["use_count"] == 0


def test_with_the_real_res_store_and_res_metrics(modloader_host):
    res_store = pytest.importorskip("demo_res_store", reason="modloader-demo-res-store")
    res_metrics = pytest.importorskip("demo_res_metrics", reason="modloader-demo-res-metrics")
    host = modloader_host(
        {"app_echo": EchoModule, "res_store": res_store.Store(), "res_metrics": res_metrics}
    )
    host.run("echo one two")
    assert host.run(f"store get {LAST_KEY}").output == f"{LAST_KEY} = one two"
    assert res_metrics.get("app_echo.lines") == 1
    check_lifecycle(host, "app_echo")
