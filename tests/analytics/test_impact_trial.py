"""Sequential trial emulation (analytics/impact/trial.py): on member-days simulated with a known
effect, the pooled estimate recovers it within its interval, and the interval is cluster-robust
(wider than the naive one) when members take part in many trials; the landmark and trial views
compared in words."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from analytics.community import load_community
from analytics.impact import ImpactSettings
from analytics.impact.item import _first_exposures
from analytics.impact.trial import (
    TRIAL_COVARIATES,
    MemberDayOutcome,
    TrialDays,
    _by_member_and_day,
    _without_departed,
    arm_rows,
    trial_arms,
    trial_days,
    trial_effect,
    views_compared,
)
from analytics.io import open_source
from tests.conftest import write_csvs

EFFECT = 0.10
DAY0 = 20_000  # a calendar day number (2024-10-04)


def _simulated(seed: int, members: int = 4_000, days: int = 25) -> TrialDays:
    """Members active every day for ``days`` days; a latent engagement ``u`` (observed as a
    covariate) raises both the daily chance of first exposure and retention. Retention is one
    uniform draw per member, shared by all their member-days (strongly clustered outcomes): not
    exposed, retained when U < p(u); exposed on the trial day, when U < p(u) + EFFECT."""
    rng = np.random.default_rng(seed)
    u = rng.normal(size=members)
    base = 0.2 + 0.6 / (1 + np.exp(-u))
    draw = rng.random(members)
    daily = 1 / (1 + np.exp(-(-3.2 + 0.8 * u)))
    # first exposure day: geometric with the member's daily chance (never within the window
    # for many)
    first = rng.geometric(daily) - 1
    member = np.repeat(np.arange(members), days)
    day = np.tile(np.arange(days), members)
    exposed_today = first[member] == day
    retained = np.where(
        exposed_today, draw[member] < base[member] + EFFECT, draw[member] < base[member]
    ).astype(np.int8)
    seen = np.flatnonzero(first < days)
    return TrialDays(
        member_ids=[f"m{i:05d}" for i in range(members)],
        member=member.astype(np.int32),
        day=(DAY0 + day).astype(np.int32),
        history=day[:, None].astype(np.int32),  # the covariate log(1 + day)
        member_x=u[:, None],  # and the member's engagement, fixed
        names=("log_day", "u"),
        retained=retained,
        # every first exposure comes with the member's first activity of the day (time zero)
        first_days=pl.DataFrame(
            {
                "i": seen.astype(np.int64),
                "item_id": "p1",
                "first_day": DAY0 + first[seen],
                "first_us": (DAY0 + first[seen]) * 86_400_000_000,
                "at_time_zero": True,
            }
        ),
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_trials_recover_a_planted_effect_with_a_cluster_robust_interval(seed: int) -> None:
    days = _simulated(seed)
    settings = ImpactSettings(trial_max_rows=1_000_000, trial_controls_per_exposed=1_000)
    result = trial_effect(days, ["p1"], None, settings, "p1")
    assert result.effect is not None, result.reason
    assert result.ci_low is not None
    assert result.ci_high is not None
    assert result.ci_low <= EFFECT <= result.ci_high
    assert result.effect == pytest.approx(EFFECT, abs=0.05)
    # members are controls on many days with the same outcome: the per-member interval is
    # honest about it, the member-days-independent one would be too narrow
    assert result.se is not None
    assert result.naive_se is not None
    assert result.se > 1.05 * result.naive_se
    assert result.n_trials == len(np.unique(days.day[days.day < DAY0 + 25]))


def test_sampling_controls_is_seeded_and_weighted_back() -> None:
    days = _simulated(4)
    sampled = ImpactSettings(trial_controls_per_exposed=5, trial_max_rows=40_000)
    a = trial_effect(days, ["p1"], None, sampled, "p1")
    b = trial_effect(days, ["p1"], None, sampled, "p1")
    assert a == b  # deterministic
    assert a.effect is not None
    assert a.ci_low is not None
    assert a.ci_high is not None
    assert a.ci_low <= EFFECT <= a.ci_high


def test_published_later_and_too_few_exposed_say_why() -> None:
    days = _simulated(5, members=300, days=5)
    settings = ImpactSettings(min_group_size=200)
    result = trial_effect(days, ["p1"], None, settings, "p1")
    assert result.effect is None
    assert "too few members newly exposed" in result.reason
    assert trial_effect(None, ["p1"], None, settings, "p1").reason.startswith("no trial")


def test_views_compared_in_words() -> None:
    assert views_compared((0.05, 0.01, 0.09), (0.04, 0.005, 0.08), 30) == "the views agree"
    assert "disagree in direction" in views_compared((0.05, 0.01, 0.09), (-0.05, -0.09, -0.01), 30)
    assert "the views differ" in views_compared((0.10, 0.08, 0.12), (0.02, 0.01, 0.03), 30)
    assert "only one view is clear of chance" in views_compared(
        (0.05, 0.01, 0.09), (0.03, -0.01, 0.07), 30
    )
    assert views_compared((None, None, None), (0.03, -0.01, 0.07), 30) == ""


def test_trial_days_history_counted_by_hand(tmp_path: Path) -> None:
    """The covariates of each member-day, from a community small enough to count by hand:
    activity before the day (all and in the 27 days before), active days before, days since the
    previous active day (or joining), tenure, other proof seen before the day; a member who left
    has no member-days after leaving."""
    folder = write_csvs(
        tmp_path / "tiny",
        {
            "members": (
                "member_id,joined_at,left_at,channel\n"
                "a,2024-01-01,,ads\nb,2024-01-01,2024-01-20,organic\nz,2024-01-01,,ads\n"
            ),
            "activity": (
                "member_id,occurred_at,kind\n"
                "a,2024-01-02T10:00:00Z,post\na,2024-01-02T11:00:00Z,post\n"
                "a,2024-01-10T10:00:00Z,post\na,2024-02-20T10:00:00Z,post\n"
                "b,2024-01-03T10:00:00Z,post\nb,2024-01-25T10:00:00Z,post\n"
                "z,2024-12-31T10:00:00Z,post\n"
            ),
            "proof_items": "item_id,kind,title,published_at\np1,testimonial,One,2024-01-01\n",
            "exposures": "member_id,item_id,occurred_at\na,p1,2024-01-05T10:00:00Z\n",
        },
    )
    community = load_community(open_source(folder))
    settings = ImpactSettings()
    days = trial_days(community, settings, _first_exposures(community))
    assert days is not None
    assert days.names[:7] == TRIAL_COVARIATES
    rows = {
        (days.member_ids[m], int(d)): tuple(int(v) for v in h)
        for m, d, h in zip(days.member, days.day, days.history_matrix(), strict=True)
    }

    def day(text: str) -> int:
        return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()) // 86_400

    # (before, in the 27 days before, active days before, days since active, tenure, seen)
    assert rows[("a", day("2024-01-02"))] == (0, 0, 0, 1, 1, 0)
    assert rows[("a", day("2024-01-10"))] == (2, 2, 1, 8, 9, 1)
    assert rows[("a", day("2024-02-20"))] == (3, 0, 2, 41, 50, 1)
    assert rows[("b", day("2024-01-03"))] == (0, 0, 0, 2, 2, 0)
    assert ("b", day("2024-01-25")) not in rows  # after b left
    assert not any(m == "z" for m, _ in rows)  # z's day is too late for a decidable outcome
    # rows asked for in any order get the same history as the whole matrix has for them
    picked = np.array([2, 0, 1])
    assert np.array_equal(days.history[picked], days.history_matrix()[picked])
    x = days.features(np.arange(len(days.day)))
    assert x.shape == (len(days.day), len(days.names))
    assert np.allclose(x[:, :6], np.log1p(days.history_matrix()))


@pytest.mark.parametrize("busiest", [5, 70_000])
@pytest.mark.parametrize("arrival", ["shuffled", "by member only", "sorted"])
@pytest.mark.parametrize("dense", [False, True])
def test_member_days_sorted_by_member_then_day(busiest: int, arrival: str, dense: bool) -> None:
    """The member-days come back as keys (position * 2**32 + day), counts and first
    activities sorted by member, then day: whether they fit the packed one-column sort (counts
    below 2**16) or not (a member-day of 70,000 rows, as a bot might make, takes the frame
    sort), arrive shuffled,
    by member only or sorted (as the folder query returns them), with keys that are the
    positions (every member) or not (some members filtered out)."""
    rng = np.random.default_rng(7)
    # member keys; positions by key order
    keys = np.array([3, 1, 2, 0] if dense else [30, 10, 20, 40], dtype=np.int64)
    member_key = rng.choice(keys, size=200)
    day = rng.integers(DAY0, DAY0 + 400, size=200)
    pairs = np.unique(np.stack([member_key, day], axis=1), axis=0)  # sorted by key, then day
    order = rng.permutation(len(pairs)) if arrival != "sorted" else np.arange(len(pairs))
    if arrival == "by member only":  # each member's days in no order
        order = order[np.argsort(pairs[order, 0], kind="stable")]
    n = rng.integers(1, 9, size=len(pairs))
    n[3] = busiest
    first_us = pairs[:, 1] * 86_400_000_000 + rng.integers(0, 86_400_000_000, size=len(pairs))
    found = pl.DataFrame(
        {
            "member_key": pairs[order, 0],
            "day": pairs[order, 1],
            "n": n[order],
            "first_us": first_us[order],
        }
    )
    keyed = pl.DataFrame({"member_key": np.sort(keys)}).with_row_index("_pos")
    key, counts, firsts = _by_member_and_day(found, keyed)
    member, days = key >> 32, key & 0xFFFFFFFF
    expected = pl.DataFrame(
        {
            "member": np.searchsorted(np.sort(keys), pairs[:, 0]),
            "day": pairs[:, 1],
            "n": n,
            "first_us": first_us,
        }
    ).sort("member", "day")
    assert member.tolist() == expected["member"].to_list()
    assert days.tolist() == expected["day"].to_list()
    assert counts.tolist() == expected["n"].to_list()
    assert firsts.tolist() == expected["first_us"].to_list()
    assert busiest in counts.tolist()


@pytest.mark.parametrize("seed", range(4))
def test_departed_days_and_outcomes_as_defined(seed: int) -> None:
    """Member-days after a member's explicit departure are dropped exactly as the definition
    says (kept while ``day * DAY_US <= left_us``: the day of leaving stays, a departure at
    midnight keeps that day), only those; and the outcomes computed for the rows asked for
    equal the definition (churned at or after the start of day + horizon)."""
    day_us = 86_400_000_000
    rng = np.random.default_rng(seed)
    members = 60
    pairs = np.unique(
        np.stack([rng.integers(0, members, 900), rng.integers(DAY0, DAY0 + 60, 900)], axis=1),
        axis=0,
    )
    key = (pairs[:, 0] << 32) | pairs[:, 1]
    n = rng.integers(1, 5, len(key))
    first_us = pairs[:, 1] * day_us + rng.integers(0, day_us, len(key))
    never = np.iinfo(np.int64).max
    left_day = rng.integers(DAY0 - 2, DAY0 + 62, members)
    # some leave at midnight, some during the day, most never
    left_us = left_day * day_us + np.where(rng.random(members) < 0.5, 0, rng.integers(1, day_us))
    left_us = np.where(rng.random(members) < 0.4, left_us, never)
    kept_key, kept_n, kept_first = _without_departed(key, n, first_us, left_us)
    alive = left_us[pairs[:, 0]] >= pairs[:, 1] * day_us
    assert not alive.all()  # the case is exercised
    assert kept_key.tolist() == key[alive].tolist()
    assert kept_n.tolist() == n[alive].tolist()
    assert kept_first.tolist() == first_us[alive].tolist()
    nobody = np.full(members, never)
    assert _without_departed(key, n, first_us, nobody)[0] is key  # nothing copied

    churned_us = np.where(rng.random(members) < 0.5, left_us, never)
    member, day = (pairs[:, 0]).astype(np.int32), pairs[:, 1].astype(np.int32)
    outcome = MemberDayOutcome(member, day, churned_us, horizon_days=30)
    rows = rng.permutation(len(key))[:200]
    expected = churned_us[member[rows]] >= day[rows].astype(np.int64) * day_us + 30 * day_us
    assert outcome[rows].tolist() == expected.astype(np.int8).tolist()


def test_activity_in_the_27_days_before_has_sharp_edges(tmp_path: Path) -> None:
    """Activity 27 days before a day counts towards its last-27-days covariate, 28 days before
    does not, and nothing of another member ever does."""
    folder = write_csvs(
        tmp_path / "edges",
        {
            "members": "member_id,joined_at\na,2024-01-01\nb,2024-01-01\nz,2024-01-01\n",
            "activity": (
                "member_id,occurred_at,kind\n"
                "a,2024-01-03T10:00:00Z,post\na,2024-01-04T09:00:00Z,post\n"
                "a,2024-01-04T10:00:00Z,post\na,2024-01-31T10:00:00Z,post\n"
                "b,2024-01-30T10:00:00Z,post\nb,2024-01-31T10:00:00Z,post\n"
                "z,2024-12-31T10:00:00Z,post\n"
            ),
            "proof_items": "item_id,kind,title,published_at\np1,testimonial,One,2024-01-01\n",
            "exposures": "member_id,item_id,occurred_at\nz,p1,2024-12-31T10:00:00Z\n",
        },
    )
    community = load_community(open_source(folder))
    days = trial_days(community, ImpactSettings(), _first_exposures(community))
    assert days is not None
    rows = {
        (days.member_ids[m], int(d)): int(h[1])
        for m, d, h in zip(days.member, days.day, days.history_matrix(), strict=True)
    }
    jan31 = int(datetime(2024, 1, 31, tzinfo=UTC).timestamp()) // 86_400
    # a: Jan 4 (27 days before Jan 31, two rows) counts, Jan 3 (28 days before) does not
    assert rows[("a", jan31)] == 2
    # b: only its own Jan 30, not a's rows
    assert rows[("b", jan31)] == 1
    assert rows[("b", jan31 - 1)] == 0


def test_newly_exposed_at_time_zero_the_days_first_activity(tmp_path: Path) -> None:
    """A trial starts at each member's first activity of the day: a member whose first
    exposure comes at or before it is newly exposed; one who meets the item later that day is
    a control of that day (and not eligible afterwards). With a grace period above one day,
    any exposure before the start of day + grace counts, as before."""
    folder = write_csvs(
        tmp_path / "time_zero",
        {
            "members": (
                "member_id,joined_at\na,2024-01-01\nb,2024-01-01\nc,2024-01-01\nz,2024-01-01\n"
            ),
            "activity": (
                "member_id,occurred_at,kind\n"
                # a: active at 09:00, meets the item at 10:00 (its own activity row too)
                "a,2024-01-10T09:00:00Z,post\na,2024-01-10T10:00:00Z,login\n"
                # b: the view at 08:00 is the day's first activity, more at 12:00
                "b,2024-01-10T08:00:00Z,login\nb,2024-01-10T12:00:00Z,post\n"
                # c: the view is the day's only activity
                "c,2024-01-10T09:30:00Z,login\n"
                "z,2024-12-31T10:00:00Z,post\n"
            ),
            "proof_items": "item_id,kind,title,published_at\np1,testimonial,One,2024-01-01\n",
            "exposures": (
                "member_id,item_id,occurred_at\n"
                "a,p1,2024-01-10T10:00:00Z\nb,p1,2024-01-10T08:00:00Z\nc,p1,2024-01-10T09:30:00Z\n"
            ),
        },
    )
    community = load_community(open_source(folder))
    settings = ImpactSettings()
    days = trial_days(community, settings, _first_exposures(community))
    assert days is not None
    at_zero = {
        days.member_ids[i]: flag
        for i, flag in days.first_days.select("i", "at_time_zero").iter_rows()
    }
    assert at_zero == {"a": False, "b": True, "c": True}
    jan10 = int(datetime(2024, 1, 10, tzinfo=UTC).timestamp()) // 86_400

    def arms(grace: int) -> dict[str, tuple[bool, bool]]:
        eligible, treated = trial_arms(days, ["p1"], None, ImpactSettings(trial_grace_days=grace))
        return {
            days.member_ids[m]: (bool(e), bool(t))
            for m, d, e, t in zip(days.member, days.day, eligible, treated, strict=True)
            if d == jan10
        }

    assert arms(1) == {"a": (True, False), "b": (True, True), "c": (True, True)}
    assert arms(2) == {"a": (True, True), "b": (True, True), "c": (True, True)}


def test_calendar_periods_are_covariates() -> None:
    """With ``period_days`` the covariates end with one indicator per calendar period after the
    first; without, there are none."""
    days = _simulated(6, members=50, days=25)
    plain = days.features(np.arange(len(days.day)))
    with_periods = replace(days, period_days=7).features(np.arange(len(days.day)))
    assert with_periods.shape[1] == plain.shape[1] + 3  # 25 days: periods 0..3
    period = (days.day - days.day.min()) // 7
    assert np.array_equal(with_periods[:, plain.shape[1] :], period[:, None] == np.arange(1, 4))


def _arms_by_definition(
    days: TrialDays, item_ids: list[str], published_day: int | None, grace: int
) -> tuple[np.ndarray, np.ndarray]:
    """The arms as the module docstring defines them, row by row (the reference)."""
    exposed = days.first_days.filter(pl.col("item_id").is_in(item_ids)).sort("first_us")
    first_day = np.full(len(days.member_ids), np.iinfo(np.int64).max)
    at_zero = np.zeros(len(days.member_ids), dtype=bool)
    for i, day, flag in exposed.select("i", "first_day", "at_time_zero").iter_rows():
        if day < first_day[i]:  # the earliest first exposure of the items decides
            first_day[i], at_zero[i] = day, flag
    eligible, treated = [], []
    for m, d in zip(days.member.tolist(), days.day.tolist(), strict=True):
        ok = first_day[m] >= d and (published_day is None or d >= published_day)
        eligible.append(ok)
        if grace > 1:
            treated.append(ok and first_day[m] < d + grace)
        else:
            treated.append(ok and first_day[m] == d and bool(at_zero[m]))
    return np.array(eligible, dtype=bool), np.array(treated, dtype=bool)


@pytest.mark.parametrize("seed", range(6))
def test_arm_rows_are_the_defined_arms_and_sample_as_the_list_would(seed: int) -> None:
    """The arms found per member (a range of rows each) are the member-days the definition
    picks, row by row: members without active days, exposed before their first active day or
    after their last, on a day without activity, to two items on one day; published before,
    during and after the members' days; with and without a grace period. Sampling the controls
    by position draws the rows that sampling their full list draws."""
    rng = np.random.default_rng(seed)
    members = 60
    counts = rng.integers(0, 12, members)  # some members have no active day
    member = np.repeat(np.arange(members), counts)
    day = np.concatenate([np.sort(rng.choice(40, c, replace=False)) for c in counts]) + DAY0
    exposures = []
    for item in ("p1", "p2"):
        for i in rng.choice(members, members // 2, replace=False):
            first = DAY0 + int(rng.integers(-3, 44))
            at_zero = bool(rng.random() < 0.7)
            exposures.append((int(i), item, first, first * 86_400_000_000, at_zero))
    first_days = pl.DataFrame(
        exposures, schema=["i", "item_id", "first_day", "first_us", "at_time_zero"], orient="row"
    )
    days = TrialDays(
        member_ids=[f"m{i:03d}" for i in range(members)],
        member=member.astype(np.int32),
        day=day.astype(np.int32),
        history=np.zeros((len(member), 1), dtype=np.int32),
        member_x=np.zeros((members, 1)),
        names=("h", "x"),
        retained=np.ones(len(member), dtype=np.int8),
        first_days=first_days,
    ).prepare()
    for items in (["p1"], ["p2"], ["p1", "p2"], ["p3"]):
        for published in (None, DAY0 - 5, DAY0 + 20, DAY0 + 60):
            at = None if published is None else datetime.fromtimestamp(published * 86_400, UTC)
            for grace in (1, 3):
                eligible, treated = _arms_by_definition(days, items, published, grace)
                arms = arm_rows(days, items, at, ImpactSettings(trial_grace_days=grace))
                assert arms.treated.tolist() == np.flatnonzero(treated).tolist()
                controls = np.flatnonzero(eligible & ~treated)
                assert arms.controls().tolist() == controls.tolist()
                assert arms.n_controls == len(controls)
                if len(controls) > 3:
                    take = len(controls) // 2
                    drawn = np.random.default_rng(seed).choice(controls, take, replace=False)
                    again = np.random.default_rng(seed)
                    positions = again.choice(len(controls), take, replace=False)
                    assert arms.controls(positions).tolist() == drawn.tolist()
    masks = trial_arms(days, ["p1"], None, ImpactSettings())
    reference = _arms_by_definition(days, ["p1"], None, 1)
    assert all(np.array_equal(a, b) for a, b in zip(masks, reference, strict=True))
