"""The Overview's key figures for a period, each against the period before it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import polars as pl

from analytics.churn import DEFAULT_INACTIVE_DAYS, churn_table
from analytics.community import Community
from analytics.periods import Period
from analytics.queries.active import active_between
from analytics.queries.events import to_us
from analytics.stats import wilson_interval

ACTIVE_WINDOW_DAYS = 30
RETENTION_DAYS = 90


@dataclass(frozen=True)
class Kpi:
    """One key figure: its value in the period and in the previous period.

    ``ci`` and ``previous_ci`` are 95 % intervals for figures that estimate a rate (``None`` for
    plain counts); ``n`` is the number of members a rate is based on.
    """

    key: str
    label: str
    unit: Literal["members", "share"]
    value: float | None
    previous: float | None
    help: str
    ci: tuple[float, float] | None = None
    previous_ci: tuple[float, float] | None = None
    n: int | None = None
    previous_n: int | None = None

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


def _active(community: Community, *moments: datetime) -> list[int]:
    """Members with activity in the ACTIVE_WINDOW_DAYS before each moment (one pass)."""
    activity = community.frames().activity()
    window = timedelta(days=ACTIVE_WINDOW_DAYS)
    found = community.collect(
        active_between(activity, [(to_us(m - window), to_us(m)) for m in moments])
    )[0]
    return [int(v) for v in found.sort("window")["active"]]


def _churned(status: pl.DataFrame, period: Period) -> int:
    return status.filter(
        pl.col("churned_at").is_between(period.start, period.end, closed="left")
    ).height


def _retention(
    status: pl.DataFrame, period: Period, as_of: datetime
) -> tuple[float | None, tuple[float, float] | None, int]:
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
    status = churn_table(
        community.members,
        community.last_activity(),
        as_of=community.as_of,
        inactive_days=inactive_days,
    ).join(community.members.select("member_id", "left_at"), on="member_id")
    previous = period.previous()
    active = _active(community, period.end, previous.end)
    ret, ret_ci, ret_n = _retention(status, period, community.as_of)
    prev_ret, prev_ret_ci, prev_ret_n = _retention(status, previous, community.as_of)
    return [
        Kpi(
            key="members",
            label="Members",
            unit="members",
            value=_members_at(status, period.end),
            previous=_members_at(status, previous.end),
            help="Members who had joined and not churned by the end of the period.",
        ),
        Kpi(
            key="new_members",
            label="New members",
            unit="members",
            value=_new(status, period),
            previous=_new(status, previous),
            help="Members who joined during the period.",
        ),
        Kpi(
            key="active_members",
            label=f"Active ({ACTIVE_WINDOW_DAYS} days)",
            unit="members",
            value=active[0],
            previous=active[1],
            help=(
                f"Members with at least one activity in the {ACTIVE_WINDOW_DAYS} days before the "
                "end of the period."
            ),
        ),
        Kpi(
            key="churned",
            label="Churned",
            unit="members",
            value=_churned(status, period),
            previous=_churned(status, previous),
            help=(
                f"Members who churned during the period. Churn is known only after "
                f"{inactive_days} quiet days, so the last {inactive_days} days before the as-of "
                "time undercount it."
            ),
        ),
        Kpi(
            key="retention_90d",
            label=f"{RETENTION_DAYS}-day retention",
            unit="share",
            value=ret,
            previous=prev_ret,
            ci=ret_ci,
            previous_ci=prev_ret_ci,
            n=ret_n,
            previous_n=prev_ret_n,
            help=(
                f"Of the members whose day {RETENTION_DAYS} fell in the period, the share still "
                f"showing signs of life on or after day {RETENTION_DAYS} (and not departed before "
                "it), with a 95 % Wilson interval."
            ),
        ),
    ]


def kpi_frame(kpis: list[Kpi]) -> pl.DataFrame:
    """The KPIs as a table for export."""
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
        },
    )
