"""Social-proof impact: which proof items go with members staying, honestly estimated.

Estimand (per item): among members still present ``landmark_days`` after joining who could have
been exposed by then (the item was published before their landmark), the difference in the
probability of still being a member ``horizon_days`` after the landmark between members exposed
to the item in their first ``landmark_days`` and comparable members who were not — the effect
on the exposed (ATT). Positive means the item goes with better retention.

Why this design:

* **Immortal time.** Exposure is fixed at the landmark and the outcome is measured after it, so
  members do not get credit for the time they needed to be exposed. A badge for a year of
  membership cannot be earned in the first 30 days and is reported as not identifiable.
* **Confounding by engagement.** Members are compared through what was known at the landmark
  only: activity in the first ``landmark_days`` (count by kind, active days, days since last
  activity), join time, and the member attributes marked as fixed at signup. A logistic
  propensity model weights the unexposed to resemble the exposed, and a logistic outcome model
  fitted on the unexposed makes the estimate doubly robust (right if either model is).
* **Overlap.** When exposure is (almost) decided by early activity — a badge awarded at the first
  post, or for 25 posts — there are no comparable unexposed members; the verdict is then
  ``not_identifiable`` instead of a number (propensity AUC of at least ``max_propensity_auc``,
  or too few effectively comparable controls).
* **Uncertainty.** By default the 95 % intervals and p-values come from the influence function
  of the doubly robust estimator (a normal interval: fast enough for every item at 100,000
  members). With ``bootstrap=B`` they come instead from a nonparametric bootstrap that resamples
  members and refits both models B times (percentile interval; slower). q-values are
  Benjamini–Hochberg across the items analysed together. The simulation study checks the
  coverage of the intervals against the demo community's planted truth.
* **The outcome is decidable.** Only members whose horizon ended at least ``inactive_days``
  before the as-of time are used, so churn at the horizon is known for all of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from analytics.churn import DEFAULT_INACTIVE_DAYS, churn_table
from analytics.community import Community
from analytics.cox import CoxResult, counting_process, fit_cox_time_varying
from analytics.errors import InputError
from analytics.queries.events import DAY_US, to_us
from analytics.queries.exposures import exposures_before, first_exposures
from analytics.queries.landmark import early_activity, early_kinds

Verdict = Literal["helps", "hurts", "no_evidence", "not_identifiable"]
Progress = Callable[[str, float], None]
FloatArray = npt.NDArray[np.float64]

#: Activity kinds used as separate covariates (the most common ones); the rest count in total.
MAX_KIND_COVARIATES = 6
#: Covariate: how much other social proof a member saw or earned before the landmark (log 1 + n),
#: a second engagement signal beside activity; an item's own exposures are never counted in it.
OTHER_EXPOSURES = "log_other_proof_seen"
#: An item is "awarded for tenure" when 90 % of members get it no earlier than this many days
#: into membership and half of them within TENURE_SPREAD_DAYS of that day (a one-year badge).
TENURE_MIN_DAYS = 7.0
TENURE_SPREAD_DAYS = 7.0
#: Propensity scores are clipped to this range before weighting.
PROPENSITY_CLIP = (0.01, 0.99)


@dataclass(frozen=True)
class ImpactSettings:
    """The choices behind an impact analysis (all adjustable in the sidebar and the CLI)."""

    landmark_days: int = 30
    horizon_days: int = 90
    inactive_days: int = DEFAULT_INACTIVE_DAYS
    #: Member attributes known at signup to adjust for; ``None`` = every segment attribute.
    fixed_attributes: tuple[str, ...] | None = None
    min_group_size: int = 30
    max_propensity_auc: float = 0.95
    #: 0: influence-function interval; B > 0: refitting bootstrap with B resamples.
    bootstrap: int = 0
    alpha: float = 0.05
    seed: int = 20261124
    #: The propensity and outcome models are fitted on at most this many members (a seeded
    #: sample, up to half from each group, weighted back), then applied to everyone: beyond it
    #: the coefficients barely move while the time grows with the members.
    max_model_rows: int | None = 100_000

    def __post_init__(self) -> None:
        if self.landmark_days < 1 or self.horizon_days < 1:
            raise InputError("landmark_days and horizon_days must be at least 1 day.")
        if self.min_group_size < 2:
            raise InputError("min_group_size must be at least 2 members.")
        if self.bootstrap < 0 or 0 < self.bootstrap < 50:
            raise InputError("bootstrap must be 0 (influence-function interval) or at least 50.")


@dataclass(frozen=True)
class Population:
    """Members whose outcome is decidable, with pre-landmark covariates.

    ``frame`` has ``member_id``, ``joined_at``, ``landmark_at``, ``retained`` (0/1: still a
    member at the horizon), ``present_at_landmark`` (bool) and the covariate columns named in
    ``covariates``.
    """

    frame: pl.DataFrame
    covariates: tuple[str, ...]
    settings: ImpactSettings


@dataclass(frozen=True)
class ItemEffect:
    """The estimate for one proof item (or one kind of item taken together)."""

    item_id: str
    kind: str
    title: str
    n_exposed: int
    n_control: int
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    q_value: float | None
    naive_effect: float | None
    verdict: Verdict
    reason: str
    phi: float | None = None
    #: Group sizes of the naive comparison: ever exposed, never exposed.
    naive_sizes: tuple[int, int] = (0, 0)
    e_value: float | None = None
    e_value_ci: float | None = None
    retained_exposed: float | None = None
    propensity_auc: float | None = None
    effective_controls: float | None = None
    sensitivity: dict[int, float | None] = field(default_factory=dict)
    balance: pl.DataFrame | None = None

    def sentence(self, settings: ImpactSettings) -> str:
        """The result in one sentence a community lead understands."""
        who = f"Members who saw '{self.title}' in their first {settings.landmark_days} days"
        if self.kind == "badge":
            who = (
                f"Members who earned the '{self.title}' badge in their first "
                f"{settings.landmark_days} days"
            )
        if self.verdict == "not_identifiable" or self.effect is None:
            return f"No estimate for '{self.title}': {self.reason}"
        points = abs(self.effect) * 100
        low, high = (self.ci_low or 0.0) * 100, (self.ci_high or 0.0) * 100
        direction = "more" if self.effect >= 0 else "less"
        text = (
            f"{who} were {points:.0f} points ({low:+.0f} to {high:+.0f}) {direction} likely to "
            f"still be members {settings.horizon_days} days later than similar members who "
            "did not"
        )
        if self.verdict == "no_evidence":
            return text + ", which could be chance."
        return text + "."


@dataclass(frozen=True)
class ImpactResult:
    """Estimates for every proof item and every kind of item, with the settings used."""

    settings: ImpactSettings
    items: tuple[ItemEffect, ...]
    kinds: tuple[ItemEffect, ...]
    population_size: int
    covariates: tuple[str, ...]

    def table(self, *, kinds: bool = False) -> pl.DataFrame:
        """One row per item (or kind), ranked: verdict, then effect."""
        rows = self.kinds if kinds else self.items
        order = {"helps": 0, "hurts": 1, "no_evidence": 2, "not_identifiable": 3}
        ranked = sorted(rows, key=lambda r: (order[r.verdict], -(r.effect or 0.0), r.item_id))
        return pl.DataFrame(
            [
                {
                    "item_id": r.item_id,
                    "kind": r.kind,
                    "title": r.title,
                    "n_exposed": r.n_exposed,
                    "n_control": r.n_control,
                    "effect": r.effect,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                    "p_value": r.p_value,
                    "q_value": r.q_value,
                    "naive_effect": r.naive_effect,
                    "phi": r.phi,
                    "e_value": r.e_value,
                    "e_value_ci": r.e_value_ci,
                    **{
                        f"effect_inactive_{d}d": r.sensitivity.get(d)
                        for d in SENSITIVITY_INACTIVE_DAYS
                    },
                    "verdict": r.verdict,
                    "reason": r.reason,
                    "sentence": r.sentence(self.settings),
                }
                for r in ranked
            ],
            schema=_TABLE_SCHEMA,
            orient="row",
        )

    def to_json(self) -> list[dict[str, Any]]:
        """The CLI's JSON array, one object per proof item, ranked."""
        keys = (
            "item_id", "kind", "title", "n_exposed", "n_control", "effect", "ci_low",
            "ci_high", "p_value", "q_value", "naive_effect", "verdict", "reason",
        )  # fmt: skip
        return [{k: row[k] for k in keys} for row in self.table().iter_rows(named=True)]


