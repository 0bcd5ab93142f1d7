"""Engagement: who is active, how concentrated the activity is, who leads.

Definitions used throughout (all times UTC, periods are whole days ``first``..``last``):

* **Active members** on a day: members with at least one activity row that day (DAU); over the
  7 days ending with it (WAU); over the 30 days ending with it (MAU). **Stickiness** is DAU / MAU:
  the share of the month's active members who show up on an average day.
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

from analytics.community import Community

#: Member columns that identify a person; hidden together with member_id by pseudonyms.
IDENTIFYING_COLUMNS = ("name", "display_name", "username", "user_name", "handle", "email")
#: How far the time-to-first-activity curve goes (days after joining).
MAX_ACTIVATION_DAYS = 60


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _in_days(frame: pl.DataFrame, first: date, last: date) -> pl.DataFrame:
    start, end = _day_start(first), _day_start(last + timedelta(days=1))
    return frame.filter((pl.col("occurred_at") >= start) & (pl.col("occurred_at") < end))


def _check_days(first: date, last: date) -> None:
    if last < first:
        raise ValueError(f"the period ends ({last}) before it starts ({first}); swap the dates.")


def identifying_columns(community: Community) -> list[str]:
    """Member columns that hold names or contact details (shown on leaderboards unless hidden)."""
    return [c for c in community.members.columns if c.lower() in IDENTIFYING_COLUMNS]


# -- active members ----------------------------------------------------------------------------


def _rolling_distinct(days: pl.DataFrame, window: int, grid: pl.DataFrame) -> pl.Series:
    """Distinct members active in the ``window`` days ending with each day of ``grid``.

    ``days`` holds one row per member and active day, sorted by member and day. Each active day
    covers the days up to the member's next active day, at most ``window`` days: +1 and -1 marks
    with a running sum count each member once per day.
    """
    span = pl.min_horizontal(
        pl.lit(window, dtype=pl.Int64), (pl.col("next") - pl.col("day")).dt.total_days()
    ).fill_null(window)
    marks = (
        pl.concat(
            [
                days.select("day", pl.lit(1, dtype=pl.Int64).alias("delta")),
                days.select(
                    (pl.col("day") + pl.duration(days=span)).alias("day"),
                    pl.lit(-1, dtype=pl.Int64).alias("delta"),
                ),
            ]
        )
        .group_by("day")
        .agg(pl.col("delta").sum())
    )
    start = grid["day"][0]
    before = marks.filter(pl.col("day") < start)["delta"].sum()
    counted = (
        grid.join(marks, on="day", how="left")
        .sort("day")
        .select(pl.col("delta").fill_null(0).cum_sum() + before)
        .to_series()
    )
    return counted.alias(f"active_{window}d")


def active_members(community: Community, *, first: date, last: date) -> pl.DataFrame:
    """Daily, weekly and monthly active members and stickiness for each day of the period.

    Returns
    -------
    polars.DataFrame
        ``day`` (date), ``dau``, ``wau`` (7 days ending that day), ``mau`` (30 days ending that
        day), ``stickiness`` (dau / mau; null when mau is 0) and ``complete`` (false for the
        day cut short by the as-of time).
    """
    _check_days(first, last)
    days = (
        community.activity.select("member_id", pl.col("occurred_at").dt.date().alias("day"))
        .unique()
        .sort("member_id", "day")
        .with_columns(
            pl.when(pl.col("member_id") == pl.col("member_id").shift(-1))
            .then(pl.col("day").shift(-1))
            .alias("next")
        )
    )
    grid = pl.DataFrame({"day": pl.date_range(first, last, interval="1d", eager=True)})
    dau = days.group_by("day").agg(pl.len().cast(pl.Int64).alias("dau"))
    as_of_day = community.as_of.date()
    end_of_as_of_day = _day_start(as_of_day + timedelta(days=1)) - timedelta(microseconds=1)
    return (
        grid.join(dau, on="day", how="left")
        .sort("day")
        .with_columns(
            pl.col("dau").fill_null(0),
            _rolling_distinct(days, 7, grid).alias("wau"),
            _rolling_distinct(days, 30, grid).alias("mau"),
        )
        .with_columns(
            pl.when(pl.col("mau") > 0).then(pl.col("dau") / pl.col("mau")).alias("stickiness"),
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
        raise ValueError(f"every must be '1d', '1w' or '1mo', got {every!r}.")
    return (
        _in_days(community.activity, first, last)
        .group_by(pl.col("occurred_at").dt.truncate(every).dt.date().alias("period_start"), "kind")
        .agg(
            pl.len().cast(pl.Int64).alias("rows"),
            pl.col("member_id").n_unique().cast(pl.Int64).alias("members"),
        )
        .sort("period_start", "kind")
    )


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


def concentration(
    community: Community, *, first: date, last: date, kind: str | None = None
) -> Concentration:
    """The share of activity that comes from the most active members (and the Lorenz curve)."""
    _check_days(first, last)
    rows = _in_days(community.activity, first, last)
    if kind is not None:
        rows = rows.filter(pl.col("kind") == kind)
    counts = rows.group_by("member_id").len().sort("len")["len"].cast(pl.Float64)
    n, total = counts.len(), float(counts.sum())
    empty = pl.DataFrame(schema={"member_share": pl.Float64, "activity_share": pl.Float64})
    if n == 0 or total == 0:
        return Concentration(0, 0, None, None, None, empty)
    descending = counts.sort(descending=True)

    def top(share: float) -> float:
        k = max(1, math.ceil(n * share - 1e-9))
        return float(descending.head(k).sum()) / total

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
    firsts = community.activity.group_by("member_id").agg(
        pl.col("occurred_at").min().alias("first_at")
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


def _counts(activity: pl.DataFrame, first: date, last: date, kind: str | None) -> pl.DataFrame:
    rows = _in_days(activity, first, last)
    if kind is not None:
        rows = rows.filter(pl.col("kind") == kind)
    return rows.group_by("member_id").agg(
        pl.len().cast(pl.Int64).alias("activities"),
        pl.col("occurred_at").dt.date().n_unique().cast(pl.Int64).alias("active_days"),
        pl.col("occurred_at").max().alias("last_activity_at"),
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
        raise ValueError(f"top must be at least 1, got {top}.")
    counts = (
        _counts(community.activity, first, last, kind)
        .sort(["activities", "member_id"], descending=[True, False])
        .with_columns(
            pl.col("activities").rank("min", descending=True).cast(pl.Int64).alias("rank")
        )
        .head(top)
    )
    out = _with_identity(counts, community)
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
        raise ValueError(f"top must be at least 1, got {top}.")
    length = (last - first).days + 1
    before_last = first - timedelta(days=1)
    before_first = first - timedelta(days=length)
    now = _counts(community.activity, first, last, kind).select("member_id", "activities")
    then = _counts(community.activity, before_first, before_last, kind).select(
        "member_id", pl.col("activities").alias("previous")
    )
    rising = (
        now.join(then, on="member_id", how="left")
        .with_columns(pl.col("previous").fill_null(0))
        .with_columns((pl.col("activities") - pl.col("previous")).alias("increase"))
        .filter(pl.col("increase") > 0)
        .sort(["increase", "member_id"], descending=[True, False])
        .with_columns(pl.col("increase").rank("min", descending=True).cast(pl.Int64).alias("rank"))
        .head(top)
    )
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
    if community.proof_items is None or community.exposures is None:
        return pl.DataFrame(schema={**schema, **dict.fromkeys(names, pl.String),
                                    "earned_at": pl.Datetime("us", "UTC")})  # fmt: skip
    badges = community.proof_items.filter(pl.col("kind") == "badge").select(
        "item_id", pl.col("title").alias("badge")
    )
    held = (
        community.exposures.join(badges, on="item_id")
        .group_by("item_id", "badge", "member_id")
        .agg(pl.col("occurred_at").min().alias("earned_at"))
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
        raise ValueError("some members have no pseudonym; build the names from all members.")
    columns = [
        "pseudonym" if c == "member_id" else c
        for c in frame.columns
        if c not in hidden or c == "member_id"
    ]
    return out.select(columns).rename({"pseudonym": "member"})
