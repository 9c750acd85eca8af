"""Every source and its precedence, over a real distribution and real files."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from modloader import ModuleSettingsInfo
from modloader import NoSuchModuleError
from modloader import SettingValue
from modloader import StartupError
from modloader.pytest_plugin import FakeSite
from modloader.testing import module_object
from tests.settings.conftest import NAMESPACE
from tests.settings.conftest import HostMaker


def row(host: object, key: str) -> dict[str, object]:
    data = host.run("module settings res_store").data  # type: ignore[attr-defined]
    (found,) = [r for r in data["settings"] if r["key"] == key]
    return dict(found)


def settings(host: object) -> object:
    return module_object(host, "res_store").events[-1][1]  # type: ignore[arg-type]


def test_defaults_when_no_source_sets_anything(make_host: HostMaker) -> None:
    host = make_host()
    value = settings(host)
    assert (value.capacity, value.label, value.limits.high, value.peers) == (5, "store", 10, {})
    assert row(host, "capacity") == {"key": "capacity", "value": 5, "origin": "default"}


def test_file_then_environment_then_code(
    make_host: HostMaker, conf_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (conf_dir / "res_store.conf").write_text(
        "[general]\ncapacity = 1\nlabel = file\ntags = a\ntags => b\n[limits]\nlow = 2\nhigh = 3\n"
    )
    monkeypatch.setenv("MYAPP_RES_STORE__CAPACITY", "2")
    monkeypatch.setenv("MYAPP_RES_STORE__LIMITS__HIGH", "30")
    host = make_host(module_settings={"res_store": {"capacity": 3}})
    value = settings(host)
    assert (value.capacity, value.label, value.tags) == (3, "file", ["a", "b"])
    assert (value.limits.low, value.limits.high) == (2, 30)
    conf = conf_dir / "res_store.conf"
    assert [row(host, k)["origin"] for k in ("capacity", "label", "tags", "limits.low")] == [
        "code",
        f"{conf}:3",
        f"{conf}:4,5",  # a list given over two lines names both
        f"{conf}:7",
    ]
    assert row(host, "limits.high")["origin"] == "MYAPP_RES_STORE__LIMITS__HIGH"


def test_a_list_over_several_files_names_each_line(make_host: HostMaker, conf_dir: Path) -> None:
    (conf_dir / "tags.conf").write_text("tags = c\n")
    (conf_dir / "res_store.conf").write_text("[general]\ntags = a\n#include tags.conf\ntags = d\n")
    host = make_host()
    assert settings(host).tags == ["a", "c", "d"]  # type: ignore[attr-defined]
    conf, extra = conf_dir / "res_store.conf", conf_dir / "tags.conf"
    assert row(host, "tags")["origin"] == f"{conf}:2,4, {extra}:1"
    rows = [line.split() for line in host.run("module settings res_store").output.splitlines()]  # type: ignore[attr-defined]
    assert ["tags", '["a",', '"c",', '"d"]', f"{conf}:2,4,", f"{extra}:1"] in rows


def test_a_list_replaced_by_the_environment_names_the_variable_alone(
    make_host: HostMaker, conf_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (conf_dir / "res_store.conf").write_text("[general]\ntags = a\ntags = b\n")
    monkeypatch.setenv("MYAPP_RES_STORE__TAGS", '["x"]')
    host = make_host()
    assert settings(host).tags == ["x"]  # type: ignore[attr-defined]
    assert row(host, "tags")["origin"] == "MYAPP_RES_STORE__TAGS"


def test_user_named_sections_fill_the_mapping_field_with_templates(
    make_host: HostMaker, conf_dir: Path
) -> None:
    (conf_dir / "res_store.conf").write_text(
        "[peer](!)\nport = 5070\ncodecs = ulaw\n[alice](peer)\nhost = 10.0.0.1\ncodecs = alaw\n"
        "[bob](peer)\nhost = 10.0.0.2\n"
    )
    peers = settings(make_host()).peers
    assert {k: (p.host, p.port, p.codecs) for k, p in peers.items()} == {
        "alice": ("10.0.0.1", 5070, ["ulaw", "alaw"]),
        "bob": ("10.0.0.2", 5070, ["ulaw"]),
    }


def test_code_sets_nested_values_and_the_environment_takes_json(
    make_host: HostMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MYAPP_RES_STORE__TAGS", '["x", "y"]')
    host = make_host(module_settings={"res_store": {"peers": {"carol": {"host": "h"}}}})
    value = settings(host)
    assert value.tags == ["x", "y"]
    assert value.peers["carol"].host == "h"
    assert row(host, "peers.carol.host")["origin"] == "code"
    assert row(host, "peers.carol.port")["origin"] == "default"


def test_a_declared_file_name_and_the_config_folder_option(
    make_host: HostMaker, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "res_store.conf").write_text("[general]\ncapacity = 9\n")
    host = make_host(config_dir=other)
    assert host.config_dir == str(other)
    assert settings(host).capacity == 9


def test_settings_are_immutable(make_host: HostMaker) -> None:
    value = settings(make_host())
    with pytest.raises(ValueError, match="frozen"):
        value.capacity = 1  # type: ignore[attr-defined]


def test_a_module_without_a_model_has_no_settings(make_host: HostMaker) -> None:
    host = make_host()
    ctx = module_object(host, "res_plain").ctx
    with pytest.raises(AttributeError, match="declares no settings_model"):
        _ = ctx.settings
    result = host.run("module settings res_plain")
    assert (result.ok, result.output) == (True, "Module 'res_plain' declares no settings.")


def test_module_settings_text_masks_secrets(
    make_host: HostMaker, conf_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (conf_dir / "res_store.conf").write_text("[general]\ntoken = hunter2\n")
    monkeypatch.setenv("MYAPP_RES_STORE__CAPACITY", "4")
    host = make_host()
    output = host.run("module settings res_store").output
    assert "hunter2" not in output
    lines = output.splitlines()
    assert lines[0].startswith("Settings of 'res_store' (itest_settings_store.StoreSettings)")
    assert f"  file: {conf_dir / 'res_store.conf'}" in lines
    assert "  environment: MYAPP_RES_STORE__*" in lines
    assert lines[3].split() == ["Key", "Value", "Origin"]
    assert ["capacity", "4", "MYAPP_RES_STORE__CAPACITY"] == lines[4].split()
    assert ["token", "**********", f"{conf_dir / 'res_store.conf'}:2"] in [
        line.split() for line in lines
    ]
    assert lines[-1] == "7 settings"


def test_module_settings_text_aligns_wide_values_and_escapes_controls(
    make_host: HostMaker, conf_dir: Path
) -> None:
    """A value in CJK took two columns a character but was padded as one; a tab in a
    value broke the row."""
    from wcwidth import wcswidth  # prompt_toolkit's own measure of terminal columns

    wide = "\u5009\u5eab\u306e\u30e9\u30d9\u30eb"
    (conf_dir / "res_store.conf").write_text(f"[general]\nlabel = {wide}\tend\n", "utf-8")
    lines = make_host().run("module settings res_store").output.splitlines()
    table = lines[3:-1]
    origin = [wcswidth(line[: line.rindex("  ") + 2]) for line in table]
    assert len(set(origin)) == 1, table
    assert f" {wide}\\x09end  " in "\n".join(table)


def test_module_settings_json(make_host: HostMaker, conf_dir: Path) -> None:
    (conf_dir / "res_store.conf").write_text("[general]\ntoken = hunter2\n")
    host = make_host()
    result = host.run("module settings res_store --json")
    data = json.loads(result.output)
    assert data == result.data
    assert data["valid"] is True
    assert {
        "key": "token",
        "value": "**********",
        "origin": f"{conf_dir / 'res_store.conf'}:2",
    } in (data["settings"])
    assert "hunter2" not in result.output


def test_module_settings_from_python_are_the_commands_facts_typed(
    make_host: HostMaker, conf_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = conf_dir / "res_store.conf"
    conf.write_text("[general]\ntoken = hunter2\n")
    monkeypatch.setenv("MYAPP_RES_STORE__CAPACITY", "4")
    host = make_host()
    info = host.module_settings("res_store")
    assert isinstance(info, ModuleSettingsInfo)
    assert (info.name, info.declares_settings, info.valid) == ("res_store", True, True)
    assert info.model == "itest_settings_store.StoreSettings"
    assert (info.file, info.environment) == (str(conf), "MYAPP_RES_STORE__*")
    assert info.values[0] == SettingValue("capacity", 4, "MYAPP_RES_STORE__CAPACITY")
    assert SettingValue("token", "**********", f"{conf}:2") in info.values
    assert info.to_dict() == host.run("module settings res_store --json").data
    assert host.module_settings("res_plain") == ModuleSettingsInfo("res_plain", False)

    conf.write_text("[general]\ncapacity = lots\n")
    monkeypatch.delenv("MYAPP_RES_STORE__CAPACITY")
    host.unload("res_store")  # not running: its sources are read and validated now
    assert not host.run("module load res_store").ok
    bad = host.module_settings("res_store")
    assert (bad.valid, bad.values) == (False, ())
    (issue,) = bad.errors
    assert (issue.source, issue.line) == (str(conf), 2)
    with pytest.raises(NoSuchModuleError, match=r"No such module 'res_stor' \(did you mean"):
        host.module_settings("res_stor")
    with pytest.raises(TypeError):
        host.module_settings(3)  # type: ignore[arg-type]


def test_module_settings_completion_and_usage(make_host: HostMaker) -> None:
    host = make_host()
    assert "settings" in host.complete("module ")
    assert host.complete("module settings res_s") == ["res_store"]
    assert host.complete("module settings res_store ") == ["--json"]
    assert host.run("module settings").output.startswith("Usage: module settings <module name>")
    missing = host.run("module settings nope")
    assert not missing.ok
    assert "nope" in missing.output


# -- bad input: each names its source, and the host goes on ----------------------------------


def reason(host: object, name: str = "res_store") -> str:
    module = host.get_module(name)  # type: ignore[attr-defined]
    assert module["status"] == "Not Running"
    return str(module["last_error"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[general]\ncapacity = lots\n",
            "{conf}:2: 'capacity': Input should be a valid integer, "
            "unable to parse string as an integer, got 'lots'",
        ),
        (
            "[general]\ncapcity = 1\n",
            "{conf}:2: Unknown key 'capcity' in [general] (did you mean 'capacity'?)",
        ),
        ("[limits]\nhihg = 1\n", "{conf}:2: Unknown key 'hihg' in [limits] (did you mean 'high'?)"),
        ("[alice]\nport = 1\n", "{conf}:1: 'peers.alice.host' is required"),
        (
            "[general]\ncapacity = 1\nnonsense\n",
            "{conf}:3: Expected 'key = value' or 'key => value' (the line is not shown)",
        ),
    ],
    ids=["wrong-type", "misspelt-key", "nested-key", "missing-required", "unparseable"],
)
def test_a_bad_file_declines_only_its_module(
    make_host: HostMaker, conf_dir: Path, text: str, expected: str
) -> None:
    conf = conf_dir / "res_store.conf"
    conf.write_text(text)
    host = make_host()
    assert reason(host) == "invalid settings: " + expected.format(conf=conf)
    assert host.is_running("res_plain") and host.is_running("res_noreload")


def test_an_unknown_section_is_named_with_a_suggestion(
    make_host: HostMaker, conf_dir: Path
) -> None:
    conf = conf_dir / "res_noreload.conf"
    conf.write_text("[fixd]\nmode = b\n")
    assert reason(make_host(), "res_noreload") == (
        f"invalid settings: {conf}:1: Unknown section [fixd] (did you mean 'fixed'?)"
    )


def test_a_directory_where_the_file_should_be(make_host: HostMaker, conf_dir: Path) -> None:
    (conf_dir / "res_store.conf").mkdir()
    assert reason(make_host()) == (
        f"invalid settings: {conf_dir / 'res_store.conf'}: is a directory, not a settings file"
    )


def test_a_wrong_environment_value_names_the_variable(
    make_host: HostMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MYAPP_RES_STORE__LIMITS__LOW", "low")
    assert reason(make_host()) == (
        "invalid settings: MYAPP_RES_STORE__LIMITS__LOW: 'limits.low': Input should be a valid "
        "integer, unable to parse string as an integer, got 'low'"
    )


def test_environment_json_nested_too_deeply_names_the_variable(
    make_host: HostMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It was a RecursionError in the module's call: declined with that as its reason."""
    monkeypatch.setenv("MYAPP_RES_STORE__LIMITS", "[" * 100_000 + "]" * 100_000)
    assert reason(make_host()).startswith(
        "invalid settings: MYAPP_RES_STORE__LIMITS: 'limits': Input should be a valid "
        "dictionary or instance of Limits"
    )


