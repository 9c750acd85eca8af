"""``demo status``: the console command of a host declaring :class:`~modloader.demo.DemoSpecs`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modloader._commands.table import Command
from modloader._commands.table import CommandTable
from modloader._commands.table import Reply
from modloader.demo import DemoSpecs

if TYPE_CHECKING:
    from modloader._hooks.manager import HostHooks

__all__ = ["install_demo_commands"]


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
            detail=(
                "Calls the demo host's demo_status hook: every running module that",
                "implements it answers with one line.",
            ),
        )
    )
