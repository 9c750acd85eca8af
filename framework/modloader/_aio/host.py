"""The public :class:`AsyncHost`: a :class:`~modloader.Host` for asyncio applications.

One registry, one set of rules: an ``AsyncHost`` is a ``Host`` (kept as
:attr:`AsyncHost.host`) whose blocking work runs in worker threads, so that
the application's event loop never waits on a module. Coroutines from
modules' ``async def`` hooks come back to the loop through the
:class:`~modloader._aio.bridge.LoopBridge`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from types import ModuleType
from types import TracebackType
from typing import TYPE_CHECKING
from typing import Any

from modloader._aio.bridge import LoopBridge
from modloader._aio.bridge import awaited
from modloader._aio.serving import AsyncControlSocket
from modloader._host import Host
from modloader._hostargs import check_flag
from modloader._hostargs import check_host_arguments
from modloader._hostargs import check_timeout
from modloader._registry.calls import DEFAULT_TIMEOUT
from modloader._registry.calls import OPERATION_SWITCH_INTERVAL
from modloader._registry.calls import SWITCH_INTERVAL
from modloader._registry.events import SubscriberT
from modloader._registry.states import HostState
from modloader.errors import HostStateError
from modloader.module import UnloadMode

if TYPE_CHECKING:
    import pluggy
    from stevedore.extension import ExtensionManager

    from modloader._commands.base import CommandResult
    from modloader._config.model import ModulesConfig
    from modloader._discovery.base import Discovery
    from modloader._hooks.info import HookInfo
    from modloader._registry.outcomes import LoadOutcome
    from modloader._registry.outcomes import ModuleInfo
    from modloader._registry.outcomes import ModuleSettingsInfo
    from modloader._registry.outcomes import RefreshOutcome
    from modloader._registry.outcomes import ReloadOutcome
    from modloader._registry.outcomes import UnloadOutcome
    from modloader._registry.refs import ModuleHandle
    from modloader._registry.startup import StartupReport

__all__ = ["DEFAULT_TIME_LIMIT", "AsyncHost"]

#: Seconds a module's ``async`` hook may run before it is cancelled, by default:
#: the host-wide ``module_timeout``'s default.
DEFAULT_TIME_LIMIT = DEFAULT_TIMEOUT

_UNSET: Any = object()


class AsyncHost:
    """A module loader over one namespace, for an application that runs an asyncio loop.

    Takes :class:`~modloader.Host`'s arguments, checked as ``Host`` checks them.
    ``time_limit`` is ``Host``'s ``module_timeout`` under another name (give one
    or the other): the seconds a module's code may run, after which a module's
    ``async def`` hook is cancelled (``None``: no limit).

    Module operations are awaited; they run off the loop, and a module's
    ``async def load/unload/reload`` is awaited on the loop that started the
    host. Outcomes and errors are :class:`~modloader.Host`'s.
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
        module_timeout: float | None = _UNSET,
        time_limit: float | None = _UNSET,
        switch_interval: float | None = SWITCH_INTERVAL,
        operation_switch_interval: float | None = OPERATION_SWITCH_INTERVAL,
    ) -> None:
        if time_limit is _UNSET:
            time_limit = DEFAULT_TIME_LIMIT if module_timeout is _UNSET else module_timeout
        else:
            check_timeout(time_limit, "time_limit", "AsyncHost")
            if module_timeout is not _UNSET and module_timeout != time_limit:
                raise TypeError(
                    "AsyncHost(): 'time_limit' and 'module_timeout' are the same limit; "
                    "give one of them"
                )
        arguments: dict[str, Any] = {
            "config_path": config_path,
            "default_config_path": default_config_path,
            "env_prefix": env_prefix,
            "settings": settings,
            "builtins": builtins,
            "discovery": discovery,
            "config": config,
            "cache_dir": cache_dir,
            "module_settings": module_settings,
            "config_dir": config_dir,
            "strict_hooks": strict_hooks,
            "module_timeout": time_limit,
            "switch_interval": switch_interval,
            "operation_switch_interval": operation_switch_interval,
        }
        check_host_arguments(namespace=namespace, **arguments, method="AsyncHost")
        #: The :class:`~modloader.Host` underneath: the same registry, for
        #: code outside the loop (and what modules see as ``ctx.host``).
        self.host = Host(namespace, hookspecs=hookspecs, **arguments)
        self._bridge = LoopBridge()
        self.host._lifecycle.settle = self._bridge.settle
        self._stop_event = asyncio.Event()
        self._graceful = True
        self._sockets: list[AsyncControlSocket] = []
        self.host.on_stop_request(self._stop_requested)

    # -- what the Host says ------------------------------------------------------------

    @property
    def namespace(self) -> str:
        """The entry-point group modules are read from."""
        return self.host.namespace

    @property
    def state(self) -> HostState:
        """Where the host is in its life (:class:`~modloader.HostState`)."""
        return self.host.state

    @property
    def time_limit(self) -> float | None:
        """Seconds an ``async`` hook may run before it is cancelled (``None``: no limit).

        The host's :attr:`~modloader.Host.module_timeout`.
        """
        return self.host.module_timeout

    @property
    def config(self) -> ModulesConfig | None:
        """The validated configuration, once :meth:`start` has read it."""
        return self.host.config

    @property
    def report(self) -> StartupReport | None:
        """What startup did, once it has run."""
        return self.host.report

    @property
    def hook(self) -> pluggy.HookRelay:
        """:attr:`Host.hook`: ``async_host.hook.<name>(**kwargs)`` calls the running modules'
        implementations in the calling thread, as a plain call (see :doc:`hooks`).

        :raises AttributeError: the host was made without ``hookspecs=``.
        """
        return self.host.hook

    @property
    def extensions(self) -> ExtensionManager[Any]:
        """The running modules as a stevedore ``ExtensionManager`` (see :attr:`Host.extensions`)."""
        return self.host.extensions

    def __repr__(self) -> str:
        return f"<AsyncHost {self.namespace!r} {self.state.value}>"

    # -- lifecycle -------------------------------------------------------------------

    async def start(
        self, core_init: Callable[[AsyncHost], Awaitable[None] | None] | None = None
    ) -> StartupReport:
        """Run startup off the loop; ``core_init(host)`` may be a coroutine function.

        :raises ConfigError: the configuration is wrong; nothing was started.
        :raises StartupError: a required module failed (``exit_code`` 2); what had
            started was unloaded again.
        """
        if core_init is not None and not callable(core_init):
            raise TypeError(f"start(): 'core_init' must be callable, not {core_init!r}")
        if self.state is not HostState.CREATED:
            raise HostStateError(f"cannot start a host that is {self.state.value}")
        self._bridge.attach(asyncio.get_running_loop())

        def init(_host: Host) -> None:
            assert core_init is not None
            result = core_init(self)
            if result is not None:
                # Startup holds the registry's lock; the coroutine may need it on the loop.
                lock = self.host._lifecycle.lock
                held = lock.suspend()
                try:
                    self._bridge.wait(awaited(result), "core_init()")
                finally:
                    lock.restore(held)

        return await asyncio.to_thread(self.host.start, init if core_init else None)

    async def stop(self, graceful: bool = True) -> list[str]:
        """Close the control sockets :meth:`serve` opened, then stop the host.

        Graceful unloads every module in reverse start order (``async`` unloads
        are awaited here); returns their names.
        """
        check_flag("stop", "graceful", graceful)
        for control in list(self._sockets):
            await control.close()
        self._stopped(graceful)
        return await asyncio.to_thread(self.host.stop, graceful)

    async def __aenter__(self) -> AsyncHost:
        if self.state is HostState.CREATED:
            await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- stopping on request -----------------------------------------------------------

    def request_stop(self, graceful: bool = True) -> bool:
        """Ask whoever awaits :meth:`wait_for_stop` to stop the host (``core stop``); see
        :meth:`Host.request_stop`."""
        return self.host.request_stop(graceful)

    def on_stop_request(self, callback: Callable[[bool], object]) -> None:
        """Call ``callback(graceful)`` when a stop is requested (in the requesting thread)."""
        self.host.on_stop_request(callback)

    async def wait_for_stop(self) -> bool:
        """Wait until a stop is requested (``core stop gracefully|now``); returns ``graceful``."""
        await self._stop_event.wait()
        return self._graceful

    def _stop_requested(self, graceful: bool) -> None:
        loop = self._bridge.loop
        if loop is None or loop.is_closed() or self._bridge.on_loop_thread():
            self._stopped(graceful)
        else:
            loop.call_soon_threadsafe(self._stopped, graceful)

    def _stopped(self, graceful: bool) -> None:
        if not self._stop_event.is_set():
            self._graceful = graceful
            self._stop_event.set()

    # -- the control socket --------------------------------------------------------------

    async def serve(self, path: str | os.PathLike[str] | None = None) -> AsyncControlSocket:
        """Open the control socket; :meth:`stop` closes it (or ``await control.close()``).

        The same socket, checks and protocol as :meth:`Host.serve`: ``modloader
        -n NAMESPACE -rx "module show"`` reaches it, and ``core stop`` wakes
        :meth:`wait_for_stop`.

        :raises HostStateError: the host is not starting or running.
        :raises ~modloader.errors.SocketInUseError: a live host already listens there.
        :raises ~modloader.errors.ControlError: the folder is unsafe, or the path unusable.
        """
        control = AsyncControlSocket(await asyncio.to_thread(self.host.serve, path))
        self._sockets.append(control)
        control.on_close(lambda: self._sockets.remove(control))
        return control

    # -- references ------------------------------------------------------------------

    def use(self, name: str, holder: str = "host") -> ModuleHandle[Any]:
        """Take a reference on a running module: ``with`` or ``async with`` releases it.

        Never blocks: it takes no lock (:meth:`Host.use`).
        """
        return self.host.use(name, holder)

    # -- module operations -------------------------------------------------------------

    async def load(self, name: str) -> LoadOutcome:
        """:meth:`Host.load`, off the loop (an ``async def load`` is awaited on it)."""
        return await asyncio.to_thread(self.host.load, name)

    async def unload(self, name: str, mode: UnloadMode = UnloadMode.SOFT) -> UnloadOutcome:
        """:meth:`Host.unload`, off the loop (an ``async def unload`` is awaited on it)."""
        return await asyncio.to_thread(self.host.unload, name, mode)

    async def reload(self, name: str | None = None) -> ReloadOutcome:
        """:meth:`Host.reload`, off the loop (an ``async def reload`` is awaited on it)."""
        return await asyncio.to_thread(self.host.reload, name)

    async def refresh(self, name: str, recursive: bool = False) -> RefreshOutcome:
        """:meth:`Host.refresh`, off the loop."""
        return await asyncio.to_thread(self.host.refresh, name, recursive)

    async def run(self, line: str) -> CommandResult:
        """Run one command line, as typed at the console, off the loop."""
        if not isinstance(line, str):
            raise TypeError(f"run(): 'line' must be a command line (str), not {line!r}")
        return await asyncio.to_thread(self.host.run, line)

    def complete(self, line: str) -> list[str]:
        """Completion candidates for the last word of ``line``."""
        return self.host.complete(line)

    # -- information -----------------------------------------------------------------

    def get_module(self, name: str) -> ModuleInfo:
        """One module of the module list (a snapshot); never waits for an operation.

        :raises ~modloader.errors.NoSuchModuleError: not in the module list.
        """
        # Host.get_module takes no lock (the loop must not wait while an operation, a
        # slow load() say, holds it) and checks the name as everywhere.
        return self.host.get_module(name)

    def list_modules(self) -> list[ModuleInfo]:
        """Every module in the module list, sorted by name; never waits for an operation."""
        return self.host.list_modules()

    async def list_hooks(self) -> list[HookInfo]:
        """:meth:`Host.list_hooks`, off the loop (it waits for an operation in progress)."""
        return await asyncio.to_thread(self.host.list_hooks)

    async def module_settings(self, name: str) -> ModuleSettingsInfo:
        """:meth:`Host.module_settings`, off the loop (the model's validators may run)."""
        return await asyncio.to_thread(self.host.module_settings, name)

    def is_running(self, name: str) -> bool:
        """``True`` when ``name`` is in the module list and running."""
        return self.host.is_running(name)

    def subscribe(self, callback: SubscriberT) -> Callable[[], None]:
        """Call ``callback(event)`` on every module state change (in the thread that made it)."""
        return self.host.subscribe(callback)
