"""res_config_reload in a real host: reload re-reads its file, or keeps the old settings."""

import logging

import pytest
from demo_res_config_reload import CONFIG_VARIABLE
from demo_res_config_reload import ConfigModule
from demo_res_config_reload import Settings
from demo_res_config_reload import module as entry_point_object

from modloader.testing import check_lifecycle
from modloader.testing import module_object


@pytest.fixture
def conf(tmp_path, monkeypatch):
    path = tmp_path / "res_config_reload.conf"
    monkeypatch.setenv(CONFIG_VARIABLE, str(path))
    return path


@pytest.fixture
def start(modloader_host):
    return lambda: modloader_host({"res_config_reload": ConfigModule()})


def settings(host):
    return module_object(host, "res_config_reload").settings


def test_the_entry_point_names_an_instance():
    assert isinstance(entry_point_object, ConfigModule)


def test_a_missing_file_means_the_defaults(conf, start):
    assert settings(start()) == Settings()


def test_module_reload_picks_up_a_changed_file(conf, start):
    conf.write_text("greeting = Good morning\ninterval = 30\n")
    host = start()
    assert settings(host) == Settings("Good morning", 30)
    conf.write_text("; changed\nGreeting = Good night\n")
    result = host.run("module reload res_config_reload")
    assert (result.ok, result.output) == (True, "Module 'res_config_reload' reloaded successfully.")
    assert settings(host) == Settings("Good night", 60)
    assert host.run("settings show").output == f"file: {conf}\ngreeting: Good night\ninterval: 60"


@pytest.mark.parametrize(
    "text",
    ["colour = red\n", "interval = soon\n", "interval = 0\n"],
    ids=["unknown", "nan", "zero"],
)
def test_a_bad_file_fails_the_reload_and_keeps_the_settings(conf, start, caplog, text):
    conf.write_text("greeting = Hi\n")
    host = start()
    conf.write_text(text)
    with caplog.at_level(logging.ERROR, logger="modloader.module.res_config_reload"):
        result = host.run("module reload res_config_reload")
    assert not result.ok
    assert "The module 'res_config_reload' reported a reload failure" in result.output
    assert host.is_running("res_config_reload")
    assert settings(host) == Settings("Hi", 60)
    assert str(conf) in caplog.text


def test_a_bad_file_at_load_declines_naming_file_and_line(conf, start):
    conf.write_text("greeting = Hi\ncolour = red\n")
    row = start().get_module("res_config_reload")
    assert row["status"] == "Not Running"
    assert row["last_error"] == f"{conf}:2: unknown setting 'colour = red'"


def test_loads_reloads_and_unloads_cleanly(conf, start):
    assert check_lifecycle(start(), "res_config_reload").reloaded is True
