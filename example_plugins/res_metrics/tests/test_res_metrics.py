"""res_metrics in a real host: a Python module as the entry point."""

import sys
from pathlib import Path

import demo_res_metrics
import pytest

from modloader.testing import check_lifecycle
from modloader.testing import module_object

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture
def host(modloader_host):
    return modloader_host({"res_metrics": demo_res_metrics})


def test_the_entry_point_is_a_python_module_with_hooks():
    assert callable(demo_res_metrics.load)
    assert callable(demo_res_metrics.unload)
    assert not hasattr(demo_res_metrics, "reload")


def test_counts_and_shows(host):
    metrics = module_object(host, "res_metrics")
    assert metrics is demo_res_metrics
    metrics.count("b")
    metrics.count("a", 3)
    metrics.count("b")
    assert metrics.get("a") == 3
    assert metrics.get("never") == 0
    lines = host.run("metrics show").output.splitlines()
    assert [line.split() for line in lines] == [["a", "3"], ["b", "2"], ["2", "counters"]]
    assert not host.run("metrics show all").ok


def test_module_reload_is_not_supported(host):
    result = host.run("module reload res_metrics")
    assert not result.ok
    assert "The module 'res_metrics' does not support reloads" in result.output


def test_load_resets_the_counters(host):
    demo_res_metrics.count("a")
    assert host.run("module unload res_metrics").ok
    assert host.run("module load res_metrics").ok
    assert demo_res_metrics.get("a") == 0


def test_unload_drops_the_code_and_load_imports_it_afresh(fake_distributions, modloader_host):
    fake_distributions.add_project(PROJECT)
    host = modloader_host(namespace="modloader.demo", load=["res_metrics"], autoload=False)
    first = module_object(host, "res_metrics")
    first.count("a")
    report = check_lifecycle(host, "res_metrics")
    assert report.reloaded is None
    assert "demo_res_metrics" not in sys.modules
    assert host.run("module load res_metrics").ok
    second = module_object(host, "res_metrics")
    assert second is not first
    assert second.get("a") == 0
