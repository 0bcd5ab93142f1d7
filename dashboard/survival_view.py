"""Turning survival results into what a chart and a reader need."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from analytics.survival import SurvivalComparison

MAX_POINTS = 500


def sampled_curves(comparison: SurvivalComparison, *, max_points: int = MAX_POINTS) -> pl.DataFrame:
    """Each curve read on a grid of whole days (at most ``max_points`` per curve), so charts
    stay light whatever the number of members; the steps of the exact curves are kept in the
    CSV export (``comparison.frame()``)."""
    frames = []
    for curve in comparison.curves:
        last = math.floor(curve.follow_up)
        step = max(1, math.ceil((last + 1) / max_points))
        days = np.arange(0, last + 1, step, dtype=np.float64)
        if days[-1] != last:
            days = np.append(days, float(last))
        read = curve.at(days)
        frames.append(
            pl.DataFrame(
                {
                    "group": [curve.label] * len(days),
                    "days": days,
                    "survival": read.survival,
                    "ci_low": read.ci_low,
                    "ci_high": read.ci_high,
                    "at_risk": read.at_risk,
                }
            )
        )
    if not frames:
        return pl.DataFrame(
            schema={
                "group": pl.String, "days": pl.Float64, "survival": pl.Float64,
                "ci_low": pl.Float64, "ci_high": pl.Float64, "at_risk": pl.Int64,
            }
        )  # fmt: skip
    return pl.concat(frames)


def _days(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return "not reached" if math.isinf(value) else f"{value:,.0f}"


def _share(value: float | None, low: float | None, high: float | None) -> str:
    if value is None:
        return "not followed that long"
    return f"{value:.1%} ({low:.1%}–{high:.1%})"


def comparison_summary(comparison: SurvivalComparison) -> pl.DataFrame:
    """The per-group summary in words and percentages, for reading on the page."""
    rows = []
    for row in comparison.summary().iter_rows(named=True):
        rows.append(
            {
                "group": row["group"],
                "members": row["n"],
                "churned": row["events"],
                "median days to churn": _days(row["median"]),
                "median 95 % CI": f"{_days(row['median_ci_low'])} – {_days(row['median_ci_high'])}",
                **{
                    f"still members after {d} days (95 % CI)": _share(
                        row[f"survival_{d}d"], row[f"survival_{d}d_low"], row[f"survival_{d}d_high"]
                    )
                    for d in (30, 90, 180, 365)
                },
            }
        )
    return pl.DataFrame(rows)
