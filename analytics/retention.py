"""Retention periods and the cohort matrix.

Retention period k of a member is the window ``[joined_at + k·P, joined_at + (k+1)·P)`` with
P = 7 days (``week``) or 30 days (``month``); the member is retained in period k when they have
at least one activity row in that window. Cohorts are the calendar week (Monday, UTC) or
calendar month of ``joined_at``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

import narwhals.stable.v2 as nw
import polars as pl

from analytics.community import Community
from analytics.errors import InputError
from analytics.queries.cohorts import cohort_cells, member_cohort
from analytics.queries.events import to_us
from analytics.stats import wilson_interval

RetentionPeriod = Literal["week", "month"]
PERIOD_DAYS: dict[str, int] = {"week": 7, "month": 30}
_TRUNCATE: dict[str, str] = {"week": "1w", "month": "1mo"}
_US_PER_DAY = 86_400_000_000


def check_period(period: str) -> RetentionPeriod:
    if period not in PERIOD_DAYS:
        raise InputError(f"period must be 'week' or 'month', got {period!r}.")
    return period  # type: ignore[return-value]


def retention_definition(period: str) -> str:
    days = PERIOD_DAYS[check_period(period)]
    return (
        f"A member counts as retained in {period} k when they did anything (any activity row) "
        f"between day {days}·k and day {days}·(k+1) after joining. {period.capitalize()} 0 is "
        f"their first {days} days."
    )


@dataclass(frozen=True)
class CohortMatrix:
    """Share of each join cohort retained in each period after joining.

    ``cells`` has one row per cohort and period k up to the last period complete for at least
    one cohort: ``cohort`` (first day), ``k``, ``size``, ``retained`` and ``share`` (null where
    the cell is incomplete: its window ends after the as-of time for some member of the
    cohort), ``complete``. ``average`` has, per k, the size-weighted average over the cohorts
    whose cell is complete (zero-retention cohorts included), with a 95 % Wilson interval.
    """

    period: RetentionPeriod
    as_of: datetime
    cells: pl.DataFrame
    average: pl.DataFrame

    @property
    def periods(self) -> int:
        """How many periods (k = 0 .. periods-1) the matrix lists."""
        return 0 if self.cells.is_empty() else int(self.cells["k"].max()) + 1  # type: ignore[arg-type]

    def cohorts(self) -> pl.DataFrame:
        """Cohorts with their size and number of complete periods, oldest first."""
        return (
            self.cells.group_by("cohort")
            .agg(pl.col("size").first(), pl.col("complete").sum().alias("complete_periods"))
            .sort("cohort")
        )

    def wide(self) -> pl.DataFrame:
        """One row per cohort, one column per period (``k0``, ``k1``, ...) holding the share."""
        if self.cells.is_empty():
            return pl.DataFrame(schema={"cohort": pl.Date, "size": pl.Int64})
        wide = self.cells.pivot(on="k", index=["cohort", "size"], values="share", sort_columns=True)
        return wide.rename({str(k): f"k{k}" for k in range(self.periods)}).sort("cohort")

    def to_json(self) -> dict[str, Any]:
        """The CLI's JSON object: ``period``, ``as_of`` and ``cohorts`` with their shares."""
        rows = (
            self.cells.sort("cohort", "k")
            .group_by("cohort", maintain_order=True)
            .agg(pl.col("size").first(), pl.col("share"))
        )
        return {
            "period": self.period,
            "as_of": self.as_of.isoformat(),
            "cohorts": [
                {"cohort": c.isoformat(), "size": int(n), "retention": list(shares)}
                for c, n, shares in rows.iter_rows()
            ],
        }


