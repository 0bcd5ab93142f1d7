"""One item's estimate: who is eligible, who is exposed, and the verdict-free result."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import polars as pl

from analytics.community import Community
from analytics.impact.estimate import ExposureModel, _doubly_robust, _interval, e_value
from analytics.impact.model import (
    OTHER_EXPOSURES,
    OTHER_ITEMS,
    TENURE_MIN_DAYS,
    TENURE_SPREAD_DAYS,
    FloatArray,
    ImpactSettings,
    ItemEffect,
    Population,
    rows_of_items,
    split_by_item,
)
from analytics.queries.events import DAY_US, to_us
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
    """Each member's first exposure to each item, computed once per community (the landmark
    estimate and the trials added to it later both use it)."""
    return community.shared("first_exposures", lambda: _first_exposures_of(community))


def _first_exposures_of(community: Community) -> pl.DataFrame:
    exposures = community.frames().exposures()
    assert exposures is not None
    (found,) = community.collect(first_exposures(exposures))
    keyed = community.events.keyed.select("member_key", "member_id", "joined_at_us")
    return found.join(keyed, on="member_key", how="left").select(
        "member_id",
        # kept for the trials: whole-number keys (folder sources) find positions without a join
        "member_key",
        "item_id",
        pl.from_epoch("first_us", time_unit="us").dt.replace_time_zone("UTC").alias("first_at"),
        # for the tenure check: whole hours from joining to the first exposure
        ((pl.col("first_us") - pl.col("joined_at_us")) // 3_600_000_000).alias("_hours"),
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
    # hours as whole numbers: a duration's total_hours, from the first exposures' own column
    # when they have it (no join of every exposure with the members)
    if "_hours" in first.columns:
        hours = first.filter(pl.col("item_id").is_in(list(item_ids))).select(
            "item_id", (pl.col("_hours") / 24).alias("day")
        )
    else:
        hours = (
            first.filter(pl.col("item_id").is_in(list(item_ids)))
            .group_by("member_id", "item_id")
            .agg(pl.col("first_at").min())
            .join(community.members.select("member_id", "joined_at"), on="member_id")
            .select(
                "item_id",
                ((pl.col("first_at") - pl.col("joined_at")).dt.total_hours() / 24).alias("day"),
            )
        )
    days = hours.group_by("item_id").agg(
        pl.len().alias("n"),
        pl.col("day").quantile(0.1).alias("low"),
        pl.col("day").median().alias("middle"),
    )
    found: dict[str, float | None] = dict.fromkeys(item_ids)
    for row in days.iter_rows(named=True):
        low, middle = row["low"], row["middle"]
        if row["n"] >= 10 and low >= TENURE_MIN_DAYS and middle - low <= TENURE_SPREAD_DAYS:
            found[row["item_id"]] = float(low)
    return found


def _own_rows(community: Community, landmark_days: int) -> pl.DataFrame:
    """Exposure rows per member and item before the member's landmark: ``member_id``,
    ``item_id``, ``n`` (computed once per community and window, shared with the drill-downs)."""

    def compute() -> pl.DataFrame:
        exposures = community.frames().exposures()
        assert exposures is not None
        (found,) = community.collect(
            exposures_before(exposures, offset_us=landmark_days * DAY_US, joined_until_us=None)
        )
        return community.events.with_ids(found)

    return community.shared(("own_rows", landmark_days), compute)


def _own_counts(own_rows: pl.DataFrame, population: Population) -> pl.DataFrame:
    """:func:`_own_rows` of the members of ``population``."""
    return own_rows.join(population.frame.select("member_id"), on="member_id", how="semi")


@dataclass(frozen=True)
class _Design:
    """A population's rows as arrays, built once and shared by every item's estimate on it
    (each item then costs array lookups, not joins of the whole population).

    ``first_by_item`` holds the first exposures of the population's members, a frame per item
    (``row``: index into the population's rows, ``first_us``); ``own_by_item`` their exposure
    rows per item before the landmark (``row``, ``n``), or ``None`` when the other-proof
    covariates are not recomputed per item. Split by item once: every item's estimate looks up
    its own rows. ``x`` holds the covariates of the rows present at the landmark
    (``present_rows``)."""

    retained: npt.NDArray[np.int8]
    landmark_us: npt.NDArray[np.int64]
    present_rows: npt.NDArray[np.intp]
    x: FloatArray
    n_exposures: npt.NDArray[np.int64]
    n_items_seen: npt.NDArray[np.int64]
    first_by_item: dict[str, pl.DataFrame]
    own_by_item: dict[str, pl.DataFrame] | None


def _design(
    population: Population, first: pl.DataFrame, own_counts: pl.DataFrame | None
) -> _Design:
    """The arrays of ``population`` (see :class:`_Design`)."""
    frame = population.frame
    rows = frame.select("member_id").with_row_index("row")
    present = frame["present_at_landmark"].to_numpy()
    present_rows = np.flatnonzero(present)
    at_present = frame.filter(pl.col("present_at_landmark"))
    by_row = first.join(rows, on="member_id", how="inner").select(
        pl.col("row").cast(pl.Int64), "item_id", pl.col("first_at").dt.epoch("us").alias("first_us")
    )
    own = (
        None
        if own_counts is None
        else own_counts.join(rows, on="member_id", how="inner").select(
            pl.col("row").cast(pl.Int64), "item_id", "n"
        )
    )
    return _Design(
        retained=frame["retained"].to_numpy().astype(np.int8),
        landmark_us=frame["landmark_at"].dt.epoch("us").to_numpy(),
        present_rows=present_rows,
        x=at_present.select(population.covariates).to_numpy().astype(np.float64),
        n_exposures=frame["n_exposures"].to_numpy().astype(np.int64),
        n_items_seen=frame["n_items_seen"].to_numpy().astype(np.int64),
        first_by_item=split_by_item(by_row),
        own_by_item=None if own is None else split_by_item(own),
    )


def _per_row(
    by_item: dict[str, pl.DataFrame], item_ids: Sequence[str], n: int, value: pl.Expr, fill: int
) -> npt.NDArray[np.int64]:
    """One value per population row from the rows (``row``, …) of the items ``item_ids``
    (``by_item``: a frame per item; ``value``: the aggregation over them; ``fill`` for rows
    without any)."""
    parts = rows_of_items(by_item, item_ids)
    out = np.full(n, fill, dtype=np.int64)
    if not parts:
        return out
    found = (parts[0] if len(parts) == 1 else pl.concat(parts)).group_by("row").agg(value)
    out[found["row"].to_numpy()] = found[found.columns[1]].to_numpy()
    return out


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
    design: _Design | None = None,
) -> ItemEffect:
    """One candidate's estimate on ``population``.

    ``design``: the population's arrays (:func:`_design` of the same population, first
    exposures and own counts), when built before for many items.

    ``exposure_models`` maps item ids to exposure models: a model found there for the
    candidate is used instead of fitting one (the sensitivity re-estimates); a model fitted
    here is added to it (the main estimate).
    """
    if design is None:
        design = _design(population, first, own_counts)
    n_all = len(design.retained)
    never = np.iinfo(np.int64).max
    first_us = _per_row(
        design.first_by_item, candidate.item_ids, n_all, pl.col("first_us").min(), never
    )
    # The naive comparison that correlation dashboards make: ever exposed (at any time) vs
    # never, same retention outcome, no landmark and no adjustment.
    ever = first_us != never
    n_ever = int(ever.sum())
    naive_effect: float | None = None
    phi: float | None = None
    naive_sizes = (n_ever, n_all - n_ever)
    if 0 < n_ever < n_all:
        retained_all = design.retained
        naive_effect = float(retained_all[ever].mean()) - float(retained_all[~ever].mean())
        corr = np.corrcoef(ever.astype(np.float64), retained_all.astype(np.float64))
        phi = float(corr[0, 1]) if np.isfinite(corr[0, 1]) else None
    rows = design.present_rows
    x = design.x
    if candidate.published_at is not None:
        keep = design.landmark_us[rows] > to_us(candidate.published_at)
        rows, x = rows[keep], x[keep]
    exposed_all = first_us[rows] < design.landmark_us[rows]
    if design.own_by_item is not None:
        # the other-proof covariates without the analysed items' own exposures (which would
        # otherwise predict exposure to them by construction)
        own_n = _per_row(design.own_by_item, candidate.item_ids, n_all, pl.col("n").sum(), 0)[rows]
        own_items = _per_row(
            design.own_by_item, candidate.item_ids, n_all, (pl.col("n") > 0).sum().cast(pl.Int64), 0
        )[rows]
        if x is design.x:  # not yet a copy of its own (the rows after publication are)
            x = x.copy()
        names = population.covariates
        x[:, names.index(OTHER_EXPOSURES)] = np.log1p(
            np.maximum(design.n_exposures[rows] - own_n, 0)
        )
        x[:, names.index(OTHER_ITEMS)] = np.log1p(
            np.maximum(design.n_items_seen[rows] - own_items, 0)
        )
    n1 = int(exposed_all.sum())
    n0 = len(rows) - n1

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
    a = exposed_all
    y = design.retained[rows]
    estimate = _doubly_robust(
        x, population.covariates, a, y, max_rows=settings.max_model_rows, seed=settings.seed,
        # the balance table is shown for one item at a time, by the drill-down
        # (analytics/impact/detail.py), which computes its own
        with_balance=False,
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
        )
    if estimate.effective_controls < settings.min_group_size:
        return unidentified(
            "too few comparable unexposed members (effective size "
            f"{estimate.effective_controls:.0f} "
            f"after weighting, at least {settings.min_group_size} needed)",
            propensity_auc=estimate.auc,
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
    )
