"""One item's estimate: who is eligible, who is exposed, and the verdict-free result."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import polars as pl

from analytics.community import Community
from analytics.impact.estimate import ExposureModel, _doubly_robust, _interval, e_value
from analytics.impact.model import (
    OTHER_EXPOSURES,
    OTHER_ITEMS,
    TENURE_MIN_DAYS,
    TENURE_SPREAD_DAYS,
    ImpactSettings,
    ItemEffect,
    Population,
)
from analytics.queries.events import DAY_US
from analytics.queries.exposures import exposures_before, first_exposures

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)


@dataclass(frozen=True)
class _Candidate:
    item_id: str
    kind: str
    title: str
    item_ids: tuple[str, ...]
    published_at: Any


def _first_exposures(community: Community) -> pl.DataFrame:
    exposures = community.frames().exposures()
    assert exposures is not None
    (found,) = community.collect(first_exposures(exposures))
    return community.events.with_ids(found).select(
        "member_id",
        "item_id",
        pl.from_epoch("first_us", time_unit="us").dt.replace_time_zone("UTC").alias("first_at"),
    )


def _exclude_own(frame: FrameT, own_counts: pl.DataFrame, item_ids: Sequence[str]) -> FrameT:
    """Recompute the other-proof covariates without the analysed item's own exposures (which
    would otherwise predict exposure to it by construction)."""
    own = (
        own_counts.filter(pl.col("item_id").is_in(list(item_ids)))
        .group_by("member_id")
        .agg(
            pl.col("n").sum().alias("_own"),
            (pl.col("n") > 0).sum().cast(pl.Int64).alias("_own_items"),
        )
    )
    return (
        frame.join(
            own.lazy() if isinstance(frame, pl.LazyFrame) else own,
            on="member_id",
            how="left",
            maintain_order="left",
        )
        .with_columns(
            (pl.col("n_exposures") - pl.col("_own").fill_null(0))
            .clip(lower_bound=0)
            .log1p()
            .alias(OTHER_EXPOSURES),
            (pl.col("n_items_seen") - pl.col("_own_items").fill_null(0))
            .clip(lower_bound=0)
            .log1p()
            .alias(OTHER_ITEMS),
        )
        .drop("_own", "_own_items")
    )


def _tenure_days(
    community: Community, first: pl.DataFrame, item_ids: Sequence[str]
) -> dict[str, float | None]:
    """The day of membership each item is awarded at, when it is awarded for tenure (see
    TENURE_MIN_DAYS); ``None`` for items met at varied times (one pass for every item)."""
    days = (
        first.filter(pl.col("item_id").is_in(list(item_ids)))
        .group_by("member_id", "item_id")
        .agg(pl.col("first_at").min())
        .join(community.members.select("member_id", "joined_at"), on="member_id")
        .group_by("item_id")
        .agg(
            pl.len().alias("n"),
            (
                ((pl.col("first_at") - pl.col("joined_at")).dt.total_hours() / 24)
                .quantile(0.1)
                .alias("low")
            ),
            ((pl.col("first_at") - pl.col("joined_at")).dt.total_hours() / 24)
            .median()
            .alias("middle"),
        )
    )
    found: dict[str, float | None] = dict.fromkeys(item_ids)
    for row in days.iter_rows(named=True):
        low, middle = row["low"], row["middle"]
        if row["n"] >= 10 and low >= TENURE_MIN_DAYS and middle - low <= TENURE_SPREAD_DAYS:
            found[row["item_id"]] = float(low)
    return found


def _own_rows(community: Community, landmark_days: int) -> pl.DataFrame:
    """Exposure rows per member and item before the member's landmark: ``member_id``,
    ``item_id``, ``n``."""
    exposures = community.frames().exposures()
    assert exposures is not None
    (found,) = community.collect(
        exposures_before(exposures, offset_us=landmark_days * DAY_US, joined_until_us=None)
    )
    return community.events.with_ids(found)


def _own_counts(own_rows: pl.DataFrame, population: Population) -> pl.DataFrame:
    """:func:`_own_rows` of the members of ``population``."""
    return own_rows.join(population.frame.select("member_id"), on="member_id", how="semi")


def _analyse(
    candidate: _Candidate,
    population: Population,
    first: pl.DataFrame,
    settings: ImpactSettings,
    rng: np.random.Generator,
    *,
    with_interval: bool = True,
    own_counts: pl.DataFrame | None = None,
    tenure_day: float | None = None,
    exposure_models: dict[str, ExposureModel] | None = None,
) -> ItemEffect:
    """One candidate's estimate on ``population``.

    ``exposure_models`` maps item ids to exposure models: a model found there for the
    candidate is used instead of fitting one (the sensitivity re-estimates); a model fitted
    here is added to it (the main estimate).
    """
    member_first = (
        first.lazy()
        .filter(pl.col("item_id").is_in(list(candidate.item_ids)))
        .group_by("member_id")
        .agg(pl.col("first_at").min())
    )
    # The naive comparison that correlation dashboards make: ever exposed (at any time) vs
    # never, same retention outcome, no landmark and no adjustment. One lazy query each for
    # it and for the eligible members, reading only the columns they need.
    ever = pl.col("first_at").is_not_null()
    naive = (
        population.frame.lazy()
        .select("member_id", "retained", "present_at_landmark", "landmark_at")
        .join(member_first, on="member_id", how="left", maintain_order="left")
    )
    counts = naive.select(
        pl.len().alias("n"),
        ever.sum().alias("n_ever"),
        pl.col("retained").filter(ever).mean().alias("ever"),
        pl.col("retained").filter(~ever).mean().alias("never"),
    ).collect()
    n_ever, n_all = int(counts["n_ever"][0]), int(counts["n"][0])
    naive_effect: float | None = None
    phi: float | None = None
    naive_sizes = (n_ever, n_all - n_ever)
    if 0 < n_ever < n_all:
        naive_effect = float(counts["ever"][0]) - float(counts["never"][0])
        flags = naive.select(ever.alias("ever"), "retained").collect()
        corr = np.corrcoef(flags["ever"].cast(pl.Float64), flags["retained"].cast(pl.Float64))
        phi = float(corr[0, 1]) if np.isfinite(corr[0, 1]) else None
    eligible_lazy = population.frame.lazy().filter(pl.col("present_at_landmark"))
    if candidate.published_at is not None:
        eligible_lazy = eligible_lazy.filter(pl.col("landmark_at") > candidate.published_at)
    exposed = (pl.col("first_at") < pl.col("landmark_at")).fill_null(False)
    eligible_lazy = eligible_lazy.join(
        member_first, on="member_id", how="left", maintain_order="left"
    ).with_columns(exposed.alias("exposed"))
    if own_counts is not None:
        eligible_lazy = _exclude_own(eligible_lazy, own_counts, candidate.item_ids)
    eligible = eligible_lazy.select("exposed", "retained", *population.covariates).collect()
    n1 = int(eligible["exposed"].sum())
    n0 = eligible.height - n1

    def unidentified(reason: str, **extra: Any) -> ItemEffect:
        return ItemEffect(
            item_id=candidate.item_id, kind=candidate.kind, title=candidate.title,
            n_exposed=n1, n_control=n0, effect=None, ci_low=None, ci_high=None, p_value=None,
            q_value=None, naive_effect=naive_effect, verdict="not_identifiable", reason=reason,
            phi=phi, naive_sizes=naive_sizes, **extra,
        )  # fmt: skip

    days = settings.landmark_days
    if tenure_day is not None:
        return unidentified(
            f"it is awarded at a fixed time of membership (from day {tenure_day:.0f} for most "
            "members): holding it means having stayed that long, so no comparison can tell the "
            "item apart from staying"
        )
    if n1 < settings.min_group_size:
        return unidentified(
            f"too few members: {n1} were exposed in their first {days} days (at least "
            f"{settings.min_group_size} needed)"
            + (
                "; it is earned or seen only later in membership, so early exposure cannot "
                "be compared"
                if naive_effect is not None and n1 == 0
                else ""
            )
        )
    if n0 < settings.min_group_size:
        return unidentified(
            f"too few members to compare with: only {n0} present at day {days} were not exposed"
        )
    x = eligible.select(population.covariates).to_numpy().astype(np.float64)
    a = eligible["exposed"].to_numpy().astype(bool)
    y = eligible["retained"].to_numpy().astype(np.int8)
    estimate = _doubly_robust(
        x, population.covariates, a, y, max_rows=settings.max_model_rows, seed=settings.seed,
        with_balance=with_interval,  # the sensitivity analyses need only the effect
        exposure_model=(exposure_models or {}).get(candidate.item_id),
    )  # fmt: skip
    if exposure_models is not None and estimate.exposure_model is not None:
        exposure_models.setdefault(candidate.item_id, estimate.exposure_model)
    if estimate.auc >= settings.max_propensity_auc:
        return unidentified(
            f"exposure is almost fully decided by early activity and join time (propensity AUC "
            f"{estimate.auc:.2f}), as for a badge awarded for activity: there are no comparable "
            "unexposed members",
            propensity_auc=estimate.auc,
            balance=estimate.balance,
        )
    if estimate.effective_controls < settings.min_group_size:
        return unidentified(
            "too few comparable unexposed members (effective size "
            f"{estimate.effective_controls:.0f} "
            f"after weighting, at least {settings.min_group_size} needed)",
            propensity_auc=estimate.auc,
            balance=estimate.balance,
        )
    low, high, p_value = (
        _interval(estimate, settings, rng, (x, population.covariates, a, y))
        if with_interval
        else (math.nan, math.nan, math.nan)
    )
    ev = e_value(estimate.retained_exposed, estimate.effect)
    nearest = 0.0 if low <= 0 <= high else (low if estimate.effect > 0 else high)
    ev_ci = 1.0 if nearest == 0.0 else e_value(estimate.retained_exposed, nearest)
    return ItemEffect(
        item_id=candidate.item_id,
        kind=candidate.kind,
        title=candidate.title,
        n_exposed=n1,
        n_control=n0,
        effect=estimate.effect,
        ci_low=low,
        ci_high=high,
        p_value=p_value,
        q_value=None,
        naive_effect=naive_effect,
        verdict="no_evidence",
        reason="",
        phi=phi,
        naive_sizes=naive_sizes,
        e_value=ev,
        e_value_ci=ev_ci,
        retained_exposed=estimate.retained_exposed,
        propensity_auc=estimate.auc,
        effective_controls=estimate.effective_controls,
        balance=estimate.balance,
    )
