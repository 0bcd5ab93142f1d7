"""Every chart of the dashboard by name, built the way its page builds it for the default view
(the 90 days up to the data's as-of time, all members, default settings), for
``proofboard export chart`` and the report. Streamlit-free.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import plotly.graph_objects as go
import polars as pl

from analytics.churn import DEFAULT_INACTIVE_DAYS, churn_by_period
from analytics.community import Community
from analytics.engagement import (
    active_members,
    activity_by_kind,
    concentration,
    time_to_first_activity,
)
from analytics.growth import milestones_in, signup_series
from analytics.impact import ImpactSettings, estimate_effects
from analytics.lifecycle import lifecycle
from analytics.milestones import MilestoneSettings, estimate_milestones
from analytics.periods import Period
from analytics.retention import CohortMatrix, cohort_matrix, recent_cohorts
from analytics.risk import RiskResult, RiskSettings, churn_risk
from analytics.survival import compare_groups
from analytics.survival_groups import survival_table
from dashboard import charts
from dashboard.survival_view import sampled_curves

DEFAULT_DAYS = 90


@dataclass(frozen=True)
class View:
    """The default dashboard view of a community."""

    community: Community
    first: date
    last: date

    @classmethod
    def default(cls, community: Community) -> View:
        last = community.as_of.date()
        first = last - timedelta(days=DEFAULT_DAYS - 1)
        if community.first_join is not None:
            first = max(community.first_join.date(), first)
        return cls(community, first, last)

    @property
    def period(self) -> Period:
        return Period.from_dates(self.first, self.last, as_of=self.community.as_of)

    def subtitle(self, period_label: str | None = None) -> str:
        return charts.view_caption(
            self.community.as_of, {}, period_label or f"joined {self.first} to {self.last}"
        )


Built = tuple[go.Figure, pl.DataFrame]


@dataclass(frozen=True)
class Chart:
    name: str
    page: str
    description: str
    build: Callable[[View], Built]


def _growth(view: View) -> Built:
    period = view.period
    series = signup_series(view.community, period=period, granularity="day")
    milestones = milestones_in(view.community, period)
    fig = charts.growth_chart(
        series, milestones, granularity="day", subtitle=view.subtitle(period.label()),
        window_days=MilestoneSettings().window_days,
    )  # fmt: skip
    return fig, series


def _matrix(view: View) -> CohortMatrix:
    return cohort_matrix(view.community, period="week", first_cohort=view.first,
                         last_cohort=view.last)  # fmt: skip


def _heatmap(view: View) -> Built:
    matrix = _matrix(view)
    _require(not matrix.cells.is_empty(), "no cohort in the last 90 days has a complete week yet")
    return charts.cohort_heatmap(
        matrix.cells, period="week", subtitle=view.subtitle()
    ), matrix.cells


def _curve(view: View) -> Built:
    matrix = _matrix(view)
    _require(not matrix.cells.is_empty(), "no cohort in the last 90 days has a complete week yet")
    fig = charts.retention_curves(matrix.average, matrix.cells, list(recent_cohorts(matrix)),
                                  period="week", subtitle=view.subtitle())  # fmt: skip
    return fig, matrix.average


def _survival(view: View) -> Built:
    table = survival_table(view.community, inactive_days=DEFAULT_INACTIVE_DAYS,
                           first_join=view.first, last_join=view.last)  # fmt: skip
    table = table.with_columns(pl.lit("Everyone").alias("group"))
    comparison = compare_groups(table, duration="tenure_days", event="churned", group="group")
    _require(bool(comparison.curves), "too few members for a survival curve (at least 30)")
    fig = charts.survival_chart(
        sampled_curves(comparison),
        title="Share of members who have not churned, by time since joining",
        subtitle=view.subtitle(), x_title="Days since joining",
    )  # fmt: skip
    return fig, comparison.frame()


def _lifecycle(view: View) -> Built:
    weekly = lifecycle(view.community, first_week=view.first, last_week=view.last)
    _require(not weekly.is_empty(), "no complete week of activity in the last 90 days")
    return charts.lifecycle_chart(weekly, subtitle=view.subtitle()), weekly


def _churn(view: View) -> Built:
    c = view.community
    churn = churn_by_period(c.members, c.last_activity(), as_of=c.as_of, period="week",
                            inactive_days=DEFAULT_INACTIVE_DAYS)  # fmt: skip
    first_week = view.first - timedelta(days=view.first.weekday())
    churn = churn.filter(pl.col("period_start").is_between(first_week, view.last))
    _require(not churn.is_empty(), "no members in the last 90 days")
    return charts.churn_chart(churn, period="week", subtitle=view.subtitle()), churn


def _effects(view: View) -> Built:
    settings = ImpactSettings()
    table = estimate_effects(view.community, settings).table()
    _require(not table.is_empty(), "no proof item could be estimated")
    fig = charts.forest_plot(
        table, landmark=settings.landmark_days, horizon=settings.horizon_days,
        subtitle=view.subtitle(f"window {settings.landmark_days} d, horizon "
                               f"{settings.horizon_days} d"),
    )  # fmt: skip
    return fig, table


def _event_study(view: View) -> Built:
    result = estimate_milestones(view.community, MilestoneSettings())
    _require(not result.event_study.is_empty(), "no milestone with a complete window")
    fig = charts.event_study_chart(result.event_study, unit="signups",
                                   subtitle=view.subtitle("all milestones"))  # fmt: skip
    return fig, result.event_study


def _active(view: View) -> Built:
    daily = active_members(view.community, first=view.first, last=view.last)
    _require(daily.filter(pl.col("mau") > 0).height > 0, "no activity in the last 90 days")
    return charts.active_members_chart(daily, subtitle=view.subtitle(_days(view))), daily


def _kinds(view: View) -> Built:
    kinds = activity_by_kind(view.community, first=view.first, last=view.last, every="1w")
    _require(not kinds.is_empty(), "no activity in the last 90 days")
    return charts.activity_kind_chart(kinds, subtitle=view.subtitle(_days(view))), kinds


def _lorenz(view: View) -> Built:
    conc = concentration(view.community, first=view.first, last=view.last)
    top_1, top_10 = conc.top_1, conc.top_10
    if top_1 is None or top_10 is None:
        raise ValueError("Nothing to draw: no activity in the last 90 days.")
    fig = charts.lorenz_chart(conc.lorenz, top_1=top_1, top_10=top_10,
                              subtitle=view.subtitle(_days(view)))  # fmt: skip
    return fig, conc.lorenz


def _activation(view: View) -> Built:
    activation = time_to_first_activity(view.community, first=view.first, last=view.last)
    _require(activation.joined > 0, "nobody joined in the last 90 days")
    fig = charts.activation_chart(activation.curve, subtitle=view.subtitle(_days(view)))
    return fig, activation.curve


def _risk(view: View) -> RiskResult:
    result = churn_risk(view.community, RiskSettings())
    _require(result.evaluation is not None, result.reason or "no model could be trained")
    return result


def _risk_subtitle(view: View, result: RiskResult) -> str:
    assert result.evaluation is not None
    return (
        f"held-out cutoff {result.evaluation.eval_cutoff:%Y-%m-%d}, horizon "
        f"{result.settings.horizon_days} d · " + view.subtitle(_days(view))
    )


def _calibration(view: View) -> Built:
    result = _risk(view)
    assert result.evaluation is not None
    calibration = result.evaluation.calibration
    fig = charts.calibration_chart(calibration, subtitle=_risk_subtitle(view, result))
    return fig, calibration


def _importance(view: View) -> Built:
    result = _risk(view)
    _require(result.ranked_by == "model", "the model does not beat the recency-only baseline")
    fig = charts.importance_chart(result.importance, subtitle=_risk_subtitle(view, result))
    return fig, result.importance


def _days(view: View) -> str:
    return f"{view.first} to {view.last}"


def _require(condition: bool, why: str) -> None:
    if not condition:
        raise ValueError(f"Nothing to draw: {why}.")


CHARTS: dict[str, Chart] = {
    c.name: c
    for c in (
        Chart("growth", "Overview, Growth", "signups per day and members, with milestones",
              _growth),
        Chart("cohort-matrix", "Retention", "weekly retention per join cohort (heatmap)",
              _heatmap),
        Chart("retention-curve", "Retention", "average weekly retention curve and recent cohorts",
              _curve),
        Chart("survival", "Retention", "Kaplan-Meier curve of not having churned", _survival),
        Chart("lifecycle", "Retention", "weekly new, returning, resurrected and dormant members",
              _lifecycle),
        Chart("churn", "Retention", "churn per week, explicit and silent", _churn),
        Chart("active-members", "Engagement", "daily, weekly and monthly active members and "
              "stickiness", _active),
        Chart("activity-by-kind", "Engagement", "activity rows per week by kind", _kinds),
        Chart("concentration", "Engagement", "Lorenz curve: share of activity from the top "
              "members", _lorenz),
        Chart("first-activity", "Engagement", "new members' time to first activity",
              _activation),
        Chart("risk-calibration", "Engagement", "churn-risk model calibration against the "
              "recency-only baseline", _calibration),
        Chart("risk-importance", "Engagement", "what drives the churn-risk model (permutation "
              "importance)", _importance),
        Chart("effects", "Impact", "forest plot of each proof item's effect on staying",
              _effects),
        Chart("event-study", "Growth", "average signup uplift by day after announcements",
              _event_study),
    )
}  # fmt: skip


def build(name: str, community: Community) -> Built:
    """The named chart and the data behind it for the default view of ``community``."""
    if name not in CHARTS:
        raise ValueError(f"No chart named {name!r}. Charts: {', '.join(CHARTS)}.")
    return CHARTS[name].build(View.default(community))
