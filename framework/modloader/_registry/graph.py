"""Start order within a phase (SPEC 4.2), planned before anything is started.

Each module has a slot ``(load_priority, position)``. A dependency inherits
the earliest slot of the modules that need it, so it starts before them even
when its own priority is later; among the modules whose dependencies have
all been placed, the earliest slot goes first, ties broken by name, so the
order never depends on the file system. A cycle is named and every module on
it is left out of the order.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Mapping
from typing import NamedTuple

__all__ = ["Plan", "Slot", "plan_order"]

#: ``(load_priority, position, name key)``: lower starts earlier.
Slot = tuple[int, int, str]


class Plan(NamedTuple):
    """The order to start in, and the cycles that were left out of it."""

    order: tuple[str, ...]
    #: Each cycle as a closed path of keys: ``("a", "b", "a")``.
    cycles: tuple[tuple[str, ...], ...] = ()
    #: Keys left out because they depend (directly or not) on a cycle.
    blocked: frozenset[str] = frozenset()


def _effective_slots(
    slots: Mapping[str, Slot], deps: Mapping[str, Iterable[str]]
) -> dict[str, Slot]:
    """Lower each module's slot to the earliest slot among everything that depends on it."""
    effective = dict(slots)
    dependents: dict[str, list[str]] = {key: [] for key in slots}
    for key, needed in deps.items():
        for dep in needed:
            if dep in dependents:
                dependents[dep].append(key)
    # Push each slot down the dependency edges; a slot only ever decreases, so this ends.
    heap = [(slot, key) for key, slot in effective.items()]
    heapq.heapify(heap)
    while heap:
        slot, key = heapq.heappop(heap)
        if slot != effective[key]:
            continue
        for dep in deps.get(key, ()):
            if dep in effective and slot[:2] < effective[dep][:2]:
                effective[dep] = (slot[0], slot[1], effective[dep][2])
                heapq.heappush(heap, (effective[dep], dep))
    return effective


def _find_cycle(remaining: set[str], deps: Mapping[str, Iterable[str]]) -> tuple[str, ...]:
    """A closed path through ``remaining`` (each node there has an unplaced dependency)."""
    start = min(remaining)
    path: list[str] = []
    seen: dict[str, int] = {}
    node = start
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = min(d for d in deps.get(node, ()) if d in remaining)
    return (*path[seen[node] :], node)


def _block(
    cycle: tuple[str, ...],
    dependents: Mapping[str, list[str]],
    remaining: set[str],
    blocked: set[str],
) -> None:
    """Leave ``cycle`` out, and everything that needs it: it never becomes ready."""
    blocked.update(cycle)
    remaining.difference_update(cycle)
    stack = list(cycle)
    while stack:
        for dependent in dependents[stack.pop()]:
            if dependent in remaining:
                remaining.discard(dependent)
                blocked.add(dependent)
                stack.append(dependent)


def plan_order(slots: Mapping[str, Slot], deps: Mapping[str, Collection[str]]) -> Plan:
    """Order ``slots``' keys so that every key comes after its ``deps`` present in ``slots``.

    Dependencies on keys not in ``slots`` are ignored here: whether such a
    module may start is decided when it is its turn.
    """
    local: dict[str, list[str]] = {}
    for key in slots:
        needed = deps.get(key, ())
        local[key] = sorted({d for d in needed if d in slots and d != key}) if needed else []
    self_loops = [key for key in slots if key in deps.get(key, ())]
    effective = _effective_slots(slots, local)
    waiting = {key: len(needed) for key, needed in local.items()}
    dependents: dict[str, list[str]] = {key: [] for key in slots}
    for key, needed in local.items():
        for dep in needed:
            dependents[dep].append(key)

    cycles: list[tuple[str, ...]] = [(key, key) for key in sorted(self_loops)]
    blocked: set[str] = set(self_loops)
    order: list[str] = []
    ready = [(effective[key], key) for key, n in waiting.items() if n == 0 and key not in blocked]
    heapq.heapify(ready)
    remaining = set(slots) - blocked
    while remaining:
        if not ready:
            cycle = _find_cycle(remaining, local)
            cycles.append(cycle)
            _block(cycle, dependents, remaining, blocked)
            ready = [(effective[k], k) for k in remaining if waiting[k] == 0]
            heapq.heapify(ready)
            continue
        _, key = heapq.heappop(ready)
        if key not in remaining:
            continue
        remaining.discard(key)
        order.append(key)
        for dependent in dependents[key]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0 and dependent in remaining:
                heapq.heappush(ready, (effective[dependent], dependent))
    cycle_members = {k for c in cycles for k in c}
    return Plan(tuple(order), tuple(cycles), frozenset(blocked - cycle_members))
