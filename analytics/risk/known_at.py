"""What was known at a cutoff: the members, events and departures up to it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import polars as pl

from analytics.community import Community

Progress = Callable[[str, float], None]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class KnownAt:
    """The data as it stood at ``cutoff``: nothing in it happened after the cutoff.

    ``members`` has ``member_id``, ``joined_at``, ``left_at`` (null unless the departure was at
    or before the cutoff) and the attributes; ``activity`` has ``member_id``, ``occurred_at``,
    ``kind``; ``exposures`` has ``member_id``, ``occurred_at``, ``item_kind`` (or is empty).
    """

    cutoff: datetime
    members: pl.DataFrame
    activity: pl.DataFrame
    exposures: pl.DataFrame
    attributes: tuple[str, ...]


def _members_at(
    community: Community, cutoff: datetime, members: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The members who had joined by ``cutoff``, with departures known then. ``members``:
    ``community.members`` with more columns (such as their keys), which are kept."""
    frame = community.members if members is None else members
    extra = [c for c in frame.columns if c not in community.members.columns]
    return frame.filter(pl.col("joined_at") <= cutoff).select(
        "member_id",
        *extra,
        "joined_at",
        pl.when(pl.col("left_at") <= cutoff).then(pl.col("left_at")).alias("left_at"),
        *community.attributes,
    )


def known_at(community: Community, cutoff: datetime) -> KnownAt:
    """What the community's data said at ``cutoff`` (rows after it left out)."""
    members = _members_at(community, cutoff)
    activity = community.activity.filter(pl.col("occurred_at") <= cutoff).select(
        "member_id", "occurred_at", "kind"
    )
    exposures = pl.DataFrame(
        schema={"member_id": pl.String, "occurred_at": pl.Datetime("us", "UTC"),
                "item_kind": pl.String, "item_id": pl.String}
    )  # fmt: skip
    every = community.exposures if community.has_exposures else None
    if every is not None and community.proof_items is not None:
        exposures = (
            every.filter(pl.col("occurred_at") <= cutoff)
            .join(
                community.proof_items.select("item_id", pl.col("kind").alias("item_kind")),
                on="item_id",
            )
            .select("member_id", "occurred_at", "item_kind", "item_id")
        )
    return KnownAt(cutoff, members, activity, exposures, community.attributes)
