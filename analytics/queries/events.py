"""The valid events of a community as the queries see them, and small time helpers.

``EventFrames`` holds the backend's lazy frames of the members and of the events that pass the
data contract: rows of known members, at or after joining, at or before the as-of time, with a
readable timestamp. Queries start from :meth:`EventFrames.activity` or
:meth:`EventFrames.exposures`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import narwhals.stable.v2 as nw

#: Microseconds in a day.
DAY_US = 86_400_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: 1970-01-01 was a Thursday: shifting day numbers by 3 makes weeks start on Monday.
_MONDAY_SHIFT = 3

Frame = nw.LazyFrame[Any]


def day_index(column: str) -> nw.Expr:
    """Whole UTC days since 1970-01-01 of an integer-microsecond column."""
    return nw.col(column) // DAY_US


def week_index(column: str) -> nw.Expr:
    """Whole ISO weeks (Monday to Sunday, UTC) since the week of 1970-01-01 (Monday
    1969-12-29) of an integer-microsecond column."""
    return (nw.col(column) // DAY_US + _MONDAY_SHIFT) // 7


def as_text(column: str) -> nw.Expr:
    """An identifier as text, as stored."""
    return nw.col(column).cast(nw.String)


def clean_id(column: str) -> nw.Expr:
    """An identifier as text without surrounding blanks (how the contract compares ids)."""
    return nw.col(column).cast(nw.String).str.strip_chars()


@dataclass(frozen=True)
class EventFrames:
    """The lazy inputs of every event-level query, on one backend.

    ``members`` has ``member_id``, ``member_key``, ``joined_at``, ``joined_at_us``
    for the members analysed; ``raw_activity`` / ``raw_exposures`` are the tables as the backend
    holds them; ``cutoff_us`` is the as-of time (``None``: no event lies after it);
    ``item_ids`` the proof items that exist.
    """

    members: Frame
    raw_activity: Frame
    raw_exposures: Frame | None
    cutoff_us: int | None
    item_ids: tuple[str, ...] = ()
    #: Strip blanks around ids (only where the load found ids that do not match as stored).
    strip_ids: bool = True
    #: :meth:`activity` and :meth:`exposures` as kept by the backend (computed once), if kept.
    kept_activity: Frame | None = None
    kept_exposures: Frame | None = None

    def _valid(
        self, raw: Frame, extra: list[str], of_members: Mapping[str, nw.Expr] | None = None
    ) -> Frame:
        tidy = clean_id if self.strip_ids else as_text
        carried = [expr.alias(name) for name, expr in (of_members or {}).items()]
        keyed = raw.with_columns(tidy("member_id").alias("member_id")).join(
            self.members.select("member_id", "member_key", "joined_at", "joined_at_us", *carried),
            on="member_id",
        )
        condition = ~nw.col("occurred_at_us").is_null() & (
            nw.col("occurred_at_us") >= nw.col("joined_at_us")
        )
        if self.cutoff_us is not None:
            condition = condition & (nw.col("occurred_at_us") <= self.cutoff_us)
        rows = ["__row"] if "__row" in raw.columns else []
        return keyed.filter(condition).select(
            *rows,
            "member_key",
            "occurred_at",
            "occurred_at_us",
            "joined_at",
            "joined_at_us",
            *extra,
            *(of_members or {}),
        )

    def activity(self, of_members: Mapping[str, nw.Expr] | None = None) -> Frame:
        """Valid activity: ``member_key``, ``occurred_at``, ``occurred_at_us``, ``joined_at``,
        ``joined_at_us``, ``kind`` (blank or missing kinds read ``unknown``).

        ``of_members``: more columns, each an expression on the members (``member_key``,
        ``joined_at``, ``joined_at_us``), by a name of its own. Computed once per member and
        carried to the member's rows: a month of joining costs a calendar computation per member
        instead of one per row."""
        if self.kept_activity is not None:
            if not of_members:
                return self.kept_activity
            carried = [expr.alias(name) for name, expr in of_members.items()]
            return self.kept_activity.join(
                self.members.select("member_key", *carried), on="member_key"
            )
        raw = self.raw_activity.with_columns(
            nw.col("kind").cast(nw.String).str.strip_chars().fill_null("unknown").alias("kind")
        )
        return self._valid(raw, ["kind"], of_members)

    def exposures(self) -> Frame | None:
        """Valid exposures of existing items: ``member_key``, ``item_id``, ``occurred_at``,
        ``occurred_at_us``, ``joined_at_us``, ``kind`` (how: viewed, earned, ...)."""
        if self.raw_exposures is None:
            return None
        if self.kept_exposures is not None:
            return self.kept_exposures
        tidy = clean_id if self.strip_ids else as_text
        raw = self.raw_exposures.with_columns(tidy("item_id").alias("item_id"))
        if "kind" in raw.columns:
            raw = raw.with_columns(nw.col("kind").cast(nw.String))
        else:
            raw = raw.with_columns(nw.lit(None, dtype=nw.String).alias("kind"))
        raw = raw.filter(nw.col("item_id").is_in(list(self.item_ids)))
        return self._valid(raw, ["item_id", "kind"])


def to_us(moment: datetime) -> int:
    """A moment as integer microseconds since 1970-01-01 UTC (naive moments are UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
