"""``Host.reload`` from Python: the settings outcome, typed (returned or raised)."""

from __future__ import annotations

from pathlib import Path

import pytest

from modloader import ConfigIssue
from modloader import InvalidSettingsError
from modloader import ReloadError
from modloader import ReloadOutcome
from modloader import ReloadStatus
from modloader import SettingsReload
from modloader.testing import module_object
from tests.settings.conftest import HostMaker


@pytest.fixture
def conf(conf_dir: Path) -> Path:
    path = conf_dir / "res_store.conf"
    path.write_text("[general]\ncapacity = 1\n")
    return path


def test_changed_settings_are_reloaded(make_host: HostMaker, conf: Path) -> None:
    host = make_host()
    conf.write_text("[general]\ncapacity = 2\n")
    assert host.reload("res_store") == ReloadOutcome(
        reloaded=("res_store",),
        settings=(SettingsReload("res_store", ReloadStatus.APPLIED),),
    )
    assert module_object(host, "res_store").events[-1][1].capacity == 2


def test_unchanged_settings_say_so(make_host: HostMaker, conf: Path) -> None:
    host = make_host()
    conf.write_text("[general]\ncapacity => 1 ; the same value\n")
    outcome = host.reload("res_store")
    assert outcome == ReloadOutcome(
        unchanged=("res_store",),
        settings=(SettingsReload("res_store", ReloadStatus.UNCHANGED),),
    )
    assert outcome.reloaded == ()
    assert [kind for kind, _ in module_object(host, "res_store").events] == ["load"]


def test_invalid_settings_raise_with_every_error_and_its_origin(
    make_host: HostMaker, conf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = make_host()
    conf.write_text("[general]\ncapacity = lots\n")
    monkeypatch.setenv("MYAPP_RES_STORE__LIMITS__LOW", "low")
    with pytest.raises(InvalidSettingsError) as caught:
        host.reload("res_store")
    error = caught.value
    assert isinstance(error, ReloadError)
    assert (error.name, error.reason, error.settings) == (
        "res_store",
        "invalid-settings",
        ReloadStatus.INVALID,
    )
    assert error.code == "invalid-settings" and error.exit_code == 1
    assert error.errors == (
        ConfigIssue(
            str(conf),
            2,
            "int_parsing",
            "'capacity': Input should be a valid integer, unable to parse string as an integer, "
            "got 'lots'",
        ),
        ConfigIssue(
            "MYAPP_RES_STORE__LIMITS__LOW",
            0,
            "int_parsing",
            "'limits.low': Input should be a valid integer, unable to parse string as an "
            "integer, got 'low'",
        ),
    )
    assert str(error) == (
        "The module 'res_store' was not reloaded: its new settings are invalid "
        "(the previous ones stay in force)"
    )
    # Nothing changed: the old settings stay and reload() was not called.
    assert [kind for kind, _ in module_object(host, "res_store").events] == ["load"]
    assert host.run("module settings res_store").data["settings"][0]["value"] == 1


def test_invalid_settings_from_code_name_code(make_host: HostMaker, conf: Path) -> None:
    host = make_host(module_settings={"res_store": {"capacity": "many"}})
    assert not host.is_running("res_store")
    assert "invalid settings: <code>: 'capacity'" in (host.get_module("res_store").last_error or "")


def test_a_failing_reload_raises_and_restores(make_host: HostMaker, conf: Path) -> None:
    host = make_host()
    conf.write_text("[general]\ncapacity = 2\nlabel = fail\n")
    with pytest.raises(ReloadError) as caught:
        host.reload("res_store")
    assert not isinstance(caught.value, InvalidSettingsError)
    assert (caught.value.reason, caught.value.settings) == ("failed", ReloadStatus.ROLLED_BACK)
    assert str(caught.value) == (
        "The module 'res_store' reported a reload failure; its previous settings are restored"
    )
    assert host._modules.get("res_store").ctx.settings.capacity == 1  # type: ignore[union-attr]


def test_changed_settings_without_reload_raise_not_supported(
    make_host: HostMaker, conf_dir: Path
) -> None:
    host = make_host()
    (conf_dir / "res_noreload.conf").write_text("[general]\nlevel = 2\n")
    with pytest.raises(ReloadError) as caught:
        host.reload("res_noreload")
    assert (caught.value.reason, caught.value.settings) == (
        "not-supported",
        ReloadStatus.UNSUPPORTED,
    )


def test_reload_of_everything_lists_each_settings_outcome(make_host: HostMaker, conf: Path) -> None:
    host = make_host()
    conf.write_text("[general]\ncapacity = lots\n")
    outcome = host.reload()  # never raises for one module
    assert outcome.reloaded == ()
    assert outcome.failed == ("res_store",)
    assert outcome.unchanged == ("res_noreload",)
    by_name = {swap.name: swap for swap in outcome.settings}
    assert by_name["res_noreload"] == SettingsReload("res_noreload", ReloadStatus.UNCHANGED)
    store = by_name["res_store"]
    assert store.status is ReloadStatus.INVALID and not store.ok
    assert [issue.line for issue in store.errors] == [2]
    error = store.error()
    assert isinstance(error, InvalidSettingsError) and error.errors == store.errors
    # The console says the same, one line per module that declares settings.
    result = host.run("module reload")
    assert not result.ok
    assert result.output.splitlines() == [  # in start order
        "Module 'res_noreload' settings unchanged; not reloaded.",
        "The module 'res_store' was not reloaded: its new settings are invalid "
        "(the previous ones stay in force)",
        f"  {conf}:2: 'capacity': Input should be a valid integer, unable to parse string "
        "as an integer, got 'lots'",
        "Command 'module reload' failed.",
    ]


def test_a_module_without_settings_reloads_as_before(make_host: HostMaker) -> None:
    host = make_host()
    with pytest.raises(ReloadError) as caught:
        host.reload("res_plain")
    assert (caught.value.reason, caught.value.settings) == ("not-supported", None)
    assert str(caught.value) == "The module 'res_plain' does not support reloads"
