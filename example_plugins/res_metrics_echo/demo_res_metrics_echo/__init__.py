"""res_metrics_echo: an enhancer.

``enhances = ["app_echo"]`` says this module adds to app_echo: app_echo must be
running for it to start, it starts after app_echo, and a module that requires
app_echo starts after its running enhancers too. Here it listens to every echo
and counts its words in res_metrics, which it ``requires``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modloader.module import Module
from modloader.module import SupportLevel

if TYPE_CHECKING:
    from modloader import ModuleContext


class MetricsEchoModule(Module):
    """Counts the words app_echo echoes (counter ``app_echo.words``)."""

    description = "Counts app_echo's words in res_metrics"
    support_level = SupportLevel.EXTENDED
    enhances = ("app_echo",)
    requires = ("res_metrics",)

    def __init__(self) -> None:
        self._ctx: ModuleContext | None = None

    def load(self, ctx: ModuleContext) -> None:
        self._ctx = ctx
        with ctx.use("app_echo") as echo:
            remove = echo.obj.add_listener(self._on_echo)
        # Hand the loader the undo: it runs when this module is unloaded, even
        # by a hard unload, so app_echo never calls into a module that is gone.
        ctx.register("listener on app_echo", remove)

    def unload(self, ctx: ModuleContext) -> None:
        self._ctx = None

    def _on_echo(self, line: str) -> None:
        if self._ctx is None:
            return
        with self._ctx.use("res_metrics") as metrics:
            metrics.obj.count("app_echo.words", len(line.split()))
