"""The gradient-boosted model against a recency baseline: fits, held-out evaluation, importance."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from analytics.risk.features import FeatureSpec

Progress = Callable[[str, float], None]
FloatArray = npt.NDArray[np.float64]


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
    """The predicted churn probability of each row; the same numbers on any number of threads
    (and, for a model of one numeric feature such as the recency baseline, one prediction per
    bin of it, looked up: :func:`_per_bin`)."""
    if model.n_features_in_ == 1 and model.is_categorical_ is None:
        return _per_bin(model, x)
    if len(x) < PARALLEL_PREDICT_ROWS:
        return np.asarray(model.predict_proba(x)[:, 1], dtype=np.float64)
    with threadpool_limits(limits=os.cpu_count() or 1, user_api="openmp"):
        return np.asarray(model.predict_proba(x)[:, 1], dtype=np.float64)


def _predict_each(
    model: HistGradientBoostingClassifier, xs: Sequence[FloatArray]
) -> list[FloatArray]:
    """:func:`_predict` of each matrix in ``xs`` (same columns), as one prediction of them all:
    many small matrices (shuffled or swapped copies) then share every core, and each row's
    prediction is the same as alone."""
    if not xs:
        return []
    stacked = _predict(model, np.concatenate(xs))
    return np.split(stacked, np.cumsum([len(x) for x in xs])[:-1])


def _per_bin(model: HistGradientBoostingClassifier, x: FloatArray) -> FloatArray:
    """:func:`_predict` for a model of one numeric feature, exactly, from one prediction per
    bin: every split of its trees is at one of the feature's bin thresholds
    ``t``, so all values between two neighbouring thresholds (``t[k-1] < v <= t[k]``) take the
    same path through every tree as ``t[k]`` itself; values above the last take the path of
    infinity, missing values their own."""
    values = np.asarray(x, dtype=np.float64).reshape(-1)
    thresholds = np.asarray(model._bin_mapper.bin_thresholds_[0], dtype=np.float64)
    representatives = np.concatenate([thresholds, [np.inf, np.nan]]).reshape(-1, 1)
    where = np.searchsorted(thresholds, values, side="left")
    where[np.isnan(values)] = len(thresholds) + 1
    return np.asarray(model.predict_proba(representatives)[:, 1], dtype=np.float64)[where]


class _RankedScores:
    """:func:`weighted_auc` of fixed labels and scores under many weightings: the scores are
    sorted and their ties grouped once, so each weighting costs one weighted count."""

    def __init__(self, y: npt.NDArray[Any], score: FloatArray) -> None:
        y = np.asarray(y, dtype=bool)
        order = np.argsort(score, kind="mergesort")
        s = score[order]
        group = np.zeros(len(s), dtype=np.int64)
        if len(s):
            group[1:] = np.cumsum(np.diff(s) != 0)
        self.groups = int(group[-1]) + 1 if len(s) else 0
        # each member's tie group
        rank = np.empty(len(s), dtype=np.int64)
        rank[order] = group
        # each member's tie group and class in one number (2 * group, plus 1 when positive), so
        # one weighted count gives both classes' weight per group
        self.cell = 2 * rank + y

    def auc(self, weight: FloatArray) -> float:
        both = np.bincount(self.cell, weights=weight, minlength=2 * self.groups)
        neg_g, pos_g = both[0::2], both[1::2]
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
    #: Whether the members checked are a random sample of those at the held-out cutoff
    #: (``max_eval_rows``), drawn apart from the members sampled for training.
    eval_sampled: bool = False

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
            f"On the held-out cutoff {self.eval_cutoff:%Y-%m-%d} ("
            f"{'a random sample of ' if self.eval_sampled else ''}{self.n_eval:,} members, "
            f"{self.churn_rate_eval:.0%} churned within the horizon) the model {verdict}: ROC AUC "
            f"{self.auc:.3f} against {self.baseline_auc:.3f} "
            f"(difference {self.auc - self.baseline_auc:+.3f}, "
            f"95 % interval {low:+.3f} to {high:+.3f}); PR AUC {self.pr_auc:.3f} against "
            f"{self.baseline_pr_auc:.3f}."
        )
