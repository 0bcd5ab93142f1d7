"""Area under the ROC curve, with optional case weights: one implementation for the risk model,
the exposure models of the effect estimates and the sequential trials."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def weighted_auc(y: npt.NDArray[Any], score: FloatArray, weight: FloatArray | None = None) -> float:
    """ROC AUC (ties count one half), with optional case weights; NaN without both classes.

    The scores are sorted once and grouped by value, so the order within ties (and the sort's
    stability) does not matter."""
    y = np.asarray(y, dtype=bool)
    w = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=np.float64)
    order = np.argsort(score)
    s, yy, ww = score[order], y[order], w[order]
    pos_w, neg_w = np.where(yy, ww, 0.0), np.where(yy, 0.0, ww)
    # group ties: per distinct score, total positive and negative weight
    boundaries = np.flatnonzero(np.diff(s)) + 1
    pos_g = np.add.reduceat(pos_w, np.r_[0, boundaries]) if len(s) else np.zeros(0)
    neg_g = np.add.reduceat(neg_w, np.r_[0, boundaries]) if len(s) else np.zeros(0)
    total_pos, total_neg = pos_g.sum(), neg_g.sum()
    if total_pos == 0 or total_neg == 0:
        return math.nan
    below = np.cumsum(neg_g) - neg_g
    return float((pos_g * (below + 0.5 * neg_g)).sum() / (total_pos * total_neg))
