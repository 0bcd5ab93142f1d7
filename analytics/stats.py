"""Small statistical helpers shared by the analyses."""

from __future__ import annotations

import math
from statistics import NormalDist

from analytics.errors import InputError

#: The standard normal distribution (the standard library's: importing scipy.stats for one
#: quantile cost about 1.5 s of every command).
_NORMAL = NormalDist()


def wilson_interval(successes: int, trials: int, *, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion; ``(nan, nan)`` when there are no trials.

    Chosen over the normal approximation because it stays inside [0, 1] and keeps its coverage
    for small groups and proportions near 0 or 1.
    """
    if trials <= 0:
        return (math.nan, math.nan)
    if not 0 <= successes <= trials:
        raise InputError(f"successes must be between 0 and trials ({trials}), got {successes}.")
    z = _NORMAL.inv_cdf(0.5 + level / 2)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    # exact edges: rounding would leave e.g. 5e-17 where no success means a bound of exactly 0
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return (low, high)


def p_text(value: float) -> str:
    """A p- or q-value as a reader should see it: ``< 0.001`` rather than ``0.000``, three
    decimals otherwise."""
    if value < 0.001:
        return "< 0.001"
    return f"{value:.3f}"
