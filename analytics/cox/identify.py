"""Which covariates the data can estimate: dependence, collinearity within risk sets, no events."""

from __future__ import annotations

import numpy as np

from analytics.cox.common import FloatArray
from analytics.cox.newton import _RiskSets


def _unmeasurable(
    values: FloatArray, kept: FloatArray, risk: _RiskSets, kept_start: FloatArray
) -> str:
    """Why a single covariate's effect cannot be estimated, or "" when it can.

    ``values`` is the column over all intervals, ``kept`` over the intervals at risk at some
    churn time (aligned with ``risk``).
    """
    binary = bool(np.isin(values, (0.0, 1.0)).all())
    low, high = float(values.min()), float(values.max())
    if low == high:
        if binary and low == 0.0:
            return "nobody has it at any time: nothing to compare"
        if binary:
            return "everyone has it for their whole membership: nothing to compare"
        return f"it has the same value ({low:g}) for everyone at all times: nothing to compare"
    smallest = -_risk_set_max(-kept, risk)
    largest = _risk_set_max(kept, risk)
    varies = smallest < largest
    if not varies.any():
        if not binary:
            return (
                "at every churn time it has the same value for everyone still at risk: no "
                "comparison possible"
            )
        on = largest == 1.0
        if on.all():
            return "everyone still at risk has it at every churn time: no comparison possible"
        if not on.any():
            return "nobody still at risk has it at any churn time: no comparison possible"
        first_on = int(np.argmax(on))
        if on[first_on:].all():
            since = float(kept_start[kept == 1.0].min())
            return (
                f"everyone still at risk has it from day {since:g} on and nobody before: no "
                "comparison possible"
            )
        return (
            "at every churn time either everyone still at risk has it or nobody does: no "
            "comparison possible"
        )
    time = risk.event_time
    at_varying = varies[time]
    churned = kept[risk.event][at_varying]
    if (churned == smallest[time][at_varying]).all():
        if binary:
            return (
                "no member churned while exposed (at the churn times where some members at "
                "risk had it and some not): the hazard ratio would run to 0, so no finite "
                "estimate exists"
            )
        return (
            "every churn happened at the lowest value among those at risk: the hazard ratio "
            "would run to 0, so no finite estimate exists"
        )
    if (churned == largest[time][at_varying]).all():
        if binary:
            return (
                "no member churned while unexposed (at the churn times where some members at "
                "risk had it and some not): the hazard ratio would run to infinity, so no "
                "finite estimate exists"
            )
        return (
            "every churn happened at the highest value among those at risk: the hazard ratio "
            "would run to infinity, so no finite estimate exists"
        )
    return ""


def _risk_set_max(values: FloatArray, risk: _RiskSets) -> FloatArray:
    """Largest of ``values`` among the intervals at risk at each churn time.

    Each interval covers a range of churn times [lo, hi); it is written into the two
    power-of-two blocks that cover the range (as in a sparse table), and the blocks are then
    pushed down level by level, so the whole costs O(n + m log m).
    """
    m = risk.m
    length = (risk.hi - risk.lo).astype(np.float64)
    level = (np.frexp(length)[1] - 1).astype(np.int64)  # floor(log2(length))
    levels = int(level.max()) + 1
    table = np.full(levels * m, -np.inf)
    np.maximum.at(table, level * m + risk.lo, values)
    np.maximum.at(table, level * m + risk.hi - np.left_shift(1, level), values)
    grid = table.reshape(levels, m)
    for lev in range(levels - 1, 0, -1):
        half = 1 << (lev - 1)
        np.maximum(grid[lev - 1], grid[lev], out=grid[lev - 1])
        np.maximum(grid[lev - 1, half:], grid[lev, : m - half], out=grid[lev - 1, half:])
    return grid[0].copy()


# --------------------------------------------------------------------------------------------
# input checks
