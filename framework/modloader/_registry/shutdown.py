"""Unwinding: every running module unloaded, newest first (an aborted startup, a stop)."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from modloader._registry.calls import CallStatus
from modloader._registry.calls import refusal
from modloader._registry.states import ModuleState
from modloader._registry.steps import Steps
from modloader._registry.steps import run_steps

if TYPE_CHECKING:
    from modloader._registry.lifecycle import Lifecycle
    from modloader._registry.record import ModuleRecord

__all__ = ["unwind"]

_log = logging.getLogger("modloader")


def unwind(life: Lifecycle, *, call_unload: bool = True) -> list[str]:
    """Unload every running module in reverse start order; the names unloaded.

    The ``unload()`` calls run one after another on one call thread
    (:func:`~modloader._registry.steps.run_steps`); each is waited for at most
    the lifecycle's time limit, and one that does not return by then is named
    in the log and removed anyway.
    """
    names: list[str] = []

    def unwind_one(record: ModuleRecord) -> Steps[None]:
        if record.busy and not _wait_idle(life, record):
            _log.warning(
                "%s: not unloaded at shutdown: gave up waiting for its %s() after %g s",
                record.name,
                record.busy,
                life.timeout,
            )
            return
        if record.state is not ModuleState.RUNNING:
            return
        life.set_state(record, ModuleState.UNLOADING)
        if call_unload:
            result = yield from life.unloading(record)
            if result is not None and result.status is CallStatus.TIMED_OUT:
                _log.warning(
                    "%s: gave up waiting for unload() after %g s; going on",
                    record.name,
                    result.limit,
                )
            elif refusal(result):
                _log.warning("%s refused to unload at shutdown: %s", record.name, refusal(result))
        yield from life.removing(record, drop_code=False)
        names.append(record.name)

    with life.lock:
        running = reversed(life.modules.running_in_start_order())
        run_steps(running, unwind_one, lock=life.lock, limit=life.timeout)
    return names


def _wait_idle(life: Lifecycle, record: ModuleRecord) -> bool:
    """Wait (the lock suspended, at most the time limit) for ``record``'s running call."""
    deadline = None if life.timeout is None else time.monotonic() + life.timeout
    depth = life.lock.suspend()
    try:
        while record.busy and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.01)
    finally:
        life.lock.restore(depth)
    return not record.busy
