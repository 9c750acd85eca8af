import pytest
from demo_res_hello import GREETING_VARIABLE
from demo_res_hello import HelloModule

from modloader.errors import UsageError
from modloader.module import LoadResult
from modloader.module import ReloadResult


@pytest.fixture
def hello(make_ctx, monkeypatch):
    monkeypatch.delenv(GREETING_VARIABLE, raising=False)
    module = HelloModule()
    ctx = make_ctx("res_hello")
    assert module.load(ctx) is LoadResult.SUCCESS
    return module, ctx


@pytest.mark.parametrize(
    ("line", "expected"),
    [("hello", "Hello, world!"), ("hello Ada", "Hello, Ada!")],
    ids=["no-name", "name"],
)
def test_hello_command_greets(hello, line, expected):
    _module, ctx = hello
    assert ctx.run(line) == expected


def test_hello_refuses_two_names(hello):
    _module, ctx = hello
    with pytest.raises(UsageError, match="at most one name"):
        ctx.run("hello Ada Grace")


def test_reload_reads_the_greeting_again(hello, monkeypatch):
    module, ctx = hello
    monkeypatch.setenv(GREETING_VARIABLE, "Good evening")
    assert module.reload(ctx) is ReloadResult.SUCCESS
    assert ctx.run("hello Ada") == "Good evening, Ada!"


def test_unload_accepts_and_leaves_nothing_behind(hello):
    module, ctx = hello
    assert module.unload(ctx) is True
    assert ctx.registrations == []
