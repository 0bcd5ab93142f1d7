"""The data-quality checks of the event tables (activity, exposures) as lazy aggregations.

One pass counts every problem at once (:func:`problem_counts`; for the activity, per member
together with each member's valid activity, :func:`activity_checks`); only for a problem that
occurs are its first rows looked up (:func:`problem_rows`), in the source's own row order.
Where the timestamps are typed, the activity's pass groups with plain aggregations and counts
the conditional way only when some timestamp is out of range (``activity_checks(plain=True)``).
The problems are the ones the quality report has always named, in the order it names them:

* ``missing``: no timestamp (null or blank);
* ``unreadable``: a timestamp text that cannot be read;
* ``out_of_range``: a timestamp before 1970 or from 2100 on (``analytics.contract``);
* ``unknown_member``: a member id not in the members table (or of a member who joined after the
  as-of time);
* ``unknown_item`` (exposures): an item id not in the proof_items table;
* ``before_join``: earlier than the member's joining;
* ``after_as_of``: later than the as-of time.

Each later problem counts only rows without the earlier ones, as the rows are left out one rule
after the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import narwhals.stable.v2 as nw

from analytics.contract import EARLIEST_US, LATEST_US
from analytics.queries.events import as_text, clean_id

Frame = nw.LazyFrame[Any]
TEXT_SUFFIX = "__text"


@dataclass(frozen=True)
class EventCheck:
    """How to check one event table.

    ``members`` (``member_id``, ``joined_at_us``) are the members rows may refer to, or ``None``
    when the members table itself has errors (then only the timestamps are checked);
    ``item_ids`` the existing proof items (exposures only, ``None`` to skip that rule).
    """

    time: str
    members: Frame | None
    cutoff_us: int | None
    item_ids: tuple[str, ...] | None = None
    #: Strip blanks around ids before comparing them. Needed only when some id does not match
    #: as stored: a first pass without it finds out (stripping millions of ids costs as much as
    #: the rest of a pass).
    strip: bool = True

    def prepare(self, raw: Frame) -> Frame:
        """The table with its ids cleaned and, when members are known, their joining time."""
        ids = ["member_id", "item_id"] if self.item_ids is not None else ["member_id"]
        frame = raw.with_columns((clean_id(c) if self.strip else as_text(c)).alias(c) for c in ids)
        if self.members is None:
            return frame
        known = self.members.select(
            "member_id",
            "member_key",
            nw.col("joined_at_us").alias("_joined_us"),
            nw.lit(1).alias("_known"),
        )
        return frame.join(known, on="member_id", how="left")

    def timestamp_problems(self, schema: list[str]) -> dict[str, nw.Expr]:
        """The problems of the timestamp alone (``missing``, ``unreadable``, ``out_of_range``):
        problem name -> the condition marking its rows."""
        time, us = nw.col(self.time), nw.col(self.time + "_us")
        text = self.time + TEXT_SUFFIX
        if text in schema:
            raw = nw.col(text)
            missing = raw.is_null() | (raw.str.strip_chars() == "")
            unreadable = ~raw.is_null() & time.is_null()
        else:
            missing = time.is_null()
            unreadable = time.is_null() & ~time.is_null()  # never (a typed column)
        out_of_range = ~time.is_null() & ((us < EARLIEST_US) | (us >= LATEST_US))
        return {"missing": missing, "unreadable": unreadable, "out_of_range": out_of_range}

    def conditions(self, schema: list[str]) -> dict[str, nw.Expr]:
        """Problem name -> the condition marking its rows (each excluding earlier problems)."""
        time, us = nw.col(self.time), nw.col(self.time + "_us")
        out = self.timestamp_problems(schema)
        if self.members is None:
            return out
        readable = ~time.is_null() & ~out["out_of_range"]
        unknown = nw.col("_known").is_null()
        out["unknown_member"] = readable & unknown
        ok = readable & ~unknown
        if self.item_ids is not None:
            unknown_item = ~nw.col("item_id").is_in(list(self.item_ids))
            out["unknown_item"] = ok & unknown_item
            ok = ok & ~unknown_item
        before = us < nw.col("_joined_us")
        out["before_join"] = ok & before
        if self.cutoff_us is not None:
            out["after_as_of"] = ok & ~before & (us > self.cutoff_us)
        return out


def in_range(us: nw.Expr) -> nw.Expr:
    """Integer-microsecond timestamps inside the contract's bounds; null outside."""
    return nw.when((us >= EARLIEST_US) & (us < LATEST_US)).then(us)


