"""Lifetimes: a Weibull baseline hazard changed by first exposures to content items."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from analytics.demo.model import FloatArray, _Item

# --- lifetime ------------------------------------------------------------------------------
_WEIBULL_SHAPE = 0.6
_WEIBULL_SCALE_DAYS = 120.0  # at engagement 1
_SCALE_ENGAGEMENT_EXPONENT = 1.0
_FAR_DAYS = 1e9  # stands in for "never" in the cumulative-hazard arithmetic
_EXPLICIT_LEAVE_P = 1 / 3
_LAST_SEEN_NULL_P = 0.20
_LAST_SEEN_RECENT_DAYS = 3.0


def _lifetimes(
    hazard_e: FloatArray,
    scale: FloatArray,
    first_since_join: FloatArray,
    items: Sequence[_Item],
    hazard_ratios: Sequence[float] | None = None,
) -> FloatArray:
    """Lifetimes (days) under a Weibull baseline changed by first exposures.

    The cumulative hazard is piecewise: the baseline ``(t / scale) ** shape`` accrues at a
    multiplier that is multiplied by an item's hazard ratio from the member's first exposure to
    it onwards. The lifetime is where the cumulative hazard reaches ``hazard_e`` (Exp(1)).

    Parameters
    ----------
    hazard_e : numpy.ndarray
        Exp(1) draw per member.
    scale : numpy.ndarray
        Weibull scale per member (days).
    first_since_join : numpy.ndarray
        (members, items) potential first-exposure times since joining (inf if never).
    items : sequence of _Item
        Items matching the columns of ``first_since_join``.
    hazard_ratios : sequence of float, optional
        Hazard ratios to use instead of the items' own (for counterfactuals).
    """
    ratios = np.asarray(
        [it.hazard_ratio for it in items] if hazard_ratios is None else hazard_ratios
    )
    active = np.flatnonzero(ratios != 1.0)
    k = _WEIBULL_SHAPE
    if len(active) == 0:
        return np.asarray(scale * hazard_e ** (1.0 / k))
    n = len(scale)
    times = np.minimum(first_since_join[:, active], _FAR_DAYS)
    order = np.argsort(times, axis=1)
    breaks = np.take_along_axis(times, order, axis=1)
    zeros, ones = np.zeros((n, 1)), np.ones((n, 1))
    multiplier = np.hstack([ones, np.cumprod(ratios[active][order], axis=1)])
    base_h = np.hstack([zeros, (breaks / scale[:, None]) ** k])
    cumulative = np.hstack([zeros, np.cumsum(np.diff(base_h, axis=1) * multiplier[:, :-1], axis=1)])
    segment = ((cumulative <= hazard_e[:, None]).sum(axis=1) - 1)[:, None]

    def pick(a: FloatArray) -> FloatArray:
        return np.asarray(np.take_along_axis(a, segment, axis=1)[:, 0])

    base_at_end = pick(base_h) + (hazard_e - pick(cumulative)) / pick(multiplier)
    return np.asarray(scale * base_at_end ** (1.0 / k))


def _cumulative_hazard(
    t: FloatArray, scale: FloatArray, first_since_join: FloatArray, items: Sequence[_Item]
) -> FloatArray:
    """Cumulative hazard at `t` days after joining, the function `_lifetimes` inverts.

    The baseline ``(t / scale) ** shape`` accrues at the product of the hazard ratios of the
    items first viewed before that time (columns of `first_since_join` match `items`).
    """
    ratios = np.asarray([it.hazard_ratio for it in items])
    active = np.flatnonzero(ratios != 1.0)
    k = _WEIBULL_SHAPE
    n = len(scale)
    breaks = np.minimum(first_since_join[:, active], t[:, None])  # later views do not count
    order = np.argsort(breaks, axis=1)
    edges = np.hstack([np.zeros((n, 1)), np.take_along_axis(breaks, order, axis=1), t[:, None]])
    multiplier = np.hstack([np.ones((n, 1)), np.cumprod(ratios[active][order], axis=1)])
    base_h = (edges / scale[:, None]) ** k
    return np.asarray(np.sum(np.diff(base_h, axis=1) * multiplier, axis=1))
