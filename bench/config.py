"""`Settings`: what one bench run measures, and for how long."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Settings:
    """What one run measures, and how long."""

    quick: bool
    sections: tuple[str, ...]
    pgpool: bool
    asyncio: bool
    iterations: int  # workload 1: samples per contender
    warmup: int  # workload 1: unrecorded iterations first
    sessions: int  # workload 1: how many times every pool is made anew
    pool_size: int  # workload 1: connections per pool
    workers: int  # workload 3: threads or tasks per contender
    duration: float  # workload 3: seconds per contender and round
    rounds: int  # workload 3
    seed: int
