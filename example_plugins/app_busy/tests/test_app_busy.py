import threading

import pytest
from demo_app_busy import TICKS_KEY
from demo_app_busy import BusyModule

from modloader.errors import CommandError


class FakeStore:
    def __init__(self):
        self.data = {}
        self.ticked = threading.Event()

    def put(self, key, value):
        self.data[key] = value
        self.ticked.set()


@pytest.fixture
def busy(make_ctx):
    store = FakeStore()
    module, ctx = BusyModule(), make_ctx("app_busy", running={"res_store": store})
    module.load(ctx)
    yield module, ctx, store
    module.stop()


def test_refuses_to_unload_while_a_job_runs_and_holds_res_store(busy):
    module, ctx, store = busy
    assert ctx.run("busy start") == "job started"
    assert store.ticked.wait(5)
    assert ctx.use_counts["res_store"] == 1
    assert module.unload(ctx) is False
    assert ctx.run("busy status").startswith("job running")
    assert ctx.run("busy stop").startswith("job stopped after")
    assert ctx.use_counts["res_store"] == 0
    assert store.data[TICKS_KEY] == str(module.ticks)
    assert module.unload(ctx) is True


def test_a_timed_job_ends_by_itself_and_releases(busy):
    module, ctx, _store = busy
    assert ctx.run("busy start 0.1") == "job started for 0.1 s"
    module._thread.join(5)
    assert not module.busy
    assert ctx.use_counts["res_store"] == 0
    assert ctx.run("busy stop") == "no job is running"


def test_one_job_at_a_time(busy):
    _module, ctx, _store = busy
    ctx.run("busy start")
    with pytest.raises(CommandError, match="already running"):
        ctx.run("busy start")
    assert ctx.use_counts["res_store"] == 1


def test_start_fails_clearly_without_res_store(make_ctx):
    module, ctx = BusyModule(), make_ctx("app_busy")
    module.load(ctx)
    expected = "cannot start the job: Module 'res_store' is not running"
    with pytest.raises(CommandError, match=expected):
        ctx.run("busy start")
    assert not module.busy
