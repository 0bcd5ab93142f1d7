"""Training sets, fits, calibration and permutation importance on the held-out cutoff."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from sklearn.calibration import calibration_curve
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, brier_score_loss

from analytics.auc import weighted_auc
from analytics.community import Community
from analytics.risk.features import FeatureSpec
from analytics.risk.labels import _labels
from analytics.risk.model import (
    _baseline,
    _matrix,
    _model,
    _predict,
    _predict_each,
    _RankedScores,
)
from analytics.risk.settings import GROUP_HELP, GROUPS, RiskSettings

Progress = Callable[[str, float], None]
FloatArray = npt.NDArray[np.float64]


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
    columns = spec.columns()
    rng = np.random.default_rng(seed)
    groups = []
    shuffled = []
    for group in GROUPS:
        idx = [i for i, g in enumerate(columns.values()) if g == group]
        if not idx:
            continue
        groups.append(group)
        for _ in range(repeats):
            copy = x.copy()
            order = rng.permutation(len(x))
            copy[:, idx] = x[order][:, idx]
            shuffled.append(copy)
    # the rows as they are and all shuffled copies predicted at once, then taken in the order
    # they were made
    predicted = iter(_predict_each(model, [x, *shuffled]))
    reference = weighted_auc(y, next(predicted))
    rows = []
    for group in groups:
        drops = [reference - weighted_auc(y, next(predicted)) for _ in range(repeats)]
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
