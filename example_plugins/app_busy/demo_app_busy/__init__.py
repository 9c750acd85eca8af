"""app_busy: refusing to unload while busy, and holding a reference while working.

``busy start [SECONDS]`` starts a background job that takes a reference on
res_store (``ctx.use``) and writes a tick counter into it until ``busy stop``
or until SECONDS have passed. While the job runs:

* ``module unload app_busy`` is refused: :meth:`BusyModule.unload` returns
  ``False`` ("Firm unload failed for app_busy"); only ``module unload -h``
  removes it anyway, and then the loader still removes its commands.
* ``module unload res_store`` is refused: its use count includes the job's
  reference ("held by app_busy"), released when the job ends.

app_busy does not ``require`` res_store: it needs it only while a job runs,
so it takes the reference then, and ``busy start`` fails with a clear message
when res_store is not running.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any

from modloader.errors import CommandError
from modloader.errors import ModuleError
from modloader.errors import UsageError
from modloader.module import Module
from modloader.module import SupportLevel

if TYPE_CHECKING:
    from modloader import ModuleContext

#: The res_store key the job counts into.
TICKS_KEY = "app_busy.ticks"
#: Seconds between ticks.
TICK = 0.05


class BusyModule(Module):
    """``busy start [SECONDS]``, ``busy stop`` and ``busy status``."""

    description = "Background job that holds res_store while it runs"
    support_level = SupportLevel.EXTENDED

    def __init__(self) -> None:
        self._ctx: ModuleContext | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.ticks = 0

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def load(self, ctx: ModuleContext) -> None:
        self._ctx = ctx
        ctx.register_command(
            "busy start", self._start, summary="Start the job", usage="busy start [SECONDS]"
        )
        ctx.register_command("busy stop", self._stop_command, summary="Stop the job")
        ctx.register_command("busy status", self._status, summary="Is the job running?")

    def unload(self, ctx: ModuleContext) -> bool:
        if self.busy:
            # Refusing is the module's right: the job would be cut off midway.
            ctx.logger.warning("a job is running; stop it first with 'busy stop'")
            return False
        self._ctx = None
        return True

    def start(self, seconds: float | None = None) -> None:
        """Start the job; :class:`CommandError` if one runs or res_store is not running."""
        if self._ctx is None:
            raise CommandError("app_busy is not loaded")
        if self.busy:
            raise CommandError("a job is already running")
        try:
            # Taken here, in the caller's thread, so a failure reaches the operator.
            handle = self._ctx.use("res_store")
        except ModuleError as exc:
            raise CommandError(f"cannot start the job: {exc}") from exc
        self._stop.clear()
        self.ticks = 0
        self._thread = threading.Thread(
            target=self._run, args=(handle, seconds), name="app_busy job", daemon=True
        )
        self._thread.start()

    def stop(self) -> bool:
        """Stop the job and wait for it; ``False`` if none was running."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return False
        self._stop.set()
        thread.join()
        return True

    def _run(self, handle: Any, seconds: float | None) -> None:
        # The handle is released when the job ends, however it ends.
        with handle:
            deadline = None if seconds is None else seconds / TICK
            while not self._stop.wait(TICK):
                self.ticks += 1
                try:
                    handle.obj.put(TICKS_KEY, str(self.ticks))
                except ModuleError as exc:
                    # An operator forced res_store out (module unload -f): the
                    # reference is stale. End the job cleanly instead of crashing.
                    if self._ctx is not None:
                        self._ctx.logger.warning("job stopped after %d ticks: %s", self.ticks, exc)
                    return
                if deadline is not None and self.ticks >= deadline:
                    break

    # -- console commands ----------------------------------------------------------

    def _start(self, args: Sequence[str]) -> str:
        if len(args) > 1:
            raise UsageError("busy start takes at most one number of seconds")
        try:
            seconds = float(args[0]) if args else None
        except ValueError:
            raise UsageError(f"not a number of seconds: {args[0]!r}") from None
        self.start(seconds)
        return "job started" + (f" for {seconds:g} s" if seconds is not None else "")

    def _stop_command(self, args: Sequence[str]) -> str:
        if args:
            raise UsageError("busy stop takes no arguments")
        return f"job stopped after {self.ticks} ticks" if self.stop() else "no job is running"

    def _status(self, args: Sequence[str]) -> str:
        if args:
            raise UsageError("busy status takes no arguments")
        return f"job running, {self.ticks} ticks" if self.busy else "idle"
