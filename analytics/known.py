"""What cannot be known yet at the as-of time: the one rule every page, export, report and the
command line use.

A figure about a period is *not known yet* when the data up to the as-of time cannot answer it:

- **churn** of a period: a member counts as churned only after ``inactive_days`` quiet days, so
  churn up to a moment is known once the as-of time is at least ``inactive_days`` after it;
- **retention at day N** of a period: known once every member whose day N falls in the period
  has reached it, i.e. once the period has ended by the as-of time.

Such a figure is never shown as a number (a zero would read as good news): it is ``None`` with
the first as-of day on which it will be known (``known_from``), shown as "not known yet" with
that date, and a change against it is not drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

#: What every surface shows instead of a number that cannot be known yet.
NOT_KNOWN = "not known yet"
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Knowable:
    """Whether a figure is known at the as-of time and, when not, the first as-of day on which
    it will be (``known_from``)."""

    known: bool
    known_from: date | None = None

    @classmethod
    def yes(cls) -> Knowable:
        return cls(True, None)


def churn_known_from(moment: datetime, inactive_days: int) -> date:
    """The first as-of day (UTC, whole day) on which churn up to ``moment`` is known."""
    return (moment + timedelta(days=inactive_days) - _TICK).date()


def churn_status(period_end: datetime, *, as_of: datetime, inactive_days: int) -> Knowable:
    """Whether churn in a period ending at ``period_end`` (exclusive) is known as of ``as_of``.

    It is known once ``inactive_days`` quiet days have passed after the period's end: before
    that a member who went quiet in the period may still churn in it.
    """
    if period_end + timedelta(days=inactive_days) <= as_of + _TICK:
        return Knowable.yes()
    return Knowable(False, churn_known_from(period_end, inactive_days))


def period_status(period_end: datetime, *, as_of: datetime) -> Knowable:
    """Whether a figure that needs the whole period to have passed (e.g. 90-day retention of the
    members whose day 90 falls in it) is known as of ``as_of``."""
    if period_end <= as_of + _TICK:
        return Knowable.yes()
    return Knowable(False, (period_end - _TICK).date())


def known_from_text(known_from: date) -> str:
    """``known with data as of 2026-12-30``."""
    return f"known with data as of {known_from:%Y-%m-%d}"


def not_known_text(known_from: date | None) -> str:
    """``not known yet (known with data as of 2026-12-30)``, the words shown instead of a
    value that cannot be known yet."""
    if known_from is None:
        return NOT_KNOWN
    return f"{NOT_KNOWN} ({known_from_text(known_from)})"
