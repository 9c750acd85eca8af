"""res_metrics_echo in a real host: an enhancer, and an undo handed to the loader."""

import pytest
from demo_res_metrics_echo import MetricsEchoModule

from modloader.testing import check_lifecycle


class Echo:
    """Stands in for app_echo: listeners hear each line."""

    def __init__(self):
        self.listeners = []

    def add_listener(self, listener):
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    def say(self, line):
        for listener in list(self.listeners):
            listener(line)


class Metrics:
    """Stands in for res_metrics."""

    def __init__(self):
        self.counts = {}

    def count(self, name, amount=1):
        self.counts[name] = self.counts.get(name, 0) + amount


@pytest.fixture
def parts():
    return Echo(), Metrics()


@pytest.fixture
def host(modloader_host, parts):
    echo, metrics = parts
    return modloader_host(
        {"res_metrics_echo": MetricsEchoModule, "app_echo": echo, "res_metrics": metrics}
    )


def test_declares_what_it_enhances_and_requires():
    assert tuple(MetricsEchoModule.enhances) == ("app_echo",)
    assert tuple(MetricsEchoModule.requires) == ("res_metrics",)


def test_counts_the_words_of_each_echo(host, parts):
    echo, metrics = parts
    echo.say("one two three")
    echo.say("four")
    assert metrics.counts == {"app_echo.words": 4}
    # Only the loader's references, from `requires` and `enhances`; none taken per echo.
    assert host.get_module("res_metrics")["holders"] == ["res_metrics_echo"]
    assert host.get_module("app_echo")["holders"] == ["res_metrics_echo"]


def test_the_listener_goes_away_with_the_module(host, parts):
    echo, _metrics = parts
    assert len(echo.listeners) == 1
    check_lifecycle(host, "res_metrics_echo")  # checks its registration was removed
    assert echo.listeners == []


def test_even_a_hard_unload_removes_the_listener(host, parts):
    echo, _metrics = parts
    assert host.run("module unload -h res_metrics_echo").ok
    assert echo.listeners == []


def test_it_does_not_start_without_app_echo(modloader_host):
    host = modloader_host({"res_metrics_echo": MetricsEchoModule, "res_metrics": Metrics()})
    row = host.get_module("res_metrics_echo")
    assert row["status"] == "Not Running"
    assert "'app_echo' is not installed" in row["last_error"]


def test_with_the_real_app_echo_res_store_and_res_metrics(modloader_host):
    app_echo = pytest.importorskip("demo_app_echo", reason="modloader-demo-app-echo")
    res_store = pytest.importorskip("demo_res_store", reason="modloader-demo-res-store")
    res_metrics = pytest.importorskip("demo_res_metrics", reason="modloader-demo-res-metrics")
    host = modloader_host(
        {
            "res_metrics_echo": MetricsEchoModule,
            "app_echo": app_echo.EchoModule,
            "res_store": res_store.Store(),
            "res_metrics": res_metrics,
        }
    )
    assert host.run("echo one two three").ok
    assert res_metrics.get("app_echo.words") == 3
    assert res_metrics.get("app_echo.lines") == 1
    check_lifecycle(host, "res_metrics_echo")
    assert host.run("echo four").ok
    assert res_metrics.get("app_echo.words") == 3
