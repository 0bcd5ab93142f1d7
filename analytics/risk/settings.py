"""Settings of the churn-risk model and the feature groups it reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import numpy.typing as npt

from analytics.churn import DEFAULT_INACTIVE_DAYS
from analytics.errors import InputError

Progress = Callable[[str, float], None]
FloatArray = npt.NDArray[np.float64]


DEFAULT_HORIZON_DAYS = 30
#: Activity kinds with their own features (the most common ones at the training cutoff).
MAX_KIND_FEATURES = 6
#: Feature groups, in the order they are reported.
GROUPS = ("recency", "frequency", "trend", "tenure", "proof seen", "badges", "attributes")
GROUP_HELP = {
    "recency": "days since the last activity, overall and per kind",
    "frequency": "activity in the last 7, 28 and 90 days, per kind, and active days",
    "trend": "activity in the last 4 weeks against the 4 weeks before",
    "tenure": "days since joining",
    "proof seen": "proof items seen per kind (testimonials, case studies, ...) and how recently",
    "badges": "badges earned",
    "attributes": "member attributes (channel, plan, ...)",
}
#: A risk factor is named only when it adds at least this much risk (probability).
MIN_FACTOR = 0.01


@dataclass(frozen=True)
class RiskSettings:
    """The choices behind a churn-risk model."""

    horizon_days: int = DEFAULT_HORIZON_DAYS
    inactive_days: int = DEFAULT_INACTIVE_DAYS
    #: Training cutoffs stacked per model, ``step_days`` apart (more rows, same rule).
    training_cutoffs: int = 6
    step_days: int = 14
    #: Permutation-importance repeats and bootstrap resamples for the AUC difference.
    repeats: int = 8
    bootstrap: int = 200
    #: Fewest churners and stayers needed at the training and the evaluation cutoff.
    min_class: int = 20
    #: At most this many member-cutoffs train a model, and this many held-out members are
    #: shuffled for the importance (random, seeded samples): beyond them the figures barely move
    #: while the time grows (benchmarks/bench_risk.py).
    max_training_rows: int = 60_000
    max_importance_rows: int = 8_000
    #: At most about this many members are checked at the held-out cutoff: beyond it a seeded
    #: random sample, drawn apart from the members sampled for training (at 100,000 members the
    #: interval of the AUC difference was 0.006 wide on the million-member demo).
    max_eval_rows: int = 100_000
    #: Risk factors in words are given for at most this many members, those at highest risk
    #: (the others' ``factors`` are null: not computed).
    max_factor_rows: int = 25_000
    seed: int = 20261124

    def __post_init__(self) -> None:
        if self.horizon_days < 1 or self.inactive_days < 1:
            raise InputError("horizon_days and inactive_days must be at least 1 day.")
        if self.training_cutoffs < 1 or self.step_days < 1:
            raise InputError("training_cutoffs and step_days must be at least 1.")
        if self.repeats < 2 or self.bootstrap < 20:
            raise InputError("repeats must be at least 2 and bootstrap at least 20.")
        if self.max_eval_rows < 1:
            raise InputError("max_eval_rows must be at least 1.")

    @property
    def gap(self) -> timedelta:
        """How long after a cutoff its label is known: horizon plus the quiet days."""
        return timedelta(days=self.horizon_days + self.inactive_days)


def risk_definition(settings: RiskSettings) -> str:
    """The estimand in one sentence a community lead understands."""
    return (
        f"Risk is the probability that a current member churns within the next "
        f"{settings.horizon_days} days: their last sign of life (or explicit departure) comes "
        f"before then and they stay quiet for {settings.inactive_days} days after it."
    )


# -- what was known at a cutoff ----------------------------------------------------------------
