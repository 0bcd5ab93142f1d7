"""The weekly review: one ISO week's key figures against the week before and the four weeks
before, the notable social-proof findings, the milestones announced that week, and a short
written summary in which every sentence is derived from a computed number.

Nothing here defines a figure anew: the key figures come from
:func:`analytics.overview.overview_kpis`, churn rates from :func:`analytics.churn.churn_by_period`,
signups from :func:`analytics.growth.signup_series`, the findings from
:func:`analytics.impact.estimate_effects` and the milestone effects from
:func:`analytics.milestones.estimate_milestones`, each with the settings the dashboard's pages
and the CLI use by default, so the review shows the same numbers they do.

Weeks are ISO weeks (Monday 00:00 to the next Monday 00:00, UTC), written ``2026-W46``. Only
complete weeks can be reviewed: from the week of the first signup to the last week that ended
by the data's as-of time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

import polars as pl

from analytics.churn import DEFAULT_INACTIVE_DAYS, churn_by_period, churn_definition
from analytics.community import Community
from analytics.errors import InputError, ProofboardError
from analytics.growth import milestones_in, signup_series
from analytics.impact import (
    TRIAL_COLUMNS,
    ErrorControl,
    ImpactResult,
    ImpactSettings,
    ItemEffect,
    adjusted_p_name,
    estimate_effects,
    population_words,
    threshold_words,
)
from analytics.known import churn_known_from, known_from_text
from analytics.milestones import (
    MILESTONE_VERDICT_WORDS,
    MilestoneEffect,
    MilestoneResult,
    MilestoneSettings,
    estimate_milestones,
)
from analytics.overview import RETENTION_DAYS, Kpi, KpiName, overview_kpis_of
from analytics.periods import Period
from analytics.stats import p_text, wilson_interval
from analytics.vocabulary import quoted, signed_bound

Progress = Callable[[str, float], None]

#: How many earlier weeks the average compares with.
AVERAGE_WEEKS = 4
#: At most this many social-proof findings are listed as notable (the rest are counted).
MAX_NOTABLE = 5
_WEEK_PATTERN = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)
_ONE_WEEK = timedelta(days=7)
_TICK = timedelta(microseconds=1)


class WeekError(ProofboardError, ValueError):
    """A week that is malformed or outside the data (the message names the valid weeks)."""


# -- weeks --------------------------------------------------------------------------------------


def week_label(monday: date) -> str:
    """``2026-W46`` for the ISO week starting on ``monday``."""
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(text: str) -> date:
    """The Monday of an ISO week written ``YYYY-Www`` (e.g. ``2026-W46``).

    Raises
    ------
    WeekError
        When the text is not an ISO week, or names a week the year does not have.
    """
    match = _WEEK_PATTERN.match(text)
    if match is None:
        raise WeekError(
            f"{text!r} is not an ISO week. Fix: write the year, '-W' and the week number, "
            "e.g. 2026-W46."
        )
    year, week = int(match.group(1)), int(match.group(2))
    try:
        return date.fromisocalendar(year, week, 1)
    except ValueError:
        raise WeekError(
            f"{text!r} is not an ISO week: {year} has weeks 1 to "
            f"{date(year, 12, 28).isocalendar()[1]}."
        ) from None


def _monday(moment: datetime) -> date:
    day = moment.date()
    return day - timedelta(days=day.weekday())


def week_period(monday: date) -> Period:
    """The half-open UTC window of the week starting on ``monday``."""
    start = datetime.combine(monday, time(), tzinfo=UTC)
    return Period(start, start + _ONE_WEEK)


def available_weeks(community: Community) -> tuple[date, date] | None:
    """The Mondays of the first and the last complete week that can be reviewed, or ``None``
    when the data does not yet cover a complete week."""
    first_join = community.first_join
    if first_join is None:
        return None
    first = _monday(first_join)
    # the last week whose end (next Monday 00:00) is no later than the as-of time; an as-of
    # time at the last microsecond of a Sunday (the dashboard's "as of that day") completes it
    last = _monday(community.as_of + _TICK) - _ONE_WEEK
    return (first, last) if last >= first else None


def default_week(community: Community) -> str | None:
    """The last complete ISO week before the data's as-of time (``None`` when there is none)."""
    weeks = available_weeks(community)
    return None if weeks is None else week_label(weeks[1])


