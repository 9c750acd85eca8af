"""Atomic ``module reload``: invalid keeps the old settings; unchanged or changed."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from modloader.testing import module_object
from tests.settings.conftest import HostMaker


@pytest.fixture
def conf(conf_dir: Path) -> Path:
    path = conf_dir / "res_store.conf"
    path.write_text("[general]\ncapacity = 1\n")
    return path


def events(host: object) -> list[tuple[str, object]]:
    return list(module_object(host, "res_store").events)  # type: ignore[arg-type]


def reload(host: object, line: str = "module reload res_store") -> tuple[bool, str]:
    result = host.run(line)  # type: ignore[attr-defined]
    return result.ok, result.output


def test_changed_settings_reach_reload(make_host: HostMaker, conf: Path) -> None:
    host = make_host()
    conf.write_text("[general]\ncapacity = 2\n")
    assert reload(host) == (True, "Module 'res_store' reloaded successfully.")
    ((kind, value),) = events(host)[1:]
    assert (kind, value.capacity) == ("reload", 2)
    assert host.run("module settings res_store").data["settings"][0]["value"] == 2


def test_unchanged_settings_do_not_disturb_the_module(
    make_host: HostMaker, conf: Path, caplog: pytest.LogCaptureFixture
) -> None:
    host = make_host()
    conf.write_text("; reformatted\n[general]\ncapacity => 1\n")
    with caplog.at_level(logging.DEBUG, logger="modloader"):
        assert reload(host) == (True, "Module 'res_store' settings unchanged; not reloaded.")
    assert [kind for kind, _ in events(host)] == ["load"]
    # Said once at INFO (the command's own line); the service's note is DEBUG only.
    unchanged = [r for r in caplog.records if "settings unchanged" in r.getMessage()]
    assert [(r.levelno, r.getMessage()) for r in unchanged] == [
        (logging.DEBUG, "res_store: settings unchanged; the module is not disturbed")
    ]
    # The origins follow the file even when the values do not change.
    assert host.run("module settings res_store").data["settings"][0]["origin"] == f"{conf}:3"


def test_invalid_settings_fail_the_reload_and_keep_the_old_ones(
    make_host: HostMaker, conf: Path
) -> None:
    host = make_host()
    conf.write_text("[general]\ncapacity = lots\nlable = x\n")
    ok, output = reload(host)
    assert not ok
    assert output.splitlines() == [
        "The module 'res_store' was not reloaded: its new settings are invalid "
        "(the previous ones stay in force)",
        f"  {conf}:2: 'capacity': Input should be a valid integer, unable to parse string as "
        "an integer, got 'lots'",
        f"  {conf}:3: Unknown key 'lable' in [general] (did you mean 'label'?)",
        "Command 'module reload res_store' failed.",
    ]
    assert [kind for kind, _ in events(host)] == ["load"]
    assert host.is_running("res_store")
    ctx = host._modules.get("res_store").ctx
    assert ctx is not None and ctx.settings.capacity == 1
    row = host.run("module settings res_store").data["settings"][0]
    assert (row["value"], row["origin"]) == (1, f"{conf}:2")


def test_a_failing_reload_restores_the_old_settings(make_host: HostMaker, conf: Path) -> None:
    host = make_host()
    conf.write_text("[general]\ncapacity = 2\nlabel = fail\n")
    assert reload(host) == (
        False,
        "The module 'res_store' reported a reload failure; its previous settings are restored\n"
        "Command 'module reload res_store' failed.",
    )
    (_, first), (kind, tried) = events(host)
    assert (kind, tried.label) == ("reload", "fail")
    ctx = host._modules.get("res_store").ctx
    assert ctx is not None and ctx.settings == first
    # The next good file applies.
    conf.write_text("[general]\ncapacity = 3\n")
    assert reload(host)[0]
    assert ctx.settings.capacity == 3


def test_changed_settings_without_reload_are_not_applied(
    make_host: HostMaker, conf_dir: Path
) -> None:
    host = make_host()
    (conf_dir / "res_noreload.conf").write_text("[general]\nlevel = 2\n")
    assert reload(host, "module reload res_noreload") == (
        False,
        "The module 'res_noreload' does not support reloads; its new settings are not applied\n"
        "Command 'module reload res_noreload' failed.",
    )
    assert module_object(host, "res_noreload").seen.level == 1


def test_reload_of_everything_says_one_line_per_module_with_settings(
    make_host: HostMaker, conf: Path
) -> None:
    host = make_host()
    conf.write_text("[general]\ncapacity = 5\n")
    ok, output = reload(host, "module reload")
    assert ok
    assert sorted(output.splitlines()) == [
        "Module 'res_noreload' settings unchanged; not reloaded.",
        "Module 'res_store' reloaded successfully.",
    ]


def test_an_environment_change_is_seen_by_reload(
    make_host: HostMaker, conf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = make_host()
    monkeypatch.setenv("MYAPP_RES_STORE__LABEL", "env")
    assert reload(host)[0]
    assert events(host)[-1][1].label == "env"  # type: ignore[attr-defined]


def test_a_refresh_reads_the_settings_again(make_host: HostMaker, conf: Path) -> None:
    host = make_host()
    conf.write_text("[general]\ncapacity = 8\n")
    assert host.run("module refresh res_store").ok
    assert events(host)[0][1].capacity == 8  # type: ignore[attr-defined]
