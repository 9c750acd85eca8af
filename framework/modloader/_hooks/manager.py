"""The host's plugin manager: pluggy calling, modloader's lifecycle and use counts.

A module's object joins the manager when the module becomes running and is
disarmed before its ``unload()`` is called, whichever way it goes (soft, firm
or hard unload, refresh, shutdown). The lifecycle tells :class:`HostHooks`
at its single points: :meth:`~HostHooks.admit` before ``load()`` (validation),
:meth:`~HostHooks.join` from ``became_running``, :meth:`~HostHooks.leave`
from ``unloading``; a module removed from the list (its ``unloaded``
event) is unregistered. The historic calls a joining module missed, which
pluggy replays from its registration, are noted there and handed to the
lifecycle (:meth:`~HostHooks.replay_missed`) to make as module calls.

A call holds one reference on each module it is about to call, for the whole
call, with the holder ``hook:<name>``: a soft unload during the call is refused
and names that holder. A firm or hard unload goes on regardless (SPEC 5.3).
Before the module's ``unload()`` starts, each of its implementations is put
behind a guard that calls it only while the module is running: a call in
flight that has not reached it yet skips it, a call already inside it finishes
there (as a stale handle's user would), and when ``unload()`` refuses and the
module runs on, it is called again in its old place, with no replay.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING
from typing import Any

import pluggy

from modloader._hooks.info import HookImplInfo
from modloader._hooks.info import HookInfo
from modloader._hooks.markers import PROJECT_NAME
from modloader._registry.events import EventKind
from modloader._registry.events import ModuleEvent
from modloader._registry.refs import ModuleHandle
from modloader._registry.states import ModuleState

if TYPE_CHECKING:
    from collections.abc import Generator

    from modloader._registry.record import ModuleRecord

__all__ = ["HostHooks"]

_log = logging.getLogger("modloader")
_S = ModuleState
_RUNNING = ModuleState.RUNNING
_new = object.__new__


def _skip(*args: object, **kwargs: object) -> None:
    """Stands in for a departed module's implementation: contributes no result."""
    return None


def _skip_wrapper(*args: object, **kwargs: object) -> Generator[None, object, object]:
    """Stands in for a departed module's wrapper: passes the result through."""
    return (yield)


def _skip_old_wrapper(*args: object, **kwargs: object) -> Generator[None, object, None]:
    """Stands in for a departed module's old-style ``hookwrapper``."""
    yield


def _stand_in(impl: pluggy.HookImpl) -> Any:
    if impl.hookwrapper:
        return _skip_old_wrapper
    return _skip_wrapper if impl.wrapper else _skip


def _guarded(impl: pluggy.HookImpl, record: ModuleRecord) -> Any:
    """``impl``'s function, called only while ``record`` is running (else its stand-in)."""
    function = impl.function
    stand_in = _stand_in(impl)

    def guard(*args: object) -> object:
        if record.state is _RUNNING:
            return function(*args)
        return stand_in(*args)

    return guard


def _set_function(impl: pluggy.HookImpl, function: Any) -> None:
    # ``HookImpl.function`` is a plain slot; pluggy reads it at each call, so
    # swapping it reaches the copies of the implementation list that calls in
    # flight are iterating.
    setattr(impl, "function", function)  # noqa: B010 - Final for type checkers only


def _hookimpls(caller: pluggy.HookCaller) -> list[pluggy.HookImpl]:
    # The list pluggy calls in reverse; mutated only by whole-list assignment so
    # that a concurrent call copies either the old order or the new one.
    impls: list[pluggy.HookImpl] = caller._hookimpls
    return impls


class _HookCall(ModuleHandle[Any]):
    """The references one hook call holds: one on each module it calls, until it returns.

    It is the call's key in each module's holders (so each module counts it
    once), labelled ``hook:<name>``.
    """

    __slots__ = ("_taken",)

    _taken: list[dict[ModuleHandle[Any], str]]

    @property
    def name(self) -> str:
        return self.holder

    @property
    def obj(self) -> Any:
        raise TypeError("a hook call's references have no module object")

    @property
    def held(self) -> bool:
        return any(self in holders for holders in self._taken)

    def release(self) -> None:
        for holders in self._taken:
            holders.pop(self, None)

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<hook call {self.holder!r} on {len(self._taken)} modules>"


