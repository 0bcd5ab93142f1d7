"""Overview KPIs and growth series on the hand-made community, counted independently."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from analytics.community import Community, load_community
from analytics.growth import milestones_in, signup_series
from analytics.io import open_source
from analytics.known import Knowable, churn_known_from, churn_status, not_known_text, period_status
from analytics.overview import Kpi, kpi_frame, overview_kpis, overview_kpis_of
from analytics.periods import Period
from analytics.stats import wilson_interval
from tests.conftest import T0

# small_community_tables: member i joins on day i, is active every 5 days until day
# (i % 10) * 20 after joining (12:00), and leaves explicitly then when i % 7 == 0.


def _life(i: int) -> int:
    return (i % 10) * 20


@pytest.fixture
def community(small_folder: Path) -> Community:
    return load_community(open_source(small_folder))


def test_as_of_is_the_last_activity(community: Community) -> None:
    last = max(T0 + timedelta(days=i + _life(i), hours=12) for i in range(60))
    assert community.as_of == last


def _expected(period: Period, as_of: datetime, inactive: int = 30) -> dict[str, float]:
    joined = {i: T0 + timedelta(days=i) for i in range(60)}
    last = {i: joined[i] + timedelta(days=_life(i), hours=12) for i in range(60)}
    churn: dict[int, datetime | None] = {}
    for i in range(60):
        if as_of - last[i] >= timedelta(days=inactive):
            churn[i] = last[i]
        else:
            churn[i] = None

    def members_at(t: datetime) -> int:
        return sum(1 for i in range(60) if joined[i] < t and (churn[i] is None or churn[i] >= t))

    def active_at(t: datetime) -> int:
        # the 30 whole UTC days ending with the last complete day before t
        midnight = datetime(t.year, t.month, t.day, tzinfo=UTC)
        window = (midnight - timedelta(days=30), midnight)
        return sum(
            1
            for i in range(60)
            if any(
                window[0] <= joined[i] + timedelta(days=d, hours=12) < window[1]
                for d in range(0, _life(i) + 1, 5)
            )
        )

    def in_period(t: datetime | None, p: Period) -> bool:
        return t is not None and p.start <= t < p.end

    prev = period.previous()
    eligible = [
        i
        for i in range(60)
        if in_period(joined[i] + timedelta(days=90), period)
        and joined[i] + timedelta(days=90) <= as_of
    ]
    retained = [i for i in eligible if last[i] >= joined[i] + timedelta(days=90)]
    return {
        "members": members_at(period.end),
        "members_prev": members_at(prev.end),
        "new": sum(in_period(joined[i], period) for i in range(60)),
        "new_prev": sum(in_period(joined[i], prev) for i in range(60)),
        "active": active_at(period.end),
        "active_prev": active_at(prev.end),
        "churned": sum(in_period(churn[i], period) for i in range(60)),
        "eligible": len(eligible),
        "retained": len(retained),
    }


@pytest.mark.parametrize(
    ("first", "last"),
    [(date(2024, 2, 1), date(2024, 4, 30)), (date(2024, 4, 1), date(2024, 6, 15))],
)
def test_kpis_match_a_hand_count(community: Community, first: date, last: date) -> None:
    period = Period.from_dates(first, last, as_of=community.as_of)
    _assert_hand_count(overview_kpis(community, period), _expected(period, community.as_of))


def _assert_hand_count(found: list[Kpi], want: dict[str, float]) -> None:
    kpis = {k.key: k for k in found}
    assert (kpis["members"].value, kpis["members"].previous) == (
        want["members"],
        want["members_prev"],
    )
    assert (kpis["new_members"].value, kpis["new_members"].previous) == (
        want["new"],
        want["new_prev"],
    )
    assert kpis["active_members"].value == want["active"]
    assert kpis["active_members"].previous == want["active_prev"]
    assert kpis["churned"].value == want["churned"]
    retention = kpis["retention_90d"]
    assert retention.n == want["eligible"]
    if want["eligible"]:
        assert retention.value == pytest.approx(want["retained"] / want["eligible"])
        assert retention.ci == wilson_interval(int(want["retained"]), int(want["eligible"]))
    else:
        assert retention.value is None
        assert retention.ci is None


def test_kpis_of_many_periods_match_a_hand_count_in_one_pass(
    community: Community, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key figures of several periods (overlapping, adjacent, in any order) are each what
    the hand count gives, and their active members come from one pass over the activity."""
    periods = [
        Period.from_dates(date(2024, 4, 1), date(2024, 6, 15), as_of=community.as_of),
        Period.from_dates(date(2024, 2, 1), date(2024, 4, 30), as_of=community.as_of),
        Period.from_dates(date(2024, 3, 1), date(2024, 3, 31), as_of=community.as_of),
    ]
    passes: list[int] = []
    collect = type(community).collect

    def counted(self: Community, *frames: object) -> list[pl.DataFrame]:
        passes.append(len(frames))
        return collect(self, *frames)  # type: ignore[arg-type]

    monkeypatch.setattr(type(community), "collect", counted)
    found = overview_kpis_of(community, periods)
    assert passes == [1]
    for period, kpis in zip(periods, found, strict=True):
        _assert_hand_count(kpis, _expected(period, community.as_of))


