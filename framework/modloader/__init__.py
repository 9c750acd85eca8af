"""modloader: Asterisk's module loader for Python.

Modules are installed distributions found through entry points in the host's
namespace, chosen and ordered by ``modules.conf``, and managed at run time
with ``module show|load|unload|reload|refresh``.

This module stays cheap to import: the remote client imports the package,
and must not pay for typing, pydantic or stevedore. Every public name is
imported on first use from the private module that defines it.

The public names are listed once, in ``_PUBLIC`` (module -> names);
``__all__`` is made from it. The ``TYPE_CHECKING`` block repeats them for type
checkers only, which cannot follow a lazy import; a test keeps the two equal.
"""

from __future__ import annotations

from modloader._version import __version__ as __version__

# Not ``from typing import TYPE_CHECKING``: typing alone costs the remote client ~15 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from modloader._aio.host import AsyncHost as AsyncHost
    from modloader._aio.serving import AsyncControlSocket as AsyncControlSocket
    from modloader._cli import main as main
    from modloader._commands.base import CommandResult as CommandResult
    from modloader._config._load import load_config as load_config
    from modloader._config.model import ModuleEntry as ModuleEntry
    from modloader._config.model import ModulesConfig as ModulesConfig
    from modloader._control.remote_host import RemoteHost as RemoteHost
    from modloader._discovery.base import Candidate as Candidate
    from modloader._discovery.base import Discovery as Discovery
    from modloader._discovery.static import StaticDiscovery as StaticDiscovery
    from modloader._hooks.info import HookImplInfo as HookImplInfo
    from modloader._hooks.info import HookInfo as HookInfo
    from modloader._hooks.markers import hookimpl as hookimpl
    from modloader._hooks.markers import hookspec as hookspec
    from modloader._host import Host as Host
    from modloader._registry.context import ModuleContext as ModuleContext
    from modloader._registry.events import EventKind as EventKind
    from modloader._registry.events import ModuleEvent as ModuleEvent
    from modloader._registry.outcomes import LoadOutcome as LoadOutcome
    from modloader._registry.outcomes import ModuleInfo as ModuleInfo
    from modloader._registry.outcomes import ModuleSettingsInfo as ModuleSettingsInfo
    from modloader._registry.outcomes import RefreshOutcome as RefreshOutcome
    from modloader._registry.outcomes import ReloadOutcome as ReloadOutcome
    from modloader._registry.outcomes import ReloadStatus as ReloadStatus
    from modloader._registry.outcomes import SettingsReload as SettingsReload
    from modloader._registry.outcomes import SettingValue as SettingValue
    from modloader._registry.outcomes import UnloadOutcome as UnloadOutcome
    from modloader._registry.refs import ModuleHandle as ModuleHandle
    from modloader._registry.startup import StartupReport as StartupReport
    from modloader._registry.states import HostState as HostState
    from modloader._registry.states import ModuleState as ModuleState
    from modloader._serving import ControlSocket as ControlSocket
    from modloader._settings.check import CheckReport as CheckReport
    from modloader._settings.model import ModuleSettings as ModuleSettings
    from modloader.errors import AccessDeniedError as AccessDeniedError
    from modloader.errors import BuiltinModuleError as BuiltinModuleError
    from modloader.errors import CommandError as CommandError
    from modloader.errors import ConfigError as ConfigError
    from modloader.errors import ConfigIssue as ConfigIssue
    from modloader.errors import ConnectError as ConnectError
    from modloader.errors import ControlError as ControlError
    from modloader.errors import DependencyError as DependencyError
    from modloader.errors import DiscoveryError as DiscoveryError
    from modloader.errors import HostStateError as HostStateError
    from modloader.errors import HostStoppingError as HostStoppingError
    from modloader.errors import InvalidSettingsError as InvalidSettingsError
    from modloader.errors import InvalidTransitionError as InvalidTransitionError
    from modloader.errors import LoadDeclinedError as LoadDeclinedError
    from modloader.errors import ModLoaderError as ModLoaderError
    from modloader.errors import ModuleAlreadyRunningError as ModuleAlreadyRunningError
    from modloader.errors import ModuleBusyError as ModuleBusyError
    from modloader.errors import ModuleError as ModuleError
    from modloader.errors import ModuleInUseError as ModuleInUseError
    from modloader.errors import ModuleNotInstalledError as ModuleNotInstalledError
    from modloader.errors import ModuleNotRunningError as ModuleNotRunningError
    from modloader.errors import ModuleTimeoutError as ModuleTimeoutError
    from modloader.errors import NameConflictError as NameConflictError
    from modloader.errors import NoSuchCommandError as NoSuchCommandError
    from modloader.errors import NoSuchModuleError as NoSuchModuleError
    from modloader.errors import ProtocolError as ProtocolError
    from modloader.errors import ReloadError as ReloadError
    from modloader.errors import SocketInUseError as SocketInUseError
    from modloader.errors import StaleHandleError as StaleHandleError
    from modloader.errors import StartupError as StartupError
    from modloader.errors import UnloadRefusedError as UnloadRefusedError
    from modloader.errors import UsageError as UsageError
    from modloader.module import LoadPriority as LoadPriority
    from modloader.module import LoadResult as LoadResult
    from modloader.module import Module as Module
    from modloader.module import ModuleDeclined as ModuleDeclined
    from modloader.module import ReloadResult as ReloadResult
    from modloader.module import SupportLevel as SupportLevel
    from modloader.module import UnloadMode as UnloadMode

