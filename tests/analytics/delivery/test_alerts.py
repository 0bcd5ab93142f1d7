"""Alerts: verdict changes, figures outside the range of the weeks before, and when they stay
quiet; the schedule of dashboard subscriptions."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from analytics.community import load_community
from analytics.delivery.alerts import range_alerts, verdict_changes
from analytics.delivery.schedule import due_at, last_complete_week
from analytics.impact import estimate_effects
from analytics.io import open_source
from analytics.vocabulary import quoted
from analytics.weekly import impact_settings

MONDAY = date(2024, 3, 4)  # the reviewed week: 11 weeks after the first signup


def _community(folder: Path, last_week_signups: int):  # type: ignore[no-untyped-def]
    """7 signups a week for ten weeks from 2023-12-25, then ``last_week_signups`` in the week of
    MONDAY; every member active the day they join and a day before the as-of time."""
    start = datetime(2023, 12, 25, tzinfo=UTC)
    joined = [start + timedelta(days=d, hours=9) for d in range(70)]
    joined += [
        datetime.combine(MONDAY, datetime.min.time(), tzinfo=UTC) + timedelta(hours=3 * k)
        for k in range(last_week_signups)
    ]
    as_of = datetime.combine(MONDAY + timedelta(days=7), datetime.min.time(), tzinfo=UTC)
    ids = [f"m{i:03d}" for i in range(len(joined))]
    folder.mkdir()
    ts = pl.Datetime("us", "UTC")
    pl.DataFrame({"member_id": ids, "joined_at": joined}, schema={"member_id": pl.String,
                  "joined_at": ts}).write_parquet(folder / "members.parquet")  # fmt: skip
    activity = pl.DataFrame(
        {
            "member_id": ids + ids,
            "occurred_at": [j + timedelta(hours=1) for j in joined]
            + [as_of - timedelta(days=1)] * len(ids),
            "kind": ["post"] * (2 * len(ids)),
        },
        schema={"member_id": pl.String, "occurred_at": ts, "kind": pl.String},
    )
    activity.write_parquet(folder / "activity.parquet")
    return load_community(open_source(folder), as_of=as_of)


@pytest.mark.parametrize(("signups", "side"), [(20, "above"), (2, "below"), (7, None)])
def test_new_members_outside_the_range_of_the_eight_weeks_before(
    tmp_path: Path, signups: int, side: str | None
) -> None:
    community = _community(tmp_path / "c", signups)
    alerts = [a for a in range_alerts(community, MONDAY, inactive_days=30) if a.kind == "kpi_range"]
    new = [a for a in alerts if a.key.startswith("new_members:")]
    if side is None:
        assert new == []
        return
    [alert] = new
    assert alert.key == "new_members:2024-W10"
    assert f"{signups} members joined in 2024-W10, {side} the range of the 8 weeks before" in (
        alert.text
    )
    assert "(7 to 7 per week)" in alert.text


def test_a_verdict_change_is_one_alert_with_both_verdicts(demo_folder: Path) -> None:
    community = load_community(open_source(demo_folder))
    after = estimate_effects(community, impact_settings(), sensitivity=False)
    target = next(e for e in after.items if e.verdict == "no_evidence")
    before = dataclasses.replace(
        after,
        items=tuple(
            dataclasses.replace(e, verdict="hurts") if e.item_id == target.item_id else e
            for e in after.items
        ),
    )
    week_ago = community.as_of - timedelta(days=7)
    [alert] = verdict_changes(
        before, after, week="2026-W43", before_as_of=week_ago, after_as_of=community.as_of
    )
    assert alert.key == f"verdict:{target.item_id}:2026-W43:hurts->no_evidence"
    assert alert.title == f"{quoted(target.title)} now: no evidence (was hurts)"
    assert target.sentence(after.settings) in alert.text
    # the alert names the error control the verdicts used (Holm per item by default)
    assert "Holm-adjusted p ≤ 0.05" in alert.text
    assert "q ≤" not in alert.text
    assert (
        verdict_changes(
            after, after, week="2026-W43", before_as_of=week_ago, after_as_of=community.as_of
        )
        == []
    )


def test_last_complete_week_and_due_times() -> None:
    sunday_night = datetime(2026, 11, 29, 23, 59, tzinfo=UTC)
    monday = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    assert last_complete_week(sunday_night) == date(2026, 11, 16)
    assert last_complete_week(monday) == date(2026, 11, 23)
    week = date(2026, 11, 23)
    # Monday 08:00 in Berlin (UTC+1 in winter) is 07:00 UTC right after the week
    assert due_at(week, weekday="monday", hour=8, timezone="Europe/Berlin") == datetime(
        2026, 11, 30, 7, tzinfo=UTC
    )
    # Sunday 20:00 in New York is already Monday 01:00 UTC, after the week ended
    assert due_at(week, weekday="sunday", hour=20, timezone="America/New_York") == datetime(
        2026, 11, 30, 1, tzinfo=UTC
    )
    # Sunday 23:00 in Tokyo is Sunday 14:00 UTC, before the week ended: the next Sunday
    assert due_at(week, weekday="sunday", hour=23, timezone="Asia/Tokyo") == datetime(
        2026, 12, 6, 14, tzinfo=UTC
    )


def test_a_churn_spike_in_the_last_known_week_is_alerted(tmp_path: Path) -> None:
    """One member joins a day from 2024-01-01 and is last active 20 days later; 15 more, who
    joined in April, are last active in 2024-W19, the last week whose churn is known."""
    start = datetime(2024, 1, 1, 9, tzinfo=UTC)
    as_of = datetime(2024, 6, 13, 12, tzinfo=UTC)
    joined = [start + timedelta(days=d) for d in range(164)]
    last = [j + timedelta(days=20) for j in joined]
    spike_join = [datetime(2024, 4, 1, 9, tzinfo=UTC) + timedelta(days=k % 7) for k in range(15)]
    joined += spike_join
    last += [datetime(2024, 5, 7, 9, tzinfo=UTC) + timedelta(hours=k) for k in range(15)]
    ids = [f"m{i:03d}" for i in range(len(joined))]
    ts = pl.Datetime("us", "UTC")
    folder = tmp_path / "churn"
    folder.mkdir()
    pl.DataFrame({"member_id": ids, "joined_at": joined}, schema={"member_id": pl.String,
                  "joined_at": ts}).write_parquet(folder / "members.parquet")  # fmt: skip
    pl.DataFrame(
        {"member_id": ids + ids, "occurred_at": joined + [min(t, as_of) for t in last],
         "kind": ["post"] * (2 * len(ids))},
        schema={"member_id": pl.String, "occurred_at": ts, "kind": pl.String},
    ).write_parquet(folder / "activity.parquet")  # fmt: skip
    community = load_community(open_source(folder), as_of=as_of)
    alerts = range_alerts(community, last_complete_week(as_of), inactive_days=30)
    [churn] = [a for a in alerts if a.key.startswith("churn:")]
    assert churn.key == "churn:2024-W19"
    assert "above the range of the 8 weeks before" in churn.text
    assert "the latest week whose churn is known (after 30 quiet days)" in churn.text
