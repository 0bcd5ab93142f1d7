"""Checks of the fit's input (names, lag, options, columns, intervals), saying the fix."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

from analytics.cox.common import MIN_LAG_DAYS, FloatArray
from analytics.errors import InputError


def _names(values: Sequence[str], what: str) -> list[str]:
    if isinstance(values, str):
        raise InputError(
            f"{what} must be a list of column names, got the single string {values!r}: wrap it "
            f"in a list, e.g. [{values!r}]."
        )
    names = list(values)
    bad = [v for v in names if not isinstance(v, str) or not v]
    if bad:
        raise InputError(f"{what} must be non-empty strings (column names), got {bad[:3]!r}.")
    repeated = sorted({v for v in names if names.count(v) > 1})
    if repeated:
        raise InputError(
            f"{what} lists {', '.join(map(repr, repeated))} more than once: list each once."
        )
    return names


def _check_lag(lag_days: float) -> None:
    if not (isinstance(lag_days, int | float) and math.isfinite(lag_days)):
        raise InputError(f"lag_days must be a number of days, got {lag_days!r}.")
    if lag_days < MIN_LAG_DAYS:
        raise InputError(
            f"lag_days must be at least {MIN_LAG_DAYS:g} day, got {lag_days!r}: a shorter lag "
            "lets the visit a member churned on count as exposure before churn (reverse "
            "causation)."
        )


def _check_options(ties: str, penalizer: float, max_iter: int, tol: float) -> None:
    if ties not in ("efron", "breslow"):
        raise InputError(f"ties must be 'efron' or 'breslow', got {ties!r}.")
    if not (math.isfinite(penalizer) and penalizer >= 0):
        raise InputError(f"penalizer must be a number >= 0 (0 for no penalty), got {penalizer!r}.")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise InputError(f"max_iter must be a whole number of iterations >= 1, got {max_iter!r}.")
    if not (math.isfinite(tol) and 0 < tol < 1):
        raise InputError(f"tol must be a small positive number such as 1e-9, got {tol!r}.")


def _require_columns(frame: pl.DataFrame, needed: Sequence[str], what: str) -> None:
    absent = [c for c in dict.fromkeys(needed) if c not in frame.columns]
    if absent:
        raise InputError(
            f"Column(s) {', '.join(map(repr, absent))} not in {what}; it has "
            f"{', '.join(map(repr, frame.columns)) or 'no columns'}. Add them or pass the names "
            "of existing columns."
        )


def _float_column(frame: pl.DataFrame, name: str, what: str, meaning: str) -> FloatArray:
    column = frame[name]
    if not (column.dtype.is_numeric() or column.dtype == pl.Boolean):
        raise InputError(
            f"{what}.{name} must be numbers ({meaning}), got {column.dtype} values. Convert it "
            "first (categories: one 0/1 column per category; time differences: divide by one "
            "day)."
        )
    return column.cast(pl.Float64).to_numpy().astype(np.float64)  # nulls become NaN


def _flag_column(frame: pl.DataFrame, name: str, what: str) -> npt.NDArray[np.int8]:
    values = _float_column(frame, name, what, "0 or 1")
    invalid = (values != 0) & (values != 1)  # NaN counts as invalid
    if invalid.any():
        first = int(np.argmax(invalid))
        raise InputError(
            f"{what}.{name} must be 0 or 1 (1 = churned), but {int(invalid.sum()):,} value(s) "
            f"are not (first at row {first}: {values[first]!r}). Convert the flag to 0/1 and "
            "fill missing values."
        )
    return values.astype(np.int8)


def _check_intervals(data: pl.DataFrame) -> None:
    """A member's intervals must not overlap, and churn can only end their last interval."""
    ordered = data.select("member_id", "start", "stop", "event").sort("member_id", "start")
    same = ordered["member_id"].to_numpy()
    start = ordered["start"].cast(pl.Float64).to_numpy()
    stop = ordered["stop"].cast(pl.Float64).to_numpy()
    event = ordered["event"].cast(pl.Float64).to_numpy()
    follows = same[1:] == same[:-1]
    overlap = follows & (start[1:] < stop[:-1])
    if overlap.any():
        first = int(np.argmax(overlap))
        raise InputError(
            f"Member {same[first]!r} has overlapping intervals ({start[first]:g}, "
            f"{stop[first]:g}] and ({start[first + 1]:g}, {stop[first + 1]:g}]: each member's "
            "intervals must follow one another (build them with counting_process)."
        )
    early = follows & (event[:-1] == 1)
    if early.any():
        first = int(np.argmax(early))
        raise InputError(
            f"Member {same[first]!r} churns at day {stop[first]:g} but has a later interval: "
            "the event must be on the member's last interval only."
        )
