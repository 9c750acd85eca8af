"""The public :class:`Host`: what an app author embeds."""

from __future__ import annotations

import enum
import logging
import os
import threading
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from types import ModuleType
from types import TracebackType
from typing import TYPE_CHECKING
from typing import Any

from modloader._registry.events import SubscriberT
from modloader._registry.loader import Loader
from modloader._registry.operations import Operations
from modloader._registry.refs import ModuleHandle
from modloader._registry.refs import acquire as _acquire
from modloader._registry.startup import StartupReport
from modloader._registry.startup import run_startup
from modloader._registry.startup import unwind
from modloader.errors import HostStateError

if TYPE_CHECKING:
    import pluggy

    from modloader._commands.base import CommandResult
    from modloader._commands.table import CommandTable
    from modloader._config.model import ModulesConfig
    from modloader._discovery.base import Discovery
    from modloader._hooks.manager import HostHooks

__all__ = ["Host", "HostState"]

_log = logging.getLogger("modloader")


class HostState(enum.Enum):
    """Where a host is in its life."""

    #: Made, not started.
    CREATED = "created"
    #: :meth:`Host.start` is running.
    STARTING = "starting"
    #: Started; commands and :meth:`Host.use` work.
    RUNNING = "running"
    #: Stopped (or startup aborted); it cannot be started again.
    STOPPED = "stopped"


