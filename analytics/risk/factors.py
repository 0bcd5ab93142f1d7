"""Each member's risk factors in words."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from sklearn.ensemble import HistGradientBoostingClassifier

from analytics.risk.features import FeatureSpec
from analytics.risk.model import _matrix, _predict_each
from analytics.risk.settings import GROUPS, MIN_FACTOR

Progress = Callable[[str, float], None]
FloatArray = npt.NDArray[np.float64]


def _typical(frame: pl.DataFrame, spec: FeatureSpec) -> dict[str, float]:
    """The median active member (most common value for attributes)."""
    out: dict[str, float] = {}
    for name in spec.columns():
        column = frame[name].drop_nulls()
        if column.is_empty():
            out[name] = math.nan
        elif name.startswith("attr_"):
            out[name] = float(column.mode().sort()[0])
        else:
            out[name] = float(column.median())  # type: ignore[arg-type]
    return out


def _fmt(value: float) -> str:
    return "never" if math.isnan(value) else f"{value:,.0f}"


def _plural(count: float) -> str:
    return "activity" if round(count) == 1 else "activities"


def _sentence(group: str, row: dict[str, Any], typical: dict[str, float], spec: FeatureSpec) -> str:
    if group == "recency":
        return (
            f"no activity for {row['days_since_last']:.0f} days "
            f"(typical: {typical['days_since_last']:.0f})"
        )
    if group == "frequency":
        return (
            f"{row['activities_28d']:.0f} {_plural(row['activities_28d'])} in the last 4 weeks "
            f"(typical: {typical['activities_28d']:.0f})"
        )
    if group == "trend":
        now, before = row["activities_28d"], row["activities_prev_28d"]
        if before > 0 and now < before:
            return (
                f"activity fell {1 - now / before:.0%} against the previous 4 weeks "
                f"({now:.0f} after {before:.0f})"
            )
        return f"activity {now:.0f} in the last 4 weeks after {before:.0f} in the 4 weeks before"
    if group == "tenure":
        return (
            f"member for {row['tenure_days']:.0f} days (typical: {typical['tenure_days']:.0f}); "
            "newer members leave more often"
        )
    if group == "proof seen":
        seen = sum(row[f"seen_{k}"] for k in spec.proof_kinds)
        usual = sum(typical[f"seen_{k}"] for k in spec.proof_kinds)
        return f"has seen {seen:.0f} proof item(s) (typical: {usual:.0f})"
    if group == "badges":
        return f"{row['badges']:.0f} badge(s) (typical: {typical['badges']:.0f})"
    parts = []
    for a in spec.attributes:
        code, usual = row[f"attr_{a}"], typical[f"attr_{a}"]
        values = spec.categories.get(a, ())
        if code is not None and not math.isnan(code) and code != usual:
            shown = values[int(code)]
            common = values[int(usual)] if not math.isnan(usual) else "?"
            parts.append(f"{a} {shown} (most members: {common})")
    return "; ".join(parts) or "member attributes"


def _formatted(values: pl.Series, fmt: str) -> pl.Series:
    """Each value formatted as Python would (``format(v, fmt)``): distinct values once."""
    mapping = {v: format(v, fmt) for v in values.unique().drop_nulls().to_list()}
    return values.replace_strict(mapping, default=None, return_dtype=pl.String)


def _sentences(
    frame: pl.DataFrame, typical: dict[str, float], spec: FeatureSpec, groups: Sequence[str]
) -> dict[str, pl.Series]:
    """:func:`_sentence` of every member for each group, built column-wise."""

    def whole(column: str | pl.Series) -> pl.Series:
        return _formatted(frame[column] if isinstance(column, str) else column, ".0f")

    def usual(name: str) -> str:
        return format(typical[name], ".0f")

    out: dict[str, pl.Series] = {}
    for group in groups:
        if group == "recency":
            text = "no activity for " + whole("days_since_last")
            text = text + f" days (typical: {usual('days_since_last')})"
        elif group == "frequency":
            count = frame["activities_28d"]
            one = pl.lit(count.round(0)) == 1
            noun = pl.select(
                pl.when(one).then(pl.lit("activity")).otherwise(pl.lit("activities"))
            ).to_series()
            text = whole(count) + " " + noun
            text = text + f" in the last 4 weeks (typical: {usual('activities_28d')})"
        elif group == "trend":
            now, before = frame["activities_28d"], frame["activities_prev_28d"]
            fell = (before > 0) & (now < before)
            share = _formatted(pl.select(pl.when(fell).then(1 - now / before)).to_series(), ".0%")
            text = pl.select(
                pl.when(fell)
                .then(
                    pl.lit("activity fell ") + pl.lit(share) + " against the previous 4 weeks ("
                    + pl.lit(whole(now)) + " after " + pl.lit(whole(before)) + ")"
                )
                .otherwise(
                    pl.lit("activity ") + pl.lit(whole(now)) + " in the last 4 weeks after "
                    + pl.lit(whole(before)) + " in the 4 weeks before"
                )
            ).to_series()  # fmt: skip
        elif group == "tenure":
            text = "member for " + whole("tenure_days")
            text = text + (
                f" days (typical: {usual('tenure_days')}); newer members leave more often"
            )
        elif group == "proof seen":
            seen = frame.select(
                pl.sum_horizontal(*(pl.col(f"seen_{k}") for k in spec.proof_kinds))
                if spec.proof_kinds
                else pl.repeat(0.0, frame.height)
            ).to_series()
            total = sum(typical[f"seen_{k}"] for k in spec.proof_kinds)
            text = "has seen " + whole(seen) + f" proof item(s) (typical: {total:.0f})"
        elif group == "badges":
            text = whole("badges") + f" badge(s) (typical: {usual('badges')})"
        else:
            parts = []
            for a in spec.attributes:
                code, common_code = frame[f"attr_{a}"], typical[f"attr_{a}"]
                values = spec.categories.get(a, ())
                common = values[int(common_code)] if not math.isnan(common_code) else "?"
                shown = code.replace_strict(
                    {float(i): v for i, v in enumerate(values)}, default=None,
                    return_dtype=pl.String,
                )  # fmt: skip
                differs = code.is_not_null() & code.is_not_nan() & (code != common_code)
                parts.append(
                    pl.select(
                        pl.when(differs).then(
                            pl.lit(f"{a} ") + pl.lit(shown) + f" (most members: {common})"
                        )
                    ).to_series()
                )
            if parts:
                joined = pl.select(
                    pl.concat_str([pl.lit(p) for p in parts], separator="; ", ignore_nulls=True)
                ).to_series()
                text = pl.select(
                    pl.when(pl.lit(joined) == "")
                    .then(pl.lit("member attributes"))
                    .otherwise(pl.lit(joined))
                ).to_series()
            else:
                text = pl.Series([("member attributes")] * frame.height, dtype=pl.String)
        out[group] = text.rename(group)
    return out


def risk_factors(
    model: HistGradientBoostingClassifier,
    frame: pl.DataFrame,
    spec: FeatureSpec,
    typical: dict[str, float],
    *,
    top: int = 3,
) -> pl.Series:
    """Each member's top risk factors: the feature groups whose typical values would lower the
    member's predicted risk most (at least ``MIN_FACTOR``), in words (``factors``: a list of
    strings per member)."""
    x = _matrix(frame, spec)
    if len(x) == 0:
        return pl.Series("factors", [], dtype=pl.List(pl.String))
    columns = spec.columns()
    swapped = {}
    for group in GROUPS:
        idx = [i for i, g in enumerate(columns.values()) if g == group]
        if not idx:
            continue
        copy = x.copy()
        for i in idx:
            copy[:, i] = typical[list(columns)[i]]
        swapped[group] = copy
    # the members' risk and the swapped copies' predicted at once
    risk, *lowered = _predict_each(model, [x, *swapped.values()])
    contributions = {group: risk - p for group, p in zip(swapped, lowered, strict=True)}
    groups = list(contributions)
    matrix = np.column_stack([contributions[g] for g in groups])
    # per member, the groups by contribution (largest first; ties in group order)
    order = np.argsort(-matrix, axis=1, kind="stable")[:, :top]
    strong = np.take_along_axis(matrix, order, axis=1) >= MIN_FACTOR
    texts = _sentences(frame, typical, spec, groups)
    picked = []
    for k in range(order.shape[1]):
        choice = pl.Series(f"pick_{k}", order[:, k])
        column = pl.select(
            pl.coalesce(
                pl.when(pl.lit(choice) == j).then(pl.lit(texts[g])) for j, g in enumerate(groups)
            )
        ).to_series()
        picked.append(pl.select(pl.when(pl.lit(strong[:, k])).then(pl.lit(column))).to_series())
    return (
        pl.select(pl.concat_list([pl.lit(p) for p in picked]).list.drop_nulls())
        .to_series()
        .rename("factors")
    )


def _recency_factors(frame: pl.DataFrame, typical: dict[str, float]) -> pl.Series:
    days = frame["days_since_last"]
    text = "no activity for " + _formatted(days, ".0f")
    text = text + f" days (typical: {typical['days_since_last']:.0f})"
    return (
        pl.select(
            pl.when(pl.lit(days) > typical["days_since_last"])
            .then(pl.concat_list(pl.lit(text)))
            .otherwise(pl.lit([], dtype=pl.List(pl.String)))
        )
        .to_series()
        .rename("factors")
    )


# -- the whole analysis ------------------------------------------------------------------------