def resolve_week(community: Community, week: str | date) -> date:
    """The Monday of ``week`` (an ISO week string, or any day in it), checked against the data.

    Raises
    ------
    WeekError
        When the week is malformed or not a complete week inside the data.
    """
    monday = parse_week(week) if isinstance(week, str) else week - timedelta(days=week.weekday())
    weeks = available_weeks(community)
    if weeks is None:
        raise WeekError(
            f"The data (first signup to {community.as_of:%Y-%m-%d %H:%M} UTC) does not cover a "
            "complete ISO week yet, so there is no week to review."
        )
    first, last = weeks
    if not first <= monday <= last:
        raise WeekError(
            f"Week {week_label(monday)} is outside the data: complete weeks run from "
            f"{week_label(first)} to {week_label(last)} (data as of "
            f"{community.as_of:%Y-%m-%d %H:%M} UTC). Fix: choose a week in that range."
        )
    return monday


# -- the review ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiComparison:
    """One key figure in the week, the week before and the four weeks before.

    ``kpi`` is exactly what :func:`~analytics.overview.overview_kpis` gives for the week (its
    ``previous`` is the week before). ``history`` holds the figure in each of the four weeks
    before, oldest first. ``average`` is their mean for counts; for a share it is the pooled
    share over the four weeks (every member whose day 90 fell in them), with ``average_ci`` its
    95 % Wilson interval and ``average_n`` the members it is based on. When a figure of any of
    those weeks is not known yet (see :mod:`analytics.known`) there is no average:
    ``average_known_from`` is the first as-of day on which all of them are known.
    """

    kpi: Kpi
    history: tuple[float | None, ...]
    average: float | None
    average_ci: tuple[float, float] | None = None
    average_n: int | None = None
    average_known_from: date | None = None
    #: for each of the four weeks before, the day its figure will be known (``None``: known)
    history_known_from: tuple[date | None, ...] = ()

    @property
    def change_vs_previous(self) -> float | None:
        return self.kpi.change

    @property
    def change_vs_average(self) -> float | None:
        if self.kpi.value is None or self.average is None:
            return None
        return self.kpi.value - self.average


@dataclass(frozen=True)
class WeekMilestone:
    """A milestone announced in the week, with its estimate from the Growth page's analysis.

    ``available_on`` is set when its impact window has not ended by the as-of time: the first
    as-of day on which the estimate can be made.
    """

    effect: MilestoneEffect
    available_on: date | None


