"""Cohort cells: how many members of each join cohort were active in each period after joining."""

from __future__ import annotations

from typing import Any, Literal

import narwhals.stable.v2 as nw

from analytics.queries.events import week_index

Frame = nw.LazyFrame[Any]


def cohort_cells(activity: Frame, *, step_us: int, cohort: Literal["week", "month"]) -> Frame:
    """Members of each cohort retained in period k: at least one activity in
    ``[joined_at + k·step, joined_at + (k+1)·step)``.

    Returns ``cohort`` (the join week as a week index, see :func:`week_index`, or the first
    moment of the join month), ``k`` and ``retained`` (distinct members).
    """
    key = (
        week_index("joined_at_us").alias("cohort")
        if cohort == "week"
        else nw.col("joined_at").dt.truncate("1mo").alias("cohort")
    )
    return (
        activity.select(
            "member_key",
            key,
            ((nw.col("occurred_at_us") - nw.col("joined_at_us")) // step_us).alias("k"),
        )
        .group_by("cohort", "k")
        .agg(nw.col("member_key").n_unique().alias("retained"))
    )
