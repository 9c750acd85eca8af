"""res_config_reload in a real host: reload applies new settings, or keeps the old ones."""

import pytest
from demo_res_config_reload import ConfigModule
from demo_res_config_reload import Settings
from demo_res_config_reload import module as entry_point_object

from modloader.testing import check_lifecycle
from modloader.testing import module_object


@pytest.fixture
def conf(tmp_path):
    return tmp_path / "res_config_reload.conf"


@pytest.fixture
def start(modloader_host, tmp_path):
    return lambda: modloader_host({"res_config_reload": ConfigModule()}, config_dir=tmp_path)


def settings(host):
    return module_object(host, "res_config_reload").settings


def test_the_entry_point_names_an_instance():
    assert isinstance(entry_point_object, ConfigModule)


def test_a_missing_file_means_the_defaults(conf, start):
    assert settings(start()) == Settings()


def test_module_reload_picks_up_a_changed_file(conf, start):
    conf.write_text("[general]\ngreeting = Good morning\ninterval = 30\n")
    host = start()
    assert settings(host) == Settings(greeting="Good morning", interval=30)
    conf.write_text("; changed\n[general]\nGreeting = Good night\n")
    result = host.run("module reload res_config_reload")
    assert (result.ok, result.output) == (True, "Module 'res_config_reload' reloaded successfully.")
    assert settings(host) == Settings(greeting="Good night", interval=60)
    assert host.run("settings show").output == "greeting: Good night\ninterval: 60"


def test_an_unchanged_file_does_not_disturb_it(conf, start):
    conf.write_text("[general]\ninterval = 30\n")
    host = start()
    result = host.run("module reload res_config_reload")
    assert result.output == "Module 'res_config_reload' settings unchanged; not reloaded."
    assert module_object(host, "res_config_reload").reloads == 0


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[general]\ncolour = red\n", ":2: Unknown key 'colour' in [general]"),
        ("[general]\ninterval = soon\n", ":2: 'interval': Input should be a valid integer"),
        ("[general]\ninterval = 0\n", ":2: 'interval': Input should be greater than or equal to 1"),
    ],
    ids=["unknown", "nan", "zero"],
)
def test_a_bad_file_fails_the_reload_and_keeps_the_settings(conf, start, text, error):
    conf.write_text("[general]\ngreeting = Hi\n")
    host = start()
    conf.write_text(text)
    result = host.run("module reload res_config_reload")
    assert not result.ok
    assert "its new settings are invalid (the previous ones stay in force)" in result.output
    assert f"  {conf}{error}" in result.output
    assert host.is_running("res_config_reload")
    assert settings(host) == Settings(greeting="Hi")
    assert module_object(host, "res_config_reload").reloads == 0


def test_a_bad_file_at_load_declines_naming_file_and_line(conf, start):
    conf.write_text("[general]\ngreeting = Hi\ncolour = red\n")
    row = start().get_module("res_config_reload")
    assert row["status"] == "Not Running"
    assert row["last_error"] == f"invalid settings: {conf}:3: Unknown key 'colour' in [general]"


def test_loads_reloads_and_unloads_cleanly(conf, start):
    assert check_lifecycle(start(), "res_config_reload").reloaded is True
