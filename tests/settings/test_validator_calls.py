"""A settings model's validators are the module's own code: they run as its calls do.

In the module's call thread, under the time limit, whatever they raise caught:
at ``module reload`` and at ``module settings`` of a module not running (at
load, they run in the ``load()`` call: see test_validate).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from modloader import Host
from modloader import ModuleBusyError
from modloader import ModuleError
from modloader import ModuleTimeoutError
from modloader.pytest_plugin import FakeSite
from modloader.testing import module_object
from tests.settings.conftest import NAMESPACE
from tests.settings.conftest import HostMaker
from tests.settings.test_reload import reload

#: A module whose settings model's validator does what ``CHECKED_DOES`` says, and its
#: ``__eq__`` what ``CHECKED_EQ`` says.
CHECKED_CODE = """
import os
import time

from pydantic import field_validator
from modloader import ModuleSettings


def obey(variable):
    what = os.environ.get(variable, "")
    deadline = time.monotonic() + 30
    while what.startswith("wait ") and os.path.exists(what[5:]) and time.monotonic() < deadline:
        time.sleep(0.01)
    if what.startswith("raise "):
        raise eval(what[6:])


class CheckedSettings(ModuleSettings):
    level: int = 1

    @field_validator("level")
    @classmethod
    def check(cls, value):
        obey("CHECKED_DOES")
        return value

    def __eq__(self, other):  # comparing old and new settings runs this too
        obey("CHECKED_EQ")
        return super().__eq__(other)


class Checked:
    settings_model = CheckedSettings

    def load(self, ctx):
        self.levels = [ctx.settings.level]

    def reload(self, ctx):
        self.levels.append(ctx.settings.level)