@dataclass(frozen=True)
class WeeklyReview:
    """Everything the weekly review shows (see :func:`weekly_review`)."""

    week: str
    period: Period
    as_of: datetime
    inactive_days: int
    first_week: str
    last_week: str
    kpis: tuple[KpiComparison, ...]
    #: ``churn_by_period`` rows of the week and the four before (``period_start`` ascending).
    churn: pl.DataFrame
    #: signups per day over the week and the four before (``signup_series``).
    signups: pl.DataFrame
    #: milestones announced over those five weeks (for chart markers).
    recent_milestones: pl.DataFrame
    impact: ImpactResult | None
    impact_note: str | None
    notable: tuple[ItemEffect, ...]
    milestone_settings: MilestoneSettings
    milestones: tuple[WeekMilestone, ...]
    milestones_note: str | None
    summary: list[str]
    method_notes: list[str]

    def kpi(self, key: KpiName) -> KpiComparison:
        return next(k for k in self.kpis if k.kpi.key == key)

    @property
    def days_label(self) -> str:
        last = self.period.end - timedelta(days=1)
        return f"{self.period.start:%a %d %b %Y} to {last:%a %d %b %Y}"

    def churn_week(self) -> dict[str, object] | None:
        """The week's row of the churn table (``None`` when the week is not in it)."""
        rows = self.churn.filter(pl.col("period_start") == self.period.start.date())
        return rows.row(0, named=True) if rows.height else None

    def churn_known_on(self) -> date:
        """The first as-of day on which the week's churn is known."""
        return churn_known_from(self.period.end, self.inactive_days)

    def kpi_table(self) -> pl.DataFrame:
        """One row per key figure: week, week before, four-week average, changes, intervals."""
        return pl.DataFrame(
            [
                {
                    "kpi": c.kpi.label,
                    "unit": c.kpi.unit,
                    "week": c.kpi.value,
                    "ci_low": c.kpi.ci[0] if c.kpi.ci else None,
                    "ci_high": c.kpi.ci[1] if c.kpi.ci else None,
                    "n": c.kpi.n,
                    "previous_week": c.kpi.previous,
                    "change_vs_previous": c.change_vs_previous,
                    "average_4_weeks": c.average,
                    "average_ci_low": c.average_ci[0] if c.average_ci else None,
                    "average_ci_high": c.average_ci[1] if c.average_ci else None,
                    "change_vs_average": c.change_vs_average,
                    "known_from": c.kpi.known_from,
                    "previous_known_from": c.kpi.previous_known_from,
                    "average_known_from": c.average_known_from,
                    "note": c.kpi.note,
                    "definition": c.kpi.help,
                }
                for c in self.kpis
            ],
            schema={
                "kpi": pl.String, "unit": pl.String, "week": pl.Float64, "ci_low": pl.Float64,
                "ci_high": pl.Float64, "n": pl.Int64, "previous_week": pl.Float64,
                "change_vs_previous": pl.Float64, "average_4_weeks": pl.Float64,
                "average_ci_low": pl.Float64, "average_ci_high": pl.Float64,
                "change_vs_average": pl.Float64, "known_from": pl.Date,
                "previous_known_from": pl.Date, "average_known_from": pl.Date,
                "note": pl.String, "definition": pl.String,
            },
            orient="row",
        )  # fmt: skip

    def kpi_history(self) -> pl.DataFrame:
        """Each key figure in each of the five weeks (the four before and the week itself); a
        figure not known yet is null with ``known_from``."""
        rows = []
        for c in self.kpis:
            values = [*c.history, c.kpi.value]
            known = [*(c.history_known_from or (None,) * len(c.history)), c.kpi.known_from]
            for k, value in enumerate(values):
                monday = self.period.start.date() - (len(values) - 1 - k) * _ONE_WEEK
                rows.append(
                    {
                        "kpi": c.kpi.label,
                        "key": c.kpi.key,
                        "unit": c.kpi.unit,
                        "week": week_label(monday),
                        "reviewed": k == len(values) - 1,
                        "value": value,
                        "known_from": known[k],
                    }
                )
        return pl.DataFrame(
            rows,
            schema={"kpi": pl.String, "key": pl.String, "unit": pl.String, "week": pl.String,
                    "reviewed": pl.Boolean, "value": pl.Float64, "known_from": pl.Date},
            orient="row",
        )  # fmt: skip

    def milestone_table(self) -> pl.DataFrame:
        """The week's milestones with their estimates."""
        return pl.DataFrame(
            [
                {
                    "milestone_id": m.effect.milestone_id,
                    "title": m.effect.title,
                    "announced_at": m.effect.announced_at,
                    "verdict": m.effect.verdict,
                    "uplift": m.effect.uplift,
                    "ci_low": m.effect.ci_low,
                    "ci_high": m.effect.ci_high,
                    "p_value": m.effect.p_value,
                    "observed": m.effect.observed,
                    "expected": m.effect.expected,
                    "available_on": m.available_on,
                    "reason": m.effect.reason,
                }
                for m in self.milestones
            ],
            schema={
                "milestone_id": pl.String, "title": pl.String,
                "announced_at": pl.Datetime("us", "UTC"), "verdict": pl.String,
                "uplift": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
                "p_value": pl.Float64, "observed": pl.Int64, "expected": pl.Float64,
                "available_on": pl.Date, "reason": pl.String,
            },
            orient="row",
        )  # fmt: skip

    def notable_table(self) -> pl.DataFrame:
        """The notable findings as rows of the impact table (same columns and values)."""
        if self.impact is None:
            return pl.DataFrame()
        ids = [e.item_id for e in self.notable]
        table = self.impact.table()
        if not self.impact.settings.trials:
            # the second view was not computed for the review: no empty columns in its export
            table = table.drop(TRIAL_COLUMNS)
        return table.filter(pl.col("item_id").is_in(ids)).sort(
            pl.col("item_id").replace_strict({i: k for k, i in enumerate(ids)}, default=None)
        )


def impact_settings(
    inactive_days: int = DEFAULT_INACTIVE_DAYS, error_control: ErrorControl = "per_item"
) -> ImpactSettings:
    """The social-proof settings of the review: the Impact page's and the CLI's defaults,
    without the sequential-trial view (the review shows the landmark view only; the Impact page
    adds the trials to this same estimate with :func:`analytics.impact.with_trials`)."""
    return ImpactSettings(inactive_days=inactive_days, error_control=error_control, trials=False)


