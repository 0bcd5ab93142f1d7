"""The doubly robust (AIPW) estimate of one item's effect, its interval and E-value."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from analytics.auc import weighted_auc
from analytics.impact.model import PROPENSITY_CLIP, FloatArray, ImpactSettings


@dataclass(frozen=True)
class ExposureModel:
    """An item's fitted exposure (propensity) model on the raw covariates ``names``: the
    sensitivity re-estimates reuse it, since who is exposed does not depend on how churn is
    defined (only the retention model is fitted again)."""

    names: tuple[str, ...]
    coef: FloatArray
    intercept: float
    auc: float

    def probability(self, x: FloatArray) -> FloatArray:
        p: FloatArray = expit(x @ self.coef + self.intercept)
        return p


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
    exposure_model: ExposureModel | None = None


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


class _ScaledFit:
    """Logistic models on the standardised columns of ``x`` (constant columns dropped), without
    a standardised copy of the whole matrix: models are fitted on (a sample of) rows scaled on
    the fly, and predictions fold the scaling into the coefficients."""

    def __init__(self, x: FloatArray) -> None:
        self.x = x
        self.mean = x.mean(axis=0)
        self.sd = x.std(axis=0)
        self.keep = self.sd > 1e-12

    def scaled(self, rows: npt.NDArray[np.intp]) -> FloatArray:
        """The standardised covariates of ``rows``."""
        return (self.x[rows][:, self.keep] - self.mean[self.keep]) / self.sd[self.keep]

    def fit(
        self,
        y: npt.NDArray[np.int8],
        rows: npt.NDArray[np.intp] | None = None,
        *,
        max_rows: int | None = None,
        seed: int = 0,
    ) -> tuple[FloatArray, float]:
        """Coefficients and intercept, on the raw columns of ``x``, of a logistic model of ``y``
        fitted on ``rows`` (``y`` has one value per fitted row; default: all rows; ``y`` must
        have both values)."""
        # Newton–Cholesky: exact and fast when there are many members and few covariates
        model = LogisticRegression(C=1.0, solver="newton-cholesky", max_iter=100)
        sample = _subsample(y, max_rows, seed)
        chosen = np.arange(len(y)) if sample is None else sample[0]
        fit = self.scaled(chosen if rows is None else rows[chosen])
        if sample is None:
            model.fit(fit, y)
        else:
            model.fit(fit, y[chosen], sample_weight=sample[1])
        coef = np.zeros(self.x.shape[1])
        coef[self.keep] = model.coef_[0] / self.sd[self.keep]
        intercept = float(model.intercept_[0]) - float(coef @ self.mean)
        return coef, intercept

    def probability(
        self,
        y: npt.NDArray[np.int8],
        rows: npt.NDArray[np.intp] | None = None,
        *,
        max_rows: int | None = None,
        seed: int = 0,
    ) -> FloatArray:
        """P(y = 1) for every row of ``x``, from a model of ``y`` fitted on ``rows`` (see
        :meth:`fit`)."""
        if y.min() == y.max():  # everyone alike: the probability is that constant
            return np.full(len(self.x), float(y[0]))
        coef, intercept = self.fit(y, rows, max_rows=max_rows, seed=seed)
        probability: FloatArray = expit(self.x @ coef + intercept)
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
    exposure_model: ExposureModel | None = None,
) -> _Estimate:
    """The AIPW estimate; ``exposure_model``: an exposure model fitted before on the same
    covariates, used instead of fitting one (the sensitivity re-estimates)."""
    scaled = _ScaledFit(x_raw)
    a = exposed.astype(np.int8)
    if exposure_model is not None and exposure_model.names == tuple(names):
        model = exposure_model
        propensity = model.probability(x_raw)
    else:
        coef, intercept = scaled.fit(a, max_rows=max_rows, seed=seed)
        propensity = expit(x_raw @ coef + intercept)
        model = ExposureModel(tuple(names), coef, intercept, weighted_auc(a, propensity))
    auc = model.auc
    e = np.clip(propensity, *PROPENSITY_CLIP)
    w = np.where(exposed, 1.0, e / (1 - e))
    unexposed = np.flatnonzero(~exposed)
    m0 = scaled.probability(retained[unexposed], unexposed, max_rows=max_rows, seed=seed + 1)
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
        exposure_model=model,
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
