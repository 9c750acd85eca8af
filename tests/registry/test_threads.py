"""Commands and use() racing from many threads (SPEC 6): a fixed amount of each, checked after."""

from __future__ import annotations

import random
import sys
import threading
from typing import Any

from modloader import Host
from modloader import ModuleNotRunningError
from modloader import ModulesConfig
from modloader import NoSuchModuleError
from modloader import StaleHandleError
from modloader import StaticDiscovery

SOFT = ["res_a", "res_b", "res_c"]
FIRM = ["res_f1", "res_f2"]


class Plain:
    def load(self, ctx: Any) -> None:
        # Calls back into the host from inside load(): must not deadlock.
        ctx.host.run("module show like res")


class Dependent:
    requires = ("res_a",)

    def load(self, ctx: Any) -> None:
        with ctx.use("res_a"):
            pass

    def reload(self, ctx: Any) -> None:
        ctx.host.list_modules()


class Race:
    """Threads taking handles and running commands on one host, a fixed number of times each."""

    HANDLES = 3000
    COMMANDS = 400
    LINES = (
        *(f"module unload {n}" for n in SOFT),
        *(f"module load {n}" for n in SOFT),
        *(f"module refresh {n}" for n in SOFT),
        *(f"module unload -f {n}" for n in FIRM),
        *(f"module load {n}" for n in FIRM),
        "module reload",
        "module show",
        "module refresh res_a recursively",
        "module load app_dep",
    )

    def __init__(self, host: Host) -> None:
        self.host = host
        self.problems: list[str] = []
        self.counts = {"handles": 0, "tries": 0, "commands": 0}

    def user(self, seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(self.HANDLES):
            self.counts["tries"] += 1
            name = rng.choice(SOFT)
            try:
                handle = self.host.use(name, holder=f"user{seed}")
            except (ModuleNotRunningError, NoSuchModuleError):
                continue
            try:
                # A soft unload must never remove a module while a handle is held.
                for _ in range(3):
                    handle.obj  # noqa: B018 - raises if the module was removed under us
            except StaleHandleError:
                self.problems.append(f"{name} removed while held by user{seed}")
            finally:
                handle.release()
            self.counts["handles"] += 1

    def firm_user(self, seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(self.HANDLES):
            try:
                with self.host.use(rng.choice(FIRM), holder="firm-user") as handle:
                    handle.obj  # noqa: B018 - may be stale: firm unloads are allowed to do that
            except (ModuleNotRunningError, NoSuchModuleError, StaleHandleError):
                pass

    def commander(self, seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(self.COMMANDS):
            result = self.host.run(rng.choice(self.LINES))
            if "Traceback" in result.output or "Error:" in result.output.split(" ")[0]:
                self.problems.append(result.output)
            self.counts["commands"] += 1

    def run(self) -> None:
        threads = [threading.Thread(target=self.user, args=(i,)) for i in range(3)]
        threads += [threading.Thread(target=self.firm_user, args=(10,))]
        threads += [threading.Thread(target=self.commander, args=(20 + i,)) for i in range(2)]
        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-5)  # switch threads often: more interleavings per run
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)  # generous: a loaded 2-core machine is slow, not stuck
        finally:
            sys.setswitchinterval(interval)
        assert not any(t.is_alive() for t in threads), "deadlock: a thread never finished"


def test_commands_and_handles_race_without_breaking_invariants() -> None:
    modules: dict[str, Any] = {name: Plain for name in SOFT + FIRM}
    modules["app_dep"] = Dependent
    host = Host("ns", discovery=StaticDiscovery("ns", modules), config=ModulesConfig())
    host.start()
    race = Race(host)
    race.run()
    assert race.problems == []
    assert race.counts["tries"] == 3 * Race.HANDLES
    assert race.counts["commands"] == 2 * Race.COMMANDS

    # Every handle was released: what is left is exactly the dependency references.
    rows = {m["name"]: m for m in host.list_modules()}
    for name, row in rows.items():
        assert row["use_count"] >= 0
        assert row["status"] in ("Running", "Not Running")
        expected = sorted(
            other["name"]
            for other in rows.values()
            if other["status"] == "Running" and name in other["requires"]
        )
        if row["status"] == "Running":
            assert row["holders"] == expected, name
    # The state of every module agrees with what a fresh command reports.
    shown = host.run("module show").data["modules"]
    assert {m["name"]: m["status"] for m in shown} == {n: r["status"] for n, r in rows.items()}
    host.stop()
