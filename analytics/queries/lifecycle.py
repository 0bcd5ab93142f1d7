"""Weekly lifecycle (growth accounting): per-week counts from each member's active weeks."""

from __future__ import annotations

from typing import Any

import narwhals.stable.v2 as nw

from analytics.queries.events import day_index, week_index

Frame = nw.LazyFrame[Any]

#: How many weeks a member's active week counts towards "active in the last 4 weeks".
ROLLING_WEEKS = 4
#: The columns of :func:`lifecycle_weeks`, beside ``week``.
LIFECYCLE_COUNTS = ("new", "returning", "resurrected", "dormant", "delta_28d", "member_days")


def lifecycle_weeks(activity: Frame) -> Frame:
    """Per-week lifecycle counts, computed from each member's active weeks (Monday to Sunday,
    UTC) with the previous and next active week of the same member (window functions).

    Returns
    -------
    narwhals.LazyFrame
        One row per week with a count (``week``: a week index, see
        :func:`~analytics.queries.events.week_index`), and, each 0 when none:

        * ``new``: members whose first active week it is;
        * ``returning``: members active that week and the week before;
        * ``resurrected``: members active that week, not the week before, but earlier;
        * ``dormant``: members active the week before and not that week;
        * ``delta_28d``: +1/-1 marks whose running sum up to and including the week is the
          number of members active in the 4 weeks ending with it (each active week counts up
          to the member's next active week, at most 4 weeks);
        * ``member_days``: distinct (member, day) pairs with activity that week (the sum of the
          week's daily active members).

        Weeks after the last activity appear up to 4 weeks later (dormant and -1 marks).
    """
    week = nw.col("week")
    # one pass over the activity: each member's active days, then their active weeks with the
    # number of active days in each (the member-days), then the neighbouring active weeks
    weeks = (
        activity.select(
            "member_key",
            day_index("occurred_at_us").alias("day"),
            week_index("occurred_at_us").alias("week"),
        )
        .unique()
        .group_by("member_key", "week")
        .agg(nw.len().cast(nw.Int64).alias("days"))
        .with_columns(
            week.shift(1).over("member_key", order_by="week").alias("previous"),
            week.shift(-1).over("member_key", order_by="week").alias("next"),
        )
    )
    since = week - nw.col("previous")
    until = nw.col("next") - week

    def one(value: int) -> nw.Expr:
        return nw.lit(value, dtype=nw.Int64)

    def flag(condition: nw.Expr) -> nw.Expr:
        return nw.when(condition).then(one(1)).otherwise(one(0))

    def row(at: nw.Expr, **values: nw.Expr) -> list[nw.Expr]:
        return [at.alias("week"), *(values.get(c, one(0)).alias(c) for c in LIFECYCLE_COUNTS)]

    active = weeks.select(
        *row(
            week,
            new=flag(nw.col("previous").is_null()),
            returning=flag(since == 1),
            resurrected=flag(since > 1),
            delta_28d=one(1),
            member_days=nw.col("days"),
        )
    )
    dormant = weeks.filter(nw.col("next").is_null() | (until > 1)).select(
        *row(week + 1, dormant=one(1))
    )
    span = nw.when(~nw.col("next").is_null() & (until < ROLLING_WEEKS)).then(until)
    ends = weeks.select(*row(week + span.otherwise(one(ROLLING_WEEKS)), delta_28d=one(-1)))
    return (
        nw.concat([active, dormant, ends], how="vertical")
        .group_by("week")
        .agg(nw.col(*LIFECYCLE_COUNTS).sum().cast(nw.Int64))
    )
