"""Retention definitions on hand-built tiny communities, and the matrix on the demo community."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from analytics.churn import churn_by_period, churn_table
from analytics.community import Community, load_community
from analytics.io import open_source
from analytics.lifecycle import lifecycle
from analytics.retention import cohort_matrix, recent_cohorts
from analytics.survival_groups import exposure_landmark_table, survival_table
from tests.conftest import write_csvs

AS_OF = datetime(2024, 2, 5, tzinfo=UTC)  # a Monday


@pytest.fixture
def tiny(tmp_path: Path) -> Community:
    """Four weekly cohorts, worked out by hand in the tests below.

    A (week of Jan 1): a1 joins Jan 1, active days 0, 8, 15; a2 joins Jan 3, active days 1, 20.
    D (week of Jan 8): d1 joins Jan 8, never active (a cohort retaining nobody).
    B (week of Jan 15): b1 joins Jan 17, never active; b2 joins Jan 15, active day 2.
    C (week of Jan 29): c1 joins Feb 1, active Feb 2 (no complete week yet).
    """
    members = (
        "member_id,joined_at\na1,2024-01-01\na2,2024-01-03\nd1,2024-01-08\nb1,2024-01-17\n"
        "b2,2024-01-15\nc1,2024-02-01\n"
    )
    activity = (
        "member_id,occurred_at,kind\na1,2024-01-01T10:00Z,post\na1,2024-01-09,post\n"
        "a1,2024-01-16,post\na2,2024-01-04,post\na2,2024-01-23,post\nb2,2024-01-17,post\n"
        "c1,2024-02-02,post\n"
    )
    folder = write_csvs(tmp_path, {"members": members, "activity": activity})
    return load_community(open_source(folder), as_of=AS_OF)


def _share(cells: pl.DataFrame, cohort: date, k: int) -> float | None:
    return cells.filter((pl.col("cohort") == cohort) & (pl.col("k") == k))["share"].item()


def test_cells_by_hand(tiny: Community) -> None:
    m = cohort_matrix(tiny, period="week")
    a, d, b, c = date(2024, 1, 1), date(2024, 1, 8), date(2024, 1, 15), date(2024, 1, 29)
    assert m.periods == 4  # cohort A (latest joiner Jan 3) has 4 complete weeks
    assert [_share(m.cells, a, k) for k in range(4)] == [1.0, 0.5, 1.0, 0.0]
    # d1's fourth week ends exactly at the as-of time: complete, and retention 0, not empty
    assert [_share(m.cells, d, k) for k in range(4)] == [0.0, 0.0, 0.0, 0.0]
    # b1 joined Jan 17: 19 days -> 2 complete weeks, later cells are empty, never 0
    assert [_share(m.cells, b, k) for k in range(4)] == [0.5, 0.0, None, None]
    assert [_share(m.cells, c, k) for k in range(4)] == [None, None, None, None]
    sizes = dict(m.cohorts().select("cohort", "size").iter_rows())
    assert sizes == {a: 2, d: 1, b: 2, c: 1}


def test_average_is_weighted_by_size_and_keeps_zero_cohorts(tiny: Community) -> None:
    average = cohort_matrix(tiny, period="week").average
    assert average["cohorts"].to_list() == [3, 3, 2, 2]
    assert average["members"].to_list() == [5, 5, 3, 3]
    assert average["share"].to_list() == pytest.approx([3 / 5, 1 / 5, 2 / 3, 0.0])
    assert (average["ci_low"] <= average["share"]).all()
    assert (average["ci_high"] >= average["share"]).all()


def test_json_lists_every_cohort_up_to_the_last_complete_period(tiny: Community) -> None:
    payload = cohort_matrix(tiny, period="week").to_json()
    assert payload["period"] == "week"
    assert payload["as_of"] == "2024-02-05T00:00:00+00:00"
    assert payload["cohorts"] == [
        {"cohort": "2024-01-01", "size": 2, "retention": [1.0, 0.5, 1.0, 0.0]},
        {"cohort": "2024-01-08", "size": 1, "retention": [0.0, 0.0, 0.0, 0.0]},
        {"cohort": "2024-01-15", "size": 2, "retention": [0.5, 0.0, None, None]},
        {"cohort": "2024-01-29", "size": 1, "retention": [None, None, None, None]},
    ]


def test_monthly_cohorts_use_calendar_months_and_30_day_periods(tiny: Community) -> None:
    m = cohort_matrix(tiny, period="month")
    # January cohort: latest joiner Jan 17, 19 days before the as-of time: no complete month
    assert m.to_json()["cohorts"] == [] or all(
        all(v is None for v in c["retention"]) for c in m.to_json()["cohorts"]
    )
    assert m.cells.is_empty()
    later = load_community(open_source_of(tiny), as_of=datetime(2024, 3, 20, tzinfo=UTC))
    cohorts = cohort_matrix(later, period="month").to_json()["cohorts"]
    # January: latest joiner Jan 17, 63 days before: months 0 and 1 complete. Month 0: a1, a2
    # and b2 active in their first 30 days, d1 and b1 never -> 3 of 5; month 1: nobody.
    assert cohorts[0] == {"cohort": "2024-01-01", "size": 5, "retention": [0.6, 0.0]}
    # February: c1 joined Feb 1, 48 days before: month 0 only
    assert cohorts[1] == {"cohort": "2024-02-01", "size": 1, "retention": [1.0, None]}


def open_source_of(community: Community):  # type: ignore[no-untyped-def]
    return open_source(community.report.source.removeprefix("folder "))


def test_cohort_date_filter(tiny: Community) -> None:
    m = cohort_matrix(
        tiny, period="week", first_cohort=date(2024, 1, 8), last_cohort=date(2024, 1, 20)
    )
    assert m.cohorts()["cohort"].to_list() == [date(2024, 1, 8), date(2024, 1, 15)]
    assert recent_cohorts(m, count=1, min_periods=4) == [date(2024, 1, 8)]


def test_churn_explicit_vs_silent_and_censoring(tmp_path: Path) -> None:
    members = (
        "member_id,joined_at,left_at\n"
        "e,2024-01-01,2024-01-10\n"  # explicit, long ago
        "s,2024-01-01,\n"  # silent: last activity Jan 5
        "r,2024-01-01,2024-03-01\n"  # explicit but recent: not known yet (censored)
        "q,2024-01-01,\n"  # active until recently: censored
    )
    activity = (
        "member_id,occurred_at,kind\ne,2024-01-08,post\ns,2024-01-05,post\nr,2024-02-28,post\n"
        "q,2024-03-05,post\n"
    )
    folder = write_csvs(tmp_path, {"members": members, "activity": activity})
    c = load_community(open_source(folder), as_of=datetime(2024, 3, 10, tzinfo=UTC))
    status = {
        r["member_id"]: r
        for r in churn_table(c.members, c.activity, as_of=c.as_of).iter_rows(named=True)
    }
    assert (status["e"]["churn_kind"], status["e"]["churned_at"]) == (
        "explicit",
        datetime(2024, 1, 8, tzinfo=UTC),
    )
    assert (status["s"]["churn_kind"], status["s"]["churned_at"]) == (
        "silent",
        datetime(2024, 1, 5, tzinfo=UTC),
    )
    assert status["r"]["churned_at"] is None
    assert status["q"]["churned_at"] is None
    monthly = churn_by_period(c.members, c.activity, as_of=c.as_of, period="month")
    assert monthly["period_start"].to_list() == [
        date(2024, 1, 1),
        date(2024, 2, 1),
        date(2024, 3, 1),
    ]
    jan = monthly.row(0, named=True)
    assert (jan["members"], jan["explicit"], jan["silent"], jan["churned"]) == (4, 1, 1, 2)
    assert jan["rate"] == 0.5
    assert jan["known"] is True
    # February ends 9 days before the as-of time: with 30 quiet days needed, not known yet
    assert monthly.row(1, named=True)["known"] is False
    assert monthly.row(1, named=True)["churned"] is None
    assert monthly.row(1, named=True)["members"] == 2


def test_churn_by_period_matches_a_brute_force_count(small_folder: Path) -> None:
    c = load_community(open_source(small_folder))
    status = churn_table(c.members, c.activity, as_of=c.as_of)
    weekly = churn_by_period(c.members, c.activity, as_of=c.as_of, period="week")
    for row in weekly.iter_rows(named=True):
        start = datetime.combine(row["period_start"], datetime.min.time(), tzinfo=UTC)
        end = start + timedelta(days=7)
        present = status.filter(
            (pl.col("joined_at") < end)
            & (pl.col("churned_at").is_null() | (pl.col("churned_at") >= start))
        ).height
        assert row["members"] == present
        if row["known"]:
            churned = status.filter(pl.col("churned_at").is_between(start, end, closed="left"))
            assert row["churned"] == churned.height
            assert row["explicit"] == churned.filter(pl.col("churn_kind") == "explicit").height
        else:
            assert end > c.as_of - timedelta(days=30)


def test_lifecycle_by_hand(tmp_path: Path) -> None:
    members = "member_id,joined_at\nx,2024-01-01\ny,2024-01-01\n"
    activity = (
        "member_id,occurred_at,kind\nx,2024-01-02,post\nx,2024-01-09,post\nx,2024-01-23,post\n"
        "y,2024-01-10,post\ny,2024-01-16,post\n"
    )
    folder = write_csvs(tmp_path, {"members": members, "activity": activity})
    c = load_community(open_source(folder), as_of=datetime(2024, 1, 24, tzinfo=UTC))
    weeks = lifecycle(c)
    got = weeks.select("week", "new", "returning", "resurrected", "dormant", "active").rows()
    assert got == [
        (date(2024, 1, 1), 1, 0, 0, 0, 1),
        (date(2024, 1, 8), 1, 1, 0, 0, 2),
        (date(2024, 1, 15), 0, 1, 0, 1, 1),
        (date(2024, 1, 22), 0, 0, 1, 1, 1),
    ]
    assert weeks["complete"].to_list() == [True, True, True, False]
    assert weeks["active_28d"].to_list() == [1, 2, 2, 2]
    # the as-of week has 2 days (Monday, Tuesday) in the data
    assert weeks["stickiness"].to_list() == pytest.approx([1 / 7, 2 / 7 / 2, 1 / 7 / 2, 1 / 2 / 2])


def test_landmark_groups_and_exclusions(tmp_path: Path) -> None:
    # day 30 of a member who joined on 2024-01-01 is 2024-01-31; the week before it starts on
    # 2024-01-24
    members = (
        "member_id,joined_at,left_at\n"
        "early,2024-01-01,\n"  # exposed on day 10: exposed group
        "late,2024-01-01,\n"  # exposed on day 40: not exposed within 30 days
        "never,2024-01-01,\n"  # not exposed
        "unseen,2024-01-01,\n"  # active on day 26, never again: had left before day 30
        "gone,2024-01-01,\n"  # churned on day 5: left out
        "quiet,2024-01-01,\n"  # quiet in the week before day 30, active later: left out
        "departed,2024-01-01,2024-01-28\n"  # active on day 26, departed on day 27: left out
        "new,2024-04-20,\n"  # joined under 30 days before the as-of time: left out
        "before,2023-11-01,\n"  # day 30 came before the item was published: left out
    )
    activity = (
        "member_id,occurred_at,kind\n"
        "early,2024-01-25,post\nearly,2024-04-30,post\n"
        "late,2024-01-29,post\nlate,2024-04-30,post\n"
        "never,2024-01-30,post\nnever,2024-02-15,post\n"
        "unseen,2024-01-27,post\n"
        "gone,2024-01-05,post\n"
        "quiet,2024-01-10,post\nquiet,2024-04-30,post\n"
        "departed,2024-01-27,post\n"
        "new,2024-04-30,post\n"
        "before,2023-11-28,post\nbefore,2024-04-30,post\n"
    )
    items = "item_id,kind,title,published_at\nt1,testimonial,Love it,2023-12-15\n"
    exposures = "member_id,item_id,occurred_at\nearly,t1,2024-01-11\nlate,t1,2024-02-10\n"
    folder = write_csvs(
        tmp_path,
        {"members": members, "activity": activity, "proof_items": items, "exposures": exposures},
    )
    c = load_community(open_source(folder), as_of=datetime(2024, 5, 1, tzinfo=UTC))
    lm = exposure_landmark_table(c, "t1")
    groups = dict(lm.table.select("member_id", "group").iter_rows())
    # who is present is decided from what was known at day 30: "quiet" comes back later (a
    # later sign of life does not make a member present), "unseen" never does (it is in)
    assert groups == {
        "early": "exposed in the first 30 days",
        "late": "not exposed in the first 30 days",
        "never": "not exposed in the first 30 days",
        "unseen": "not exposed in the first 30 days",
    }
    assert lm.joined_too_recently == 1
    assert lm.not_present_at_landmark == 3  # gone, quiet, departed
    assert lm.item_not_yet_published == 1
    tenure = dict(lm.table.select("member_id", "tenure_days").iter_rows())
    assert tenure["early"] == pytest.approx((datetime(2024, 5, 1) - datetime(2024, 1, 1)).days - 30)
    never = lm.table.filter(pl.col("member_id") == "never").row(0, named=True)
    assert never["churned"] == 1  # quiet since Feb 15
    assert never["tenure_days"] == pytest.approx(45 - 30)
    # left, unseen, on day 26 (its last sign of life): churned on day 30, not before it
    unseen = lm.table.filter(pl.col("member_id") == "unseen").row(0, named=True)
    assert (unseen["churned"], unseen["tenure_days"]) == (1, 0)
    explanation = lm.explanation()
    assert "Only members active in the week before day 30 of membership" in explanation
    assert "3 not active in the week before day 30 or departed before it" in explanation
    # with the 21 days before day 30, "quiet"'s activity on day 9 (2024-01-10) counts: it is in
    wider = exposure_landmark_table(c, "t1", recency_days=21)
    assert "quiet" in dict(wider.table.select("member_id", "group").iter_rows())
    with pytest.raises(ValueError, match="Unknown proof item"):
        exposure_landmark_table(c, "nope")


def test_survival_table_has_cohort_quarters_and_attributes(small_folder: Path) -> None:
    c = load_community(open_source(small_folder))
    table = survival_table(c)
    assert table.height == 60
    assert set(table["cohort"]) == {"2024 Q1"}
    assert "channel" in table.columns
    assert set(table["churned"]) <= {0, 1}


def test_matrix_on_the_demo_community(demo_folder: Path) -> None:
    c = load_community(open_source(demo_folder))
    m = cohort_matrix(c, period="month")
    # against an independent per-member computation for one cohort and period
    cohort, k = date(2025, 3, 1), 2
    joined = c.members.filter(pl.col("joined_at").dt.truncate("1mo").dt.date() == cohort)
    start = pl.col("joined_at") + timedelta(days=30 * k)
    window = (pl.col("occurred_at") >= start) & (pl.col("occurred_at") < start + timedelta(days=30))
    active = (
        c.activity.join(joined.select("member_id", "joined_at"), on="member_id")
        .filter(window)["member_id"]
        .n_unique()
    )
    assert _share(m.cells, cohort, k) == pytest.approx(active / joined.height)
    # every complete cell lies in [0, 1]; retention falls from period 0 to period 6 on average
    shares = m.cells.filter(pl.col("complete"))["share"]
    assert shares.min() >= 0.0
    assert shares.max() <= 1.0
    assert m.average["share"][0] > m.average["share"][6]
    # incompleteness runs along the anti-diagonal: later cohorts have fewer complete periods
    complete = m.cohorts()["complete_periods"].to_list()
    assert complete == sorted(complete, reverse=True)
