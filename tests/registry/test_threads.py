"""Commands and use() racing from many threads (SPEC 6): bounded in time, checked after."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

from modloader import Host
from modloader import ModuleNotRunningError
from modloader import ModulesConfig
from modloader import NoSuchModuleError
from modloader import StaleHandleError
from modloader import StaticDiscovery

SOFT = ["res_a", "res_b", "res_c"]
FIRM = ["res_f1", "res_f2"]
SECONDS = 1.5


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


def test_commands_and_handles_race_without_breaking_invariants() -> None:
    modules: dict[str, Any] = {name: Plain for name in SOFT + FIRM}
    modules["app_dep"] = Dependent
    host = Host("ns", discovery=StaticDiscovery("ns", modules), config=ModulesConfig())
    host.start()
    stop = time.monotonic() + SECONDS
    problems: list[str] = []
    counts = {"handles": 0, "commands": 0}

    def user(seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < stop:
            name = rng.choice(SOFT)
            try:
                handle = host.use(name, holder=f"user{seed}")
            except (ModuleNotRunningError, NoSuchModuleError):
                continue
            try:
                # A soft unload must never remove a module while a handle is held.
                for _ in range(3):
                    handle.obj  # noqa: B018 - raises if the module was removed under us
            except StaleHandleError:
                problems.append(f"{name} removed while held by user{seed}")
            finally:
                handle.release()
            counts["handles"] += 1

    def firm_user(seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < stop:
            try:
                with host.use(rng.choice(FIRM), holder="firm-user") as handle:
                    try:
                        handle.obj  # noqa: B018 - may be stale: firm unloads are allowed to do that
                    except StaleHandleError:
                        pass
            except (ModuleNotRunningError, NoSuchModuleError):
                pass

    def commander(seed: int) -> None:
        rng = random.Random(seed)
        lines = [
            *(f"module unload {n}" for n in SOFT),
            *(f"module load {n}" for n in SOFT),
            *(f"module refresh {n}" for n in SOFT),
            *(f"module unload -f {n}" for n in FIRM),
            *(f"module load {n}" for n in FIRM),
            "module reload",
            "module show",
            "module refresh res_a recursively",
            "module load app_dep",
        ]
        while time.monotonic() < stop:
            result = host.run(rng.choice(lines))
            if "Traceback" in result.output or "Error:" in result.output.split(" ")[0]:
                problems.append(result.output)
            counts["commands"] += 1

    threads = [threading.Thread(target=user, args=(i,)) for i in range(3)]
    threads += [threading.Thread(target=firm_user, args=(10,))]
    threads += [threading.Thread(target=commander, args=(20 + i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 20)
    assert not any(t.is_alive() for t in threads), "deadlock: a thread never finished"
    assert problems == []
    assert counts["handles"] > 50 and counts["commands"] > 50

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
