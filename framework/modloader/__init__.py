"""modloader: Asterisk's module loader for Python.

Modules are installed distributions found through entry points in the host's
namespace, chosen and ordered by ``modules.conf``, and managed at run time
with ``module show|load|unload|reload|refresh``.

This module stays cheap to import: the remote client imports the package,
and must not pay for pydantic or stevedore. Those are imported when a host
reads its configuration or loads a module.
"""

from __future__ import annotations

from modloader._version import __version__ as __version__

# Not ``from typing import TYPE_CHECKING``: typing alone costs the remote client ~15 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from modloader._commands.base import CommandResult as CommandResult
    from modloader._config.model import ModuleEntry as ModuleEntry
    from modloader._config.model import ModulesConfig as ModulesConfig
    from modloader._discovery.base import Candidate as Candidate
    from modloader._discovery.static import StaticDiscovery as StaticDiscovery
    from modloader._hooks.markers import hookimpl as hookimpl
    from modloader._hooks.markers import hookspec as hookspec
    from modloader._host import Host as Host
    from modloader._host import HostState as HostState
    from modloader._registry.context import ModuleContext as ModuleContext
    from modloader._registry.events import EventKind as EventKind
    from modloader._registry.events import ModuleEvent as ModuleEvent
    from modloader._registry.refs import ModuleHandle as ModuleHandle
    from modloader._registry.startup import StartupReport as StartupReport
    from modloader._registry.states import ModuleState as ModuleState
    from modloader.errors import CommandError as CommandError
    from modloader.errors import ConfigError as ConfigError
    from modloader.errors import ConfigIssue as ConfigIssue
    from modloader.errors import ConnectError as ConnectError
    from modloader.errors import ControlError as ControlError
    from modloader.errors import DependencyError as DependencyError
    from modloader.errors import DiscoveryError as DiscoveryError
    from modloader.errors import HostStateError as HostStateError
    from modloader.errors import ModLoaderError as ModLoaderError
    from modloader.errors import ModLoaderWarning as ModLoaderWarning
    from modloader.errors import ModuleError as ModuleError
    from modloader.errors import ModuleInUseError as ModuleInUseError
    from modloader.errors import ModuleNotRunningError as ModuleNotRunningError
    from modloader.errors import NameConflictError as NameConflictError
    from modloader.errors import NoSuchCommandError as NoSuchCommandError
    from modloader.errors import NoSuchModuleError as NoSuchModuleError
    from modloader.errors import ProtocolError as ProtocolError
    from modloader.errors import StaleHandleError as StaleHandleError
    from modloader.errors import StartupError as StartupError
    from modloader.errors import UsageError as UsageError
    from modloader.module import LoadPriority as LoadPriority
    from modloader.module import LoadResult as LoadResult
    from modloader.module import Module as Module
    from modloader.module import ModuleDeclined as ModuleDeclined
    from modloader.module import ReloadResult as ReloadResult
    from modloader.module import SupportLevel as SupportLevel
    from modloader.module import UnloadMode as UnloadMode

# Public name -> the private module that defines it, imported on first use.
_LAZY: dict[str, str] = {
    "CommandResult": "modloader._commands.base",
    "ModuleEntry": "modloader._config.model",
    "ModulesConfig": "modloader._config.model",
    "Candidate": "modloader._discovery.base",
    "StaticDiscovery": "modloader._discovery.static",
    "hookimpl": "modloader._hooks.markers",
    "hookspec": "modloader._hooks.markers",
    "Host": "modloader._host",
    "HostState": "modloader._host",
    "ModuleContext": "modloader._registry.context",
    "EventKind": "modloader._registry.events",
    "ModuleEvent": "modloader._registry.events",
    "ModuleHandle": "modloader._registry.refs",
    "StartupReport": "modloader._registry.startup",
    "ModuleState": "modloader._registry.states",
    "CommandError": "modloader.errors",
    "ConfigError": "modloader.errors",
    "ConfigIssue": "modloader.errors",
    "ConnectError": "modloader.errors",
    "ControlError": "modloader.errors",
    "DependencyError": "modloader.errors",
    "DiscoveryError": "modloader.errors",
    "HostStateError": "modloader.errors",
    "ModLoaderError": "modloader.errors",
    "ModLoaderWarning": "modloader.errors",
    "ModuleError": "modloader.errors",
    "ModuleInUseError": "modloader.errors",
    "ModuleNotRunningError": "modloader.errors",
    "NameConflictError": "modloader.errors",
    "NoSuchCommandError": "modloader.errors",
    "NoSuchModuleError": "modloader.errors",
    "ProtocolError": "modloader.errors",
    "StaleHandleError": "modloader.errors",
    "StartupError": "modloader.errors",
    "UsageError": "modloader.errors",
    "LoadPriority": "modloader.module",
    "LoadResult": "modloader.module",
    "Module": "modloader.module",
    "ModuleDeclined": "modloader.module",
    "ReloadResult": "modloader.module",
    "SupportLevel": "modloader.module",
    "UnloadMode": "modloader.module",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'modloader' has no attribute {name!r}")
    # __import__ rather than importlib.import_module: importlib costs the remote client.
    value = getattr(__import__(module, fromlist=[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "Candidate",
    "CommandError",
    "CommandResult",
    "ConfigError",
    "ConfigIssue",
    "ConnectError",
    "ControlError",
    "DependencyError",
    "DiscoveryError",
    "EventKind",
    "Host",
    "HostState",
    "HostStateError",
    "LoadPriority",
    "LoadResult",
    "ModLoaderError",
    "ModLoaderWarning",
    "Module",
    "ModuleContext",
    "ModuleDeclined",
    "ModuleEntry",
    "ModuleError",
    "ModuleEvent",
    "ModuleHandle",
    "ModuleInUseError",
    "ModuleNotRunningError",
    "ModuleState",
    "ModulesConfig",
    "NameConflictError",
    "NoSuchCommandError",
    "NoSuchModuleError",
    "ProtocolError",
    "ReloadResult",
    "StaleHandleError",
    "StartupError",
    "StartupReport",
    "StaticDiscovery",
    "SupportLevel",
    "UnloadMode",
    "UsageError",
    "__version__",
    "hookimpl",
    "hookspec",
]