def test_kpi_change_and_export_frame(community: Community) -> None:
    period = Period.from_dates(date(2024, 2, 1), date(2024, 2, 29), as_of=community.as_of)
    kpis = overview_kpis(community, period)
    new = next(k for k in kpis if k.key == "new_members")
    assert new.value == 29  # members 31..59 join in February
    assert new.previous == 29  # the 29 days before: January 3..31
    assert new.change == 0
    frame = kpi_frame(kpis)
    assert frame["kpi"].to_list() == [k.label for k in kpis]
    assert frame.filter(frame["kpi"] == "New members")["value"].item() == 29.0


def test_signups_per_day_and_week_with_cumulative(community: Community) -> None:
    period = Period.from_dates(date(2024, 1, 10), date(2024, 1, 31), as_of=community.as_of)
    daily = signup_series(community, period, granularity="day")
    assert daily.height == 22
    assert daily["signups"].to_list() == [1] * 22
    assert daily["cumulative_members"].to_list() == list(range(10, 32))
    weekly = signup_series(community, period, granularity="week")
    assert weekly["period_start"][0] == datetime(2024, 1, 8, tzinfo=UTC)  # Monday
    assert weekly["signups"].to_list() == [5, 7, 7, 3]  # Jan 10-14, 15-21, 22-28, 29-31
    assert weekly["cumulative_members"][-1] == 31
    assert weekly["complete"].to_list() == [False, True, True, False]
    assert daily["complete"].all()


def test_days_without_signups_are_zero(community: Community) -> None:
    period = Period.from_dates(date(2024, 3, 1), date(2024, 3, 10), as_of=community.as_of)
    series = signup_series(community, period, granularity="day")
    assert series["signups"].to_list() == [0] * 10
    assert set(series["cumulative_members"]) == {60}


def test_milestones_in_period(community: Community) -> None:
    period = Period.from_dates(date(2024, 1, 1), date(2024, 1, 31), as_of=community.as_of)
    assert milestones_in(community, period)["title"].to_list() == ["20 members!"]


def test_period_rules() -> None:
    as_of = datetime(2024, 3, 10, 15, tzinfo=UTC)
    period = Period.from_dates(date(2024, 3, 1), date(2024, 3, 31), as_of=as_of)
    assert period.end == as_of + timedelta(microseconds=1)  # cut at the as-of time
    assert period.previous().end == period.start
    assert period.previous().length == period.length
    assert period.label() == "2024-03-01 to 2024-03-10"
    with pytest.raises(ValueError, match="must end after it starts"):
        Period(T0, T0)


def test_wilson_interval_known_values() -> None:
    # Reference values: Wilson (1927) score interval, as in statsmodels' proportion_confint.
    low, high = wilson_interval(81, 263)
    assert (low, high) == pytest.approx((0.2553, 0.3662), abs=5e-4)
    assert wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(0, 3)[0] == 0.0  # exactly, not a rounding residue
    assert wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert all(v != v for v in wilson_interval(0, 0))  # nan when there is nothing to estimate
    with pytest.raises(ValueError, match="between 0 and trials"):
        wilson_interval(11, 10)


