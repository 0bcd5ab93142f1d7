"""Signups over time and the milestone announcements that go with them."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import polars as pl

from analytics.community import Community
from analytics.errors import InputError
from analytics.periods import Period

Granularity = Literal["day", "week"]
_EVERY: dict[str, str] = {"day": "1d", "week": "1w"}


def signup_series(
    community: Community, period: Period, *, granularity: Granularity = "day"
) -> pl.DataFrame:
    """Signups per day or week (weeks start on Monday, UTC) and cumulative members.

    Returns
    -------
    polars.DataFrame
        ``period_start`` (UTC), ``signups`` (members who joined in that day or week, zero
        included), ``cumulative_members`` (everyone who had joined by the end of it, churned
        or not) and ``complete`` (false for a day or week cut by the period's edges or the
        as-of time, whose count covers only the part inside the period).
    """
    if granularity not in _EVERY:
        raise InputError(f"granularity must be 'day' or 'week', got {granularity!r}.")
    every = _EVERY[granularity]
    joined = community.members.select("joined_at")
    before = joined.filter(pl.col("joined_at") < period.start).height
    inside = joined.filter(pl.col("joined_at").is_between(period.start, period.end, closed="left"))
    first = pl.select(pl.lit(period.start).dt.truncate(every)).item()
    last = pl.select(pl.lit(period.end - timedelta(microseconds=1)).dt.truncate(every)).item()
    grid = pl.DataFrame(
        {"period_start": pl.datetime_range(first, last, interval=every, eager=True)}
    ).with_columns(pl.col("period_start").dt.cast_time_unit("us"))
    counts = inside.group_by(pl.col("joined_at").dt.truncate(every).alias("period_start")).len(
        name="signups"
    )
    step = timedelta(days=1 if granularity == "day" else 7)
    return (
        grid.join(counts, on="period_start", how="left")
        .sort("period_start")  # joins do not keep row order; the running sum needs it
        .with_columns(pl.col("signups").fill_null(0).cast(pl.Int64))
        .with_columns(
            (pl.col("signups").cum_sum() + before).alias("cumulative_members"),
            (
                (pl.col("period_start") >= period.start)
                & (pl.col("period_start") + step <= period.end)
            ).alias("complete"),
        )
    )


def milestones_in(community: Community, period: Period) -> pl.DataFrame:
    """Milestones announced within ``period`` (empty when the source has none)."""
    if community.milestones is None:
        return pl.DataFrame(
            schema={
                "milestone_id": pl.String,
                "announced_at": pl.Datetime("us", "UTC"),
                "title": pl.String,
                "channel": pl.String,
            }
        )
    return community.milestones.filter(
        pl.col("announced_at").is_between(period.start, period.end, closed="left")
    ).sort("announced_at")
