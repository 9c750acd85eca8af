"""Typed results as JSON values."""

from __future__ import annotations

import enum
import json
from pathlib import PurePosixPath

from modloader import LoadOutcome
from modloader import ModLoaderError
from modloader import ModuleNotRunningError
from modloader import RefreshOutcome
from modloader import UnloadOutcome
from modloader._jsonable import jsonable


class Colour(enum.Enum):
    RED = "red"


def test_scalars_are_themselves():
    for value in (None, True, 0, 1.5, "text"):
        assert jsonable(value) is value


def test_named_tuples_enums_and_sequences():
    outcome = RefreshOutcome(
        "res_store",
        recursive=True,
        dependents_unloaded=(UnloadOutcome("app_echo"),),
        dependents_loaded=(LoadOutcome("app_echo"), ModuleNotRunningError("res_x", "declined")),
    )
    data = jsonable(outcome)
    assert data["name"] == "res_store" and data["recursive"] is True
    assert data["dependents_unloaded"][0]["mode"] == "soft"
    assert data["dependents_loaded"][0] == {"name": "app_echo", "replaced_declined": False}
    assert data["dependents_loaded"][1]["error"] == "not-running"
    assert data["dependents_loaded"][1]["facts"]["state"] == "declined"
    assert json.loads(json.dumps(data)) == data


def test_mappings_sets_and_other_objects():
    assert jsonable({1: (Colour.RED,)}) == {"1": ["red"]}
    assert jsonable(frozenset({"a"})) == ["a"]
    assert jsonable(PurePosixPath("/etc/x")) == "/etc/x"
    assert jsonable(ModLoaderError) == str(ModLoaderError)  # a class: its to_dict not called
