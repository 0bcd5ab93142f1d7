"""Cohort cells: how many members of each join cohort were active in each period after joining."""

from __future__ import annotations

from typing import Any, Literal

import narwhals.stable.v2 as nw

from analytics.queries.events import week_index

Frame = nw.LazyFrame[Any]


def member_cohort(cohort: Literal["week", "month"]) -> dict[str, nw.Expr]:
    """A member's ``cohort`` (the join week as a week index, see :func:`week_index`, or the
    first moment of the join month), to carry on the activity rows
    (``EventFrames.activity(member_cohort(...))``) for :func:`cohort_cells`."""
    key = week_index("joined_at_us") if cohort == "week" else nw.col("joined_at").dt.truncate("1mo")
    return {"cohort": key}


def cohort_cells(activity: Frame, *, step_us: int) -> Frame:
    """Members of each cohort retained in period k: at least one activity in
    ``[joined_at + k·step, joined_at + (k+1)·step)``.

    ``activity`` carries each member's ``cohort``: ``EventFrames.activity(member_cohort(...))``
    (computed once per member, which saves about a quarter of the query by month at a million
    members).

    Returns ``cohort`` (the join week as a week index, see :func:`week_index`, or the first
    moment of the join month), ``k`` and ``retained`` (distinct members).
    """
    return (
        activity.select(
            "member_key",
            "cohort",
            ((nw.col("occurred_at_us") - nw.col("joined_at_us")) // step_us).alias("k"),
        )
        .group_by("cohort", "k")
        .agg(nw.col("member_key").n_unique().alias("retained"))
    )
