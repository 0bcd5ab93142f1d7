"""Milestone announcements: counterfactual, calibration, verdicts (groundwork for issue 5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from analytics.community import Community, load_community
from analytics.demo import generate_demo
from analytics.io import open_source, write_folder
from analytics.milestones import MilestoneSettings, _poisson_fit, daily_series, estimate_milestones


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Community, dict]:  # type: ignore[type-arg]
    generated = generate_demo(members=100_000, seed=3)
    folder = tmp_path_factory.mktemp("ms")
    write_folder(generated.tables, folder)
    return load_community(open_source(folder)), generated.truth


def test_poisson_fit_recovers_trend_and_weekday(rng: np.random.Generator) -> None:
    t = np.arange(300, dtype=float)
    weekday = (t % 7).astype(np.int64)
    from analytics.milestones import _design

    x = _design(t, weekday)
    beta = np.array([3.0, 0.2, 0.1, 0.0, -0.1, 0.05, -0.4, -0.5])
    y = rng.poisson(np.exp(x @ beta)).astype(float)
    fit = _poisson_fit(x, y)
    assert fit is not None
    se = np.sqrt(np.diag(fit.covariance))
    assert np.all(np.abs(fit.beta - beta) < 4 * se)  # within 4 standard errors, every term
    assert fit.dispersion == pytest.approx(1.0, abs=0.3)  # Poisson data: no overdispersion


def test_daily_series_covers_every_day(demo) -> None:  # type: ignore[no-untyped-def]
    community, _ = demo
    series = daily_series(community)
    assert series["count"].sum() == community.members.height
    assert series.height == (series["day"].max() - series["day"].min()).days + 1  # type: ignore[operator]


def test_planted_lifts_found_and_null_event_not(demo) -> None:  # type: ignore[no-untyped-def]
    community, truth = demo
    result = estimate_milestones(community)
    assert result.placebo_count >= 100
    planted = {m["milestone_id"]: m for m in truth["milestones"]}
    for effect in result.effects:
        entry = planted[effect.milestone_id]
        if entry["true_uplift"] >= 0.25:  # strong planted lifts are found with the right size
            assert effect.verdict == "lift"
            assert effect.ci_low <= entry["true_uplift"] <= effect.ci_high
        if entry["true_uplift"] == 0 and not entry["growth_spurt_before"]:
            assert effect.verdict != "lift"
    assert 0.0 <= result.false_alarm_rate <= 1.0  # type: ignore[operator]
    assert result.event_study.height == 14


def test_not_estimable_without_history_or_complete_window(tmp_path: Path) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    members = pl.DataFrame(
        {"member_id": [f"m{i}" for i in range(400)],
         "joined_at": [start + timedelta(hours=6 * i) for i in range(400)]}
    )  # fmt: skip
    activity = pl.DataFrame({"member_id": ["m0"], "occurred_at": [start], "kind": ["post"]})
    milestones = pl.DataFrame(
        {"announced_at": [start + timedelta(days=10), start + timedelta(days=95)],
         "title": ["Too early", "Too late"]}
    )  # fmt: skip
    folder = tmp_path / "c"
    write_folder({"members": members, "activity": activity, "milestones": milestones}, folder)
    result = estimate_milestones(load_community(open_source(folder)), MilestoneSettings())
    early, late = result.effects
    assert early.verdict == late.verdict == "not_estimable"
    assert "too little history" in early.reason
    assert "window has not ended" in late.reason
    assert result.to_json()[0]["uplift"] is None


def test_without_milestones_table_says_what_to_add(minimal_folder: Path) -> None:
    with pytest.raises(ValueError, match="needs the milestones table"):
        estimate_milestones(load_community(open_source(minimal_folder)))
