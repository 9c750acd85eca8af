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
    │   └── NameConflictError           exit 1   two distributions publish one name (*)
    ├── ModuleError                     exit 1   about one module
    │   ├── NoSuchModuleError           exit 1   not in the module list
    │   │   └── ModuleNotInstalledError exit 1   load: no such module is installed
    │   ├── ModuleNotRunningError       exit 1   use() or reload of a module that is not running
    │   ├── ModuleAlreadyRunningError   exit 1   load of a module that is running
    │   ├── ModuleInUseError            exit 1   soft unload (or refresh) refused by the use count
    │   ├── BuiltinModuleError          exit 1   unload of a built-in module
    │   ├── UnloadRefusedError          exit 1   a module's unload() refused or raised
    │   ├── LoadDeclinedError           exit 1   load: the module (or its import) declined or failed
    │   ├── DependencyError             exit 1   load: a dependency is unknown or not running
    │   ├── ReloadError                 exit 1   reload: not supported, failed, or one in progress
    │   │   └── InvalidSettingsError    exit 1   reload: the module's new settings do not validate
    │   └── StaleHandleError            exit 1   a handle on a module that was removed
    ├── HostStateError                  exit 1   a host method called in the wrong state
    ├── InvalidTransitionError          exit 1   a module state change the loader forbids (a bug)
    ├── StartupError                    exit 2   a required module failed, or FAILURE
    └── ControlError                    exit 1   the control socket
        ├── ConnectError                exit 1   no host listening
        ├── ProtocolError               exit 1   a malformed request or reply
        ├── AccessDeniedError           exit 1   the peer's user may not use the socket
        └── SocketInUseError            exit 1   another host already listens on the socket

(*) also a :class:`ModuleError`: ``load`` raises it for the name asked for.

The module operations of :class:`~modloader.Host` (``load``, ``unload``,
``reload``, ``refresh``) raise the :class:`ModuleError` subclasses above, each
carrying its facts as attributes (``name``, ``use_count``, ``holders``,
``missing``, ``reason`` ...); the console prints the same facts in Asterisk's
words.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any
from typing import ClassVar
from typing import NamedTuple

if TYPE_CHECKING:
    from modloader._registry.outcomes import ReloadStatus
    from modloader._registry.outcomes import UnloadOutcome

__all__ = [
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
]


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

    def to_dict(self) -> dict[str, Any]:
        """The error as ``--json`` and ``result.data`` carry it::

            {"error": "in-use", "message": "Soft unload failed, ...",
             "facts": {"name": "res_store", "use_count": 1, "holders": ["app_echo"]}}

        ``facts`` holds the attributes the error carries, as JSON values (tuples
        as lists, enums as their values, named tuples as objects).
        """
        from modloader._jsonable import jsonable

        facts: dict[str, Any] = {}
        for key, value in vars(self).items():
            if key.startswith("_") or key == "message":
                continue
            try:
                facts[key] = jsonable(value)
            except Exception:  # a module's own error may carry anything (a cycle, say)
                facts[key] = f"<{type(value).__name__} that cannot be shown>"
        if "name" in facts:  # the module's name first, as in every message
            facts = {"name": facts.pop("name"), **facts}
        return {"error": self.code, "message": self.message, "facts": facts}


class ConfigIssue(NamedTuple):
    """One problem found in the configuration, with where it came from.

    ``source`` is a file path, an environment variable name, ``"<code>"``, or,
    for a module's own ``settings_model`` that is not a model, where the module's
    object is defined (``pkg.mod:Class``). ``line`` is 0 when the source has no
    lines (environment, code).
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
    """The host's namespace could not be read (its metadata scan raised)."""

    code = "discovery"


class ModuleError(ModLoaderError):
    """An error about one module; ``name`` is the name as given.

    A module operation that did some work before it was refused says so:
    ``replaced_declined`` is ``True`` when ``load`` first removed an entry
    that had declined, and ``progress`` holds the
    :class:`~modloader.UnloadOutcome` of each module ``refresh`` had already
    unloaded.
    """

    code = "module"

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        self.replaced_declined = False
        self.progress: tuple[UnloadOutcome, ...] = ()
        super().__init__(message)


