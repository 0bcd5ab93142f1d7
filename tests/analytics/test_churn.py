"""The churn definition, checked against a by-hand reading of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from analytics.churn import churn_definition, churn_table

TS = pl.Datetime("us", "UTC")
D0 = datetime(2024, 1, 1, tzinfo=UTC)
AS_OF = D0 + timedelta(days=100)


def _members(rows: list[tuple[str, int, int | None, int | None]]) -> pl.DataFrame:
    day = lambda n: None if n is None else D0 + timedelta(days=n)  # noqa: E731
    return pl.DataFrame(
        [
            {"member_id": m, "joined_at": day(j), "left_at": day(left), "last_seen_at": day(seen)}
            for m, j, left, seen in rows
        ],
        schema={"member_id": pl.String, "joined_at": TS, "left_at": TS, "last_seen_at": TS},
    )


def _activity(rows: list[tuple[str, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"member_id": m, "occurred_at": D0 + timedelta(days=d), "kind": "post"} for m, d in rows],
        schema={"member_id": pl.String, "occurred_at": TS, "kind": pl.String},
    )


def test_each_rule_of_the_definition() -> None:
    members = _members(
        [
            ("quiet_long", 0, None, None),  # last activity day 50: 50 quiet days -> silent
            ("quiet_short", 0, None, None),  # last activity day 80: 20 quiet days -> censored
            ("left", 0, 60, None),  # explicit on day 60, active until day 40 -> churn day 40
            ("left_recent", 0, 95, None),  # explicit, but only 6 quiet days: not known yet
            ("seen_later", 0, None, 90),  # activity day 30 but seen day 90 -> censored
            ("never_active", 10, None, None),  # joined day 10, no sign since -> silent at 10
        ]
    )
    activity = _activity(
        [("quiet_long", 50), ("quiet_short", 80), ("left", 40), ("left_recent", 94),
         ("seen_later", 30)]
    )  # fmt: skip
    table = churn_table(members, activity, as_of=AS_OF, inactive_days=30)
    got = {r["member_id"]: (r["churned_at"], r["churn_kind"]) for r in table.iter_rows(named=True)}
    day = lambda n: D0 + timedelta(days=n)  # noqa: E731
    assert got == {
        "quiet_long": (day(50), "silent"),
        "quiet_short": (None, None),
        "left": (day(40), "explicit"),
        "left_recent": (None, None),
        "seen_later": (None, None),
        "never_active": (day(10), "silent"),
    }
    tenure = dict(zip(table["member_id"], table["tenure_days"], strict=True))
    assert tenure["left_recent"] == pytest.approx(100.0)
    assert tenure["quiet_long"] == pytest.approx(50.0)
    assert tenure["quiet_short"] == pytest.approx(100.0)  # censored at the as-of time
    assert tenure["never_active"] == pytest.approx(0.0)


def test_inactive_days_moves_the_line() -> None:
    members = _members([("a", 0, None, None)])
    activity = _activity([("a", 80)])
    assert (
        churn_table(members, activity, as_of=AS_OF, inactive_days=20)["churn_kind"][0] == "silent"
    )
    assert churn_table(members, activity, as_of=AS_OF, inactive_days=21)["churn_kind"][0] is None


def test_invalid_inactive_days_and_plain_definition() -> None:
    with pytest.raises(ValueError, match="at least 1 day"):
        churn_table(_members([]), _activity([]), as_of=AS_OF, inactive_days=0)
    assert "45 days" in churn_definition(45)


def test_explicit_departure_before_last_activity_churns_at_departure() -> None:
    members = _members([("a", 0, 20, None)])
    activity = _activity([("a", 25)])  # a trace after leaving: the earlier date wins
    row = churn_table(members, activity, as_of=AS_OF).row(0, named=True)
    assert row["churned_at"] == D0 + timedelta(days=20)
    assert row["churn_kind"] == "explicit"
