"""res_config_reload: a module whose settings change on ``module reload``.

Its settings come from ``res_config_reload.conf`` in the host's configuration
folder (a missing file means the defaults)::

    ; comments start with a semicolon
    [general]
    greeting = Good morning
    interval = 30

``module reload res_config_reload`` re-reads the file and validates it
before this module hears of it. A bad file fails the reload (naming the file
and line) and the settings in force stay; an unchanged file does not disturb
the module; a changed one calls :meth:`ConfigModule.reload`, which sees the
new ``ctx.settings``. If ``reload()`` fails, the host restores the previous
settings, as Asterisk's configuration framework does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import Field

from modloader import ModuleSettings
from modloader.errors import UsageError
from modloader.module import ReloadResult
from modloader.module import SupportLevel

if TYPE_CHECKING:
    from modloader import ModuleContext


class Settings(ModuleSettings):
    """What ``res_config_reload.conf`` may set."""

    #: Printed by ``settings show``.
    greeting: str = "Hello"
    #: A whole number of seconds, at least 1.
    interval: int = Field(60, ge=1)


class ConfigModule:
    """``settings show`` prints the settings in force. Not a :class:`Module` subclass."""

    description = "Re-reads its configuration file on reload"
    support_level = SupportLevel.EXTENDED
    settings_model = Settings

    def __init__(self) -> None:
        self.settings = Settings()
        self.reloads = 0

    def load(self, ctx: ModuleContext[Settings]) -> None:
        self.settings = ctx.settings
        ctx.register_command("settings show", self._show, summary="Print the current settings")

    def reload(self, ctx: ModuleContext[Settings]) -> ReloadResult:
        # Only called with new settings that validated: nothing to parse or check here.
        self.settings = ctx.settings
        self.reloads += 1
        ctx.logger.info("interval is now %d s", ctx.settings.interval)
        return ReloadResult.SUCCESS

    def _show(self, args: Sequence[str]) -> str:
        if args:
            raise UsageError("settings show takes no arguments")
        settings = self.settings
        return f"greeting: {settings.greeting}\ninterval: {settings.interval}"


#: The entry point names this instance; it has no unload(): nothing to stop.
module = ConfigModule()
