"""Sensitivity of the estimates to the churn definition: the same analysis with churn after
other numbers of quiet days (:data:`SENSITIVITY_INACTIVE_DAYS`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import polars as pl

from analytics.community import Community
from analytics.impact.estimate import ExposureModel
from analytics.impact.item import _analyse, _Candidate, _design, _own_counts
from analytics.impact.model import (
    SENSITIVITY_INACTIVE_DAYS,
    ImpactSettings,
    ItemEffect,
    Progress,
)
from analytics.impact.parallel import ordered_map
from analytics.impact.population import (
    EarlyActivity,
    landmark_population,
)


def with_sensitivity(
    community: Community,
    settings: ImpactSettings,
    early: EarlyActivity,
    own_rows: pl.DataFrame,
    first: pl.DataFrame,
    rng: np.random.Generator,
    report: Progress,
    groups: Sequence[tuple[list[ItemEffect], list[_Candidate]]],
    exposure_models: dict[str, ExposureModel] | None = None,
) -> None:
    """Add each estimable effect's value under the other churn definitions (in place).

    ``exposure_models``: the main estimate's exposure models, reused (who is exposed does not
    depend on how churn is defined; only the retention model is fitted again)."""
    for j, days in enumerate(SENSITIVITY_INACTIVE_DAYS):
        report(f"Sensitivity: churn after {days} quiet days", 0.7 + 0.15 * j)
        other = replace(settings, inactive_days=days)
        other_population = landmark_population(community, other, early=early)
        other_own = _own_counts(own_rows, other_population)
        other_design = _design(other_population, first, other_own)
        for effects, candidates in groups:
            estimable = [k for k in range(len(candidates)) if effects[k].effect is not None]

            def again(k: int) -> ItemEffect:
                return _analyse(
                    candidates[k], other_population, first, other, rng,  # noqa: B023
                    with_interval=False, own_counts=other_own,  # noqa: B023
                    exposure_models=exposure_models, design=other_design,  # noqa: B023
                )  # fmt: skip

            for k, found in zip(estimable, ordered_map(again, estimable), strict=True):
                effects[k] = replace(
                    effects[k], sensitivity={**effects[k].sensitivity, days: found.effect}
                )
