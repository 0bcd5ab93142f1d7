"""Leaderboards: the most active members, the fastest risers, and first exposures to items."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals.stable.v2 as nw

from analytics.queries.events import day_index

Frame = nw.LazyFrame[Any]


def _in_period(activity: Frame, start_us: int, end_us: int, kind: str | None) -> Frame:
    t = nw.col("occurred_at_us")
    rows = activity.filter((t >= start_us) & (t < end_us))
    if kind is not None:
        rows = rows.filter(nw.col("kind") == kind)
    return rows


def member_counts(activity: Frame, *, start_us: int, end_us: int, kind: str | None = None) -> Frame:
    """Each member's activity in ``[start_us, end_us)`` (of one kind when given). One row per
    member with activity there: member-level, collect only what is needed.

    Returns
    -------
    narwhals.LazyFrame
        ``member_key``, ``activities`` (rows), ``active_days`` (distinct UTC days) and
        ``last_activity_at`` (the latest ``occurred_at``).
    """
    return (
        _in_period(activity, start_us, end_us, kind)
        .select("member_key", "occurred_at", day_index("occurred_at_us").alias("day"))
        .group_by("member_key")
        .agg(
            nw.len().cast(nw.Int64).alias("activities"),
            nw.col("day").n_unique().cast(nw.Int64).alias("active_days"),
            nw.col("occurred_at").max().alias("last_activity_at"),
        )
    )


def _leading(frame: Frame, column: str, top: int) -> Frame:
    """The rows whose ``column`` ranks within the ``top`` largest, ties at the boundary
    included (ranked by value only, so that every engine returns the same rows whatever its
    text ordering)."""
    ranked = frame.with_columns(nw.col(column).rank("min", descending=True).alias("__rank"))
    return ranked.filter(nw.col("__rank") <= top).drop("__rank")


def top_members(
    activity: Frame, *, start_us: int, end_us: int, kind: str | None = None, top: int = 20
) -> Frame:
    """The most active members of ``[start_us, end_us)``: :func:`member_counts` for the members
    whose activity count ranks within the ``top`` largest (members tied with the last of them
    included: choose among them after collecting).

    Returns
    -------
    narwhals.LazyFrame
        ``member_key``, ``activities``, ``active_days``, ``last_activity_at``.
    """
    counts = member_counts(activity, start_us=start_us, end_us=end_us, kind=kind)
    return _leading(counts, "activities", top)


def rising_members(
    activity: Frame,
    *,
    previous_start_us: int,
    start_us: int,
    end_us: int,
    kind: str | None = None,
    top: int = 20,
) -> Frame:
    """Members whose activity grew most from ``[previous_start_us, start_us)`` to
    ``[start_us, end_us)`` (of one kind when given): those with a positive increase whose
    increase ranks within the ``top`` largest (ties with the last of them included).

    Returns
    -------
    narwhals.LazyFrame
        ``member_key``, ``activities`` (this period), ``previous`` (the period before) and
        ``increase`` (the difference, > 0).
    """
    now = nw.col("occurred_at_us") >= start_us
    counts = (
        _in_period(activity, previous_start_us, end_us, kind)
        .group_by("member_key")
        .agg(
            nw.when(now).then(1).otherwise(0).sum().cast(nw.Int64).alias("activities"),
            nw.when(now).then(0).otherwise(1).sum().cast(nw.Int64).alias("previous"),
        )
        .with_columns((nw.col("activities") - nw.col("previous")).alias("increase"))
        .filter(nw.col("increase") > 0)
    )
    return _leading(counts, "increase", top)


def first_exposures(exposures: Frame, item_ids: Sequence[str]) -> Frame:
    """When each member was first exposed to each of the items ``item_ids``.

    Returns
    -------
    narwhals.LazyFrame
        ``member_key``, ``item_id`` and ``first_at`` (the earliest ``occurred_at``); one row per
        member and item with an exposure (member-level).
    """
    return (
        exposures.filter(nw.col("item_id").is_in(list(item_ids)))
        .group_by("member_key", "item_id")
        .agg(nw.col("occurred_at").min().alias("first_at"))
    )
