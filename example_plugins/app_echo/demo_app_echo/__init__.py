"""app_echo: a module with a required and an optional dependency.

* ``requires = ["res_store"]``: res_store must be running before app_echo
  starts; while app_echo runs, the loader holds a reference on res_store for it,
  so ``module unload res_store`` is refused (use count 1, held by app_echo).
* ``optional_modules = ["res_metrics"]``: if res_metrics is in the load order it
  starts first and app_echo counts into it; if it is absent or declined,
  app_echo runs anyway.

res_store has priority REALTIME_DRIVER (30) and app_echo DEFAULT (128), so the
priorities and the dependency agree; if they did not, the dependency would
still start first.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from typing import TYPE_CHECKING

from modloader.errors import ModuleError
from modloader.errors import UsageError
from modloader.module import LoadPriority
from modloader.module import Module
from modloader.module import SupportLevel

if TYPE_CHECKING:
    from modloader import ModuleContext

#: Called with each echoed line (see :meth:`EchoModule.add_listener`).
ListenerT = Callable[[str], None]

#: The res_store key holding the last echoed line.
LAST_KEY = "app_echo.last"


class EchoModule(Module):
    """``echo WORDS...`` prints the words back and remembers them in res_store."""

    description = "Echoes the words it is given"
    support_level = SupportLevel.EXTENDED
    load_priority = LoadPriority.DEFAULT
    requires = ("res_store",)
    optional_modules = ("res_metrics",)

    def __init__(self) -> None:
        self._ctx: ModuleContext | None = None
        self._listeners: list[ListenerT] = []

    def load(self, ctx: ModuleContext) -> None:
        self._ctx = ctx
        ctx.register_command(
            "echo", self.echo, summary="Print the words back", usage="echo WORDS..."
        )

    def unload(self, ctx: ModuleContext) -> None:
        self._ctx = None
        self._listeners.clear()

    def add_listener(self, listener: ListenerT) -> Callable[[], None]:
        """Call ``listener`` with every echoed line; returns the function that removes it.

        Enhancers (res_metrics_echo) use this; they pass the remover to
        ``ctx.register`` so it runs when they are unloaded.
        """
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def echo(self, args: Sequence[str]) -> str:
        if not args:
            raise UsageError("echo needs at least one word")
        if self._ctx is None:
            raise RuntimeError("app_echo is not loaded")
        line = " ".join(args)
        # A short-lived reference: taken and released around the work. The
        # loader's own reference (from `requires`) keeps res_store running.
        with self._ctx.use("res_store") as store:
            store.obj.put(LAST_KEY, line)
        try:
            with self._ctx.use("res_metrics") as metrics:
                metrics.obj.count("app_echo.lines")
        except ModuleError:
            pass  # optional: not installed, noloaded, declined or stopped
        for listener in list(self._listeners):
            listener(line)
        return line
