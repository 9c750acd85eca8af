"""Dropping a removed module's Python code from ``sys.modules``."""

from __future__ import annotations

import gc
import sys
from typing import TYPE_CHECKING

from modloader._registry.states import ModuleState

if TYPE_CHECKING:
    from modloader._registry.lifecycle import Lifecycle
    from modloader._registry.record import ModuleRecord

__all__ = ["drop_code"]

#: The states in which a module's code is in use.
_CODE_IN_USE = frozenset(
    {ModuleState.LOADING, ModuleState.RUNNING, ModuleState.UNLOADING, ModuleState.TIMED_OUT}
)


def drop_code(life: Lifecycle, record: ModuleRecord) -> list[str]:
    """Drop the removed module's Python modules from ``sys.modules`` (SPEC 5.3).

    Only the distribution's own top-level modules, and only when no module
    still loaded (loading, running, unloading, or timed out: its call still runs)
    comes from code under the same names: another module
    of the same distribution, or one whose entry point's module is under
    one of them (only those have their distribution's files read).
    """
    tops = set(life.top_levels(record))
    if not tops:
        return []
    for other in life.modules.records():
        candidate = other.candidate
        if candidate is None or other.state not in _CODE_IN_USE:
            continue  # a declined or failed module's object runs nothing: its code may go
        if (
            candidate.dist_name == record.dist_name
            or candidate.module_name.partition(".")[0] in tops
        ):
            tops -= life.top_levels(other)
    tops.discard("modloader")
    dropped = [n for n in list(sys.modules) if n.partition(".")[0] in tops]
    for name in dropped:
        sys.modules.pop(name, None)
    if dropped:
        # The folders are read again (if changed) by the scan before the next load.
        gc.unfreeze()  # what startup froze may now hold this code's garbage
    return dropped
