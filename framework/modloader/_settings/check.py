"""``modloader --check`` and :meth:`Host.check`: validate everything, start nothing."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING
from typing import Any
from typing import NamedTuple

from modloader._names import name_key
from modloader._names import suggest
from modloader._settings.service import SettingsService
from modloader._settings.service import env_head
from modloader._settings.service import model_of
from modloader.errors import ConfigError
from modloader.errors import ConfigIssue
from modloader.errors import ModuleNotInstalledError

if TYPE_CHECKING:
    from modloader._cli.args import Options
    from modloader._host import Host
    from modloader._registry.lifecycle import Lifecycle

__all__ = ["CheckReport", "check_host", "run_check"]


class CheckReport(NamedTuple):
    """What ``Host.check()`` found; ``ok`` when a start would meet no error."""

    #: Every error: ``modules.conf``, modules that cannot be imported, invalid settings.
    errors: tuple[ConfigIssue, ...] = ()
    #: Every warning (skipped lines, environment variables naming no setting, ...).
    warnings: tuple[ConfigIssue, ...] = ()
    #: The modules that would start, in load order.
    modules: tuple[str, ...] = ()
    #: Those among them whose settings were validated.
    with_settings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def exit_code(self) -> int:
        """0 when all is well, else 1."""
        return 0 if self.ok else 1

    def lines(self) -> list[str]:
        """What ``modloader --check`` prints."""
        out = [f"error: {issue}" for issue in self.errors]
        out += [f"warning: {issue}" for issue in self.warnings]
        verdict = "OK" if self.ok else f"FAILED ({_count(len(self.errors), 'error')})"
        out.append(
            f"check {verdict}: {_count(len(self.modules), 'module')} would start, "
            f"{len(self.with_settings)} with settings"
        )
        return out


def _module_issue(name: str, message: str) -> ConfigIssue:
    return ConfigIssue(name, 0, "module", message)


def check_host(host: Host, life: Lifecycle) -> CheckReport:
    """Read ``modules.conf``, then import each module that would start and validate its settings."""
    from modloader._registry.startup import _load_order

    service = life.settings
    assert service is not None
    try:
        config = host.read_config()
    except ConfigError as exc:
        return CheckReport(errors=exc.issues)
    errors: list[ConfigIssue] = []
    warnings = list(config.warnings)
    with_settings: list[str] = []
    objects: list[tuple[str, Any]] = list(host.builtins.items())
    catalogue = life.catalogue
    with life.lock:
        catalogue.configure(autoload=config.autoload, noload=config.noload)
        catalogue.rescan()
        for entry in _load_order(life, config, {name_key(n) for n in host.builtins}):
            candidate = catalogue.candidate(entry.name)
            if candidate is None:
                absent = catalogue.absent(entry.name)
                reason = absent.reason
                if isinstance(absent, ModuleNotInstalledError):
                    reason = "not installed" + absent.hint
                issue = _module_issue(entry.name, reason)
                (errors if entry.required else warnings).append(issue)
                continue
            try:
                plugin = catalogue.load(candidate)
                obj = plugin() if isinstance(plugin, type) else plugin
            except (Exception, SystemExit) as exc:
                errors.append(
                    _module_issue(entry.name, f"cannot be imported: {type(exc).__name__}: {exc}")
                )
                continue
            objects.append((candidate.name, obj))
    for name, obj in objects:
        if model_of(obj) is None:
            continue
        with_settings.append(name)
        try:
            resolved = service.read(name, obj)  # its validators are its code: as at import
        except (Exception, SystemExit) as exc:
            message = f"its settings cannot be validated: {type(exc).__name__}: {exc}"
            errors.append(_module_issue(name, message))
            continue
        errors += [
            ConfigIssue(i.source, i.line, i.kind, f"{name}: {i.message}") for i in resolved.errors
        ]
        warnings += [
            ConfigIssue(i.source, i.line, i.kind, f"{name}: {i.message}") for i in resolved.warnings
        ]
    warnings += _strays(service, with_settings)
    modules = tuple(name for name, _ in objects)
    return CheckReport(tuple(errors), tuple(warnings), modules, tuple(with_settings))


def _strays(service: SettingsService, names: list[str]) -> list[ConfigIssue]:
    """Settings from code or the environment for no module that declares settings."""
    found: list[ConfigIssue] = []
    known = {name_key(n) for n in names}
    for key in service.code:
        if key not in known:
            hint = suggest(key, names, n=1)
            message = f"settings given for '{key}', which is not a module with settings" + (
                f" (did you mean '{hint[0]}'?)" if hint else ""
            )
            found.append(ConfigIssue("<code>", 0, "unknown-module", message))
    prefix = service.env_prefix.upper()
    heads = {env_head(service.env_prefix, n): n for n in names}
    for variable in sorted(service.environ):
        upper = variable.upper()
        if not upper.startswith(prefix) or "__" not in upper[len(prefix) :]:
            continue
        if any(upper.startswith(head) for head in heads):
            continue
        module = upper[len(prefix) :].partition("__")[0].lower()
        hint = suggest(module, names, n=1)
        message = "names no module with settings" + (
            f" (did you mean '{hint[0]}'?)" if hint else ""
        )
        found.append(ConfigIssue(variable, 0, "unknown-module", message))
    return found


def run_check(options: Options) -> int:
    """``modloader -n NS [-C FILE] --check``: print every problem; exit 1 if there is an error."""
    from modloader._cli.local import make_host
    from modloader._host import Host

    host = make_host(options)
    assert isinstance(host, Host)
    report = host.check()
    if options.json:
        print(
            json.dumps(
                {
                    "ok": report.ok,
                    "errors": [str(i) for i in report.errors],
                    "warnings": [str(i) for i in report.warnings],
                    "modules": list(report.modules),
                    "with_settings": list(report.with_settings),
                },
                indent=2,
            )
        )
    else:
        for line in report.lines():
            print(line, file=sys.stdout if line.startswith("check ") else sys.stderr)
    return report.exit_code


def _count(number: int, noun: str) -> str:
    """``1 error``, ``2 errors``."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
