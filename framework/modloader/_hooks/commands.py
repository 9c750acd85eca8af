"""``module show hooks``: each hook and the modules implementing it, in call order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from modloader._commands.table import Command
from modloader._commands.table import CommandTable
from modloader._commands.table import Reply
from modloader._text import cell
from modloader._text import fit
from modloader.errors import UsageError

if TYPE_CHECKING:
    from modloader._hooks.info import HookImplInfo
    from modloader._hooks.info import HookInfo
    from modloader._hooks.manager import HostHooks
    from modloader._registry.calls import OpLock

__all__ = ["install_hook_commands", "render_hook_table"]

_ROW = "{:<30} {:<12} {}"


def _module_text(module: HookImplInfo) -> str:
    marks = [m for m in ("wrapper", "tryfirst", "trylast") if getattr(module, m)]
    return module.name + (f" ({', '.join(marks)})" if marks else "")


def render_hook_table(hooks: Iterable[HookInfo]) -> list[str]:
    """Header, one row per hook, and ``N hooks declared`` (``, M undeclared`` when
    modules implement hooks the host does not declare)."""
    lines = [_ROW.format("Hook", "Kind", "Modules (in call order)")]
    declared = undeclared = 0
    for hook in hooks:
        kind = "firstresult" if hook.firstresult else "historic" if hook.historic else ""
        if hook.declared:
            declared += 1
        else:
            undeclared += 1
            kind = "undeclared"
        modules = ", ".join(_module_text(m) for m in hook.modules) or "-"
        lines.append(f"{fit(hook.name, 30)} {kind:<12} {cell(modules)}".rstrip())
    total = f"{declared} hooks declared" if declared != 1 else "1 hook declared"
    lines.append(f"{total}, {undeclared} undeclared" if undeclared else total)
    return lines


def install_hook_commands(table: CommandTable, lock: OpLock, hooks: HostHooks | None) -> None:
    """Add ``module show hooks`` (and the demo host's ``demo status``) to ``table``."""

    def show_hooks(args: list[str]) -> Reply:
        keyword = None
        if args:
            if len(args) != 2 or args[0].lower() != "like":
                raise UsageError("")
            keyword = args[1].lower()
        if hooks is None:
            return Reply(lines=["This host declares no hooks."], data={"hooks": [], "count": 0})
        with lock:
            infos = [
                h
                for h in hooks.describe()
                if keyword is None
                or keyword in h.name.lower()
                or any(keyword in m.name.lower() for m in h.modules)
            ]
        data = {"hooks": [h.to_dict() for h in infos], "count": len(infos)}
        return Reply(lines=render_hook_table(infos), data=data)

    table.add(
        Command(
            ("module", "show", "hooks"),
            show_hooks,
            "List hooks and the modules implementing them",
            "module show hooks [like <keyword>]",
            lambda b: ["like"] if not b else [],
            detail=(
                "Each hook the host declares, with the running modules implementing it",
                "in the order a call reaches them. 'like' keeps the hooks or modules",
                "whose name contains the keyword.",
            ),
        )
    )
    if hooks is not None:
        from modloader._hooks.demo import install_demo_commands

        install_demo_commands(table, hooks)
