import pytest
from demo_chan_declines import CONFIG_VARIABLE
from demo_chan_declines import DEFAULT_PATH
from demo_chan_declines import ChannelModule

from modloader.module import ModuleDeclined


def load_with(make_ctx, monkeypatch, path):
    if path is None:
        monkeypatch.delenv(CONFIG_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(CONFIG_VARIABLE, str(path))
    module, ctx = ChannelModule(), make_ctx("chan_declines")
    module.load(ctx)
    return module, ctx


def test_declines_without_its_file_and_says_how_to_fix_it(make_ctx, monkeypatch, tmp_path):
    missing = tmp_path / "nowhere.conf"
    with pytest.raises(ModuleDeclined) as info:
        load_with(make_ctx, monkeypatch, missing)
    assert info.value.reason == (
        f"chan_declines.conf not found at {missing}; "
        f"set {CONFIG_VARIABLE} to its path, or create it"
    )


@pytest.mark.skipif(DEFAULT_PATH.exists(), reason=f"{DEFAULT_PATH} exists on this machine")
def test_the_default_path_is_named_when_the_variable_is_unset(make_ctx, monkeypatch):
    with pytest.raises(ModuleDeclined, match=f"not found at {DEFAULT_PATH};"):
        load_with(make_ctx, monkeypatch, None)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("; only a comment\n", "defines no channel; add a line 'channel = NAME'"),
        ("channel = a\nchanel = b\n", ":2: expected 'channel = NAME', got 'chanel = b'"),
        ("channel =\n", ":1: expected 'channel = NAME'"),
    ],
    ids=["empty", "misspelt", "no-value"],
)
def test_declines_a_bad_file_naming_the_line(make_ctx, monkeypatch, tmp_path, text, reason):
    conf = tmp_path / "chan_declines.conf"
    conf.write_text(text)
    with pytest.raises(ModuleDeclined) as info:
        load_with(make_ctx, monkeypatch, conf)
    assert info.value.reason.startswith(str(conf))
    assert reason in info.value.reason


def test_declining_registers_nothing(make_ctx, monkeypatch, tmp_path):
    monkeypatch.setenv(CONFIG_VARIABLE, str(tmp_path / "missing.conf"))
    ctx = make_ctx("chan_declines")
    with pytest.raises(ModuleDeclined):
        ChannelModule().load(ctx)
    assert ctx.commands == {}


def test_runs_with_a_good_file(make_ctx, monkeypatch, tmp_path):
    conf = tmp_path / "chan_declines.conf"
    conf.write_text("channel = alice ; first\n\nCHANNEL=bob\n")
    module, ctx = load_with(make_ctx, monkeypatch, conf)
    assert module.channels == ["alice", "bob"]
    assert ctx.run("channels show") == "alice\nbob\n2 channels"
