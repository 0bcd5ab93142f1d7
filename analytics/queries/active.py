"""Active members: distinct members with activity in time windows, per day, week or month."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import narwhals.stable.v2 as nw

from analytics.queries.events import DAY_US, day_index, week_index

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


def _between(activity: Frame, start_us: int | None, end_us: int | None) -> Frame:
    t = nw.col("occurred_at_us")
    if start_us is not None:
        activity = activity.filter(t >= start_us)
    if end_us is not None:
        activity = activity.filter(t < end_us)
    return activity


def member_days(activity: Frame) -> Frame:
    """One row per member and day with activity: ``member_key``, ``day`` (a day index, see
    :func:`~analytics.queries.events.day_index`). An intermediate step: aggregate it before
    collecting."""
    return activity.select("member_key", day_index("occurred_at_us").alias("day")).unique()


def active_per_day(
    activity: Frame, *, start_us: int | None = None, end_us: int | None = None
) -> Frame:
    """Distinct active members per day with activity in ``[start_us, end_us)`` (either bound
    optional).

    Returns
    -------
    narwhals.LazyFrame
        ``day`` (day index) and ``active`` (distinct members with activity that day); days
        without activity have no row.
    """
    return (
        member_days(_between(activity, start_us, end_us))
        .group_by("day")
        .agg(nw.len().cast(nw.Int64).alias("active"))
    )


def rolling_active_marks(
    activity: Frame, *, first_day: int, last_day: int, windows: Sequence[int] = (7, 30)
) -> Frame:
    """Per-day marks from which the distinct members active in the ``w`` days ending with each
    day of ``first_day..last_day`` (day indexes) follow by a running sum.

    Each active day of a member covers the days up to the member's next active day, at most
    ``w`` days: a +1 mark on the day and a -1 mark where the cover ends. The running sum of the
    marks up to and including day ``d`` is the number of members active in ``(d - w, d]``. Only
    activity from ``first_day - max(windows) + 1`` to ``last_day`` is read (earlier activity
    cannot reach the period; later activity does not change it).

    Returns
    -------
    narwhals.LazyFrame
        One row per day with a mark: ``day`` (day index, may lie before ``first_day`` or after
        ``last_day``), ``dau`` (distinct members active that day) and ``delta_<w>d`` for each
        window (the sum of that day's marks).
    """
    longest = max(windows)
    days = member_days(
        _between(activity, (first_day - longest + 1) * DAY_US, (last_day + 1) * DAY_US)
    ).with_columns(nw.col("day").shift(-1).over("member_key", order_by="day").alias("next"))
    gap = nw.col("next") - nw.col("day")
    names = [f"delta_{w}d" for w in windows]

    def one(value: int) -> nw.Expr:
        return nw.lit(value, dtype=nw.Int64)

    parts = [days.select("day", one(1).alias("dau"), *(one(1).alias(n) for n in names))]
    for w, name in zip(windows, names, strict=True):
        span = nw.when(~nw.col("next").is_null() & (gap < w)).then(gap).otherwise(one(w))
        parts.append(
            days.select(
                (nw.col("day") + span).alias("day"),
                one(0).alias("dau"),
                *((one(-1) if n == name else one(0)).alias(n) for n in names),
            )
        )
    return (
        nw.concat(parts, how="vertical")
        .group_by("day")
        .agg(nw.col("dau", *names).sum().cast(nw.Int64))
    )


def activity_per_kind(
    activity: Frame, *, start_us: int, end_us: int, every: Literal["1d", "1w", "1mo"]
) -> Frame:
    """Activity rows and distinct members per kind and period, for activity in
    ``[start_us, end_us)``.

    Returns
    -------
    narwhals.LazyFrame
        ``period`` (a day index for ``"1d"``, a week index for ``"1w"``, see
        :func:`~analytics.queries.events.week_index`, or the first moment of the month for
        ``"1mo"``), ``kind``, ``rows`` and ``members``.
    """
    if every == "1d":
        period = day_index("occurred_at_us")
    elif every == "1w":
        period = week_index("occurred_at_us")
    else:
        period = nw.col("occurred_at").dt.truncate("1mo")
    return (
        _between(activity, start_us, end_us)
        .select("member_key", "kind", period.alias("period"))
        .group_by("period", "kind")
        .agg(
            nw.len().cast(nw.Int64).alias("rows"),
            nw.col("member_key").n_unique().cast(nw.Int64).alias("members"),
        )
    )