def cohort_matrix(
    community: Community,
    *,
    period: str = "week",
    first_cohort: date | None = None,
    last_cohort: date | None = None,
) -> CohortMatrix:
    """Build the cohort matrix (see :class:`CohortMatrix`).

    Parameters
    ----------
    community
        The validated community (apply segment filters before).
    period
        ``"week"`` (P = 7 days, cohorts by calendar week) or ``"month"`` (P = 30 days,
        cohorts by calendar month).
    first_cohort, last_cohort
        Keep members who joined on or after / on or before these days (UTC).
    """
    period = check_period(period)
    step_us = PERIOD_DAYS[period] * _US_PER_DAY
    as_of = community.as_of
    members = community.members.lazy().select("member_id", "joined_at")
    if first_cohort is not None:
        members = members.filter(pl.col("joined_at").dt.date() >= first_cohort)
    if last_cohort is not None:
        members = members.filter(pl.col("joined_at").dt.date() <= last_cohort)
    members = members.with_columns(
        pl.col("joined_at").dt.truncate(_TRUNCATE[period]).dt.date().alias("cohort")
    )
    sizes = members.group_by("cohort").agg(
        pl.len().cast(pl.Int64).alias("size"),
        # periods complete for every member of the cohort: judged by its latest joiner
        ((pl.lit(as_of) - pl.col("joined_at").max()).dt.total_microseconds() // step_us)
        .cast(pl.Int64)
        .alias("complete_periods"),
    )
    frames = community.frames()
    activity = frames.activity(member_cohort(period))
    joined = nw.col("joined_at_us")
    if first_cohort is not None:
        activity = activity.filter(joined >= to_us(datetime.combine(first_cohort, time())))
    if last_cohort is not None:
        end = datetime.combine(last_cohort + timedelta(days=1), time())
        activity = activity.filter(joined < to_us(end))
    (cells_found,) = community.collect(cohort_cells(activity, step_us=step_us))
    retained = _cohort_dates(cells_found, period).lazy()
    sizes_df = sizes.collect()
    last_k = (
        int(sizes_df.select(pl.col("complete_periods").max()).item() or 0) - 1
        if sizes_df.height
        else -1
    )
    if last_k < 0:
        empty = pl.DataFrame(
            schema={
                "cohort": pl.Date, "k": pl.Int64, "size": pl.Int64, "retained": pl.Int64,
                "share": pl.Float64, "complete": pl.Boolean,
            }
        )  # fmt: skip
        return CohortMatrix(period, as_of, empty, _average(empty))
    grid = sizes_df.lazy().join(
        pl.LazyFrame({"k": pl.int_range(0, last_k + 1, eager=True).cast(pl.Int64)}), how="cross"
    )
    cells = (
        grid.join(retained.filter(pl.col("k") <= last_k), on=["cohort", "k"], how="left")
        .with_columns((pl.col("k") < pl.col("complete_periods")).alias("complete"))
        .with_columns(
            pl.when(pl.col("complete")).then(pl.col("retained").fill_null(0)).alias("retained")
        )
        .with_columns((pl.col("retained") / pl.col("size")).alias("share"))
        .select("cohort", "k", "size", "retained", "share", "complete")
        .sort("cohort", "k")
        .collect()
    )
    return CohortMatrix(period, as_of, cells, _average(cells))


def _cohort_dates(cells: pl.DataFrame, period: str) -> pl.DataFrame:
    """Cohorts from the query (a week index, or the first moment of a month) as dates."""
    if period == "week":
        day = pl.col("cohort").cast(pl.Int64) * 7 - 3
        cohort = pl.lit(date(1970, 1, 1)) + pl.duration(days=day)
    else:
        cohort = pl.col("cohort").dt.date()
    return cells.select(
        cohort.cast(pl.Date).alias("cohort"),
        pl.col("k").cast(pl.Int64),
        pl.col("retained").cast(pl.Int64),
    ).filter(pl.col("k") >= 0)


def _average(cells: pl.DataFrame) -> pl.DataFrame:
    totals = (
        cells.filter(pl.col("complete"))
        .group_by("k")
        .agg(
            pl.len().cast(pl.Int64).alias("cohorts"),
            pl.col("size").sum().cast(pl.Int64).alias("members"),
            pl.col("retained").sum().cast(pl.Int64).alias("retained"),
        )
        .sort("k")
    )
    bounds = [
        wilson_interval(r, n) for r, n in zip(totals["retained"], totals["members"], strict=True)
    ]
    return totals.with_columns(
        (pl.col("retained") / pl.col("members")).alias("share"),
        pl.Series("ci_low", [b[0] for b in bounds], dtype=pl.Float64),
        pl.Series("ci_high", [b[1] for b in bounds], dtype=pl.Float64),
    )


def recent_cohorts(matrix: CohortMatrix, *, count: int = 3, min_periods: int = 3) -> list[date]:
    """The latest ``count`` cohorts with at least ``min_periods`` complete periods (a sensible
    default selection for the retention curve)."""
    cohorts = matrix.cohorts().filter(pl.col("complete_periods") >= min_periods)
    return cohorts.tail(count)["cohort"].to_list()


def period_window(period: str) -> timedelta:
    return timedelta(days=PERIOD_DAYS[check_period(period)])
