"""Who holds whom: the references a starting module takes, and the running dependents
of a module (SPEC 4.2, 6). Queries only: nothing here changes a record."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from modloader._names import name_key
from modloader._registry.states import ModuleState

if TYPE_CHECKING:
    from modloader._registry.catalogue import Catalogue
    from modloader._registry.modlist import ModuleList
    from modloader._registry.record import ModuleRecord

__all__ = ["dependents", "dependents_deep", "references_wanted", "unmet_dependencies"]

_GAVE_UP = (ModuleState.DECLINED, ModuleState.FAILED, ModuleState.TIMED_OUT)


def unmet_dependencies(
    modules: ModuleList, catalogue: Catalogue, record: ModuleRecord
) -> tuple[str | None, list[str]]:
    """Why ``record``'s dependencies keep it from starting now: the name of one that
    declined (or failed, or timed out), else why each missing one is missing."""
    missing: list[str] = []
    for dep in record.dependencies:
        dep_record = modules.find(dep)
        if dep_record is None:
            missing.append(catalogue.missing_reason(dep))
        elif dep_record.state in _GAVE_UP:
            return dep_record.name, []
        elif dep_record.state is not ModuleState.RUNNING:
            missing.append(f"'{dep}' is not running ({dep_record.state.value})")
    return None, missing


def references_wanted(
    modules: ModuleList, enhancers: Sequence[ModuleRecord], record: ModuleRecord
) -> list[ModuleRecord]:
    """What ``record`` holds a reference on while running.

    Its dependencies, its running optional modules, and the running
    ``enhancers`` of every module it requires.
    """
    wanted: dict[str, ModuleRecord] = {}
    for name in record.dependencies:
        dep = modules.get(name)
        wanted.setdefault(dep.key, dep)
    for name in record.optional_modules:
        other = modules.find(name)
        if other is not None and other.state.running:
            wanted.setdefault(other.key, other)
    if record.requires:
        targets = {modules.get(n).key for n in record.requires}
        running = [
            other
            for other in enhancers
            if other.state.running and any(name_key(n) in targets for n in other.enhances)
        ]
        for other in sorted(running, key=lambda r: r.start_seq):
            wanted.setdefault(other.key, other)
    wanted.pop(record.key, None)
    return list(wanted.values())


def dependents(modules: ModuleList, record: ModuleRecord) -> list[ModuleRecord]:
    """Running modules that hold a dependency reference on ``record``."""
    # A dependency's reference is held under the dependent's name: text (use()'s holder
    # from the application may be anything, unhashable too).
    holders = {h.holder for h in list(record.holders) if type(h.holder) is str}
    return [
        r
        for r in modules.running_in_start_order()
        if r is not record and r.name in holders and any(h._record is record for h in r.dep_handles)
    ]


def dependents_deep(modules: ModuleList, record: ModuleRecord) -> list[ModuleRecord]:
    """Running dependents of ``record``, transitively, in start order."""
    found: dict[str, ModuleRecord] = {}

    def visit(target: ModuleRecord) -> None:
        for dependent in dependents(modules, target):
            if dependent.key not in found:
                visit(dependent)
                found[dependent.key] = dependent

    visit(record)
    return sorted(found.values(), key=lambda r: r.start_seq)
