"""Golden tests of the engagement, leaderboard and lifecycle queries: every engine gives the same
answer as plain eager polars (see test_golden.py). Member-level results are compared by member
id, since the member key differs between engines (a dense integer, or the id itself)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics.community import Community
from analytics.queries.active import active_per_day, activity_per_kind, rolling_active_marks
from analytics.queries.events import DAY_US, to_us
from analytics.queries.landmark import active_member_days
from analytics.queries.leaderboards import (
    first_exposures,
    member_counts,
    rising_members,
    top_members,
)
from analytics.queries.lifecycle import lifecycle_weeks
from tests.analytics.queries.conftest import ENGINES, sorted_rows

Query = Callable[[Community], Any]


def _last_days(c: Community, days: int) -> tuple[int, int]:
    """The ``days`` whole days ending with the as-of day, as ``[start, end)`` microseconds."""
    end = (to_us(c.as_of) // DAY_US + 1) * DAY_US
    return end - days * DAY_US, end


def _per_day(c: Community) -> Any:
    return active_per_day(c.frames().activity())


def _per_day_bounded(c: Community) -> Any:
    start, end = _last_days(c, 60)
    return active_per_day(c.frames().activity(), start_us=start, end_us=end)


def _rolling(c: Community) -> Any:
    last_day = to_us(c.as_of) // DAY_US
    return rolling_active_marks(c.frames().activity(), first_day=last_day - 89, last_day=last_day)


def _kind_query(every: Any) -> Query:
    def query(c: Community) -> Any:
        start, end = _last_days(c, 120)
        return activity_per_kind(c.frames().activity(), start_us=start, end_us=end, every=every)

    return query


def _counts(c: Community) -> Any:
    start, end = _last_days(c, 30)
    return member_counts(c.frames().activity(), start_us=start, end_us=end)


def _counts_of_kind(c: Community) -> Any:
    start, end = _last_days(c, 90)
    return member_counts(c.frames().activity(), start_us=start, end_us=end, kind="post")


def _top(c: Community) -> Any:
    start, end = _last_days(c, 30)
    return top_members(c.frames().activity(), start_us=start, end_us=end, top=20)


def _top_with_ties(c: Community) -> Any:  # a rare kind over a short period: many tie at the cut
    start, end = _last_days(c, 7)
    return top_members(c.frames().activity(), start_us=start, end_us=end, kind="event", top=3)


def _rising(c: Community) -> Any:
    start, end = _last_days(c, 28)
    return rising_members(
        c.frames().activity(), previous_start_us=start - 28 * DAY_US, start_us=start, end_us=end
    )


def _first_exposures(c: Community) -> Any:
    exposures = c.frames().exposures()
    assert exposures is not None
    assert c.proof_items is not None
    return first_exposures(exposures, c.proof_items["item_id"].to_list())


def _active_member_days(c: Community) -> Any:
    return active_member_days(c.frames().activity(), until_us=to_us(c.as_of))


def _active_member_days_combined(c: Community) -> Any:
    # one combined grouping key where the member keys are whole numbers (folders)
    integer_keys = c.events.keyed["member_key"].dtype.is_integer()
    return active_member_days(
        c.frames().activity(), until_us=to_us(c.as_of), integer_keys=integer_keys
    )


def _lifecycle(c: Community) -> Any:
    return lifecycle_weeks(c.frames().activity())


QUERIES: dict[str, Query] = {
    "active members per day": _per_day,
    "active members per day, last 60 days": _per_day_bounded,
    "rolling active marks, last 90 days": _rolling,
    "activity per kind and day": _kind_query("1d"),
    "activity per kind and week": _kind_query("1w"),
    "activity per kind and month": _kind_query("1mo"),
    "member counts": _counts,
    "member counts of one kind": _counts_of_kind,
    "top members": _top,
    "top members with ties": _top_with_ties,
    "rising members": _rising,
    "first exposures": _first_exposures,
    "lifecycle weeks": _lifecycle,
    "active member days (effects' trials)": _active_member_days,
    "active member days, combined key": _active_member_days_combined,
}


def _comparable(c: Community, frame: pl.DataFrame) -> pl.DataFrame:
    if "member_key" in frame.columns:
        frame = c.events.with_ids(frame)
    return sorted_rows(frame)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", list(QUERIES))
def test_query_equals_eager_polars(
    communities: dict[str, Community], engine: str, name: str
) -> None:
    reference, other = communities["reference"], communities[engine]
    (expected,) = reference.collect(QUERIES[name](reference))
    (found,) = other.collect(QUERIES[name](other))
    assert expected.height > 0
    assert_frame_equal(
        _comparable(other, found),
        _comparable(reference, expected),
        check_dtypes=False,
        check_column_order=False,
    )
