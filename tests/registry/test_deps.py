"""Who holds whom: a starting module's references, and a module's running dependents."""

from __future__ import annotations

from modloader import Host
from modloader import ModulesConfig
from modloader import StaticDiscovery
from modloader._registry.deps import dependents
from modloader._registry.deps import dependents_deep
from modloader._registry.deps import references_wanted
from tests.registry.test_startup import Journal
from tests.registry.test_startup import module


def _host(**modules: type) -> Host:
    host = Host(
        "test.deps",
        discovery=StaticDiscovery("test.deps", dict(modules)),
        config=ModulesConfig(autoload=True),
    )
    host.start()
    return host


def test_references_are_dependencies_running_optionals_and_enhancers_of_what_is_required() -> None:
    journal = Journal()
    host = _host(
        base=module(journal),
        extra=module(journal),
        enh=module(journal, enhances=("base",)),
        user=module(journal, requires=("base",), optional=("extra", "absent")),
    )
    life = host._lifecycle
    user = life.modules.get("user")
    wanted = references_wanted(life.modules, life.enhancers, user)
    assert [r.name for r in wanted] == ["base", "extra", "enh"]
    assert sorted(h.holder for h in life.modules.get("base").holders) == ["enh", "user"]


def test_dependents_deep_are_transitive_in_start_order() -> None:
    journal = Journal()
    host = _host(
        a=module(journal),
        b=module(journal, requires=("a",)),
        c=module(journal, requires=("b",)),
        d=module(journal),
    )
    modules = host._lifecycle.modules
    a = modules.get("a")
    assert [r.name for r in dependents(modules, a)] == ["b"]
    assert [r.name for r in dependents_deep(modules, a)] == ["b", "c"]
    assert dependents_deep(modules, modules.get("d")) == []
    with host.use("a"):  # a holder that is not a module is no dependent
        assert [r.name for r in dependents(modules, a)] == ["b"]
