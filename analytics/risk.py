"""Churn risk: which active members are likely to leave soon, and why.

Estimand: for a member who is still a member at a cutoff time *t*, the probability that they
churn within ``horizon_days`` after it, as the project's churn definition
(:mod:`analytics.churn`) dates churn: their churn date (the earlier of an explicit departure and
their last sign of life, once ``inactive_days`` quiet days have passed) falls at or before
*t* + horizon.

How it is kept honest:

* **Only what was known at the cutoff.** Features come from :class:`KnownAt`, which holds the
  members who had joined by *t*, their activity and exposures up to *t*, and departures up to
  *t* (a later departure is not known yet). ``last_seen_at`` is never a feature: the data holds
  only its latest value, which may lie after *t*. :func:`features_from` raises
  :class:`~analytics.errors.LeakageError` if any row after *t* reaches it.
* **Who is at risk.** Members not churned at *t* by what was known then: joined, not departed,
  and some activity (or joining) in the ``inactive_days`` before *t*.
* **Labels are decidable.** The label of cutoff *t* needs data up to *t* + horizon +
  ``inactive_days`` (a last sign of life just before *t* + horizon is a churn only after that
  many quiet days). Labels are read from the data as it stood at a ``known_at`` time.
* **Held out in time.** The evaluation cutoff is as-of − horizon − inactive_days (labels known
  at as-of); the model is trained on cutoffs ending horizon + inactive_days before it, whose
  labels were known by the evaluation cutoff. Nothing from after the evaluation cutoff is used
  in training. The risk shown for today's members comes from a model refitted the same way on
  cutoffs ending at the evaluation cutoff (labels known now).
* **Against a baseline.** The model (gradient-boosted trees) is compared with a recency-only
  model (days since last activity) on the held-out cutoff: ROC AUC, PR AUC, Brier score and a
  calibration table for both, and a paired bootstrap interval for the AUC difference. The model
  counts as useful only when that interval lies above zero.
* **Why.** Permutation importance on the held-out cutoff, feature groups permuted together,
  with the spread over repeats. A member's risk factors are the feature groups whose values,
  replaced by the typical (median) active member's, lower that member's predicted risk most.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from sklearn.calibration import calibration_curve
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, brier_score_loss
from threadpoolctl import threadpool_limits

from analytics.churn import DEFAULT_INACTIVE_DAYS, churn_table
from analytics.community import Community
from analytics.errors import InputError, LeakageError
from analytics.queries import windows
from analytics.queries.events import to_us

Progress = Callable[[str, float], None]
FloatArray = npt.NDArray[np.float64]

DEFAULT_HORIZON_DAYS = 30
#: Activity kinds with their own features (the most common ones at the training cutoff).
MAX_KIND_FEATURES = 6
#: Feature groups, in the order they are reported.
GROUPS = ("recency", "frequency", "trend", "tenure", "proof seen", "badges", "attributes")
GROUP_HELP = {
    "recency": "days since the last activity, overall and per kind",
    "frequency": "activity in the last 7, 28 and 90 days, per kind, and active days",
    "trend": "activity in the last 4 weeks against the 4 weeks before",
    "tenure": "days since joining",
    "proof seen": "proof items seen per kind (testimonials, case studies, ...) and how recently",
    "badges": "badges earned",
    "attributes": "member attributes (channel, plan, ...)",
}
#: A risk factor is named only when it adds at least this much risk (probability).
MIN_FACTOR = 0.01


@dataclass(frozen=True)
class RiskSettings:
    """The choices behind a churn-risk model."""

    horizon_days: int = DEFAULT_HORIZON_DAYS
    inactive_days: int = DEFAULT_INACTIVE_DAYS
    #: Training cutoffs stacked per model, ``step_days`` apart (more rows, same rule).
    training_cutoffs: int = 6
    step_days: int = 14
    #: Permutation-importance repeats and bootstrap resamples for the AUC difference.
    repeats: int = 8
    bootstrap: int = 200
    #: Fewest churners and stayers needed at the training and the evaluation cutoff.
    min_class: int = 20
    #: At most this many member-cutoffs train a model, and this many held-out members are
    #: shuffled for the importance (random, seeded samples): beyond them the figures barely move
    #: while the time grows (benchmarks/bench_risk.py).
    max_training_rows: int = 60_000
    max_importance_rows: int = 8_000
    #: Risk factors in words are given for at most this many members, those at highest risk
    #: (the others' ``factors`` are null: not computed).
    max_factor_rows: int = 25_000
    seed: int = 20261124

    def __post_init__(self) -> None:
        if self.horizon_days < 1 or self.inactive_days < 1:
            raise InputError("horizon_days and inactive_days must be at least 1 day.")
        if self.training_cutoffs < 1 or self.step_days < 1:
            raise InputError("training_cutoffs and step_days must be at least 1.")
        if self.repeats < 2 or self.bootstrap < 20:
            raise InputError("repeats must be at least 2 and bootstrap at least 20.")

    @property
    def gap(self) -> timedelta:
        """How long after a cutoff its label is known: horizon plus the quiet days."""
        return timedelta(days=self.horizon_days + self.inactive_days)


def risk_definition(settings: RiskSettings) -> str:
    """The estimand in one sentence a community lead understands."""
    return (
        f"Risk is the probability that a current member churns within the next "
        f"{settings.horizon_days} days: their last sign of life (or explicit departure) comes "
        f"before then and they stay quiet for {settings.inactive_days} days after it."
    )


# -- what was known at a cutoff ----------------------------------------------------------------


@dataclass(frozen=True)
class KnownAt:
    """The data as it stood at ``cutoff``: nothing in it happened after the cutoff.

    ``members`` has ``member_id``, ``joined_at``, ``left_at`` (null unless the departure was at
    or before the cutoff) and the attributes; ``activity`` has ``member_id``, ``occurred_at``,
    ``kind``; ``exposures`` has ``member_id``, ``occurred_at``, ``item_kind`` (or is empty).
    """

    cutoff: datetime
    members: pl.DataFrame
    activity: pl.DataFrame
    exposures: pl.DataFrame
    attributes: tuple[str, ...]


def _members_at(community: Community, cutoff: datetime) -> pl.DataFrame:
    """The members who had joined by ``cutoff``, with departures known then."""
    return community.members.filter(pl.col("joined_at") <= cutoff).select(
        "member_id",
        "joined_at",
        pl.when(pl.col("left_at") <= cutoff).then(pl.col("left_at")).alias("left_at"),
        *community.attributes,
    )


def known_at(community: Community, cutoff: datetime) -> KnownAt:
    """What the community's data said at ``cutoff`` (rows after it left out)."""
    members = _members_at(community, cutoff)
    activity = community.activity.filter(pl.col("occurred_at") <= cutoff).select(
        "member_id", "occurred_at", "kind"
    )
    exposures = pl.DataFrame(
        schema={"member_id": pl.String, "occurred_at": pl.Datetime("us", "UTC"),
                "item_kind": pl.String, "item_id": pl.String}
    )  # fmt: skip
    every = community.exposures if community.has_exposures else None
    if every is not None and community.proof_items is not None:
        exposures = (
            every.filter(pl.col("occurred_at") <= cutoff)
            .join(
                community.proof_items.select("item_id", pl.col("kind").alias("item_kind")),
                on="item_id",
            )
            .select("member_id", "occurred_at", "item_kind", "item_id")
        )
    return KnownAt(cutoff, members, activity, exposures, community.attributes)


