"""Risk sets and penalised Newton–Raphson steps of the partial likelihood (Efron/Breslow ties)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import linalg

from analytics.cox.common import _MAX_HALVINGS, BoolArray, FloatArray, IntArray, Ties
from analytics.cox.linalg import _dependent


def _exp(value: float) -> float:
    """exp that gives inf instead of raising for a huge value (a very wide interval)."""
    try:
        return math.exp(value)
    except OverflowError:
        return math.inf


# --------------------------------------------------------------------------------------------
# risk sets and the partial likelihood


@dataclass(frozen=True, eq=False)
class _RiskSets:
    """Where every interval sits among the distinct churn times, for running sums.

    Interval i is at risk at churn times ``times[lo[i]:hi[i]]`` (those in (start, stop]).
    Intervals at risk at no churn time carry no information and are dropped (``rows`` holds the
    positions of the rest in the original data).
    """

    times: FloatArray  # distinct churn times, ascending
    rows: IntArray  # original positions of the intervals kept
    lo: IntArray
    hi: IntArray
    event: BoolArray  # per kept interval
    event_time: IntArray  # churn-time index of each event interval (in order of kept rows)
    tie_time: IntArray  # churn-time index of each event, grouped by time (Efron expansion)
    tie_share: FloatArray  # l / d for the l-th of d tied events (0 with Breslow)

    @classmethod
    def build(cls, start: FloatArray, stop: FloatArray, event: BoolArray, ties: Ties) -> _RiskSets:
        times = np.unique(stop[event])
        lo = np.searchsorted(times, start, side="right").astype(np.int64)
        hi = np.searchsorted(times, stop, side="right").astype(np.int64)
        rows = np.flatnonzero(hi > lo).astype(np.int64)
        lo, hi, kept_event = lo[rows], hi[rows], event[rows]
        event_time = hi[kept_event] - 1
        counts = np.bincount(event_time, minlength=times.size)
        tie_time = np.repeat(np.arange(times.size, dtype=np.int64), counts)
        first = np.repeat(np.cumsum(counts) - counts, counts)
        if ties == "efron":
            tie_share = (np.arange(tie_time.size) - first) / counts[tie_time]
        else:
            tie_share = np.zeros(tie_time.size)
        return cls(times, rows, lo, hi, kept_event, event_time, tie_time, tie_share)

    @property
    def m(self) -> int:
        return int(self.times.size)

    def sums(self, values: FloatArray) -> FloatArray:
        """Sum of ``values`` (per kept interval, 1-D or 2-D) over the risk set of each churn time.

        Uses suffix sums (intervals still present after the time minus those starting after
        it), so rounding stays relative to what is still at risk late in follow-up.
        """
        flat = values.reshape(values.shape[0], -1)
        out = np.empty((self.m, flat.shape[1]))
        for c in range(flat.shape[1]):
            ending = np.bincount(self.hi, weights=flat[:, c], minlength=self.m + 1)
            starting = np.bincount(self.lo, weights=flat[:, c], minlength=self.m + 1)
            out[:, c] = np.cumsum(ending[::-1])[::-1][1:] - np.cumsum(starting[::-1])[::-1][1:]
        return out.reshape((self.m, *values.shape[1:]))

    def evaluate(self, z: FloatArray, beta: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        """Partial log-likelihood, its gradient and the information matrix at ``beta``.

        Far from the estimate (a fit drifting to infinity) every weight of a risk set can
        underflow to 0; the log-likelihood is then -inf or NaN and the caller backs off.
        """
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return self._evaluate(z, beta)

    def _evaluate(self, z: FloatArray, beta: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        m, p = self.m, z.shape[1]
        eta = z @ beta
        shift = float(eta.max()) if eta.size else 0.0
        w = np.exp(eta - shift)  # the likelihood does not change when every eta moves alike
        at_risk = self.sums(np.column_stack([w, w[:, None] * z]))
        ev_w = w[self.event]
        ev_z = z[self.event]
        tied = np.empty((m, p + 1))
        tied[:, 0] = np.bincount(self.event_time, weights=ev_w, minlength=m)
        for c in range(p):
            tied[:, c + 1] = np.bincount(self.event_time, weights=ev_w * ev_z[:, c], minlength=m)
        # Efron: the l-th of d tied events sees the risk set minus l/d of the tied members
        f = self.tie_share
        num = at_risk[self.tie_time] - f[:, None] * tied[self.tie_time]
        denominator = num[:, 0]
        mean_z = num[:, 1:] / denominator[:, None]
        # the denominators were summed with weights exp(eta - shift): each is exp(-shift) times
        # the true one, so every event adds -shift to its log
        loglik = float(eta[self.event].sum() - shift * f.size - np.log(denominator).sum())
        gradient = ev_z.sum(axis=0) - mean_z.sum(axis=0)
        # sum over events of the weighted second moments, without a p x p matrix per time:
        # each interval gets the sum of 1/denominator over the churn times it is at risk at,
        # minus (for a tied event) the sum of share/denominator at its own time
        per_time = np.bincount(self.tie_time, weights=1.0 / denominator, minlength=m)
        tie_part = np.bincount(self.tie_time, weights=f / denominator, minlength=m)
        running = np.concatenate([[0.0], np.cumsum(per_time)])
        weight = running[self.hi] - running[self.lo]
        weight[self.event] -= tie_part[self.event_time]
        weight *= w
        information = z.T @ (weight[:, None] * z) - mean_z.T @ mean_z
        return loglik, gradient, (information + information.T) / 2.0


@dataclass(frozen=True)
class _Fit:
    beta: FloatArray
    se: FloatArray
    log_likelihood: float
    converged: bool
    iterations: int
    stuck: BoolArray  # terms whose estimate was still moving when the fit gave up
    singular: bool


def _newton(risk: _RiskSets, z: FloatArray, penalty: float, max_iter: int, tol: float) -> _Fit:
    """Newton–Raphson with step halving on the partial log-likelihood minus ``penalty/2 |b|²``."""
    p = z.shape[1]

    def penalised(beta: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        loglik, gradient, information = risk.evaluate(z, beta)
        if penalty > 0:
            loglik -= 0.5 * penalty * float(beta @ beta)
            gradient = gradient - penalty * beta
            information = information + penalty * np.eye(p)
        return loglik, gradient, information

    beta = np.zeros(p)
    loglik, gradient, information = penalised(beta)
    if p == 0:
        return _Fit(beta, beta.copy(), loglik, True, 0, np.zeros(0, dtype=bool), False)
    step = np.zeros(p)
    for iteration in range(1, max_iter + 1):
        try:
            factor = linalg.cho_factor(information)
        except linalg.LinAlgError:
            return _Fit(beta, beta, loglik, False, iteration, _dependent(information), True)
        step = linalg.cho_solve(factor, gradient)
        decrement = float(gradient @ step)
        done = decrement / 2.0 < tol and float(np.abs(step).max()) <= math.sqrt(tol)
        trial = step
        for _ in range(_MAX_HALVINGS):
            candidate = penalised(beta + trial)
            if math.isfinite(candidate[0]) and candidate[0] >= loglik - 1e-12 * abs(loglik):
                break
            trial = trial / 2.0
        else:  # no step improves the likelihood: we are at its top up to rounding
            if decrement / 2.0 < tol:
                return _finish(beta, loglik, np.zeros(p), information, iteration)
            stuck = np.abs(step) > max(math.sqrt(tol), 1e-3 * float(np.abs(step).max()))
            return _Fit(beta, beta, loglik, False, iteration, stuck, False)
        beta = beta + trial
        loglik, gradient, information = candidate
        if done:
            return _finish(beta, loglik, gradient, information, iteration)
    stuck = np.abs(step) > max(math.sqrt(tol), 1e-3 * float(np.abs(step).max()))
    return _Fit(beta, beta, loglik, False, max_iter, stuck, False)


def _finish(
    beta: FloatArray,
    loglik: float,
    gradient: FloatArray,
    information: FloatArray,
    iterations: int,
) -> _Fit:
    """Standard errors from the information at ``beta``, after one last (tiny) Newton step.

    The last step reuses the gradient and information already computed at ``beta``, so it
    costs no pass over the data; it takes the coefficients from an error of about the square
    of the previous step to far below rounding. The log-likelihood and standard errors are
    those at ``beta``, off by less than the convergence tolerance (as in lifelines).
    """
    p = beta.size
    try:
        factor = linalg.cho_factor(information)
        covariance = linalg.cho_solve(factor, np.eye(p))
        beta = beta + linalg.cho_solve(factor, gradient)
    except linalg.LinAlgError:
        return _Fit(beta, beta, loglik, False, iterations, _dependent(information), True)
    se = np.sqrt(np.diag(covariance))
    return _Fit(beta, se, loglik, True, iterations, np.zeros(p, dtype=bool), False)