def _count(condition: nw.Expr) -> nw.Expr:
    """The number of rows where ``condition`` holds (an aggregation)."""
    return nw.when(condition).then(1).otherwise(0).sum().cast(nw.Int64)


def problem_counts(raw: Frame, check: EventCheck) -> Frame:
    """One row: ``rows`` (all rows), one count per problem, ``latest_us`` (the latest readable
    timestamp, integer microseconds)."""
    frame = check.prepare(raw)
    conditions = check.conditions(frame.columns)
    return frame.select(
        nw.len().alias("rows"),
        *[_count(cond).alias(name) for name, cond in conditions.items()],
        in_range(nw.col(check.time + "_us")).max().alias("latest_us"),
    )


def problem_rows(raw_with_rows: Frame, check: EventCheck, problem: str, *, limit: int) -> Frame:
    """The first ``limit`` rows with ``problem`` (``__row`` and the offending value)."""
    frame = check.prepare(raw_with_rows)
    names = frame.columns
    condition = check.conditions(names)[problem]
    text = check.time + TEXT_SUFFIX
    value = text if text in names else check.time
    return (
        frame.filter(condition)
        .select("__row", nw.col(value).cast(nw.String).alias("value"))
        .sort("__row")
        .head(limit)
    )


def _valid(check: EventCheck) -> nw.Expr:
    """Rows without any problem (members known)."""
    us = nw.col(check.time + "_us")
    valid = ~nw.col("_known").is_null() & ~in_range(us).is_null() & (us >= nw.col("_joined_us"))
    if check.cutoff_us is not None:
        valid = valid & (us <= check.cutoff_us)
    return valid


def activity_checks(raw: Frame, check: EventCheck, *, plain: bool = False) -> Frame:
    """:func:`problem_counts` and the valid activity per member in one grouped pass (members
    known): one row per ``member_key`` (null for rows of no known member) with the rows, one
    count per problem, ``latest_us``, and the valid ``activities`` with their ``first_us`` and
    ``last_us`` (null when there are none).

    The rows are grouped by their member id as stored, before anything is joined: every row of
    a group has the same member, so the member's joining time is joined to the groups (one per
    member) instead of to every row, and blanks around ids are stripped from the groups' ids.
    That needs no row earlier than its member's joining: ``before_join_members`` counts the
    members with some, and when it is not 0, :func:`activity_checks_by_row` gives the counts.

    ``plain`` (typed timestamps only) groups with four plain aggregations (two more with an
    as-of time) instead of a dozen conditional ones, taking every readable timestamp as in
    range: ``irregular_members`` counts the groups where that is not so, and when it is not 0,
    the pass without ``plain`` gives the counts."""
    assert check.members is not None, "without the members, use problem_counts"
    us = nw.col(check.time + "_us")
    frame = raw.with_columns(as_text("member_id").alias("member_id"))
    timestamp = check.timestamp_problems(frame.columns)
    readable = in_range(us)  # null when unreadable or out of range
    ok = ~readable.is_null()
    until = ok if check.cutoff_us is None else ok & (us <= check.cutoff_us)

    late = [_count(ok & ~until).alias("_late")] if check.cutoff_us is not None else []
    if plain:
        assert check.time + TEXT_SUFFIX not in frame.columns, "plain needs typed timestamps"
        grouped = _plain_groups(frame, check)
    else:
        grouped = frame.group_by("member_id").agg(
            nw.len().cast(nw.Int64).alias("rows"),
            *[_count(condition).alias(name) for name, condition in timestamp.items()],
            _count(ok).alias("_readable"),
            *late,
            readable.max().alias("latest_us"),
            readable.min().alias("_earliest_us"),
            _count(until).alias("_until"),
            nw.when(until).then(us).min().alias("first_us"),
            nw.when(until).then(us).max().alias("last_us"),
        )
    if check.strip:
        grouped = grouped.with_columns(clean_id("member_id").alias("member_id"))
    known = check.members.select(
        "member_id", "member_key", nw.col("joined_at_us").alias("_joined_us"),
        nw.lit(1).alias("_known"),
    )  # fmt: skip
    member = ~nw.col("_known").is_null()

    def of_member(column: str) -> nw.Expr:
        return nw.when(member).then(nw.col(column)).otherwise(0).cast(nw.Int64)

    problems = {
        **{name: nw.col(name) for name in timestamp},
        "unknown_member": nw.when(member).then(0).otherwise(nw.col("_readable")).cast(nw.Int64),
        "before_join": nw.lit(0, nw.Int64),
    }
    if check.cutoff_us is not None:
        problems["after_as_of"] = of_member("_late")
    per_id = grouped.join(known, on="member_id", how="left").select(
        "member_key",
        "rows",
        *[expr.alias(name) for name, expr in problems.items()],
        "latest_us",
        of_member("_until").alias("activities"),
        nw.when(member).then(nw.col("first_us")).alias("first_us"),
        nw.when(member).then(nw.col("last_us")).alias("last_us"),
        nw.when(member & (nw.col("_earliest_us") < nw.col("_joined_us")))
        .then(1)
        .otherwise(0)
        .cast(nw.Int64)
        .alias("before_join_members"),
        *([nw.col("_irregular").alias("irregular_members")] if plain else []),
    )
    # one row per member: ids stored with and without blanks around them are one member's
    summed = ["rows", *problems, "activities", "before_join_members"]
    summed += ["irregular_members"] if plain else []
    return per_id.group_by("member_key").agg(
        *[nw.col(c).sum().cast(nw.Int64) for c in summed],
        nw.col("latest_us").max(),
        nw.col("first_us").min(),
        nw.col("last_us").max(),
    )