@pytest.mark.parametrize(
    ("variable", "said"),
    [
        ("MYAPP_RES_STORE__CAPCITY", "unknown field 'capcity' (did you mean 'capacity'?)"),
        ("MYAPP_RES_STORE__", "unknown field ''"),  # the prefix alone: it was not said
    ],
)
def test_an_environment_variable_naming_no_field_is_a_warning(
    make_host: HostMaker,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    variable: str,
    said: str,
) -> None:
    monkeypatch.setenv(variable, "3")
    with caplog.at_level(logging.WARNING, logger="modloader"):
        host = make_host()
    assert host.is_running("res_store")
    assert f"res_store settings: {variable}: names no setting: {said}; ignored" in caplog.messages


def test_an_environment_value_that_is_not_utf8_is_refused_naming_the_variable(
    make_host: HostMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same bytes in the file are refused; from the environment they were used, as
    text holding a lone surrogate that fails wherever the module writes it out."""
    monkeypatch.setenv("MYAPP_RES_STORE__LABEL", b"caf\xe9".decode("utf-8", "surrogateescape"))
    assert reason(make_host()) == (
        "invalid settings: MYAPP_RES_STORE__LABEL: holds bytes that are not UTF-8 (set it as UTF-8)"
    )


def test_code_naming_no_field_is_an_error(make_host: HostMaker) -> None:
    host = make_host(module_settings={"res_store": {"capasity": 3}})
    assert reason(host) == (
        "invalid settings: <code>: Unknown setting 'capasity' (did you mean 'capacity'?)"
    )


def test_a_required_module_with_invalid_settings_aborts_startup(
    make_host: HostMaker, conf_dir: Path
) -> None:
    (conf_dir / "modules.conf").write_text("[modules]\nrequire = res_store\n")
    (conf_dir / "res_store.conf").write_text("[general]\ncapacity = lots\n")
    host = make_host(start=False)
    with pytest.raises(StartupError) as caught:
        host.start()
    assert caught.value.exit_code == 2


def test_module_settings_of_an_invalid_module_lists_the_errors(
    make_host: HostMaker, conf_dir: Path
) -> None:
    conf = conf_dir / "res_store.conf"
    conf.write_text("[general]\ncapacity = lots\n")
    result = make_host().run("module settings res_store")
    assert not result.ok
    assert "The settings are invalid:" in result.output
    assert f"  {conf}:2: 'capacity': Input should be a valid integer" in result.output


BAD_MODEL_CODE = """
from pydantic import BaseModel


class Plain(BaseModel):
    level: int = 1


class WithPlainModel:
    settings_model = Plain


class WithDict:
    settings_model = dict

    def load(self, ctx):
        pass


settings_model = "not a model"
"""


def test_a_settings_model_that_is_not_module_settings_names_where_it_is_defined(
    make_host: HostMaker, fake_distributions: FakeSite
) -> None:
    fake_distributions.add(
        "itest-bad-model",
        entry_points={
            NAMESPACE: {
                "res_pydantic": "itest_bad_model:WithPlainModel",
                "res_dict": "itest_bad_model:WithDict",
                "res_pymod": "itest_bad_model",
            }
        },
        files={"itest_bad_model/__init__.py": BAD_MODEL_CODE},
    )
    host = make_host()
    expected = "invalid settings: {}: 'settings_model' must be a subclass of "
    expected += "modloader.ModuleSettings, not {}"
    assert reason(host, "res_pydantic") == expected.format(
        "itest_bad_model:WithPlainModel", "<class 'itest_bad_model.Plain'>"
    )
    assert reason(host, "res_dict") == expected.format("itest_bad_model:WithDict", "<class 'dict'>")
    assert reason(host, "res_pymod") == expected.format("itest_bad_model", "'not a model'")
    assert host.is_running("res_store")  # the others start
