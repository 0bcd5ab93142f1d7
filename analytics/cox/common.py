"""Types and constants shared by the Cox model's modules."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

Ties = Literal["efron", "breslow"]

RESERVED_COLUMNS: tuple[str, ...] = ("member_id", "start", "stop", "event")
"""Columns of the counting-process table that are not covariates."""

MIN_LAG_DAYS = 1.0
"""Smallest lag between an exposure and the day it starts to count."""

_Z95 = float(stats.norm.ppf(0.975))  # 1.959964: the "1.96" of a 95 % interval
_COLLINEAR_TOL = 1e-9  # share of a covariate's within-risk-set variance left unexplained
_MAX_HALVINGS = 40

_FRAME_SCHEMA: dict[str, Any] = {
    "name": pl.String,
    "estimable": pl.Boolean,
    "reason": pl.String,
    "coef": pl.Float64,
    "se": pl.Float64,
    "hazard_ratio": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "p_value": pl.Float64,
    "n_exposed_events": pl.Int64,
}
