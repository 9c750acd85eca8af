"""Reading a module's contract from its object."""

from __future__ import annotations

import types

import pytest

from modloader._registry.record import ModuleRecord
from modloader._registry.record import read_contract


def test_a_python_module_s_contract_is_read_from_its_namespace() -> None:
    module = types.ModuleType("res_plain")
    module.description = "Plain\nsecond line"  # type: ignore[attr-defined]
    module.requires = ["res_a"]  # type: ignore[attr-defined]
    record = ModuleRecord("res_plain")
    read_contract(record, module)
    assert record.description == "Plain"
    assert record.requires == ("res_a",)
    assert (record.support_level, record.enhances) == ("unknown", ())


def test_a_python_module_s_getattr_is_asked_for_what_it_lacks() -> None:
    module = types.ModuleType("res_lazy")

    def __getattr__(name: str) -> object:  # PEP 562
        if name == "support_level":
            return "core"
        raise AttributeError(name)

    module.__getattr__ = __getattr__  # type: ignore[attr-defined]
    record = ModuleRecord("res_lazy")
    read_contract(record, module)
    assert record.support_level == "core"


def test_a_malformed_attribute_of_a_python_module_is_refused() -> None:
    module = types.ModuleType("res_bad")
    module.load_priority = 300  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="load_priority"):
        read_contract(ModuleRecord("res_bad"), module)


def test_a_refused_support_level_is_not_what_module_show_shows() -> None:
    """Declined for it, the module was still listed with the bad level ("bogus")."""

    class Bogus:
        support_level = "bogus"

    record = ModuleRecord("res_bogus")
    with pytest.raises(ValueError, match="'support_level' must be one of"):
        read_contract(record, Bogus())
    assert record.support_level == "unknown"


@pytest.mark.parametrize(
    ("attr", "value", "message"),
    [
        ("load", 5, "'load' must be a method, not 5"),
        ("unload", "no", "'unload' must be a method, not 'no'"),
        ("reload", 3, "'reload' must be a method, not 3"),
        ("description", 42, "'description' must be text, not 42"),
        ("requires", b"res_a", "'requires' must be a list of module names, not b'res_a'"),
        ("requires", [None], r"'requires' must be a list of module names, not \[None\]"),
        ("optional_modules", 5, "'optional_modules' must be a list of module names, not 5"),
        ("enhances", ("a", 7), r"'enhances' must be a list of module names, not \('a', 7\)"),
    ],
)
def test_an_attribute_of_the_wrong_type_is_refused_naming_it(
    attr: str, value: object, message: str
) -> None:
    """Taken before for what they were not: ``load = 5`` started a module that did
    nothing, ``requires = b"res_a"`` required modules '114', '101' ..."""
    obj = types.SimpleNamespace(**{attr: value})
    with pytest.raises(TypeError, match=f"^{message}$"):
        read_contract(ModuleRecord("res_odd"), obj)


@pytest.mark.parametrize("value", [None, "", (), []])
def test_empty_names_and_absent_hooks_are_nothing(value: object) -> None:
    obj = types.SimpleNamespace(requires=value, load=None, description=None)
    record = ModuleRecord("res_empty")
    read_contract(record, obj)
    assert (record.requires, record.load_hook, record.description) == ((), None, None)
