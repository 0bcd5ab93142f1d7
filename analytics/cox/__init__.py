"""Social proof seen at any time: a Cox model of time to churn with time-varying exposure.

The survival curves in :mod:`analytics.survival` compare members by what they saw early on.
Proof items can also be met later (a testimonial page, a badge earned after months), and then
"exposed" and "not exposed" must be compared day by day: on each day someone churned, among the
members still there, did those who had already seen the item churn less? That is a Cox
proportional-hazards model with tenure (days since joining) as the time scale and each item as a
0/1 covariate that switches on at the member's first exposure.

Two steps:

1. :func:`counting_process` splits each member's membership into (start, stop] intervals at the
   days their exposures switch on. A switch happens ``lag_days`` (at least one day) after the
   exposure, so the visit on which a member churned cannot count as exposure before churn
   (reverse causation). Members still present are right-censored at their tenure so far.
2. :func:`fit_cox_time_varying` fits the model by Newton–Raphson on the partial likelihood
   (Efron's handling of ties by default, Breslow's as an option), vectorised with numpy: the
   sums over the members at risk at every churn time are running sums, so 100,000 members with
   a few hundred thousand intervals take well under a second per iteration.

Terms that cannot be estimated
------------------------------
Some effects cannot be measured from the data at all, and a plain fit would return either an
error (a singular matrix) or a meaningless huge coefficient. They are found before fitting, left
out of the fit, and reported with ``estimable=False`` and a plain reason:

- the covariate has the same value everywhere;
- at every churn time it has the same value for everyone still at risk. This is the tenure-badge
  trap: a badge every member still present receives on day 365 is held by nobody at risk before
  that day and by everybody at risk after it, so there is never anyone to compare with;
- among the churn times where it varies, every churn happened at its lowest value (no churn at
  all while exposed) or every churn at its highest value (no churn while unexposed). The
  likelihood then keeps rising as the coefficient runs to minus or plus infinity ("monotone
  likelihood"), so no finite estimate exists;
- it is an exact linear combination of earlier covariates within the risk sets (for example a
  copy of another column): the later one is left out;
- the Newton iterations do not settle (a combination of terms separates churners perfectly):
  the terms whose estimates keep moving are left out and the rest refitted. No coefficient is
  ever returned from a singular or unconverged fit.

The numbers match lifelines 0.30 ``CoxTimeVaryingFitter`` (which uses Efron's method) to
rounding (coefficients, standard errors and log-likelihood within about 1e-12 in the tests),
including its L2 ``penalizer``. lifelines has no Breslow option; the Breslow fit is checked
against hand-computed values and the written-out likelihood instead.

The package: :mod:`~analytics.cox.counting` (the counting-process table),
:mod:`~analytics.cox.fit` (the fit), :mod:`~analytics.cox.newton` (risk sets and Newton steps),
:mod:`~analytics.cox.identify` (what the data can estimate), :mod:`~analytics.cox.checks`
(input checks), :mod:`~analytics.cox.result` (the result) and :mod:`~analytics.cox.common`.
"""

from analytics.cox.common import MIN_LAG_DAYS, RESERVED_COLUMNS, Ties
from analytics.cox.counting import counting_process
from analytics.cox.fit import fit_cox_time_varying
from analytics.cox.result import CoxResult, CoxTerm

__all__ = [
    "MIN_LAG_DAYS",
    "RESERVED_COLUMNS",
    "CoxResult",
    "CoxTerm",
    "Ties",
    "counting_process",
    "fit_cox_time_varying",
]
