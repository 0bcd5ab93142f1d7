"""The fitted Cox model: one term per covariate and the result as a table."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from analytics.cox.common import _FRAME_SCHEMA


@dataclass(frozen=True)
class CoxTerm:
    """The estimated effect of one covariate on the hazard of churning.

    Attributes
    ----------
    name : str
        Covariate (column) name.
    estimable : bool
        False when the data cannot tell this effect apart (see ``reason``); all numbers are then
        None.
    reason : str
        Empty when estimable; otherwise a plain sentence saying why not.
    coef : float or None
        Log hazard ratio per unit of the covariate (for a 0/1 item: exposed versus not).
    se : float or None
        Standard error of ``coef``.
    hazard_ratio : float or None
        ``exp(coef)``: below 1 means members churn less while exposed.
    ci_low, ci_high : float or None
        95 % confidence interval of the hazard ratio, ``exp(coef ± 1.96 se)``.
    p_value : float or None
        Two-sided Wald test of "no effect" (hazard ratio 1).
    n_exposed_events : int
        Churn events that happened while exposed (on intervals where the covariate is not 0).
    """

    name: str
    estimable: bool
    reason: str
    coef: float | None
    se: float | None
    hazard_ratio: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_exposed_events: int


@dataclass(frozen=True)
class CoxResult:
    """A fitted Cox model: one term per covariate asked for, in the order asked.

    Attributes
    ----------
    terms : tuple of CoxTerm
        One per covariate, estimable or not.
    n_members : int
        Distinct members in the data.
    n_events : int
        Churn events.
    log_likelihood : float
        Partial log-likelihood of the reported model (estimable terms at their estimates; minus
        the penalty when ``penalizer > 0``, as lifelines reports it).
    converged : bool
        True when every Newton fit attempted converged. False when some terms had to be left
        out because the fit did not settle with them (they say so in their reason); the
        coefficients reported come from a converged refit without them.
    iterations : int
        Newton iterations of the fit whose coefficients are reported.
    """

    terms: tuple[CoxTerm, ...]
    n_members: int
    n_events: int
    log_likelihood: float
    converged: bool
    iterations: int

    def term(self, name: str) -> CoxTerm:
        """The term of covariate ``name``.

        Raises
        ------
        KeyError
            When the model has no such covariate.
        """
        for term in self.terms:
            if term.name == name:
                return term
        raise KeyError(
            f"No term {name!r} in this model; its terms are "
            f"{', '.join(repr(t.name) for t in self.terms)}."
        )

    def frame(self) -> pl.DataFrame:
        """The terms as a table, one row per covariate.

        Returns
        -------
        polars.DataFrame
            ``name``, ``estimable``, ``reason``, ``coef``, ``se``, ``hazard_ratio``,
            ``ci_low``, ``ci_high``, ``p_value``, ``n_exposed_events`` (numbers null where the
            term is not estimable).
        """
        rows = [
            {
                "name": t.name,
                "estimable": t.estimable,
                "reason": t.reason,
                "coef": t.coef,
                "se": t.se,
                "hazard_ratio": t.hazard_ratio,
                "ci_low": t.ci_low,
                "ci_high": t.ci_high,
                "p_value": t.p_value,
                "n_exposed_events": t.n_exposed_events,
            }
            for t in self.terms
        ]
        return pl.DataFrame(rows, schema=_FRAME_SCHEMA, orient="row")


# --------------------------------------------------------------------------------------------
# counting process
