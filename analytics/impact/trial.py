"""Second view: sequential trial emulation, one trial per calendar day.

For each day ``d`` and item, the trial compares members *newly exposed that day* (first exposure
to the item within ``trial_grace_days`` from the start of day ``d``) with members *active that
day who were not yet exposed*, weighted on their history up to that day (activity before ``d``:
all of it, the last 28 days, active days, days since the previous active day; tenure; other
proof seen before ``d``; join time; attributes fixed at signup). The outcome is being retained
``horizon_days`` after the start of day ``d``, counted only for days whose outcome is decidable
(``inactive_days`` quiet days after the horizon before the as-of time). Trials are pooled: a
member active on many days takes part in many trials, as a control until exposed, so the 95 %
interval is cluster-robust by member (the sum of each member's influence terms), never the naive
one that treats every member-day as independent.

Unlike the landmark estimate, which asks about exposure in the first ``landmark_days`` among
members active just before day 30, this asks about exposure *on any day* among members active
that day: it covers items met late in membership, and the two answer different questions when
an item matters more (or less) for new members.

Speed: all treated member-days are kept (up to half of ``trial_max_rows``) and the controls are
sampled at random (seeded) to ``trial_controls_per_exposed`` per treated, each weighted by the
inverse of its sampling rate, so an item costs a few hundred thousand rows at most.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats
from sklearn.linear_model import LogisticRegression

from analytics.churn import churn_table
from analytics.community import Community
from analytics.impact.estimate import _standardise
from analytics.impact.model import PROPENSITY_CLIP, FloatArray, ImpactSettings
from analytics.impact.population import attribute_dummies
from analytics.queries.events import DAY_US, to_us
from analytics.queries.landmark import active_member_days

#: the trial's covariates (history up to the trial day), besides the attributes fixed at signup
TRIAL_COVARIATES = (
    "log_activity_before",
    "log_activity_28d",
    "log_active_days_before",
    "log_days_since_active",
    "log_tenure",
    "log_other_proof_seen",
    "join_years",
)


@dataclass(frozen=True)
class TrialDays:
    """Every decidable member-day with activity: ``member`` (index into ``member_ids``),
    ``day`` (UTC calendar day number), covariates ``x`` (columns ``names``), ``retained``."""

    member_ids: list[str]
    member: npt.NDArray[np.int64]
    day: npt.NDArray[np.int64]
    x: FloatArray
    names: tuple[str, ...]
    retained: npt.NDArray[np.int8]


@dataclass(frozen=True)
class TrialEffect:
    """One item's pooled trial estimate (``effect`` None with ``reason`` when not estimable)."""

    effect: float | None
    ci_low: float | None
    ci_high: float | None
    se: float | None
    naive_se: float | None
    n_exposed: int
    n_trials: int
    reason: str


