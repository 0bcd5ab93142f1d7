"""From p-values to verdict words: multiplicity adjustment and the reason given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from analytics.impact.model import ImpactSettings, ItemEffect, Verdict
from analytics.stats import p_text


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


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (monotone, capped at 1), in the input order: an item is
    flagged at level alpha when its adjusted p is at most alpha, and then the chance of any false
    alarm among the items is at most alpha (so also for each item alone)."""
    m = len(p_values)
    if m == 0:
        return []
    order = np.argsort(p_values, kind="stable")
    ranked = np.asarray(p_values, dtype=np.float64)[order] * (m - np.arange(m))
    adjusted = np.maximum.accumulate(ranked).clip(max=1.0)
    out = np.empty(m)
    out[order] = adjusted
    return out.tolist()


def _one_in(alpha: float) -> str:
    return f"1 in {round(1 / alpha):d}" if alpha > 0 else "none"


def error_control_words(settings: ImpactSettings) -> str:
    """What a "helps" or "hurts" verdict promises, in words."""
    one_in = _one_in(settings.alpha)
    if settings.error_control == "fdr":
        return (
            f"fewer than {one_in} items flagged this way is a false alarm (false discovery "
            "rate, Benjamini–Hochberg q-values)"
        )
    return (
        f"this item alone: a {one_in.replace(' ', '-')} chance of a false alarm, even after "
        "testing every item (Holm-adjusted p-values)"
    )


def adjusted_p_name(settings: ImpactSettings) -> str:
    """The name of the adjusted p-value a verdict uses: "Holm-adjusted p" (per item) or "q"
    (false discovery rate)."""
    return "q" if settings.error_control == "fdr" else "Holm-adjusted p"


def threshold_words(settings: ImpactSettings) -> str:
    """The verdict's threshold as a reader sees it, naming the error control actually used:
    "Holm-adjusted p ≤ 0.05" or "q ≤ 0.05 (false discovery rate)"."""
    if settings.error_control == "fdr":
        return f"q ≤ {settings.alpha:g} (false discovery rate)"
    return f"Holm-adjusted p ≤ {settings.alpha:g}"


def verdict_reason(
    adjusted: float, significant: bool, n_items: int, settings: ImpactSettings
) -> str:
    """The verdict's reason: the adjusted value used and what it controls."""
    name = adjusted_p_name(settings)
    shown = p_text(adjusted)  # "< 0.001", never "0.000"
    value = f"{name} {shown}" if shown.startswith("<") else f"{name} = {shown}"
    if significant:
        return f"{value} across the {n_items} items compared: {error_control_words(settings)}"
    return f"{name} = {adjusted:.2f} across the {n_items} items compared: could be chance"


def _with_q_values(effects: list[ItemEffect], settings: ImpactSettings) -> list[ItemEffect]:
    """Verdicts from the p-values: BH q-values and Holm-adjusted p-values for every estimable
    item; the one chosen by ``settings.error_control`` decides (``adjusted_p``)."""
    estimable = [i for i, e in enumerate(effects) if e.p_value is not None]
    p_values = [effects[i].p_value for i in estimable]
    q_values = benjamini_hochberg(p_values)  # type: ignore[arg-type]
    holm_p = holm(p_values)  # type: ignore[arg-type]
    out = list(effects)
    for i, q, h in zip(estimable, q_values, holm_p, strict=True):
        e = out[i]
        assert e.effect is not None
        used = q if settings.error_control == "fdr" else h
        significant = used <= settings.alpha
        verdict: Verdict = ("helps" if e.effect > 0 else "hurts") if significant else "no_evidence"
        reason = verdict_reason(used, significant, len(estimable), settings)
        out[i] = replace(e, q_value=q, holm_p=h, adjusted_p=used, verdict=verdict, reason=reason)
    return out
