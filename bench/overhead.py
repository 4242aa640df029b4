"""Workload 1: one point SELECT by primary key at a time, through each contender in turn.

Every iteration runs the same statement (the same key) through every
contender, in a new random order each time, so that the machine's noise
falls on all of them alike; the medians are compared as ratios.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Sequence
from typing import Any

from .stats import ratio_summary
from .workload import ROWS, Contender


async def measure(
    contenders: Sequence[Contender], iterations: int, warmup: int, seed: int = 1
) -> dict[str, list[float]]:
    """Microseconds per statement for each contender, *iterations* samples each.

    A coroutine so that asyncio contenders can take part; sync ones run
    inline (the loop has nothing else to do meanwhile).
    """
    rng = random.Random(seed)
    order = list(contenders)
    samples: dict[str, list[float]] = {c.key: [] for c in contenders}
    clock = time.perf_counter_ns
    for n in range(warmup + iterations):
        rng.shuffle(order)
        key = n % ROWS + 1
        for contender in order:
            if contender.is_async:
                start = clock()
                await contender.run(key)
                elapsed = clock() - start
            else:
                start = clock()
                contender.run(key)
                elapsed = clock() - start
            if n >= warmup:
                samples[contender.key].append(elapsed / 1000)
    return samples


def summarize(
    contenders: Sequence[Contender],
    samples: dict[str, list[float]],
    pairs: Sequence[tuple[str, str]],
    blocks: int = 10,
) -> dict[str, Any]:
    """Medians and the ratios of *pairs* (numerator key, denominator key)."""
    rows = {
        c.key: {
            "label": c.label,
            "median_us": statistics.median(samples[c.key]),
            "samples": len(samples[c.key]),
        }
        for c in contenders
    }
    ratios = {
        f"{a} / {b}": ratio_summary(samples[a], samples[b], blocks)
        for a, b in pairs
        if a in samples and b in samples
    }
    return {"contenders": rows, "ratios": ratios}