@dataclass(frozen=True)
class FeatureSpec:
    """Which columns the model sees, fixed at training time so later cutoffs match."""

    kinds: tuple[str, ...]
    proof_kinds: tuple[str, ...]
    attributes: tuple[str, ...]
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_known(cls, known: KnownAt, *, max_kinds: int = MAX_KIND_FEATURES) -> FeatureSpec:
        kinds = (
            known.activity.group_by("kind")
            .len()
            .sort(["len", "kind"], descending=[True, False])
            .head(max_kinds)["kind"]
            .to_list()
        )
        proof_kinds = sorted(set(known.exposures["item_kind"].to_list()) - {"badge"})
        categories = {
            a: tuple(sorted(known.members[a].fill_null("(missing)").unique().to_list()))
            for a in known.attributes
        }
        return cls(tuple(kinds), tuple(proof_kinds), known.attributes, categories)

    def columns(self) -> dict[str, str]:
        """Feature name -> group, in model order."""
        out = {"days_since_last": "recency"}
        out |= {f"days_since_last_{k}": "recency" for k in self.kinds}
        out |= {"days_since_last_proof": "proof seen"}
        out |= {"activities_7d": "frequency", "activities_28d": "frequency",
                "activities_90d": "frequency", "active_days_28d": "frequency"}  # fmt: skip
        out |= {f"{k}_28d": "frequency" for k in self.kinds}
        out |= {"activities_prev_28d": "trend", "trend": "trend", "tenure_days": "tenure"}
        out |= {f"seen_{k}": "proof seen" for k in self.proof_kinds}
        out |= {"badges": "badges"}
        out |= {f"attr_{a}": "attributes" for a in self.attributes}
        return out


def _days(later: pl.Expr | datetime, earlier: pl.Expr) -> pl.Expr:
    later_expr = pl.lit(later) if isinstance(later, datetime) else later
    return (later_expr - earlier).dt.total_seconds(fractional=True) / 86_400.0


def _guard(known: KnownAt) -> None:
    """Raise when any row handed to the features lies after the cutoff."""
    t = known.cutoff
    checks = [
        ("members", known.members, "joined_at"),
        ("members", known.members, "left_at"),
        ("activity", known.activity, "occurred_at"),
        ("exposures", known.exposures, "occurred_at"),
    ]
    for table, frame, column in checks:
        late = frame.filter(pl.col(column) > t)
        if late.height:
            raise LeakageError(
                f"{late.height:,} {table} row(s) have {column} after the cutoff {t:%Y-%m-%d %H:%M} "
                f"UTC (e.g. member {late['member_id'][0]!r} at {late[column][0]}); features may "
                "only use what was known at the cutoff. Build the input with known_at()."
            )


def features_from(known: KnownAt, spec: FeatureSpec, *, inactive_days: int) -> pl.DataFrame:
    """One row per member still a member at the cutoff, with the features of ``spec``.

    Raises
    ------
    LeakageError
        When ``known`` holds a row after its cutoff.
    """
    _guard(known)
    t = known.cutoff
    # the last time of each kind needs the whole history; the counts only the last 90 days
    lasts = known.activity.group_by("member_id", "kind").agg(pl.col("occurred_at").max())
    per_member = lasts.group_by("member_id").agg(
        pl.col("occurred_at").max().alias("last_activity_at"),
        *(
            _days(t, pl.col("occurred_at").filter(pl.col("kind") == k).max()).alias(
                f"days_since_last_{k}"
            )
            for k in spec.kinds
        ),
    )
    act = known.activity.filter(pl.col("occurred_at") > t - timedelta(days=90)).with_columns(
        _days(t, pl.col("occurred_at")).alias("age")
    )
    recent = pl.col("age") < 28
    aggs = [
        (pl.col("age") < 7).sum().cast(pl.Float64).alias("activities_7d"),
        recent.sum().cast(pl.Float64).alias("activities_28d"),
        (pl.col("age") < 90).sum().cast(pl.Float64).alias("activities_90d"),
        pl.col("occurred_at")
        .filter(recent)
        .dt.date()
        .n_unique()
        .cast(pl.Float64)
        .alias("active_days_28d"),
        ((pl.col("age") >= 28) & (pl.col("age") < 56))
        .sum()
        .cast(pl.Float64)
        .alias("activities_prev_28d"),
        *(((pl.col("kind") == k) & recent).sum().cast(pl.Float64).alias(f"{k}_28d")
          for k in spec.kinds),
    ]  # fmt: skip
    per_member = per_member.join(act.group_by("member_id").agg(aggs), on="member_id", how="left")

    exp = known.exposures
    proof_aggs = [
        pl.col("occurred_at").filter(pl.col("item_kind") != "badge").max().alias("last_proof_at"),
        pl.col("item_id").filter(pl.col("item_kind") == "badge").n_unique().alias("badges"),
    ]
    proof_aggs += [
        pl.col("item_id").filter(pl.col("item_kind") == k).n_unique().alias(f"seen_{k}")
        for k in spec.proof_kinds
    ]
    proof = exp.group_by("member_id").agg(proof_aggs)
    return _assemble(known.members, per_member, proof, t, spec, inactive_days=inactive_days)


def _assemble(
    members: pl.DataFrame,
    per_member: pl.DataFrame,
    proof: pl.DataFrame,
    t: datetime,
    spec: FeatureSpec,
    *,
    inactive_days: int,
) -> pl.DataFrame:
    """The features from the members known at ``t`` and their activity (``per_member``:
    ``last_activity_at``, ``days_since_last_<kind>``, the counts) and proof (``proof``:
    ``last_proof_at``, ``badges``, ``seen_<kind>``) aggregates, each one row per member."""
    frame = (
        members.join(per_member, on="member_id", how="left")
        .join(proof, on="member_id", how="left")
        .with_columns(
            pl.max_horizontal("joined_at", "last_activity_at").alias("last_sign_at"),
        )
        .filter(
            pl.col("left_at").is_null() & (_days(t, pl.col("last_sign_at")) < float(inactive_days))
        )
    )
    counts = ["activities_7d", "activities_28d", "activities_90d", "active_days_28d",
              "activities_prev_28d", *(f"{k}_28d" for k in spec.kinds), "badges",
              *(f"seen_{k}" for k in spec.proof_kinds)]  # fmt: skip
    frame = frame.with_columns(
        pl.col(c).fill_null(0).cast(pl.Float64) for c in counts
    ).with_columns(
        _days(t, pl.col("last_sign_at")).alias("days_since_last"),
        _days(t, pl.col("last_proof_at")).alias("days_since_last_proof"),
        _days(t, pl.col("joined_at")).alias("tenure_days"),
        ((pl.col("activities_28d") + 1.0) / (pl.col("activities_prev_28d") + 1.0))
        .log()
        .alias("trend"),
        *(
            pl.col(a)
            .fill_null("(missing)")
            .replace_strict(
                {v: float(i) for i, v in enumerate(spec.categories.get(a, ()))},
                default=None,
                return_dtype=pl.Float64,
            )
            .alias(f"attr_{a}")
            for a in spec.attributes
        ),
    )
    return frame.select("member_id", *spec.columns()).sort("member_id")


