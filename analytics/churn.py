"""When a member churns: the one definition every analysis uses.

A member churns at the earlier of their explicit departure (``left_at``) and their last sign of
life (latest activity, or ``last_seen_at`` when that is later; joining counts as a sign of life).
An explicit departure counts at once. Silent churn counts only once at least ``inactive_days``
have passed since the last sign of life, as of the as-of time; until then the member is still
counted as present (right-censored at the as-of time).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

DEFAULT_INACTIVE_DAYS = 30


def churn_definition(inactive_days: int = DEFAULT_INACTIVE_DAYS) -> str:
    """The definition in one sentence a community lead understands."""
    return (
        "A member counts as churned when they leave explicitly, or when they have shown no sign "
        f"of life (no activity, not seen) for {inactive_days} days; they churned on the day of "
        "their last sign of life. Members who went quiet less than "
        f"{inactive_days} days ago still count as members."
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
        raise ValueError(f"inactive_days must be at least 1 day, got {inactive_days}.")
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
            pl.when(pl.col("left_at").is_not_null())
            .then(pl.min_horizontal("left_at", "last_active_at"))
            .when(quiet_enough)
            .then(pl.col("last_active_at"))
            .otherwise(None)
            .alias("churned_at"),
            pl.when(pl.col("left_at").is_not_null())
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
