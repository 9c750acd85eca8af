"""The errors modloader raises, in one tree.

Every error carries an ``exit_code`` (what the ``modloader`` command exits
with when the error reaches it) and a ``code`` (a short stable word sent over
the control socket, unique per class)::

    ModLoaderError                      exit 1
    ├── ConfigError                     exit 1   bad modules.conf, environment or value from code
    ├── UsageError                      exit 1   bad command line or command arguments
    ├── CommandError                    exit 1   a command ran and failed
    │   └── NoSuchCommandError          exit 1   unknown command, with suggestions
    ├── DiscoveryError                  exit 1   the namespace could not be read
    │   └── NameConflictError           exit 1   two distributions publish one name
    ├── ModuleError                     exit 1   about one module
    │   ├── NoSuchModuleError           exit 1   not in the module list / not installed
    │   ├── ModuleNotRunningError       exit 1   use() of a module that is not running
    │   ├── ModuleInUseError            exit 1   soft unload refused by the use count
    │   ├── StaleHandleError            exit 1   a handle on a module that was removed
    │   └── DependencyError             exit 1   missing dependency or dependency cycle
    ├── HostStateError                  exit 1   a host method called in the wrong state
    ├── StartupError                    exit 2   a required module failed, or FAILURE
    └── ControlError                    exit 1   the control socket
        ├── ConnectError                exit 1   no host listening
        ├── ProtocolError               exit 1   a malformed request or reply
        ├── AccessDeniedError           exit 1   the peer's user may not use the socket
        └── SocketInUseError            exit 1   another host already listens on the socket

Warnings derive from :class:`ModLoaderWarning`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

__all__ = [
    "AccessDeniedError",
    "CommandError",
    "ConfigError",
    "ConfigIssue",
    "ConnectError",
    "ControlError",
    "DependencyError",
    "DiscoveryError",
    "HostStateError",
    "ModLoaderError",
    "ModLoaderWarning",
    "ModuleError",
    "ModuleInUseError",
    "ModuleNotRunningError",
    "NameConflictError",
    "NoSuchCommandError",
    "NoSuchModuleError",
    "ProtocolError",
    "SocketInUseError",
    "StaleHandleError",
    "StartupError",
    "UsageError",
]


class ModLoaderWarning(UserWarning):
    """Base of every warning modloader issues."""


class ModLoaderError(Exception):
    """Base of every error modloader raises."""

    #: What the ``modloader`` command exits with when this error reaches it.
    exit_code: ClassVar[int] = 1
    #: A short stable word for the control socket's error replies.
    code: ClassVar[str] = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem found in the configuration, with where it came from.

    ``source`` is a file path, an environment variable name, or ``"<code>"``.
    ``line`` is 0 when the source has no lines (environment, code).
    """

    source: str
    line: int
    kind: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.message}"


class ConfigError(ModLoaderError, ValueError):
    """The configuration is wrong; nothing was started.

    :attr:`issues` holds every problem found, all of them at once.
    """

    code = "config"

    def __init__(self, issues: Sequence[ConfigIssue] | str) -> None:
        if isinstance(issues, str):
            issues = [ConfigIssue("<config>", 0, "invalid", issues)]
        self.issues: tuple[ConfigIssue, ...] = tuple(issues)
        lines = [str(issue) for issue in self.issues]
        super().__init__("\n".join(lines) if lines else "invalid configuration")


class UsageError(ModLoaderError):
    """A command line or a command's arguments are wrong."""

    code = "usage"


class CommandError(ModLoaderError):
    """A command ran and failed; :attr:`output` is what it printed."""

    code = "command-failed"

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


class NoSuchCommandError(CommandError):
    """No command matches; :attr:`possibilities` are the close ones."""

    code = "no-such-command"

    def __init__(self, line: str, possibilities: Sequence[str] = ()) -> None:
        self.line = line
        self.possibilities = tuple(possibilities)
        message = f"No such command '{line}' (type 'core show help' for help)"
        if self.possibilities:
            message += f"\nDid you mean '{self.possibilities[0]}'?"
        super().__init__(message)


class DiscoveryError(ModLoaderError):
    """The host's namespace could not be read."""

    code = "discovery"


class NameConflictError(DiscoveryError):
    """Two or more distributions publish the same module name."""

    code = "name-conflict"

    def __init__(self, name: str, publishers: Sequence[str]) -> None:
        self.name = name
        self.publishers = tuple(publishers)
        super().__init__(
            f"module name '{name}' is published by more than one distribution: "
            + ", ".join(self.publishers)
        )


class ModuleError(ModLoaderError):
    """An error about one module; :attr:`name` is the name as given."""

    code = "module"

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(message)


class NoSuchModuleError(ModuleError, LookupError):
    """The module is not in the module list (or not installed)."""

    code = "no-such-module"

    def __init__(self, name: str, suggestions: Sequence[str] = ()) -> None:
        self.suggestions = tuple(suggestions)
        message = f"No such module '{name}'"
        if self.suggestions:
            message += f" (did you mean '{self.suggestions[0]}'?)"
        super().__init__(name, message)


class ModuleNotRunningError(ModuleError):
    """A reference was asked for on a module that is not running."""

    code = "not-running"

    def __init__(self, name: str, state: str) -> None:
        self.state = state
        super().__init__(name, f"Module '{name}' is not running ({state})")


class ModuleInUseError(ModuleError):
    """A soft unload was refused because references are held."""

    code = "in-use"

    def __init__(self, name: str, use_count: int, holders: Sequence[str]) -> None:
        self.use_count = use_count
        self.holders = tuple(holders)
        message = f"Soft unload failed, '{name}' has use count {use_count}"
        if self.holders:
            message += " (held by " + ", ".join(self.holders) + ")"
        super().__init__(name, message)


class StaleHandleError(ModuleError):
    """A handle was used after its module was forcibly removed."""

    code = "stale-handle"

    def __init__(self, name: str) -> None:
        super().__init__(
            name,
            f"Module '{name}' was unloaded while this reference was held; "
            f"take a new one with use('{name}') once it is loaded again",
        )


class DependencyError(ModuleError):
    """A dependency is missing, declined, or part of a cycle."""

    code = "dependency"


class HostStateError(ModLoaderError):
    """A host method was called in a state that does not allow it (e.g. started twice)."""

    code = "host-state"


class StartupError(ModLoaderError):
    """Startup aborted: a required module failed, or one returned FAILURE.

    The modules already started were unloaded in reverse order before this
    was raised. An embedding host gets this instead of an exit.
    """

    exit_code = 2
    code = "startup"

    def __init__(self, message: str, module: str | None = None) -> None:
        self.module = module
        super().__init__(message)


class ControlError(ModLoaderError):
    """Something went wrong on the control socket."""

    code = "control"


class ConnectError(ControlError, ConnectionError):
    """No host is listening on the socket."""

    code = "connect"

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"Unable to connect to remote modloader (does {path} exist?)")


class ProtocolError(ControlError):
    """A request or reply on the control socket is malformed."""

    code = "protocol"


class AccessDeniedError(ControlError, PermissionError):
    """The control socket refused a client whose user is neither the host's nor root."""

    code = "access-denied"


class SocketInUseError(ControlError):
    """Another live host already listens on the control socket at ``path``."""

    code = "socket-in-use"

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            f"Another modloader host is already listening on {path}; stop it first, "
            "or give this host another socket with -s"
        )
