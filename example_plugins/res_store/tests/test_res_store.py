import pytest
from demo_res_store import Store
from demo_res_store import store

from modloader.errors import UsageError
from modloader.module import LoadPriority


def test_the_entry_point_names_an_instance():
    assert isinstance(store, Store)
    assert store.load_priority == LoadPriority.REALTIME_DRIVER


def test_load_starts_empty_even_after_an_earlier_run(make_ctx):
    # An instance outlives a load: the second load must not see the first one's data.
    module = Store()
    module.load(make_ctx("res_store"))
    module.put("a", "1")
    module.unload(make_ctx("res_store"))
    ctx = make_ctx("res_store")
    module.load(ctx)
    assert module.keys() == []
    assert ctx.run("store show") == "0 keys"


def test_commands_show_and_get(make_ctx):
    module = Store()
    ctx = make_ctx("res_store")
    module.load(ctx)
    module.put("b", "2")
    module.put("a", "1")
    assert ctx.run("store show") == "a\nb\n2 keys"
    assert ctx.run("store get a") == "a = 1"
    assert ctx.run("store get zz") == "zz is not set"
    with pytest.raises(UsageError):
        ctx.run("store get")
