import demo_res_metrics
import pytest

from modloader.errors import UsageError


def test_the_entry_point_is_a_python_module_with_hooks():
    assert callable(demo_res_metrics.load)
    assert callable(demo_res_metrics.unload)
    assert not hasattr(demo_res_metrics, "reload")


def test_counts_and_shows(make_ctx):
    ctx = make_ctx("res_metrics")
    demo_res_metrics.load(ctx)
    demo_res_metrics.count("b")
    demo_res_metrics.count("a", 3)
    demo_res_metrics.count("b")
    assert demo_res_metrics.get("a") == 3
    assert demo_res_metrics.get("never") == 0
    lines = ctx.run("metrics show").splitlines()
    assert [line.split() for line in lines] == [["a", "3"], ["b", "2"], ["2", "counters"]]
    with pytest.raises(UsageError):
        ctx.run("metrics show all")


def test_load_resets_the_counters(make_ctx):
    demo_res_metrics.load(make_ctx("res_metrics"))
    demo_res_metrics.count("a")
    demo_res_metrics.unload(make_ctx("res_metrics"))
    demo_res_metrics.load(make_ctx("res_metrics"))
    assert demo_res_metrics.get("a") == 0
