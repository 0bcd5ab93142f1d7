"""From p-values to verdict words: multiplicity adjustment and the reason given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from analytics.impact.model import ImpactSettings, ItemEffect, Verdict


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg q-values (step-up, monotone), in the input order."""
    m = len(p_values)
    if m == 0:
        return []
    order = np.argsort(p_values)
    # p * (m / rank), not p * m / rank: the factor is >= 1, so no q-value rounds below its p
    ranked = np.asarray(p_values, dtype=np.float64)[order] * (m / np.arange(1, m + 1))
    q = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1.0)
    out = np.empty(m)
    out[order] = q
    return out.tolist()


def _with_q_values(effects: list[ItemEffect], settings: ImpactSettings) -> list[ItemEffect]:
    estimable = [i for i, e in enumerate(effects) if e.p_value is not None]
    q_values = benjamini_hochberg([effects[i].p_value for i in estimable])  # type: ignore[misc]
    out = list(effects)
    for i, q in zip(estimable, q_values, strict=True):
        e = out[i]
        assert e.effect is not None
        significant = q <= settings.alpha
        verdict: Verdict = ("helps" if e.effect > 0 else "hurts") if significant else "no_evidence"
        reason = (
            f"q = {q:.3f}: unlikely to be chance across the {len(estimable)} items compared"
            if significant
            else f"q = {q:.2f}: the difference could be chance"
        )
        out[i] = replace(e, q_value=q, verdict=verdict, reason=reason)
    return out