def _comparison(kpi: Kpi, history: Sequence[Kpi]) -> KpiComparison:
    values = tuple(h.value for h in history)
    pending = [h.known_from for h in history if h.known_from is not None]
    known_from = tuple(h.known_from for h in history)
    if pending:
        # an average over weeks of which some are not known yet would compare with a guess
        return KpiComparison(kpi, values, None, None, None, max(pending), known_from)
    if kpi.unit == "share":
        # pooled over the four weeks: members whose day 90 fell in any of them
        n = sum(h.n or 0 for h in history)
        if n == 0:
            return KpiComparison(kpi, values, None, None, 0, None, known_from)
        retained = sum(round((h.value or 0.0) * (h.n or 0)) for h in history)
        return KpiComparison(
            kpi, values, retained / n, wilson_interval(retained, n), n, None, known_from
        )
    known = [v for v in values if v is not None]
    average = sum(known) / len(known) if len(known) == len(values) and known else None
    return KpiComparison(kpi, values, average, None, None, None, known_from)


def _used_p(effect: ItemEffect) -> float | None:
    """The adjusted p-value the item's verdict used (its q-value for results made before the
    verdict named its error control)."""
    return effect.adjusted_p if effect.adjusted_p is not None else effect.q_value


def _notable(impact: ImpactResult) -> tuple[ItemEffect, ...]:
    clear = [e for e in impact.items if e.verdict in ("helps", "hurts")]
    return tuple(
        sorted(
            clear,
            key=lambda e: (
                _used_p(e) if _used_p(e) is not None else 1.0,
                -abs(e.effect or 0.0),
                e.item_id,
            ),
        )
    )


