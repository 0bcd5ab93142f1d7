"""Churn risk end to end: cutoffs, sample, features, labels, models, ranking."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from analytics.community import Community
from analytics.risk.evaluate import (
    _cutoffs,
    _enough,
    _evaluate,
    _fit,
    _training_set,
    permutation_importance_groups,
)
from analytics.risk.factors import _recency_factors, _typical, risk_factors
from analytics.risk.features import FeatureSpec, _features, _samples, _specs
from analytics.risk.labels import _churn_dates, _labels
from analytics.risk.model import Evaluation, _matrix, _predict
from analytics.risk.result import RiskResult
from analytics.risk.settings import RiskSettings

Progress = Callable[[str, float], None]
FloatArray = npt.NDArray[np.float64]


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

    Each fit of the trees runs on one thread: at these sizes OpenMP's start-up and contention
    with other work on the machine cost far more than a second core gains (measured in
    benchmarks/bench_risk.py). The two models (checked, and refitted on the latest labels) are
    fitted side by side instead, and predictions of many rows use every core.
    """
    with threadpool_limits(limits=1, user_api="openmp"):
        return _churn_risk(community, settings or RiskSettings(), progress)


def _fit_on_one_core(
    frame: pl.DataFrame, spec: FeatureSpec, settings: RiskSettings
) -> tuple[HistGradientBoostingClassifier, HistGradientBoostingClassifier]:
    """:func:`_fit` on one OpenMP thread (a thread's own setting: the caller's limit does not
    reach a new thread)."""
    with threadpool_limits(limits=1, user_api="openmp"):
        return _fit(frame, spec, settings)


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
    community.keep_events(before=lambda: step(community.KEEP_STEP, 0.02))
    step("Building features of a sample of members at the training cutoffs", 0.05)
    train_cutoffs = _cutoffs(community, train_last, settings)
    latest_cutoffs = _cutoffs(community, eval_cutoff, settings)
    spec, latest_spec = _specs(community, [train_cutoffs[0], latest_cutoffs[0]])
    # the training cutoffs' features of a sample of members, and in a large community the
    # held-out cutoff's of another (see _samples); today's features of everyone
    sample, held_sample = _samples(
        community, (train_cutoffs, latest_cutoffs), eval_cutoff, settings
    )
    requests = [(c, spec) for c in train_cutoffs]
    requests += [(c, latest_spec) for c in latest_cutoffs]
    trained_on = _features(community, requests, inactive_days=settings.inactive_days, sample=sample)
    step(
        "Building features of every member today, and at the held-out cutoff of those checked"
        if held_sample is not None
        else "Building features of every member at the held-out cutoff and today",
        0.15,
    )
    # every member's events are read at both cutoffs (their latest activity then labels the
    # training rows and the held-out ones), but in a large community only a sample is checked
    last_at: dict[datetime, pl.DataFrame] = {}
    held_features, today = _features(
        community, [(eval_cutoff, spec), (as_of, latest_spec)],
        inactive_days=settings.inactive_days, only=[held_sample, None], last_at=last_at,
    )  # fmt: skip
    n = len(train_cutoffs)
    features = [*trained_on[:n], held_features, *trained_on[n:], today]
    step("Labelling who churned after each cutoff", 0.35)
    dates_eval = _churn_dates(
        community, known=eval_cutoff, inactive_days=settings.inactive_days,
        last=last_at[eval_cutoff],
    )  # fmt: skip
    dates_now = _churn_dates(
        community, known=as_of, inactive_days=settings.inactive_days, last=last_at[as_of]
    )
    train = _training_set(features[:n], train_cutoffs, dates_eval, eval_cutoff, settings)
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
    # the model refitted on the latest known labels needs nothing from the one checked here: it
    # is fitted meanwhile on a thread of its own (each fit on one core, as alone: the same trees)
    latest = _training_set(features[n + 1 : -1], latest_cutoffs, dates_now, as_of, settings)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="proofboard-refit")
    refitted = pool.submit(_fit_on_one_core, latest, latest_spec, settings)
    pool.shutdown(wait=False)
    model, base = _fit(train, spec, settings)
    step("Checking both on the held-out cutoff", 0.55)
    metrics, _, _ = _evaluate(model, base, held_out, spec, settings)
    evaluation = Evaluation(
        training_cutoffs=train_cutoffs,
        eval_cutoff=eval_cutoff,
        n_train=train.height,
        n_eval=held_out.height,
        eval_sampled=held_sample is not None,
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
    final_model, final_base = refitted.result()
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
