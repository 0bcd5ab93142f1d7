"""Who is compared in the survival curves, and from when.

Grouping by something fixed at signup (a member attribute, the join cohort) compares members
from the day they joined. Grouping by exposure to a proof item cannot: a member who stayed
longer had more time to be exposed, so "ever exposed" members look loyal even when the item does
nothing (immortal-time bias). Exposure groups therefore use a landmark: members present
``landmark_days`` after joining, who could have been exposed by then, grouped by whether they
were exposed within those days, with time counted from the landmark.

Who is present is decided only from what was known at the landmark, as for the Impact page's
estimate (:mod:`analytics.impact.population`): some activity in the ``recency_days`` before it
and no explicit departure before it. Deciding it from later signs of life (a churn date, the last
sign of life, at or after the landmark) would select on the outcome: a helpful item makes later
activity likelier, so the unexposed would be filtered harder than the exposed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import narwhals.stable.v2 as nw
import polars as pl

from analytics.churn import DEFAULT_INACTIVE_DAYS
from analytics.community import Community
from analytics.errors import InputError
from analytics.queries.events import DAY_US
from analytics.queries.exposures import first_exposures
from analytics.queries.landmark import early_activity
from analytics.vocabulary import span_words

DEFAULT_LANDMARK_DAYS = 30
#: who is compared: members with activity in this many days before the landmark (as the
#: Impact page's estimate by default)
DEFAULT_RECENCY_DAYS = 7
EXPOSED = "exposed in the first {days} days"
NOT_EXPOSED = "not exposed in the first {days} days"


def survival_table(
    community: Community,
    *,
    inactive_days: int = DEFAULT_INACTIVE_DAYS,
    first_join: date | None = None,
    last_join: date | None = None,
) -> pl.DataFrame:
    """One row per member: ``tenure_days`` (to churn, or to the as-of time when censored),
    ``churned`` (1/0), ``cohort`` (quarter of joining, e.g. ``2025 Q1``) and the attributes."""
    status = community.churn_status(inactive_days)
    table = status.join(
        community.members.select("member_id", *community.attributes), on="member_id"
    ).select(
        "member_id",
        "joined_at",
        "tenure_days",
        pl.col("churned_at").is_not_null().cast(pl.Int8).alias("churned"),
        pl.format("{} Q{}", pl.col("joined_at").dt.year(), pl.col("joined_at").dt.quarter()).alias(
            "cohort"
        ),
        *community.attributes,
    )
    if first_join is not None:
        table = table.filter(pl.col("joined_at").dt.date() >= first_join)
    if last_join is not None:
        table = table.filter(pl.col("joined_at").dt.date() <= last_join)
    return table


@dataclass(frozen=True)
class LandmarkTable:
    """Members compared by early exposure to one item, from the landmark on.

    ``table`` has ``member_id``, ``group``, ``tenure_days`` (days after the landmark: 0 for a
    member who had in fact left, unseen, before it) and ``churned``; the counts say who was left
    out and why.
    """

    item_id: str
    landmark_days: int
    recency_days: int
    table: pl.DataFrame
    joined_too_recently: int
    not_present_at_landmark: int
    item_not_yet_published: int

    def explanation(self) -> str:
        days = self.landmark_days
        recent = span_words(self.recency_days)
        return (
            f"Only members active in the {recent} before day {days} of membership (and not "
            f"departed before it, as known then) are compared, by whether they were exposed "
            f"within their first {days} days; time counts from day {days}, and a member who had "
            f"in fact left, unseen, before day {days} counts as churned on it. Left out: "
            f"{self.joined_too_recently:,} who joined less than {days} days before the as-of "
            f"time, {self.not_present_at_landmark:,} not active in the {recent} before day "
            f"{days} or departed before it, and {self.item_not_yet_published:,} for whom the "
            f"item was not yet published by then."
        )


def _last_before_landmark(community: Community, landmark_days: int) -> pl.DataFrame:
    """Each member's last activity before their landmark (``member_id``, ``last_us``): what
    was known then. The same for every item, so computed once per community (a pass over the
    activity), not once per item chosen."""

    def compute() -> pl.DataFrame:
        (found,) = community.collect(
            early_activity(
                community.frames().activity(),
                offset_us=landmark_days * DAY_US,
                joined_until_us=None,
                kinds=[],
            ).select("member_key", "last_us")
        )
        return community.events.with_ids(found)

    return community.shared(("last_before_landmark", landmark_days), compute)


def exposure_landmark_table(
    community: Community,
    item_id: str,
    *,
    landmark_days: int = DEFAULT_LANDMARK_DAYS,
    recency_days: int = DEFAULT_RECENCY_DAYS,
    inactive_days: int = DEFAULT_INACTIVE_DAYS,
    first_join: date | None = None,
    last_join: date | None = None,
) -> LandmarkTable:
    """Members present at their landmark (active in the ``recency_days`` before it, not departed
    before it) grouped by exposure to ``item_id`` within their first ``landmark_days``."""
    if community.proof_items is None or not community.has_exposures:
        raise InputError(
            "Comparing by exposure needs the proof_items and exposures tables. Add them to the "
            "source (see the Data page for their columns)."
        )
    items = community.proof_items.filter(pl.col("item_id") == item_id)
    if items.is_empty():
        raise InputError(f"Unknown proof item {item_id!r}: choose one from the proof_items table.")
    published = items["published_at"][0]
    landmark = timedelta(days=landmark_days)
    base = survival_table(
        community, inactive_days=inactive_days, first_join=first_join, last_join=last_join
    ).with_columns((pl.col("joined_at") + landmark).alias("landmark_at"))
    recent = base.filter(pl.col("landmark_at") > community.as_of)
    base = base.filter(pl.col("landmark_at") <= community.as_of)
    last = _last_before_landmark(community, landmark_days)
    recency = timedelta(days=recency_days)
    present = (pl.col("left_at").is_null() | (pl.col("left_at") >= pl.col("landmark_at"))) & (
        pl.col("last_us") >= (pl.col("landmark_at") - recency).dt.epoch("us")
    ).fill_null(False)
    base = (
        base.join(last, on="member_id", how="left")
        .join(community.members.select("member_id", "left_at"), on="member_id", how="left")
        .with_columns(present.alias("_present"))
    )
    absent = base.filter(~pl.col("_present"))
    base = base.filter(pl.col("_present"))
    if published is not None:
        unpublished = base.filter(pl.col("landmark_at") <= published)
        base = base.filter(pl.col("landmark_at") > published)
    else:
        unpublished = base.clear()
    exposures = community.frames().exposures()
    assert exposures is not None
    (found,) = community.collect(first_exposures(exposures.filter(nw.col("item_id") == item_id)))
    first_exposure = community.events.with_ids(found).select(
        "member_id",
        pl.from_epoch("first_us", time_unit="us")
        .dt.replace_time_zone("UTC")
        .alias("first_exposure"),
    )
    table = (
        base.join(first_exposure, on="member_id", how="left")
        .with_columns(
            pl.when(pl.col("first_exposure") < pl.col("landmark_at"))
            .then(pl.lit(EXPOSED.format(days=landmark_days)))
            .otherwise(pl.lit(NOT_EXPOSED.format(days=landmark_days)))
            .alias("group"),
            # a member who had left, unseen, before the landmark: churned on it
            (pl.col("tenure_days") - landmark_days).clip(lower_bound=0).alias("tenure_days"),
        )
        .select("member_id", "group", "tenure_days", "churned")
    )
    return LandmarkTable(
        item_id=item_id,
        landmark_days=landmark_days,
        recency_days=recency_days,
        table=table,
        joined_too_recently=recent.height,
        not_present_at_landmark=absent.height,
        item_not_yet_published=unpublished.height,
    )
