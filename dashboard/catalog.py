"""Every chart of Proofboard, built in one place: the pages, ``proofboard export chart``, the
weekly review (page and report) all draw a chart through the builder here, with the view they
show (period, segments, quiet days, the chart's settings) passed in. Streamlit-free.

A builder takes the :class:`View` and the analysis result it draws (which a page has usually
computed and cached already) and returns a :class:`Drawn`: the figure, the data behind it and
the file name for downloads. Its subtitle names the chart's own window (the period, the
milestone's days, the exposure window and horizon, the held-out cutoff) with the segments and
the data's as-of time, so an exported image carries what it shows.

``CHARTS`` names the charts for ``proofboard export chart``; each entry computes what its
builder needs for the default view (the 90 days up to the data's as-of time, all members,
default settings) and calls the same builder the page uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import plotly.graph_objects as go
import polars as pl

from analytics.churn import DEFAULT_INACTIVE_DAYS, churn_by_period
from analytics.community import Community
from analytics.engagement import (
    Activation,
    Concentration,
    active_members,
    activity_by_kind,
    concentration,
    time_to_first_activity,
)
from analytics.errors import ProofboardError
from analytics.growth import milestones_in, signup_series
from analytics.impact import ImpactResult, ImpactSettings, ItemDetail, estimate_effects, item_detail
from analytics.lifecycle import lifecycle
from analytics.milestones import (
    MilestoneEffect,
    MilestoneResult,
    MilestoneSettings,
    estimate_milestones,
)
from analytics.periods import Period
from analytics.retention import CohortMatrix, cohort_matrix, recent_cohorts
from analytics.risk import RiskResult, RiskSettings, churn_risk
from analytics.survival import SurvivalComparison, compare_groups
from analytics.survival_groups import survival_table
from analytics.weekly import WeeklyReview, default_week, weekly_review
from dashboard import charts
from dashboard.survival_view import sampled_curves

DEFAULT_DAYS = 90


class NothingToDraw(ProofboardError):
    """The view holds no data for the chart (no cohort complete yet, no activity, ...)."""


@dataclass(frozen=True)
class View:
    """What a chart shows: the community (segments applied), the period, the segments chosen
    (for the subtitle) and the quiet days before silent churn."""

    community: Community
    first: date
    last: date
    segments: Mapping[str, Sequence[str]] = field(default_factory=dict)
    inactive_days: int = DEFAULT_INACTIVE_DAYS

    @classmethod
    def default(cls, community: Community) -> View:
        """The 90 days up to the as-of time, all members, default settings."""
        last = community.as_of.date()
        first = last - timedelta(days=DEFAULT_DAYS - 1)
        if community.first_join is not None:
            first = max(community.first_join.date(), first)
        return cls(community, first, last)

    @property
    def period(self) -> Period:
        return Period.from_dates(self.first, self.last, as_of=self.community.as_of)

    def subtitle(self, window: str | None = None) -> str:
        """Period (or the chart's own ``window``), segments and as-of time in one line."""
        return charts.view_caption(
            self.community.as_of, self.segments, window or f"joined {self.first} to {self.last}"
        )

    @property
    def first_join(self) -> date:
        """The day the first member joined (``date.min`` when nobody has)."""
        joined = self.community.first_join
        return date.min if joined is None else joined.date()

    @property
    def days(self) -> str:
        return f"{self.first} to {self.last}"


@dataclass(frozen=True)
class Drawn:
    """A chart as drawn: its catalog name, the figure, the data behind it (the CSV download)
    and the file name its downloads get; ``points`` holds the member counts behind the plotted
    points when ``data`` does not (the recent cohorts' lines, the survival curves' daily grid),
    so that :mod:`dashboard.privacy_view` can hide the points about too few members."""

    name: str
    figure: go.Figure
    data: pl.DataFrame
    file: str
    points: pl.DataFrame | None = None


def _drawn(
    name: str,
    figure: go.Figure,
    data: pl.DataFrame,
    file: str | None = None,
    points: pl.DataFrame | None = None,
) -> Drawn:
    # The catalog name travels with the figure, so a test (or a reader of an exported HTML
    # file) can tell which builder drew it.
    figure.update_layout(meta={"chart": name})
    return Drawn(name, figure, data, file or name.replace("-", " "), points)


def _require(condition: bool, why: str) -> None:
    if not condition:
        raise NothingToDraw(f"Nothing to draw: {why}.")


# -- builders: one per chart, used by the pages, the CLI and the report -------------------------


def growth(
    view: View,
    series: pl.DataFrame,
    milestones: pl.DataFrame,
    *,
    granularity: str = "day",
    window_days: int | None = None,
    file: str | None = None,
) -> Drawn:
    """Signups and members over the period, milestones marked (their windows shaded when
    ``window_days`` is given)."""
    fig = charts.growth_chart(
        series, milestones, granularity=granularity, subtitle=view.subtitle(view.period.label()),
        window_days=window_days,
    )  # fmt: skip
    return _drawn("growth", fig, series, file or f"growth {view.period.label()}")


def cohort_heatmap(view: View, matrix: CohortMatrix, *, period: str = "week") -> Drawn:
    fig = charts.cohort_heatmap(matrix.cells, period=period, subtitle=view.subtitle())
    return _drawn("cohort-matrix", fig, matrix.cells, f"cohort matrix by {period}")


def retention_curve(
    view: View, matrix: CohortMatrix, cohorts: Sequence[date], *, period: str = "week"
) -> Drawn:
    fig = charts.retention_curves(matrix.average, matrix.cells, list(cohorts), period=period,
                                  subtitle=view.subtitle())  # fmt: skip
    # the members behind each point: the average's (no group) and each recent cohort's line
    counts = ["k", "members", "retained"]
    points = pl.concat(
        [
            matrix.average.select(pl.lit(None, dtype=pl.String).alias("group"), *counts),
            matrix.cells.filter(pl.col("cohort").is_in(list(cohorts))).select(
                pl.format("Cohort {}", pl.col("cohort").cast(pl.String)).alias("group"),
                "k",
                pl.col("size").cast(pl.Int64).alias("members"),
                pl.col("retained").cast(pl.Int64),
            ),
        ]
    )
    return _drawn("retention-curve", fig, matrix.average, f"retention curve by {period}",
                  points)  # fmt: skip


def survival(
    view: View, comparison: SurvivalComparison, *, x_title: str = "Days since joining"
) -> Drawn:
    sampled = sampled_curves(comparison)
    fig = charts.survival_chart(
        sampled,
        title="Share of members who have not churned, by time since joining",
        subtitle=view.subtitle(), x_title=x_title,
    )  # fmt: skip
    points = sampled.select("group", "days", "at_risk")  # the members behind each drawn day
    return _drawn("survival", fig, comparison.frame(), "survival curves", points)


def lifecycle_weeks(view: View, weekly: pl.DataFrame) -> Drawn:
    fig = charts.lifecycle_chart(weekly, subtitle=view.subtitle())
    return _drawn("lifecycle", fig, weekly, "weekly lifecycle")


def churn(view: View, frame: pl.DataFrame, *, period: str = "week") -> Drawn:
    fig = charts.churn_chart(frame, period=period, subtitle=view.subtitle())
    return _drawn("churn", fig, frame, f"churn per {period}")


def active(view: View, daily: pl.DataFrame) -> Drawn:
    fig = charts.active_members_chart(daily, subtitle=view.subtitle(view.days))
    return _drawn("active-members", fig, daily, "active members")


def kinds(view: View, frame: pl.DataFrame) -> Drawn:
    fig = charts.activity_kind_chart(frame, subtitle=view.subtitle(view.days))
    return _drawn("activity-by-kind", fig, frame, "activity by kind")


def lorenz(view: View, conc: Concentration) -> Drawn:
    _require(conc.top_1 is not None and conc.top_10 is not None, "no activity in the period")
    assert conc.top_1 is not None
    assert conc.top_10 is not None
    fig = charts.lorenz_chart(conc.lorenz, top_1=conc.top_1, top_10=conc.top_10,
                              subtitle=view.subtitle(view.days))  # fmt: skip
    # what the curve and its note rest on, for the viewer's copy (dashboard.privacy_view)
    points = conc.lorenz.with_columns(
        pl.lit(conc.active_members, dtype=pl.Int64).alias("active_members"),
        pl.lit(conc.top_1).alias("top_1"),
        pl.lit(conc.top_10).alias("top_10"),
    )
    return _drawn("concentration", fig, conc.lorenz, "activity concentration", points)


def activation(view: View, curve: Activation) -> Drawn:
    fig = charts.activation_chart(curve.curve, subtitle=view.subtitle(view.days))
    return _drawn("first-activity", fig, curve.curve, "time to first activity")


def _risk_subtitle(view: View, result: RiskResult) -> str:
    assert result.evaluation is not None
    return (
        f"held-out cutoff {result.evaluation.eval_cutoff:%Y-%m-%d}, horizon "
        f"{result.settings.horizon_days} d · " + view.subtitle(view.days)
    )


def risk_calibration(view: View, result: RiskResult) -> Drawn:
    _require(result.evaluation is not None, result.reason or "no model could be trained")
    assert result.evaluation is not None
    calibration = result.evaluation.calibration
    fig = charts.calibration_chart(calibration, subtitle=_risk_subtitle(view, result))
    return _drawn("risk-calibration", fig, calibration, "risk calibration")


def risk_importance(view: View, result: RiskResult) -> Drawn:
    _require(result.evaluation is not None, result.reason or "no model could be trained")
    _require(result.ranked_by == "model", "the model does not beat the recency-only baseline")
    fig = charts.importance_chart(result.importance, subtitle=_risk_subtitle(view, result))
    return _drawn("risk-importance", fig, result.importance, "risk feature importance")


def _impact_window(settings: ImpactSettings) -> str:
    return f"window {settings.landmark_days} d, horizon {settings.horizon_days} d"


def _forest(name: str, result: ImpactResult, subtitle: str) -> Drawn:
    table = result.table()
    _require(not table.is_empty(), "no proof item could be estimated")
    fig = charts.forest_plot(table, settings=result.settings, subtitle=subtitle)
    return _drawn(name, fig, table, "social proof effects")


def effects(view: View, result: ImpactResult) -> Drawn:
    """The forest plot of every proof item's effect on staying."""
    return _forest("effects", result, view.subtitle(_impact_window(result.settings)))


def _item_subtitle(view: View, settings: ImpactSettings, title: str) -> str:
    return view.subtitle(f"{title}: {_impact_window(settings)}")


def item_survival(view: View, detail: ItemDetail, settings: ImpactSettings, title: str) -> Drawn:
    _require(not detail.curves.is_empty(), detail.reason or "no comparison for this item")
    fig = charts.weighted_curves_chart(detail.curves, landmark=settings.landmark_days,
                                       subtitle=_item_subtitle(view, settings, title))  # fmt: skip
    return _drawn("item-survival", fig, detail.curves, f"survival {detail.item_id}")


def item_balance(view: View, detail: ItemDetail, settings: ImpactSettings, title: str) -> Drawn:
    _require(detail.balance is not None, detail.reason or "no comparison for this item")
    assert detail.balance is not None
    fig = charts.balance_chart(detail.balance, subtitle=_item_subtitle(view, settings, title))
    return _drawn("item-balance", fig, detail.balance, f"balance {detail.item_id}")


def item_timing(view: View, detail: ItemDetail, settings: ImpactSettings, title: str) -> Drawn:
    fig = charts.timing_chart(detail.timing, landmark=settings.landmark_days,
                              subtitle=_item_subtitle(view, settings, title))  # fmt: skip
    return _drawn("item-timing", fig, detail.timing, f"exposure timing {detail.item_id}")


def milestone_detail(view: View, effect: MilestoneEffect, *, unit: str = "signups") -> Drawn:
    """One announcement's days against the counterfactual; the subtitle gives the milestone's
    own window, not the page's period."""
    _require(effect.daily is not None, effect.reason or "no estimate for this milestone")
    assert effect.daily is not None
    subtitle = view.subtitle(effect.window_label())
    fig = charts.milestone_detail_chart(effect.daily, title=effect.title, unit=unit,
                                        subtitle=subtitle)  # fmt: skip
    return _drawn("milestone-detail", fig, effect.daily, f"milestone {effect.milestone_id}")


def event_study(view: View, result: MilestoneResult, *, unit: str = "signups") -> Drawn:
    _require(not result.event_study.is_empty(), "no milestone with a complete window")
    window = f"all milestones, {result.settings.window_days}-day window"
    fig = charts.event_study_chart(result.event_study, unit=unit,
                                   subtitle=view.subtitle(window))  # fmt: skip
    return _drawn("event-study", fig, result.event_study, "event study")


def review_subtitle(review: WeeklyReview) -> str:
    return f"{review.week} ({review.days_label}) · data as of {review.as_of:%Y-%m-%d %H:%M} UTC"


def review_signups(review: WeeklyReview) -> Drawn:
    fig = charts.week_signups_chart(
        review.signups, review.recent_milestones, week_start=review.period.start,
        week_end=review.period.end, week=review.week, subtitle=review_subtitle(review),
    )  # fmt: skip
    return _drawn("review-signups", fig, review.signups, f"signups {review.week}")


def review_kpis(review: WeeklyReview) -> Drawn:
    history = review.kpi_history()
    fig = charts.kpi_weeks_chart(history, subtitle=review_subtitle(review))
    return _drawn("review-kpis", fig, history, f"kpis {review.week}")


def review_effects(review: WeeklyReview) -> Drawn:
    """The review's forest plot: the same chart as the Impact page's, for the reviewed week."""
    _require(
        review.impact is not None and review.impact.population_size > 0,
        review.impact_note or "no proof item could be estimated",
    )
    assert review.impact is not None
    return _forest("review-effects", review.impact, review_subtitle(review))


# -- the default view of each chart, for ``proofboard export chart`` ---------------------------

Built = tuple[go.Figure, pl.DataFrame]


@dataclass(frozen=True)
class Chart:
    name: str
    page: str
    description: str
    draw: Callable[[View], Drawn]

    def build(self, view: View) -> Built:
        drawn = self.draw(view)
        return drawn.figure, drawn.data


def _growth(view: View) -> Drawn:
    period = view.period
    series = signup_series(view.community, period=period, granularity="day")
    return growth(view, series, milestones_in(view.community, period), granularity="day",
                  window_days=MilestoneSettings().window_days)  # fmt: skip


def _matrix(view: View) -> CohortMatrix:
    matrix = cohort_matrix(view.community, period="week", first_cohort=view.first,
                           last_cohort=view.last)  # fmt: skip
    _require(not matrix.cells.is_empty(), "no cohort in the last 90 days has a complete week yet")
    return matrix


def _heatmap(view: View) -> Drawn:
    return cohort_heatmap(view, _matrix(view), period="week")


def _curve(view: View) -> Drawn:
    matrix = _matrix(view)
    return retention_curve(view, matrix, recent_cohorts(matrix), period="week")


def _survival(view: View) -> Drawn:
    table = survival_table(view.community, inactive_days=view.inactive_days,
                           first_join=view.first, last_join=view.last)  # fmt: skip
    table = table.with_columns(pl.lit("Everyone").alias("group"))
    comparison = compare_groups(table, duration="tenure_days", event="churned", group="group")
    _require(bool(comparison.curves), "too few members for a survival curve (at least 30)")
    return survival(view, comparison)


def _lifecycle(view: View) -> Drawn:
    weekly = lifecycle(view.community, first_week=view.first, last_week=view.last)
    _require(not weekly.is_empty(), "no complete week of activity in the last 90 days")
    return lifecycle_weeks(view, weekly)


def churn_in_view(view: View, frame: pl.DataFrame, *, period: str = "week") -> pl.DataFrame:
    """The rows of ``churn_by_period`` whose period overlaps the view."""
    first = view.first
    start = first - timedelta(days=first.weekday()) if period == "week" else first.replace(day=1)
    return frame.filter(pl.col("period_start").is_between(start, view.last))


def _churn(view: View) -> Drawn:
    c = view.community
    frame = churn_by_period(c.members, c.last_activity(), as_of=c.as_of, period="week",
                            inactive_days=view.inactive_days)  # fmt: skip
    frame = churn_in_view(view, frame)
    _require(not frame.is_empty(), "no members in the last 90 days")
    return churn(view, frame, period="week")


def _effects_result(view: View) -> ImpactResult:
    # the Impact page's defaults: every attribute adjusted for (None: all, as the weekly review)
    # (the forest plot shows the landmark view only: no sequential trials)
    settings = ImpactSettings(inactive_days=view.inactive_days, fixed_attributes=None, trials=False)
    return estimate_effects(view.community, settings, sensitivity=False)


def _effects(view: View) -> Drawn:
    return effects(view, _effects_result(view))


def _item(view: View) -> tuple[ItemDetail, ImpactSettings, str]:
    """The first item of the effects table with a comparison (the Impact page's default)."""
    result = _effects_result(view)
    table = result.table()
    _require(not table.is_empty(), "no proof item could be estimated")
    for row in table.iter_rows(named=True):
        detail = item_detail(view.community, item_id=row["item_id"], settings=result.settings)
        if not detail.curves.is_empty():
            return detail, result.settings, f"{row['title']} ({row['kind']})"  # as the page
    raise NothingToDraw("Nothing to draw: no proof item has comparable members.")


def _item_survival(view: View) -> Drawn:
    return item_survival(view, *_item(view))


def _item_balance(view: View) -> Drawn:
    return item_balance(view, *_item(view))


def _item_timing(view: View) -> Drawn:
    return item_timing(view, *_item(view))


def _milestones(view: View) -> MilestoneResult:
    return estimate_milestones(view.community, MilestoneSettings())


def _event_study(view: View) -> Drawn:
    return event_study(view, _milestones(view))


def _milestone_detail(view: View) -> Drawn:
    estimable = [e for e in _milestones(view).effects if e.daily is not None]
    _require(bool(estimable), "no milestone with a complete window")
    return milestone_detail(view, estimable[0])


def _active(view: View) -> Drawn:
    daily = active_members(view.community, first=view.first, last=view.last)
    _require(daily.filter(pl.col("mau") > 0).height > 0, "no activity in the last 90 days")
    return active(view, daily)


def _kinds(view: View) -> Drawn:
    frame = activity_by_kind(view.community, first=view.first, last=view.last, every="1w")
    _require(not frame.is_empty(), "no activity in the last 90 days")
    return kinds(view, frame)


def _lorenz(view: View) -> Drawn:
    conc = concentration(view.community, first=view.first, last=view.last)
    _require(conc.top_1 is not None and conc.top_10 is not None, "no activity in the last 90 days")
    return lorenz(view, conc)


def _activation(view: View) -> Drawn:
    curve = time_to_first_activity(view.community, first=view.first, last=view.last)
    _require(curve.joined > 0, "nobody joined in the last 90 days")
    return activation(view, curve)


def _risk(view: View) -> RiskResult:
    result = churn_risk(view.community, RiskSettings(inactive_days=view.inactive_days))
    _require(result.evaluation is not None, result.reason or "no model could be trained")
    return result


def _calibration(view: View) -> Drawn:
    return risk_calibration(view, _risk(view))


def _importance(view: View) -> Drawn:
    return risk_importance(view, _risk(view))


def _review(view: View) -> WeeklyReview:
    week = default_week(view.community)
    _require(week is not None, "the data does not cover a complete ISO week yet")
    assert week is not None
    return weekly_review(view.community, week, inactive_days=view.inactive_days)


def _review_signups(view: View) -> Drawn:
    return review_signups(_review(view))


def _review_kpis(view: View) -> Drawn:
    return review_kpis(_review(view))


def _review_effects(view: View) -> Drawn:
    return review_effects(_review(view))


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
        Chart("item-survival", "Impact", "one item: exposed against weighted comparable "
              "members (first item with a comparison)", _item_survival),
        Chart("item-balance", "Impact", "one item: covariate balance before and after "
              "weighting", _item_balance),
        Chart("item-timing", "Impact", "one item: when members first saw or earned it",
              _item_timing),
        Chart("event-study", "Growth", "average signup uplift by day after announcements",
              _event_study),
        Chart("milestone-detail", "Growth", "one announcement's signups against the "
              "counterfactual (first estimable milestone)", _milestone_detail),
        Chart("review-signups", "Weekly review", "signups per day of the last complete week "
              "and the four before", _review_signups),
        Chart("review-kpis", "Weekly review", "the key figures of the last complete week and "
              "the four before", _review_kpis),
        Chart("review-effects", "Weekly review", "forest plot of the proof items, as in the "
              "review", _review_effects),
    )
}  # fmt: skip


def build(name: str, community: Community, view: View | None = None) -> Built:
    """The named chart and the data behind it for ``view`` of ``community`` (default: the
    default view)."""
    if name not in CHARTS:
        raise NothingToDraw(f"No chart named {name!r}. Charts: {', '.join(CHARTS)}.")
    return CHARTS[name].build(view or View.default(community))