class NameConflictError(DiscoveryError, ModuleError):
    """Two or more distributions publish the same module name; ``publishers`` names them.

    ``one_distribution``: one distribution publishes it twice (names are matched
    without regard to case); ``publishers`` then names each entry point too.
    """

    code = "name-conflict"

    def __init__(
        self, name: str, publishers: Sequence[str], *, one_distribution: bool = False
    ) -> None:
        self.publishers = tuple(sorted(publishers))
        self.one_distribution = one_distribution
        by = (
            "more than once by one distribution"
            if one_distribution
            else "by more than one distribution"
        )
        #: Why it cannot be loaded, as ``module load`` prints it.
        self.reason = f"module name is published {by}: " + ", ".join(self.publishers)
        ModuleError.__init__(self, name, f"module '{name}': {self.reason}")


class NoSuchModuleError(ModuleError, LookupError):
    """The module is not in the module list; ``suggestion`` is the closest name, if any."""

    code = "no-such-module"

    def __init__(self, name: str, suggestions: Sequence[str] = ()) -> None:
        self.suggestions = tuple(suggestions)
        super().__init__(name, f"No such module '{name}'{self.hint}")

    @property
    def suggestion(self) -> str | None:
        """The closest known name ("did you mean"), or ``None``."""
        return self.suggestions[0] if self.suggestions else None

    @property
    def hint(self) -> str:
        """`` (did you mean 'x'?)`` for the closest name, or ``""``."""
        return f" (did you mean '{self.suggestions[0]}'?)" if self.suggestions else ""


class ModuleNotInstalledError(NoSuchModuleError):
    """``load``: no installed distribution publishes the module in the host's namespace."""

    code = "not-installed"

    def __init__(self, name: str, suggestions: Sequence[str] = ()) -> None:
        super().__init__(name, suggestions)
        #: Why it cannot be loaded, as ``module load`` prints it.
        self.reason = f"no such module is installed{self.hint}"
        self.message = f"Error loading module '{name}': {self.reason}"


class ModuleNotRunningError(ModuleError):
    """The module is in the list but not running (``state`` says where it is)."""

    code = "not-running"

    def __init__(self, name: str, state: str) -> None:
        self.state = state
        super().__init__(name, f"Module '{name}' is not running ({state})")


class ModuleAlreadyRunningError(ModuleError):
    """``load`` of a module that is already running."""

    code = "already-running"

    def __init__(self, name: str) -> None:
        super().__init__(name, f"Module '{name}' already loaded and running.")


class ModuleInUseError(ModuleError):
    """A soft unload (or a refresh) was refused because references are held.

    ``use_count`` is how many, ``holders`` who holds them (sorted).
    """

    code = "in-use"

    def __init__(self, name: str, use_count: int, holders: Sequence[str]) -> None:
        self.use_count = use_count
        self.holders = tuple(holders)
        message = f"Soft unload failed, '{name}' has use count {use_count}"
        if self.holders:
            message += " (held by " + ", ".join(self.holders) + ")"
        super().__init__(name, message)


class BuiltinModuleError(ModuleError):
    """The module is one of the host's built-ins; it cannot be unloaded."""

    code = "builtin"

    def __init__(self, name: str) -> None:
        super().__init__(name, f"Unload failed, '{name}' is a built-in module")


class UnloadRefusedError(ModuleError):
    """An ``unload()`` refused or raised, so the unload of ``name`` stopped.

    ``refused_by`` is the module whose ``unload()`` refused (``name``
    itself, or a running dependent a firm unload was taking down first) and
    ``reason`` why. ``forced_use_count`` is the use count a firm unload
    went on despite (0 for none) and ``dependents_unloaded`` the
    dependents already removed. The module stays running.
    """

    code = "unload-refused"

    def __init__(
        self,
        name: str,
        refused_by: str,
        reason: str,
        *,
        forced_use_count: int = 0,
        dependents_unloaded: Sequence[str] = (),
    ) -> None:
        self.refused_by = refused_by
        self.reason = reason
        self.forced_use_count = forced_use_count
        self.dependents_unloaded = tuple(dependents_unloaded)
        super().__init__(name, f"Firm unload failed for {refused_by}")


class LoadDeclinedError(ModuleError):
    """``load``: the module declined, failed, or its code could not be imported.

    ``reason`` is why; ``importing`` is ``True`` when its import (or its
    contract) failed before ``load()`` was called.
    """

    code = "declined"

    def __init__(self, name: str, reason: str | None, *, importing: bool = False) -> None:
        self.reason = reason
        self.importing = importing
        super().__init__(name, f"Unable to load module {name}")


