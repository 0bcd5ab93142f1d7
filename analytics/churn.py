"""When a member churns: the one definition every analysis uses.

A member churns at the earlier of their explicit departure (``left_at``) and their last sign of
life (latest activity, or ``last_seen_at`` when that is later; joining counts as a sign of life),
but only once at least ``inactive_days`` have passed after that last sign of life, as of the
as-of time. Until then the member still counts as present: right-censored at the as-of time.
The same delay applies to explicit departures, so every churn is known equally late and recent
periods are not filled with explicit departures only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from analytics.errors import InputError
from analytics.stats import wilson_interval

DEFAULT_INACTIVE_DAYS = 30


def churn_definition(inactive_days: int = DEFAULT_INACTIVE_DAYS) -> str:
    """The definition in one sentence a community lead understands."""
    return (
        f"A member has churned once they have shown no sign of life (no activity, not seen) for "
        f"{inactive_days} days, or left explicitly and then {inactive_days} days passed. The churn "
        "date is the earlier of their departure and their last sign of life. Members who went "
        f"quiet less than {inactive_days} days ago still count as members, so churn in the last "
        f"{inactive_days} days is not known yet."
    )


def churn_table(
    members: pl.DataFrame,
    activity: pl.DataFrame,
    *,
    as_of: datetime,
    inactive_days: int = DEFAULT_INACTIVE_DAYS,
) -> pl.DataFrame:
    """One row per member with their churn status as of ``as_of``.

    Returns
    -------
    polars.DataFrame
        ``member_id``, ``joined_at``, ``last_active_at`` (last sign of life), ``churned_at``
        (null when not churned), ``churn_kind`` (``"explicit"``, ``"silent"`` or null) and
        ``tenure_days`` (days from joining to churn, or to the as-of time when censored).
    """
    if inactive_days < 1:
        raise InputError(f"inactive_days must be at least 1 day, got {inactive_days}.")
    last_activity = activity.group_by("member_id").agg(
        pl.col("occurred_at").max().alias("last_activity_at")
    )
    quiet_enough = pl.lit(as_of) - pl.col("last_active_at") >= timedelta(days=inactive_days)
    return (
        members.select("member_id", "joined_at", "left_at", "last_seen_at")
        .join(last_activity, on="member_id", how="left")
        .with_columns(
            pl.max_horizontal("joined_at", "last_activity_at", "last_seen_at").alias(
                "last_active_at"
            )
        )
        .with_columns(
            pl.when(quiet_enough)
            .then(pl.min_horizontal("left_at", "last_active_at"))
            .otherwise(None)
            .alias("churned_at"),
            pl.when(quiet_enough & pl.col("left_at").is_not_null())
            .then(pl.lit("explicit"))
            .when(quiet_enough)
            .then(pl.lit("silent"))
            .otherwise(None)
            .alias("churn_kind"),
        )
        .with_columns(
            (
                (pl.coalesce("churned_at", pl.lit(as_of)) - pl.col("joined_at")).dt.total_seconds(
                    fractional=True
                )
                / 86_400.0
            ).alias("tenure_days")
        )
        .select(
            "member_id", "joined_at", "last_active_at", "churned_at", "churn_kind", "tenure_days"
        )
    )


_CHURN_PERIOD_SCHEMA = {
    "period_start": pl.Date,
    "members": pl.Int64,
    "explicit": pl.Int64,
    "silent": pl.Int64,
    "churned": pl.Int64,
    "rate": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "known": pl.Boolean,
    "known_from": pl.Date,
}


def churn_by_period(
    members: pl.DataFrame,
    activity: pl.DataFrame,
    *,
    as_of: datetime,
    period: str = "week",
    inactive_days: int = DEFAULT_INACTIVE_DAYS,
) -> pl.DataFrame:
    """Churn per calendar week (Monday, UTC) or month, explicit departures and silent churn apart.

    The rate is churned members over the members who were members at some time in the period
    (present at its start, or joined during it), with a 95 % Wilson interval. Periods ending
    less than ``inactive_days`` before the as-of time are not yet known (``known`` false): their
    churn counts are null, never a reassuring low number.

    Returns
    -------
    polars.DataFrame
        ``period_start`` (date), ``members`` (denominator), ``explicit``, ``silent``,
        ``churned``, ``rate``, ``ci_low``, ``ci_high``, ``known`` and ``known_from`` (the
        first as-of day on which an unknown period's churn is known, see
        :func:`analytics.known.churn_status`; null when known).
    """
    every = {"week": "1w", "month": "1mo"}.get(period)
    if every is None:
        raise InputError(f"period must be 'week' or 'month', got {period!r}.")
    status = churn_table(members, activity, as_of=as_of, inactive_days=inactive_days)
    if status.is_empty():
        return pl.DataFrame(schema=_CHURN_PERIOD_SCHEMA)
    first = status["joined_at"].min()
    grid = pl.DataFrame(
        {
            "start": pl.datetime_range(
                pl.lit(first).dt.truncate(every),
                pl.lit(as_of).dt.truncate(every),
                interval=every,
                eager=True,
            ).dt.cast_time_unit("us")
        }
    ).with_columns(pl.col("start").dt.offset_by(every).alias("end"))
    joins = status.group_by(pl.col("joined_at").dt.truncate(every).alias("start")).agg(
        pl.len().alias("joined")
    )
    churns = (
        status.filter(pl.col("churned_at").is_not_null())
        .group_by(pl.col("churned_at").dt.truncate(every).alias("start"))
        .agg(
            (pl.col("churn_kind") == "explicit").sum().alias("explicit"),
            (pl.col("churn_kind") == "silent").sum().alias("silent"),
        )
    )
    table = (
        grid.join(joins, on="start", how="left")
        .join(churns, on="start", how="left")
        .sort("start")  # joins do not keep row order; the running sums below need it
        .with_columns(pl.col("joined", "explicit", "silent").fill_null(0).cast(pl.Int64))
        .with_columns(
            # joined before the period ends, minus churned before it starts
            (
                pl.col("joined").cum_sum()
                - (pl.col("explicit") + pl.col("silent")).cum_sum().shift(1, fill_value=0)
            ).alias("members"),
            # the one rule of analytics.known, as an expression
            (
                pl.col("end") + pl.duration(days=inactive_days)
                <= pl.lit(as_of + timedelta(microseconds=1))
            ).alias("known"),
        )
        .with_columns(
            pl.when("known").then(pl.col("explicit")).alias("explicit"),
            pl.when("known").then(pl.col("silent")).alias("silent"),
        )
        .with_columns((pl.col("explicit") + pl.col("silent")).alias("churned"))
        .with_columns((pl.col("churned") / pl.col("members")).alias("rate"))
    )
    bounds = [
        wilson_interval(c, n) if c is not None and n else (None, None)
        for c, n in zip(table["churned"], table["members"], strict=True)
    ]
    return table.select(
        pl.col("start").dt.date().alias("period_start"),
        "members",
        "explicit",
        "silent",
        "churned",
        "rate",
        pl.Series("ci_low", [b[0] for b in bounds], dtype=pl.Float64),
        pl.Series("ci_high", [b[1] for b in bounds], dtype=pl.Float64),
        "known",
        pl.when(~pl.col("known"))
        .then((pl.col("end") + pl.duration(days=inactive_days, microseconds=-1)).dt.date())
        .alias("known_from"),
    )
