"""Churn dates and the labels of each cutoff, as the data stood at a known-at time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
import polars as pl

from analytics.churn import DEFAULT_INACTIVE_DAYS, churn_table
from analytics.community import Community
from analytics.errors import InputError
from analytics.queries import windows
from analytics.queries.events import to_us
from analytics.risk.features import _from_us
from analytics.risk.settings import DEFAULT_HORIZON_DAYS

Progress = Callable[[str, float], None]
FloatArray = npt.NDArray[np.float64]


def _churn_dates(
    community: Community,
    *,
    known: datetime,
    inactive_days: int,
    last: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``member_id``, ``joined_at``, ``churned_at`` as the data said at ``known`` (``last``:
    each member's latest activity at or before ``known``, when already known)."""
    members = community.members.filter(pl.col("joined_at") <= known).select(
        "member_id",
        "joined_at",
        pl.when(pl.col("left_at") <= known).then(pl.col("left_at")).alias("left_at"),
        pl.when(pl.col("last_seen_at") <= known).then(pl.col("last_seen_at")).alias("last_seen_at"),
    )
    if last is not None:
        activity = last
    else:
        (found,) = community.collect(
            windows.last_activity_at(community.frames().activity(), to_us(known))
        )
        activity = community.events.with_ids(found).select(
            "member_id", _from_us("last_us").alias("occurred_at")
        )
    status = churn_table(members, activity, as_of=known, inactive_days=inactive_days)
    return status.select("member_id", "joined_at", "churned_at")


def _labels(
    dates: pl.DataFrame, cutoff: datetime, *, known: datetime, horizon_days: int,
    inactive_days: int,
) -> pl.DataFrame:  # fmt: skip
    end = cutoff + timedelta(days=horizon_days)
    if end + timedelta(days=inactive_days) > known:
        raise InputError(
            f"churn within {horizon_days} days of {cutoff:%Y-%m-%d} is not decidable at "
            f"{known:%Y-%m-%d}: it needs {horizon_days} + {inactive_days} days after the cutoff. "
            "Choose an earlier cutoff."
        )
    return (
        dates.filter(pl.col("joined_at") <= cutoff)
        .select(
            "member_id",
            (pl.col("churned_at").is_not_null() & (pl.col("churned_at") <= end))
            .cast(pl.Int8)
            .alias("churned"),
        )
        .sort("member_id")
    )


def churn_labels(
    community: Community,
    cutoff: datetime,
    *,
    known: datetime,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    inactive_days: int = DEFAULT_INACTIVE_DAYS,
) -> pl.DataFrame:
    """Whether each member churned within ``horizon_days`` after ``cutoff``, as the data said at
    ``known`` (``member_id``, ``churned``: 0/1), for every member who had joined by the cutoff.

    Departures, activity and ``last_seen_at`` after ``known`` are left out (a ``last_seen_at``
    after it cannot be placed in time and is dropped).

    Raises
    ------
    ValueError
        When ``known`` is earlier than cutoff + horizon + inactive days (not decidable yet).
    """
    dates = _churn_dates(community, known=known, inactive_days=inactive_days)
    return _labels(
        dates, cutoff, known=known, horizon_days=horizon_days, inactive_days=inactive_days
    )


# -- fitting and scoring -----------------------------------------------------------------------
