"""chan_declines in a real host: declining with a reason an operator can act on."""

import pytest
from demo_chan_declines import ChannelModule

from modloader.testing import check_lifecycle


@pytest.fixture
def start(modloader_host, tmp_path):
    """``start()``: a host running chan_declines with its settings files in ``tmp_path``."""
    return lambda: modloader_host({"chan_declines": ChannelModule}, config_dir=tmp_path)


@pytest.fixture
def conf(tmp_path):
    return tmp_path / "chan_declines.conf"


def reason(host):
    row = host.get_module("chan_declines")
    assert row["status"] == "Not Running"
    return row["last_error"]


def test_declines_without_its_file_and_names_it(start, conf):
    assert reason(start()) == (
        f"invalid settings: {conf}: 'channel' is required: "
        "set it in [general] of this file or MODLOADER_CHAN_DECLINES__CHANNEL"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("; only a comment\n", ": 'channel' is required"),
        (
            "[general]\nchannel = a\nchanel = b\n",
            ":3: Unknown key 'chanel' in [general] (did you mean 'channel'?)",
        ),
        (
            "[general]\nchannel\n",
            ":2: Expected 'key = value' or 'key => value' (the line is not shown)",
        ),
    ],
    ids=["empty", "misspelt", "no-value"],
)
def test_declines_a_bad_file_naming_the_line(start, conf, text, expected):
    conf.write_text(text)
    assert reason(start()).startswith(f"invalid settings: {conf}{expected}")


def test_declines_in_load_when_every_channel_is_offline(start, conf):
    conf.write_text("[general]\nchannel = a\noffline = a\n")
    assert reason(start()) == (
        "every channel in chan_declines.conf is offline; remove an 'offline' line to start one"
    )


def test_declining_registers_nothing(start):
    host = start()
    assert not host.run("channels show").ok
    help_text = host.run("core show help")
    assert help_text.ok
    assert "channels show" not in help_text.output


def test_module_load_works_once_the_file_exists(start, conf):
    host = start()
    conf.write_text("[general]\nchannel = alice\n")
    result = host.run("module load chan_declines")
    assert result.ok, result.output
    assert host.run("channels show").output == "alice\n1 channels"


def test_runs_with_a_good_file_and_unloads_cleanly(start, conf):
    conf.write_text("[general]\nchannel = alice ; first\n\nCHANNEL=bob\n")
    host = start()
    assert host.run("channels show").output == "alice\nbob\n2 channels"
    check_lifecycle(host, "chan_declines")
