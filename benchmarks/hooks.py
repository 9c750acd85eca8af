"""A hook call over 10 implementing modules: modloader's ``host.hook`` beside bare pluggy.

Run by :func:`benchmarks.runtime.measure_hooks` as
``python -m benchmarks.hooks ROUNDS NUMBER``. The modules are real
distributions laid in a temporary site folder and started by a host declaring
the hooks; the same ten plugin classes are registered with a bare
``pluggy.PluginManager``. Prints ``{"samples": {...}, "errors": {...}}``,
seconds per call, one sample of each subject per round (:data:`SUBJECTS`).
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.timing import interleave
from benchmarks.timing import per_statement

__all__ = ["CALLS", "MODULES", "main"]

NAMESPACE = "bench.hooks"
#: How many modules implement each hook.
MODULES = 10
#: Each call measured: its key (``host.hook <key>`` and ``pluggy <key>`` are the
#: subjects) and what it is.
CALLS = {
    "filter_note": "`filter_note`, every module answers",
    "pick": "`pick`, `firstresult`, no module answers",
}

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


def _lay_site(site: Path) -> None:
    from modloader.testing import make_distribution

    make_distribution(site, "bench-hook-specs", files={"bench_hook_specs.py": _SPECS})
    for i in range(MODULES):
        make_distribution(
            site,
            f"bench-hook-{i}",
            files={f"bench_hook_{i}.py": _PLUGIN},
            entry_points={NAMESPACE: {f"res_hook{i}": f"bench_hook_{i}:Module"}},
        )


def _timed(hook: Any, kwargs: dict[str, Any], number: int) -> Callable[[], float]:
    names = {"hook": hook, "kwargs": kwargs}
    return lambda: per_statement("hook(**kwargs)", names, number)


def measure(rounds: int, number: int) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Interleaved rounds of every call, through the host and through bare pluggy."""
    import pluggy

    from modloader import Host
    from modloader import ModulesConfig

    with tempfile.TemporaryDirectory() as folder:
        _lay_site(Path(folder))
        sys.path.insert(0, folder)
        from bench_hook_specs import Specs  # type: ignore[import-not-found]

        host = Host(NAMESPACE, config=ModulesConfig(), hookspecs=[Specs])
        host.start()
        try:
            if len(host.hook.filter_note.get_hookimpls()) != MODULES:
                raise RuntimeError(f"the host did not start the {MODULES} hook modules")
            bare = pluggy.PluginManager("modloader")
            bare.add_hookspecs(Specs)
            for i in range(MODULES):
                bare.register(sys.modules[f"bench_hook_{i}"].Module(), name=f"res_hook{i}")
            arguments: dict[str, dict[str, Any]] = {
                "filter_note": {"text": "t", "author": "a"},
                "pick": {"key": "k"},
            }
            subjects: dict[str, Callable[[], float]] = {}
            for key, kwargs in arguments.items():
                subjects[f"host.hook {key}"] = _timed(getattr(host.hook, key), kwargs, number)
                subjects[f"pluggy {key}"] = _timed(getattr(bare.hook, key), kwargs, number)
            return interleave(subjects, rounds)
        finally:
            host.stop()
            sys.path.remove(folder)


def main(argv: list[str]) -> int:
    samples, errors = measure(int(argv[0]), int(argv[1]))
    print(json.dumps({"samples": samples, "errors": errors}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
