"""res_config_reload: a module that re-reads its configuration on reload.

``module reload res_config_reload`` calls :meth:`ConfigModule.reload`. A bad
file makes the reload fail (``ReloadResult.ERROR``: "The module
'res_config_reload' reported a reload failure") and the module keeps the
settings it had, as Asterisk modules do.

Configuration (``res_config_reload.conf``; a missing file means the defaults)::

    ; comments start with a semicolon
    greeting = Good morning
    interval = 30
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from modloader.errors import UsageError
from modloader.module import ModuleDeclined
from modloader.module import ReloadResult
from modloader.module import SupportLevel

if TYPE_CHECKING:
    from modloader import ModuleContext

#: Names the configuration file; see :data:`DEFAULT_PATH`.
CONFIG_VARIABLE = "DEMO_RES_CONFIG_RELOAD_CONF"
#: Read when :data:`CONFIG_VARIABLE` is not set.
DEFAULT_PATH = Path("/etc/modloader/res_config_reload.conf")


class BadConfig(ValueError):
    """The file cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Settings:
    greeting: str = "Hello"
    interval: int = 60


def config_path() -> Path:
    return Path(os.environ.get(CONFIG_VARIABLE) or DEFAULT_PATH)


def read_settings(path: Path) -> Settings:
    """Parse ``path``; the defaults if it does not exist; :class:`BadConfig` if it is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadConfig(f"cannot read {path}: {exc}") from exc
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        key, sep, value = (part.strip() for part in line.partition("="))
        if not sep or key.lower() not in ("greeting", "interval"):
            raise BadConfig(f"{path}:{number}: unknown setting {raw.strip()!r}")
        values[key.lower()] = value
    interval = values.get("interval", str(Settings.interval))
    if not interval.isdigit() or int(interval) < 1:
        raise BadConfig(f"{path}: interval must be a whole number of seconds, got {interval!r}")
    return Settings(greeting=values.get("greeting", Settings.greeting), interval=int(interval))


class ConfigModule:
    """Holds :class:`Settings`; ``settings show`` prints them. Not a :class:`Module` subclass."""

    description = "Re-reads its configuration file on reload"
    support_level = SupportLevel.EXTENDED

    def __init__(self) -> None:
        self.settings = Settings()
        self.path = DEFAULT_PATH

    def load(self, ctx: ModuleContext) -> None:
        self.path = config_path()
        try:
            self.settings = read_settings(self.path)
        except BadConfig as exc:
            # At load time a bad file is a decline, with the file and line.
            raise ModuleDeclined(str(exc)) from exc
        ctx.register_command("settings show", self._show, summary="Print the current settings")

    def reload(self, ctx: ModuleContext) -> ReloadResult:
        try:
            settings = read_settings(self.path)
        except BadConfig as exc:
            ctx.logger.error("reload failed, keeping the previous settings: %s", exc)
            return ReloadResult.ERROR
        self.settings = settings
        if os.path.exists(self.path):
            ctx.logger.info("reloaded %s", self.path)
        else:
            ctx.logger.info("no file at %s: using the default settings", self.path)
        return ReloadResult.SUCCESS

    def _show(self, args: Sequence[str]) -> str:
        if args:
            raise UsageError("settings show takes no arguments")
        settings = self.settings
        return f"file: {self.path}\ngreeting: {settings.greeting}\ninterval: {settings.interval}"


#: The entry point names this instance; it has no unload(): nothing to stop.
module = ConfigModule()