#: Every public name, by the private module that defines it (imported on first use).
_PUBLIC: dict[str, tuple[str, ...]] = {
    "modloader._cli": ("main",),
    "modloader._aio.host": ("AsyncHost",),
    "modloader._aio.serving": ("AsyncControlSocket",),
    "modloader._commands.base": ("CommandResult",),
    "modloader._config._load": ("load_config",),
    "modloader._control.remote_host": ("RemoteHost",),
    "modloader._config.model": (
        "ModuleEntry",
        "ModulesConfig",
    ),
    "modloader._discovery.base": (
        "Candidate",
        "Discovery",
    ),
    "modloader._discovery.static": ("StaticDiscovery",),
    "modloader._hooks.info": (
        "HookImplInfo",
        "HookInfo",
    ),
    "modloader._hooks.markers": (
        "hookimpl",
        "hookspec",
    ),
    "modloader._host": ("Host",),
    "modloader._registry.context": ("ModuleContext",),
    "modloader._registry.events": (
        "EventKind",
        "ModuleEvent",
    ),
    "modloader._registry.outcomes": (
        "LoadOutcome",
        "ModuleInfo",
        "ModuleSettingsInfo",
        "RefreshOutcome",
        "ReloadOutcome",
        "ReloadStatus",
        "SettingValue",
        "SettingsReload",
        "UnloadOutcome",
    ),
    "modloader._registry.refs": ("ModuleHandle",),
    "modloader._registry.startup": ("StartupReport",),
    "modloader._registry.states": (
        "HostState",
        "ModuleState",
    ),
    "modloader._serving": ("ControlSocket",),
    "modloader._settings.check": ("CheckReport",),
    "modloader._settings.model": ("ModuleSettings",),
    "modloader.errors": (
        "AccessDeniedError",
        "BuiltinModuleError",
        "CommandError",
        "ConfigError",
        "ConfigIssue",
        "ConnectError",
        "ControlError",
        "DependencyError",
        "DiscoveryError",
        "HostStateError",
        "HostStoppingError",
        "InvalidSettingsError",
        "InvalidTransitionError",
        "LoadDeclinedError",
        "ModLoaderError",
        "ModuleAlreadyRunningError",
        "ModuleBusyError",
        "ModuleError",
        "ModuleInUseError",
        "ModuleNotInstalledError",
        "ModuleNotRunningError",
        "ModuleTimeoutError",
        "NameConflictError",
        "NoSuchCommandError",
        "NoSuchModuleError",
        "ProtocolError",
        "ReloadError",
        "SocketInUseError",
        "StaleHandleError",
        "StartupError",
        "UnloadRefusedError",
        "UsageError",
    ),
    "modloader.module": (
        "LoadPriority",
        "LoadResult",
        "Module",
        "ModuleDeclined",
        "ReloadResult",
        "SupportLevel",
        "UnloadMode",
    ),
}

_LAZY: dict[str, str] = {name: module for module, names in _PUBLIC.items() for name in names}

__all__ = sorted([*_LAZY, "__version__"])


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'modloader' has no attribute {name!r}")
    # __import__ rather than importlib.import_module: importlib costs the remote client.
    value = getattr(__import__(module, fromlist=[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return list(__all__)