def _plain_groups(frame: Frame, check: EventCheck) -> Frame:
    """The groups of :func:`activity_checks` from plain aggregations (and, with an as-of time,
    two conditional ones for the rows up to it), with ``_irregular``: 1 where some timestamp is
    out of range, when the counts derived here do not hold."""
    us = nw.col(check.time + "_us")
    until: list[nw.Expr] = []
    if check.cutoff_us is not None:
        up_to = us <= check.cutoff_us
        until = [_count(up_to).alias("_until"), nw.when(up_to).then(us).max().alias("last_us")]
    grouped = frame.group_by("member_id").agg(
        nw.len().cast(nw.Int64).alias("rows"),
        us.count().cast(nw.Int64).alias("_readable"),
        us.min().alias("_earliest_us"),
        us.max().alias("latest_us"),
        *until,
    )
    earliest, latest = nw.col("_earliest_us"), nw.col("latest_us")
    derived = [(nw.col("rows") - nw.col("_readable")).alias("missing")]
    derived += [nw.lit(0, nw.Int64).alias(name) for name in ("unreadable", "out_of_range")]
    if check.cutoff_us is None:
        derived += [nw.col("_readable").alias("_until"), latest.alias("last_us")]
        first = earliest
    else:
        derived += [(nw.col("_readable") - nw.col("_until")).alias("_late")]
        first = nw.when(earliest <= check.cutoff_us).then(earliest)
    irregular = (earliest < EARLIEST_US) | (latest >= LATEST_US)
    return grouped.with_columns(
        *derived,
        first.alias("first_us"),
        nw.when(irregular).then(1).otherwise(0).cast(nw.Int64).alias("_irregular"),
    )


def activity_checks_by_row(raw: Frame, check: EventCheck) -> Frame:
    """:func:`activity_checks` with each row joined to its member (without
    ``before_join_members``): the counts when some rows are earlier than their member's
    joining."""
    assert check.members is not None, "without the members, use problem_counts"
    frame = check.prepare(raw)
    conditions = check.conditions(frame.columns)
    us = nw.col(check.time + "_us")
    valid = _valid(check)
    return frame.group_by("member_key").agg(
        nw.len().cast(nw.Int64).alias("rows"),
        *[_count(cond).alias(name) for name, cond in conditions.items()],
        in_range(us).max().alias("latest_us"),
        _count(valid).alias("activities"),
        nw.when(valid).then(us).min().alias("first_us"),
        nw.when(valid).then(us).max().alias("last_us"),
    )