def trial_days(
    community: Community, settings: ImpactSettings, first: pl.DataFrame
) -> TrialDays | None:
    """The member-days the trials are built from (``None`` when no outcome is decidable).

    ``first``: first exposures (``member_id``, ``item_id``, ``first_at``)."""
    decidable_by = (
        community.as_of
        - timedelta(days=settings.inactive_days)
        - timedelta(days=settings.horizon_days)
    )
    last_day = to_us(decidable_by) // DAY_US - 1  # the whole day ends before decidable_by
    (found,) = community.collect(
        active_member_days(community.frames().activity(), until_us=(last_day + 1) * DAY_US)
    )
    days = community.events.with_ids(found)
    if days.is_empty():
        return None
    status = churn_table(
        community.members,
        community.last_activity(),
        as_of=community.as_of,
        inactive_days=settings.inactive_days,
    ).select("member_id", "joined_at", "churned_at")
    members = status.join(
        community.members.select("member_id", "left_at"), on="member_id", how="left"
    ).with_columns(
        (pl.col("joined_at").dt.epoch("us") // DAY_US).alias("join_day"),
        pl.col("churned_at").dt.epoch("us").alias("churned_us"),
        pl.col("left_at").dt.epoch("us").alias("left_us"),
    )
    first_join = community.members["joined_at"].min()
    frame = (
        days.join(members, on="member_id", how="inner")
        .filter(pl.col("left_us").is_null() | (pl.col("left_us") >= pl.col("day") * DAY_US))
        .sort("member_id", "day")
    )
    # running counts per member in numpy (rows sorted by member, then day): cheaper than
    # window expressions on a busy machine
    member = frame.select(pl.col("member_id").rank("dense").cast(pl.Int64) - 1)[
        "member_id"
    ].to_numpy()
    day = frame["day"].cast(pl.Int64).to_numpy()
    n = frame["n"].cast(pl.Int64).to_numpy()
    starts = np.flatnonzero(np.r_[True, member[1:] != member[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(member)]))
    cum = np.cumsum(n)
    offset = np.where(starts > 0, cum[starts - 1], 0)
    before = cum - n - np.repeat(offset, np.diff(np.r_[starts, len(member)]))
    k = np.arange(len(member)) - group_start  # active days before this one
    previous_day = np.where(k > 0, np.r_[0, day[:-1]], -1)
    # rows in the 27 days before: running count before the day less that before day - 27
    key = member * (1 << 32) + day
    cut = np.searchsorted(key, member * (1 << 32) + day - 27, side="left")
    before_cut = np.where(cut > group_start, cum[np.maximum(cut - 1, 0)], 0) - np.repeat(
        offset, np.diff(np.r_[starts, len(member)])
    )
    recent = before - np.maximum(before_cut, 0)
    # other proof first seen before the day: first exposures per member as sorted day keys
    ids = frame["member_id"].unique().sort()
    seen = (
        first.group_by("member_id", "item_id")
        .agg(pl.col("first_at").min())
        .join(
            pl.DataFrame({"member_id": ids, "_m": np.arange(len(ids), dtype=np.int64)}),
            on="member_id",
            how="inner",
        )
        .select(pl.col("_m") * (1 << 32) + pl.col("first_at").dt.epoch("us") // DAY_US)
        .to_series()
        .sort()
        .to_numpy()
    )
    seen_before = np.searchsorted(seen, key, side="left") - np.searchsorted(
        seen, member * (1 << 32), side="left"
    )
    frame = frame.with_columns(
        pl.Series("before", before),
        pl.Series("_recent", recent),
        pl.Series("_k", k),
        pl.Series("_prev", np.where(k > 0, previous_day, -1)),
        pl.Series("_seen", seen_before),
    ).with_columns(
        pl.when(pl.col("_prev") >= 0).then(pl.col("_prev")).otherwise(None).alias("_prev")
    )
    horizon_us = settings.horizon_days * DAY_US
    frame = frame.with_columns(
        pl.col("before").log1p().alias("log_activity_before"),
        pl.col("_recent").clip(lower_bound=0).log1p().alias("log_activity_28d"),
        pl.col("_k").cast(pl.Float64).log1p().alias("log_active_days_before"),
        (pl.col("day") - pl.coalesce("_prev", "join_day"))
        .cast(pl.Float64)
        .log1p()
        .alias("log_days_since_active"),
        (pl.col("day") - pl.col("join_day")).cast(pl.Float64).log1p().alias("log_tenure"),
        pl.col("_seen").cast(pl.Float64).log1p().alias("log_other_proof_seen"),
        ((pl.col("joined_at") - pl.lit(first_join)).dt.total_days() / 365.25).alias("join_years"),
        (
            pl.col("churned_us").is_null()
            | (pl.col("churned_us") >= pl.col("day") * DAY_US + horizon_us)
        )
        .cast(pl.Int8)
        .alias("retained"),
    )
    names = list(TRIAL_COVARIATES)
    dummies = attribute_dummies(community, settings)
    if dummies is not None:
        frame = frame.join(dummies, on="member_id", how="left")
        names += [c for c in dummies.columns if c != "member_id"]
    return TrialDays(
        member_ids=ids.to_list(),
        member=member,
        day=frame["day"].cast(pl.Int64).to_numpy(),
        x=frame.select(pl.col(c).cast(pl.Float64).fill_null(0.0) for c in names).to_numpy(),
        names=tuple(names),
        retained=frame["retained"].to_numpy().astype(np.int8),
    )


def _stream(seed: int, key: str) -> np.random.Generator:
    digest = hashlib.sha256(key.encode()).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:4], "little")])


def _weighted_probability(
    x: FloatArray, y: npt.NDArray[np.int8], w: FloatArray, predict: FloatArray
) -> FloatArray:
    if y.min() == y.max():
        return np.full(len(predict), float(y[0]))
    model = LogisticRegression(C=1.0, solver="newton-cholesky", max_iter=100)
    model.fit(x, y, sample_weight=w)
    probability: FloatArray = model.predict_proba(predict)[:, 1]
    return probability


def _weighted_auc(score: FloatArray, a: npt.NDArray[np.int8], w: FloatArray) -> float:
    """Area under the ROC curve with case weights (ties count one half)."""
    order = np.argsort(score, kind="stable")
    score, a, w = score[order], a[order], w[order]
    _, first = np.unique(score, return_index=True)
    neg = np.add.reduceat(np.where(a == 0, w, 0.0), first)
    pos = np.add.reduceat(np.where(a == 1, w, 0.0), first)
    below = np.cumsum(neg) - neg
    total = pos.sum() * neg.sum()
    return float(((below + neg / 2) * pos).sum() / total) if total > 0 else 0.5


