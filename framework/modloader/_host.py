"""The public :class:`Host`: what an app author embeds."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from types import ModuleType
from types import TracebackType
from typing import TYPE_CHECKING
from typing import Any

from modloader import _cachestore
from modloader._collector import CollectorPaused
from modloader._commands.table import CommandTable
from modloader._forking import track_host
from modloader._hostargs import check_callable
from modloader._hostargs import check_flag
from modloader._hostargs import check_host_arguments
from modloader._hostargs import check_line
from modloader._hostargs import check_mode
from modloader._hostargs import check_name as _check_name
from modloader._hostargs import check_timeout
from modloader._hostargs import wait_seconds
from modloader._registry.calls import DEFAULT_TIMEOUT
from modloader._registry.calls import OPERATION_SWITCH_INTERVAL
from modloader._registry.calls import SWITCH_INTERVAL
from modloader._registry.catalogue import Catalogue
from modloader._registry.events import SubscriberT
from modloader._registry.lifecycle import Lifecycle
from modloader._registry.lifecycle import describe
from modloader._registry.modlist import ModuleList
from modloader._registry.operations import Operations
from modloader._registry.outcomes import LoadOutcome
from modloader._registry.outcomes import ModuleInfo
from modloader._registry.outcomes import ModuleSettingsInfo
from modloader._registry.outcomes import RefreshOutcome
from modloader._registry.outcomes import ReloadOutcome
from modloader._registry.outcomes import UnloadOutcome
from modloader._registry.outcomes import describe_listed
from modloader._registry.refs import ModuleHandle
from modloader._registry.refs import acquire as _acquire
from modloader._registry.shutdown import unwind
from modloader._registry.startup import StartupReport
from modloader._registry.startup import run_startup
from modloader._registry.states import HostState
from modloader._registry.stopping import Stopping
from modloader.errors import ConfigError
from modloader.errors import HostStateError
from modloader.module import UnloadMode

if TYPE_CHECKING:
    import pluggy
    from stevedore.extension import ExtensionManager

    from modloader._commands.base import CommandResult
    from modloader._config.model import ModulesConfig
    from modloader._discovery.base import Discovery
    from modloader._hooks.info import HookInfo
    from modloader._hooks.manager import HostHooks
    from modloader._registry.record import ModuleRecord
    from modloader._serving import ControlSocket
    from modloader._settings.check import CheckReport

__all__ = ["Host"]

_log = logging.getLogger("modloader")


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
    :param cache_dir: the folder of the discovery and configuration caches (default:
        ``$<env_prefix>CACHE_DIR``, then ``$MODLOADER_CACHE_DIR``, then ``~/.cache/modloader``).
    :param module_settings: module name -> settings values from code; the strongest source.
    :param config_dir: the folder of the modules' own ``<name>.conf`` files (default: the
        folder of ``config_path``, else of ``default_config_path``).
    :param module_timeout: seconds a module's import, ``load()``, ``unload()`` or
        ``reload()`` may run before the host stops waiting for it (default 30;
        ``None``: no limit). Module code runs in a thread of its own, so the host
        and its other modules go on meanwhile; see the lifecycle page.
    :param switch_interval: at :meth:`start`, the interpreter's switch interval
        (:func:`sys.setswitchinterval`) is lowered to this many seconds (default
        0.0005; it is never raised; ``None``: left alone). Every command waits for
        the interpreter lock each time it reads or writes its socket or hands work
        to a module's thread; with application threads busy in Python code, each
        such wait lasts up to the switch interval (5 ms by default, several times
        over), which made commands tens to hundreds of milliseconds slower.
    :param operation_switch_interval: while a module operation (load, unload,
        reload, refresh) runs, the switch interval is at most this many seconds
        (default 0.0001; ``None``: left alone), then back as it was. An operation
        waits for the interpreter lock after each of its many short system calls
        (importing a module makes dozens); under busy application threads these
        waits made ``module load`` take up to a second.
    :param hookspecs: classes or modules of :data:`~modloader.hookspec` functions: the
        hooks this host calls through :attr:`hook` (see :doc:`hooks`).
    :param strict_hooks: refuse a module that implements a hook none of ``hookspecs`` declares.
    :raises TypeError: an argument of the wrong type (the message names it).
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
        cache_dir: str | os.PathLike[str] | None = None,
        module_settings: Mapping[str, Mapping[str, Any]] | None = None,
        config_dir: str | os.PathLike[str] | None = None,
        hookspecs: Iterable[type | ModuleType] | None = None,
        strict_hooks: bool = False,
        module_timeout: float | None = DEFAULT_TIMEOUT,
        switch_interval: float | None = SWITCH_INTERVAL,
        operation_switch_interval: float | None = OPERATION_SWITCH_INTERVAL,
    ) -> None:
        check_host_arguments(
            namespace=namespace,
            config_path=config_path,
            default_config_path=default_config_path,
            env_prefix=env_prefix,
            strict_hooks=strict_hooks,
            settings=settings,
            builtins=builtins,
            discovery=discovery,
            config=config,
            cache_dir=cache_dir,
            module_settings=module_settings,
            config_dir=config_dir,
            module_timeout=module_timeout,
            switch_interval=switch_interval,
            operation_switch_interval=operation_switch_interval,
        )
        # The cache folder: ``cache_dir``, else <env_prefix>CACHE_DIR, else modloader's default.
        self.cache = _cachestore.CacheStore(cache_dir, env_prefix=env_prefix)
        if discovery is None:
            from modloader._discovery.entrypoints import EntryPointDiscovery

            discovery = EntryPointDiscovery(namespace, cache=self.cache)
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
        self._modules = ModuleList()
        self._table = CommandTable()
        # The lifecycle asks for the table when a module adds a command; the host's
        # own commands are in it by then, so a module cannot take their words.
        self._lifecycle = Lifecycle(
            self._modules, Catalogue(discovery), host=self, commands=lambda: self._commands
        )
        self.module_timeout = module_timeout
        self.switch_interval = switch_interval
        self._lifecycle.switch_interval = operation_switch_interval
        self._operations = Operations(self._lifecycle)
        # use()'s fast path: the spellings looked up before, until the host stops.
        self._spellings: Mapping[str, ModuleRecord] = self._modules.spellings()
        self._builtin_commands = False
        # hooks: only a host that declares hooks imports pluggy.
        self._hooks: HostHooks | None = None
        if hookspecs is not None:
            from modloader._hooks.manager import HostHooks

            self._hooks = self._lifecycle.hooks = HostHooks(hookspecs, strict=strict_hooks)
            self._lifecycle.events.subscribe(self._hooks.removed)
        self._stopping = Stopping()
        # Module settings: validated before each load(), swapped on reload.
        from modloader._settings.service import SettingsService

        folder, conf = config_dir, config_path if config_path is not None else default_config_path
        if folder is None and conf is not None:
            folder = os.path.dirname(os.path.abspath(conf))
        self._module_settings = SettingsService(
            env_prefix=env_prefix, code=module_settings, config_dir=folder
        )
        self._lifecycle.settings = self._module_settings
        track_host(self)  # fresh locks in a child forked from this process (docs/workers.md)

    # -- lifecycle -------------------------------------------------------------------

    def read_config(self) -> ModulesConfig:
        """Read and validate every configuration source.

        :raises ~modloader.errors.ConfigError: with every issue found, each naming its source.
        """
        if self.config is not None:  # made in code: only the rules over names are left to apply
            from modloader._config._rules import config_issues

            issues = config_issues(self.config, list(self.builtins))
            if issues:
                raise ConfigError(issues)
            return self.config
        from modloader._config import load_config

        with _cachestore.using(self.cache):
            return load_config(
                path=self.config_path,
                default_path=self.default_config_path,
                env_prefix=self.env_prefix,
                values=self.settings,
                builtins=list(self.builtins),
            )

    @property
    def config_dir(self) -> str | None:
        """The folder the modules' own ``<name>.conf`` files are read from (``None``: none)."""
        return self._module_settings.config_dir

    def check(self) -> CheckReport:
        """Validate ``modules.conf`` and the settings of every module that would start.

        No module's ``load()`` is called (modules are imported to read their
        ``settings_model``). See :class:`~modloader.CheckReport`.
        """
        from modloader._settings.check import check_host

        return check_host(self, self._lifecycle)

    def start(self, core_init: Callable[[Host], None] | None = None) -> StartupReport:
        """Run startup: preload, then ``core_init(host)``, then everything else.

        :raises ConfigError: the configuration is wrong; nothing was started.
        :raises StartupError: a required module failed (``exit_code`` 2); what had
            started was unloaded again. Also when :meth:`request_stop` was called
            during startup (a signal): nothing more starts, what started is unloaded.
            Whatever else it raises (a Ctrl-C), what it had started is unloaded too;
            if that is cut short in turn, :meth:`stop` unloads what is left.
        """
        if self.state is not HostState.CREATED:
            raise HostStateError(f"cannot start a host that is {self.state.value}")
        if core_init is not None:
            check_callable("start", "core_init", core_init)
        self.state = HostState.STARTING
        self._stopping.startup_began()
        if self.switch_interval is not None and sys.getswitchinterval() > self.switch_interval:
            sys.setswitchinterval(self.switch_interval)
        try:
            with CollectorPaused():
                try:
                    self.config = self.read_config()
                    for warning in self.config.warnings:
                        _log.warning("%s", warning)
                    self.report = run_startup(
                        self._lifecycle,
                        self.config,
                        builtins=self.builtins,
                        core_init=(lambda: core_init(self)) if core_init is not None else None,
                        stop_requested=self._stopping.requested.is_set,
                    )
                except BaseException:
                    self._stopped()
                    if self._modules.running_in_start_order():  # its unwind was cut short
                        self._stopping.interrupted()  # (a second Ctrl-C): stop() goes on
                    raise
            self.state = HostState.RUNNING
        finally:
            self._stopping.startup_over()
        self._run_queued_reloads()
        return self.report

    @property
    def module_timeout(self) -> float | None:
        """Seconds a module's import, ``load()``, ``unload()`` or ``reload()`` may run
        before the host stops waiting for it (``None``: no limit). Settable."""
        return self._lifecycle.timeout

    @module_timeout.setter
    def module_timeout(self, value: float | None) -> None:
        check_timeout(value)
        self._lifecycle.timeout = None if value is None else float(value)

    def _run_queued_reloads(self) -> None:
        done = self._operations.run_queued_reloads()
        if done:
            from modloader._commands.render import reload_lines

            for names, result in done:
                for line in reload_lines(names, result):
                    _log.info("%s", line)

    def _stopped(self) -> None:
        self.state = HostState.STOPPED
        self._lifecycle.closed = True  # a load() still running is undone when it returns
        self._spellings = {}  # use() now always takes its checked path

    def stop(self, graceful: bool = True) -> list[str]:
        """Stop: graceful unloads every module in reverse start order; returns their names.

        Called while :meth:`start` runs, it stops the startup instead: nothing more
        starts, what started is unloaded, and :meth:`start` raises
        :class:`~modloader.errors.StartupError`, as after :meth:`request_stop`. It
        returns ``[]``: from another thread once the startup is over (what it started
        unloaded), from a module's ``load()`` or the core init at once. (A thread that
        the core init itself waits for would wait for ever: it calls
        :meth:`request_stop` instead.)

        Called while another thread stops the host, it returns ``[]`` once that stop
        is over (at once from the code that stop is waiting for: a module's
        ``unload()``, or a signal handler in the stopping thread).

        Interrupted (a ``KeyboardInterrupt`` while it waits for an ``unload()``), it
        raises that, and the modules not unloaded yet stay running: the next call
        goes on with the stop and returns the names it unloaded then.
        """
        check_flag("stop", "graceful", graceful)
        state = self._stopping.claim(lambda: self.state, self._stopped, graceful)
        if state is HostState.STOPPED:  # by another thread
            self._stopping.await_stopper()
            return []
        # A startup unloads what it started itself; a stop that is not graceful, nothing.
        if state is HostState.STARTING or not graceful:
            self._stopping.over()
            if state is HostState.STARTING:
                self._stopping.await_startup()
            return []
        try:
            return unwind(self._lifecycle)
        except BaseException:  # a Ctrl-C while it waits: the next stop() goes on with it
            self._stopping.interrupted()
            raise
        finally:
            self._stopping.over()

    def request_stop(self, graceful: bool = True) -> bool:
        """Ask whoever runs the host (``modloader``'s foreground loop) to stop it.

        This is what ``core stop gracefully|now`` does: it never stops the host
        under the command's feet. See :meth:`on_stop_request` and :meth:`wait_for_stop`.

        :returns: ``False`` when nobody hears it: no callback, :meth:`wait_for_stop`
            never called, no startup running (``core stop`` then says so).
        """
        heard = self._stopping.request(check_flag("request_stop", "graceful", graceful))
        return heard or self.state is HostState.STARTING

    def on_stop_request(self, callback: Callable[[bool], object]) -> None:
        """Call ``callback(graceful)`` when a stop is requested (``core stop ...``), or when
        the running host is stopped with no request before (once)."""
        check_callable("on_stop_request", "callback", callback)
        self._stopping.on_request(callback)

    def wait_for_stop(self, timeout: float | None = None) -> bool | None:
        """Block until a stop is requested (or the host stopped); returns ``graceful``
        (``None`` on timeout)."""
        return self._stopping.wait_for_request(wait_seconds("wait_for_stop", timeout))

    def serve(self, path: str | os.PathLike[str] | None = None) -> ControlSocket:
        """Open the control socket in background threads; close it with the result.

        Operators then run ``modloader -n NAMESPACE -rx "module show"`` (``-s PATH``
        when ``path`` is given) or attach a console with ``-r``. ``core stop
        gracefully|now`` on the socket wakes :meth:`wait_for_stop` and the
        :meth:`on_stop_request` callbacks::

            with host.serve():
                graceful = host.wait_for_stop()
            host.stop(graceful=graceful is not False)

        :param path: the socket (``None``: the namespace's default one, in the
            owner-only per-user folder; when another process of the namespace
            holds it, this one serves on ``<namespace>@<pid>.sock`` beside it).
        :raises HostStateError: the host is not starting or running.
        :raises ~modloader.errors.SocketInUseError: a live host already listens on ``path``.
        :raises ~modloader.errors.ControlError: the folder is unsafe, or the path unusable.
        """
        from modloader._serving import serve_host

        return serve_host(self, path)  # asks for the executor: the command table is made

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

    # -- references ------------------------------------------------------------------

    def use(self, name: str, holder: str = "host") -> ModuleHandle[Any]:
        """Take a reference on a running module; release it or use ``with``.

        :raises NoSuchModuleError: not in the module list.
        :raises ModuleNotRunningError: in the list but not running.
        :raises HostStateError: the host is not started, or stopped.
        """
        # The hot path of every host: one dict lookup, one insert, no lock (see refs.py).
        # A stopped host has no fast path, so every name reaches the one state check;
        # so does a name never used before, and what is not a name (unhashable: a list).
        try:
            record = self._spellings[name]
        except (KeyError, TypeError):
            return self._use_checked(name, holder)
        return _acquire(record, holder)

    def _use_checked(self, name: str, holder: str) -> ModuleHandle[Any]:
        if self.state is not HostState.RUNNING and self.state is not HostState.STARTING:
            raise HostStateError(f"cannot use('{name}'): the host is {self.state.value}")
        _check_name("use", "name", name)
        return self._lifecycle.use(name, holder)

    # -- module operations -------------------------------------------------------------

    def _running(self, method: str) -> None:
        if self.state is not HostState.RUNNING and self.state is not HostState.STARTING:
            raise HostStateError(f"cannot {method}(): the host is {self.state.value}")

    def load(self, name: str) -> LoadOutcome:
        """Load ``name`` from the installed distributions (``module load``).

        Installs since startup are seen; dependencies are not started for you.

        :raises ModuleAlreadyRunningError: it is running.
        :raises ModuleNotInstalledError: nothing installed publishes it (``.suggestion``).
        :raises NameConflictError: several distributions publish it (``.publishers``).
        :raises DependencyError: a dependency is not running (``.missing``: name -> why).
        :raises LoadDeclinedError: it declined, failed or could not be imported (``.reason``).
        """
        self._running("load")
        return self._operations.load(_check_name("load", "name", name))

    def unload(self, name: str, mode: UnloadMode = UnloadMode.SOFT) -> UnloadOutcome:
        """Unload ``name`` (``module unload``; ``mode`` FIRM is ``-f``, HARD is ``-h``).

        :raises NoSuchModuleError: not in the module list.
        :raises BuiltinModuleError: it is one of the host's built-ins.
        :raises ModuleInUseError: SOFT and references are held (``.use_count``, ``.holders``).
        :raises UnloadRefusedError: an ``unload()`` refused (``.refused_by``, ``.reason``).
        """
        self._running("unload")
        mode = check_mode("unload", mode)
        return self._operations.unload(_check_name("unload", "name", name), mode)

    def reload(self, name: str | None = None) -> ReloadOutcome:
        """Call ``reload()`` on ``name``, or on every running module that has one.

        A module that declares settings has them read again and validated
        first: unchanged, it is not disturbed (``unchanged`` names it);
        changed, its ``reload()`` runs with the new ``ctx.settings``.
        ``settings`` says what became of each such module's settings.

        Before startup has finished the request is queued (``queued`` is ``True``).
        For all modules, a failed ``reload()`` (or new settings not applied) is
        listed in ``failed``, not raised.

        :raises NoSuchModuleError: not in the module list.
        :raises ModuleNotRunningError: not running.
        :raises InvalidSettingsError: its new settings do not validate (``.errors``,
            each naming its source); the old ones stay in force.
        :raises ReloadError: ``reason`` ``not-supported``, ``failed`` or ``busy``;
            ``.settings`` says when the module's new settings were not applied.
        """
        self._running("reload")
        names = () if name is None else (_check_name("reload", "name", name),)
        outcome = self._operations.reload(names)
        if outcome.refused:
            raise outcome.refused[0]
        return outcome

    def refresh(self, name: str, recursive: bool = False) -> RefreshOutcome:
        """Unload ``name`` and load it again with fresh code (``module refresh``).

        ``recursive`` also takes its running dependents down first and brings
        them back after; every use count is checked before anything changes.
        A dependent that does not come back is in ``dependents_loaded`` as its
        error (``ok`` is ``False``).

        :raises ModuleInUseError: a reference from outside is held.
        :raises NoSuchModuleError, UnloadRefusedError: the unload step was refused.
        :raises LoadDeclinedError, DependencyError, ModuleNotInstalledError: the load
            step failed; the module is no longer loaded (``.progress`` lists the unloads).
        """
        self._running("refresh")
        deep = check_flag("refresh", "recursive", recursive)
        return self._operations.refresh(_check_name("refresh", "name", name), deep)

    # -- information -----------------------------------------------------------------

    def get_module(self, name: str) -> ModuleInfo:
        """One module of the module list (a snapshot).

        :raises ~modloader.errors.NoSuchModuleError: not in the module list.
        """
        _check_name("get_module", "name", name)
        # No lock: reads answer during operations; one removed meanwhile is not listed.
        found = describe_listed([self._modules.get(name)])
        return found[0] if found else describe(self._modules.get(name))

    def list_modules(self) -> list[ModuleInfo]:
        """Every module in the module list, sorted case-insensitively by name."""
        return describe_listed(self._modules.ordered())

    def module_settings(self, name: str) -> ModuleSettingsInfo:
        """``module settings``: each effective value of ``name``'s settings, and its origin.

        :raises ~modloader.errors.NoSuchModuleError: not in the module list.
        :raises ~modloader.errors.ModuleBusyError: its code is running now.
        :raises ~modloader.errors.ModuleTimeoutError: validating them did not finish in time.
        :raises ~modloader.errors.ModuleError: its code was never imported, or validating
            its settings raised (``str()`` says which).
        """
        from modloader._settings.command import settings_info

        self._running("module_settings")
        return settings_info(self._lifecycle, _check_name("module_settings", "name", name))

    def is_running(self, name: str) -> bool:
        """Whether the module ``name`` is running (``False`` for a name not in the list)."""
        record = self._modules.find(_check_name("is_running", "name", name))
        return record is not None and record.state.running

    def subscribe(self, callback: SubscriberT) -> Callable[[], None]:
        """Call ``callback(event)`` on every module state change; returns an unsubscriber."""
        check_callable("subscribe", "callback", callback)
        return self._lifecycle.events.subscribe(callback)

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

    def list_hooks(self) -> list[HookInfo]:
        """``module show hooks``: each hook, sorted by name, and the running modules
        implementing it in call order (a snapshot); ``[]`` without ``hookspecs=``."""
        if self._hooks is None:
            return []
        with self._lifecycle.lock:  # modules join and leave the hooks under it
            return self._hooks.describe()

    @property
    def extensions(self) -> ExtensionManager[Any]:
        """The running modules, in start order, as a stevedore ``ExtensionManager``."""
        from modloader._discovery.entrypoints import extension_manager

        with self._lifecycle.lock:
            records = self._modules.running_in_start_order()
            return extension_manager(
                self.namespace, [(r.candidate, r.plugin, r.obj) for r in records if r.candidate]
            )

    # -- commands --------------------------------------------------------------------

    @property
    def _commands(self) -> CommandTable:
        # The built-in commands are added on first use: a host that never runs one
        # never imports them.
        if not self._builtin_commands:
            from modloader._commands.builtin import install_builtin_commands
            from modloader._hooks.commands import install_hook_commands

            install_builtin_commands(self._table, self._operations, self.request_stop)
            from modloader._settings.command import install_settings_command

            install_settings_command(self._table, self._lifecycle)
            install_hook_commands(self._table, self._lifecycle.lock, self._hooks)
            self._builtin_commands = True
        return self._table

    def run(self, line: str) -> CommandResult:
        """Run one command line, as typed at the console. Failures are results, not raises.

        The result's ``data`` is what the command saw, made before this returns.
        """
        result = self.execute(line)
        _ = result.data  # a snapshot now, not when the caller first reads it
        return result

    def execute(self, line: str) -> CommandResult:
        """:meth:`run`, for readers of the result at once (console, control socket, ``-x``).

        Its ``data`` is made only if it is read (``--json``), when it is read.
        """
        return self._commands.execute(check_line("run", line))

    def complete(self, line: str) -> list[str]:
        """Completion candidates for the last word of ``line``."""
        return self._commands.complete(check_line("complete", line))

    @property
    def executor(self) -> Host:
        """The host itself: it runs command lines (kept for the console and control socket).

        Whoever asks for it is about to run commands (a socket or a console opens): the
        command table is made now rather than on the first command that arrives.
        """
        self._commands  # noqa: B018
        return self

    def __repr__(self) -> str:
        return f"<Host {self.namespace!r} {self.state.value}>"
