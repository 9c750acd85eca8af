"""res_metrics: counters, published as a plain Python module.

The entry point names this Python module (``demo_res_metrics``, no
``:attribute``), so the module-level names below are the module's attributes
and hooks. A Python module is imported once per process, so ``load()`` resets
the state it keeps in globals. Modules that ``use()`` res_metrics get this
Python module as the handle's ``obj`` and call :func:`count`.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from modloader.errors import UsageError
from modloader.module import LoadPriority
from modloader.module import SupportLevel

if TYPE_CHECKING:
    from modloader import ModuleContext

description = "Counts events for the other demo modules"
support_level = SupportLevel.EXTENDED
# Started before the applications that count into it.
load_priority = LoadPriority.APP_DEPEND

_counters: Counter[str] = Counter()
_lock = threading.Lock()


def load(ctx: ModuleContext) -> None:
    with _lock:
        _counters.clear()
    ctx.register_command("metrics show", _show, summary="Print every counter")


def unload(ctx: ModuleContext) -> None:
    with _lock:
        _counters.clear()


def count(name: str, amount: int = 1) -> None:
    """Add ``amount`` to the counter ``name``."""
    with _lock:
        _counters[name] += amount


def get(name: str) -> int:
    """The counter's value (0 if never counted)."""
    with _lock:
        return _counters[name]


def _show(args: Sequence[str]) -> str:
    if args:
        raise UsageError("metrics show takes no arguments")
    with _lock:
        lines = [f"{name:<30} {value:>8}" for name, value in sorted(_counters.items())]
    return "\n".join([*lines, f"{len(lines)} counters"])