def weekly_review(
    community: Community,
    week: str | date,
    *,
    inactive_days: int = DEFAULT_INACTIVE_DAYS,
    impact: ImpactResult | None = None,
    milestones: MilestoneResult | None = None,
    progress: Progress | None = None,
    error_control: ErrorControl = "per_item",
) -> WeeklyReview:
    """Review one complete ISO week of ``community``.

    Parameters
    ----------
    community
        The validated community (segment filters applied before, as on the pages).
    week
        ``"2026-W46"`` or any day of the week.
    inactive_days
        Quiet days before silent churn, as in the sidebar and ``--inactive-days``.
    error_control
        Which error the social-proof verdicts control (``--error-control``): "per_item" (Holm)
        or "fdr" (Benjamini–Hochberg).
    impact, milestones
        The social-proof and milestone analyses of this same community when already computed
        (a page computes them as steps of their own): ``estimate_effects`` with
        :func:`impact_settings` and ``sensitivity=False``, ``estimate_milestones`` with
        ``MilestoneSettings()``. Computed here when not given.
    progress
        Called with ``(step, fraction done)`` as the review is computed.

    Raises
    ------
    WeekError
        When the week is malformed or not a complete week inside the data; the message names
        the weeks that can be reviewed.
    ValueError
        When ``impact`` or ``milestones`` were computed with other settings.
    """
    expected = impact_settings(inactive_days, error_control)
    # an estimate with the trial view added has the same landmark view the review shows
    if impact is not None and replace(impact.settings, trials=False) != expected:
        raise InputError(
            "The weekly review uses the social-proof effects with the default settings "
            f"({expected}), not {impact.settings}."
        )
    if milestones is not None and milestones.settings != MilestoneSettings():
        raise InputError(
            "The weekly review uses the milestone effects with the default settings "
            f"({MilestoneSettings()}), not {milestones.settings}."
        )
    report = progress or (lambda _s, _f: None)
    monday = resolve_week(community, week)
    weeks = available_weeks(community)
    assert weeks is not None  # resolve_week checked it
    period = week_period(monday)

    community.keep_events(before=lambda: report(community.KEEP_STEP, 0.0))
    report(f"Key figures of the week and the {AVERAGE_WEEKS} weeks before", 0.05)
    kpis, *history = overview_kpis_of(
        community,
        [period, *(week_period(monday - k * _ONE_WEEK) for k in range(AVERAGE_WEEKS, 0, -1))],
        inactive_days=inactive_days,
    )
    comparisons = tuple(
        _comparison(kpi, [h[i] for h in history]) for i, kpi in enumerate(kpis)
    )  # fmt: skip

    report("Churn per week", 0.15)
    five_weeks = Period(period.start - AVERAGE_WEEKS * _ONE_WEEK, period.end)
    churn = churn_by_period(
        community.members,
        community.last_activity(),
        as_of=community.as_of,
        period="week",
        inactive_days=inactive_days,
    ).filter(pl.col("period_start").is_between(five_weeks.start.date(), monday))

    report("Signups per day", 0.2)
    signups = signup_series(community, five_weeks, granularity="day")
    recent = milestones_in(community, five_weeks)

    impact_note: str | None = None
    notable: tuple[ItemEffect, ...] = ()
    if community.proof_items is None or not community.has_exposures:
        impact = None
        impact_note = "No social-proof findings: the data has no proof_items and exposures tables."
    else:

        def impact_progress(step: str, fraction: float) -> None:
            report(f"Social-proof effects: {step}", 0.25 + 0.5 * fraction)

        if impact is None:
            # the sensitivity re-runs (other churn definitions) are not shown in the review and
            # do not change the main estimates
            impact = estimate_effects(
                community,
                expected,
                progress=impact_progress,
                sensitivity=False,
            )
        notable = _notable(impact)
        if impact.population_size == 0:
            impact_note = "No member has been followed long enough yet for an outcome to be known."

    milestone_settings = MilestoneSettings()  # the Growth page's defaults (signups, 14 days)
    week_milestones: list[WeekMilestone] = []
    milestones_note: str | None = None
    if community.milestones is None:
        milestones_note = "The data has no milestones table, so no announcements are known."
    elif milestones_in(community, period).height:

        def milestone_progress(step: str, fraction: float) -> None:
            report(f"Milestone effects: {step}", 0.75 + 0.2 * fraction)

        result = milestones or estimate_milestones(
            community, milestone_settings, progress=milestone_progress
        )
        last_day = community.as_of.date()
        for effect in result.effects:
            moment = effect.announced_at
            if not period.start <= moment < period.end:
                continue
            ready = moment.date() + timedelta(days=milestone_settings.window_days - 1)
            week_milestones.append(WeekMilestone(effect, ready if ready > last_day else None))

    report("Writing the summary", 0.97)
    review = WeeklyReview(
        week=week_label(monday),
        period=period,
        as_of=community.as_of,
        inactive_days=inactive_days,
        first_week=week_label(weeks[0]),
        last_week=week_label(weeks[1]),
        kpis=comparisons,
        churn=churn,
        signups=signups,
        recent_milestones=recent,
        impact=impact,
        impact_note=impact_note,
        notable=notable,
        milestone_settings=milestone_settings,
        milestones=tuple(week_milestones),
        milestones_note=milestones_note,
        summary=[],
        method_notes=[],
    )
    review.summary.extend(summary_sentences(review))
    review.method_notes.extend(method_notes(review))
    report("Done", 1.0)
    return review


# -- the written summary ------------------------------------------------------------------------


def _count(value: float) -> str:
    return f"{value:,.0f}"


def _eq(p: float) -> str:
    """``= 0.012`` or ``< 0.001``."""
    text = p_text(p)
    return text if text.startswith("<") else f"= {text}"


def _pct(value: float) -> str:
    return f"{value * 100:.1f} %"


def _ci(ci: tuple[float, float] | None, *, bracket: bool = True) -> str:
    """`` (95 % CI 40.1 to 50.0 %)``, or ``, 95 % CI ...`` inside a bracket already open."""
    if ci is None or any(b is None or math.isnan(b) for b in ci):
        return ""
    text = f"95 % CI {ci[0] * 100:.1f} to {ci[1] * 100:.1f} %"
    return f" ({text})" if bracket else f", {text}"


def _count_change(change: float, *, more: str = "more", fewer: str = "fewer") -> str:
    if round(change) == 0:
        return "as many as"
    return f"{_count(abs(change))} {more if change > 0 else fewer} than"


def _relative(value: float, reference: float) -> str:
    """'12 % above' / '3 % below' / 'the same as' the reference."""
    if reference == 0:
        return "above" if value > 0 else "the same as"
    ratio = value / reference - 1
    if round(ratio * 100) == 0:
        return "about the same as"
    return f"{abs(ratio) * 100:.0f} % {'above' if ratio > 0 else 'below'}"


