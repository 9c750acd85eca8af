"""A host in another process, over its control socket: the typed calls of :class:`Host`.

:class:`RemoteHost` sends the command an operator would type (``module unload
-f res_x``) with the structured reply asked for, and turns the reply's
``data`` back into what :class:`~modloader.Host` returns in-process: the
outcome (:class:`~modloader.UnloadOutcome` ...), or the error the host raised,
as the same class with the same facts (``use_count``, ``holders`` ...). The
host needs no new request for it: ``data`` is what ``-rx --json`` prints
(docs/commands.md, structured results).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from collections.abc import Mapping
from types import TracebackType
from typing import Any
from typing import Self
from typing import TypeVar

from modloader import errors
from modloader._commands.base import CommandResult
from modloader._control.client import ControlClient
from modloader._control.paths import default_socket_path
from modloader._control.paths import socket_folder_problem
from modloader._control.wire import REPLY_TIMEOUT
from modloader._control.workers import list_sockets
from modloader._control.workers import socket_of
from modloader._hooks.info import HookImplInfo
from modloader._hooks.info import HookInfo
from modloader._hostargs import check_flag
from modloader._hostargs import check_mode
from modloader._hostargs import check_name
from modloader._hostargs import check_namespace
from modloader._hostargs import check_path
from modloader._hostargs import check_timeout
from modloader._names import name_key
from modloader._names import suggest
from modloader._registry.outcomes import LoadOutcome
from modloader._registry.outcomes import ModuleInfo
from modloader._registry.outcomes import RefreshOutcome
from modloader._registry.outcomes import ReloadOutcome
from modloader._registry.outcomes import ReloadStatus
from modloader._registry.outcomes import SettingsReload
from modloader._registry.outcomes import UnloadOutcome
from modloader._registry.states import ModuleState
from modloader.errors import ConfigIssue
from modloader.errors import ModLoaderError
from modloader.errors import ProtocolError
from modloader.errors import UsageError
from modloader.module import UnloadMode

__all__ = ["RemoteHost", "error_from_dict"]

T = TypeVar("T")

_FLAGS = {UnloadMode.SOFT: "", UnloadMode.FIRM: "-f ", UnloadMode.HARD: "-h "}


class RemoteHost:
    """A host running in another process, reached over its control socket.

    The module operations of :class:`~modloader.Host`, typed as there::

        with modloader.RemoteHost(namespace="myapp.modules") as remote:
            try:
                remote.unload("res_cache")
            except modloader.ModuleInUseError as exc:
                print(exc.use_count, exc.holders)  # the same facts as in-process
            print([m.name for m in remote.list_modules() if m.running])

    :param namespace: reach the namespace's socket (its first process, as
        ``modloader -n NAMESPACE -r``), in the owner-only per-user folder.
    :param path: the socket's path instead (``-s PATH``, ``host.serve(path)``).
    :param pid: with ``namespace``: the process ``pid`` among its workers (``-p``).
    :param timeout: seconds to wait for each reply (``None``: as long as it takes).
    :param connect_timeout: seconds to wait for the connection.
    :raises ~modloader.errors.ConnectError: nothing listens there.
    :raises ~modloader.errors.AccessDeniedError: the socket, its folder or the process
        listening is not to be trusted (another user's).
    :raises ~modloader.errors.ControlError: no process ``pid`` answers.
    :raises TypeError: an argument of the wrong type, named, before anything is
        connected (:class:`ValueError`: an empty namespace, a wait of 0 seconds).

    One connection, opened here and closed by :meth:`close` (or ``with``); calls
    from several threads take turns on it. A connection lost (the host stopped,
    a reply not given in time) fails the call in progress with a
    :class:`~modloader.errors.ControlError`; the next call connects again (to
    the host restarted on the same socket, say).
    """

    def __init__(
        self,
        namespace: str | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        pid: int | None = None,
        timeout: float | None = REPLY_TIMEOUT,
        connect_timeout: float = 5.0,
    ) -> None:
        if (namespace is None) == (path is None):
            raise TypeError("RemoteHost() takes a namespace or a path, one of the two")
        if pid is not None and namespace is None:
            raise TypeError("RemoteHost(pid=...) chooses among a namespace's processes")
        if namespace is not None:
            check_namespace("RemoteHost", namespace)
        check_path("RemoteHost", "path", path)
        _check_arguments("RemoteHost", timeout, connect_timeout, pid)
        if namespace is not None:
            path = default_socket_path(namespace)
            if pid is not None:
                path = socket_of(path, pid)
        assert path is not None
        self._open(os.fspath(path), namespace is not None, timeout, connect_timeout)

    def _open(
        self, path: str, private: bool, timeout: float | None, connect_timeout: float
    ) -> None:
        self._client = ControlClient(
            path, timeout=timeout, connect_timeout=connect_timeout, private_folder=private
        )
        self._lock = threading.Lock()
        self._client.connect()

    @classmethod
    def every(
        cls,
        namespace: str,
        *,
        timeout: float | None = REPLY_TIMEOUT,
        connect_timeout: float = 5.0,
    ) -> list[RemoteHost]:
        """A :class:`RemoteHost` for each process that serves ``namespace``: its pre-fork
        workers (gunicorn, ``uvicorn --workers``), as ``modloader -rx`` reaches them.

        The namespace's socket first, then its workers' in the order of their
        pids; a socket whose process has died is skipped. Each is connected;
        close each (``with`` closes it)::

            for remote in modloader.RemoteHost.every("myapp.modules"):
                with remote:
                    remote.reload("res_cache")

        :param timeout: seconds to wait for each reply, per process.
        :param connect_timeout: seconds to wait for each connection.
        :raises ~modloader.errors.ConnectError: no process of the namespace answers.
        :raises ~modloader.errors.AccessDeniedError: the namespace's folder, or a
            process listening in it, is not to be trusted (another user's).
        """
        check_namespace("RemoteHost.every", namespace)
        _check_arguments("RemoteHost.every", timeout, connect_timeout)
        primary = default_socket_path(namespace)
        problem = socket_folder_problem(primary, private=True)
        if problem is not None:  # before listing it, let alone connecting to what is in it
            raise errors.AccessDeniedError(problem)
        found: list[RemoteHost] = []
        try:
            for path in list_sockets(primary):
                remote = cls.__new__(cls)
                try:
                    remote._open(path, True, timeout, connect_timeout)
                except errors.ConnectError:
                    continue  # its process died: the next host to start removes the socket
                found.append(remote)
        except BaseException:
            for remote in found:
                remote.close()
            raise
        if not found:
            raise errors.ConnectError(primary)
        return found

    @property
    def path(self) -> str:
        """The socket's path."""
        return self._client.path

    @property
    def pid(self) -> int | None:
        """The process that answers (``None`` where the system cannot tell)."""
        return self._client.peer_pid

    def close(self) -> None:
        """Close the connection. Idempotent."""
        with self._lock:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<RemoteHost {self.path!r} pid={self.pid}>"

    # -- commands ------------------------------------------------------------------------

    def run(self, line: str) -> CommandResult:
        """Run one command line on the host, as ``modloader -rx LINE --json`` does.

        :raises ~modloader.errors.ControlError: the host could not be reached or
            refused the request (a failed command is a result, not an error).
        """
        if not isinstance(line, str):
            raise TypeError(f"run(line) takes a str, not {type(line).__name__}")
        with self._lock:  # one request and its reply at a time on the connection
            return self._client.execute(line, structured=True)

    # -- module operations ---------------------------------------------------------------

    def load(self, name: str) -> LoadOutcome:
        """``module load``: :meth:`Host.load <modloader.Host.load>` on the host."""
        data = self._operation("load", f"module load {_word('load', name)}")
        return _decoded(data, "outcome", _of(LoadOutcome))

    def unload(self, name: str, mode: UnloadMode = UnloadMode.SOFT) -> UnloadOutcome:
        """``module unload [-f|-h]``: :meth:`Host.unload <modloader.Host.unload>` on the host."""
        flag = _FLAGS[check_mode("unload", mode)]
        data = self._operation("unload", f"module unload {flag}{_word('unload', name)}")
        return _decoded(data, "outcomes", _one_unload)

    def reload(self, name: str | None = None) -> ReloadOutcome:
        """``module reload [name]``: :meth:`Host.reload <modloader.Host.reload>` on the host
        (for a name it refused, its error is raised, as there)."""
        line = "module reload" if name is None else f"module reload {_word('reload', name)}"
        outcome = _decoded(self._operation("reload", line), "outcome", _of(ReloadOutcome))
        if outcome.refused:
            raise outcome.refused[0]
        return outcome

    def refresh(self, name: str, recursive: bool = False) -> RefreshOutcome:
        """``module refresh``: :meth:`Host.refresh <modloader.Host.refresh>` on the host."""
        words = " recursively" if check_flag("refresh", "recursive", recursive) else ""
        data = self._operation("refresh", f"module refresh {_word('refresh', name)}{words}")
        return _decoded(data, "outcome", _of(RefreshOutcome))

    # -- information -----------------------------------------------------------------------

    def list_modules(self) -> list[ModuleInfo]:
        """``module show``: every module of the host's module list, sorted by name."""
        return self._show("module show")

    def get_module(self, name: str) -> ModuleInfo:
        """One module of the host's module list.

        :raises ~modloader.errors.NoSuchModuleError: not in the module list.
        """
        word = _word("get_module", name)
        key = name_key(word)  # as the host matches names: any case, ".so" or not
        for info in self._show(f"module show like {key}"):  # the rows holding it only
            if name_key(info.name) == key:
                return info
        names = [m.name for m in self.list_modules()]  # for the close ones
        raise errors.NoSuchModuleError(word, suggest(word, names))

    def is_running(self, name: str) -> bool:
        """Whether the module ``name`` is running (``False`` for a name not in the list)."""
        try:
            return self.get_module(name).state == ModuleState.RUNNING.value
        except errors.NoSuchModuleError:
            return False

    def list_hooks(self) -> list[HookInfo]:
        """``module show hooks``: :meth:`Host.list_hooks <modloader.Host.list_hooks>`."""
        line = "module show hooks"
        result = self.run(line)
        hooks = result.data.get("hooks") if isinstance(result.data, dict) else None
        if not result.ok or not isinstance(hooks, list):
            raise _not_understood(line, "a list of hooks", result.data)
        return [_checked(line, "a hook", _hook, item) for item in hooks]

    def _show(self, line: str) -> list[ModuleInfo]:
        result = self.run(line)
        modules = result.data.get("modules") if isinstance(result.data, dict) else None
        if not result.ok or not isinstance(modules, list):
            raise _not_understood(line, "a list of modules", result.data)
        return [_checked(line, "a module", _of(ModuleInfo), item) for item in modules]

    def _operation(self, what: str, line: str) -> Mapping[str, Any]:
        """Run a module operation; its data, or the host's error raised."""
        result = self.run(line)
        data = result.data
        if not isinstance(data, dict):
            raise _not_understood(line, f"the result of a {what}", data)
        if not result.ok and "error" in data:
            raise _checked(line, "an error", error_from_dict, data)
        return data


def _word(method: str, name: object) -> str:
    """``name`` as one word of a command line."""
    name = check_name(method, "name", name)
    if name != name.strip() or len(name.split()) != 1:
        raise UsageError(f"'{name}' is not a module name (one word)")
    if name.startswith("-"):
        raise UsageError(f"'{name}': a name that starts with '-' is read as a flag")
    return name


def _decoded(data: Mapping[str, Any], key: str, decode: Callable[[Any], T]) -> T:
    return _checked(f"the {key} of the reply", key, decode, data.get(key))


def _check_arguments(
    method: str, timeout: object, connect_timeout: object, pid: object = None
) -> None:
    """The waits and the pid :class:`RemoteHost` and :meth:`RemoteHost.every` are given:
    wrong, it fails before any connection, naming the parameter (as ``Host`` does)."""
    if pid is not None and (isinstance(pid, bool) or not isinstance(pid, int)):
        raise TypeError(f"{method}(): 'pid' must be a process id (an int), not {pid!r}")
    if pid is not None and pid <= 0:
        raise ValueError(f"{method}(): 'pid' must be a process id (above 0), not {pid!r}")
    check_timeout(timeout, "timeout", method)
    if connect_timeout is None:
        raise TypeError(f"{method}(): 'connect_timeout' must be seconds (a number), not None")
    check_timeout(connect_timeout, "connect_timeout", method)


def _checked(line: str, what: str, decode: Callable[[Any], T], value: Any) -> T:
    try:
        return decode(value)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise _not_understood(line, what, value) from exc


def _not_understood(line: str, what: str, value: Any) -> ProtocolError:
    shown = repr(value)
    shown = shown if len(shown) <= 200 else shown[:200] + "..."
    return ProtocolError(f"the host's reply to '{line}' does not hold {what}: {shown}")


def _hook(value: Any) -> HookInfo:
    """A hook as ``module show hooks --json`` writes it (its name under ``hook``)."""
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, not {type(value).__name__}")
    return outcome_from_dict(HookInfo, {**value, "name": value["hook"]})


def _one_unload(outcomes: Any) -> UnloadOutcome:
    [outcome] = outcomes
    return outcome_from_dict(UnloadOutcome, outcome)


# -- decoding: what modloader._jsonable encoded, back into the typed results ---------------


def _of(cls: type[T]) -> Callable[[Any], T]:
    """The decoder of a named tuple ``cls`` (see :func:`outcome_from_dict`)."""

    def decode(value: Any) -> T:
        return outcome_from_dict(cls, value)

    return decode


def _many(decode: Callable[[Any], T]) -> Callable[[Any], tuple[T, ...]]:
    def many(values: Any) -> tuple[T, ...]:
        if not isinstance(values, list):
            raise TypeError(f"expected a list, not {type(values).__name__}")
        return tuple(decode(v) for v in values)

    return many


def _module_error(value: Any) -> errors.ModuleError:
    error = error_from_dict(value)
    if not isinstance(error, errors.ModuleError):
        raise TypeError(f"{error.code} is not an error about a module")
    return error


def _loaded(value: Any) -> LoadOutcome | errors.ModuleError:
    if isinstance(value, dict) and "error" in value:
        return _module_error(value)
    return outcome_from_dict(LoadOutcome, value)


def _status(value: Any) -> ReloadStatus | None:
    return None if value is None else ReloadStatus(value)


#: The fields that are not plain values (lists become tuples), by class and name.
_FIELDS: dict[tuple[type, str], Callable[[Any], Any]] = {
    (UnloadOutcome, "mode"): UnloadMode,
    (SettingsReload, "status"): ReloadStatus,
    (SettingsReload, "errors"): _many(_of(ConfigIssue)),
    (ReloadOutcome, "refused"): _many(_module_error),
    (ReloadOutcome, "settings"): _many(_of(SettingsReload)),
    (RefreshOutcome, "dependents_unloaded"): _many(_of(UnloadOutcome)),
    (RefreshOutcome, "dependents_loaded"): _many(_loaded),
    (HookInfo, "modules"): _many(_of(HookImplInfo)),
}
#: An error's facts that are not plain values (lists become tuples), by name.
_FACTS: dict[str, Callable[[Any], Any]] = {
    "progress": _many(_of(UnloadOutcome)),
    "errors": _many(_of(ConfigIssue)),
    "issues": _many(_of(ConfigIssue)),
    "settings": _status,
    "missing": lambda v: {str(k): str(w) for k, w in v.items()},
}


def _plain(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def outcome_from_dict(cls: type[T], data: Any) -> T:
    """A named tuple ``cls`` (an outcome, :class:`ModuleInfo`) from its JSON form; a
    field the reply leaves out takes its default (a newer host's new key is ignored)."""
    if not isinstance(data, dict):
        raise TypeError(f"expected an object, not {type(data).__name__}")
    defaults: dict[str, Any] = getattr(cls, "_field_defaults", {})
    values = []
    for field in getattr(cls, "_fields", ()):
        if field not in data:
            values.append(defaults[field])  # KeyError: a field without a default is missing
            continue
        convert = _FIELDS.get((cls, field), _plain)
        values.append(convert(data[field]))
    return cls(*values)


@functools.cache
def _error_classes() -> dict[str, type[ModLoaderError]]:
    classes = [c for c in vars(errors).values() if isinstance(c, type)]
    return {c.code: c for c in classes if issubclass(c, ModLoaderError)}


def error_from_dict(data: Any) -> ModLoaderError:
    """The error :meth:`ModLoaderError.to_dict` gave, as its class with its facts; a code
    this version does not know is a :class:`~modloader.errors.ModLoaderError` whose
    ``code`` is that code."""
    if not isinstance(data, dict) or not isinstance(data.get("error"), str):
        raise TypeError("expected an error's object")
    code, message, facts = data["error"], data.get("message", ""), data.get("facts", {})
    if not isinstance(message, str) or not isinstance(facts, dict):
        raise TypeError("an error's message is text and its facts an object")
    cls = _error_classes().get(code, ModLoaderError)
    error = cls.__new__(cls)
    ModLoaderError.__init__(error, message)
    if cls is ModLoaderError:
        vars(error)["code"] = code
    if isinstance(error, errors.ModuleError):  # what every module error carries
        error.name, error.replaced_declined, error.progress = "", False, ()
    for key, value in facts.items():
        if (
            isinstance(key, str)
            and key.isidentifier()
            and not key.startswith("_")
            and key not in _NOT_FACTS
        ):
            setattr(error, key, _FACTS.get(key, _plain)(value))
    return error


#: Attributes of every exception, or the class's: never set from a reply.
_NOT_FACTS = frozenset(("args", "code", "exit_code", "message", "with_traceback", "add_note"))