def features_as_of(
    community: Community,
    cutoff: datetime,
    *,
    spec: FeatureSpec | None = None,
    inactive_days: int = DEFAULT_INACTIVE_DAYS,
) -> pl.DataFrame:
    """Features of every member still a member at ``cutoff``, from what was known then (the
    same as ``features_from(known_at(community, cutoff), spec)``, computed where the events
    are stored)."""
    spec = spec or _specs(community, [cutoff])[0]
    return _features(community, [(cutoff, spec)], inactive_days=inactive_days)[0]


# -- the same features from queries on the event tables ------------------------------------------


def _from_us(column: str) -> pl.Expr:
    return pl.from_epoch(pl.col(column), time_unit="us").dt.replace_time_zone("UTC")


def _cutoff_frame(community: Community, cutoffs: Sequence[datetime]) -> tuple[Any, list[int]]:
    """The cutoffs (distinct, ascending) on the backend and as microseconds."""
    us = [to_us(c) for c in cutoffs]
    frame = pl.DataFrame(
        {"cutoff": list(range(len(us))), "cutoff_us": us},
        schema={"cutoff": pl.Int64, "cutoff_us": pl.Int64},
    )
    return community.backend_frame(frame), us


def _proof_items(community: Community) -> Any:
    assert community.proof_items is not None
    items = community.proof_items.select("item_id", pl.col("kind").alias("item_kind"))
    return community.backend_frame(items)


def _specs(
    community: Community, cutoffs: Sequence[datetime], *, max_kinds: int = MAX_KIND_FEATURES
) -> list[FeatureSpec]:
    """:meth:`FeatureSpec.from_known` at each cutoff, from queries."""
    ordered = sorted(set(cutoffs))
    cut, us = _cutoff_frame(community, ordered)
    frames = community.frames()
    lazy = [windows.kind_counts(frames.activity(), cut, us)]
    exposures = frames.exposures()
    with_proof = exposures is not None and community.proof_items is not None
    if with_proof:
        assert exposures is not None
        items = _proof_items(community)
        lazy += [windows.proof_kinds(exposures, items, u) for u in us]
    counts, *proof = community.collect(*lazy)
    out = []
    for cutoff in cutoffs:
        i = ordered.index(cutoff)
        kinds = (
            counts.filter(pl.col("cutoff") == i)
            .sort(["rows", "kind"], descending=[True, False])
            .head(max_kinds)["kind"]
            .to_list()
        )
        proof_kinds = sorted(set(proof[i]["item_kind"].to_list()) - {"badge"}) if proof else []
        members = _members_at(community, cutoff)
        categories = {
            a: tuple(sorted(members[a].fill_null("(missing)").unique().to_list()))
            for a in community.attributes
        }
        out.append(FeatureSpec(tuple(kinds), tuple(proof_kinds), community.attributes, categories))
    return out


def _training_sample(
    community: Community, models: Sequence[Sequence[datetime]], settings: RiskSettings
) -> pl.DataFrame | None:
    """The members whose features at the training cutoffs are computed, or ``None`` for all.

    A model trains on at most ``max_training_rows`` member-cutoffs, sampled from every member
    at every training cutoff. In a large community computing all of them and keeping a few
    percent wastes most of the work (at a million members, a dozen full feature sets). So a
    seeded random share of the members is chosen first, large enough to give each model
    (``models``: the training cutoffs of each) about twice the rows it takes (members, in
    ``member_id`` order, decide by one uniform draw each: the same members on every engine).
    """
    # at most the members present at each cutoff: joined, not yet left, and some sign of life
    # in the quiet days before it or later (the last activity known now bounds the one then)
    members = community.members.select("member_id", "joined_at", "left_at").join(
        community.last_activity(), on="member_id", how="left"
    )
    sign = pl.max_horizontal("joined_at", "occurred_at")
    quiet = timedelta(days=settings.inactive_days)
    share = max(
        2.0
        * settings.max_training_rows
        / max(
            sum(
                members.filter(
                    (pl.col("joined_at") <= c)
                    & (pl.col("left_at").is_null() | (pl.col("left_at") > c))
                    & (sign > c - quiet)
                ).height
                for c in cutoffs
            ),
            1,
        )
        for cutoffs in models
    )
    if share >= 1.0:
        return None
    ids = members.select("member_id").sort("member_id")
    draw = np.random.default_rng(settings.seed).random(ids.height)
    return ids.filter(pl.Series(draw < share))


def _features(
    community: Community,
    requests: Sequence[tuple[datetime, FeatureSpec]],
    *,
    inactive_days: int,
    sample: pl.DataFrame | None = None,
    last_at: dict[datetime, pl.DataFrame] | None = None,
) -> list[pl.DataFrame]:
    """The features of each (cutoff, spec), all from one job on the event tables; only of the
    members in ``sample`` (``member_id``) when given. ``last_at``, when given, receives each
    member's latest activity at or before each cutoff (``member_id``, ``occurred_at``), as
    :func:`_churn_dates` needs it."""
    ordered = sorted({c for c, _ in requests})
    kinds = sorted({k for _, spec in requests for k in spec.kinds})
    events = community.events
    if sample is not None and not events.backend.pushdown:
        # in-process engines read only the sampled members' events; where the queries run in a
        # database or on Spark, the ids stay there and the sample is applied to the results
        keys = events.keyed.join(sample, on="member_id", how="semi").select("member_key")
        events = events.restricted(keys, {})
    cut, us = _cutoff_frame(community, ordered)
    frames = events.frames()
    activity = frames.activity()
    counts, days = windows.recent_counts(activity, cut, us, kinds)
    lazy = [windows.last_activity(activity, cut, us, kinds), counts, days]
    exposures = frames.exposures()
    if exposures is not None and community.proof_items is not None:
        lazy += list(windows.proof_seen(exposures, _proof_items(community), cut, us))
    found = [events.with_ids(f) for f in events.collect(*lazy)]
    if sample is not None:
        found = [f.join(sample, on="member_id", how="semi") for f in found]
    lasts, counts_found, days_found = found[:3]
    seen, last_proof = found[3:] if len(found) > 3 else (None, None)
    if last_at is not None:
        for i, cutoff in enumerate(ordered):
            last_at[cutoff] = lasts.filter(pl.col("cutoff") == i).select(
                "member_id", _from_us("last_us").alias("occurred_at")
            )
    out = []
    for cutoff, spec in requests:
        i = ordered.index(cutoff)

        def at(frame: pl.DataFrame, i: int = i) -> pl.DataFrame:
            return frame.filter(pl.col("cutoff") == i).drop("cutoff")

        index = {k: kinds.index(k) for k in spec.kinds}
        per_member = (
            at(lasts)
            .select(
                "member_id",
                _from_us("last_us").alias("last_activity_at"),
                *(
                    _days(cutoff, _from_us(f"last_us_{j}")).alias(f"days_since_last_{k}")
                    for k, j in index.items()
                ),
            )
            .join(
                at(counts_found).select(
                    "member_id",
                    pl.col("n_7d").cast(pl.Float64).alias("activities_7d"),
                    pl.col("n_28d").cast(pl.Float64).alias("activities_28d"),
                    pl.col("n_90d").cast(pl.Float64).alias("activities_90d"),
                    pl.col("n_prev_28d").cast(pl.Float64).alias("activities_prev_28d"),
                    *(
                        pl.col(f"n_28d_{j}").cast(pl.Float64).alias(f"{k}_28d")
                        for k, j in index.items()
                    ),
                ),
                on="member_id",
                how="left",
            )
            .join(
                at(days_found).select("member_id", pl.col("active_days_28d").cast(pl.Float64)),
                on="member_id",
                how="left",
            )
        )
        proof = pl.DataFrame(
            schema={"member_id": pl.String, "last_proof_at": pl.Datetime("us", "UTC"),
                    "badges": pl.Int64, **{f"seen_{k}": pl.Int64 for k in spec.proof_kinds}}
        )  # fmt: skip
        if seen is not None and last_proof is not None:
            by_kind = at(seen)
            proof = (
                at(last_proof)
                .select("member_id", _from_us("last_proof_us").alias("last_proof_at"))
                .join(by_kind.select("member_id").unique(), on="member_id", how="full",
                      coalesce=True)
                .join(_items(by_kind, "badge", "badges"), on="member_id", how="left")
            )  # fmt: skip
            for k in spec.proof_kinds:
                proof = proof.join(_items(by_kind, k, f"seen_{k}"), on="member_id", how="left")
        members = _members_at(community, cutoff)
        if sample is not None:
            members = members.join(sample, on="member_id", how="semi")
        out.append(_assemble(members, per_member, proof, cutoff, spec,
                             inactive_days=inactive_days))  # fmt: skip
    return out


