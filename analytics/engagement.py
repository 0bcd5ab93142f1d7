"""Engagement: who is active, how concentrated the activity is, who leads.

Definitions used throughout (all times UTC, periods are whole days ``first``..``last``):

* **Active members** on a day: members with at least one activity row that day (DAU); over the
  7 days ending with it (WAU); over the 30 days ending with it (MAU). **Stickiness** is DAU ÷
  members active in the 28 days ending with the day (see :mod:`analytics.activity_windows`).
* **Concentration**: among members with at least one activity in the period, the share of all
  activity rows that comes from the most active 1 % and 10 % of them (at least one member), and
  the Lorenz curve (members sorted from least to most active).
* **Time to first activity**: days from joining to a member's first activity row. The share
  activated by day *d* counts only members who joined at least *d* days before the as-of time,
  so recent members are not counted as "never active" before they had the chance.
* **Leaderboards** count activity rows in the period (optionally of one kind); **rising members**
  compare with the period of the same length just before; **badge holders** are members with an
  exposure to a proof item of kind ``badge`` (earned) up to the as-of time.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import polars as pl

from analytics.activity_windows import MONTHLY_ACTIVE_DAYS, STICKINESS_DAYS, WEEKLY_ACTIVE_DAYS
from analytics.community import Community
from analytics.errors import InputError
from analytics.queries import active as active_queries
from analytics.queries import leaderboards as board_queries
from analytics.queries.events import to_us

#: Member columns that identify a person; hidden together with member_id by pseudonyms.
IDENTIFYING_COLUMNS = ("name", "display_name", "username", "user_name", "handle", "email")
#: How far the time-to-first-activity curve goes (days after joining).
MAX_ACTIVATION_DAYS = 60


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _bounds_us(first: date, last: date) -> tuple[int, int]:
    """The days ``first``..``last`` as ``[start, end)`` in integer microseconds."""
    return to_us(_day_start(first)), to_us(_day_start(last + timedelta(days=1)))


_EPOCH_DAY = date(1970, 1, 1)


def _day_number(day: date) -> int:
    return (day - _EPOCH_DAY).days


def _index_to_date(column: str, *, weeks: bool = False) -> pl.Expr:
    """A day index (or a week index, see ``analytics.queries.events``) as a date."""
    days = pl.col(column).cast(pl.Int64) * 7 - 3 if weeks else pl.col(column).cast(pl.Int64)
    return (pl.lit(_EPOCH_DAY) + pl.duration(days=days)).cast(pl.Date)


def _check_days(first: date, last: date) -> None:
    if last < first:
        raise InputError(f"the period ends ({last}) before it starts ({first}); swap the dates.")


def identifying_columns(community: Community) -> list[str]:
    """Member columns that hold names or contact details (shown on leaderboards unless hidden)."""
    return [c for c in community.members.columns if c.lower() in IDENTIFYING_COLUMNS]


# -- active members ----------------------------------------------------------------------------


def active_members(community: Community, *, first: date, last: date) -> pl.DataFrame:
    """Daily, weekly and monthly active members and stickiness for each day of the period.

    Returns
    -------
    polars.DataFrame
        ``day`` (date), ``dau``, ``wau`` (7 days ending that day), ``mau`` (30 days ending that
        day), ``active_28d`` (28 days ending that day), ``stickiness`` (dau / active_28d; null
        when nobody was active in those 28 days) and ``complete`` (false for the day cut short
        by the as-of time).
    """
    _check_days(first, last)
    first_day, last_day = _day_number(first), _day_number(last)
    windows = (WEEKLY_ACTIVE_DAYS, STICKINESS_DAYS, MONTHLY_ACTIVE_DAYS)
    deltas = [f"delta_{w}d" for w in windows]
    (marks,) = community.collect(
        active_queries.rolling_active_marks(
            community.frames().activity(), first_day=first_day, last_day=last_day, windows=windows
        )
    )
    # running sums from the marks: the distinct members active in the w days ending each day
    grid = pl.DataFrame({"day": pl.int_range(first_day, last_day + 1, eager=True)})
    marks = marks.select(pl.col("day", "dau", *deltas).cast(pl.Int64))
    before = marks.filter(pl.col("day") < first_day).select(pl.col(*deltas).sum())

    def running(w: int) -> pl.Expr:
        name = f"delta_{w}d"
        return pl.col(name).fill_null(0).cum_sum() + before[name].item()

    as_of_day = community.as_of.date()
    end_of_as_of_day = _day_start(as_of_day + timedelta(days=1)) - timedelta(microseconds=1)
    return (
        grid.join(marks, on="day", how="left")
        .sort("day")
        .select(
            _index_to_date("day").alias("day"),
            pl.col("dau").fill_null(0),
            running(WEEKLY_ACTIVE_DAYS).alias("wau"),
            running(MONTHLY_ACTIVE_DAYS).alias("mau"),
            running(STICKINESS_DAYS).alias("active_28d"),
        )
        .with_columns(
            pl.when(pl.col("active_28d") > 0)
            .then(pl.col("dau") / pl.col("active_28d"))
            .alias("stickiness"),
            (
                (pl.col("day") < as_of_day)
                | ((pl.col("day") == as_of_day) & pl.lit(community.as_of >= end_of_as_of_day))
            ).alias("complete"),
        )
    )


def activity_by_kind(
    community: Community, *, first: date, last: date, every: str = "1w"
) -> pl.DataFrame:
    """Activity rows per kind and period (``every``: ``"1d"``, ``"1w"`` Monday, ``"1mo"``).

    Returns
    -------
    polars.DataFrame
        ``period_start`` (date), ``kind``, ``rows``, ``members`` (distinct members with that kind
        in the period).
    """
    _check_days(first, last)
    if every not in {"1d", "1w", "1mo"}:
        raise InputError(f"every must be '1d', '1w' or '1mo', got {every!r}.")
    start_us, end_us = _bounds_us(first, last)
    (found,) = community.collect(
        active_queries.activity_per_kind(
            community.frames().activity(),
            start_us=start_us,
            end_us=end_us,
            every="1d" if every == "1d" else "1w" if every == "1w" else "1mo",
        )
    )
    period = (
        pl.col("period").dt.date()
        if every == "1mo"
        else _index_to_date("period", weeks=every == "1w")
    )
    return found.select(
        period.alias("period_start"),
        pl.col("kind").cast(pl.String),
        pl.col("rows").cast(pl.Int64),
        pl.col("members").cast(pl.Int64),
    ).sort("period_start", "kind")


# -- concentration -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Concentration:
    """How concentrated activity is among the members active in a period.

    ``lorenz`` has ``member_share`` and ``activity_share`` (cumulative, members from least to
    most active, starting at 0, 0); ``top_1``/``top_10`` are the shares of all activity from the
    most active 1 % and 10 % of active members (at least one member); ``gini`` is twice the area
    between the diagonal and the Lorenz curve.
    """

    active_members: int
    activity_rows: int
    top_1: float | None
    top_10: float | None
    gini: float | None
    lorenz: pl.DataFrame

    def top_members(self, share: float) -> int:
        """How many members "the most active ``share``" are (``top_1``: 0.01)."""
        return top_group_size(self.active_members, share)


def top_group_size(active_members: int, share: float) -> int:
    """How many members the most active ``share`` of ``active_members`` are: at least one
    (the top 1 % of 250 active members is 3 members)."""
    return max(1, math.ceil(active_members * share - 1e-9))


def concentration(
    community: Community, *, first: date, last: date, kind: str | None = None
) -> Concentration:
    """The share of activity that comes from the most active members (and the Lorenz curve)."""
    _check_days(first, last)
    start_us, end_us = _bounds_us(first, last)
    query = board_queries.member_counts(
        community.frames().activity(), start_us=start_us, end_us=end_us, kind=kind
    )
    (found,) = community.collect(query.select("activities"))
    counts = found["activities"].sort().cast(pl.Float64)
    n, total = counts.len(), float(counts.sum())
    empty = pl.DataFrame(schema={"member_share": pl.Float64, "activity_share": pl.Float64})
    if n == 0 or total == 0:
        return Concentration(0, 0, None, None, None, empty)
    descending = counts.sort(descending=True)

    def top(share: float) -> float:
        return float(descending.head(top_group_size(n, share)).sum()) / total

    cumulative = counts.cum_sum() / total
    member_share = pl.Series([(i + 1) / n for i in range(n)])
    lorenz = pl.DataFrame(
        {
            "member_share": [0.0, *member_share.to_list()],
            "activity_share": [0.0, *cumulative.to_list()],
        }
    )
    # area under the Lorenz curve by trapezoids; Gini = 1 - 2 * area
    area = float(((cumulative + cumulative.shift(1, fill_value=0.0)) / (2 * n)).sum())
    if n > 2_000:  # keep the curve light for charts: 2,001 evenly spaced points
        step = (n - 1) / 2_000
        keep = sorted({0, *(round(i * step) + 1 for i in range(2_001))})
        lorenz = lorenz[keep]
    return Concentration(
        active_members=n,
        activity_rows=int(total),
        top_1=top(0.01),
        top_10=top(0.10),
        gini=1.0 - 2.0 * area,
        lorenz=lorenz,
    )


# -- time to first activity --------------------------------------------------------------------


@dataclass(frozen=True)
class Activation:
    """New members' time to first activity.

    ``curve`` has ``days`` (0..MAX_ACTIVATION_DAYS), ``eligible`` (members who joined at least
    that many days before the as-of time) and ``activated`` (share of them active within that
    many days of joining). ``median_days`` is the median time among members who became active;
    ``never_share`` the share of members joined at least MAX_ACTIVATION_DAYS ago with no activity
    in that time.
    """

    joined: int
    activated: int
    median_days: float | None
    curve: pl.DataFrame
    never_share: float | None


def time_to_first_activity(community: Community, *, first: date, last: date) -> Activation:
    """Time from joining to first activity for members who joined in the period."""
    _check_days(first, last)
    start, end = _day_start(first), _day_start(last + timedelta(days=1))
    firsts = community.activity_summary.select(
        "member_id", pl.col("first_activity_at").alias("first_at")
    )
    joined = (
        community.members.filter(pl.col("joined_at").is_between(start, end, closed="left"))
        .select("member_id", "joined_at")
        .join(firsts, on="member_id", how="left")
        .with_columns(
            ((pl.col("first_at") - pl.col("joined_at")).dt.total_seconds() / 86_400).alias("wait"),
            ((pl.lit(community.as_of) - pl.col("joined_at")).dt.total_seconds() / 86_400).alias(
                "followed"
            ),
        )
    )
    rows = []
    for d in range(MAX_ACTIVATION_DAYS + 1):
        eligible = joined.filter(pl.col("followed") >= d)
        active = eligible.filter(pl.col("wait") <= d).height
        rows.append(
            {
                "days": d,
                "eligible": eligible.height,
                "activated": active / eligible.height if eligible.height else None,
            }
        )
    curve = pl.DataFrame(
        rows, schema={"days": pl.Int64, "eligible": pl.Int64, "activated": pl.Float64}
    )
    waits = joined["wait"].drop_nulls()
    old = joined.filter(pl.col("followed") >= MAX_ACTIVATION_DAYS)
    never = old.filter(pl.col("wait").is_null() | (pl.col("wait") > MAX_ACTIVATION_DAYS)).height
    median = waits.median()
    return Activation(
        joined=joined.height,
        activated=waits.len(),
        median_days=float(median) if isinstance(median, int | float) else None,
        curve=curve,
        never_share=never / old.height if old.height else None,
    )


# -- leaderboards ------------------------------------------------------------------------------


def _ranked(found: pl.DataFrame, community: Community, column: str, top: int) -> pl.DataFrame:
    """The ``top`` rows by ``column`` (largest first, ties by member_id) with their ``rank``
    (ties share the smallest), from a query's leading members (ties at the boundary included)."""
    return (
        community.events.with_ids(found)
        .sort([column, "member_id"], descending=[True, False])
        .with_columns(pl.col(column).rank("min", descending=True).cast(pl.Int64).alias("rank"))
        .head(top)
    )