def test_churn_of_the_last_quiet_days_is_not_known_yet_never_zero(community: Community) -> None:
    as_of = community.as_of
    last_day = as_of.date()
    period = Period.from_dates(last_day - timedelta(days=29), last_day, as_of=as_of)
    kpis = {k.key: k for k in overview_kpis(community, period, inactive_days=10)}
    churned = kpis["churned"]
    # the period ends at the as-of time: 10 quiet days have not passed since its end
    assert churned.value is None
    assert not churned.known
    assert churned.known_from == (period.end + timedelta(days=10, microseconds=-1)).date()
    assert churned.change is None  # no change drawn against an unknown figure
    assert churned.shown() == f"not known yet (known with data as of {churned.known_from})"
    # the period before ends 29.5 days before the as-of time: known now
    assert churned.previous_known
    assert churned.previous is not None
    # members: counted with those whose churn is not known yet, and the note says how many
    joined = {i: T0 + timedelta(days=i) for i in range(60)}
    last = {i: joined[i] + timedelta(days=_life(i), hours=12) for i in range(60)}
    pending = sum(
        1
        for i in range(60)
        if joined[i] < period.end and as_of - last[i] < timedelta(days=10) and last[i] < period.end
    )
    assert pending > 0
    assert kpis["members"].note == f"includes {pending:,} whose churn is not known yet"
    frame = kpi_frame(list(kpis.values())).filter(pl.col("kpi") == "Churned")
    assert frame["value"].item() is None  # null in exports, never 0
    assert frame["change"].item() is None
    assert frame["known_from"].item() == churned.known_from


def test_known_rule() -> None:
    end = datetime(2024, 2, 12, tzinfo=UTC)
    # an as-of day ends at its last microsecond, as on the dashboard
    day = lambda d: datetime(2024, 3, d, tzinfo=UTC) + timedelta(days=1, microseconds=-1)  # noqa: E731
    assert churn_status(end, as_of=day(11), inactive_days=30) == Knowable(False, date(2024, 3, 12))
    assert churn_status(end, as_of=day(12), inactive_days=30).known
    assert churn_known_from(end, 30) == date(2024, 3, 12)
    assert period_status(end, as_of=datetime(2024, 2, 11, 23, tzinfo=UTC)) == Knowable(
        False, date(2024, 2, 11)
    )
    assert period_status(end, as_of=day(1)).known
    assert not_known_text(date(2024, 3, 12)) == "not known yet (known with data as of 2024-03-12)"


@pytest.mark.parametrize("hour", [0, 9, 23])
@pytest.mark.parametrize("days_back", [0, 45])
def test_monthly_active_is_the_same_number_on_overview_and_engagement(
    demo_folder: Path, hour: int, days_back: int
) -> None:
    """For the same as-of and period, the Overview's "Active (30 days)" equals the Engagement
    page's "Monthly active" tile (the MAU of the period's last complete day). They used to
    differ: the Overview counted the 30 x 24 hours before the as-of moment, the Engagement page
    30 whole days ending with the last complete day."""
    from analytics.engagement import active_members

    full = load_community(open_source(demo_folder))
    day = full.as_of.date() - timedelta(days=days_back + 1)
    as_of = datetime(day.year, day.month, day.day, hour, 17, tzinfo=UTC)
    community = load_community(open_source(demo_folder), as_of=as_of)
    first, last = day - timedelta(days=29), day
    kpis = {k.key: k for k in overview_kpis(community, Period.from_dates(first, last, as_of=as_of))}
    daily = active_members(community, first=first, last=last)
    complete = daily.filter(pl.col("complete")).tail(1).row(0, named=True)  # the page's tile
    assert complete["mau"] > 0
    assert kpis["active_members"].value == complete["mau"]
    # the previous period's figure is the MAU of the day before the period
    before = active_members(community, first=first - timedelta(days=1), last=first)
    assert kpis["active_members"].previous == before["mau"][0]


def test_stickiness_has_one_definition_on_both_pages() -> None:
    from analytics.activity_windows import STICKINESS_DAYS, STICKINESS_LABEL
    from analytics.queries.lifecycle import ROLLING_WEEKS

    assert ROLLING_WEEKS * 7 == STICKINESS_DAYS  # the weekly lifecycle's 28 days
    assert f"{STICKINESS_DAYS}-day" in STICKINESS_LABEL
