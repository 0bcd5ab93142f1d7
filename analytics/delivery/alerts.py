"""Alerts: something changed that a community lead should hear about before the next review.

Three kinds, each with a key that names its occurrence, so that it is sent once:

- **verdict change**: a proof item's verdict (helps, hurts, no evidence, not identifiable) is not
  what it was a week earlier (the effects as of the run against the effects as of seven days
  before), e.g. ``verdict:p003:2026-W43:no_evidence->hurts``;
- **out of range**: the last complete week's new members, or the churn rate of the last week
  whose churn is known, is below the lowest or above the highest of the ``range_weeks`` weeks
  before it (``new_members:2026-W43``, ``churn:2026-W39``);
- **milestone estimate**: a milestone's estimated effect on signups became available (its window
  ended) since the start of the reviewed week (``milestone:m004``).

Nothing here defines a figure anew: new members come from :func:`analytics.growth.signup_series`,
churn from :func:`analytics.churn.churn_by_period`, verdicts from
:func:`analytics.impact.estimate_effects` and milestone effects from
:func:`analytics.milestones.estimate_milestones`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import polars as pl

from analytics.churn import churn_by_period
from analytics.community import Community
from analytics.growth import signup_series
from analytics.impact import ImpactResult, threshold_words
from analytics.milestones import MILESTONE_VERDICT_WORDS, MilestoneResult
from analytics.periods import Period
from analytics.vocabulary import quoted, signed_bound

_ONE_WEEK = timedelta(days=7)
VERDICT_WORDS = {
    "helps": "helps",
    "hurts": "hurts",
    "no_evidence": "no evidence",
    "not_identifiable": "not identifiable",
}


@dataclass(frozen=True)
class Alert:
    """One occurrence worth telling.

    ``key`` identifies the occurrence (it is sent once per subscription and channel), ``title``
    is one line (the e-mail subject), ``text`` says what happened with its numbers.
    """

    key: str
    kind: str
    title: str
    text: str


def _label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def verdict_changes(
    before: ImpactResult,
    after: ImpactResult,
    *,
    week: str,
    before_as_of: datetime,
    after_as_of: datetime,
) -> list[Alert]:
    """Proof items whose verdict in ``after`` (data as of ``after_as_of``) differs from
    ``before`` (as of ``before_as_of``); items new in ``after`` have no earlier verdict and are
    left out."""
    earlier = {e.item_id: e for e in before.items}
    out = []
    for effect in after.items:
        old = earlier.get(effect.item_id)
        if old is None or old.verdict == effect.verdict:
            continue
        was, now = VERDICT_WORDS[old.verdict], VERDICT_WORDS[effect.verdict]
        out.append(
            Alert(
                key=f"verdict:{effect.item_id}:{week}:{old.verdict}->{effect.verdict}",
                kind="verdict_change",
                title=f"{quoted(effect.title)} now: {now} (was {was})",
                text=(
                    f"The verdict on {quoted(effect.title)} ({effect.kind}) changed from {was} "
                    f"(data as of {before_as_of:%Y-%m-%d}) to {now} (data as of "
                    f"{after_as_of:%Y-%m-%d}); helps and hurts mean "
                    f"{threshold_words(after.settings)}. {effect.sentence(after.settings)}"
                ),
            )
        )
    return out


def _outside(value: float, history: list[float]) -> str | None:
    low, high = min(history), max(history)
    if value < low:
        return "below"
    if value > high:
        return "above"
    return None


def range_alerts(
    community: Community, week: date, *, inactive_days: int, range_weeks: int = 8
) -> list[Alert]:
    """New members of the week starting on ``week``, and the churn rate of the last week whose
    churn is known, against the lowest and highest of the ``range_weeks`` weeks before each."""
    out = []
    start = datetime.combine(week - range_weeks * _ONE_WEEK, time(), tzinfo=UTC)
    end = datetime.combine(week + _ONE_WEEK, time(), tzinfo=UTC)
    signups = signup_series(community, Period(start, end), granularity="week")
    counts = [float(v) for v in signups["signups"]]
    if len(counts) == range_weeks + 1:
        value, history = counts[-1], counts[:-1]
        side = _outside(value, history)
        if side is not None:
            out.append(
                Alert(
                    key=f"new_members:{_label(week)}",
                    kind="kpi_range",
                    title=f"New members in {_label(week)}: {value:,.0f}, {side} the usual range",
                    text=(
                        f"{value:,.0f} members joined in {_label(week)}, {side} the range of the "
                        f"{range_weeks} weeks before ({min(history):,.0f} to "
                        f"{max(history):,.0f} per week)."
                    ),
                )
            )
    churn = churn_by_period(
        community.members,
        community.last_activity(),
        as_of=community.as_of,
        period="week",
        inactive_days=inactive_days,
    ).filter(pl.col("known") & pl.col("rate").is_not_null())
    churn = churn.filter(pl.col("period_start") <= week)
    if churn.height > range_weeks:
        last = churn.row(churn.height - 1, named=True)
        before = churn.slice(churn.height - 1 - range_weeks, range_weeks)
        history = [float(v) for v in before["rate"]]
        side = _outside(float(last["rate"]), history)
        if side is not None:
            label = _label(last["period_start"])
            out.append(
                Alert(
                    key=f"churn:{label}",
                    kind="kpi_range",
                    title=f"Churn in {label}: {last['rate'] * 100:.1f} %, {side} the usual range",
                    text=(
                        f"{last['churned']:,} of the {last['members']:,} members churned in "
                        f"{label} ({last['rate'] * 100:.1f} %), the latest week whose churn is "
                        f"known (after {inactive_days} quiet days); that is {side} the range of "
                        f"the {range_weeks} weeks before ({min(history) * 100:.1f} to "
                        f"{max(history) * 100:.1f} %)."
                    ),
                )
            )
    return out


def milestone_alerts(community: Community, result: MilestoneResult, *, since: date) -> list[Alert]:
    """Milestones whose estimate became available (their window ended) between ``since`` and
    the as-of day, with the estimate."""
    window = result.settings.window_days
    last_day = community.as_of.date()
    out = []
    for e in result.effects:
        ready = e.announced_at.date() + timedelta(days=window - 1)
        if not since <= ready <= last_day or e.uplift is None:
            continue
        if e.ci_low is None or e.ci_high is None or e.observed is None or e.expected is None:
            continue
        direction = "more" if e.uplift >= 0 else "fewer"
        verdict = MILESTONE_VERDICT_WORDS.get(e.verdict, e.verdict)
        out.append(
            Alert(
                key=f"milestone:{e.milestone_id}",
                kind="milestone_estimate",
                title=f"Milestone {quoted(e.title)}: estimate available ({e.uplift * 100:+.0f} %)",
                text=(
                    f"{quoted(e.title)} was announced on {e.announced_at:%Y-%m-%d}: in the "
                    f"{window} days from it, {e.observed:,} members signed up, "
                    f"{abs(e.uplift) * 100:.0f} % "
                    f"{direction} than the {e.expected:,.0f} expected without it (95 % CI "
                    f"{signed_bound(e.ci_low * 100)} to {signed_bound(e.ci_high * 100)} %), "
                    f"{verdict}."
                ),
            )
        )
    return out
