"""Weekly lifecycle (growth accounting) and stickiness.

For each calendar week (Monday, UTC) every member active that week is exactly one of:
**new** (first week they were ever active), **returning** (also active the week before) or
**resurrected** (active before, but not the week before). **Dormant** members were active the
week before and not this week. Stickiness is the week's average daily active members divided
by the members active in the 28 days (4 weeks) ending with it: the same definition as the
Engagement page's daily stickiness (see :mod:`analytics.activity_windows`).
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from analytics.community import Community
from analytics.queries.lifecycle import LIFECYCLE_COUNTS, lifecycle_weeks

_EPOCH = date(1970, 1, 1)


def lifecycle(
    community: Community, *, first_week: date | None = None, last_week: date | None = None
) -> pl.DataFrame:
    """Weekly lifecycle counts and stickiness.

    Returns
    -------
    polars.DataFrame
        ``week`` (Monday), ``new``, ``returning``, ``resurrected``, ``dormant``, ``active``
        (= new + returning + resurrected), ``avg_daily_active``, ``active_28d``, ``stickiness``
        and ``complete`` (false for the week cut by the as-of time). Weeks from the first
        activity (or ``first_week``) to the as-of week (or ``last_week``).
    """
    (found,) = community.collect(lifecycle_weeks(community.frames().activity()))
    as_of_week = community.as_of.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
        days=community.as_of.weekday()
    )
    if found.is_empty():
        return pl.DataFrame(
            schema={
                "week": pl.Date, "new": pl.Int64, "returning": pl.Int64,
                "resurrected": pl.Int64, "dormant": pl.Int64, "active": pl.Int64,
                "avg_daily_active": pl.Float64, "active_28d": pl.Int64,
                "stickiness": pl.Float64, "complete": pl.Boolean,
            }
        )  # fmt: skip
    counts = found.select(
        pl.col("week").cast(pl.Int64), pl.col(*LIFECYCLE_COUNTS).cast(pl.Int64)
    ).lazy()
    # every week from the first activity to the last mark (the -1 marks run 4 weeks past the
    # last activity), then cut at the as-of week
    bounds = found.select(pl.col("week").min().alias("lo"), pl.col("week").max().alias("hi"))
    full = pl.LazyFrame(
        {"week": pl.int_range(bounds["lo"].item(), bounds["hi"].item() + 1, eager=True)}
    )
    as_of_date = as_of_week.date()
    result = (
        full.join(counts, on="week", how="left")
        .sort("week")  # joins do not keep row order; the running sum needs it
        .with_columns(pl.col(*LIFECYCLE_COUNTS).fill_null(0))
        .with_columns(
            (pl.lit(_EPOCH) + pl.duration(days=pl.col("week") * 7 - 3)).cast(pl.Date).alias("week"),
            pl.col("delta_28d").cum_sum().alias("active_28d"),
            (pl.col("new") + pl.col("returning") + pl.col("resurrected")).alias("active"),
        )
        .with_columns(
            # days of the week inside the data: the as-of week is cut short
            pl.when(pl.col("week") == pl.lit(as_of_date))
            .then(pl.lit((community.as_of - as_of_week).total_seconds() / 86_400).ceil())
            .otherwise(7.0)
            .alias("_days"),
        )
        .with_columns((pl.col("member_days") / pl.col("_days")).alias("avg_daily_active"))
        .with_columns(
            (pl.col("avg_daily_active") / pl.col("active_28d")).alias("stickiness"),
            (pl.col("week") < pl.lit(as_of_date)).alias("complete"),
        )
        .filter(pl.col("week") <= pl.lit(as_of_date))
        .select(
            "week",
            "new",
            "returning",
            "resurrected",
            "dormant",
            "active",
            "avg_daily_active",
            "active_28d",
            "stickiness",
            "complete",
        )
        .collect()
    )
    if first_week is not None:
        result = result.filter(pl.col("week") >= first_week - timedelta(days=first_week.weekday()))
    if last_week is not None:
        result = result.filter(pl.col("week") <= last_week)
    return result
