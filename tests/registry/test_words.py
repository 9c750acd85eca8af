"""said, told, shown: a module's objects put into words, whatever they do when read."""

from __future__ import annotations

import logging

import pytest

from modloader import LoadResult
from modloader import ModuleDeclined
from modloader._registry.words import headline
from modloader._registry.words import said
from modloader._registry.words import shown
from modloader._registry.words import told
from tests._hostile import Unsayable
from tests._hostile import Untellable


class _Unshowable:
    def __repr__(self) -> str:
        raise AssertionError("shown() must not run a module's repr()")


def test_said_reads_str_and_a_decline_s_reason() -> None:
    assert said(ValueError("bad")) == "bad"
    assert said(ModuleDeclined("no database")) == "no database"
    assert said(Unsayable(SystemExit(3))) == "<its str() raised SystemExit>"
    assert said(Unsayable(KeyboardInterrupt())) == "<its str() raised KeyboardInterrupt>"


def test_headline_names_the_class_and_what_it_said_if_anything() -> None:
    assert headline(ValueError("bad"), "bad") == "ValueError: bad"
    assert headline(ValueError(), "") == "ValueError"


def test_told_formats_only_for_debug_logging_and_names_what_it_cannot(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="modloader"):
        assert told(ModuleDeclined("no")) == ""  # a decline is not logged with a traceback
        assert told(ValueError("shown")).endswith("ValueError: shown")
        assert (
            told(Untellable(SystemExit(6))) == "<its traceback could not be formatted: SystemExit>"
        )
        assert told(Unsayable(SystemExit(1))).endswith("<exception str() failed>")
    with caplog.at_level(logging.INFO, logger="modloader"):
        assert told(ValueError("not read")) == ""


def test_shown_runs_repr_of_built_in_values_only() -> None:
    assert shown(3) == "3"
    assert shown(LoadResult.DECLINE) == repr(LoadResult.DECLINE)
    assert shown("x" * 100) == repr("x" * 100)[:57] + "..."
    assert shown(_Unshowable()) == "an object of type _Unshowable"