SENSITIVITY_INACTIVE_DAYS = (14, 60)
_TABLE_SCHEMA: dict[str, Any] = {
    "item_id": pl.String,
    "kind": pl.String,
    "title": pl.String,
    "n_exposed": pl.Int64,
    "n_control": pl.Int64,
    "effect": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "p_value": pl.Float64,
    "q_value": pl.Float64,
    "naive_effect": pl.Float64,
    "phi": pl.Float64,
    "e_value": pl.Float64,
    "e_value_ci": pl.Float64,
    **{f"effect_inactive_{d}d": pl.Float64 for d in SENSITIVITY_INACTIVE_DAYS},
    "verdict": pl.String,
    "reason": pl.String,
    "sentence": pl.String,
}


# -- population and covariates ------------------------------------------------------------------


@dataclass(frozen=True)
class EarlyActivity:
    """What members did before their landmark, for members who joined by each of some times
    (one job on the event tables serves the main analysis and its sensitivity analyses).

    ``kinds`` maps each joined-by time (microseconds) to the activity kinds used as covariates
    for it; ``per_member`` (``member_id``, ``n_activity``, ``active_days``, ``last_activity``,
    ``kind_<kind>`` for every kind of any time) and ``seen`` (``member_id``, ``n_exposures``)
    cover the members who joined by the latest time.
    """

    landmark_days: int
    kinds: dict[int, list[str]]
    per_member: pl.DataFrame
    seen: pl.DataFrame