def _with_identity(frame: pl.DataFrame, community: Community) -> pl.DataFrame:
    names = identifying_columns(community)
    if not names:
        return frame
    return frame.join(community.members.select("member_id", *names), on="member_id", how="left")


def leaderboard(
    community: Community, *, first: date, last: date, kind: str | None = None, top: int = 20
) -> pl.DataFrame:
    """The most active members of the period (activity rows, of one kind when given).

    Ties share a rank (``min`` ranking) and are ordered by member_id.

    Returns
    -------
    polars.DataFrame
        ``rank``, ``member_id``, any identifying columns (name, ...), ``activities``,
        ``active_days``, ``last_activity_at``.
    """
    _check_days(first, last)
    if top < 1:
        raise InputError(f"top must be at least 1, got {top}.")
    start_us, end_us = _bounds_us(first, last)
    (found,) = community.collect(
        board_queries.top_members(
            community.frames().activity(), start_us=start_us, end_us=end_us, kind=kind, top=top
        )
    )
    found = found.with_columns(pl.col("activities", "active_days").cast(pl.Int64))
    out = _with_identity(_ranked(found, community, "activities", top), community)
    names = identifying_columns(community)
    return out.select("rank", "member_id", *names, "activities", "active_days", "last_activity_at")


def rising_members(
    community: Community, *, first: date, last: date, kind: str | None = None, top: int = 20
) -> pl.DataFrame:
    """Members whose activity grew most against the period of the same length just before.

    Returns
    -------
    polars.DataFrame
        ``rank``, ``member_id``, identifying columns, ``activities`` (this period),
        ``previous`` (the period before), ``increase`` (difference, > 0 only).
    """
    _check_days(first, last)
    if top < 1:
        raise InputError(f"top must be at least 1, got {top}.")
    length = (last - first).days + 1
    before_last = first - timedelta(days=1)
    before_first = first - timedelta(days=length)
    previous_start_us, start_us = _bounds_us(before_first, before_last)
    end_us = _bounds_us(first, last)[1]
    (found,) = community.collect(
        board_queries.rising_members(
            community.frames().activity(),
            previous_start_us=previous_start_us,
            start_us=start_us,
            end_us=end_us,
            kind=kind,
            top=top,
        )
    )
    found = found.with_columns(pl.col("activities", "previous", "increase").cast(pl.Int64))
    rising = _ranked(found, community, "increase", top)
    names = identifying_columns(community)
    return _with_identity(rising, community).select(
        "rank", "member_id", *names, "activities", "previous", "increase"
    )


