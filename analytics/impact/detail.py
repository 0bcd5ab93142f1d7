"""Drill-down for one item: survival curves, balance, exposure timing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from analytics.community import Community
from analytics.errors import InputError
from analytics.impact.analysis import _candidates
from analytics.impact.estimate import _doubly_robust
from analytics.impact.item import (
    _exclude_own,
    _first_exposures,
    _own_counts,
    _own_rows,
)
from analytics.impact.model import FloatArray, ImpactSettings
from analytics.impact.population import landmark_population


@dataclass(frozen=True)
class ItemDetail:
    """What lies behind one item's estimate.

    ``curves``: ``group`` (exposed / weighted comparable unexposed), ``days`` after the
    landmark (one point per day: the survival after its last churn), ``survival`` (weighted
    Kaplan–Meier), ``at_risk`` (members, not weights, still at
    risk there: what the point rests on). ``balance``: standardized mean difference of
    each covariate before and after weighting. ``timing``: when members first saw or earned the
    item, ``day`` of membership (0 = joining day) and ``members``.
    """

    item_id: str
    curves: pl.DataFrame
    balance: pl.DataFrame | None
    timing: pl.DataFrame
    reason: str


def weighted_kaplan_meier(
    durations: npt.ArrayLike, events: npt.ArrayLike, weights: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Kaplan–Meier with case weights: times (0 and every event time) and survival there."""
    t = np.asarray(durations, dtype=np.float64)
    d = np.asarray(events, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    order = np.argsort(t, kind="stable")
    t, d, w = t[order], d[order], w[order]
    times, first = np.unique(t, return_index=True)
    at_risk = np.cumsum(w[::-1])[::-1][first]
    died = np.add.reduceat(w * d, first)
    keep = died > 0
    factors = 1 - died[keep] / at_risk[keep]
    return np.concatenate([[0.0], times[keep]]), np.concatenate([[1.0], np.cumprod(factors)])


def item_detail(
    community: Community, item_id: str, settings: ImpactSettings | None = None
) -> ItemDetail:
    """Survival of the exposed against the weighted comparable unexposed, covariate balance and
    exposure timing for one item (``kind:<kind>`` for all items of a kind)."""
    settings = settings or ImpactSettings()
    if community.proof_items is None or not community.has_exposures:
        raise InputError("The drill-down needs the proof_items and exposures tables.")
    singles, kinds = _candidates(community)
    candidate = next((c for c in (*singles, *kinds) if c.item_id == item_id), None)
    if candidate is None:
        raise InputError(f"Unknown proof item {item_id!r}.")
    first = _first_exposures(community).filter(pl.col("item_id").is_in(list(candidate.item_ids)))
    timing = (
        first.join(community.members.select("member_id", "joined_at"), on="member_id")
        .group_by(
            ((pl.col("first_at") - pl.col("joined_at")).dt.total_hours() // 24)
            .cast(pl.Int64)
            .alias("day")
        )
        .agg(pl.col("member_id").n_unique().cast(pl.Int64).alias("members"))
        .sort("day")
    )
    empty = pl.DataFrame(
        schema={"group": pl.String, "days": pl.Float64, "survival": pl.Float64, "at_risk": pl.Int64}
    )
    population = landmark_population(community, settings)
    status = community.churn_status(settings.inactive_days).select(
        "member_id", "tenure_days", pl.col("churned_at").is_not_null().alias("churned")
    )
    frame = (
        population.frame.filter(pl.col("present_at_landmark"))
        .join(first.group_by("member_id").agg(pl.col("first_at").min()), on="member_id", how="left")
        .join(status, on="member_id")
    )
    if candidate.published_at is not None:
        frame = frame.filter(pl.col("landmark_at") > candidate.published_at)
    frame = _exclude_own(
        frame,
        _own_counts(_own_rows(community, settings.landmark_days), population),
        candidate.item_ids,
    ).with_columns((pl.col("first_at") < pl.col("landmark_at")).fill_null(False).alias("exposed"))
    exposed = frame["exposed"].to_numpy().astype(bool)
    if exposed.sum() < settings.min_group_size or (~exposed).sum() < settings.min_group_size:
        return ItemDetail(item_id, empty, None, timing, "too few members to compare")
    x = frame.select(population.covariates).to_numpy().astype(np.float64)
    y = frame["retained"].to_numpy().astype(np.int8)
    estimate = _doubly_robust(
        x, population.covariates, exposed, y,
        max_rows=settings.max_model_rows, seed=settings.seed,
    )  # fmt: skip
    weights = estimate.weights
    durations = (frame["tenure_days"] - settings.landmark_days).clip(lower_bound=0).to_numpy()
    events = frame["churned"].to_numpy().astype(np.float64)
    curves = []
    for label, mask in (
        (f"exposed in the first {settings.landmark_days} days", exposed),
        ("comparable unexposed (weighted)", ~exposed),
        ("all unexposed (unweighted)", ~exposed),
    ):
        w = weights[mask] if label.startswith("comparable") else np.ones(int(mask.sum()))
        times, survival = weighted_kaplan_meier(durations[mask], events[mask], w)
        # members (not weights) still at risk at each point: what a point rests on
        ordered = np.sort(durations[mask])
        at_risk = len(ordered) - np.searchsorted(ordered, times, side="left")
        # one point per day (the last churn of the day; the first point kept): at a million
        # members a curve has tens of thousands of churn times, more than a chart can show
        day = np.floor(times)
        daily = np.r_[day[1:] != day[:-1], True]
        daily[0] = True
        times, survival, at_risk = times[daily], survival[daily], at_risk[daily]
        curves.append(
            pl.DataFrame(
                {"group": label, "days": times, "survival": survival, "at_risk": at_risk},
                schema_overrides={"at_risk": pl.Int64},
            )
        )
    reason = (
        "exposure is almost fully decided by early activity"
        if estimate.auc >= settings.max_propensity_auc
        else ""
    )
    return ItemDetail(item_id, pl.concat(curves), estimate.balance, timing, reason)
