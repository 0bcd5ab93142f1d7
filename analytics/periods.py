"""Reporting periods: a half-open time window and the one of equal length before it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from analytics.errors import InputError


@dataclass(frozen=True)
class Period:
    """The half-open window ``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise InputError(
                f"A period must end after it starts (got {self.start:%Y-%m-%d} to "
                f"{self.end:%Y-%m-%d}). Fix: pick an end date on or after the start date."
            )

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    def previous(self) -> Period:
        """The period of the same length that ends where this one starts."""
        return Period(self.start - self.length, self.start)

    @classmethod
    def from_dates(cls, first: date, last: date, *, as_of: datetime) -> Period:
        """The period covering the days ``first`` to ``last`` (inclusive), cut at ``as_of``.

        Cutting keeps the window honest: nothing after the as-of time is counted, and the
        previous period then has the same (shorter) length.
        """
        start = datetime.combine(first, time(), tzinfo=UTC)
        end = datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC)
        return cls(start, min(end, as_of + timedelta(microseconds=1)))

    def label(self) -> str:
        last = self.end - timedelta(microseconds=1)
        return f"{self.start:%Y-%m-%d} to {last:%Y-%m-%d}"
