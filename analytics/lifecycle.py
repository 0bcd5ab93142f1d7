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
    same_member = pl.col("member_id") == pl.col("member_id").shift(1)
    same_member_next = pl.col("member_id") == pl.col("member_id").shift(-1)
    # one row per member and active week, computed once and reused below
    weeks = (
        activity.select("member_id", pl.col("occurred_at").dt.truncate("1w").alias("week"))
        .unique()
        .sort("member_id", "week")
        .with_columns(
            pl.when(same_member).then(pl.col("week").shift(1)).alias("previous"),
            pl.when(same_member_next).then(pl.col("week").shift(-1)).alias("next"),
        )
        .drop("member_id")
        .collect()
        .lazy()
    )
    as_of_week = community.as_of.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
        days=community.as_of.weekday()
    )
    counts = weeks.group_by("week").agg(
        pl.col("previous").is_null().sum().cast(pl.Int64).alias("new"),
        (pl.col("week") - pl.col("previous") == _WEEK).sum().cast(pl.Int64).alias("returning"),
        (pl.col("week") - pl.col("previous") > _WEEK).sum().cast(pl.Int64).alias("resurrected"),
    )
    dormant = (
        weeks.filter(pl.col("next").is_null() | (pl.col("next") - pl.col("week") > _WEEK))
        .select((pl.col("week") + _WEEK).alias("week"))
        .filter(pl.col("week") <= pl.lit(as_of_week))
        .group_by("week")
        .agg(pl.len().cast(pl.Int64).alias("dormant"))
    )
    # Active in the 4 weeks ending with week w: each active week of a member covers the weeks up
    # to their next active week, at most 4. Counted with +1/-1 marks and a running sum.
    span = pl.min_horizontal(
        pl.lit(4), ((pl.col("next") - pl.col("week")).dt.total_days() // 7).fill_null(4)
    )
    marks = (
        pl.concat(
            [
                weeks.select("week", pl.lit(1, dtype=pl.Int64).alias("delta")),
                weeks.select(
                    (pl.col("week") + pl.duration(weeks=span)).alias("week"),
                    pl.lit(-1, dtype=pl.Int64).alias("delta"),
                ),
            ]
        )
        .group_by("week")
        .agg(pl.col("delta").sum())
    )
    daily = (
        activity.group_by(pl.col("occurred_at").dt.truncate("1d").alias("day"))
        .agg(pl.col("member_id").n_unique().alias("dau"))
        .group_by(pl.col("day").dt.truncate("1w").alias("week"))
        .agg(pl.col("dau").sum().alias("dau_sum"))
    )
    grid = marks.select("week").unique().sort("week").collect()
    if grid.is_empty():
        return pl.DataFrame(
            schema={
                "week": pl.Date, "new": pl.Int64, "returning": pl.Int64,
                "resurrected": pl.Int64, "dormant": pl.Int64, "active": pl.Int64,
                "avg_daily_active": pl.Float64, "active_28d": pl.Int64,
                "stickiness": pl.Float64, "complete": pl.Boolean,
            }
        )  # fmt: skip
    full = pl.DataFrame(
        {"week": pl.datetime_range(grid["week"][0], grid["week"][-1], interval="1w", eager=True)}
    ).lazy()
    result = (
        full.join(marks, on="week", how="left")
        .sort("week")  # joins do not keep row order; the running sum needs it
        .with_columns(pl.col("delta").fill_null(0).cum_sum().alias("active_28d"))
        .join(counts, on="week", how="left")
        .join(dormant, on="week", how="left")
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
