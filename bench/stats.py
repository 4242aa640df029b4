"""Summaries of timing samples: medians, percentiles, and ratios measured side by side.

Pure functions, no I/O and no clock: the measuring modules hand them samples.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence


def percentile(samples: Sequence[float], q: float) -> float:
    """The *q*-th percentile (0..100) of *samples*, interpolated between the nearest two."""
    if not samples:
        raise ValueError("no samples")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, not {q}")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def block_ratios(
    numerator: Sequence[float], denominator: Sequence[float], blocks: int
) -> list[float]:
    """The ratio of medians in each of *blocks* consecutive slices of two interleaved series.

    Both series were sampled in the same iterations, so slice *i* of each
    covers the same stretch of time: the spread of these ratios shows how
    much the machine's noise moves the headline ratio.
    """
    if len(numerator) != len(denominator):
        raise ValueError("the two series must come from the same iterations")
    size = len(numerator) // blocks
    if size < 1:
        raise ValueError(f"{len(numerator)} samples cannot make {blocks} blocks")
    return [
        statistics.median(numerator[i * size : (i + 1) * size])
        / statistics.median(denominator[i * size : (i + 1) * size])
        for i in range(blocks)
    ]


def ratio_summary(
    numerator: Sequence[float], denominator: Sequence[float], blocks: int = 10
) -> dict[str, float]:
    """The ratio of the two medians, with the quartiles and extremes of the per-block ratios."""
    per_block = block_ratios(numerator, denominator, blocks)
    return {
        "ratio": statistics.median(numerator) / statistics.median(denominator),
        "block_q1": percentile(per_block, 25),
        "block_median": statistics.median(per_block),
        "block_q3": percentile(per_block, 75),
        "block_min": min(per_block),
        "block_max": max(per_block),
    }


def latency_summary(samples_us: Sequence[float]) -> dict[str, float]:
    """Median, p99 and count of latencies in microseconds."""
    return {
        "p50_us": percentile(samples_us, 50),
        "p99_us": percentile(samples_us, 99),
        "count": float(len(samples_us)),
    }


def ratios(values: Mapping[str, float], pairs: Sequence[tuple[str, str]]) -> dict[str, float]:
    """``"a / b" -> values[a] / values[b]`` for each pair present in *values*."""
    return {f"{a} / {b}": values[a] / values[b] for a, b in pairs if a in values and b in values}
