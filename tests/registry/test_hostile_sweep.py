"""Every way a module's hook can misbehave, against every operator command: nothing sticks.

For each hook (``load``, ``unload``, ``reload``, a console command), each
misbehaviour (every kind of exception, odd return values, a hang past the
time limit that then returns, raises or refuses) and each command that
reaches the hook, the command must answer within a bound and without a
traceback, and once the module behaves again it must be brought back to
running with ordinary commands.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from modloader import Host
from modloader import LoadResult
from modloader import ModulesConfig
from modloader import StaticDiscovery
from tests._hostile import Unsayable


class Custom(BaseException):
    pass


class Unshowable:
    """A value whose ``repr()`` and ``str()`` raise."""

    def __repr__(self) -> str:
        raise ValueError("no repr")

    __str__ = __repr__


LIMIT = 0.2

RAISES: list[Any] = [
    KeyboardInterrupt("k"),
    SystemExit(0),
    SystemExit(3),
    GeneratorExit("g"),
    Custom("c"),
    ValueError("v"),
    RecursionError("r"),
    StopIteration("s"),
    Unsayable(SystemExit(9)),
]
RETURNS: list[Any] = [
    False,
    True,
    "junk",
    0,
    LoadResult.DECLINE,
    LoadResult.FAILURE,
    Unshowable(),
]
# Hangs past the limit, then: return, raise, refuse.
HANGS: list[Any] = [("hang", None), ("hang", KeyboardInterrupt("late")), ("hang", False)]

COMMANDS = {
    "load": ["module unload -h {n}", "module load {n}"],
    "unload": ["module unload {n}", "module unload -f base", "module unload -h {n}"],
    "reload": ["module reload {n}", "module reload"],
    "command": ["{n} poke", "{n} poke a b"],
}


class Hostile:
    def __init__(self, name: str) -> None:
        self.name = name
        self.behaviour: dict[str, Any] = {}

    def _act(self, hook: str) -> Any:
        what = self.behaviour.get(hook)
        if isinstance(what, tuple):
            time.sleep(LIMIT * 2)
            what = what[1]
        if isinstance(what, BaseException):
            raise what
        return what

    def load(self, ctx: Any) -> Any:
        result = self._act("load")
        ctx.register_command(f"{self.name} poke", lambda args: str(self._act("command")))
        return result

    def unload(self, ctx: Any) -> Any:
        return self._act("unload")

    def reload(self, ctx: Any) -> Any:
        return self._act("reload")


class Base:
    pass


def _run(host: Host, line: str, done: list[Any]) -> None:
    done.append(host.run(line))


def _recover(host: Host, name: str) -> bool:
    """Bring ``name`` back to running with ordinary commands (late calls settle first)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        info = {m.name: m for m in host.list_modules()}
        current = info.get(name)
        if current is not None and current.state == "running":
            return True
        if current is None or current.state in ("declined", "failed"):
            if name == "user" and not host.is_running("base"):
                host.run("module load base")  # what it requires first
            host.run(f"module load {name}")
        elif current.state == "timed-out":
            host.run(f"module unload -h {name}")
        time.sleep(0.02)
    return False


@pytest.mark.slow  # a few hundred commands, some waiting out the limit
def test_no_misbehaviour_leaves_a_traceback_a_hang_or_a_stuck_module() -> None:
    hostile = Hostile("victim")

    class User(Hostile):
        requires = ("base",)

    user = User("user")
    discovery = StaticDiscovery("test.sweep", {"victim": hostile, "base": Base(), "user": user})
    host = Host(
        "test.sweep",
        discovery=discovery,
        config=ModulesConfig(autoload=True),
        module_timeout=LIMIT,
    )
    host.start()
    inputs = tracebacks = hangs = unrecoverable = 0
    stuck: list[tuple[str, str, str, str]] = []
    for module in (hostile, user):
        name = module.name
        for hook, commands in COMMANDS.items():
            for behaviour in [*RAISES, *RETURNS, *HANGS]:
                for line in commands:
                    assert _recover(host, "base") or host.run("module load base").ok
                    assert _recover(host, name)
                    module.behaviour = {hook: behaviour}
                    inputs += 1
                    started = time.monotonic()
                    done: list[Any] = []
                    runner = threading.Thread(
                        target=_run, args=(host, line.format(n=name), done), daemon=True
                    )
                    runner.start()
                    runner.join(LIMIT * 10 + 5)
                    if not done:
                        hangs += 1
                        continue
                    assert time.monotonic() - started < LIMIT * 10 + 5
                    if "Traceback" in done[0].output:
                        tracebacks += 1
                    module.behaviour = {}
                    if not _recover(host, name):
                        unrecoverable += 1
                        stuck.append((name, hook, repr(behaviour), line))
    host.stop()
    print(f"inputs {inputs}, tracebacks {tracebacks}, hangs {hangs}, unrecoverable {unrecoverable}")
    if stuck:
        print("stuck:", stuck)
    assert (tracebacks, hangs, unrecoverable) == (0, 0, 0)
    assert inputs > 300
