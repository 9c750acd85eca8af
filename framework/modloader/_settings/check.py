"""``modloader --check`` and :meth:`Host.check`: validate everything, start nothing."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING
from typing import Any
from typing import NamedTuple

from modloader._names import name_key
from modloader._names import suggest
from modloader._registry.calls import CallResult
from modloader._registry.calls import CallStatus
from modloader._registry.startup import load_order
from modloader._registry.startup import stray_noloads
from modloader._registry.steps import ModuleCall
from modloader._registry.steps import Steps
from modloader._settings.service import SettingsService
from modloader._settings.service import env_head
from modloader._settings.service import model_of
from modloader.errors import ConfigError
from modloader.errors import ConfigIssue
from modloader.errors import ModuleNotInstalledError

if TYPE_CHECKING:
    from modloader._cli.args import Options
    from modloader._config.model import ModulesConfig
    from modloader._discovery.base import Candidate
    from modloader._host import Host
    from modloader._registry.catalogue import Catalogue
    from modloader._registry.lifecycle import Lifecycle
    from modloader._settings._validate import Resolved

__all__ = ["CheckReport", "check_host", "run_check"]

_log = logging.getLogger("modloader")


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


def check_host(host: Host, life: Lifecycle) -> CheckReport:
    """Read ``modules.conf``, then import each module that would start and validate its settings.

    Importing a module and validating its settings run its code: each is a module
    call (a call thread, the host's ``module_timeout``, anything raised caught), so a
    module that hangs or raises is an error of the report, not a check that never ends.
    """
    try:
        config = host.read_config()
    except ConfigError as exc:
        return CheckReport(errors=exc.issues)
    assert life.settings is not None
    builtins = [(name, obj, model_of(obj)) for name, obj in host.builtins.items()]
    findings = _Findings(list(config.warnings), builtins)
    life.run(_checks(host, life, config, findings))
    findings.warnings += _strays(life.settings, findings.with_settings)
    return CheckReport(
        tuple(findings.errors),
        tuple(findings.warnings),
        tuple(name for name, _, _ in findings.objects),
        tuple(findings.with_settings),
    )


class _Findings:
    """What the check has found so far."""

    def __init__(self, warnings: list[ConfigIssue], objects: list[tuple[str, Any, Any]]) -> None:
        self.errors: list[ConfigIssue] = []
        self.warnings = warnings
        #: The modules that would start, in load order, with their objects and models.
        self.objects = objects
        self.with_settings: list[str] = []

    def module_error(self, name: str, message: str, required: bool = True) -> None:
        issue = ConfigIssue(name, 0, "module", message)
        (self.errors if required else self.warnings).append(issue)


def _checks(host: Host, life: Lifecycle, config: ModulesConfig, found: _Findings) -> Steps[None]:
    """The check's steps: the modules' imports, then their settings, as module calls."""
    service = life.settings
    assert service is not None
    catalogue = life.catalogue
    with life.lock:
        catalogue.configure(autoload=config.autoload, noload=config.noload)
        catalogue.rescan()
        found.warnings += stray_noloads(catalogue, config)
        for entry in load_order(life, config, {name_key(n) for n in host.builtins}):
            candidate = catalogue.candidate(entry.name)
            if candidate is None:
                absent = catalogue.absent(entry.name)
                reason = absent.reason
                if isinstance(absent, ModuleNotInstalledError):
                    reason = "not installed" + absent.hint
                found.module_error(entry.name, reason, entry.required)
                continue
            call = yield _checking(
                life, "import", candidate.name, _instantiate, catalogue, candidate
            )
            if call.status is CallStatus.RETURNED:
                found.objects.append((candidate.name, *call.value))
            else:
                found.module_error(entry.name, f"cannot be imported: {call.reason}")
    for name, obj, model in found.objects:
        if model is None:
            continue
        found.with_settings.append(name)
        call = yield _checking(life, "settings", name, service.read, name, obj)
        if call.status is not CallStatus.RETURNED:
            why = call.reason
            if call.status is CallStatus.TIMED_OUT:
                why = f"its validators did not finish within {call.limit:g} s"
            found.module_error(name, f"its settings cannot be validated: {why}")
            continue
        resolved: Resolved = call.value
        found.errors += [
            ConfigIssue(i.source, i.line, i.kind, f"{name}: {i.message}") for i in resolved.errors
        ]
        found.warnings += [
            ConfigIssue(i.source, i.line, i.kind, f"{name}: {i.message}") for i in resolved.warnings
        ]


def _checking(
    life: Lifecycle, hook: str, name: str, fn: Callable[..., Any], *args: Any
) -> ModuleCall:
    """A module call of the check: nothing to reconcile when it returns late, but a word."""

    def late(result: CallResult) -> None:
        _log.warning(
            "%s: %s returned %.1f s after the check stopped waiting for it (%s)",
            name,
            "its import" if hook == "import" else "its settings validation",
            result.seconds,
            result.status.value,
        )

    return ModuleCall(hook, fn, args, life.timeout, late)


def _instantiate(catalogue: Catalogue, candidate: Candidate) -> tuple[Any, Any]:
    """Import a module and make its object, as startup does (its ``load()`` is not called):
    the object and its ``settings_model``, read in the same call, as startup reads it."""
    plugin = catalogue.load(candidate)
    obj = plugin() if isinstance(plugin, type) else plugin
    return obj, model_of(obj)


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
    from modloader._cli.args import EXIT_INTERRUPTED
    from modloader._cli.local import make_host
    from modloader._cli.output import write
    from modloader._cli.streams import KeptStreams
    from modloader._host import Host

    host = make_host(options)
    assert isinstance(host, Host)
    kept = KeptStreams()  # modules are imported: their code runs
    try:
        try:
            report = host.check()
        finally:
            kept.restore("the check")
    except KeyboardInterrupt:  # Ctrl-C: the check stops at once, and says so
        print("check interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
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
        from modloader._text import escape_controls

        for line in report.lines():  # a file's text may hold control characters: escaped
            shown = escape_controls(line) + "\n"
            write(sys.stdout if line.startswith("check ") else sys.stderr, shown)
    return report.exit_code


def _count(number: int, noun: str) -> str:
    """``1 error``, ``2 errors``."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