class Host:
    """A module loader over one namespace.

    :param namespace: the entry-point group modules are read from.
    :param config_path: a ``modules.conf`` that must exist.
    :param default_config_path: a ``modules.conf`` read if it exists (defaults otherwise).
    :param env_prefix: environment variables under this prefix override the file.
    :param settings: directive values from code; the strongest source.
    :param builtins: modules the host registers in code (name -> object).
    :param discovery: where modules come from (default: installed distributions).
    :param config: an already validated configuration; when given, no source is read.
    :param hookspecs: classes or modules of :data:`~modloader.hookspec` functions: the
        hooks this host calls through :attr:`hook` (see :doc:`hooks`).
    :param strict_hooks: refuse a module that implements a hook none of ``hookspecs`` declares.
    """

    def __init__(
        self,
        namespace: str,
        *,
        config_path: str | os.PathLike[str] | None = None,
        default_config_path: str | os.PathLike[str] | None = None,
        env_prefix: str = "MODLOADER_",
        settings: Mapping[str, Any] | None = None,
        builtins: Mapping[str, Any] | None = None,
        discovery: Discovery | None = None,
        config: ModulesConfig | None = None,
        hookspecs: Iterable[type | ModuleType] | None = None,
        strict_hooks: bool = False,
    ) -> None:
        if discovery is None:
            from modloader._discovery.entrypoints import EntryPointDiscovery

            discovery = EntryPointDiscovery(namespace)
        self.namespace = namespace
        self.config_path = config_path
        self.default_config_path = default_config_path
        self.env_prefix = env_prefix
        self.settings = dict(settings or {})
        self.builtins = dict(builtins or {})
        self.state = HostState.CREATED
        #: The validated configuration, once :meth:`start` has read it.
        self.config: ModulesConfig | None = config
        #: What startup did, once it has run.
        self.report: StartupReport | None = None
        self._loader = Loader(discovery, host=self)
        # hooks: only a host that declares hooks imports pluggy.
        self._hooks: HostHooks | None = None
        if hookspecs is not None:
            from modloader._hooks.manager import HostHooks

            self._hooks = self._loader.hooks = HostHooks(hookspecs, strict=strict_hooks)
        self._by_spelling = self._loader.by_spelling
        self._operations = Operations(self._loader)
        self._command_table: CommandTable | None = None
        self._stop_requested = threading.Event()
        self._stop_graceful = True
        self._stop_listeners: list[Callable[[bool], object]] = []

    # -- lifecycle -------------------------------------------------------------------

    def read_config(self) -> ModulesConfig:
        """Read and validate every configuration source.

        :raises ~modloader.errors.ConfigError: with every issue found, each naming its source.
        """
        if self.config is not None:
            return self.config
        from modloader._config import load_config

        return load_config(
            path=self.config_path,
            default_path=self.default_config_path,
            env_prefix=self.env_prefix,
            values=self.settings,
            builtins=list(self.builtins),
        )

    def start(self, core_init: Callable[[Host], None] | None = None) -> StartupReport:
        """Run startup: preload, then ``core_init(host)``, then everything else.

        :raises ConfigError: the configuration is wrong; nothing was started.
        :raises StartupError: a required module failed (``exit_code`` 2); what had
            started was unloaded again.
        """
        if self.state is not HostState.CREATED:
            raise HostStateError(f"cannot start a host that is {self.state.value}")
        self.state = HostState.STARTING
        try:
            self.config = self.read_config()
            for warning in self.config.warnings:
                _log.warning("%s", warning)
            self.report = run_startup(
                self._loader,
                self.config,
                builtins=self.builtins,
                core_init=(lambda: core_init(self)) if core_init is not None else None,
            )
        except BaseException:
            self.state = HostState.STOPPED
            raise
        self.state = HostState.RUNNING
        for line in self._operations.run_queued_reloads():
            _log.info("%s", line)
        return self.report

    def stop(self, graceful: bool = True) -> list[str]:
        """Stop: graceful unloads every module in reverse start order; returns their names."""
        if self.state is HostState.STOPPED:
            return []
        self.state = HostState.STOPPED
        self._stop_requested.set()
        if not graceful:
            return []
        return unwind(self._loader)

    def request_stop(self, graceful: bool = True) -> None:
        """Ask whoever runs the host (``modloader``'s foreground loop) to stop it.

        This is what ``core stop gracefully|now`` does: it never stops the host
        under the command's feet. See :meth:`on_stop_request` and :meth:`wait_for_stop`.
        """
        self._stop_graceful = graceful
        self._stop_requested.set()
        for callback in list(self._stop_listeners):
            callback(graceful)

    def on_stop_request(self, callback: Callable[[bool], object]) -> None:
        """Call ``callback(graceful)`` when a stop is requested (``core stop ...``)."""
        self._stop_listeners.append(callback)

    @property
    def executor(self) -> Host:
        """The host itself: it runs command lines (the console and control socket use this)."""
        return self

    def wait_for_stop(self, timeout: float | None = None) -> bool | None:
        """Block until a stop is requested; returns ``graceful`` (``None`` on timeout)."""
        if not self._stop_requested.wait(timeout):
            return None
        return self._stop_graceful

    def __enter__(self) -> Host:
        if self.state is HostState.CREATED:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- modules ---------------------------------------------------------------------

    def use(self, name: str, holder: str = "host") -> ModuleHandle:
        """Take a reference on a running module; release it or use ``with``.

        :raises NoSuchModuleError: not in the module list.
        :raises ModuleNotRunningError: in the list but not running.
        """
        # The hot path of every host: one dict lookup, one insert, no lock (see refs.py).
        record = self._by_spelling.get(name)
        if record is None:
            if self.state is not HostState.RUNNING and self.state is not HostState.STARTING:
                raise HostStateError(f"cannot use('{name}'): the host is {self.state.value}")
            return self._loader.use(name, holder)
        return _acquire(record, holder)

    def get_module(self, name: str) -> dict[str, Any]:
        """One module's structured ``module show`` row.

        :raises ~modloader.errors.NoSuchModuleError: not in the module list.
        """
        with self._loader.lock:
            return self._loader.describe(self._loader.get(name))

    def list_modules(self) -> list[dict[str, Any]]:
        """Every module in the module list, sorted by name."""
        with self._loader.lock:
            return [self._loader.describe(r) for r in self._loader.ordered()]

    def is_running(self, name: str) -> bool:
        record = self._loader.find(name)
        return record is not None and record.state.running

    def subscribe(self, callback: SubscriberT) -> Callable[[], None]:
        """Call ``callback(event)`` on every module state change; returns an unsubscriber."""
        return self._loader.events.subscribe(callback)

    @property
    def hook(self) -> pluggy.HookRelay:
        """The declared hooks: ``host.hook.<name>(**kwargs)`` calls every running module
        implementing ``<name>``, in start order (see :doc:`hooks`).

        :raises AttributeError: the host was made without ``hookspecs=``.
        """
        if self._hooks is None:
            raise AttributeError(
                f"host {self.namespace!r} declares no hooks: pass hookspecs=[...] to Host()"
            )
        return self._hooks.relay

    @property
    def extensions(self) -> Any:
        """The running modules as a stevedore ``ExtensionManager`` (``map``, ``map_method``)."""
        from modloader._discovery.entrypoints import extension_manager

        with self._loader.lock:
            records = self._loader.running_in_start_order()
            return extension_manager(
                self.namespace, [(r.candidate, r.plugin, r.obj) for r in records if r.candidate]
            )

    # -- commands --------------------------------------------------------------------

    @property
    def _commands(self) -> CommandTable:
        # Built on first use: a host that never runs a command never imports them.
        if self._command_table is None:
            from modloader._commands.builtin import install_builtin_commands
            from modloader._commands.table import CommandTable

            table = CommandTable()
            install_builtin_commands(table, self._loader, self._operations, self.request_stop)
            from modloader._hooks.commands import install_hook_commands  # hooks

            install_hook_commands(table, self._loader.lock, self._hooks)
            self._command_table = table
        return self._command_table

    def run(self, line: str) -> CommandResult:
        """Run one command line, as typed at the console. Failures are results, not raises."""
        return self._commands.execute(line)

    def execute(self, line: str) -> CommandResult:
        """Same as :meth:`run` (the ``Executor`` protocol's name)."""
        return self._commands.execute(line)

    def complete(self, line: str) -> list[str]:
        """Completion candidates for the last word of ``line``."""
        return self._commands.complete(line)

    def __repr__(self) -> str:
        return f"<Host {self.namespace!r} {self.state.value}>"
