"""Who is compared: the landmark population and what was known at the landmark."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import polars as pl

from analytics.community import Community
from analytics.impact.model import (
    MAX_KIND_COVARIATES,
    OTHER_EXPOSURES,
    OTHER_ITEMS,
    ImpactSettings,
    Population,
)
from analytics.queries.events import DAY_US, to_us
from analytics.queries.exposures import exposures_before
from analytics.queries.landmark import early_activity, early_kinds


@dataclass(frozen=True)
class EarlyActivity:
    """What members did before their landmark, for members who joined by each of some times
    (one job on the event tables serves the main analysis and its sensitivity analyses).

    ``kinds`` maps each joined-by time (microseconds) to the activity kinds used as covariates
    for it; ``per_member`` (``member_id``, ``n_activity``, ``active_days``, ``last_activity``,
    ``kind_<kind>`` for every kind of any time) and ``seen`` (``member_id``, ``n_exposures``:
    exposure rows, ``n_items_seen``: different items) cover the members who joined by the
    latest time.
    """

    landmark_days: int
    kinds: dict[int, list[str]]
    per_member: pl.DataFrame
    seen: pl.DataFrame


def early_activity_by(
    community: Community, landmark_days: int, joined_until: Sequence[datetime]
) -> EarlyActivity:
    """:class:`EarlyActivity` for the members who joined by each of ``joined_until``."""
    landmark_us = landmark_days * DAY_US
    until = sorted({to_us(t) for t in joined_until})
    activity = community.frames().activity()
    kind_rows = community.collect(
        *(early_kinds(activity, offset_us=landmark_us, joined_until_us=u) for u in until)
    )
    kinds = {
        u: rows.sort(["rows", "kind"], descending=[True, False])["kind"].to_list()[
            :MAX_KIND_COVARIATES
        ]
        for u, rows in zip(until, kind_rows, strict=True)
    }
    every_kind = sorted({k for ks in kinds.values() for k in ks})
    early = [early_activity(activity, offset_us=landmark_us, joined_until_us=until[-1],
                            kinds=every_kind)]  # fmt: skip
    exposures = community.frames().exposures()
    if exposures is not None:
        early.append(exposures_before(exposures, offset_us=landmark_us, joined_until_us=until[-1]))
    found = community.collect(*early)
    per_member = (
        community.events.with_ids(found[0])
        .with_columns(
            pl.from_epoch("last_us", time_unit="us")
            .dt.replace_time_zone("UTC")
            .alias("last_activity")
        )
        .drop("last_us")
    )
    if exposures is not None:
        seen = (
            community.events.with_ids(found[1])
            .group_by("member_id")
            .agg(
                pl.col("n").sum().alias("n_exposures"),
                pl.len().cast(pl.Int64).alias("n_items_seen"),  # one row per member and item
            )
        )
    else:
        seen = pl.DataFrame(
            schema={"member_id": pl.String, "n_exposures": pl.Int64, "n_items_seen": pl.Int64}
        )
    return EarlyActivity(landmark_days, kinds, per_member, seen)


def _joined_until(community: Community, settings: ImpactSettings) -> datetime:
    """The latest join whose outcome at the horizon is decidable at the as-of time."""
    horizon = timedelta(days=settings.landmark_days + settings.horizon_days)
    return community.as_of - timedelta(days=settings.inactive_days) - horizon


def landmark_population(
    community: Community, settings: ImpactSettings, *, early: EarlyActivity | None = None
) -> Population:
    """Members whose outcome at the horizon is known, with what was known at their landmark
    (``early``: the early activity when already computed, see :func:`early_activity_by`).

    ``present_at_landmark`` uses only what was known at the landmark: no explicit departure
    (``left_at``) before it and some activity in the ``recency_days`` before it. Deciding it
    from later signs of life would select on the outcome: a helpful item makes later activity
    likelier, so the unexposed would be filtered harder than the exposed.

    Computed once per community and the settings it depends on, and kept with the community:
    the estimate and its drill-downs (one per item chosen) ask for the same population (at a
    million members a frame of about 190 MB, and 2–3 s to build).
    """
    key = (
        "landmark_population",
        settings.landmark_days,
        settings.horizon_days,
        settings.inactive_days,
        settings.recency_days,
        settings.fixed_attributes,
    )
    shared = community.shared(key, lambda: _landmark_population(community, settings, early))
    return shared if shared.settings == settings else replace(shared, settings=settings)


def _landmark_population(
    community: Community, settings: ImpactSettings, early: EarlyActivity | None
) -> Population:
    landmark = timedelta(days=settings.landmark_days)
    horizon = timedelta(days=settings.landmark_days + settings.horizon_days)
    decidable_by = community.as_of - timedelta(days=settings.inactive_days)
    status = community.churn_status(settings.inactive_days)
    base = (
        status.select("member_id", "joined_at", "churned_at")
        .with_columns(
            (pl.col("joined_at") + landmark).alias("landmark_at"),
            (pl.col("joined_at") + horizon).alias("horizon_at"),
        )
        .filter(pl.col("horizon_at") <= decidable_by)
        .with_columns(
            (pl.col("churned_at").is_null() | (pl.col("churned_at") >= pl.col("horizon_at")))
            .cast(pl.Int8)
            .alias("retained"),
        )
    )
    base = base.join(community.members.select("member_id", "left_at"), on="member_id", how="left")
    joined_until = _joined_until(community, settings)
    joined_until_us = to_us(joined_until)
    if (
        early is None
        or early.landmark_days != settings.landmark_days
        or joined_until_us not in early.kinds
    ):
        early = early_activity_by(community, settings.landmark_days, [joined_until])
    kinds = early.kinds[joined_until_us]
    per_member = early.per_member.select(
        "member_id", "n_activity", "active_days", *[f"kind_{k}" for k in kinds], "last_activity"
    )
    seen = early.seen
    first_join = community.members["joined_at"].min()
    counts = ["n_activity", "active_days", "n_exposures", "n_items_seen"]
    frame = (
        base.join(per_member, on="member_id", how="left")
        .join(seen, on="member_id", how="left")
        .with_columns(
            pl.col(*counts, *[f"kind_{k}" for k in kinds]).fill_null(0).cast(pl.Int64),
        )
    )
    recent = timedelta(days=settings.recency_days)
    frame = frame.with_columns(
        (
            (pl.col("left_at").is_null() | (pl.col("left_at") >= pl.col("landmark_at")))
            & (pl.col("last_activity") >= pl.col("landmark_at") - recent).fill_null(False)
        ).alias("present_at_landmark")
    ).drop("left_at")
    frame = frame.with_columns(
        pl.col("n_activity").log1p().alias("log_activity"),
        *[pl.col(f"kind_{k}").log1p().alias(f"log_{k}") for k in kinds],
        (pl.col("active_days") / settings.landmark_days).alias("active_day_share"),
        (
            pl.when(pl.col("last_activity").is_null())
            .then(float(settings.landmark_days))
            .otherwise((pl.col("landmark_at") - pl.col("last_activity")).dt.total_hours() / 24)
        ).alias("days_since_activity"),
        ((pl.col("joined_at") - pl.lit(first_join)).dt.total_days() / 365.25).alias("join_years"),
    ).with_columns((pl.col("join_years") ** 2).alias("join_years_sq"))
    covariates = [
        "log_activity", "active_day_share", "days_since_activity", "join_years", "join_years_sq",
        OTHER_EXPOSURES, OTHER_ITEMS, *[f"log_{k}" for k in kinds],
    ]  # fmt: skip
    # replaced per item by the views of the *other* items (see _analyse)
    frame = frame.with_columns(
        pl.col("n_exposures").log1p().alias(OTHER_EXPOSURES),
        pl.col("n_items_seen").log1p().alias(OTHER_ITEMS),
    )
    dummies = attribute_dummies(community, settings)
    if dummies is not None:
        frame = frame.join(dummies, on="member_id", how="left")
        covariates += [c for c in dummies.columns if c != "member_id"]
    frame = frame.with_columns(pl.col(c).cast(pl.Float64).fill_null(0.0) for c in covariates)
    return Population(frame=frame, covariates=tuple(covariates), settings=settings)


def attribute_dummies(community: Community, settings: ImpactSettings) -> pl.DataFrame | None:
    """The member attributes fixed at signup (all, or the settings' choice) as 0/1 columns named
    ``attribute=value`` (a missing value is its own level; the first level is dropped), beside
    ``member_id``; ``None`` when no attribute is adjusted for."""
    attributes = (
        community.attributes if settings.fixed_attributes is None else settings.fixed_attributes
    )
    attributes = tuple(a for a in attributes if a in community.members.columns)
    if not attributes:
        return None
    return (
        community.members.select("member_id", *attributes)
        .with_columns(pl.col(a).fill_null("(missing)") for a in attributes)
        .to_dummies(columns=list(attributes), drop_first=True, separator="=")
    )
