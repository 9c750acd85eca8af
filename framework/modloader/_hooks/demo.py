"""The demo host's hooks: what ``modloader -n modloader.demo`` declares and calls.

The ``modloader`` command has no application code of its own; for its demo
namespace it declares :class:`DemoSpecs`, and its console command
``demo status`` calls :meth:`DemoSpecs.demo_status` on every running module
that implements it (the demo's ``res_hello`` and ``res_store`` do).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modloader._commands.table import Command
from modloader._commands.table import CommandTable
from modloader._commands.table import Reply
from modloader._hooks.markers import hookspec

if TYPE_CHECKING:
    from modloader._hooks.manager import HostHooks

__all__ = ["DemoSpecs", "install_demo_commands"]


class DemoSpecs:
    """Hooks of the demo host."""

    @hookspec
    def demo_status(self) -> str | None:
        """One line saying how the module is doing (``None``: nothing to say)."""


def install_demo_commands(table: CommandTable, hooks: HostHooks) -> None:
    """``demo status``, on a host that declares :class:`DemoSpecs`."""
    if DemoSpecs not in hooks.specs:
        return

    def status(args: list[str]) -> Reply:
        lines = [str(line) for line in hooks.relay.demo_status()]
        return Reply(lines=lines or ["No module reports a status."], data={"status": lines})

    table.add(
        Command(
            ("demo", "status"),
            status,
            "Ask every module implementing demo_status how it is doing",
            "demo status",
            None,
        )
    )
