"""A hook call over 10 implementing modules: modloader's ``host.hook`` beside bare pluggy.

Run it on its own: ``python -m benchmarks.hooks [--calls N]``. The modules are
real distributions laid in a temporary site folder and loaded by a host; the
same ten plugin classes are registered with a bare ``pluggy.PluginManager``
for the comparison. Prints one JSON object (``{"rows": [[label, value, unit]]}``)
like the other benchmark scripts. The target is a ratio of 1.5 or less.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import timeit
from pathlib import Path

__all__ = ["main"]

NAMESPACE = "bench.hooks"
MODULES = 10

_SPECS = """\
from modloader import hookspec


class Specs:
    @hookspec
    def filter_note(self, text, author):
        '''Return the text changed, or None.'''

    @hookspec(firstresult=True)
    def pick(self, key):
        '''The first module that knows ``key`` answers.'''
"""

_PLUGIN = """\
from modloader import hookimpl


class Module:
    @hookimpl
    def filter_note(self, text, author):
        return text

    @hookimpl
    def pick(self, key):
        return None
"""


def _side_by_side(ours: object, theirs: object, calls: int, rounds: int = 9) -> tuple[float, float]:
    """CPU seconds per call of each, alternating rounds so a busy machine slows both alike.

    CPU time of this thread (not wall-clock time) leaves out the time other
    processes hold the CPU; the fastest round of each is kept.
    """
    assert callable(ours) and callable(theirs)
    ours()
    theirs()
    mine, base = [], []
    for _ in range(rounds):
        mine.append(timeit.Timer(ours, timer=time.thread_time).timeit(calls) / calls)
        base.append(timeit.Timer(theirs, timer=time.thread_time).timeit(calls) / calls)
    return min(mine), min(base)


def run(calls: int) -> list[list[object]]:
    import pluggy

    from modloader import Host
    from modloader import ModulesConfig
    from modloader.testing import make_distribution

    with tempfile.TemporaryDirectory() as folder:
        site = Path(folder)
        make_distribution(site, "bench-hook-specs", files={"bench_hook_specs.py": _SPECS})
        for i in range(MODULES):
            make_distribution(
                site,
                f"bench-hook-{i}",
                files={f"bench_hook_{i}.py": _PLUGIN},
                entry_points={NAMESPACE: {f"res_hook{i}": f"bench_hook_{i}:Module"}},
            )
        sys.path.insert(0, folder)
        from bench_hook_specs import Specs  # type: ignore[import-not-found]

        host = Host(NAMESPACE, config=ModulesConfig(), hookspecs=[Specs])
        host.start()
        assert len(host.hook.filter_note.get_hookimpls()) == MODULES

        bare = pluggy.PluginManager("modloader")
        bare.add_hookspecs(Specs)
        for i in range(MODULES):
            bare.register(sys.modules[f"bench_hook_{i}"].Module(), name=f"res_hook{i}")

        hook, bare_hook = host.hook, bare.hook
        rows: list[list[object]] = []
        for label, ours, theirs in (
            (
                "filter_note (10 modules, all results)",
                lambda: hook.filter_note(text="t", author="a"),
                lambda: bare_hook.filter_note(text="t", author="a"),
            ),
            (
                "pick (10 modules, firstresult, none answers)",
                lambda: hook.pick(key="k"),
                lambda: bare_hook.pick(key="k"),
            ),
        ):
            mine, base = _side_by_side(ours, theirs, calls)
            rows.append([f"host.hook {label}", mine * 1e6, "us"])
            rows.append([f"bare pluggy {label}", base * 1e6, "us"])
            rows.append([f"ratio {label}", mine / base, "x"])
        host.stop()
        sys.path.remove(folder)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000, help="calls per timing (default 20000)")
    args = parser.parse_args(argv)
    print(json.dumps({"rows": run(args.calls)}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