class DependencyError(ModuleError):
    """``load``: dependencies are not started for you.

    ``missing`` maps each dependency that is not running to why
    (``"not installed"``, ``"not loaded"``, ``"declined"`` ...), in the order
    the module lists them.
    """

    code = "dependency"

    def __init__(self, name: str, missing: Mapping[str, str]) -> None:
        self.missing = dict(missing)
        first = next(iter(self.missing), "")
        if "not installed" in self.missing.values():
            message = f"{name} has one or more unknown dependencies."
        else:
            message = f"{name} loaded before dependency {first}!"
        super().__init__(name, message)


class ReloadError(ModuleError):
    """``reload`` did not reload ``name``; ``reason`` is one of ``REASONS``.

    ``settings`` is set for a module that declares settings whose new
    settings were not applied: :attr:`ReloadStatus.ROLLED_BACK
    <modloader.ReloadStatus.ROLLED_BACK>` (its ``reload()`` failed, the old
    settings were restored), ``UNSUPPORTED`` (it has no ``reload()``) or
    ``INVALID`` (:class:`InvalidSettingsError`). The old settings stay in force.
    """

    code = "reload"

    #: ``not-supported``: it has no ``reload``; ``failed``: its ``reload`` failed or
    #: raised; ``busy``: another reload is in progress; ``invalid-settings``: its
    #: new settings do not validate (:class:`InvalidSettingsError`).
    REASONS: ClassVar[tuple[str, ...]] = ("not-supported", "failed", "busy", "invalid-settings")

    def __init__(self, name: str, reason: str, *, settings: ReloadStatus | None = None) -> None:
        self.reason = reason
        self.settings = settings
        if reason == "not-supported":
            message = f"The module '{name}' does not support reloads"
            if settings is not None:
                message += "; its new settings are not applied"
        elif reason == "busy":
            message = "A module reload request is already in progress; please be patient"
        elif reason == "invalid-settings":
            message = (
                f"The module '{name}' was not reloaded: its new settings are invalid "
                "(the previous ones stay in force)"
            )
        else:
            message = f"The module '{name}' reported a reload failure"
            if settings is not None:
                message += "; its previous settings are restored"
        super().__init__(name, message)


class InvalidSettingsError(ReloadError):
    """``reload``: the module's new settings do not validate; nothing changed.

    ``errors`` holds every problem, each naming where the bad value came
    from (``file:line``, an environment variable, or ``<code>``). The module
    keeps running with its previous settings and its ``reload()`` was not called.
    """

    code = "invalid-settings"

    def __init__(self, name: str, errors: Sequence[ConfigIssue]) -> None:
        from modloader._registry.outcomes import ReloadStatus

        self.errors = tuple(errors)
        super().__init__(name, "invalid-settings", settings=ReloadStatus.INVALID)


class ModuleBusyError(ModuleError):
    """The module's own code is running (``busy`` names the call: ``load``, ``unload``,
    ``reload`` or ``import``), perhaps past its time limit; try again when it returns."""

    code = "busy"

    def __init__(self, name: str, busy: str) -> None:
        self.busy = busy
        super().__init__(name, f"Module '{name}' is busy: its {busy}() has not returned yet")


class ModuleTimeoutError(ModuleError):
    """A module's ``unload()`` or ``reload()`` did not return within the time limit.

    ``module`` is the module whose call timed out (``name`` itself, or a
    dependent a firm unload was taking down first), ``hook`` the call and
    ``seconds`` the limit. The call goes on in its own thread; the module is
    reconciled when it returns (see the lifecycle page).
    """

    code = "timeout"

    def __init__(self, name: str, hook: str, seconds: float, *, module: str | None = None) -> None:
        self.hook = hook
        self.seconds = seconds
        self.module = module or name
        super().__init__(
            name,
            f"Module '{self.module}': {hook}() did not return within {seconds:g} s "
            f"(it goes on in the background)",
        )


class StaleHandleError(ModuleError):
    """A handle was used after its module was forcibly removed."""

    code = "stale-handle"

    def __init__(self, name: str) -> None:
        super().__init__(
            name,
            f"Module '{name}' was unloaded while this reference was held; "
            f"take a new one with use('{name}') once it is loaded again",
        )


class HostStateError(ModLoaderError):
    """A host method was called in a state that does not allow it (e.g. started twice)."""

    code = "host-state"


class InvalidTransitionError(ModLoaderError):
    """The loader tried a module state change its state machine does not allow (a bug)."""

    code = "invalid-transition"


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


class HostStoppingError(ControlError):
    """The host was stopping when the request came: it was not run."""

    code = "stopping"

    def __init__(self, message: str = "the host is stopping; the command was not run") -> None:
        super().__init__(message)


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
