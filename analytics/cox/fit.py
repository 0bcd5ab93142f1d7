"""Fitting the Cox model with time-varying exposure: checks, identifiability, Newton, result."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy import stats

from analytics.cox.checks import (
    _check_intervals,
    _check_options,
    _flag_column,
    _float_column,
    _names,
    _require_columns,
)
from analytics.cox.common import _Z95, RESERVED_COLUMNS, Ties
from analytics.cox.identify import _unmeasurable
from analytics.cox.linalg import _collinear
from analytics.cox.newton import _exp, _newton, _RiskSets
from analytics.cox.result import CoxResult, CoxTerm
from analytics.errors import InputError


def fit_cox_time_varying(
    data: pl.DataFrame,
    *,
    covariates: Sequence[str],
    ties: Ties = "efron",
    penalizer: float = 0.0,
    max_iter: int = 50,
    tol: float = 1e-9,
) -> CoxResult:
    """Fit a Cox proportional-hazards model of time to churn on (start, stop] intervals.

    Covariates that cannot be estimated (see the module notes) are detected first, left out of
    the fit and reported with ``estimable=False`` and the reason; the other terms are fitted
    exactly as if those columns had not been passed.

    Parameters
    ----------
    data : polars.DataFrame
        Counting-process table as made by :func:`counting_process`: ``member_id``, ``start``,
        ``stop`` (start < stop), ``event`` (0/1, only on a member's last interval) and the
        numeric covariate columns. A member's intervals must not overlap.
    covariates : sequence of str
        Columns to use as covariates, in the order the terms are reported. When two are
        collinear the later one is left out.
    ties : {"efron", "breslow"}
        How churn events on the same day share the risk set (Efron is more accurate with many
        ties and is what lifelines uses).
    penalizer : float
        Strength of an L2 penalty, 0 (the default) for plain maximum likelihood. As in
        lifelines' ``CoxTimeVaryingFitter`` the penalty is ``penalizer * n / 2 * sum(b ** 2)``
        with ``n`` the number of rows (intervals) of ``data`` and ``b`` the coefficients per
        standard deviation of their covariate, so results match lifelines; note that it
        therefore grows when the same members are split into more intervals. The rules above
        still apply: a penalty does not make an unmeasurable effect measurable.
    max_iter : int
        Most Newton iterations per fit.
    tol : float
        Convergence tolerance: the fit has converged once the next Newton step would raise the
        log-likelihood by less than ``tol`` and move no coefficient (per standard deviation of
        its covariate) by more than ``sqrt(tol)``. That step, and one more from the same
        derivatives, are still taken, so the coefficients end up far more precise than ``tol``.

    Returns
    -------
    CoxResult

    Raises
    ------
    ValueError
        On missing, non-numeric or missing-valued columns, intervals with start >= stop or
        overlapping within a member, events other than 0/1 or not on a member's last interval,
        or invalid options; the message says how to fix it.
    """
    covariates = _names(covariates, "covariates")
    _check_options(ties, penalizer, max_iter, tol)
    reserved = sorted(set(covariates) & set(RESERVED_COLUMNS))
    if reserved:
        raise InputError(
            f"{', '.join(map(repr, reserved))} cannot be a covariate: it is part of the interval "
            "structure. Pass the names of the item and fixed covariate columns only."
        )
    _require_columns(data, (*RESERVED_COLUMNS, *covariates), "data")
    if data.height == 0:
        raise InputError(
            "data has no intervals: build it with counting_process from at least one member."
        )
    start = _float_column(data, "start", "data", "day the interval starts")
    stop = _float_column(data, "stop", "data", "day the interval ends")
    if not (np.isfinite(start).all() and np.isfinite(stop).all()):
        raise InputError(
            "data.start and data.stop must be finite days: drop rows with missing values."
        )
    empty = stop <= start
    if empty.any():
        first = int(np.argmax(empty))
        raise InputError(
            f"Every interval needs start < stop, but {int(empty.sum()):,} do not (first at row "
            f"{first}: ({start[first]!r}, {stop[first]!r}]). Drop empty intervals, e.g. members "
            "with zero tenure."
        )
    event = _flag_column(data, "event", "data").astype(bool)
    x = np.empty((data.height, len(covariates)), order="F")  # columns contiguous
    for j, name in enumerate(covariates):
        x[:, j] = _float_column(data, name, "data", "a number per interval")
        if not np.isfinite(x[:, j]).all():
            raise InputError(
                f"Covariate data.{name} has missing or infinite values: fill them in (or add a "
                "0/1 'missing' indicator) or drop those rows."
            )
    _check_intervals(data)
    n_members = int(data["member_id"].n_unique())
    n_events = int(event.sum())
    exposed_events = [int(np.count_nonzero(x[event, j])) for j in range(len(covariates))]

    def not_estimable(j: int, reason: str) -> CoxTerm:
        return CoxTerm(
            covariates[j], False, reason, None, None, None, None, None, None, exposed_events[j]
        )

    if n_events == 0:
        reason = "no member churned in these data, so there is no churn to compare"
        return CoxResult(
            terms=tuple(not_estimable(j, reason) for j in range(len(covariates))),
            n_members=n_members,
            n_events=0,
            log_likelihood=0.0,
            converged=True,
            iterations=0,
        )

    risk = _RiskSets.build(start, stop, event, ties)
    # column by column, so a term's numbers do not depend on which other columns are passed
    mean = np.array([x[:, j].mean() for j in range(len(covariates))])
    sd = np.array([x[:, j].std(ddof=1) if data.height > 1 else 0.0 for j in range(len(covariates))])
    kept_x = x[risk.rows]
    reasons: dict[int, str] = {}
    for j in range(len(covariates)):
        reason = _unmeasurable(x[:, j], kept_x[:, j], risk, start[risk.rows])
        if reason:
            reasons[j] = reason
    active = [j for j in range(len(covariates)) if j not in reasons]
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (kept_x - mean) / np.where(sd > 0, sd, 1.0)

    if active:
        info0 = risk.evaluate(z[:, active], np.zeros(len(active)))[2]
        for position, others in _collinear(info0).items():
            names = [covariates[active[o]] for o in others]
            reasons[active[position]] = (
                f"it moves in lockstep with {names[0]} among the members at risk (an exact "
                f"linear function of it, e.g. a copy), so their effects cannot be told apart; "
                f"only {names[0]}, listed first, is fitted"
                if len(names) == 1
                else f"it is an exact linear combination of {', '.join(names)} among the "
                "members at risk, so their effects cannot be told apart; only the columns "
                "listed first are fitted"
            )
        active = [j for j in active if j not in reasons]

    converged = True
    while True:
        fit = _newton(risk, z[:, active], penalizer * data.height, max_iter, tol)
        if fit.converged:
            break
        converged = False
        stuck = fit.stuck if fit.stuck.any() else np.ones(len(active), dtype=bool)
        group = [active[int(i)] for i in np.flatnonzero(stuck)]
        for j in group:
            partners = ", ".join(covariates[o] for o in group if o != j)
            together = f" together with {partners}" if partners else ""
            how = (
                "its estimate kept growing until the information matrix became singular"
                if fit.singular
                else f"its estimate was still moving after {max_iter} Newton steps"
            )
            reasons[j] = (
                f"the fit did not settle: {how}, typically because churn is separated almost "
                f"perfectly by this term{together}, so no finite estimate exists"
                + ("" if fit.singular else " (if max_iter was simply too small, raise it)")
            )
        active = [j for position, j in enumerate(active) if not stuck[position]]

    terms: list[CoxTerm] = []
    for j in range(len(covariates)):
        if j in reasons:
            terms.append(not_estimable(j, reasons[j]))
            continue
        position = active.index(j)
        coef = float(fit.beta[position] / sd[j])
        se = float(fit.se[position] / sd[j])
        terms.append(
            CoxTerm(
                name=covariates[j],
                estimable=True,
                reason="",
                coef=coef,
                se=se,
                hazard_ratio=_exp(coef),
                ci_low=_exp(coef - _Z95 * se),
                ci_high=_exp(coef + _Z95 * se),
                p_value=float(2.0 * stats.norm.sf(abs(coef / se))),
                n_exposed_events=exposed_events[j],
            )
        )
    return CoxResult(
        terms=tuple(terms),
        n_members=n_members,
        n_events=n_events,
        log_likelihood=fit.log_likelihood,
        converged=converged,
        iterations=fit.iterations,
    )
