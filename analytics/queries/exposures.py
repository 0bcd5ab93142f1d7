"""Exposures per member and item: the first time, and how often before a landmark."""

from __future__ import annotations

from typing import Any

import narwhals.stable.v2 as nw

Frame = nw.LazyFrame[Any]


def first_exposures(exposures: Frame) -> Frame:
    """``member_key``, ``item_id``, ``first_us``: when each member first saw or earned each
    item (integer microseconds)."""
    return exposures.group_by("member_key", "item_id").agg(
        nw.col("occurred_at_us").min().alias("first_us")
    )


def exposures_before(exposures: Frame, *, offset_us: int, joined_until_us: int | None) -> Frame:
    """``member_key``, ``item_id``, ``n``: exposure rows before ``joined_at + offset`` (the
    landmark), for members who joined at or before ``joined_until_us`` (all when ``None``)."""
    rows = exposures.filter(nw.col("occurred_at_us") < nw.col("joined_at_us") + offset_us)
    if joined_until_us is not None:
        rows = rows.filter(nw.col("joined_at_us") <= joined_until_us)
    return rows.group_by("member_key", "item_id").agg(nw.len().cast(nw.Int64).alias("n"))
