"""The result of a churn-risk run and how it is exported."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from analytics.risk.model import Evaluation
from analytics.risk.settings import RiskSettings

Progress = Callable[[str, float], None]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class RiskResult:
    """The evaluated model, what drives it and today's members ranked by risk.

    ``at_risk``: ``rank``, ``member_id``, ``risk``, ``baseline_risk``, ``days_since_last``,
    ``activities_28d``, ``trend_pct``, ``tenure_days``, ``factors`` (list of sentences), ranked
    by ``risk``, which comes from the model when it beats the baseline and from the baseline
    otherwise (``ranked_by``). ``importance``: ``group``, ``importance`` (mean drop in ROC AUC
    when the group is shuffled), ``ci_low``, ``ci_high`` (2.5 and 97.5 % of the repeats),
    ``features``, ``help``. ``reason`` says why there is no model, when there is none.
    """

    settings: RiskSettings
    as_of: datetime
    evaluation: Evaluation | None
    importance: pl.DataFrame
    at_risk: pl.DataFrame
    ranked_by: Literal["model", "baseline"] | None
    typical: dict[str, float]
    reason: str | None = None

    def to_json(self, *, limit: int | None = None) -> dict[str, Any]:
        """The CLI's JSON: ``auc``, ``baseline_auc`` and ``members`` ranked by risk."""
        ev = self.evaluation
        rows = self.at_risk if limit is None else self.at_risk.head(limit)
        return {
            "as_of": self.as_of.isoformat().replace("+00:00", "Z"),
            "horizon_days": self.settings.horizon_days,
            "auc": None if ev is None else round(ev.auc, 4),
            "baseline_auc": None if ev is None else round(ev.baseline_auc, 4),
            "pr_auc": None if ev is None else round(ev.pr_auc, 4),
            "baseline_pr_auc": None if ev is None else round(ev.baseline_pr_auc, 4),
            "beats_baseline": None if ev is None else ev.beats_baseline,
            "ranked_by": self.ranked_by,
            "reason": self.reason,
            "members": [
                {"member_id": r["member_id"], "risk": round(r["risk"], 4), "factors": r["factors"]}
                for r in rows.iter_rows(named=True)
            ],
        }
