"""Active members: distinct members with activity in time windows, per day, week or month."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals.stable.v2 as nw

Frame = nw.LazyFrame[Any]


def active_between(activity: Frame, windows: Sequence[tuple[int, int]]) -> Frame:
    """One row per window, in order: ``window`` (its position) and ``active`` (distinct members
    with activity in ``[start_us, end_us)``, integer microseconds)."""
    t = nw.col("occurred_at_us")
    return nw.concat(
        [
            activity.filter((t >= start) & (t < end)).select(
                nw.lit(i, dtype=nw.Int64).alias("window"),
                nw.col("member_key").n_unique().cast(nw.Int64).alias("active"),
            )
            for i, (start, end) in enumerate(windows)
        ],
        how="vertical",
    )


def kinds(activity: Frame) -> Frame:
    """The distinct activity kinds."""
    return activity.select("kind").unique()
