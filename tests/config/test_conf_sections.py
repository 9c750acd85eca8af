"""Section headers: a name close to [modules] is warned about, with a suggestion."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from modloader import Host
from modloader import StaticDiscovery
from modloader import load_config
from modloader._config import read_modules_conf

Write = Callable[..., Path]


@pytest.mark.parametrize("header", ["[module]", "[Module]", "[modules2]", "[moduels]", "[modles]"])
def test_section_close_to_modules_is_warned_about(
    write: Write, chdir_tmp: Path, header: str
) -> None:
    write("modules.conf", f"; mine\n{header}\nload => a\n")
    parsed = read_modules_conf("modules.conf")
    assert [str(w) for w in parsed.warnings] == [
        f"modules.conf:2: Unknown section '{header}' skipped (did you mean [modules]?)"
    ]
    assert parsed.warnings[0].kind == "unknown-section"
    assert (parsed.entries, parsed.errors) == ((), ())


@pytest.mark.parametrize("header", ["[global]", "[general]", "[directories]", "[options]"])
def test_other_sections_are_skipped_without_a_word(write: Write, header: str) -> None:
    parsed = read_modules_conf(write("modules.conf", f"{header}\nx = y\n[modules]\nload => a\n"))
    assert (parsed.warnings, [e.name for e in parsed.entries]) == ((), ["a"])


@pytest.mark.parametrize("header", ["[Modules ]", "[ modules]", "[MODULES](!)"])
def test_blanks_and_case_in_the_section_name(write: Write, header: str) -> None:
    parsed = read_modules_conf(write("modules.conf", f"{header}\nload => a\n"))
    assert (parsed.warnings, [e.name for e in parsed.entries]) == ((), ["a"])


def test_the_warning_reaches_the_configuration_and_the_host_log(
    write: Write, chdir_tmp: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write("modules.conf", "[module]\nautoload = no\n")
    (warning,) = load_config(path="modules.conf", environ={}).warnings
    assert str(warning) == (
        "modules.conf:1: Unknown section '[module]' skipped (did you mean [modules]?)"
    )
    host = Host(
        "ns", discovery=StaticDiscovery("ns", {}), config_path="modules.conf", env_prefix="NOPE_"
    )
    with caplog.at_level(logging.WARNING, logger="modloader"):
        host.start()
    host.stop()
    assert str(warning) in caplog.messages
