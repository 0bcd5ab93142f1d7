"""Second view: exposure at any time, in a Cox model with time-varying exposure."""

from __future__ import annotations

import polars as pl

from analytics.community import Community
from analytics.cox import CoxResult, counting_process, fit_cox_time_varying
from analytics.errors import InputError
from analytics.impact.item import _first_exposures
from analytics.impact.model import ImpactSettings


def time_varying_effects(
    community: Community, settings: ImpactSettings | None = None, *, lag_days: float = 1.0
) -> CoxResult:
    """Hazard ratio of churn after first exposure to each item, whenever it happened.

    A Cox model with tenure as the time scale and each item as a covariate that switches on
    ``lag_days`` after the member's first exposure (so a churner's last visit cannot count),
    adjusted for join time and the attributes fixed at signup. A hazard ratio below 1 goes with
    members staying longer. Items with no comparison inside the risk sets (a badge everyone
    still present gets on day 365) are reported as not estimable.
    """
    settings = settings or ImpactSettings()
    if community.proof_items is None or not community.has_exposures:
        raise InputError(
            "The any-time view needs the proof_items and exposures tables. Add them to the "
            "source (see the Data page for their columns)."
        )
    status = community.churn_status(settings.inactive_days)
    first_join = community.members["joined_at"].min()
    attributes = (
        community.attributes if settings.fixed_attributes is None else settings.fixed_attributes
    )
    attributes = tuple(a for a in attributes if a in community.members.columns)
    members = status.select(
        "member_id",
        "tenure_days",
        pl.col("churned_at").is_not_null().cast(pl.Int8).alias("churned"),
        ((pl.col("joined_at") - pl.lit(first_join)).dt.total_days() / 365.25).alias("join_years"),
    )
    fixed = ["join_years"]
    if attributes:
        dummies = (
            community.members.select("member_id", *attributes)
            .with_columns(pl.col(a).fill_null("(missing)") for a in attributes)
            .to_dummies(columns=list(attributes), drop_first=True, separator="=")
        )
        members = members.join(dummies, on="member_id", how="left")
        fixed += [c for c in dummies.columns if c != "member_id"]
    members = members.with_columns(pl.col(c).cast(pl.Float64) for c in fixed)
    exposures = (
        _first_exposures(community)
        .join(community.members.select("member_id", "joined_at"), on="member_id")
        .select(
            "member_id",
            "item_id",
            ((pl.col("first_at") - pl.col("joined_at")).dt.total_seconds() / 86_400).alias("day"),
        )
    )
    items = community.proof_items["item_id"].to_list()
    data = counting_process(members, exposures, items=items, lag_days=lag_days, fixed=fixed)
    return fit_cox_time_varying(data, covariates=[*items, *fixed])
