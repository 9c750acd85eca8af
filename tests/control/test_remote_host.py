"""RemoteHost: the typed calls of Host, on a host in another process (here: its socket).

Each operation is made on an in-process host and, over a real Unix socket, on
a second host with the same modules: both must answer alike, outcomes equal
and errors of the same class carrying the same facts.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

import pytest
from tests.test_errors import CASES

from modloader import AccessDeniedError
from modloader import ConnectError
from modloader import ControlError
from modloader import Host
from modloader import ModLoaderError
from modloader import ModuleInUseError
from modloader import ModulesConfig
from modloader import ProtocolError
from modloader import RemoteHost
from modloader import StaticDiscovery
from modloader import UnloadMode
from modloader import UsageError
from modloader import hookimpl
from modloader import hookspec
from modloader._commands.base import CommandResult
from modloader._control import remote_host as remote_host_module
from modloader._control.client import ControlClient
from modloader._control.remote_host import error_from_dict
from modloader._control.unix import ControlServer


class Store:
    description = "A store"


class Echo:
    requires = ("res_store",)


class Refuses:
    def unload(self, ctx):
        return False


class Declines:
    def load(self, ctx):
        raise ValueError("no database")


class Reloads:
    def reload(self, ctx):
        return None

    def load(self, ctx):
        ctx.register_command("say", self.say, summary="say a word, slowly", usage="say WORD")

    def say(self, args):
        time.sleep(0.002)
        return args[0]


MODULES = {
    "res_store": Store,
    "app_echo": Echo,
    "res_refuses": Refuses,
    "res_declines": Declines,
    "res_reloads": Reloads,
}


def _host() -> Host:
    host = Host("ns", discovery=StaticDiscovery("ns", MODULES), config=ModulesConfig())
    host.start()
    return host


@pytest.fixture
def folder() -> Iterator[str]:
    path = tempfile.mkdtemp(prefix="mlr-", dir="/tmp")  # short: socket paths are limited
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def trio(folder: str) -> Iterator[tuple[Host, Host, RemoteHost]]:
    """An in-process host; a second one, served; a RemoteHost on the second."""
    local, served = _host(), _host()
    with (
        served.serve(os.path.join(folder, "h.sock")) as socket,
        RemoteHost(path=socket.path) as remote,
    ):
        yield local, served, remote
    local.stop()
    served.stop()


def _call(target: Any, op: Callable[[Any], Any]) -> Any:
    try:
        return op(target)
    except ModLoaderError as exc:
        return exc


def _same(here: Any, there: Any, label: str = "") -> None:
    if isinstance(here, BaseException):
        assert type(there) is type(here), (label, there)
        assert str(there) == str(here), label
        assert vars(there) == vars(here), label
    else:
        assert there == here, label


OPERATIONS: list[tuple[str, Callable[[Any], Any]]] = [
    ("unload in use", lambda h: h.unload("res_store")),
    ("unload unknown", lambda h: h.unload("res_nothing")),
    ("unload refused", lambda h: h.unload("res_refuses", UnloadMode.FIRM)),
    ("unload firm", lambda h: h.unload("res_store", UnloadMode.FIRM)),
    ("load back", lambda h: h.load("res_store")),
    ("load running", lambda h: h.load("res_store")),
    ("load not installed", lambda h: h.load("res_stor")),
    ("load dependency down", lambda h: h.load("app_echo")),
    ("load declines", lambda h: h.load("res_declines")),
    ("unload declined", lambda h: h.unload("res_declines")),
    ("hard unload", lambda h: h.unload("res_refuses", UnloadMode.HARD)),
    ("reload one", lambda h: h.reload("res_reloads")),
    ("reload all", lambda h: h.reload()),
    ("reload unknown", lambda h: h.reload("res_nothing")),
    ("reload without reload()", lambda h: h.reload("res_store")),
    ("refresh", lambda h: h.refresh("res_store")),
    ("refresh recursively", lambda h: h.refresh("res_store", recursive=True)),
    ("get_module", lambda h: h.get_module("res_store")._replace(load_time=None)),
    ("get_module unknown", lambda h: h.get_module("res_nothing")),
    ("get_module close", lambda h: h.get_module("res_stor")),
    (
        "get_module another spelling",
        lambda h: h.get_module("RES_STORE.so")._replace(load_time=None),
    ),
    ("is_running", lambda h: [h.is_running(n) for n in ("res_store", "Res_Store.so")]),
    ("is_running not", lambda h: [h.is_running(n) for n in ("res_declines", "res_nothing")]),
    ("list_hooks of a host without hooks", lambda h: h.list_hooks()),
]


def test_every_operation_answers_as_in_process(trio):
    local, served, remote = trio
    for label, op in OPERATIONS:
        here, there = _call(local, op), _call(remote, op)
        _same(here, there, label)
    # Held from outside (application code): refused, with who holds it.
    with local.use("res_store", holder="web"), served.use("res_store", holder="web"):
        _same(_call(local, OPERATIONS[0][1]), _call(remote, OPERATIONS[0][1]))
        refresh = lambda h: h.refresh("res_store", recursive=True)  # noqa: E731
        _same(_call(local, refresh), _call(remote, refresh))


def test_the_facts_travel(trio):
    _, _, remote = trio
    with pytest.raises(ModuleInUseError) as caught:
        remote.unload("res_store")
    assert (caught.value.name, caught.value.use_count, caught.value.holders) == (
        "res_store",
        1,
        ("app_echo",),
    )
    outcome = remote.unload("res_store", UnloadMode.FIRM)
    assert outcome.mode is UnloadMode.FIRM and outcome.dependents_unloaded == ("app_echo",)
    modules = {m.name: m for m in remote.list_modules()}
    assert "res_store" not in modules and modules["res_declines"].state == "declined"


@pytest.mark.parametrize(("error", "code", "facts"), CASES, ids=[c[1] for c in CASES])
def test_each_error_comes_back_as_itself(error, code, facts):
    back = error_from_dict(error.to_dict())
    assert type(back) is type(error) and back.code == code
    assert str(back) == str(error) and vars(back) == vars(error)


def test_a_code_this_version_does_not_know():
    back = error_from_dict({"error": "brand-new", "message": "something new", "facts": {"x": [1]}})
    assert type(back) is ModLoaderError
    assert (back.code, str(back), back.x) == ("brand-new", "something new", (1,))


@pytest.mark.parametrize(
    "data",
    [
        "not an object",
        {"ok": False, "error": "in-use", "message": 3},
        {"ok": False, "error": "in-use", "message": "m", "facts": []},
        {"ok": True, "outcomes": [{"name": "x", "mode": "sideways"}]},
        {"ok": True, "outcomes": []},
        {"ok": True, "outcomes": "many"},
    ],
    ids=["not-object", "message", "facts", "enum", "no-outcome", "not-list"],
)
def test_a_reply_that_is_not_understood_is_a_protocol_error(folder, data):
    class Executor:
        def execute(self, line: str) -> CommandResult:
            ok = isinstance(data, dict) and data.get("ok", False)
            return CommandResult(line, ok=ok, output="", data=data)

        def complete(self, line: str) -> list[str]:
            return []

    path = os.path.join(folder, "fake.sock")
    with ControlServer(Executor(), path), RemoteHost(path=path) as remote:
        with pytest.raises(ProtocolError, match="does not hold"):
            remote.unload("res_x")
        assert remote.run("anything").data == data  # the connection goes on


def test_arguments_are_checked_before_anything_is_sent(trio):
    _, _, remote = trio
    with pytest.raises(UsageError, match="one word"):
        remote.load("res store")
    with pytest.raises(UsageError, match="read as a flag"):
        remote.unload("-f")
    with pytest.raises(TypeError, match="UnloadMode"):
        remote.unload("res_store", "firm")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="namespace or a path"):
        RemoteHost()
    with pytest.raises(TypeError, match="namespace or a path"):
        RemoteHost("ns", path="/tmp/x.sock")


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: RemoteHost(3), TypeError, r"RemoteHost\(\): 'namespace' must be an entry-point"),
        (lambda: RemoteHost(["ns"]), TypeError, "'namespace' must be an entry-point group"),
        (lambda: RemoteHost(" "), ValueError, "'namespace' must not be empty"),
        (lambda: RemoteHost(path=3), TypeError, "'path' must be a path"),
        (lambda: RemoteHost("ns", pid="42"), TypeError, "'pid' must be a process id"),
        (lambda: RemoteHost("ns", pid=True), TypeError, "'pid' must be a process id"),
        (lambda: RemoteHost("ns", pid=0), ValueError, "'pid' must be a process id"),
        (lambda: RemoteHost("ns", timeout="5"), TypeError, "'timeout' must be seconds"),
        (lambda: RemoteHost("ns", timeout=0), ValueError, "'timeout' must be more than 0"),
        (lambda: RemoteHost("ns", connect_timeout=-1), ValueError, "'connect_timeout' must be"),
        (lambda: RemoteHost("ns", connect_timeout=None), TypeError, "'connect_timeout' must be"),
        (lambda: RemoteHost.every(["ns"]), TypeError, r"every\(\): 'namespace' must be"),
        (lambda: RemoteHost.every(""), ValueError, "'namespace' must not be empty"),
        (lambda: RemoteHost.every(None), TypeError, "'namespace' must be an entry-point group"),
        (lambda: RemoteHost.every("ns", timeout=float("nan")), ValueError, "'timeout'"),
    ],
    ids=[
        "namespace-int",
        "namespace-list",
        "namespace-blank",
        "path-int",
        "pid-str",
        "pid-bool",
        "pid-zero",
        "timeout-str",
        "timeout-zero",
        "connect-negative",
        "connect-none",
        "every-list",
        "every-empty",
        "every-none",
        "every-nan",
    ],
)
def test_wrong_arguments_name_the_parameter_before_connecting(make, error, message, monkeypatch):
    def connect(self):
        raise AssertionError("connected with a wrong argument")

    monkeypatch.setattr(ControlClient, "connect", connect)
    monkeypatch.setattr(remote_host_module, "list_sockets", connect)
    with pytest.raises(error, match=message):
        make()


def test_nothing_listening(folder):
    path = os.path.join(folder, "none.sock")
    with pytest.raises(ConnectError) as caught:
        RemoteHost(path=path)
    assert caught.value.path == path


def test_the_namespace_socket_and_a_worker_by_pid(folder, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", folder)
    host = _host()
    try:
        with host.serve():
            with RemoteHost("ns") as remote:
                assert remote.pid == os.getpid()
                assert remote.path == os.path.join(folder, "modloader", "ns.sock")
                assert remote.get_module("res_store").running
            with RemoteHost("ns", pid=os.getpid()) as remote:
                assert remote.pid == os.getpid()
                assert remote.get_module("res_store").running
    finally:
        host.stop()


def test_every_closes_what_it_opened_when_a_process_is_not_to_be_trusted(folder, monkeypatch):
    """A process further down the list refused (``AccessDeniedError``): the error is
    raised, and the connections already made are closed, not left to the caller."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", folder)
    host = _host()
    try:
        with host.serve():
            stranger = os.path.join(folder, "modloader", "ns@999999.sock")
            open(stranger, "w").close()  # listed after the namespace's socket
            opened: list[RemoteHost] = []
            real_open = RemoteHost._open

            def open_(self: RemoteHost, path: str, *args: Any) -> None:
                if path == stranger:
                    raise AccessDeniedError(f"{path}: another user's process")
                real_open(self, path, *args)
                opened.append(self)

            monkeypatch.setattr(RemoteHost, "_open", open_)
            with pytest.raises(AccessDeniedError, match="another user"):
                RemoteHost.every("ns")
            assert len(opened) == 1
            assert not opened[0]._client.connected
    finally:
        host.stop()


