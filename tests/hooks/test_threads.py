"""Threads calling hooks while others load, unload, reload and refresh (bounded in time)."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

from modloader import Host
from tests.hooks.conftest import HookSite

HostFactory = Callable[..., Host]

SOFT = ["res_a", "res_b", "res_c"]
FIRM = ["res_f1", "res_f2"]
#: Commands each of the two commanders runs, while three threads call hooks.
COMMANDS_EACH = 40
#: Hook calls made at the least (the callers go on until the commanders are done).
MIN_CALLS = 50
#: How long any thread may take before the test calls it a deadlock.
TIMEOUT = 90

#: Records a call that reaches it after its unload() started: the invariant under test.
GUARDED = """
class Module:
    def __init__(self):
        self.unloading = False

    @hookimpl
    def filter_note(self, text):
        if self.unloading:
            CALLS.append("reached after unload(): " + NAME)
        return NAME

    def unload(self, ctx):
        self.unloading = True

    def reload(self, ctx):
        ctx.host.list_modules()
"""

#: Firmly unloaded while calls are in flight: a call already inside may finish there.
FIRMLY = """
class Module:
    @hookimpl
    def filter_note(self, text):
        return NAME
"""

DEPENDENT = """
class Module:
    requires = ["res_a"]

    @hookimpl
    def filter_note(self, text):
        return NAME

    @hookimpl
    def app_ready(self, app):
        pass
"""


def test_hook_calls_race_with_commands_without_breaking_invariants(
    hook_site: HookSite, app_host: HostFactory
) -> None:
    for name in SOFT:
        hook_site.add(name, GUARDED)
    for name in FIRM:
        hook_site.add(name, FIRMLY)
    hook_site.add("app_dep", DEPENDENT)
    host = app_host()
    host.hook.app_ready.call_historic(kwargs={"app": "stress"})
    # A fixed amount of work, not a fixed time: a loaded machine only makes it slower.
    commanders_done = threading.Event()
    problems: list[str] = []
    counts = {"calls": 0, "commands": 0}

    def caller() -> None:
        while not commanders_done.is_set() or counts["calls"] < MIN_CALLS:
            try:
                results = host.hook.filter_note(text="n")
            except Exception as exc:
                problems.append(f"call raised {exc!r}")
                return
            if len(results) != len(set(results)):
                problems.append(f"a module was called twice in one call: {results}")
            counts["calls"] += 1

    def commander(seed: int) -> None:
        rng = random.Random(seed)
        lines = [
            *(f"module unload {n}" for n in SOFT),
            *(f"module load {n}" for n in SOFT),
            *(f"module refresh {n}" for n in SOFT),
            *(f"module unload -f {n}" for n in FIRM),
            *(f"module load {n}" for n in FIRM),
            "module reload",
            "module show hooks",
            "module refresh res_a recursively",
            "module load app_dep",
        ]
        for _ in range(COMMANDS_EACH):
            result = host.run(rng.choice(lines))
            if "Traceback" in result.output or "Error:" in result.output.split(" ")[0]:
                problems.append(result.output)
            counts["commands"] += 1

    callers = [threading.Thread(target=caller) for _ in range(3)]
    commanders = [threading.Thread(target=commander, args=(i,)) for i in range(2)]
    threads = callers + commanders
    for thread in threads:
        thread.start()
    for thread in commanders:
        thread.join(timeout=TIMEOUT)
    commanders_done.set()
    for thread in callers:
        thread.join(timeout=TIMEOUT)
    assert not any(t.is_alive() for t in threads), "deadlock: a thread never finished"
    assert problems == []
    assert [c for c in hook_site.specs.CALLS if "after unload" in str(c)] == []
    assert counts["calls"] >= MIN_CALLS and counts["commands"] == 2 * COMMANDS_EACH, counts

    # Every call gave its references back: what is left is the dependency references.
    rows = {m["name"]: m for m in host.list_modules()}
    for name, row in rows.items():
        if row["status"] == "Running":
            expected = sorted(
                other["name"]
                for other in rows.values()
                if other["status"] == "Running" and name in other["requires"]
            )
            assert row["holders"] == expected, name
    # Exactly the running modules are called, in start order.
    running = [
        m["name"]
        for m in sorted(host.list_modules(), key=lambda m: m["load_time"] or 0)
        if m["status"] == "Running"
    ]
    assert sorted(host.hook.filter_note(text="n")) == sorted(running)
    shown = host.run("module show hooks like filter_note").data["hooks"][0]["modules"]
    assert [m["name"] for m in shown] == host.hook.filter_note(text="n")
    host.stop()
    assert host.hook.filter_note(text="n") == []
