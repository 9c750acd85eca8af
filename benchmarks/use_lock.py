"""``host.use(name)`` + release against a bare ``threading.Lock``, in a running host.

Run by :func:`benchmarks.runtime.measure_use` as
``python -m benchmarks.use_lock MODULES_CONF NAME ROUNDS NUMBER``; prints
``{"samples": {"use": [...], "lock": [...]}, "errors": {...}}``, seconds per
operation, one sample of each per round.
"""

from __future__ import annotations

import json
import sys
import threading

import modloader
from benchmarks.envgen import GROUP
from benchmarks.timing import interleave
from benchmarks.timing import per_statement


def main(argv: list[str]) -> int:
    conf, name, rounds, number = argv[0], argv[1], int(argv[2]), int(argv[3])
    host = modloader.Host(GROUP, config_path=conf)
    host.start()
    names = {"host": host, "name": name, "lock": threading.Lock()}
    try:
        samples, errors = interleave(
            {
                "use": lambda: per_statement("with host.use(name): pass", names, number),
                "lock": lambda: per_statement("with lock: pass", names, number),
            },
            rounds,
        )
    finally:
        host.stop()
    print(json.dumps({"samples": samples, "errors": errors}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
