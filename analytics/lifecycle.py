"""Weekly lifecycle (growth accounting) and stickiness.

For each calendar week (Monday, UTC) every member active that week is exactly one of:
**new** (first week they were ever active), **returning** (also active the week before) or
**resurrected** (active before, but not the week before). **Dormant** members were active the
week before and not this week. Stickiness is the week's average daily active members divided
by the members active in the 28 days (4 weeks) ending with it.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from analytics.community import Community

_WEEK = timedelta(days=7)


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
    activity = community.activity.lazy().select("member_id", "occurred_at")
    weeks = (
        activity.select("member_id", pl.col("occurred_at").dt.truncate("1w").alias("week"))
        .unique()
        .sort("member_id", "week")
        .with_columns(
            pl.col("week").shift(1).over("member_id").alias("previous"),
            pl.col("week").shift(-1).over("member_id").alias("next"),
        )
    )
    as_of_week = community.as_of.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
        days=community.as_of.weekday()
    )
    states = weeks.select(
        "week",
        pl.col("previous").is_null().alias("new"),
        (pl.col("week") - pl.col("previous") == _WEEK).alias("returning"),
        (pl.col("week") - pl.col("previous") > _WEEK).alias("resurrected"),
    )
    counts = states.group_by("week").agg(
        pl.col("new").sum().cast(pl.Int64),
        pl.col("returning").sum().cast(pl.Int64),
        pl.col("resurrected").sum().cast(pl.Int64),
    )
    dormant = (
        weeks.filter(pl.col("next").is_null() | (pl.col("next") - pl.col("week") > _WEEK))
        .select((pl.col("week") + _WEEK).alias("week"))
        .filter(pl.col("week") <= pl.lit(as_of_week))
        .group_by("week")
        .agg(pl.len().cast(pl.Int64).alias("dormant"))
    )
    active_28d = (
        weeks.select("member_id", "week")
        .with_columns(pl.int_ranges(0, 4).alias("offset"))
        .explode("offset")
        .select((pl.col("week") + pl.duration(weeks=pl.col("offset"))).alias("week"), "member_id")
        .group_by("week")
        .agg(pl.col("member_id").n_unique().cast(pl.Int64).alias("active_28d"))
    )
    daily = (
        activity.select("member_id", pl.col("occurred_at").dt.truncate("1d").alias("day"))
        .unique()
        .group_by("day")
        .agg(pl.len().alias("dau"))
        .group_by(pl.col("day").dt.truncate("1w").alias("week"))
        .agg(pl.col("dau").sum().alias("dau_sum"))
    )
    frame = pl.concat([counts.select("week"), dormant.select("week")], how="vertical").unique()
    result = (
        frame.join(counts, on="week", how="left")
        .join(dormant, on="week", how="left")
        .join(active_28d, on="week", how="left")
        .join(daily, on="week", how="left")
        .with_columns(pl.col("new", "returning", "resurrected", "dormant", "dau_sum").fill_null(0))
        .with_columns(
            (pl.col("new") + pl.col("returning") + pl.col("resurrected")).alias("active"),
            # days of the week inside the data: the as-of week is cut short
            pl.when(pl.col("week") == pl.lit(as_of_week))
            .then(pl.lit((community.as_of - as_of_week).total_seconds() / 86_400).ceil())
            .otherwise(7.0)
            .alias("_days"),
        )
        .with_columns((pl.col("dau_sum") / pl.col("_days")).alias("avg_daily_active"))
        .with_columns(
            (pl.col("avg_daily_active") / pl.col("active_28d")).alias("stickiness"),
            (pl.col("week") < pl.lit(as_of_week)).alias("complete"),
        )
        .filter(pl.col("week") <= pl.lit(as_of_week))
        .sort("week")
        .select(
            pl.col("week").dt.date(),
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
