"""Building the contract tables from the drawn arrays (days since the start become UTC
microsecond timestamps here)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from analytics.demo.activity import _ACTIVITY_KINDS
from analytics.demo.lifetime import _EXPLICIT_LEAVE_P, _LAST_SEEN_NULL_P, _LAST_SEEN_RECENT_DAYS
from analytics.demo.members import _CHANNELS, _COUNTRIES, _PLANS
from analytics.demo.model import (
    _TIMESTAMP,
    _US_PER_DAY,
    FloatArray,
    _Activity,
    _Exposures,
    _Item,
    _Members,
    _Milestone,
)


def _period_us(day: FloatArray, days: int) -> npt.NDArray[np.int64]:
    """Whole microseconds since the start of times in days, clipped into the period: how the
    tables date them."""
    us = np.floor(day * _US_PER_DAY).astype(np.int64)
    np.clip(us, 0, days * _US_PER_DAY - 1, out=us)
    return us


def _timestamps(name: str, day: FloatArray, start_dt: datetime, days: int) -> pl.Series:
    """UTC microsecond timestamps from days since the start, clipped into the period."""
    start_us = int(start_dt.timestamp()) * 1_000_000
    return pl.Series(name, _period_us(day, days) + start_us).cast(_TIMESTAMP)


def _member_ids(lo: int, hi: int, total: int) -> pl.Series:
    """Ids of the members ``lo`` to ``hi - 1`` (0-based, in order of joining) of a community of
    ``total``: m0000001, m0000002, ... (at least seven digits, as many as ``total`` needs)."""
    width = max(7, len(str(total)))
    numbers = pl.int_range(lo + 1, hi + 1, eager=True, dtype=pl.Int64).cast(pl.String)
    return ("m" + numbers.str.zfill(width)).alias("member_id")


def _labels(name: str, labels: Sequence[str], codes: npt.NDArray[Any]) -> pl.Series:
    """String column from small integer codes."""
    return pl.Series(name, list(labels), dtype=pl.String).gather(codes)


def _last_time(events: _Activity | _Exposures, n: int) -> FloatArray:
    """Time of each member's last row (-inf without rows); rows sorted by member and time."""
    last = np.full(n, -np.inf)
    counts = np.bincount(events.member, minlength=n)
    has_rows = counts > 0
    last[has_rows] = events.time[(np.cumsum(counts) - 1)[has_rows]]
    return last


def _members_table(
    ids: pl.Series,
    people: _Members,
    lifetime: FloatArray,
    end_active: FloatArray,
    events: Sequence[_Activity | _Exposures],
    days: int,
    start_dt: datetime,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """members: ids, joining, explicit departures, last seen and signup attributes.

    Churners were last seen at the end of their life; members still there in the last few days
    of the period (and never before their last activity or exposure).
    """
    n = len(people.join)
    churned = people.join + lifetime < days
    left = churned & (rng.random(n) < _EXPLICIT_LEAVE_P)
    recent = np.maximum(days - _LAST_SEEN_RECENT_DAYS * rng.random(n), people.join)
    for part in events:
        recent = np.maximum(recent, _last_time(part, n))
    last_seen = np.where(churned, end_active, recent)
    seen_known = rng.random(n) >= _LAST_SEEN_NULL_P
    frame = pl.DataFrame(
        [
            ids,
            _timestamps("joined_at", people.join, start_dt, days),
            _timestamps("left_at", end_active, start_dt, days),
            _timestamps("last_seen_at", last_seen, start_dt, days),
            _labels("channel", _CHANNELS, people.channel),
            _labels("plan", _PLANS, people.plan),
            _labels("country", _COUNTRIES, people.country),
        ]
    )
    return frame.with_columns(
        pl.when(pl.Series(left)).then(pl.col("left_at")).alias("left_at"),
        pl.when(pl.Series(seen_known)).then(pl.col("last_seen_at")).alias("last_seen_at"),
    )


def _activity_table(
    ids: pl.Series, activity: _Activity, start_dt: datetime, days: int
) -> pl.DataFrame:
    """activity: one row per action, sorted by member and time."""
    return pl.DataFrame(
        [
            ids.gather(activity.member),
            _timestamps("occurred_at", activity.time, start_dt, days),
            _labels("kind", _ACTIVITY_KINDS, activity.kind),
        ]
    )


def _proof_items_table(items: Sequence[_Item], start_dt: datetime, days: int) -> pl.DataFrame:
    """proof_items: content items and badges, by publication time."""
    frame = pl.DataFrame(
        [
            pl.Series("item_id", [it.item_id for it in items], dtype=pl.String),
            pl.Series("kind", [it.kind for it in items], dtype=pl.String),
            pl.Series("title", [it.title for it in items], dtype=pl.String),
            _timestamps("published_at", np.asarray([it.published for it in items]), start_dt, days),
        ]
    )
    return frame.sort("published_at", "item_id")


def _exposure_rows(
    views: tuple[npt.NDArray[np.int32], npt.NDArray[np.int16], FloatArray],
    earned: Sequence[FloatArray],
    n_items: int,
) -> _Exposures:
    """Content views and earned badges together, sorted by member and time."""
    member_parts, item_parts, time_parts = [views[0]], [views[1]], [views[2]]
    for b, when in enumerate(earned):
        who = np.flatnonzero(~np.isnan(when)).astype(np.int32)
        member_parts.append(who)
        item_parts.append(np.full(len(who), n_items + b, dtype=np.int16))
        time_parts.append(when[who])
    member = np.concatenate(member_parts)
    time = np.concatenate(time_parts)
    order = np.argsort(time, kind="stable")
    order = order[np.argsort(member[order], kind="stable")]
    return _Exposures(
        member=member[order], item=np.concatenate(item_parts)[order], time=time[order]
    )


def _exposures_table(
    ids: pl.Series,
    exposures: _Exposures,
    items: Sequence[_Item],
    badges: Sequence[_Item],
    start_dt: datetime,
    days: int,
) -> pl.DataFrame:
    """exposures: content views ("viewed") and badges ("earned"), by member and time."""
    catalogue = [*items, *badges]
    return pl.DataFrame(
        [
            ids.gather(exposures.member),
            _labels("item_id", [it.item_id for it in catalogue], exposures.item),
            _timestamps("occurred_at", exposures.time, start_dt, days),
            _labels("kind", ["viewed", "earned"], (exposures.item >= len(items)).astype(np.int8)),
        ]
    )


def _milestones_table(
    milestones: Sequence[_Milestone], start_dt: datetime, days: int
) -> pl.DataFrame:
    """milestones: announcements, by time."""
    return pl.DataFrame(
        [
            pl.Series(
                "milestone_id",
                [f"ms{i:02d}" for i in range(1, len(milestones) + 1)],
                dtype=pl.String,
            ),
            _timestamps(
                "announced_at", np.asarray([m.day for m in milestones], dtype=float), start_dt, days
            ),
            pl.Series("title", [m.title for m in milestones], dtype=pl.String),
            pl.Series("channel", [m.channel for m in milestones], dtype=pl.String),
        ]
    )