def test_threads_take_turns_and_a_lost_connection_is_made_again(folder):
    import threading

    host = _host()
    path = os.path.join(folder, "h.sock")
    try:
        socket = host.serve(path)
        with RemoteHost(path=path) as remote:
            answers: list[tuple[str, str]] = []

            def say(word: str) -> None:
                for _ in range(10):
                    answers.append((word, remote.run(f"say {word}").output))

            threads = [threading.Thread(target=say, args=(f"w{i}",)) for i in range(6)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            # Each thread got its own reply, never another's.
            assert len(answers) == 60 and all(word == said for word, said in answers)

            socket.close()  # the host stops serving: the call fails, said as such
            with pytest.raises(ControlError):
                remote.get_module("res_store")
            socket = host.serve(path)  # served again: the next call connects again
            assert remote.get_module("res_store").running
        socket.close()
    finally:
        host.stop()


class Specs:
    @hookspec(firstresult=True)
    def pick(self, key: str) -> str | None:  # type: ignore[empty-body]
        """The first module that knows ``key``."""

    @hookspec
    def note(self) -> str:  # type: ignore[empty-body]
        """Each module's note."""


class Picker:
    @hookimpl(tryfirst=True)
    def pick(self, key: str) -> str | None:
        return None

    @hookimpl(wrapper=True)
    def note(self) -> Any:
        return (yield)


class Noter:
    @hookimpl
    def note(self) -> str:
        return "noted"

    @hookimpl(optionalhook=True)
    def undeclared(self) -> None:
        return None


def test_the_hooks_of_a_served_host_as_in_process(folder):
    def make() -> Host:
        modules = {"res_pick": Picker, "res_note": Noter}
        discovery = StaticDiscovery("ns", modules)
        host = Host("ns", discovery=discovery, config=ModulesConfig(), hookspecs=[Specs])
        host.start()
        return host

    local, served = make(), make()
    try:
        with served.serve(os.path.join(folder, "h.sock")) as socket:
            with RemoteHost(path=socket.path) as remote:
                hooks = remote.list_hooks()
                assert hooks == local.list_hooks()
                assert [h.name for h in hooks] == ["note", "pick", "undeclared"]
                assert hooks[0].modules[0].wrapper and hooks[1].firstresult
                assert not hooks[2].declared
    finally:
        local.stop()
        served.stop()
