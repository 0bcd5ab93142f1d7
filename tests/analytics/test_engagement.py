"""Engagement analyses on small hand-made communities whose answers are known by construction."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from analytics.community import Community, load_community
from analytics.engagement import (
    active_members,
    activity_by_kind,
    badge_holders,
    badge_summary,
    concentration,
    leaderboard,
    pseudonymise,
    pseudonyms,
    rising_members,
    time_to_first_activity,
)
from analytics.io import open_source
from tests.conftest import write_csvs

D0 = date(2024, 1, 1)


def _community(tmp_path: Path, members: list[str], activity: list[str], **extra: str) -> Community:
    tables = {
        "members": "member_id,joined_at,name\n" + "\n".join(members) + "\n",
        "activity": "member_id,occurred_at,kind\n" + "\n".join(activity) + "\n",
        **extra,
    }
    return load_community(open_source(write_csvs(tmp_path / "c", tables)))


def _day(n: int) -> str:
    return (D0 + timedelta(days=n)).isoformat() + "T12:00:00"


def test_daily_weekly_monthly_active_count_each_member_once(tmp_path: Path) -> None:
    # a: active on days 0 and 1; b: day 1; c: day 20
    c = _community(
        tmp_path,
        ["a,2024-01-01,Ann", "b,2024-01-01,Bob", "c,2024-01-01,Cy"],
        [f"a,{_day(0)},post", f"a,{_day(1)},post", f"a,{_day(1)},comment",
         f"b,{_day(1)},post", f"c,{_day(20)},login"],
    )  # fmt: skip
    frame = active_members(c, first=D0, last=D0 + timedelta(days=29))
    row = {r["day"]: r for r in frame.iter_rows(named=True)}
    assert row[D0]["dau"] == 1
    assert row[D0 + timedelta(days=1)]["dau"] == 2
    assert row[D0 + timedelta(days=6)]["wau"] == 2  # days 0..6: a and b
    assert row[D0 + timedelta(days=8)]["wau"] == 0  # days 2..8: nobody
    assert row[D0 + timedelta(days=20)]["mau"] == 3  # days -9..20: all three
    assert row[D0 + timedelta(days=20)]["active_28d"] == 3  # days -7..20: all three
    assert row[D0 + timedelta(days=20)]["stickiness"] == pytest.approx(1 / 3)  # dau / 28-day
    assert row[D0 + timedelta(days=29)]["active_28d"] == 1  # days 2..29: c only
    assert row[D0 + timedelta(days=29)]["mau"] == 3  # days 0..29: all three
    assert row[D0 + timedelta(days=3)]["stickiness"] == 0.0


def test_activity_by_kind_counts_rows_and_members(tmp_path: Path) -> None:
    c = _community(
        tmp_path,
        ["a,2024-01-01,Ann", "b,2024-01-01,Bob"],
        [f"a,{_day(0)},post", f"a,{_day(1)},post", f"b,{_day(1)},post", f"b,{_day(2)},login"],
    )
    frame = activity_by_kind(c, first=D0, last=D0 + timedelta(days=6))
    posts = frame.filter(pl.col("kind") == "post").row(0, named=True)
    assert (posts["rows"], posts["members"]) == (3, 2)
    assert frame.filter(pl.col("kind") == "login")["rows"].to_list() == [1]


def test_top_shares_and_lorenz_curve(tmp_path: Path) -> None:
    # 100 members: 99 with one activity, one with 101 -> 200 rows, top 1 % = 101 / 200
    members = [f"m{i:03d},2024-01-01,N{i}" for i in range(100)]
    activity = [f"m{i:03d},{_day(1)},post" for i in range(100)]
    activity += [f"m000,{_day(2)},post"] * 100
    c = _community(tmp_path, members, activity)
    result = concentration(c, first=D0, last=D0 + timedelta(days=5))
    assert result.active_members == 100
    assert result.activity_rows == 200
    assert result.top_1 == pytest.approx(101 / 200)
    assert result.top_10 == pytest.approx((101 + 9) / 200)
    assert result.lorenz["activity_share"][-1] == pytest.approx(1.0)
    assert result.lorenz["activity_share"][50] == pytest.approx(50 / 200)
    assert 0 < result.gini < 1  # type: ignore[operator]
    equal = concentration(c, first=D0 + timedelta(days=1), last=D0 + timedelta(days=1))
    assert equal.gini == pytest.approx(0.0, abs=1e-9)
    assert equal.top_10 == pytest.approx(0.10)


def test_time_to_first_activity_counts_only_members_followed_long_enough(tmp_path: Path) -> None:
    c = _community(
        tmp_path,
        ["a,2024-01-01,Ann", "b,2024-01-01,Bob", "c,2024-01-01,Cy", "late,2024-03-29,Late",
         "z,2024-01-01,Zed"],
        [f"a,{_day(0)},post", f"b,{_day(3)},post", f"z,{_day(90)},login"],
    )  # fmt: skip
    result = time_to_first_activity(c, first=D0, last=date(2024, 3, 31))
    curve = {r["days"]: r for r in result.curve.iter_rows(named=True)}
    assert result.joined == 5
    assert result.activated == 3
    assert curve[1]["activated"] == pytest.approx(1 / 5)  # a (half a day)
    # as of 2024-03-31 12:00, "late" joined 2.5 days ago: eligible up to day 2 only
    assert curve[2]["eligible"] == 5
    assert curve[3]["eligible"] == 4
    assert curve[3]["activated"] == pytest.approx(1 / 4)  # b waited 3.5 days
    assert curve[4]["activated"] == pytest.approx(2 / 4)  # a and b
    assert result.never_share == pytest.approx(2 / 4)  # c and z (z only on day 90)


def test_leaderboard_ranks_ties_together_and_counts_one_kind(tmp_path: Path) -> None:
    c = _community(
        tmp_path,
        ["a,2024-01-01,Ann", "b,2024-01-01,Bob", "c,2024-01-01,Cy"],
        [f"a,{_day(1)},post", f"a,{_day(2)},post", f"b,{_day(1)},post", f"b,{_day(2)},comment",
         f"c,{_day(1)},comment"],
    )  # fmt: skip
    board = leaderboard(c, first=D0, last=D0 + timedelta(days=5))
    assert board.select("rank", "member_id", "name", "activities").rows() == [
        (1, "a", "Ann", 2), (1, "b", "Bob", 2), (3, "c", "Cy", 1),
    ]  # fmt: skip
    posts = leaderboard(c, first=D0, last=D0 + timedelta(days=5), kind="post", top=1)
    assert posts["member_id"].to_list() == ["a"]


def test_rising_members_compare_with_the_period_before(tmp_path: Path) -> None:
    # period = days 10..19; the period before = days 0..9
    c = _community(
        tmp_path,
        ["a,2024-01-01,Ann", "b,2024-01-01,Bob", "c,2024-01-01,Cy"],
        [*(f"a,{_day(d)},post" for d in (1, 2, 3, 11)),  # 3 -> 1: falling
         *(f"b,{_day(d)},post" for d in (1, 11, 12, 13)),  # 1 -> 3: +2
         *(f"c,{_day(d)},post" for d in (11, 12, 13, 14, 15))],  # 0 -> 5: +5
    )  # fmt: skip
    rising = rising_members(c, first=D0 + timedelta(days=10), last=D0 + timedelta(days=19))
    assert rising.select("member_id", "activities", "previous", "increase").rows() == [
        ("c", 5, 0, 5), ("b", 3, 1, 2),
    ]  # fmt: skip


def test_badge_holders_first_time_earned_per_badge(tmp_path: Path) -> None:
    c = _community(
        tmp_path,
        ["a,2024-01-01,Ann", "b,2024-01-01,Bob"],
        [f"a,{_day(1)},post", f"b,{_day(1)},post"],
        proof_items="item_id,kind,title\nb1,badge,First post\nt1,testimonial,Quote\n",
        exposures=f"member_id,item_id,occurred_at\na,b1,{_day(1)}\na,b1,{_day(3)}\n"
        f"b,b1,{_day(5)}\nb,t1,{_day(2)}\n",
    )
    holders = badge_holders(c)
    assert holders.select("badge", "member_id", "name").rows() == [
        ("First post", "a", "Ann"), ("First post", "b", "Bob"),
    ]  # fmt: skip
    assert str(holders["earned_at"][0].date()) == "2024-01-02"
    assert badge_summary(holders)["holders"].to_list() == [2]
    in_period = badge_holders(c, first=D0 + timedelta(days=4), last=D0 + timedelta(days=9))
    assert in_period["member_id"].to_list() == ["b"]


def test_pseudonyms_are_stable_unique_and_hide_ids_and_names(tmp_path: Path) -> None:
    ids = [f"m{i:03d}" for i in range(200)]
    names = pseudonyms(ids, salt="view-1")
    assert names["pseudonym"].n_unique() == 200
    assert names.equals(pseudonyms(list(reversed(ids)), salt="view-1"))  # stable
    other = pseudonyms(ids, salt="view-2")
    assert not names.sort("member_id")["pseudonym"].equals(other.sort("member_id")["pseudonym"])
    # the numbering does not follow the ids
    by_id = names.sort("member_id")["pseudonym"].to_list()
    assert by_id != sorted(by_id)
    frame = pl.DataFrame({"rank": [1, 2], "member_id": ["m001", "m002"], "name": ["A", "B"]})
    shown = pseudonymise(frame, names, hidden=["name"])
    assert shown.columns == ["rank", "member"]
    assert not set(shown["member"]) & {"m001", "m002"}
    with pytest.raises(ValueError, match="no pseudonym"):
        pseudonymise(pl.DataFrame({"member_id": ["stranger"]}), names)


def test_periods_must_not_end_before_they_start(tmp_path: Path) -> None:
    c = _community(tmp_path, ["a,2024-01-01,Ann"], [f"a,{_day(1)},post"])
    with pytest.raises(ValueError, match="swap the dates"):
        leaderboard(c, first=D0 + timedelta(days=3), last=D0)