def _items(by_kind: pl.DataFrame, kind: str, name: str) -> pl.DataFrame:
    return by_kind.filter(pl.col("item_kind") == kind).select(
        "member_id", pl.col("items").alias(name)
    )


def _churn_dates(
    community: Community,
    *,
    known: datetime,
    inactive_days: int,
    last: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``member_id``, ``joined_at``, ``churned_at`` as the data said at ``known`` (``last``:
    each member's latest activity at or before ``known``, when already known)."""
    members = community.members.filter(pl.col("joined_at") <= known).select(
        "member_id",
        "joined_at",
        pl.when(pl.col("left_at") <= known).then(pl.col("left_at")).alias("left_at"),
        pl.when(pl.col("last_seen_at") <= known).then(pl.col("last_seen_at")).alias("last_seen_at"),
    )
    if last is not None:
        activity = last
    else:
        (found,) = community.collect(
            windows.last_activity_at(community.frames().activity(), to_us(known))
        )
        activity = community.events.with_ids(found).select(
            "member_id", _from_us("last_us").alias("occurred_at")
        )
    status = churn_table(members, activity, as_of=known, inactive_days=inactive_days)
    return status.select("member_id", "joined_at", "churned_at")


def _labels(
    dates: pl.DataFrame, cutoff: datetime, *, known: datetime, horizon_days: int,
    inactive_days: int,
) -> pl.DataFrame:  # fmt: skip
    end = cutoff + timedelta(days=horizon_days)
    if end + timedelta(days=inactive_days) > known:
        raise InputError(
            f"churn within {horizon_days} days of {cutoff:%Y-%m-%d} is not decidable at "
            f"{known:%Y-%m-%d}: it needs {horizon_days} + {inactive_days} days after the cutoff. "
            "Choose an earlier cutoff."
        )
    return (
        dates.filter(pl.col("joined_at") <= cutoff)
        .select(
            "member_id",
            (pl.col("churned_at").is_not_null() & (pl.col("churned_at") <= end))
            .cast(pl.Int8)
            .alias("churned"),
        )
        .sort("member_id")
    )


def churn_labels(
    community: Community,
    cutoff: datetime,
    *,
    known: datetime,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    inactive_days: int = DEFAULT_INACTIVE_DAYS,
) -> pl.DataFrame:
    """Whether each member churned within ``horizon_days`` after ``cutoff``, as the data said at
    ``known`` (``member_id``, ``churned``: 0/1), for every member who had joined by the cutoff.

    Departures, activity and ``last_seen_at`` after ``known`` are left out (a ``last_seen_at``
    after it cannot be placed in time and is dropped).

    Raises
    ------
    ValueError
        When ``known`` is earlier than cutoff + horizon + inactive days (not decidable yet).
    """
    dates = _churn_dates(community, known=known, inactive_days=inactive_days)
    return _labels(
        dates, cutoff, known=known, horizon_days=horizon_days, inactive_days=inactive_days
    )


# -- fitting and scoring -----------------------------------------------------------------------


def _matrix(frame: pl.DataFrame, spec: FeatureSpec) -> FloatArray:
    return np.asarray(frame.select(list(spec.columns())).to_numpy(), dtype=np.float64)


def _model(spec: FeatureSpec, seed: int) -> HistGradientBoostingClassifier:
    names = list(spec.columns())
    categorical = [n.startswith("attr_") for n in names]
    return HistGradientBoostingClassifier(
        max_iter=100,
        learning_rate=0.08,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        categorical_features=np.asarray(categorical) if any(categorical) else None,
        early_stopping=False,
        random_state=seed,
    )


def _baseline(seed: int) -> HistGradientBoostingClassifier:
    """Recency only: a monotone step function of days since the last activity."""
    return HistGradientBoostingClassifier(
        max_iter=60, learning_rate=0.1, max_leaf_nodes=8, min_samples_leaf=40,
        monotonic_cst=[1], early_stopping=False, random_state=seed,
    )  # fmt: skip


#: From this many rows on, predictions use every core (below, OpenMP's start-up costs more).
PARALLEL_PREDICT_ROWS = 50_000


def _predict(model: HistGradientBoostingClassifier, x: FloatArray) -> FloatArray:
    """The predicted churn probability of each row; the same numbers on any number of threads."""
    if len(x) < PARALLEL_PREDICT_ROWS:
        return np.asarray(model.predict_proba(x)[:, 1], dtype=np.float64)
    with threadpool_limits(limits=os.cpu_count() or 1, user_api="openmp"):
        return np.asarray(model.predict_proba(x)[:, 1], dtype=np.float64)


def weighted_auc(y: npt.NDArray[Any], score: FloatArray, weight: FloatArray | None = None) -> float:
    """ROC AUC (ties count one half), with optional case weights; NaN without both classes."""
    y = np.asarray(y, dtype=bool)
    w = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=np.float64)
    order = np.argsort(score, kind="mergesort")
    s, yy, ww = score[order], y[order], w[order]
    pos_w, neg_w = np.where(yy, ww, 0.0), np.where(yy, 0.0, ww)
    # group ties: per distinct score, total positive and negative weight
    boundaries = np.flatnonzero(np.diff(s)) + 1
    pos_g = np.add.reduceat(pos_w, np.r_[0, boundaries]) if len(s) else np.zeros(0)
    neg_g = np.add.reduceat(neg_w, np.r_[0, boundaries]) if len(s) else np.zeros(0)
    total_pos, total_neg = pos_g.sum(), neg_g.sum()
    if total_pos == 0 or total_neg == 0:
        return math.nan
    below = np.cumsum(neg_g) - neg_g
    return float((pos_g * (below + 0.5 * neg_g)).sum() / (total_pos * total_neg))


class _RankedScores:
    """:func:`weighted_auc` of fixed labels and scores under many weightings: the scores are
    sorted and their ties grouped once, so each weighting costs two weighted counts."""

    def __init__(self, y: npt.NDArray[Any], score: FloatArray) -> None:
        y = np.asarray(y, dtype=bool)
        order = np.argsort(score, kind="mergesort")
        s = score[order]
        group = np.zeros(len(s), dtype=np.int64)
        if len(s):
            group[1:] = np.cumsum(np.diff(s) != 0)
        self.groups = int(group[-1]) + 1 if len(s) else 0
        # each member's tie group, split by class
        rank = np.empty(len(s), dtype=np.int64)
        rank[order] = group
        self.positive, self.negative = y, ~y
        self.pos_group, self.neg_group = rank[y], rank[~y]

    def auc(self, weight: FloatArray) -> float:
        pos_g = np.bincount(self.pos_group, weights=weight[self.positive], minlength=self.groups)
        neg_g = np.bincount(self.neg_group, weights=weight[self.negative], minlength=self.groups)
        total_pos, total_neg = pos_g.sum(), neg_g.sum()
        if total_pos == 0 or total_neg == 0:
            return math.nan
        below = np.cumsum(neg_g) - neg_g
        return float((pos_g * (below + 0.5 * neg_g)).sum() / (total_pos * total_neg))


@dataclass(frozen=True)
class Evaluation:
    """How well the model and the recency baseline ranked members at the held-out cutoff."""

    training_cutoffs: tuple[datetime, ...]
    eval_cutoff: datetime
    n_train: int
    n_eval: int
    churn_rate_train: float
    churn_rate_eval: float
    auc: float
    baseline_auc: float
    auc_difference_ci: tuple[float, float]
    pr_auc: float
    baseline_pr_auc: float
    brier: float
    baseline_brier: float
    #: ``model`` (model / baseline), ``predicted`` (bin mean), ``observed``, ``members``.
    calibration: pl.DataFrame

    @property
    def beats_baseline(self) -> bool:
        return self.auc_difference_ci[0] > 0

    def summary(self) -> str:
        verdict = (
            "ranks members better than days since last activity alone"
            if self.beats_baseline
            else "does not rank members reliably better than days since last activity alone"
        )
        low, high = self.auc_difference_ci
        return (
            f"On the held-out cutoff {self.eval_cutoff:%Y-%m-%d} ({self.n_eval:,} members, "
            f"{self.churn_rate_eval:.0%} churned within the horizon) the model {verdict}: ROC AUC "
            f"{self.auc:.3f} against {self.baseline_auc:.3f} "
            f"(difference {self.auc - self.baseline_auc:+.3f}, "
            f"95 % interval {low:+.3f} to {high:+.3f}); PR AUC {self.pr_auc:.3f} against "
            f"{self.baseline_pr_auc:.3f}."
        )


@dataclass(frozen=True)
class RiskResult:
    """The evaluated model, what drives it and today's members ranked by risk.

    ``at_risk``: ``rank``, ``member_id``, ``risk``, ``baseline_risk``, ``days_since_last``,
    ``activities_28d``, ``trend_pct``, ``tenure_days``, ``factors`` (list of sentences), ranked
    by ``risk``, which comes from the model when it beats the baseline and from the baseline
    otherwise (``ranked_by``). ``importance``: ``group``, ``importance`` (mean drop in ROC AUC
    when the group is shuffled), ``ci_low``, ``ci_high`` (2.5 and 97.5 % of the repeats),
    ``features``, ``help``. ``reason`` says why there is no model, when there is none.
    """

    settings: RiskSettings
    as_of: datetime
    evaluation: Evaluation | None
    importance: pl.DataFrame
    at_risk: pl.DataFrame
    ranked_by: Literal["model", "baseline"] | None
    typical: dict[str, float]
    reason: str | None = None

    def to_json(self, *, limit: int | None = None) -> dict[str, Any]:
        """The CLI's JSON: ``auc``, ``baseline_auc`` and ``members`` ranked by risk."""
        ev = self.evaluation
        rows = self.at_risk if limit is None else self.at_risk.head(limit)
        return {
            "as_of": self.as_of.isoformat().replace("+00:00", "Z"),
            "horizon_days": self.settings.horizon_days,
            "auc": None if ev is None else round(ev.auc, 4),
            "baseline_auc": None if ev is None else round(ev.baseline_auc, 4),
            "pr_auc": None if ev is None else round(ev.pr_auc, 4),
            "baseline_pr_auc": None if ev is None else round(ev.baseline_pr_auc, 4),
            "beats_baseline": None if ev is None else ev.beats_baseline,
            "ranked_by": self.ranked_by,
            "reason": self.reason,
            "members": [
                {"member_id": r["member_id"], "risk": round(r["risk"], 4), "factors": r["factors"]}
                for r in rows.iter_rows(named=True)
            ],
        }


def _cutoffs(
    community: Community, last_cutoff: datetime, settings: RiskSettings
) -> tuple[datetime, ...]:
    cutoffs = tuple(
        last_cutoff - timedelta(days=settings.step_days * i)
        for i in range(settings.training_cutoffs)
    )
    return tuple(c for c in cutoffs if community.first_join and c > community.first_join)


def _training_set(
    features: Sequence[pl.DataFrame],
    cutoffs: Sequence[datetime],
    dates: pl.DataFrame,
    known: datetime,
    settings: RiskSettings,
) -> pl.DataFrame:
    """The features at the training cutoffs, with their labels as known at ``known``."""
    frames = []
    for x, cutoff in zip(features, cutoffs, strict=True):
        y = _labels(
            dates, cutoff, known=known,
            horizon_days=settings.horizon_days, inactive_days=settings.inactive_days,
        )  # fmt: skip
        frames.append(x.join(y, on="member_id"))
    return pl.concat(frames)


def _enough(y: npt.NDArray[Any], settings: RiskSettings) -> bool:
    positives = int(np.sum(y))
    return positives >= settings.min_class and len(y) - positives >= settings.min_class


def _fit(
    frame: pl.DataFrame, spec: FeatureSpec, settings: RiskSettings
) -> tuple[HistGradientBoostingClassifier, HistGradientBoostingClassifier]:
    if frame.height > settings.max_training_rows:
        frame = frame.sample(settings.max_training_rows, seed=settings.seed)
    y = frame["churned"].to_numpy()
    model = _model(spec, settings.seed).fit(_matrix(frame, spec), y)
    base = _baseline(settings.seed).fit(frame.select("days_since_last").to_numpy(), y)
    return model, base


def _calibration(y: npt.NDArray[Any], p: FloatArray, label: str) -> pl.DataFrame:
    observed, predicted = calibration_curve(y, p, n_bins=10, strategy="quantile")
    edges = np.unique(np.quantile(p, np.linspace(0, 1, 11)))
    counts = np.histogram(p, bins=edges)[0] if len(edges) > 1 else np.array([len(p)])
    counts = counts[counts > 0][: len(observed)]
    if len(counts) != len(observed):
        counts = np.full(len(observed), len(p) // max(len(observed), 1))
    return pl.DataFrame(
        {
            "model": [label] * len(observed),
            "predicted": predicted.astype(np.float64),
            "observed": observed.astype(np.float64),
            "members": counts.astype(np.int64),
        }
    )


def _evaluate(
    model: HistGradientBoostingClassifier,
    base: HistGradientBoostingClassifier,
    frame: pl.DataFrame,
    spec: FeatureSpec,
    settings: RiskSettings,
) -> tuple[dict[str, Any], FloatArray, FloatArray]:
    y = frame["churned"].to_numpy().astype(np.int64)
    p = _predict(model, _matrix(frame, spec))
    b = _predict(base, frame.select("days_since_last").to_numpy())
    rng = np.random.default_rng(settings.seed)
    model_auc, base_auc = _RankedScores(y, p), _RankedScores(y, b)
    diffs = []
    for _ in range(settings.bootstrap):
        # how often each member is drawn in a resample of the same size (multinomial counts)
        w = np.bincount(rng.integers(0, len(y), len(y)), minlength=len(y)).astype(np.float64)
        diffs.append(model_auc.auc(w) - base_auc.auc(w))
    low, high = np.nanquantile(np.asarray(diffs), [0.025, 0.975])
    metrics = {
        "auc": weighted_auc(y, p),
        "baseline_auc": weighted_auc(y, b),
        "auc_difference_ci": (float(low), float(high)),
        "pr_auc": float(average_precision_score(y, p)),
        "baseline_pr_auc": float(average_precision_score(y, b)),
        "brier": float(brier_score_loss(y, p)),
        "baseline_brier": float(brier_score_loss(y, b)),
        "calibration": pl.concat([_calibration(y, p, "model"), _calibration(y, b, "baseline")]),
    }
    return metrics, p, b


def permutation_importance_groups(
    model: HistGradientBoostingClassifier,
    frame: pl.DataFrame,
    spec: FeatureSpec,
    *,
    repeats: int = 10,
    seed: int = 20261124,
) -> pl.DataFrame:
    """Drop in ROC AUC when a group's features are shuffled together across members.

    Returns
    -------
    polars.DataFrame
        ``group``, ``importance`` (mean drop), ``ci_low``, ``ci_high`` (2.5 and 97.5 % of the
        ``repeats`` drops: the spread of the shuffling, not of refitting), ``features``,
        ``help``; largest first.
    """
    x = _matrix(frame, spec)
    y = frame["churned"].to_numpy()
    reference = weighted_auc(y, _predict(model, x))
    columns = spec.columns()
    rng = np.random.default_rng(seed)
    rows = []
    for group in GROUPS:
        idx = [i for i, g in enumerate(columns.values()) if g == group]
        if not idx:
            continue
        drops = []
        for _ in range(repeats):
            shuffled = x.copy()
            order = rng.permutation(len(x))
            shuffled[:, idx] = x[order][:, idx]
            drops.append(reference - weighted_auc(y, _predict(model, shuffled)))
        low, high = np.quantile(drops, [0.025, 0.975])
        rows.append(
            {
                "group": group,
                "importance": float(np.mean(drops)),
                "ci_low": float(low),
                "ci_high": float(high),
                "features": ", ".join(n for n, g in columns.items() if g == group),
                "help": GROUP_HELP[group],
            }
        )
    schema = {"group": pl.String, "importance": pl.Float64, "ci_low": pl.Float64,
              "ci_high": pl.Float64, "features": pl.String, "help": pl.String}  # fmt: skip
    return pl.DataFrame(rows, schema=schema).sort("importance", descending=True)


# -- risk factors in words ---------------------------------------------------------------------


def _typical(frame: pl.DataFrame, spec: FeatureSpec) -> dict[str, float]:
    """The median active member (most common value for attributes)."""
    out: dict[str, float] = {}
    for name in spec.columns():
        column = frame[name].drop_nulls()
        if column.is_empty():
            out[name] = math.nan
        elif name.startswith("attr_"):
            out[name] = float(column.mode().sort()[0])
        else:
            out[name] = float(column.median())  # type: ignore[arg-type]
    return out


def _fmt(value: float) -> str:
    return "never" if math.isnan(value) else f"{value:,.0f}"


def _plural(count: float) -> str:
    return "activity" if round(count) == 1 else "activities"


def _sentence(group: str, row: dict[str, Any], typical: dict[str, float], spec: FeatureSpec) -> str:
    if group == "recency":
        return (
            f"no activity for {row['days_since_last']:.0f} days "
            f"(typical: {typical['days_since_last']:.0f})"
        )
    if group == "frequency":
        return (
            f"{row['activities_28d']:.0f} {_plural(row['activities_28d'])} in the last 4 weeks "
            f"(typical: {typical['activities_28d']:.0f})"
        )
    if group == "trend":
        now, before = row["activities_28d"], row["activities_prev_28d"]
        if before > 0 and now < before:
            return (
                f"activity fell {1 - now / before:.0%} against the previous 4 weeks "
                f"({now:.0f} after {before:.0f})"
            )
        return f"activity {now:.0f} in the last 4 weeks after {before:.0f} in the 4 weeks before"
    if group == "tenure":
        return (
            f"member for {row['tenure_days']:.0f} days (typical: {typical['tenure_days']:.0f}); "
            "newer members leave more often"
        )
    if group == "proof seen":
        seen = sum(row[f"seen_{k}"] for k in spec.proof_kinds)
        usual = sum(typical[f"seen_{k}"] for k in spec.proof_kinds)
        return f"has seen {seen:.0f} proof item(s) (typical: {usual:.0f})"
    if group == "badges":
        return f"{row['badges']:.0f} badge(s) (typical: {typical['badges']:.0f})"
    parts = []
    for a in spec.attributes:
        code, usual = row[f"attr_{a}"], typical[f"attr_{a}"]
        values = spec.categories.get(a, ())
        if code is not None and not math.isnan(code) and code != usual:
            shown = values[int(code)]
            common = values[int(usual)] if not math.isnan(usual) else "?"
            parts.append(f"{a} {shown} (most members: {common})")
    return "; ".join(parts) or "member attributes"


def _formatted(values: pl.Series, fmt: str) -> pl.Series:
    """Each value formatted as Python would (``format(v, fmt)``): distinct values once."""
    mapping = {v: format(v, fmt) for v in values.unique().drop_nulls().to_list()}
    return values.replace_strict(mapping, default=None, return_dtype=pl.String)


def _sentences(
    frame: pl.DataFrame, typical: dict[str, float], spec: FeatureSpec, groups: Sequence[str]
) -> dict[str, pl.Series]:
    """:func:`_sentence` of every member for each group, built column-wise."""

    def whole(column: str | pl.Series) -> pl.Series:
        return _formatted(frame[column] if isinstance(column, str) else column, ".0f")

    def usual(name: str) -> str:
        return format(typical[name], ".0f")

    out: dict[str, pl.Series] = {}
    for group in groups:
        if group == "recency":
            text = "no activity for " + whole("days_since_last")
            text = text + f" days (typical: {usual('days_since_last')})"
        elif group == "frequency":
            count = frame["activities_28d"]
            one = pl.lit(count.round(0)) == 1
            noun = pl.select(
                pl.when(one).then(pl.lit("activity")).otherwise(pl.lit("activities"))
            ).to_series()
            text = whole(count) + " " + noun
            text = text + f" in the last 4 weeks (typical: {usual('activities_28d')})"
        elif group == "trend":
            now, before = frame["activities_28d"], frame["activities_prev_28d"]
            fell = (before > 0) & (now < before)
            share = _formatted(pl.select(pl.when(fell).then(1 - now / before)).to_series(), ".0%")
            text = pl.select(
                pl.when(fell)
                .then(
                    pl.lit("activity fell ") + pl.lit(share) + " against the previous 4 weeks ("
                    + pl.lit(whole(now)) + " after " + pl.lit(whole(before)) + ")"
                )
                .otherwise(
                    pl.lit("activity ") + pl.lit(whole(now)) + " in the last 4 weeks after "
                    + pl.lit(whole(before)) + " in the 4 weeks before"
                )
            ).to_series()  # fmt: skip
        elif group == "tenure":
            text = "member for " + whole("tenure_days")
            text = text + (
                f" days (typical: {usual('tenure_days')}); newer members leave more often"
            )
        elif group == "proof seen":
            seen = frame.select(
                pl.sum_horizontal(*(pl.col(f"seen_{k}") for k in spec.proof_kinds))
                if spec.proof_kinds
                else pl.repeat(0.0, frame.height)
            ).to_series()
            total = sum(typical[f"seen_{k}"] for k in spec.proof_kinds)
            text = "has seen " + whole(seen) + f" proof item(s) (typical: {total:.0f})"
        elif group == "badges":
            text = whole("badges") + f" badge(s) (typical: {usual('badges')})"
        else:
            parts = []
            for a in spec.attributes:
                code, common_code = frame[f"attr_{a}"], typical[f"attr_{a}"]
                values = spec.categories.get(a, ())
                common = values[int(common_code)] if not math.isnan(common_code) else "?"
                shown = code.replace_strict(
                    {float(i): v for i, v in enumerate(values)}, default=None,
                    return_dtype=pl.String,
                )  # fmt: skip
                differs = code.is_not_null() & code.is_not_nan() & (code != common_code)
                parts.append(
                    pl.select(
                        pl.when(differs).then(
                            pl.lit(f"{a} ") + pl.lit(shown) + f" (most members: {common})"
                        )
                    ).to_series()
                )
            if parts:
                joined = pl.select(
                    pl.concat_str([pl.lit(p) for p in parts], separator="; ", ignore_nulls=True)
                ).to_series()
                text = pl.select(
                    pl.when(pl.lit(joined) == "")
                    .then(pl.lit("member attributes"))
                    .otherwise(pl.lit(joined))
                ).to_series()
            else:
                text = pl.Series([("member attributes")] * frame.height, dtype=pl.String)
        out[group] = text.rename(group)
    return out


def risk_factors(
    model: HistGradientBoostingClassifier,
    frame: pl.DataFrame,
    spec: FeatureSpec,
    typical: dict[str, float],
    *,
    top: int = 3,
) -> pl.Series:
    """Each member's top risk factors: the feature groups whose typical values would lower the
    member's predicted risk most (at least ``MIN_FACTOR``), in words (``factors``: a list of
    strings per member)."""
    x = _matrix(frame, spec)
    if len(x) == 0:
        return pl.Series("factors", [], dtype=pl.List(pl.String))
    risk = _predict(model, x)
    columns = spec.columns()
    contributions = {}
    for group in GROUPS:
        idx = [i for i, g in enumerate(columns.values()) if g == group]
        if not idx:
            continue
        swapped = x.copy()
        for i in idx:
            swapped[:, i] = typical[list(columns)[i]]
        contributions[group] = risk - _predict(model, swapped)
    groups = list(contributions)
    matrix = np.column_stack([contributions[g] for g in groups])
    # per member, the groups by contribution (largest first; ties in group order)
    order = np.argsort(-matrix, axis=1, kind="stable")[:, :top]
    strong = np.take_along_axis(matrix, order, axis=1) >= MIN_FACTOR
    texts = _sentences(frame, typical, spec, groups)
    picked = []
    for k in range(order.shape[1]):
        choice = pl.Series(f"pick_{k}", order[:, k])
        column = pl.select(
            pl.coalesce(
                pl.when(pl.lit(choice) == j).then(pl.lit(texts[g])) for j, g in enumerate(groups)
            )
        ).to_series()
        picked.append(pl.select(pl.when(pl.lit(strong[:, k])).then(pl.lit(column))).to_series())
    return (
        pl.select(pl.concat_list([pl.lit(p) for p in picked]).list.drop_nulls())
        .to_series()
        .rename("factors")
    )


def _recency_factors(frame: pl.DataFrame, typical: dict[str, float]) -> pl.Series:
    days = frame["days_since_last"]
    text = "no activity for " + _formatted(days, ".0f")
    text = text + f" days (typical: {typical['days_since_last']:.0f})"
    return (
        pl.select(
            pl.when(pl.lit(days) > typical["days_since_last"])
            .then(pl.concat_list(pl.lit(text)))
            .otherwise(pl.lit([], dtype=pl.List(pl.String)))
        )
        .to_series()
        .rename("factors")
    )


# -- the whole analysis ------------------------------------------------------------------------


_AT_RISK_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "rank": pl.Int64, "member_id": pl.String, "risk": pl.Float64, "baseline_risk": pl.Float64,
    "days_since_last": pl.Float64, "activities_28d": pl.Float64, "trend_pct": pl.Float64,
    "tenure_days": pl.Float64, "factors": pl.List(pl.String),
}  # fmt: skip


def _empty(settings: RiskSettings, as_of: datetime, reason: str) -> RiskResult:
    return RiskResult(
        settings=settings,
        as_of=as_of,
        evaluation=None,
        importance=pl.DataFrame(
            schema={
                "group": pl.String,
                "importance": pl.Float64,
                "ci_low": pl.Float64,
                "ci_high": pl.Float64,
                "features": pl.String,
                "help": pl.String,
            }
        ),
        at_risk=pl.DataFrame(schema=_AT_RISK_SCHEMA),
        ranked_by=None,
        typical={},
        reason=reason,
    )


def churn_risk(
    community: Community,
    settings: RiskSettings | None = None,
    *,
    progress: Progress | None = None,
) -> RiskResult:
    """Train, evaluate on a later held-out cutoff, explain, and rank today's members by risk.

    The trees run on one thread: at these sizes OpenMP's start-up and contention with other
    work on the machine cost far more than a second core gains (measured in
    benchmarks/bench_risk.py).
    """
    with threadpool_limits(limits=1, user_api="openmp"):
        return _churn_risk(community, settings or RiskSettings(), progress)


def _churn_risk(
    community: Community, settings: RiskSettings, progress: Progress | None
) -> RiskResult:
    step = progress or (lambda _s, _f: None)
    as_of = community.as_of
    eval_cutoff = as_of - settings.gap
    train_last = eval_cutoff - settings.gap
    if community.first_join is None or train_last <= community.first_join:
        needed = 2 * (settings.horizon_days + settings.inactive_days)
        return _empty(
            settings,
            as_of,
            f"The data covers too little time: checking a model on a later cutoff needs at least "
            f"{needed} days of history ({settings.horizon_days}-day horizon plus "
            f"{settings.inactive_days} quiet days, twice).",
        )
    if community.keep_events():
        step("Kept the activity rows in compact form for the many queries ahead", 0.02)
    step("Building features at the training cutoffs", 0.05)
    train_cutoffs = _cutoffs(community, train_last, settings)
    latest_cutoffs = _cutoffs(community, eval_cutoff, settings)
    spec, latest_spec = _specs(community, [train_cutoffs[0], latest_cutoffs[0]])
    # the training cutoffs' features of a sample of members (see _training_sample); the
    # held-out and today's features of everyone
    sample = _training_sample(community, (train_cutoffs, latest_cutoffs), settings)
    requests = [(c, spec) for c in train_cutoffs]
    requests += [(c, latest_spec) for c in latest_cutoffs]
    trained_on = _features(community, requests, inactive_days=settings.inactive_days, sample=sample)
    last_at: dict[datetime, pl.DataFrame] = {}
    evaluated = _features(
        community,
        [(eval_cutoff, spec), (as_of, latest_spec)],
        inactive_days=settings.inactive_days,
        last_at=last_at,
    )
    n = len(train_cutoffs)
    features = [*trained_on[:n], evaluated[0], *trained_on[n:], evaluated[1]]
    dates_eval = _churn_dates(
        community, known=eval_cutoff, inactive_days=settings.inactive_days,
        last=last_at[eval_cutoff],
    )  # fmt: skip
    dates_now = _churn_dates(
        community, known=as_of, inactive_days=settings.inactive_days, last=last_at[as_of]
    )
    train = _training_set(features[:n], train_cutoffs, dates_eval, eval_cutoff, settings)
    step("Building features at the held-out cutoff", 0.3)
    held_out = features[n].join(
        _labels(
            dates_now, eval_cutoff, known=as_of,
            horizon_days=settings.horizon_days, inactive_days=settings.inactive_days,
        ),
        on="member_id",
    )  # fmt: skip
    if not _enough(train["churned"].to_numpy(), settings) or not _enough(
        held_out["churned"].to_numpy(), settings
    ):
        return _empty(
            settings,
            as_of,
            f"Too few members churned or stayed to train and check a model (at least "
            f"{settings.min_class} of each at the training and the held-out cutoff).",
        )
    step("Training the model and the recency baseline", 0.4)
    model, base = _fit(train, spec, settings)
    step("Checking both on the held-out cutoff", 0.55)
    metrics, _, _ = _evaluate(model, base, held_out, spec, settings)
    evaluation = Evaluation(
        training_cutoffs=train_cutoffs,
        eval_cutoff=eval_cutoff,
        n_train=train.height,
        n_eval=held_out.height,
        churn_rate_train=float(train["churned"].mean()),  # type: ignore[arg-type]
        churn_rate_eval=float(held_out["churned"].mean()),  # type: ignore[arg-type]
        **metrics,
    )
    step("Permutation importance", 0.65)
    shuffled_rows = (
        held_out.sample(settings.max_importance_rows, seed=settings.seed)
        if held_out.height > settings.max_importance_rows
        else held_out
    )
    importance = permutation_importance_groups(
        model, shuffled_rows, spec, repeats=settings.repeats, seed=settings.seed
    )

    step("Refitting on the latest known labels", 0.75)
    latest = _training_set(features[n + 1 : -1], latest_cutoffs, dates_now, as_of, settings)
    final_model, final_base = _fit(latest, latest_spec, settings)
    step("Scoring today's members", 0.9)
    today = features[-1]
    typical = _typical(today, latest_spec)
    x_today = _matrix(today, latest_spec)
    model_risk = _predict(final_model, x_today) if len(x_today) else np.zeros(0, dtype=float)
    base_risk = (
        _predict(final_base, today.select("days_since_last").to_numpy())
        if len(x_today)
        else np.zeros(0, dtype=float)
    )
    ranked_by: Literal["model", "baseline"] = "model" if evaluation.beats_baseline else "baseline"
    risk = model_risk if ranked_by == "model" else base_risk
    ranked = (
        today.select(
            "member_id",
            pl.Series("risk", risk, dtype=pl.Float64),
            pl.Series("baseline_risk", base_risk, dtype=pl.Float64),
            "days_since_last",
            "activities_28d",
            pl.when(pl.col("activities_prev_28d") > 0)
            .then(pl.col("activities_28d") / pl.col("activities_prev_28d") - 1.0)
            .alias("trend_pct"),
            "tenure_days",
        )
        .sort(["risk", "member_id"], descending=[True, False])
        .with_row_index("rank", offset=1)
        .with_columns(pl.col("rank").cast(pl.Int64))
    )
    # factors in words for the members at highest risk (everyone in all but large communities):
    # each costs a prediction per feature group
    explained = today.join(
        ranked.head(settings.max_factor_rows).select("member_id"), on="member_id", how="semi"
    )
    factors = (
        risk_factors(final_model, explained, latest_spec, typical)
        if ranked_by == "model"
        else _recency_factors(explained, typical)
    )
    at_risk = ranked.join(
        explained.select("member_id", factors), on="member_id", how="left"
    ).select(list(_AT_RISK_SCHEMA))
    step("Done", 1.0)
    return RiskResult(
        settings=settings,
        as_of=as_of,
        evaluation=evaluation,
        importance=importance,
        at_risk=at_risk,
        ranked_by=ranked_by,
        typical=typical,
    )


def at_risk_export(result: RiskResult, *, top: int | None = None) -> pl.DataFrame:
    """The at-risk table for outreach as flat columns (factors joined by ``; ``)."""
    frame = result.at_risk if top is None else result.at_risk.head(top)
    return frame.with_columns(
        pl.col("risk").round(4),
        pl.col("baseline_risk").round(4),
        pl.col("trend_pct").round(3),
        pl.col("days_since_last").round(1),
        pl.col("tenure_days").round(1),
        pl.col("factors")
        .list.join("; ")
        .fill_null(
            f"not worked out: factors are given for the {result.settings.max_factor_rows:,} "
            "members at highest risk"
        ),
    )


__all__ = [
    "DEFAULT_HORIZON_DAYS",
    "GROUPS",
    "Evaluation",
    "FeatureSpec",
    "KnownAt",
    "RiskResult",
    "RiskSettings",
    "at_risk_export",
    "churn_labels",
    "churn_risk",
    "features_as_of",
    "features_from",
    "known_at",
    "permutation_importance_groups",
    "risk_definition",
    "risk_factors",
    "weighted_auc",
]