def early_activity_by(
    community: Community, landmark_days: int, joined_until: Sequence[datetime]
) -> EarlyActivity:
    """:class:`EarlyActivity` for the members who joined by each of ``joined_until``."""
    landmark_us = landmark_days * DAY_US
    until = sorted({to_us(t) for t in joined_until})
    activity = community.frames().activity()
    kind_rows = community.collect(
        *(early_kinds(activity, offset_us=landmark_us, joined_until_us=u) for u in until)
    )
    kinds = {
        u: rows.sort(["rows", "kind"], descending=[True, False])["kind"].to_list()[
            :MAX_KIND_COVARIATES
        ]
        for u, rows in zip(until, kind_rows, strict=True)
    }
    every_kind = sorted({k for ks in kinds.values() for k in ks})
    early = [early_activity(activity, offset_us=landmark_us, joined_until_us=until[-1],
                            kinds=every_kind)]  # fmt: skip
    exposures = community.frames().exposures()
    if exposures is not None:
        early.append(exposures_before(exposures, offset_us=landmark_us, joined_until_us=until[-1]))
    found = community.collect(*early)
    per_member = (
        community.events.with_ids(found[0])
        .with_columns(
            pl.from_epoch("last_us", time_unit="us")
            .dt.replace_time_zone("UTC")
            .alias("last_activity")
        )
        .drop("last_us")
    )
    if exposures is not None:
        seen = (
            community.events.with_ids(found[1])
            .group_by("member_id")
            .agg(pl.col("n").sum().alias("n_exposures"))
        )
    else:
        seen = pl.DataFrame(schema={"member_id": pl.String, "n_exposures": pl.Int64})
    return EarlyActivity(landmark_days, kinds, per_member, seen)


def _joined_until(community: Community, settings: ImpactSettings) -> datetime:
    """The latest join whose outcome at the horizon is decidable at the as-of time."""
    horizon = timedelta(days=settings.landmark_days + settings.horizon_days)
    return community.as_of - timedelta(days=settings.inactive_days) - horizon


