"""Compute on demand: a tab or expander computes only when it is opened, and a heavy result is
computed once and shared between the pages that need the same thing.

Each test counts calls of the analysis itself (not time): the page imports the function when it
runs, so a counting wrapper put in place of it sees every computation that was not a cache hit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import analytics.impact
import analytics.risk
import analytics.survival_groups
from dashboard import data
from tests.dashboard.conftest import no_exceptions


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any, str], list[dict[str, Any]]]:
    """``counted(module, name)`` replaces ``module.name`` by a wrapper recording each call's
    keyword arguments; every cached result is forgotten first (the cache outlives a test)."""
    data.data_changed()

    def wrap(module: Any, name: str) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = []
        real = getattr(module, name)

        def counting(*args: Any, **kwargs: Any) -> Any:
            calls.append(kwargs)
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, counting)
        return calls

    yield wrap  # type: ignore[misc]
    data.data_changed()


def _open(at, key: str, value: object):  # type: ignore[no-untyped-def]
    at.session_state[key] = value
    return at.run()


def test_engagement_trains_the_risk_model_only_when_its_tab_opens(
    app_on, demo_folder: Path, counted
) -> None:  # type: ignore[no-untyped-def]
    risk = counted(analytics.risk, "churn_risk")
    at = app_on(demo_folder, page="app_pages/engagement.py", range="all")
    no_exceptions(at)
    assert at.session_state["tab"] == "Activity"
    assert risk == []  # the first tab is open: no model
    _open(at, "tab", "Leaderboards")
    assert risk == []
    _open(at, "tab", "Churn risk")
    no_exceptions(at)
    assert len(risk) == 1
    assert any(m.label == "ROC AUC (held out)" for m in at.metric)
    # back and forth: the trained model is reused, not trained again
    _open(at, "tab", "Activity")
    _open(at, "tab", "Churn risk")
    assert len(risk) == 1


def test_a_link_to_the_risk_tab_trains_only_the_model(app_on, demo_folder: Path, counted) -> None:  # type: ignore[no-untyped-def]
    import analytics.engagement

    risk = counted(analytics.risk, "churn_risk")
    active = counted(analytics.engagement, "active_members")
    at = app_on(demo_folder, page="app_pages/engagement.py", range="all", tab="Churn risk")
    no_exceptions(at)
    assert len(risk) == 1
    assert active == []  # the Activity tab is closed


def test_retention_fits_survival_curves_only_on_the_survival_tab(
    app_on, demo_folder: Path, counted
) -> None:  # type: ignore[no-untyped-def]
    table = counted(analytics.survival_groups, "survival_table")
    at = app_on(demo_folder, page="app_pages/retention.py", range="all")
    no_exceptions(at)
    assert table == []
    _open(at, "tab", "Survival")
    no_exceptions(at)
    assert len(table) == 1
    assert at.get("plotly_chart")


def test_impact_fits_the_any_time_model_and_sensitivity_only_when_opened(
    app_on, demo_folder: Path, counted
) -> None:  # type: ignore[no-untyped-def]
    cox = counted(analytics.impact, "time_varying_effects")
    effects = counted(analytics.impact, "estimate_effects")
    at = app_on(demo_folder, page="app_pages/impact.py")
    no_exceptions(at)
    assert cox == []
    assert [c["sensitivity"] for c in effects] == [False]
    assert not any("hazard ratio of churn" in df.value.columns for df in at.dataframe)
    _open(at, "impact_cox", True)
    no_exceptions(at)
    assert len(cox) == 1
    hazards = next(df.value for df in at.dataframe if "hazard ratio of churn" in df.value.columns)
    assert len(hazards) > 0
    _open(at, "impact_sensitivity", True)
    no_exceptions(at)
    assert [c["sensitivity"] for c in effects] == [False, True]
    checked = next(df.value for df in at.dataframe if "if churn = 14 quiet days" in df.value)
    assert checked["if churn = 60 quiet days"].notna().any()


def test_the_weekly_review_reuses_the_impact_pages_estimate(
    app_on, demo_folder: Path, counted
) -> None:  # type: ignore[no-untyped-def]
    effects = counted(analytics.impact, "estimate_effects")
    at = app_on(demo_folder, page="app_pages/impact.py")
    no_exceptions(at)
    assert len(effects) == 1
    at.switch_page("app_pages/review.py").run()
    no_exceptions(at)
    assert len(effects) == 1  # the same settings: one computation for both pages
    assert any(s.value == "Social-proof findings" for s in at.subheader)


def test_impact_says_it_uses_the_whole_history(app_on, demo_folder: Path) -> None:  # type: ignore[no-untyped-def]
    at = app_on(demo_folder, page="app_pages/impact.py", range="30d")
    no_exceptions(at)
    assert any("uses the whole history up to the as-of time" in i.value for i in at.info)
    assert "whole history" in at.caption[0].value