"""


def install_checked(site: FakeSite) -> None:
    """``res_checked``: a real distribution whose validator obeys ``CHECKED_DOES``."""
    site.add(
        "itest-checked",
        entry_points={NAMESPACE: {"res_checked": "itest_checked:Checked"}},
        files={"itest_checked/__init__.py": CHECKED_CODE},
    )


def hold_validators(
    host: Host, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str = "CHECKED_DOES"
) -> Path:
    """Make the validators (or ``__eq__``: ``CHECKED_EQ``) wait while the returned file
    exists; a limit of 0.3 s."""
    gate = tmp_path / "gate"
    gate.touch()
    monkeypatch.setenv(variable, f"wait {gate}")
    host.module_timeout = 0.3
    return gate


def wait_for(caplog: pytest.LogCaptureFixture, text: str) -> None:
    """Until ``text`` is logged (the late call returned), at most 10 s."""
    deadline = time.monotonic() + 10
    while text not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.01)
    assert text in caplog.text


@pytest.fixture
def checked(fake_distributions: FakeSite, make_host: HostMaker, conf_dir: Path) -> Host:
    install_checked(fake_distributions)
    host = make_host()
    (conf_dir / "res_checked.conf").write_text("[general]\nlevel = 2\n")
    return host


@pytest.mark.parametrize("raised", ["KeyboardInterrupt()", "SystemExit(4)", "RuntimeError('x')"])
def test_a_validator_that_raises_at_load_declines_saying_so_not_as_load_s(
    fake_distributions: FakeSite,
    make_host: HostMaker,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    raised: str,
) -> None:
    install_checked(fake_distributions)
    monkeypatch.setenv("CHECKED_DOES", f"raise {raised}")
    host = make_host()
    info = host.get_module("res_checked")
    name, _, argument = raised.partition("(")
    said = f"{name}: {argument[:-1].strip(chr(39))}" if argument != ")" else name
    assert (info.state, info.last_error) == (
        "declined",
        f"invalid settings: validating them raised {said}",
    )
    assert "load() raised" not in caplog.text  # load() never ran


#: What runs the settings model's code on ``module reload``: its validators, and the
#: ``__eq__`` that tells whether the settings changed (the module's code too).
_MODEL_CODE = ["CHECKED_DOES", "CHECKED_EQ"]


@pytest.mark.parametrize("variable", _MODEL_CODE)
@pytest.mark.parametrize("raised", ["KeyboardInterrupt()", "SystemExit(4)", "RuntimeError('x')"])
def test_a_validator_that_raises_anything_fails_the_reload_and_keeps_the_old_settings(
    checked: Host, monkeypatch: pytest.MonkeyPatch, raised: str, variable: str
) -> None:
    monkeypatch.setenv(variable, f"raise {raised}")
    ok, output = reload(checked, "module reload res_checked")  # nothing escapes
    assert not ok
    name = raised.partition("(")[0]
    assert output.splitlines()[:2] == [
        "The module 'res_checked' was not reloaded: its new settings are invalid "
        "(the previous ones stay in force)",
        "  <settings_model>: validating them raised "
        + {"SystemExit": "SystemExit: 4", "RuntimeError": "RuntimeError: x"}.get(name, name),
    ]
    assert module_object(checked, "res_checked").levels == [1]
    monkeypatch.delenv(variable)
    assert reload(checked, "module reload res_checked")[0]  # the module was not left busy
    assert module_object(checked, "res_checked").levels == [1, 2]


@pytest.mark.parametrize("variable", _MODEL_CODE)
def test_a_validator_that_hangs_is_given_up_at_the_time_limit(
    checked: Host,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    variable: str,
) -> None:
    gate = hold_validators(checked, monkeypatch, tmp_path, variable)
    began = time.monotonic()
    ok, output = reload(checked, "module reload res_checked")
    assert time.monotonic() - began < 5
    assert not ok
    assert output.splitlines()[0] == (
        "Module 'res_checked': reload() did not return within 0.3 s (it goes on in the background)"
    )
    assert "its reload() has not returned yet" in reload(checked, "module reload res_checked")[1]

    gate.unlink()
    wait_for(caplog, "res_checked: reload() returned")
    monkeypatch.delenv(variable)
    assert reload(checked, "module reload res_checked")[0]
    assert module_object(checked, "res_checked").levels == [1, 2]


@pytest.fixture
def declined(fake_distributions: FakeSite, make_host: HostMaker, conf_dir: Path) -> Host:
    """``res_checked`` declined at startup (an unknown key): imported, not running."""
    install_checked(fake_distributions)
    (conf_dir / "res_checked.conf").write_text("[general]\nlevle = 2\n")
    host = make_host()
    assert host.get_module("res_checked").state == "declined"
    return host


def test_settings_of_a_module_not_running_are_validated_as_a_module_call(
    declined: Host,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = hold_validators(declined, monkeypatch, tmp_path)
    began = time.monotonic()
    result = declined.run("module settings res_checked")
    assert time.monotonic() - began < 5
    assert not result.ok
    assert result.output.splitlines()[0] == (
        "Module 'res_checked': validating its settings did not finish within 0.3 s"
    )
    # The loader's lock is free: other operations go on; this module is busy meanwhile.
    assert declined.run("module unload res_plain").output == "Unloaded res_plain"
    busy = declined.run("module settings res_checked").output
    assert "Module 'res_checked' is busy: its settings() has not returned yet" in busy

    gate.unlink()
    wait_for(caplog, "res_checked: settings() returned")
    monkeypatch.setenv("CHECKED_DOES", "raise KeyboardInterrupt()")
    result = declined.run("module settings res_checked")  # nothing escapes into the caller
    assert result.output.splitlines()[0] == (
        "Module 'res_checked': validating its settings raised KeyboardInterrupt"
    )
    monkeypatch.delenv("CHECKED_DOES")
    result = declined.run("module settings res_checked")
    assert "Unknown key 'levle' in [general] (did you mean 'level'?)" in result.output


def test_the_typed_call_raises_the_same_facts(
    declined: Host,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = hold_validators(declined, monkeypatch, tmp_path)
    with pytest.raises(ModuleTimeoutError) as timed_out:
        declined.module_settings("res_checked")
    assert (timed_out.value.name, timed_out.value.seconds) == ("res_checked", 0.3)
    with pytest.raises(ModuleBusyError) as busy:
        declined.module_settings("res_checked")
    assert busy.value.busy == "settings"
    gate.unlink()
    wait_for(caplog, "res_checked: settings() returned")
    monkeypatch.setenv("CHECKED_DOES", "raise KeyboardInterrupt()")
    with pytest.raises(ModuleError, match="validating its settings raised KeyboardInterrupt"):
        declined.module_settings("res_checked")
    monkeypatch.delenv("CHECKED_DOES")
    info = declined.module_settings("res_checked")
    assert not info.valid
    assert "Unknown key 'levle' in [general]" in str(info.errors[0])


@pytest.mark.parametrize("raised", ["SystemExit(3)", "RuntimeError('x')"])
def test_check_reports_a_validator_that_raises_as_an_error(
    fake_distributions: FakeSite,
    make_host: HostMaker,
    monkeypatch: pytest.MonkeyPatch,
    raised: str,
) -> None:
    install_checked(fake_distributions)
    monkeypatch.setenv("CHECKED_DOES", f"raise {raised}")
    report = make_host(start=False).check()  # a report, not the validator's exception
    name, _, arg = raised.partition("(")
    assert [str(e) for e in report.errors] == [
        f"res_checked: its settings cannot be validated: {name}: {arg.strip(')').strip(chr(39))}"
    ]


def test_check_gives_up_a_validator_that_hangs_at_the_time_limit(
    fake_distributions: FakeSite,
    make_host: HostMaker,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    install_checked(fake_distributions)
    host = make_host(start=False)
    gate = hold_validators(host, monkeypatch, tmp_path)
    began = time.monotonic()
    report = host.check()
    assert time.monotonic() - began < 5
    assert [str(e) for e in report.errors] == [
        "res_checked: its settings cannot be validated: its validators did not finish within 0.3 s"
    ]
    assert report.with_settings == ("res_checked", "res_noreload", "res_store")
    gate.unlink()
    wait_for(caplog, "res_checked: its settings validation returned")