def landmark_population(
    community: Community, settings: ImpactSettings, *, early: EarlyActivity | None = None
) -> Population:
    """Members whose outcome at the horizon is known, with what was known at their landmark
    (``early``: the early activity when already computed, see :func:`early_activity_by`)."""
    landmark = timedelta(days=settings.landmark_days)
    horizon = timedelta(days=settings.landmark_days + settings.horizon_days)
    decidable_by = community.as_of - timedelta(days=settings.inactive_days)
    status = churn_table(
        community.members,
        community.last_activity(),
        as_of=community.as_of,
        inactive_days=settings.inactive_days,
    )
    base = (
        status.select("member_id", "joined_at", "churned_at")
        .with_columns(
            (pl.col("joined_at") + landmark).alias("landmark_at"),
            (pl.col("joined_at") + horizon).alias("horizon_at"),
        )
        .filter(pl.col("horizon_at") <= decidable_by)
        .with_columns(
            (pl.col("churned_at").is_null() | (pl.col("churned_at") >= pl.col("horizon_at")))
            .cast(pl.Int8)
            .alias("retained"),
            (
                pl.col("churned_at").is_null() | (pl.col("churned_at") >= pl.col("landmark_at"))
            ).alias("present_at_landmark"),
        )
    )
    joined_until = _joined_until(community, settings)
    joined_until_us = to_us(joined_until)
    if (
        early is None
        or early.landmark_days != settings.landmark_days
        or joined_until_us not in early.kinds
    ):
        early = early_activity_by(community, settings.landmark_days, [joined_until])
    kinds = early.kinds[joined_until_us]
    per_member = early.per_member.select(
        "member_id", "n_activity", "active_days", *[f"kind_{k}" for k in kinds], "last_activity"
    )
    seen = early.seen
    first_join = community.members["joined_at"].min()
    frame = (
        base.join(per_member, on="member_id", how="left")
        .join(seen, on="member_id", how="left")
        .with_columns(
            pl.col("n_activity", "active_days", "n_exposures", *[f"kind_{k}" for k in kinds])
            .fill_null(0)
            .cast(pl.Int64),
        )
    )
    frame = frame.with_columns(
        pl.col("n_activity").log1p().alias("log_activity"),
        *[pl.col(f"kind_{k}").log1p().alias(f"log_{k}") for k in kinds],
        (pl.col("active_days") / settings.landmark_days).alias("active_day_share"),
        (
            pl.when(pl.col("last_activity").is_null())
            .then(float(settings.landmark_days))
            .otherwise((pl.col("landmark_at") - pl.col("last_activity")).dt.total_hours() / 24)
        ).alias("days_since_activity"),
        ((pl.col("joined_at") - pl.lit(first_join)).dt.total_days() / 365.25).alias("join_years"),
    ).with_columns((pl.col("join_years") ** 2).alias("join_years_sq"))
    covariates = [
        "log_activity", "active_day_share", "days_since_activity", "join_years", "join_years_sq",
        OTHER_EXPOSURES, *[f"log_{k}" for k in kinds],
    ]  # fmt: skip
    # replaced per item by the views of the *other* items (see _analyse)
    frame = frame.with_columns(pl.col("n_exposures").log1p().alias(OTHER_EXPOSURES))
    attributes = (
        community.attributes if settings.fixed_attributes is None else settings.fixed_attributes
    )
    attributes = tuple(a for a in attributes if a in community.members.columns)
    if attributes:
        dummies = (
            community.members.select("member_id", *attributes)
            .with_columns(pl.col(a).fill_null("(missing)") for a in attributes)
            .to_dummies(columns=list(attributes), drop_first=True, separator="=")
        )
        frame = frame.join(dummies, on="member_id", how="left")
        covariates += [c for c in dummies.columns if c != "member_id"]
    frame = frame.with_columns(pl.col(c).cast(pl.Float64).fill_null(0.0) for c in covariates)
    return Population(frame=frame, covariates=tuple(covariates), settings=settings)


# -- estimation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Estimate:
    effect: float
    influence: FloatArray
    retained_exposed: float
    auc: float
    effective_controls: float
    balance: pl.DataFrame
    #: 1 for the exposed, e/(1-e) for the unexposed (the weights that make them comparable)
    weights: FloatArray


def _standardise(x: FloatArray) -> FloatArray:
    sd = x.std(axis=0)
    keep = sd > 1e-12
    return (x[:, keep] - x[:, keep].mean(axis=0)) / sd[keep]


