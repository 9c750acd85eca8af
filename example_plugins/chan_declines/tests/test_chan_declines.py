"""chan_declines in a real host: declining with a reason an operator can act on."""

import pytest
from demo_chan_declines import CONFIG_VARIABLE
from demo_chan_declines import DEFAULT_PATH
from demo_chan_declines import ChannelModule

from modloader.testing import check_lifecycle


@pytest.fixture
def start(modloader_host, monkeypatch):
    """``start(path)``: a host running chan_declines with its variable set to ``path``."""

    def factory(path):
        if path is None:
            monkeypatch.delenv(CONFIG_VARIABLE, raising=False)
        else:
            monkeypatch.setenv(CONFIG_VARIABLE, str(path))
        return modloader_host({"chan_declines": ChannelModule})

    return factory


def reason(host):
    row = host.get_module("chan_declines")
    assert row["status"] == "Not Running"
    return row["last_error"]


def test_declines_without_its_file_and_says_how_to_fix_it(start, tmp_path):
    missing = tmp_path / "nowhere.conf"
    host = start(missing)
    assert reason(host) == (
        f"chan_declines.conf not found at {missing}; "
        f"set {CONFIG_VARIABLE} to its path, or create it"
    )


@pytest.mark.skipif(DEFAULT_PATH.exists(), reason=f"{DEFAULT_PATH} exists on this machine")
def test_the_default_path_is_named_when_the_variable_is_unset(start):
    assert f"not found at {DEFAULT_PATH};" in reason(start(None))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("; only a comment\n", " defines no channel; add a line 'channel = NAME'"),
        ("channel = a\nchanel = b\n", ":2: expected 'channel = NAME', got 'chanel = b'"),
        ("channel =\n", ":1: expected 'channel = NAME', got 'channel ='"),
    ],
    ids=["empty", "misspelt", "no-value"],
)
def test_declines_a_bad_file_naming_the_line(start, tmp_path, text, expected):
    conf = tmp_path / "chan_declines.conf"
    conf.write_text(text)
    assert reason(start(conf)) == f"{conf}{expected}"


def test_declining_registers_nothing(start, tmp_path):
    host = start(tmp_path / "missing.conf")
    assert not host.run("channels show").ok
    help_text = host.run("core show help")
    assert help_text.ok
    assert "channels show" not in help_text.output


def test_module_load_works_once_the_file_exists(start, tmp_path):
    conf = tmp_path / "chan_declines.conf"
    host = start(conf)
    conf.write_text("channel = alice\n")
    result = host.run("module load chan_declines")
    assert result.ok, result.output
    assert host.run("channels show").output == "alice\n1 channels"


def test_runs_with_a_good_file_and_unloads_cleanly(start, tmp_path):
    conf = tmp_path / "chan_declines.conf"
    conf.write_text("channel = alice ; first\n\nCHANNEL=bob\n")
    host = start(conf)
    assert host.run("channels show").output == "alice\nbob\n2 channels"
    check_lifecycle(host, "chan_declines")