def _points(change: float) -> str:
    points = change * 100
    if round(points, 1) == 0:
        return "unchanged from"
    return f"{abs(points):.1f} points {'higher' if points > 0 else 'lower'} than"


def summary_sentences(review: WeeklyReview) -> list[str]:
    """Templated sentences, each stating a computed number (with its interval where it has
    one) and a direction word that matches its sign."""
    out: list[str] = []
    new = review.kpi(KpiName.NEW_MEMBERS)
    assert new.kpi.value is not None
    assert new.kpi.previous is not None
    sentence = (
        f"In {review.week} ({review.days_label}) {_count(new.kpi.value)} members joined, "
        f"{_count_change(new.kpi.value - new.kpi.previous)} the week before "
        f"({_count(new.kpi.previous)})"
    )
    if new.average is not None:
        sentence += (
            f" and {_relative(new.kpi.value, new.average)} the average of the "
            f"{AVERAGE_WEEKS} weeks before ({new.average:,.1f} per week)"
        )
    out.append(sentence + ".")

    members = review.kpi(KpiName.MEMBERS)
    assert members.kpi.value is not None
    assert members.kpi.previous is not None
    out.append(
        f"The week ended with {_count(members.kpi.value)} members"
        + (f" ({members.kpi.note})" if members.kpi.note else "")
        + f", {_count_change(members.kpi.value - members.kpi.previous)} a week earlier."
    )
    active = review.kpi(KpiName.ACTIVE_MEMBERS)
    assert active.kpi.value is not None
    assert active.kpi.previous is not None
    out.append(
        f"{_count(active.kpi.value)} members were active in the 30 days before the week ended, "
        f"{_count_change(active.kpi.value - active.kpi.previous)} a week earlier."
    )

    row = review.churn_week()
    if row is not None and row["known"] and row["rate"] is not None:
        assert isinstance(row["rate"], float)
        sentence = (
            f"{row['churned']:,} members churned during the week, "
            f"{_pct(row['rate'])} of the {row['members']:,} who were members in it"
            f"{_ci((row['ci_low'], row['ci_high']))}"  # type: ignore[arg-type]
        )
        before = review.churn.filter(pl.col("period_start") < review.period.start.date())
        if before.height and before["known"][-1] and before["rate"][-1] is not None:
            previous_rate = float(before["rate"][-1])
            sentence += f"; the week before, {_pct(previous_rate)}"
        out.append(sentence + ".")
    else:
        out.append(
            f"Churn in the week is not known yet: a member counts as churned only after "
            f"{review.inactive_days} quiet days, so it will be "
            f"{known_from_text(review.churn_known_on())}."
        )

    retention = review.kpi(KpiName.RETENTION_90D)
    if retention.kpi.value is None:
        out.append(
            f"No member reached their day {RETENTION_DAYS} in the week, so there is no "
            f"{RETENTION_DAYS}-day retention for it."
        )
    else:
        sentence = (
            f"Of the {retention.kpi.n:,} members whose day {RETENTION_DAYS} fell in the week, "
            f"{_pct(retention.kpi.value)}{_ci(retention.kpi.ci)} were still active then"
        )
        parts = []
        if retention.kpi.previous is not None:
            parts.append(
                f"{_points(retention.kpi.value - retention.kpi.previous)} the week before "
                f"({_pct(retention.kpi.previous)})"
            )
        if retention.average is not None:
            parts.append(
                f"{_points(retention.kpi.value - retention.average)} the {AVERAGE_WEEKS} weeks "
                f"before ({_pct(retention.average)}{_ci(retention.average_ci, bracket=False)})"
            )
        if parts:
            sentence += ": " + " and ".join(parts)
        out.append(sentence + ".")

    if review.impact is None:
        out.append(review.impact_note or "No social-proof findings.")
    else:
        analysed = len(review.impact.items)
        estimable = sum(e.effect is not None for e in review.impact.items)
        threshold = threshold_words(review.impact.settings)
        if not review.notable:
            out.append(
                f"None of the {analysed} proof items ({estimable} with an estimate) showed an "
                "effect on retention that stands out from chance after correcting for testing "
                f"many items, at {threshold}."
            )
        else:
            helps = sum(e.verdict == "helps" for e in review.notable)
            hurts = len(review.notable) - helps
            out.append(
                f"Of {analysed} proof items, {helps} {'goes' if helps == 1 else 'go'} with members "
                f"staying and {hurts} with members leaving, after correcting for testing many "
                f"items, at {threshold}; the clearest of each:"
            )
            # the hurting items are named as the helping ones are, each up to MAX_NOTABLE
            named = [e for e in review.notable if e.verdict == "helps"][:MAX_NOTABLE] + [
                e for e in review.notable if e.verdict == "hurts"
            ][:MAX_NOTABLE]
            for effect in named:
                used = _used_p(effect)
                out.append(
                    f"{effect.sentence(review.impact.settings)} "
                    f"({adjusted_p_name(review.impact.settings)} {_eq(used)})"
                    if used is not None
                    else effect.sentence(review.impact.settings)
                )

    if review.milestones_note is not None:
        out.append(review.milestones_note)
    elif not review.milestones:
        out.append("No milestone was announced in the week.")
    for m in review.milestones:
        e = m.effect
        window = review.milestone_settings.window_days
        said = f"{quoted(e.title)} was announced on {e.announced_at:%Y-%m-%d}"
        if m.available_on is not None:
            out.append(
                f"{said}; its {window}-day window has not ended yet, so its effect on signups "
                f"can be estimated with data as of {m.available_on:%Y-%m-%d}."
            )
        elif e.uplift is None or e.ci_low is None or e.ci_high is None:
            out.append(f"{said}; its effect cannot be estimated: {e.reason}.")
        else:
            direction = "more" if e.uplift >= 0 else "fewer"
            verdict = MILESTONE_VERDICT_WORDS.get(e.verdict, e.verdict)
            out.append(
                f"{said}: in the {window} days from it, {e.observed:,} members signed up, "
                f"{abs(e.uplift) * 100:.0f} % {direction} than the {e.expected:,.0f} expected "
                f"without it (95 % CI {signed_bound(e.ci_low * 100)} to "
                f"{signed_bound(e.ci_high * 100)} %"
                + ("" if e.p_value is None else f", p {_eq(e.p_value)}")
                + f"), {verdict}."
            )
    return out