def _subsample(
    y: npt.NDArray[np.int8], max_rows: int | None, seed: int
) -> tuple[npt.NDArray[np.intp], FloatArray] | None:
    """Rows (and weights) to fit a model of ``y`` on when there are more than ``max_rows``:
    up to half of them from each class, each weighted by its class's rows over those taken,
    so that the weighted fit estimates the model of every row (``None``: fit on all)."""
    if max_rows is None or len(y) <= max_rows:
        return None
    rng = np.random.default_rng(seed)
    picks, weights = [], []
    for value in (0, 1):
        rows = np.flatnonzero(y == value)
        take = min(len(rows), max_rows // 2)
        chosen = np.sort(rng.choice(rows, size=take, replace=False)) if take < len(rows) else rows
        picks.append(chosen)
        weights.append(np.full(len(chosen), len(rows) / max(len(chosen), 1)))
    return np.concatenate(picks), np.concatenate(weights)


def _fit_probability(
    x: FloatArray,
    y: npt.NDArray[np.int8],
    *,
    predict: FloatArray | None = None,
    max_rows: int | None = None,
    seed: int = 0,
) -> FloatArray:
    """P(y = 1 | x) by logistic regression, predicted for ``predict`` (default ``x``). Beyond
    ``max_rows`` rows the model is fitted on a weighted sample (see :func:`_subsample`): with a
    few dozen coefficients, a hundred thousand members pin them down as well as a million."""
    target = x if predict is None else predict
    if y.min() == y.max():  # everyone alike: the probability is that constant
        return np.full(len(target), float(y[0]))
    # Newton–Cholesky: exact and fast when there are many members and few covariates
    model = LogisticRegression(C=1.0, solver="newton-cholesky", max_iter=100)
    sample = _subsample(y, max_rows, seed)
    if sample is None:
        model.fit(x, y)
    else:
        rows, weight = sample
        model.fit(x[rows], y[rows], sample_weight=weight)
    probability: FloatArray = model.predict_proba(target)[:, 1]
    return probability


def _balance(
    names: Sequence[str], x: FloatArray, exposed: npt.NDArray[np.bool_], w: FloatArray
) -> pl.DataFrame:
    x1, x0, w0 = x[exposed], x[~exposed], w[~exposed]
    pooled = np.sqrt((x1.var(axis=0) + x0.var(axis=0)) / 2)
    pooled = np.where(pooled > 1e-12, pooled, 1.0)
    before = (x1.mean(axis=0) - x0.mean(axis=0)) / pooled
    after = (x1.mean(axis=0) - np.average(x0, axis=0, weights=w0)) / pooled
    return pl.DataFrame({"covariate": list(names), "smd_before": before, "smd_after": after})


def _doubly_robust(
    x_raw: FloatArray,
    names: Sequence[str],
    exposed: npt.NDArray[np.bool_],
    retained: npt.NDArray[np.int8],
    *,
    max_rows: int | None = None,
    seed: int = 0,
    with_balance: bool = True,
) -> _Estimate:
    x = _standardise(x_raw)
    a = exposed.astype(np.int8)
    propensity = _fit_probability(x, a, max_rows=max_rows, seed=seed)
    auc = float(roc_auc_score(a, propensity))
    e = np.clip(propensity, *PROPENSITY_CLIP)
    w = np.where(exposed, 1.0, e / (1 - e))
    m0 = _fit_probability(
        x[~exposed], retained[~exposed], predict=x, max_rows=max_rows, seed=seed + 1
    )
    share_exposed = a.mean()
    residual = retained - m0
    terms = np.where(exposed, residual, -w * residual)
    effect = float(terms.sum() / a.sum())
    influence = (terms - a * effect) / share_exposed
    controls = w[~exposed]
    ess = float(controls.sum() ** 2 / (controls**2).sum())
    return _Estimate(
        effect=effect,
        influence=influence,
        retained_exposed=float(retained[exposed].mean()),
        auc=auc,
        effective_controls=ess,
        balance=(
            _balance(names, x_raw, exposed, w)
            if with_balance
            else pl.DataFrame(
                schema={"covariate": pl.String, "smd_before": pl.Float64, "smd_after": pl.Float64}
            )
        ),
        weights=w,
    )


def _interval(
    estimate: _Estimate,
    settings: ImpactSettings,
    rng: np.random.Generator,
    data: tuple[FloatArray, Sequence[str], npt.NDArray[np.bool_], npt.NDArray[np.int8]],
) -> tuple[float, float, float]:
    """95 % interval and two-sided p-value (see the module docstring for the two methods)."""
    psi = estimate.influence
    n = len(psi)
    se = float(np.sqrt((psi**2).sum()) / n)
    z = float(stats.norm.ppf(1 - settings.alpha / 2))
    p_value = float(2 * stats.norm.sf(abs(estimate.effect) / se)) if se > 0 else 0.0
    if settings.bootstrap == 0:
        return estimate.effect - z * se, estimate.effect + z * se, p_value
    x, names, exposed, retained = data
    draws = []
    for _ in range(settings.bootstrap):
        pick = rng.integers(0, n, n)
        if exposed[pick].all() or not exposed[pick].any():
            continue
        again = _doubly_robust(
            x[pick], names, exposed[pick], retained[pick],
            max_rows=settings.max_model_rows, seed=settings.seed, with_balance=False,
        )  # fmt: skip
        draws.append(again.effect)
    values = np.asarray(draws)
    low, high = np.quantile(values, [settings.alpha / 2, 1 - settings.alpha / 2])
    # two-sided percentile p-value: how often the resampled effects fall on the other side of 0
    share = min((values <= 0).mean(), (values >= 0).mean())
    p_boot = float(min(1.0, 2 * max(share, 1 / (len(values) + 1))))
    return float(low), float(high), p_boot


def e_value(retained_exposed: float, effect: float) -> float:
    """How strongly (as a risk ratio with both exposure and retention) an unmeasured confounder
    would have to be associated to explain the estimate away (VanderWeele & Ding, 2017)."""
    p0 = retained_exposed - effect
    if p0 <= 0 or retained_exposed <= 0:
        return math.inf
    ratio = retained_exposed / p0
    ratio = 1 / ratio if ratio < 1 else ratio
    return float(ratio + math.sqrt(ratio * (ratio - 1)))


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg q-values (step-up, monotone), in the input order."""
    m = len(p_values)
    if m == 0:
        return []
    order = np.argsort(p_values)
    # p * (m / rank), not p * m / rank: the factor is >= 1, so no q-value rounds below its p
    ranked = np.asarray(p_values, dtype=np.float64)[order] * (m / np.arange(1, m + 1))
    q = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1.0)
    out = np.empty(m)
    out[order] = q
    return out.tolist()


# -- the analysis -------------------------------------------------------------------------------


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


def _exclude_own(
    frame: pl.DataFrame, own_counts: pl.DataFrame, item_ids: Sequence[str]
) -> pl.DataFrame:
    """Recompute the other-proof covariate without the analysed item's own exposures (which
    would otherwise predict exposure to it by construction)."""
    own = (
        own_counts.filter(pl.col("item_id").is_in(list(item_ids)))
        .group_by("member_id")
        .agg(pl.col("n").sum().alias("_own"))
    )
    return (
        frame.join(own, on="member_id", how="left")
        .with_columns(
            (pl.col("n_exposures") - pl.col("_own").fill_null(0))
            .clip(lower_bound=0)
            .log1p()
            .alias(OTHER_EXPOSURES)
        )
        .drop("_own")
    )


def _tenure_day(community: Community, first: pl.DataFrame, item_ids: Sequence[str]) -> float | None:
    """The day of membership an item is awarded at, when it is awarded for tenure (see
    TENURE_MIN_DAYS); ``None`` for items met at varied times."""
    days = (
        first.filter(pl.col("item_id").is_in(list(item_ids)))
        .group_by("member_id")
        .agg(pl.col("first_at").min())
        .join(community.members.select("member_id", "joined_at"), on="member_id")
        .select(((pl.col("first_at") - pl.col("joined_at")).dt.total_hours() / 24).alias("day"))
    )
    if days.height < 10:
        return None
    low = float(days["day"].quantile(0.1))  # type: ignore[arg-type]
    middle = float(days["day"].median())  # type: ignore[arg-type]
    if low >= TENURE_MIN_DAYS and middle - low <= TENURE_SPREAD_DAYS:
        return low
    return None


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
) -> ItemEffect:
    frame = population.frame
    exposures = first.filter(pl.col("item_id").is_in(list(candidate.item_ids)))
    member_first = exposures.group_by("member_id").agg(pl.col("first_at").min())
    # The naive comparison that correlation dashboards make: ever exposed (at any time) vs
    # never, same retention outcome, no landmark and no adjustment.
    naive = frame.join(member_first, on="member_id", how="left").with_columns(
        pl.col("first_at").is_not_null().alias("ever")
    )
    naive_effect: float | None = None
    phi: float | None = None
    n_ever = int(naive["ever"].sum())
    naive_sizes = (n_ever, naive.height - n_ever)
    if naive["ever"].any() and not naive["ever"].all():
        ever = naive.filter("ever")["retained"].mean()
        never = naive.filter(~pl.col("ever"))["retained"].mean()
        naive_effect = float(ever) - float(never)  # type: ignore[arg-type]
        corr = np.corrcoef(naive["ever"].cast(pl.Float64), naive["retained"].cast(pl.Float64))
        phi = float(corr[0, 1]) if np.isfinite(corr[0, 1]) else None
    eligible = naive.filter(pl.col("present_at_landmark"))
    if candidate.published_at is not None:
        eligible = eligible.filter(pl.col("landmark_at") > candidate.published_at)
    exposed = (pl.col("first_at") < pl.col("landmark_at")).fill_null(False)
    eligible = eligible.with_columns(exposed.alias("exposed"))
    if own_counts is not None:
        eligible = _exclude_own(eligible, own_counts, candidate.item_ids)
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
    )  # fmt: skip
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


def _with_q_values(effects: list[ItemEffect], settings: ImpactSettings) -> list[ItemEffect]:
    estimable = [i for i, e in enumerate(effects) if e.p_value is not None]
    q_values = benjamini_hochberg([effects[i].p_value for i in estimable])  # type: ignore[misc]
    out = list(effects)
    for i, q in zip(estimable, q_values, strict=True):
        e = out[i]
        assert e.effect is not None
        significant = q <= settings.alpha
        verdict: Verdict = ("helps" if e.effect > 0 else "hurts") if significant else "no_evidence"
        reason = (
            f"q = {q:.3f}: unlikely to be chance across the {len(estimable)} items compared"
            if significant
            else f"q = {q:.2f}: the difference could be chance"
        )
        out[i] = replace(e, q_value=q, verdict=verdict, reason=reason)
    return out


def _candidates(community: Community) -> tuple[list[_Candidate], list[_Candidate]]:
    assert community.proof_items is not None
    items = community.proof_items.sort("item_id")
    singles = [
        _Candidate(r["item_id"], r["kind"], r["title"], (r["item_id"],), r["published_at"])
        for r in items.iter_rows(named=True)
    ]
    kinds = []
    for (kind,), group in items.group_by("kind", maintain_order=True):
        published = group["published_at"]
        kinds.append(
            _Candidate(
                f"kind:{kind}",
                str(kind),
                f"any {str(kind).replace('_', ' ')}",
                tuple(group["item_id"].to_list()),
                None if published.null_count() else published.min(),
            )
        )
    return singles, sorted(kinds, key=lambda c: c.item_id)


def estimate_effects(
    community: Community,
    settings: ImpactSettings | None = None,
    *,
    progress: Progress | None = None,
    sensitivity: bool = True,
) -> ImpactResult:
    """Estimate the retention effect of every proof item and of every kind of item.

    Raises
    ------
    ValueError
        When the community has no proof_items or exposures table.
    """
    # The models' matrices are small (a few dozen covariates): one BLAS thread computes them
    # fastest, and several spin against each other on a busy machine (measured: a fit on 100 k
    # members took 6.5 s with two threads against 0.9 s with one while other work ran).
    with threadpool_limits(limits=1, user_api="blas"):
        return _estimate_effects(community, settings, progress, sensitivity)


def _estimate_effects(
    community: Community,
    settings: ImpactSettings | None,
    progress: Progress | None,
    sensitivity: bool,
) -> ImpactResult:
    settings = settings or ImpactSettings()
    if community.proof_items is None or not community.has_exposures:
        raise InputError(
            "Estimating social-proof effects needs the proof_items and exposures tables. Add "
            "them to the source (see the Data page for their columns)."
        )
    report = progress or (lambda _s, _f: None)
    rng = np.random.default_rng(settings.seed)
    if community.keep_events():
        report("Kept the activity rows in compact form for the many queries ahead", 0.0)
    report("Building the landmark population and early-activity covariates", 0.0)
    # one job on the event tables for the early activity of the main and the sensitivity
    # populations, and one for the exposures before the landmark
    others = [replace(settings, inactive_days=d) for d in SENSITIVITY_INACTIVE_DAYS]
    early = early_activity_by(
        community,
        settings.landmark_days,
        [_joined_until(community, s) for s in (settings, *(others if sensitivity else []))],
    )
    population = landmark_population(community, settings, early=early)
    first = _first_exposures(community)
    own_rows = _own_rows(community, settings.landmark_days)
    own = _own_counts(own_rows, population)
    singles, kinds = _candidates(community)
    total = len(singles) + len(kinds)
    items: list[ItemEffect] = []
    for i, candidate in enumerate(singles):
        report(f"Estimating '{candidate.title}'", 0.05 + 0.6 * i / total)
        tenure = _tenure_day(community, first, candidate.item_ids)
        items.append(
            _analyse(candidate, population, first, settings, rng, own_counts=own, tenure_day=tenure)
        )
    kind_effects: list[ItemEffect] = []
    for i, candidate in enumerate(kinds):
        report(f"Estimating {candidate.title}", 0.05 + 0.6 * (len(singles) + i) / total)
        kind_effects.append(_analyse(candidate, population, first, settings, rng, own_counts=own))
    items = _with_q_values(items, settings)
    kind_effects = _with_q_values(kind_effects, settings)
    if sensitivity:
        for j, days in enumerate(SENSITIVITY_INACTIVE_DAYS):
            report(f"Sensitivity: churn after {days} quiet days", 0.7 + 0.15 * j)
            other = replace(settings, inactive_days=days)
            other_population = landmark_population(community, other, early=early)
            other_own = _own_counts(own_rows, other_population)
            for effects, candidates in ((items, singles), (kind_effects, kinds)):
                for k, candidate in enumerate(candidates):
                    if effects[k].effect is None:
                        continue
                    again = _analyse(
                        candidate, other_population, first, other, rng, with_interval=False,
                        own_counts=other_own,
                    )  # fmt: skip
                    effects[k] = replace(
                        effects[k], sensitivity={**effects[k].sensitivity, days: again.effect}
                    )
    report("Done", 1.0)
    return ImpactResult(
        settings=settings,
        items=tuple(items),
        kinds=tuple(kind_effects),
        population_size=population.frame.height,
        covariates=population.covariates,
    )


# -- drill-down -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemDetail:
    """What lies behind one item's estimate.

    ``curves``: ``group`` (exposed / weighted comparable unexposed), ``days`` after the
    landmark, ``survival`` (weighted Kaplan–Meier). ``balance``: standardized mean difference of
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
    empty = pl.DataFrame(schema={"group": pl.String, "days": pl.Float64, "survival": pl.Float64})
    population = landmark_population(community, settings)
    status = churn_table(
        community.members,
        community.last_activity(),
        as_of=community.as_of,
        inactive_days=settings.inactive_days,
    ).select("member_id", "tenure_days", pl.col("churned_at").is_not_null().alias("churned"))
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
        curves.append(pl.DataFrame({"group": label, "days": times, "survival": survival}))
    reason = (
        "exposure is almost fully decided by early activity"
        if estimate.auc >= settings.max_propensity_auc
        else ""
    )
    return ItemDetail(item_id, pl.concat(curves), estimate.balance, timing, reason)


