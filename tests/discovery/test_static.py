"""StaticDiscovery: modules given in code, and the arguments it refuses."""

from __future__ import annotations

from typing import Any

import pytest

from modloader import Host
from modloader import ModulesConfig
from modloader import StaticDiscovery


class _Plain:
    def load(self, ctx: Any) -> None:
        pass


def test_modules_given_in_code_are_found_added_and_removed() -> None:
    discovery = StaticDiscovery("t.static", {"res_a": _Plain})
    discovery.add("res_b", _Plain, summary="the second")
    assert [c.name for c in discovery.scan()] == ["res_a", "res_b"]
    discovery.remove("res_a")
    host = Host("t.static", discovery=discovery, config=ModulesConfig())
    host.start()
    assert [(m.name, m.state, m.description) for m in host.list_modules()] == [
        ("res_b", "running", "the second")
    ]
    assert discovery.loaded == ["res_b"]
    host.stop()


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((3, {}), TypeError, "'namespace' must be a str, not 3"),
        (("t.static", [("res_x", _Plain)]), TypeError, "'modules' must be a mapping"),
        (("t.static", "res_x"), TypeError, "not of type str"),
        (("t.static", {1: _Plain}), TypeError, "a module name must be a str, not 1"),
        (("t.static", {" ": _Plain}), ValueError, "a module name must not be empty"),
    ],
)
def test_wrong_arguments_are_named(args: tuple[Any, Any], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        StaticDiscovery(*args)
