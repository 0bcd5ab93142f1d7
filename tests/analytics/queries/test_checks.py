"""The activity checks grouped by stored member id first equal the same checks row by row."""

from __future__ import annotations

from datetime import UTC, datetime

import narwhals.stable.v2 as nw
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics.contract import LATEST_US
from analytics.queries.checks import EventCheck, activity_checks, activity_checks_by_row
from analytics.queries.events import to_us

DAY_US = 86_400_000_000
START_US = to_us(datetime(2024, 1, 1, tzinfo=UTC))


def _frames(
    seed: int, *, early: bool, out_of_range: bool = True
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Members (some ids stored with blanks around them in the activity) and activity with every
    problem but rows before joining (``early``: with some; ``out_of_range``: without
    timestamps out of range when false)."""
    rng = np.random.default_rng(seed)
    n_members, n_rows = 40, 2_000
    joined = START_US + rng.integers(0, 30, n_members) * DAY_US
    members = pl.LazyFrame(
        {
            "member_id": [f"m{i}" for i in range(n_members)],
            "member_key": np.arange(n_members, dtype=np.uint32),
            "joined_at_us": joined,
        }
    )
    who = rng.integers(0, n_members + 5, n_rows)  # the last five ids are of no member
    ids: list[str | None] = [f"m{i}" for i in who]
    for i in rng.choice(n_rows, 50, replace=False):
        ids[i] = f" {ids[i]} "
    for i in rng.choice(n_rows, 20, replace=False):
        ids[i] = None
    lowest = np.where(who < n_members, joined[np.minimum(who, n_members - 1)], START_US)
    us = lowest + rng.integers(0 if not early else -3 * DAY_US, 200 * DAY_US, n_rows)
    times: list[int | None] = [int(t) for t in us]
    for i in rng.choice(n_rows, 15, replace=False):
        times[i] = None
    for i in rng.choice(n_rows, 5, replace=False) if out_of_range else []:
        times[i] = LATEST_US + DAY_US
    activity = pl.LazyFrame(
        {"member_id": ids, "occurred_at_us": pl.Series(times, dtype=pl.Int64)}
    ).with_columns(
        pl.col("occurred_at_us").cast(pl.Datetime("us", "UTC")).alias("occurred_at"),
        pl.col("occurred_at_us").cast(pl.String).alias("occurred_at__text"),
    )
    return members, activity


def _checks(
    members: pl.LazyFrame,
    activity: pl.LazyFrame,
    *,
    strip: bool,
    by_row: bool,
    plain: bool = False,
    cutoff_us: int | None = START_US + 150 * DAY_US,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    check = EventCheck(
        time="occurred_at", members=nw.from_native(members), cutoff_us=cutoff_us, strip=strip
    )
    raw = nw.from_native(activity)
    query = (
        activity_checks_by_row(raw, check) if by_row else activity_checks(raw, check, plain=plain)
    )
    grouped = query.to_native().collect()
    counts = [c for c in grouped.columns if c not in ("member_key", "first_us", "last_us")]
    totals = grouped.select(pl.col(c).sum() for c in counts if c != "latest_us").with_columns(
        grouped.select(pl.col("latest_us").max())
    )
    members_found = (
        grouped.filter(pl.col("member_key").is_not_null() & (pl.col("activities") > 0))
        .select("member_key", "activities", "first_us", "last_us")
        .sort("member_key")
    )
    return totals, members_found


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("strip", [False, True])
def test_grouped_checks_equal_row_by_row(seed: int, strip: bool) -> None:
    members, activity = _frames(seed, early=False)
    totals, found = _checks(members, activity, strip=strip, by_row=False)
    want_totals, want_found = _checks(members, activity, strip=strip, by_row=True)
    assert totals["before_join_members"].item() == 0
    assert_frame_equal(totals.drop("before_join_members"), want_totals)
    assert_frame_equal(found, want_found)
    # the data has every problem the grouped checks count, so each sum is tested
    for problem in ("missing", "out_of_range", "unknown_member", "after_as_of"):
        assert totals[problem].item() > 0, problem


def test_rows_before_joining_are_noticed() -> None:
    members, activity = _frames(4, early=True)
    totals, _found = _checks(members, activity, strip=True, by_row=False)
    assert totals["before_join_members"].item() > 0
    want, _ = _checks(members, activity, strip=True, by_row=True)
    assert want["before_join"].item() > 0


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("strip", [False, True])
@pytest.mark.parametrize("cutoff_us", [None, START_US + 150 * DAY_US])
def test_plain_checks_equal_the_conditional_ones(
    seed: int, strip: bool, cutoff_us: int | None
) -> None:
    """Typed timestamps, all in range: the plain aggregations give every count and member as
    the conditional ones do (missing timestamps, unknown members and, with an as-of time, rows
    after it among them)."""
    members, activity = _frames(seed, early=False, out_of_range=False)
    typed = activity.drop("occurred_at__text")
    totals, found = _checks(
        members, typed, strip=strip, by_row=False, plain=True, cutoff_us=cutoff_us
    )
    want_totals, want_found = _checks(
        members, typed, strip=strip, by_row=False, cutoff_us=cutoff_us
    )
    assert totals["irregular_members"].item() == 0
    assert_frame_equal(totals.drop("irregular_members"), want_totals)
    assert_frame_equal(found, want_found)
    problems = ("missing", "unknown_member") + (("after_as_of",) if cutoff_us else ())
    for problem in problems:
        assert totals[problem].item() > 0, problem


def test_plain_checks_notice_timestamps_out_of_range() -> None:
    members, activity = _frames(5, early=False)
    typed = activity.drop("occurred_at__text")
    totals, _found = _checks(members, typed, strip=True, by_row=False, plain=True)
    want, _ = _checks(members, typed, strip=True, by_row=False)
    assert want["out_of_range"].item() > 0
    assert totals["irregular_members"].item() > 0


def test_plain_checks_need_typed_timestamps() -> None:
    members, activity = _frames(6, early=False)
    with pytest.raises(AssertionError, match="typed timestamps"):
        _checks(members, activity, strip=True, by_row=False, plain=True)
