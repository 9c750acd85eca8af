import types

import pytest
from demo_app_echo import LAST_KEY
from demo_app_echo import EchoModule

from modloader.errors import UsageError


class FakeStore:
    def __init__(self):
        self.data = {}

    def put(self, key, value):
        self.data[key] = value


def fake_metrics():
    counts = {}
    return types.SimpleNamespace(
        counts=counts, count=lambda name, n=1: counts.__setitem__(name, counts.get(name, 0) + n)
    )


def test_declares_its_dependencies():
    assert tuple(EchoModule.requires) == ("res_store",)
    assert tuple(EchoModule.optional_modules) == ("res_metrics",)


def test_echo_stores_the_line_and_releases_its_reference(make_ctx):
    store = FakeStore()
    ctx = make_ctx("app_echo", running={"res_store": store})
    module = EchoModule()
    module.load(ctx)
    assert ctx.run("echo hello  there") == "hello there"
    assert store.data[LAST_KEY] == "hello there"
    assert ctx.use_counts["res_store"] == 0


def test_echo_counts_into_res_metrics_when_it_runs(make_ctx):
    metrics = fake_metrics()
    ctx = make_ctx("app_echo", running={"res_store": FakeStore(), "res_metrics": metrics})
    EchoModule().load(ctx)
    ctx.run("echo a")
    ctx.run("echo b")
    assert metrics.counts == {"app_echo.lines": 2}
    assert ctx.use_counts["res_metrics"] == 0


def test_listeners_hear_each_line_until_removed(make_ctx):
    ctx = make_ctx("app_echo", running={"res_store": FakeStore()})
    module = EchoModule()
    module.load(ctx)
    heard = []
    remove = module.add_listener(heard.append)
    ctx.run("echo one")
    remove()
    ctx.run("echo two")
    assert heard == ["one"]


def test_echo_needs_words(make_ctx):
    ctx = make_ctx("app_echo", running={"res_store": FakeStore()})
    EchoModule().load(ctx)
    with pytest.raises(UsageError):
        ctx.run("echo")