def method_notes(review: WeeklyReview) -> list[str]:
    """What a reader needs to know to trust the figures."""
    notes = [
        f"Weeks are ISO weeks, Monday 00:00 to Monday 00:00 UTC. Data as of "
        f"{review.as_of:%Y-%m-%d %H:%M} UTC; weeks {review.first_week} to {review.last_week} "
        "can be reviewed.",
        "Churn: " + churn_definition(review.inactive_days),
        f"{RETENTION_DAYS}-day retention: of the members whose day {RETENTION_DAYS} fell in the "
        f"week, the share still showing signs of life on or after that day. The "
        f"{AVERAGE_WEEKS}-week figure pools the members of the {AVERAGE_WEEKS} weeks before; "
        f"counts are averaged over those weeks.",
        "Intervals are 95 %: Wilson intervals for shares (retention, churn rate); "
        "for social-proof effects, intervals of the doubly robust estimator, and verdicts that "
        "correct for testing many items (Holm-adjusted p-values by default: each flagged item "
        "alone has at most a 1-in-20 chance of being a false alarm; or Benjamini–Hochberg "
        "q-values: fewer than 1 in 20 flagged items are false alarms); for milestones, "
        "intervals and p-values calibrated on placebo dates without an announcement.",
    ]
    if review.impact is not None:
        s = review.impact.settings
        notes.append(
            f"Social-proof findings use a landmark: among {population_words(s)}, those who "
            f"saw or earned the item in their first {s.landmark_days} days are compared with "
            "similar members who did not (early activity, join time, attributes) on whether "
            f"they were still members {s.horizon_days} days later. They cover every member "
            "whose outcome is known by the as-of time, not only this week's. They are estimates "
            "from observational data: a factor that drives both exposure and staying but is not "
            "in the data can still bias them, so read them as strong hints, not proof."
        )
    if review.milestones or review.milestones_note is None:
        notes.append(
            f"Milestone effects compare signups in the {review.milestone_settings.window_days} "
            f"days from an announcement with what the {review.milestone_settings.pre_days // 7} "
            "weeks before predict (trend that may bend and weekday pattern). Announcements tend "
            "to come during growth spurts, which the model can only partly tell apart from an "
            "effect."
        )
    return notes
