"""Golden tests: every event-level query gives the same answer on every backend.

The reference is the same query collected by plain eager polars (``polars-eager``); each other
engine must return the same rows (sorted, timestamps in UTC). The analyses' own tests check the
queries' meaning against hand-made communities and independent oracles; these check that the
engines agree on it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics.community import Community
from analytics.queries.active import active_between, kinds
from analytics.queries.cohorts import cohort_cells, member_cohort
from analytics.queries.events import to_us
from tests.analytics.queries.conftest import ENGINES, sorted_rows

Query = Callable[[Community], Any]


def _cohorts(period: Literal["week", "month"], *, per_row: bool = False) -> Query:
    """The cohort cells, with each member's cohort carried on its rows (as the retention
    analysis runs them) or, ``per_row``, computed on every row from the row's joining time."""
    step = (7 if period == "week" else 30) * 86_400_000_000
    (cohort,) = member_cohort(period).values()

    def query(c: Community) -> Any:
        if per_row:
            activity = c.frames().activity().with_columns(cohort.alias("cohort"))
        else:
            activity = c.frames().activity(member_cohort(period))
        return cohort_cells(activity, step_us=step)

    return query


def _active(c: Community) -> Any:
    end = c.as_of
    windows = [(to_us(end - timedelta(days=d)), to_us(end)) for d in (1, 7, 30)]
    return active_between(c.frames().activity(), windows)


def _kinds(c: Community) -> Any:
    return kinds(c.frames().activity())


QUERIES: dict[str, Query] = {
    "cohort cells by week": _cohorts("week"),
    "cohort cells by month": _cohorts("month"),
    "active members in windows": _active,
    "activity kinds": _kinds,
}


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
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
        _sorted(found), _sorted(expected), check_dtypes=False, check_column_order=False
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_load_is_the_same_on_every_engine(communities: dict[str, Community], engine: str) -> None:
    """The quality report, members, as-of time and per-member activity agree."""
    reference, other = communities["reference"], communities[engine]

    def seen(c: Community) -> list[tuple[object, ...]]:  # where a table lives differs
        return [
            (i.severity, i.table, i.column, i.message, i.rows, i.count) for i in c.report.issues
        ]

    assert seen(other) == seen(reference)
    assert other.report.row_counts == reference.report.row_counts
    assert other.as_of == reference.as_of
    assert_frame_equal(other.members.sort("member_id"), reference.members.sort("member_id"))
    assert_frame_equal(_sorted(other.activity_summary), _sorted(reference.activity_summary))
    assert isinstance(other.as_of, datetime)


@pytest.mark.parametrize("engine", ["reference", "polars-kept"])
@pytest.mark.parametrize("period", ["week", "month"])
def test_cohort_carried_from_the_members_equals_the_cohort_of_each_row(
    communities: dict[str, Community], engine: str, period: Literal["week", "month"]
) -> None:
    community = communities[engine]
    (expected,) = community.collect(_cohorts(period, per_row=True)(community))
    (found,) = community.collect(_cohorts(period)(community))
    assert expected.height > 0
    assert_frame_equal(_sorted(found), _sorted(expected))
