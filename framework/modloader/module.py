"""The module contract: what a plugin publisher writes.

A module is an entry point in the host's namespace. It names a class
(instantiated once per load, with no arguments), an instance, or a Python
module. Every attribute below is optional; :class:`Module` is a convenience
base class that spells out the defaults.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import ClassVar

if TYPE_CHECKING:
    from modloader._registry.context import ModuleContext
    from modloader._settings.model import ModuleSettings

__all__ = [
    "LoadPriority",
    "LoadResult",
    "Module",
    "ModuleDeclined",
    "ReloadResult",
    "SupportLevel",
    "UnloadMode",
]


class LoadResult(enum.Enum):
    """What ``load(ctx)`` returns. ``None`` means :attr:`SUCCESS`."""

    #: The module is running.
    SUCCESS = "success"
    #: The module chose not to run; startup goes on without it.
    DECLINE = "decline"
    #: Something is so wrong that startup must abort (exit status 2).
    FAILURE = "failure"


class ReloadResult(enum.Enum):
    """What ``reload(ctx)`` returns. ``None`` means :attr:`SUCCESS`."""

    #: The module re-read its configuration.
    SUCCESS = "success"
    #: The reload failed; the module keeps running as before.
    ERROR = "error"


class UnloadMode(enum.Enum):
    """How hard ``module unload`` tries (``-f`` firm, ``-h`` hard)."""

    #: Refuse while references are held.
    SOFT = "soft"
    #: Go on despite references; running dependents are unloaded first.
    FIRM = "firm"
    #: As firm, and remove the module even if its ``unload()`` refuses.
    HARD = "hard"


class SupportLevel(enum.StrEnum):
    """How well a module is supported, as Asterisk's ``module show`` says."""

    CORE = "core"
    EXTENDED = "extended"
    DEPRECATED = "deprecated"
    UNKNOWN = "unknown"


class LoadPriority(enum.IntEnum):
    """Named load priorities, after Asterisk's ``AST_MODPRI_*``; lower starts earlier.

    Any int from 0 to 255 is accepted; these are the usual landmarks.
    """

    #: A dependency of a realtime driver.
    REALTIME_DEPEND = 10
    #: A second-level dependency of a realtime driver.
    REALTIME_DEPEND2 = 20
    #: A realtime driver, providing configuration to other modules.
    REALTIME_DRIVER = 30
    #: A core module meant to start between preload and load.
    CORE = 40
    #: Timing interfaces (the same slot as :attr:`CORE`, as in Asterisk).
    TIMING = 40
    #: A channel driver dependency.
    CHANNEL_DEPEND = 50
    #: A channel driver.
    CHANNEL_DRIVER = 60
    #: A dependency of an application.
    APP_DEPEND = 70
    #: A module that provides device state.
    DEVSTATE_PROVIDER = 80
    #: A plugin of a device state provider.
    DEVSTATE_PLUGIN = 90
    #: A CDR or CEL backend.
    CDR_DRIVER = 100
    #: Everything not otherwise placed.
    DEFAULT = 128
    #: Modules that consume device state and must start after all others.
    DEVSTATE_CONSUMER = 150


class ModuleDeclined(Exception):
    """Raise from ``load(ctx)`` to decline, with the reason operators will read."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Module:
    """Optional base class for modules; every attribute has the default shown.

    Subclassing is not required: any class, instance or Python module with
    some of these attributes is a module. ``reload`` is deliberately absent:
    a module that does not define it "does not support reloads".
    """

    #: One line for ``module show``; ``None`` falls back to the distribution's summary.
    description: ClassVar[str | None] = None
    #: ``core``, ``extended``, ``deprecated`` or ``unknown``.
    support_level: ClassVar[SupportLevel | str] = SupportLevel.UNKNOWN
    #: 0-255, lower starts earlier.
    load_priority: ClassVar[int] = LoadPriority.DEFAULT
    #: Modules that must be running first; this module holds a reference on each.
    requires: ClassVar[Sequence[str]] = ()
    #: Modules started first if they are in the load order; referenced when running.
    optional_modules: ClassVar[Sequence[str]] = ()
    #: Modules this one adds to; each must be running for this one to start.
    enhances: ClassVar[Sequence[str]] = ()
    #: A :class:`~modloader.ModuleSettings` subclass, validated before ``load()``: ``ctx.settings``.
    settings_model: ClassVar[type[ModuleSettings] | None] = None
    #: The settings file, relative to the host's configuration folder (default ``<name>.conf``).
    settings_file: ClassVar[str | None] = None

    def load(self, ctx: ModuleContext) -> LoadResult | Awaitable[LoadResult | None] | None:
        """Start. Return ``None``/SUCCESS, DECLINE or FAILURE, or raise :class:`ModuleDeclined`.

        May be ``async def`` under an :class:`~modloader.AsyncHost` (see :doc:`asyncio`).
        """
        return None

    def unload(self, ctx: ModuleContext) -> bool | Awaitable[bool | None] | None:
        """Stop. Return ``False`` (or raise) to refuse. May be ``async def``, as ``load``."""
        return None
