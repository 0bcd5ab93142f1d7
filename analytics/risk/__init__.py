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

The package, one module per step: :mod:`~analytics.risk.settings` (settings and feature groups),
:mod:`~analytics.risk.known_at` (the data as it stood at a cutoff),
:mod:`~analytics.risk.features` (features per member and cutoff, from the event queries),
:mod:`~analytics.risk.labels` (churn dates and labels), :mod:`~analytics.risk.model` (the models
and the ranked-score AUC), :mod:`~analytics.risk.evaluate` (training sets, fits, evaluation,
importance), :mod:`~analytics.risk.factors` (risk factors in words),
:mod:`~analytics.risk.result` and :mod:`~analytics.risk.run` (end to end).
"""

from analytics.auc import weighted_auc
from analytics.risk.evaluate import _fit, permutation_importance_groups
from analytics.risk.factors import _sentence, _typical, risk_factors
from analytics.risk.features import (
    FeatureSpec,
    _features,
    _samples,
    features_as_of,
    features_from,
)
from analytics.risk.known_at import KnownAt, known_at
from analytics.risk.labels import _churn_dates, churn_labels
from analytics.risk.model import Evaluation, _RankedScores
from analytics.risk.result import RiskResult
from analytics.risk.run import at_risk_export, churn_risk
from analytics.risk.settings import (
    DEFAULT_HORIZON_DAYS,
    GROUP_HELP,
    GROUPS,
    MIN_FACTOR,
    RiskSettings,
    risk_definition,
)

__all__ = [
    "DEFAULT_HORIZON_DAYS",
    "GROUPS",
    "GROUP_HELP",
    "MIN_FACTOR",
    "Evaluation",
    "FeatureSpec",
    "KnownAt",
    "RiskResult",
    "RiskSettings",
    "_RankedScores",
    "_churn_dates",
    "_features",
    "_fit",
    "_samples",
    "_sentence",
    "_typical",
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
