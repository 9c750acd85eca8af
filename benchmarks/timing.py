"""The suite's timing loops: paired, interleaved rounds; first call and warm calls; per call.

Every figure of the suite is taken by one of these three, and summarized by
:func:`spread` (of samples) or :func:`ratios` (of paired samples).
"""

from __future__ import annotations

import gc
import random
import statistics
import time
import timeit
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any
from typing import TypeVar

__all__ = ["first_and_warm", "interleave", "per_statement", "ratios", "spread"]

T = TypeVar("T")


def interleave(
    subjects: Mapping[str, Callable[[], T]], rounds: int, warmup: int = 1, seed: int = 0
) -> tuple[dict[str, list[T]], dict[str, str]]:
    """Run every subject once per round, in a shuffled order, ``warmup`` rounds unrecorded.

    Sample ``i`` of every subject comes from the same round, so that
    :func:`ratios` pairs samples taken within seconds of each other. A subject
    that raises is dropped with all its samples: ``(samples, errors)``.
    """
    order = list(subjects)
    samples: dict[str, list[T]] = {name: [] for name in order}
    errors: dict[str, str] = {}
    rng = random.Random(seed)
    for round_ in range(warmup + rounds):
        rng.shuffle(order)
        for name in order:
            if name in errors:
                continue
            try:
                value = subjects[name]()
            except Exception as exc:
                errors[name] = f"{type(exc).__name__}: {exc}"
                del samples[name]
                continue
            if round_ >= warmup:
                samples[name].append(value)
    return samples, errors


def first_and_warm(step: Callable[[int], Callable[[], object]], warm: int) -> list[float]:
    """Seconds of ``1 + warm`` calls; call ``i`` is ``step(i)()``, prepared untimed.

    Element 0 is the first call; the rest are the warm ones.
    """
    times = []
    for index in range(1 + warm):
        call = step(index)
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def per_statement(statement: str, names: dict[str, Any], number: int) -> float:
    """Mean seconds of ``statement`` run ``number`` times in a row, inline in one loop.

    As :mod:`timeit` runs it (no function call around each run, which neither
    side of a comparison pays), but with the garbage collector left on, as in
    the application's code. ``names``: the globals the statement uses.
    """
    timer = timeit.Timer(statement, setup="gc.enable()", globals={**names, "gc": gc})
    return timer.timeit(number) / number


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median, minimum and maximum."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def ratios(a: Sequence[float], b: Sequence[float]) -> dict[str, float]:
    """:func:`spread` of ``a[i] / b[i]``: samples paired by round."""
    if len(a) != len(b):
        raise ValueError(f"{len(a)} samples against {len(b)}: not paired")
    return spread([x / y for x, y in zip(a, b, strict=True)])
