"""chan_declines: declining well.

A module that cannot run here (no configuration, no device, no licence)
declines: startup goes on without it and ``module show`` lists it as
``Not Running``. The reason is what the operator reads, so it says what is
missing, where it was looked for, and how to fix it.

Its settings come from ``chan_declines.conf`` in the host's configuration
folder, one ``channel`` line per channel. Without at least one channel its
settings do not validate and the host declines it before ``load()`` is
called, naming the file to write::

    ; comments start with a semicolon
    [general]
    channel = alice
    channel = bob

A channel that is not ready yet can be listed as ``offline``; ``load()``
declines (with :class:`ModuleDeclined`) when every channel is offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import Field

from modloader import ModuleSettings
from modloader.errors import UsageError
from modloader.module import LoadPriority
from modloader.module import Module
from modloader.module import ModuleDeclined
from modloader.module import SupportLevel

if TYPE_CHECKING:
    from modloader import ModuleContext


class ChannelSettings(ModuleSettings):
    """What ``chan_declines.conf`` may set."""

    #: One ``channel = NAME`` line per channel; at least one.
    channel: list[str] = Field(min_length=1)
    #: Channels listed but not started (``offline = NAME``, repeatable).
    offline: list[str] = Field(default_factory=list)


class ChannelModule(Module):
    """A pretend channel driver with a ``channels show`` command."""

    description = "Demo channel driver (declines without its configuration)"
    support_level = SupportLevel.EXTENDED
    load_priority = LoadPriority.CHANNEL_DRIVER
    settings_model = ChannelSettings

    def __init__(self) -> None:
        self.channels: list[str] = []

    def load(self, ctx: ModuleContext[ChannelSettings]) -> None:
        # Raising ModuleDeclined (or returning LoadResult.DECLINE, which gives
        # no reason) declines. Check everything before registering anything:
        # a declined module should leave nothing behind.
        offline = set(ctx.settings.offline)
        channels = [name for name in ctx.settings.channel if name not in offline]
        if not channels:
            raise ModuleDeclined(
                "every channel in chan_declines.conf is offline; "
                "remove an 'offline' line to start one"
            )
        self.channels = channels
        ctx.register_command("channels show", self._show, summary="List the configured channels")

    def _show(self, args: Sequence[str]) -> str:
        if args:
            raise UsageError("channels show takes no arguments")
        return "\n".join([*self.channels, f"{len(self.channels)} channels"])
