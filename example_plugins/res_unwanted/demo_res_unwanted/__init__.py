"""res_unwanted: installed, but kept out by ``noload = res_unwanted``.

The demo's modules.conf lists it under ``noload``, so with ``autoload = yes``
it is still never imported: the loader reads its name from the distribution's
metadata and leaves it at that. ``module load res_unwanted`` starts it anyway,
because the operator asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modloader.module import Module
from modloader.module import SupportLevel

if TYPE_CHECKING:
    from modloader import ModuleContext


class UnwantedModule(Module):
    """Says so in the log when it is started."""

    description = "A module the demo configuration leaves out"
    support_level = SupportLevel.DEPRECATED

    def load(self, ctx: ModuleContext) -> None:
        ctx.logger.warning("res_unwanted is running; the demo's modules.conf normally noloads it")
