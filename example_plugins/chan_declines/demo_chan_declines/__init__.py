"""chan_declines: declining well.

A module that cannot run here (no configuration, no device, no licence)
declines: startup goes on without it and ``module show`` lists it as
``Not Running``. The reason is what the operator reads, so it says what is
missing, where it was looked for, and how to fix it.

Configuration (``chan_declines.conf``), one channel per line::

    ; comments start with a semicolon
    channel = alice
    channel = bob
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from modloader.errors import UsageError
from modloader.module import LoadPriority
from modloader.module import Module
from modloader.module import ModuleDeclined
from modloader.module import SupportLevel

if TYPE_CHECKING:
    from modloader import ModuleContext

#: Names the configuration file; see :data:`DEFAULT_PATH`.
CONFIG_VARIABLE = "DEMO_CHAN_DECLINES_CONF"
#: Read when :data:`CONFIG_VARIABLE` is not set.
DEFAULT_PATH = Path("/etc/modloader/chan_declines.conf")


def config_path() -> Path:
    """Where the configuration is read from (the variable, else the default)."""
    return Path(os.environ.get(CONFIG_VARIABLE) or DEFAULT_PATH)


def read_channels(path: Path) -> list[str]:
    """The channels the file defines; :class:`ModuleDeclined` with a reason if it is unusable."""
    if not path.is_file():
        raise ModuleDeclined(
            f"chan_declines.conf not found at {path}; "
            f"set {CONFIG_VARIABLE} to its path, or create it"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModuleDeclined(f"cannot read {path}: {exc}") from exc
    channels = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep or key.strip().lower() != "channel" or not value.strip():
            raise ModuleDeclined(f"{path}:{number}: expected 'channel = NAME', got {raw.strip()!r}")
        channels.append(value.strip())
    if not channels:
        raise ModuleDeclined(f"{path} defines no channel; add a line 'channel = NAME'")
    return channels


class ChannelModule(Module):
    """A pretend channel driver with a ``channels show`` command."""

    description = "Demo channel driver (declines without its configuration)"
    support_level = SupportLevel.EXTENDED
    load_priority = LoadPriority.CHANNEL_DRIVER

    def __init__(self) -> None:
        self.channels: list[str] = []

    def load(self, ctx: ModuleContext) -> None:
        # Raising ModuleDeclined (or returning LoadResult.DECLINE, which gives
        # no reason) declines. Check everything before registering anything:
        # a declined module should leave nothing behind.
        self.channels = read_channels(config_path())
        ctx.register_command("channels show", self._show, summary="List the configured channels")

    def _show(self, args: Sequence[str]) -> str:
        if args:
            raise UsageError("channels show takes no arguments")
        return "\n".join([*self.channels, f"{len(self.channels)} channels"])
