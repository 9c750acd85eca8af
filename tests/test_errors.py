"""The error tree as JSON: each error's code, message and the facts it carries."""

from __future__ import annotations

import json

import pytest

from modloader import ConfigIssue
from modloader import ReloadStatus
from modloader import UnloadMode
from modloader import UnloadOutcome
from modloader import errors

CASES = [
    (
        errors.ModuleInUseError("res_store", 2, ["b", "a"]),
        "in-use",
        {"name": "res_store", "use_count": 2, "holders": ["b", "a"]},
    ),
    (
        errors.UnloadRefusedError(
            "res_a", "res_b", "busy", forced_use_count=1, dependents_unloaded=("res_c",)
        ),
        "unload-refused",
        {
            "name": "res_a",
            "refused_by": "res_b",
            "reason": "busy",
            "forced_use_count": 1,
            "dependents_unloaded": ["res_c"],
        },
    ),
    (
        errors.ModuleNotInstalledError("res_hallo", ["res_hello"]),
        "not-installed",
        {"name": "res_hallo", "suggestions": ["res_hello"]},
    ),
    (
        errors.DependencyError("app_echo", {"res_store": "not running"}),
        "dependency",
        {"name": "app_echo", "missing": {"res_store": "not running"}},
    ),
    (
        errors.ReloadError("res_x", "failed", settings=ReloadStatus.ROLLED_BACK),
        "reload",
        {"name": "res_x", "reason": "failed", "settings": "rolled-back"},
    ),
    (
        errors.InvalidSettingsError("res_x", [ConfigIssue("res_x.conf", 3, "invalid", "bad")]),
        "invalid-settings",
        {
            "name": "res_x",
            "errors": [{"source": "res_x.conf", "line": 3, "kind": "invalid", "message": "bad"}],
        },
    ),
    (
        errors.ModuleTimeoutError("res_x", "unload", 30.0),
        "timeout",
        {"name": "res_x", "hook": "unload", "seconds": 30.0},
    ),
    (
        errors.NoSuchCommandError("modul show", ["module show"]),
        "no-such-command",
        {"line": "modul show", "possibilities": ["module show"]},
    ),
    (errors.ConnectError("/run/x.sock"), "connect", {"path": "/run/x.sock"}),
]


@pytest.mark.parametrize(("error", "code", "facts"), CASES, ids=[c[1] for c in CASES])
def test_to_dict_carries_the_code_the_message_and_the_facts(error, code, facts):
    data = error.to_dict()
    assert data["error"] == code == error.code
    assert data["message"] == error.message
    for key, value in facts.items():
        assert data["facts"][key] == value
    assert "message" not in data["facts"]
    assert json.loads(json.dumps(data)) == data  # JSON values only


def test_the_module_name_comes_first_and_progress_is_made_of_outcomes():
    error = errors.ModuleInUseError("res_store", 1, ["app_echo"])
    error.progress = (UnloadOutcome("app_echo", UnloadMode.FIRM),)
    facts = error.to_dict()["facts"]
    assert next(iter(facts)) == "name"
    assert facts["progress"] == [
        {
            "name": "app_echo",
            "mode": "firm",
            "previously_declined": False,
            "forced_use_count": 0,
            "dependents_unloaded": [],
            "removed_despite_refusal": None,
        }
    ]


def test_every_error_class_has_its_own_code():
    classes = [
        c
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, errors.ModLoaderError)
    ]
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes)) == len(classes)