def badge_holders(
    community: Community, *, first: date | None = None, last: date | None = None
) -> pl.DataFrame:
    """Members holding each badge (first time earned), optionally only badges earned in a period.

    Returns
    -------
    polars.DataFrame
        ``badge`` (title), ``item_id``, ``member_id``, identifying columns, ``earned_at``; sorted
        by badge and time earned. Empty when there are no badges.
    """
    names = identifying_columns(community)
    schema = {"badge": pl.String, "item_id": pl.String, "member_id": pl.String}
    exposures = community.frames().exposures() if community.proof_items is not None else None
    if community.proof_items is None or exposures is None:
        return pl.DataFrame(schema={**schema, **dict.fromkeys(names, pl.String),
                                    "earned_at": pl.Datetime("us", "UTC")})  # fmt: skip
    badges = community.proof_items.filter(pl.col("kind") == "badge").select(
        "item_id", pl.col("title").alias("badge")
    )
    if badges.is_empty():  # (no query: an empty list of items is not valid SQL everywhere)
        held = pl.DataFrame(schema={**schema, "earned_at": pl.Datetime("us", "UTC")})
    else:
        (firsts,) = community.collect(
            board_queries.first_exposures(exposures, badges["item_id"].to_list())
        )
        held = (
            community.events.with_ids(firsts)
            .join(badges, on="item_id")
            .select("badge", "item_id", "member_id", pl.col("first_at").alias("earned_at"))
        )
    if first is not None and last is not None:
        _check_days(first, last)
        held = held.filter(
            pl.col("earned_at").is_between(
                _day_start(first), _day_start(last + timedelta(days=1)), closed="left"
            )
        )
    return (
        _with_identity(held, community)
        .select("badge", "item_id", "member_id", *names, "earned_at")
        .sort("badge", "earned_at", "member_id")
    )