def trial_effect(
    days: TrialDays | None,
    first: pl.DataFrame,
    item_ids: Sequence[str],
    published_at: object,
    settings: ImpactSettings,
    key: str,
) -> TrialEffect:
    """The pooled trial estimate of the items ``item_ids`` taken together (first exposure to
    any of them); ``key`` names the candidate for its own seeded sampling stream."""

    def none(reason: str, n1: int = 0, trials: int = 0) -> TrialEffect:
        return TrialEffect(None, None, None, None, None, n1, trials, reason)

    if days is None:
        return none("no trial day has a decidable outcome yet")
    own = (
        first.filter(pl.col("item_id").is_in(list(item_ids)))
        .group_by("member_id")
        .agg(pl.col("first_at").min())
        .with_columns((pl.col("first_at").dt.epoch("us") // DAY_US).alias("first_day"))
    )
    index = pl.DataFrame(
        {"member_id": days.member_ids, "i": np.arange(len(days.member_ids), dtype=np.int64)}
    )
    by_member = np.full(len(days.member_ids), np.iinfo(np.int64).max, dtype=np.int64)
    matched = index.join(own, on="member_id", how="inner")
    by_member[matched["i"].to_numpy()] = matched["first_day"].to_numpy()
    first_day = by_member[days.member]
    eligible = first_day >= days.day
    if published_at is not None:
        published_day = to_us(published_at) // DAY_US  # type: ignore[arg-type]
        eligible &= days.day >= published_day
    treated = eligible & (first_day < days.day + settings.trial_grace_days)
    rows1 = np.flatnonzero(treated)
    rows0 = np.flatnonzero(eligible & ~treated)
    n1, n0 = len(rows1), len(rows0)
    trials = int(np.unique(days.day[rows1]).size)
    if n1 < settings.min_group_size:
        return none(
            f"too few members newly exposed on an active day ({n1}, at least "
            f"{settings.min_group_size} needed)",
            n1,
            trials,
        )
    if n0 < settings.min_group_size:
        return none("too few active members not yet exposed to compare with", n1, trials)
    rng = _stream(settings.seed, key)
    half = settings.trial_max_rows // 2
    take1 = min(n1, half)
    take0 = min(n0, settings.trial_controls_per_exposed * take1, settings.trial_max_rows - take1)
    pick1 = np.sort(rng.choice(rows1, size=take1, replace=False)) if take1 < n1 else rows1
    pick0 = np.sort(rng.choice(rows0, size=take0, replace=False)) if take0 < n0 else rows0
    rows = np.concatenate([pick1, pick0])
    s = np.concatenate([np.full(take1, n1 / take1), np.full(take0, n0 / take0)])
    a = np.concatenate([np.ones(take1, dtype=np.int8), np.zeros(take0, dtype=np.int8)])
    x = _standardise(days.x[rows])
    y = days.retained[rows]
    propensity = _weighted_probability(x, a, s, x)
    auc = _weighted_auc(propensity, a, s)
    if auc >= settings.max_propensity_auc:
        return none(
            f"exposure on a day is almost fully decided by the member's history (propensity AUC "
            f"{auc:.2f}): no comparable unexposed member-days",
            n1,
            trials,
        )
    e = np.clip(propensity, *PROPENSITY_CLIP)
    exposed = a == 1
    w = np.where(exposed, 1.0, e / (1 - e))
    m0 = _weighted_probability(x[~exposed], y[~exposed], s[~exposed], x)
    residual = y - m0
    terms = np.where(exposed, residual, -w * residual)
    total_exposed = float((s * a).sum())
    effect = float((s * terms).sum() / total_exposed)
    psi = s * (terms - a * effect) / total_exposed
    naive_se = float(np.sqrt((psi**2).sum()))
    clusters = np.bincount(days.member[rows], weights=psi)
    se = float(np.sqrt((clusters**2).sum()))
    z = float(stats.norm.ppf(1 - settings.alpha / 2))
    return TrialEffect(effect, effect - z * se, effect + z * se, se, naive_se, n1, trials, "")


def views_compared(
    landmark: tuple[float | None, float | None, float | None],
    trial: tuple[float | None, float | None, float | None],
    landmark_days: int,
) -> str:
    """The landmark and trial estimates side by side, in words."""
    (e1, lo1, hi1), (e2, lo2, hi2) = landmark, trial
    if e1 is None or e2 is None or None in (lo1, hi1, lo2, hi2):
        return ""
    assert lo1 is not None
    assert hi1 is not None
    assert lo2 is not None
    assert hi2 is not None
    clear1 = lo1 > 0 or hi1 < 0
    clear2 = lo2 > 0 or hi2 < 0
    if clear1 and clear2 and np.sign(e1) != np.sign(e2):
        return (
            "the views disagree in direction: early exposure and exposure on any active day go "
            "with opposite changes in retention; trust neither without a closer look"
        )
    if hi1 < lo2 or hi2 < lo1:
        return (
            f"the views differ: exposure in the first {landmark_days} days and exposure on any "
            "active day answer different questions (the item may matter more, or less, for new "
            "members), or one of them is confounded"
        )
    if clear1 != clear2:
        return (
            "only one view is clear of chance, but their intervals overlap: they do not "
            "contradict each other"
        )
    return "the views agree"
