"""In-process timings (``timeit``), each run in its own process against a synthetic site.

Each script prints one JSON object: ``{"rows": [[label, value, unit], ...]}``,
or ``{"skip": reason}`` when what it measures does not exist yet.
"""

from __future__ import annotations

__all__ = ["HOST_OPS", "LISTING"]

_TIMER = """
import json, os, statistics, sys, timeit
GROUP = os.environ["BENCH_GROUP"]
def per_call(fn, number=1, repeat=15):
    fn()
    times = timeit.repeat(fn, number=number, repeat=repeat)
    return statistics.median(times) / number
"""

#: One call of each listing, in milliseconds per call, warm file-system cache.
LISTING = (
    _TIMER
    + """
from modloader._discovery.scan import scan_group
from stevedore import _cache
import importlib.metadata as stdlib_md
import importlib_metadata as backport_md

def stevedore_warm():
    # A fresh Cache per call skips its in-process memo, so this is the on-disk warm path.
    return _cache.Cache().get_group_all(GROUP)

def with_meta(md):
    def run():
        return [(ep.name, ep.value, ep.dist.name, ep.dist.version, ep.dist.metadata["Summary"])
                for ep in md.entry_points(group=GROUP)]
    return run

rows = [
    ["modloader scan_group, cache warm", per_call(lambda: scan_group(GROUP)) * 1e3, "ms"],
    ["modloader scan_group, cache off (own parser)",
     per_call(lambda: scan_group(GROUP, use_cache=False), repeat=5) * 1e3, "ms"],
    ["stevedore listing, cache warm", per_call(stevedore_warm) * 1e3, "ms"],
    ["importlib.metadata (stdlib) + dist metadata", per_call(with_meta(stdlib_md), repeat=5) * 1e3,
     "ms"],
    ["importlib_metadata (backport) + dist metadata",
     per_call(with_meta(backport_md), repeat=5) * 1e3, "ms"],
]
assert len(scan_group(GROUP)) == len(stevedore_warm()), "the listings disagree"
print(json.dumps({"rows": rows}))
"""
)

#: ``use()`` against a bare lock, and ``module load`` + ``module unload`` of one module.
HOST_OPS = (
    _TIMER
    + """
import threading
import modloader
if not hasattr(modloader, "Host"):
    print(json.dumps({"skip": "modloader.Host does not exist in this checkout"}))
    raise SystemExit(0)
host = modloader.Host(GROUP, config_path=os.environ["BENCH_CONF"])
host.start()
name = os.environ["BENCH_LEAF"]  # a module nothing requires
rows = []
try:
    if not hasattr(host, "use"):
        raise AttributeError("Host.use")
    def use():
        with host.use(name, holder="bench"):
            pass
    lock = threading.Lock()
    def bare():
        with lock:
            pass
    rows.append(["use() acquire + release", per_call(use, number=20000, repeat=7) * 1e9, "ns/op"])
    rows.append(["threading.Lock acquire + release", per_call(bare, number=20000, repeat=7) * 1e9,
                 "ns/op"])
except AttributeError as exc:
    rows.append([f"use(): skipped ({exc} missing)", None, ""])
if hasattr(host, "run"):
    def cycle():
        for line in (f"module unload {name}", f"module load {name}"):
            result = host.run(line)
            if not result.ok:
                raise RuntimeError(f"{line!r} failed: {result.output}")
    rows.append(["module unload + module load of one module", per_call(cycle, number=20,
                 repeat=7) * 1e3, "ms/pair"])
else:
    rows.append(["module load/unload: skipped (Host.run missing)", None, ""])
host.stop()
print(json.dumps({"rows": rows}))
"""
)
