"""Social-proof impact: which proof items go with members staying, honestly estimated.

Estimand (per item): among members known at their landmark (``landmark_days`` after joining)
to be active members — some activity in the ``recency_days`` before it and no explicit departure
before it, "members active in the week before day 30" by default — who could have been exposed
by then (the item was published before their landmark), the difference in the probability of
still being a member ``horizon_days`` after the landmark between members exposed to the item in
their first ``landmark_days`` and comparable members who were not — the effect on the exposed
(ATT). Positive means the item goes with better retention. Who is compared is decided only from
what was known at the landmark: a later sign of life would select on the outcome.

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
  members and refits both models B times (percentile interval; slower). The verdict
  says which error it controls (``error_control``): ``per_item`` (default) uses Holm-adjusted
  p-values, so each flagged item alone has at most a 1-in-20 chance of being a false alarm;
  ``fdr`` uses Benjamini–Hochberg q-values (fewer than 1 in 20 flagged items are false alarms),
  for analysts screening many items. Both are reported. The simulation study checks the
  coverage of the intervals against the demo community's planted truth.
* **The outcome is decidable.** Only members whose horizon ended at least ``inactive_days``
  before the as-of time are used, so churn at the horizon is known for all of them.

The package's modules: ``model`` (settings and results), ``population`` (who is compared),
``estimate`` (the doubly robust estimate), ``verdicts`` (multiplicity and verdict words),
``item`` (one item's estimate), ``analysis`` (every item), ``sensitivity`` (other churn
definitions), ``detail`` (one item's drill-down), ``anytime`` (the Cox view).
"""

from analytics.impact.analysis import _candidates, estimate_effects, with_trials
from analytics.impact.anytime import time_varying_effects
from analytics.impact.detail import ItemDetail, item_detail, weighted_kaplan_meier
from analytics.impact.estimate import _doubly_robust, _subsample, e_value
from analytics.impact.item import _first_exposures
from analytics.impact.model import (
    ERROR_CONTROLS,
    SENSITIVITY_INACTIVE_DAYS,
    TRIAL_COLUMNS,
    ErrorControl,
    ImpactResult,
    ImpactSettings,
    ItemEffect,
    Population,
    Progress,
    Verdict,
    population_words,
)
from analytics.impact.population import (
    EarlyActivity,
    _joined_until,
    early_activity_by,
    landmark_population,
)
from analytics.impact.verdicts import (
    adjusted_p_name,
    benjamini_hochberg,
    error_control_words,
    holm,
    threshold_words,
)

__all__ = [
    "ERROR_CONTROLS",
    "SENSITIVITY_INACTIVE_DAYS",
    "TRIAL_COLUMNS",
    "EarlyActivity",
    "ErrorControl",
    "ImpactResult",
    "ImpactSettings",
    "ItemDetail",
    "ItemEffect",
    "Population",
    "Progress",
    "Verdict",
    "_candidates",
    "_doubly_robust",
    "_first_exposures",
    "_joined_until",
    "_subsample",
    "adjusted_p_name",
    "benjamini_hochberg",
    "e_value",
    "early_activity_by",
    "error_control_words",
    "estimate_effects",
    "holm",
    "item_detail",
    "landmark_population",
    "population_words",
    "threshold_words",
    "time_varying_effects",
    "weighted_kaplan_meier",
    "with_trials",
]
