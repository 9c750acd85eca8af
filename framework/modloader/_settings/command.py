"""``module settings <name> [--json]``: each effective value and where it came from."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING
from typing import Any

from modloader._commands.table import Command
from modloader._commands.table import CommandTable
from modloader._commands.table import Reply
from modloader._registry.calls import CallStatus
from modloader._registry.lifecycle import Lifecycle
from modloader._registry.outcomes import ModuleSettingsInfo
from modloader._registry.outcomes import SettingValue
from modloader._settings.service import env_head
from modloader._settings.service import model_of
from modloader._text import cell
from modloader._text import fit
from modloader._text import width
from modloader.errors import CommandError
from modloader.errors import ModLoaderError
from modloader.errors import ModuleBusyError
from modloader.errors import ModuleError
from modloader.errors import ModuleTimeoutError
from modloader.errors import UsageError

if TYPE_CHECKING:
    from modloader._registry.record import ModuleRecord
    from modloader._settings._validate import Resolved

__all__ = ["install_settings_command", "settings_info"]


def settings_info(life: Lifecycle, name: str) -> ModuleSettingsInfo:
    """``module settings <name>``: :meth:`Host.module_settings <modloader.Host.module_settings>`.

    :raises NoSuchModuleError: not in the module list.
    :raises ModuleBusyError: its code is running: its settings are not read now.
    :raises ModuleTimeoutError: validating them did not finish within the time limit.
    :raises ModuleError: its code was never imported, or validating them raised.
    """
    service = life.settings
    assert service is not None
    with life.lock:
        record = life.modules.get(name)
        obj = record.obj
        shown = record.ctx.name if record.ctx is not None else record.name
        if obj is None and record.candidate is not None:
            raise ModuleError(
                record.name,
                f"Module '{record.name}' was never imported ({record.state.status}); "
                "its settings are unknown",
            )
        model = None if obj is None else model_of(obj)
        if model is None:
            return ModuleSettingsInfo(record.name, declares_settings=False)
        resolved = service.in_force(shown) if record.state.running else None
        if resolved is None:
            resolved = _read(life, record, shown, obj)
        from modloader._settings._validate import effective_values

        return ModuleSettingsInfo(
            record.name,
            declares_settings=True,
            model=f"{model.__module__}.{model.__qualname__}",
            file=service.file_for(shown, obj),
            environment=env_head(service.env_prefix, shown) + "*",
            valid=resolved.ok,
            values=tuple(SettingValue(**row) for row in effective_values(resolved)),
            errors=tuple(resolved.errors),
            warnings=tuple(resolved.warnings),
        )


def _read(life: Lifecycle, record: ModuleRecord, shown: str, obj: Any) -> Resolved:
    """Read and validate ``record``'s settings now: its settings model's validators are
    its code, so they run as a module call (its thread, the time limit, the lock free)."""
    assert life.settings is not None
    if record.busy:
        raise ModuleBusyError(record.name, record.busy)
    call = life.run(life.module_call(record, "settings", life.settings.read, (shown, obj)))
    if call.status is CallStatus.TIMED_OUT:
        assert call.limit is not None
        error = ModuleTimeoutError(record.name, "settings", call.limit)
        error.message = (
            f"Module '{record.name}': validating its settings did not finish within "
            f"{call.limit:g} s"
        )
        raise error
    if call.status is CallStatus.RAISED:
        raise ModuleError(
            record.name, f"Module '{record.name}': validating its settings raised {call.reason}"
        )
    resolved: Resolved = call.value
    return resolved


def render(data: dict[str, Any]) -> list[str]:
    """The text form: a header, then ``key  value  origin`` rows, or the errors."""
    name = data["module"]
    if not data["declares_settings"]:
        return [f"Module '{name}' declares no settings."]
    lines = [
        f"Settings of '{name}' ({data['model']})",
        f"  file: {data['file'] or '(none: no configuration folder)'}",
        f"  environment: {data['environment']}",
    ]
    lines += [f"  warning: {w}" for w in data["warnings"]]
    if not data["valid"]:
        lines.append("The settings are invalid:")
        lines += [f"  {e}" for e in data["errors"]]
        return lines
    rows = [
        [
            cell(r["key"]),
            cell(json.dumps(r["value"]) if not isinstance(r["value"], str) else r["value"]),
            cell(r["origin"]),
        ]
        for r in data["settings"]
    ]
    widths = [
        max([len(h), *(width(row[i]) for row in rows)]) for i, h in enumerate(("Key", "Value"))
    ]
    lines.append(f"{'Key':<{widths[0]}}  {'Value':<{widths[1]}}  Origin")
    lines += [f"{fit(k, widths[0])}  {fit(v, widths[1])}  {o}" for k, v, o in rows]
    lines.append(f"{len(rows)} setting" if len(rows) == 1 else f"{len(rows)} settings")
    return lines


def install_settings_command(table: CommandTable, life: Lifecycle) -> None:
    """Add ``module settings`` to ``table``."""

    def handler(args: list[str]) -> Reply:
        as_json = "--json" in args
        words = [a for a in args if a != "--json"]
        if len(words) != 1:
            raise UsageError("")
        try:
            data = settings_info(life, words[0]).to_dict()
        except ModLoaderError as exc:
            raise CommandError(str(exc)) from None
        lines = [json.dumps(data, indent=2)] if as_json else render(data)
        return Reply(lines=lines, data=data, ok=data["valid"])

    def complete(before: list[str]) -> Iterable[str]:
        if before:
            return ["--json"] if "--json" not in before else []
        return [r.name for r in life.modules.ordered()] + ["--json"]

    table.add(
        Command(
            ("module", "settings"),
            handler,
            "Show a module's settings and where each value comes from",
            "module settings <module name> [--json]",
            complete,
            detail=(
                "Each effective value of the module's settings_model, with where it came",
                "from: its <name>.conf (file:line), an environment variable, code or the",
                "default. Secret values are masked. --json gives the structured form.",
            ),
        )
    )
