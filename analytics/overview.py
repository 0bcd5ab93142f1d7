"""The Overview's key figures for a period, each against the period before it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal

import polars as pl

from analytics.activity_windows import MONTHLY_ACTIVE_DAYS, active_window, last_complete_day
from analytics.churn import DEFAULT_INACTIVE_DAYS
from analytics.community import Community
from analytics.known import Knowable, churn_status, not_known_text, period_status
from analytics.periods import Period
from analytics.queries.active import active_between
from analytics.queries.events import to_us
from analytics.stats import wilson_interval

ACTIVE_WINDOW_DAYS = MONTHLY_ACTIVE_DAYS
RETENTION_DAYS = 90


class KpiName(StrEnum):
    """The key figures, by the name JSON, CSV and code use for them (``Kpi.key``)."""

    MEMBERS = "members"
    NEW_MEMBERS = "new_members"
    ACTIVE_MEMBERS = "active_members"
    CHURNED = "churned"
    RETENTION_90D = "retention_90d"


@dataclass(frozen=True)
class Kpi:
    """One key figure: its value in the period and in the previous period.

    ``ci`` and ``previous_ci`` are 95 % intervals for figures that estimate a rate (``None`` for
    plain counts); ``n`` is the number of members a rate is based on.

    A figure that cannot be known yet at the as-of time (see :mod:`analytics.known`) has
    ``value`` (or ``previous``) ``None`` and ``known_from`` (``previous_known_from``) the first
    as-of day on which it will be; its change is then ``None`` too. ``note`` says what a figure
    includes that a reader could not guess (e.g. members whose churn is not known yet).
    """

    key: KpiName
    label: str
    unit: Literal["members", "share"]
    value: float | None
    previous: float | None
    help: str
    ci: tuple[float, float] | None = None
    previous_ci: tuple[float, float] | None = None
    n: int | None = None
    previous_n: int | None = None
    known_from: date | None = None
    previous_known_from: date | None = None
    note: str | None = None

    @property
    def known(self) -> bool:
        """Whether the figure of the period is known at the as-of time."""
        return self.known_from is None

    @property
    def previous_known(self) -> bool:
        return self.previous_known_from is None

    def shown(self) -> str | None:
        """``None`` for a known figure, else the words shown instead of it."""
        return None if self.known else not_known_text(self.known_from)

    @property
    def change(self) -> float | None:
        """Value minus previous value (in members, or in share points for rates)."""
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


def _at(moment: datetime) -> pl.Expr:
    return pl.lit(moment)


def _members_at(status: pl.DataFrame, moment: datetime) -> int:
    return status.filter(
        (pl.col("joined_at") < moment)
        & (pl.col("churned_at").is_null() | (pl.col("churned_at") >= moment))
    ).height


def _new(status: pl.DataFrame, period: Period) -> int:
    return status.filter(
        pl.col("joined_at").is_between(period.start, period.end, closed="left")
    ).height


def _active(community: Community, *ends: datetime) -> list[int]:
    """Members with activity in the ACTIVE_WINDOW_DAYS whole days ending with the last complete
    day before each period end (one pass): the Engagement page's "monthly active" of that day
    (see :mod:`analytics.activity_windows`)."""
    activity = community.frames().activity()
    windows = [active_window(last_complete_day(end)) for end in ends]
    found = community.collect(
        active_between(activity, [(to_us(start), to_us(end)) for start, end in windows])
    )[0]
    return [int(v) for v in found.sort("window")["active"]]


def _pending(status: pl.DataFrame, moment: datetime) -> int:
    """Members counted at ``moment`` whose churn before it is not known yet: not churned, and no
    sign of life since before ``moment`` (they may still turn out to have churned by then)."""
    return status.filter(
        (pl.col("joined_at") < moment)
        & pl.col("churned_at").is_null()
        & (pl.col("last_active_at") < moment)
    ).height


def _churned(status: pl.DataFrame, period: Period, known: Knowable) -> int | None:
    if not known.known:
        return None
    return status.filter(
        pl.col("churned_at").is_between(period.start, period.end, closed="left")
    ).height


def _retention(
    status: pl.DataFrame, period: Period, as_of: datetime
) -> tuple[float | None, tuple[float, float] | None, int]:
    if not period_status(period.end, as_of=as_of).known:
        return None, None, 0
    day_n = pl.col("joined_at") + timedelta(days=RETENTION_DAYS)
    eligible = status.filter(
        day_n.is_between(period.start, period.end, closed="left") & (day_n <= _at(as_of))
    )
    n = eligible.height
    if n == 0:
        return None, None, 0
    retained = eligible.filter(
        (pl.col("last_active_at") >= day_n)
        & (pl.col("left_at").is_null() | (pl.col("left_at") >= day_n))
    ).height
    return retained / n, wilson_interval(retained, n), n


def overview_kpis(
    community: Community,
    period: Period,
    *,
    inactive_days: int = DEFAULT_INACTIVE_DAYS,
) -> list[Kpi]:
    """Members, new members, active members, churned members and 90-day retention for
    ``period``, each with its value in the previous period of equal length."""
    (kpis,) = overview_kpis_of(community, [period], inactive_days=inactive_days)
    return kpis


def overview_kpis_of(
    community: Community,
    periods: Sequence[Period],
    *,
    inactive_days: int = DEFAULT_INACTIVE_DAYS,
) -> list[list[Kpi]]:
    """:func:`overview_kpis` of each of ``periods``, with the active members of every period
    and the one before it counted in one pass over the activity (the weekly review compares a
    week with the four before it: one pass rather than five)."""
    status = community.churn_status(inactive_days).join(
        community.members.select("member_id", "left_at"), on="member_id"
    )
    ends = sorted({end for p in periods for end in (p.end, p.previous().end)})
    counted = dict(zip(ends, _active(community, *ends), strict=True))
    return [
        _kpis(
            community,
            status,
            period,
            (counted[period.end], counted[period.previous().end]),
            inactive_days=inactive_days,
        )
        for period in periods
    ]


def _kpis(
    community: Community,
    status: pl.DataFrame,
    period: Period,
    active: tuple[int, int],
    *,
    inactive_days: int,
) -> list[Kpi]:
    previous = period.previous()
    as_of = community.as_of
    churn_known = churn_status(period.end, as_of=as_of, inactive_days=inactive_days)
    previous_churn_known = churn_status(previous.end, as_of=as_of, inactive_days=inactive_days)
    ret_known = period_status(period.end, as_of=as_of)
    prev_ret_known = period_status(previous.end, as_of=as_of)
    pending = _pending(status, period.end)
    churn_note = None
    known_until = as_of + timedelta(microseconds=1) - timedelta(days=inactive_days)
    if not churn_known.known and period.start < known_until:
        # the part of the period whose churn is known: said in words, never as the tile's value
        part = Period(period.start, known_until)
        churn_note = (
            f"{_churned(status, part, Knowable.yes()):,} churned up to "
            f"{known_until - timedelta(microseconds=1):%Y-%m-%d}; later churn is not known yet"
        )
    ret, ret_ci, ret_n = _retention(status, period, community.as_of)
    prev_ret, prev_ret_ci, prev_ret_n = _retention(status, previous, community.as_of)
    return [
        Kpi(
            key=KpiName.MEMBERS,
            label="Members",
            unit="members",
            value=_members_at(status, period.end),
            previous=_members_at(status, previous.end),
            help=(
                "Members who had joined and not churned by the end of the period. Members who "
                f"went quiet less than {inactive_days} days before the as-of time still count: "
                "their churn is not known yet."
            ),
            note=(f"includes {pending:,} whose churn is not known yet" if pending else None),
        ),
        Kpi(
            key=KpiName.NEW_MEMBERS,
            label="New members",
            unit="members",
            value=_new(status, period),
            previous=_new(status, previous),
            help="Members who joined during the period.",
        ),
        Kpi(
            key=KpiName.ACTIVE_MEMBERS,
            label=f"Active ({ACTIVE_WINDOW_DAYS} days)",
            unit="members",
            value=active[0],
            previous=active[1],
            help=(
                f"Members with at least one activity in the {ACTIVE_WINDOW_DAYS} days ending with "
                "the period's last complete day (UTC); the Engagement page's monthly active for "
                "that day."
            ),
        ),
        Kpi(
            key=KpiName.CHURNED,
            label="Churned",
            unit="members",
            value=_churned(status, period, churn_known),
            previous=_churned(status, previous, previous_churn_known),
            help=(
                f"Members who churned during the period. Churn is known only after "
                f"{inactive_days} quiet days, so churn in a period that ended less than "
                f"{inactive_days} days before the as-of time is not known yet and not shown."
            ),
            known_from=churn_known.known_from,
            previous_known_from=previous_churn_known.known_from,
            note=churn_note,
        ),
        Kpi(
            key=KpiName.RETENTION_90D,
            label=f"{RETENTION_DAYS}-day retention",
            unit="share",
            value=ret,
            previous=prev_ret,
            ci=ret_ci,
            previous_ci=prev_ret_ci,
            n=ret_n,
            previous_n=prev_ret_n,
            known_from=ret_known.known_from,
            previous_known_from=prev_ret_known.known_from,
            help=(
                f"Of the members whose day {RETENTION_DAYS} fell in the period, the share still "
                f"showing signs of life on or after day {RETENTION_DAYS} (and not departed before "
                "it), with a 95 % Wilson interval."
            ),
        ),
    ]


def kpi_frame(kpis: list[Kpi]) -> pl.DataFrame:
    """The KPIs as a table for export: a figure not known yet is null with ``known_from``, the
    first as-of day on which it will be known (never 0)."""
    return pl.DataFrame(
        {
            "kpi": [k.label for k in kpis],
            "unit": [k.unit for k in kpis],
            "value": [k.value for k in kpis],
            "ci_low": [k.ci[0] if k.ci else None for k in kpis],
            "ci_high": [k.ci[1] if k.ci else None for k in kpis],
            "n": [k.n for k in kpis],
            "previous": [k.previous for k in kpis],
            "previous_ci_low": [k.previous_ci[0] if k.previous_ci else None for k in kpis],
            "previous_ci_high": [k.previous_ci[1] if k.previous_ci else None for k in kpis],
            "change": [k.change for k in kpis],
            "known_from": [k.known_from for k in kpis],
            "previous_known_from": [k.previous_known_from for k in kpis],
            "note": [k.note for k in kpis],
            "definition": [k.help for k in kpis],
        },
        schema_overrides={
            "value": pl.Float64,
            "ci_low": pl.Float64,
            "ci_high": pl.Float64,
            "n": pl.Int64,
            "previous": pl.Float64,
            "previous_ci_low": pl.Float64,
            "previous_ci_high": pl.Float64,
            "change": pl.Float64,
            "known_from": pl.Date,
            "previous_known_from": pl.Date,
            "note": pl.String,
        },
    )


def kpi_json(kpis: list[Kpi]) -> list[dict[str, object]]:
    """The KPIs as JSON-ready objects: a figure not known yet is ``null`` with ``known_from``
    (the first as-of day on which it will be known, ISO date), never 0."""

    def day(value: date | None) -> str | None:
        return None if value is None else value.isoformat()

    return [
        {
            "key": k.key,
            "label": k.label,
            "unit": k.unit,
            "value": k.value,
            "ci_low": k.ci[0] if k.ci else None,
            "ci_high": k.ci[1] if k.ci else None,
            "n": k.n,
            "known_from": day(k.known_from),
            "previous": k.previous,
            "previous_known_from": day(k.previous_known_from),
            "change": k.change,
            "note": k.note,
        }
        for k in kpis
    ]
