"""res_hello in a real host (the testing kit), its commands run as an operator types them."""

from pathlib import Path

import pytest
from demo_res_hello import HelloModule
from demo_res_hello import HelloSettings

from modloader.testing import check_lifecycle
from modloader.testing import module_object

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture
def host(modloader_host, tmp_path):
    # The settings files live in tmp_path: res_hello.conf is not there yet (the defaults).
    return modloader_host({"res_hello": HelloModule}, config_dir=tmp_path)


@pytest.mark.parametrize(
    ("line", "expected"),
    [("hello", "Hello, world!"), ("hello Ada", "Hello, Ada!")],
    ids=["no-name", "name"],
)
def test_hello_command_greets(host, line, expected):
    result = host.run(line)
    assert (result.ok, result.output) == (True, expected)


def test_hello_refuses_two_names_and_shows_the_usage(host):
    result = host.run("hello Ada Grace")
    assert not result.ok
    assert result.output.splitlines()[:2] == ["hello takes at most one name", "Usage: hello [NAME]"]


def test_module_reload_reads_the_greeting_again(host, tmp_path):
    assert host.run("hello Ada").output == "Hello, Ada!"
    (tmp_path / "res_hello.conf").write_text("[general]\ngreeting = Good evening\n")
    result = host.run("module reload res_hello")
    assert result.ok, result.output
    assert result.output == "Module 'res_hello' reloaded successfully."
    assert host.run("hello Ada").output == "Good evening, Ada!"


def test_the_greeting_from_code_the_environment_or_the_file(modloader_host, monkeypatch):
    host = modloader_host(
        {"res_hello": HelloModule}, module_settings={"res_hello": {"greeting": "Hi"}}
    )
    assert host.run("hello").output == "Hi, world!"
    monkeypatch.setenv("DEMO_RES_HELLO__GREETING", "Hey")
    host = modloader_host({"res_hello": HelloModule}, env_prefix="DEMO_")
    assert host.run("hello").output == "Hey, world!"
    assert host.run("module settings res_hello").data["settings"] == [
        {"key": "greeting", "value": "Hey", "origin": "DEMO_RES_HELLO__GREETING"}
    ]


def test_the_settings_model_is_a_plain_value():
    assert HelloSettings().greeting == "Hello"
    assert HelloSettings(greeting="Hi").greeting == "Hi"


def test_counts_greetings_and_a_refresh_starts_afresh(host):
    host.run("hello")
    host.run("hello Ada")
    assert module_object(host, "res_hello").greeted == 2
    assert host.run("module refresh res_hello").ok
    assert module_object(host, "res_hello").greeted == 0


def test_loads_reloads_and_unloads_cleanly(host):
    report = check_lifecycle(host, "res_hello")
    assert report.reloaded is True
    assert not host.run("hello").ok  # the command went with the module


def test_the_published_entry_point_starts_it(fake_distributions, modloader_host):
    # The distribution pip would install from this folder: its entry points, not a copy of them.
    fake_distributions.add_project(PROJECT)
    host = modloader_host(namespace="modloader.demo", load=["res_hello"], autoload=False)
    row = host.get_module("res_hello")
    assert (row["status"], row["distribution"], row["version"]) == (
        "Running",
        "modloader-demo-res-hello",
        "1.0.0",
    )
    assert row["support_level"] == "core"
    assert host.run("hello Ada").ok
    assert "demo_res_hello" in check_lifecycle(host, "res_hello").dropped_modules


def test_it_implements_the_demo_hosts_status_hook(modloader_host):
    from modloader.demo import DemoSpecs

    host = modloader_host({"res_hello": HelloModule}, hookspecs=[DemoSpecs], strict_hooks=True)
    host.run("hello")
    assert host.hook.demo_status() == ["res_hello: said 'Hello' 1 time"]
    assert host.run("demo status").output == "res_hello: said 'Hello' 1 time"
