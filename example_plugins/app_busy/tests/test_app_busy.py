"""app_busy in a real host: refusing to unload while busy, holding res_store while working."""

import threading

import pytest
from demo_app_busy import TICKS_KEY
from demo_app_busy import BusyModule

from modloader.testing import check_lifecycle
from modloader.testing import module_object


class Store:
    """Stands in for res_store; ``ticked`` is set by the job's first write."""

    def __init__(self):
        self.data = {}
        self.ticked = threading.Event()

    def put(self, key, value):
        self.data[key] = value
        self.ticked.set()


@pytest.fixture
def store():
    return Store()


@pytest.fixture
def host(modloader_host, store):
    host = modloader_host({"app_busy": BusyModule, "res_store": store})
    yield host
    if host.is_running("app_busy"):
        module_object(host, "app_busy").stop()  # never leave a job running after a failure


def test_refuses_to_unload_while_a_job_runs_and_holds_res_store(host, store):
    assert host.run("busy start").output == "job started"
    assert store.ticked.wait(5)
    assert host.get_module("res_store")["holders"] == ["app_busy"]
    result = host.run("module unload app_busy")
    assert not result.ok
    assert result.output.splitlines()[0] == "Firm unload failed for app_busy"
    assert host.is_running("app_busy")
    result = host.run("module unload res_store")
    assert "Soft unload failed, 'res_store' has use count 1 (held by app_busy)" in result.output
    assert host.run("busy status").output.startswith("job running")
    assert host.run("busy stop").output.startswith("job stopped after")
    assert host.get_module("res_store")["use_count"] == 0
    assert store.data[TICKS_KEY] == str(module_object(host, "app_busy").ticks)
    check_lifecycle(host, "app_busy")


def test_a_timed_job_ends_by_itself_and_releases(host):
    assert host.run("busy start 0.1").output == "job started for 0.1 s"
    busy = module_object(host, "app_busy")
    busy._thread.join(5)
    assert not busy.busy
    assert host.get_module("res_store")["use_count"] == 0
    assert host.run("busy stop").output == "no job is running"


def test_one_job_at_a_time(host):
    host.run("busy start")
    result = host.run("busy start")
    assert not result.ok
    assert result.output.startswith("a job is already running")
    assert host.get_module("res_store")["use_count"] == 1


def test_start_fails_clearly_without_res_store(modloader_host):
    host = modloader_host({"app_busy": BusyModule})
    result = host.run("busy start")
    assert not result.ok
    assert result.output.splitlines() == [
        "cannot start the job: No such module 'res_store'",
        "Command 'busy start' failed.",
    ]
    assert not module_object(host, "app_busy").busy


def test_a_hard_unload_still_removes_its_commands(host):
    host.run("busy start")
    busy = module_object(host, "app_busy")
    assert host.run("module unload -h app_busy").ok
    assert not host.run("busy status").ok
    busy.stop()
    assert host.get_module("res_store")["use_count"] == 0


def test_loads_and_unloads_cleanly_when_idle(host):
    check_lifecycle(host, "app_busy")


def test_a_forced_unload_of_res_store_ends_the_job_cleanly(host, store, caplog):
    assert host.run("busy start").output == "job started"
    assert store.ticked.wait(5)
    assert host.run("module unload -f res_store").ok  # takes app_busy's reference with it
    job = module_object(host, "app_busy")._thread
    job.join(5)
    assert not job.is_alive()
    assert "job stopped after" in caplog.text
    assert "was unloaded while this reference was held" in caplog.text