def _name_the_module(
    exc: BaseException, hook_name: str, methods: Sequence[pluggy.HookImpl]
) -> None:
    """Note on ``exc`` which module's implementation raised it: pluggy raises it as it is,
    and the application that called the hook (``demo status``) could not tell. The
    deepest implementation in its traceback is the one; a note is added once."""
    codes = {getattr(impl.function, "__code__", None): impl.plugin_name for impl in methods}
    found = None
    tb = exc.__traceback__
    while tb is not None:
        found = codes.get(tb.tb_frame.f_code, found)
        tb = tb.tb_next
    if found is None:
        return
    # An exception whose notes cannot be read or added to is raised without one.
    with contextlib.suppress(Exception):
        notes = getattr(exc, "__notes__", ())
        if not any(isinstance(n, str) and n.startswith(_RAISED_BY) for n in notes):
            exc.add_note(f"{_RAISED_BY}'{found}' (its {hook_name} hook)")


#: How :func:`_name_the_module`'s note begins.
_RAISED_BY = "raised by module "


class _PluginManager(pluggy.PluginManager):
    """pluggy's manager, with each call holding references on the modules it calls."""

    def __init__(self, records: dict[str, ModuleRecord]) -> None:
        super().__init__(PROJECT_NAME)
        self._records = records
        self._holder_names: dict[str, str] = {}
        #: The object joining, and the thread registering it (under the loader's lock),
        #: if any: pluggy replays the historic calls it missed from ``register()``.
        self.joining: tuple[object, int] | None = None
        #: The hooks of those replays, one entry per call, as pluggy asked for them.
        self.missed: list[str] = []

    def _hookexec(
        self,
        hook_name: str,
        methods: Sequence[pluggy.HookImpl],
        kwargs: Mapping[str, object],
        firstresult: bool,
    ) -> object | list[object]:
        holder = self._holder_names.get(hook_name)
        if holder is None:
            holder = self._holder_names.setdefault(hook_name, "hook:" + hook_name)
        # The call takes one reference on each module it is about to call, as
        # refs.acquire() does (insert, then check the state: this pairs with the
        # unloader's set-state-then-count), inlined because this loop is the cost
        # of a call. One handle stands for the call in every module's holders.
        call = _new(_HookCall)
        call.holder = holder
        taken: list[dict[ModuleHandle[Any], str]] = []
        call._taken = taken
        take = taken.append
        get = self._records.get
        running = _RUNNING
        leaving: list[str] | None = None
        for impl in methods:
            record = get(impl.plugin_name)
            if record is not None:  # None: a call_extra() function, not a module
                holders = record.holders
                holders[call] = holder
                if record.state is running:
                    take(holders)
                else:  # its unload() is about to start, or has: the call goes on without it
                    holders.pop(call, None)
                    leaving = (
                        [impl.plugin_name] if leaving is None else [*leaving, impl.plugin_name]
                    )
        if leaving is not None:
            methods = [impl for impl in methods if impl.plugin_name not in leaving]
        try:
            if self.joining is not None and self._is_replay(methods):
                # Not run here, under the lock and without a time limit: noted, and
                # replayed as the module's own code once it has joined (replay_missed).
                self.missed.append(hook_name)
                return []
            return self._inner_hookexec(hook_name, methods, kwargs, firstresult)
        except BaseException as exc:
            _name_the_module(exc, hook_name, methods)
            raise
        finally:
            try:
                for holders in taken:
                    del holders[call]
            except KeyError:  # released meanwhile through the handle itself
                call.release()

    def _is_replay(self, methods: Sequence[pluggy.HookImpl]) -> bool:
        # pluggy replays history to one implementation at a time, from register().
        joining = self.joining
        return (
            joining is not None
            and len(methods) == 1
            and methods[0].plugin is joining[0]
            and threading.get_ident() == joining[1]
        )


_GROUP_RANK = {(True, False): 0, (False, False): 1, (False, True): 2}