# -- second view: exposure at any time ------------------------------------------------------------


def time_varying_effects(
    community: Community, settings: ImpactSettings | None = None, *, lag_days: float = 1.0
) -> CoxResult:
    """Hazard ratio of churn after first exposure to each item, whenever it happened.

    A Cox model with tenure as the time scale and each item as a covariate that switches on
    ``lag_days`` after the member's first exposure (so a churner's last visit cannot count),
    adjusted for join time and the attributes fixed at signup. A hazard ratio below 1 goes with
    members staying longer. Items with no comparison inside the risk sets (a badge everyone
    still present gets on day 365) are reported as not estimable.
    """
    settings = settings or ImpactSettings()
    if community.proof_items is None or not community.has_exposures:
        raise InputError(
            "The any-time view needs the proof_items and exposures tables. Add them to the "
            "source (see the Data page for their columns)."
        )
    status = churn_table(
        community.members,
        community.last_activity(),
        as_of=community.as_of,
        inactive_days=settings.inactive_days,
    )
    first_join = community.members["joined_at"].min()
    attributes = (
        community.attributes if settings.fixed_attributes is None else settings.fixed_attributes
    )
    attributes = tuple(a for a in attributes if a in community.members.columns)
    members = status.select(
        "member_id",
        "tenure_days",
        pl.col("churned_at").is_not_null().cast(pl.Int8).alias("churned"),
        ((pl.col("joined_at") - pl.lit(first_join)).dt.total_days() / 365.25).alias("join_years"),
    )
    fixed = ["join_years"]
    if attributes:
        dummies = (
            community.members.select("member_id", *attributes)
            .with_columns(pl.col(a).fill_null("(missing)") for a in attributes)
            .to_dummies(columns=list(attributes), drop_first=True, separator="=")
        )
        members = members.join(dummies, on="member_id", how="left")
        fixed += [c for c in dummies.columns if c != "member_id"]
    members = members.with_columns(pl.col(c).cast(pl.Float64) for c in fixed)
    exposures = (
        _first_exposures(community)
        .join(community.members.select("member_id", "joined_at"), on="member_id")
        .select(
            "member_id",
            "item_id",
            ((pl.col("first_at") - pl.col("joined_at")).dt.total_seconds() / 86_400).alias("day"),
        )
    )
    items = community.proof_items["item_id"].to_list()
    data = counting_process(members, exposures, items=items, lag_days=lag_days, fixed=fixed)
    return fit_cox_time_varying(data, covariates=[*items, *fixed])
