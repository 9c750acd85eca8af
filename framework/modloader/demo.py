"""The hooks of the demo host (``modloader -n modloader.demo``).

The ``modloader`` command has no application code of its own. For its demo
namespace it declares :class:`DemoSpecs`, and its console command
``demo status`` calls ``demo_status`` on every running module that implements
it, in start order, printing each answer on its own line. The demo's
``res_hello`` and ``res_store`` implement it; a publisher tests an
implementation with ``modloader.testing.module_host(..., hookspecs=[DemoSpecs])``.
"""

from __future__ import annotations

from modloader._hooks.markers import hookspec

__all__ = ["DemoSpecs"]


class DemoSpecs:
    """Hooks of the demo host."""

    @hookspec
    def demo_status(self) -> str | None:
        """One line saying how the module is doing (``None``: nothing to say)."""