def badge_summary(holders: pl.DataFrame) -> pl.DataFrame:
    """Holders per badge: ``badge``, ``item_id``, ``holders``, ``first_earned``, ``last_earned``."""
    return (
        holders.group_by("badge", "item_id")
        .agg(
            pl.len().cast(pl.Int64).alias("holders"),
            pl.col("earned_at").min().alias("first_earned"),
            pl.col("earned_at").max().alias("last_earned"),
        )
        .sort(["holders", "badge"], descending=[True, False])
    )


# -- pseudonyms --------------------------------------------------------------------------------


def pseudonyms(member_ids: Sequence[str] | pl.Series, *, salt: str) -> pl.DataFrame:
    """A pseudonym for each member: ``Member N``, numbered in an order set by a keyed hash.

    The same ``salt`` and members give the same names (stable within a view); without the salt
    the numbers say nothing about the member ids (not their order, not their values).

    Returns
    -------
    polars.DataFrame
        ``member_id``, ``pseudonym``.
    """
    ids = sorted(set(pl.Series(member_ids, dtype=pl.String).drop_nulls().to_list()))
    key = hashlib.blake2b(salt.encode("utf-8"), digest_size=32).digest()
    order = sorted(
        ids,
        key=lambda m: hashlib.blake2b(m.encode("utf-8"), key=key, digest_size=16).digest(),
    )
    width = max(1, len(str(len(order))))
    return pl.DataFrame(
        {
            "member_id": order,
            "pseudonym": [f"Member {i:0{width}d}" for i in range(1, len(order) + 1)],
        },
        schema={"member_id": pl.String, "pseudonym": pl.String},
    )


def pseudonymise(
    frame: pl.DataFrame, names: pl.DataFrame, *, hidden: Sequence[str] = ()
) -> pl.DataFrame:
    """Replace ``member_id`` by its pseudonym (column ``member``) and drop ``hidden`` columns.

    ``names`` comes from :func:`pseudonyms`; a member missing there raises, so nothing is ever
    shown with its real id by accident.
    """
    if "member_id" not in frame.columns:
        return frame.drop([c for c in hidden if c in frame.columns])
    out = frame.join(names, on="member_id", how="left", maintain_order="left")
    if out["pseudonym"].null_count() > out["member_id"].null_count():
        raise InputError("some members have no pseudonym; build the names from all members.")
    columns = [
        "pseudonym" if c == "member_id" else c
        for c in frame.columns
        if c not in hidden or c == "member_id"
    ]
    return out.select(columns).rename({"pseudonym": "member"})