def _replay(caller: pluggy.HookCaller, impl: pluggy.HookImpl, count: int) -> None:
    """Make the first ``count`` historic calls of ``caller`` to ``impl``, as pluggy's
    registration would have (each result, if any, to the call's ``result_callback``)."""
    for kwargs, result_callback in (caller._call_history or [])[:count]:
        try:
            result = caller._hookexec(caller.name, [impl], kwargs, False)
        except BaseException:  # the module's own: logged, and the next call made
            _log.warning(
                "%s: replaying historic hook '%s' raised",
                impl.plugin_name,
                caller.name,
                exc_info=True,
            )
            continue
        if result and result_callback is not None:
            assert isinstance(result, list)
            try:
                result_callback(result[0])
            except BaseException:  # the caller's code, not the module's: logged as such
                _log.warning(
                    "the result callback of historic hook '%s' raised on %s's result",
                    caller.name,
                    impl.plugin_name,
                    exc_info=True,
                )


class HostHooks:
    """One host's hooks: specifications, the plugin manager, and module membership.

    :param hookspecs: classes or modules whose functions carry :data:`modloader.hookspec`.
    :param strict: refuse a module implementing a hook no specification declares
        (unless the implementation says ``optionalhook=True``).
    """

    def __init__(self, hookspecs: Iterable[type | ModuleType], *, strict: bool = False) -> None:
        if isinstance(hookspecs, (type, ModuleType)):
            raise TypeError(
                f"hookspecs takes a list of classes or modules: hookspecs=[{hookspecs.__name__}]"
            )
        given: object = hookspecs  # typed as a list; a caller may pass anything
        if isinstance(given, (str, bytes)) or not isinstance(given, Iterable):
            raise TypeError(f"hookspecs takes a list of classes or modules, not {given!r}")
        self.strict = strict
        self._records: dict[str, ModuleRecord] = {}
        self.manager = _PluginManager(self._records)
        # Validation registers a module here first: pluggy's reason, and no trace left behind.
        self._checker = pluggy.PluginManager(PROJECT_NAME)
        self.specs: list[type | ModuleType] = []
        for spec in hookspecs:
            self.manager.add_hookspecs(spec)
            self._checker.add_hookspecs(spec)
            self.specs.append(spec)
        #: Modules that joined and have historic calls to be replayed: name -> hook -> count.
        self._missed: dict[str, Counter[str]] = {}
        #: Modules whose unload() was called: name -> (impl, its own function) to restore
        #: should the module run on (its unload() refused).
        self._guarded: dict[str, list[tuple[pluggy.HookImpl, Any]]] = {}

    @property
    def relay(self) -> pluggy.HookRelay:
        """``host.hook``: ``relay.<name>(**kwargs)`` calls every running implementer."""
        return self.manager.hook

    # -- the lifecycle's points -------------------------------------------------------

    def admit(self, record: ModuleRecord) -> str | None:
        """Before ``load()``: why ``record``'s hook implementations are refused, or ``None``."""
        obj = record.obj
        if obj is None:
            return None
        other = self.manager.get_name(obj)
        if other is not None and other != record.name:
            return f"its object already implements hooks for module '{other}'"
        name = record.name
        try:
            self._checker.register(obj, name=name)
            unknown = self._unknown_hooks(obj) if self.strict else []
            if unknown:
                hooks = "hooks" if len(unknown) > 1 else "hook"
                return f"hook implementation refused: unknown {hooks} {', '.join(unknown)}"
        except pluggy.PluginValidationError as exc:
            return f"hook implementation refused: {exc}"
        except (ValueError, TypeError) as exc:
            return f"hook implementation refused: {exc}"
        finally:
            if self._checker.has_plugin(name):
                self._checker.unregister(name=name)
        return None

    def _unknown_hooks(self, obj: object) -> list[str]:
        """The hooks ``obj`` implements that no specification declares, quoted (what pluggy's
        ``check_pending`` refuses, said without the object's repr)."""
        return sorted(
            repr(caller.name)
            for caller in self._checker.get_hookcallers(obj) or ()
            if not caller.has_spec()
            and any(not impl.optionalhook for impl in caller.get_hookimpls())
        )

    def join(self, record: ModuleRecord) -> None:
        """``record`` became running (under the lifecycle's lock): register it, noting the
        historic calls it missed (see :meth:`replay_missed`)."""
        self._tidy()
        if record.obj is None:
            return
        self._records[record.name] = record
        manager = self.manager
        manager.joining, manager.missed = (record.obj, threading.get_ident()), []
        try:
            manager.register(record.obj, name=record.name)
        except Exception:
            _log.warning("%s: its hooks could not be registered", record.name, exc_info=True)
            if manager.has_plugin(record.name):
                manager.unregister(name=record.name)
            self._records.pop(record.name, None)
            return
        finally:
            manager.joining = None
        for caller in manager.get_hookcallers(record.obj) or ():
            self._sort(caller)
        if manager.missed:
            self._missed[record.name] = Counter(manager.missed)

    def replay_missed(self, record: ModuleRecord) -> list[tuple[str, Callable[[], None]]]:
        """The historic calls ``record`` missed, noted as it joined: ``(hook, replay)``
        for each hook, ``replay()`` making them all, in order, as pluggy would have.

        The lifecycle runs each replay as the module's own code (in its call thread,
        under the time limit). A replayed call that raises, whatever it raises, is
        logged and the next one made: the module keeps running, nobody is waiting.
        """
        missed = self._missed.pop(record.name, None)
        if not missed:
            return []
        replays: list[tuple[str, Callable[[], None]]] = []
        for hook, count in missed.items():
            caller: pluggy.HookCaller = getattr(self.manager.hook, hook)
            for impl in caller.get_hookimpls():
                if impl.plugin is record.obj:
                    replays.append((hook, functools.partial(_replay, caller, impl, count)))
        return replays

    def leave(self, record: ModuleRecord) -> None:
        """Before ``record``'s ``unload()`` (its state is no longer running): no call enters it.

        Its implementations stay in place behind a guard; the module's state
        decides from now on (removed, or running again after a refused unload).
        """
        self._tidy()
        if self._records.get(record.name) is not record or record.name in self._guarded:
            return
        plugin = self.manager.get_plugin(record.name)
        saved: list[tuple[pluggy.HookImpl, Any]] = []
        for caller in self.manager.get_hookcallers(plugin) or ():
            for impl in _hookimpls(caller):
                if impl.plugin_name == record.name:
                    saved.append((impl, impl.function))
                    _set_function(impl, _guarded(impl, record))
        self._guarded[record.name] = saved

    def removed(self, event: ModuleEvent) -> None:
        """A module left the module list (the lifecycle's ``unloaded`` event): unregister it."""
        if event.kind is EventKind.UNLOADED:
            record = self._records.get(event.name)
            if record is not None and record.state is _S.REMOVED:
                self.leave(record)  # guarded already, unless removed without its unload()
                self._forget(record)

    # -- membership ------------------------------------------------------------------

    def _forget(self, record: ModuleRecord) -> None:
        self._guarded.pop(record.name, None)
        self._missed.pop(record.name, None)
        if self.manager.has_plugin(record.name):
            self.manager.unregister(name=record.name)
        del self._records[record.name]

    def _tidy(self) -> None:
        """Under the lock: unguard modules running again after a refused ``unload()``."""
        for name in [n for n in self._guarded if self._records[n].state is _RUNNING]:
            for impl, function in self._guarded.pop(name):
                _set_function(impl, function)

    def _sort(self, caller: pluggy.HookCaller) -> None:
        """Order implementations so pluggy calls them in start order (then tryfirst/trylast).

        pluggy calls the most recently registered first; modules are called in
        the order they started, as Asterisk walks its module list.
        """
        records = self._records

        def key(impl: pluggy.HookImpl) -> tuple[bool, int, int]:
            record = records.get(impl.plugin_name)
            seq = record.start_seq if record is not None else 0
            wrapper = bool(impl.wrapper or impl.hookwrapper)
            return (wrapper, _GROUP_RANK[(bool(impl.trylast), bool(impl.tryfirst))], -seq)

        caller._hookimpls[:] = sorted(_hookimpls(caller), key=key)

    # -- introspection ---------------------------------------------------------------

    def describe(self) -> list[HookInfo]:
        """Every hook, its options, and its implementing modules in call order."""
        infos = []
        for name, caller in sorted(vars(self.manager.hook).items()):
            if not isinstance(caller, pluggy.HookCaller):
                continue
            spec = caller.spec
            modules = tuple(
                HookImplInfo(
                    impl.plugin_name,
                    wrapper=bool(impl.wrapper or impl.hookwrapper),
                    tryfirst=bool(impl.tryfirst),
                    trylast=bool(impl.trylast),
                )
                for impl in reversed(caller.get_hookimpls())
            )
            infos.append(
                HookInfo(
                    name,
                    declared=spec is not None,
                    firstresult=spec is not None and bool(spec.opts.get("firstresult")),
                    historic=caller.is_historic(),
                    modules=modules,
                )
            )
        return infos
