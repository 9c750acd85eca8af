"""Start order planning (SPEC 4.2)."""

from __future__ import annotations

import random

from modloader._registry.graph import Slot
from modloader._registry.graph import plan_order


def slots(**priorities: int) -> dict[str, Slot]:
    return {k: (p, i, k) for i, (k, p) in enumerate(priorities.items())}


def test_priority_then_position() -> None:
    assert plan_order(slots(a=128, b=10, c=128, d=10), {}).order == ("b", "d", "a", "c")


def test_dependency_pulled_forward_to_its_dependents_slot() -> None:
    plan = plan_order(slots(base=150, dep=10, p50=50), {"dep": ["base"]})
    assert plan.order == ("base", "dep", "p50")


def test_transitive_pull_forward() -> None:
    plan = plan_order(slots(a=200, b=150, c=5, x=100), {"c": ["b"], "b": ["a"]})
    assert plan.order == ("a", "b", "c", "x")


def test_dependencies_outside_the_phase_are_ignored() -> None:
    assert plan_order(slots(a=1), {"a": ["elsewhere"]}).order == ("a",)


def test_cycle_is_named_and_its_dependents_blocked() -> None:
    plan = plan_order(slots(a=1, b=2, c=3, d=4), {"a": ["b"], "b": ["c"], "c": ["a"], "d": ["c"]})
    assert plan.order == ()
    assert plan.cycles == (("a", "b", "c", "a"),)
    assert plan.blocked == frozenset({"d"})


def test_self_dependency_is_a_cycle() -> None:
    plan = plan_order(slots(a=1, b=2), {"a": ["a"]})
    assert plan.cycles == (("a", "a"),)
    assert plan.order == ("b",)


def test_order_does_not_depend_on_input_order() -> None:
    base = {f"m{i:02}": (128 if i % 3 else 50, 0, f"m{i:02}") for i in range(30)}
    deps = {f"m{i:02}": [f"m{(i * 7) % 30:02}"] for i in range(0, 30, 4) if (i * 7) % 30 != i}
    first = plan_order(base, deps)
    items = list(base.items())
    for seed in range(5):
        random.Random(seed).shuffle(items)
        assert plan_order(dict(items), deps) == first
