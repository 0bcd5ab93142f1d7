"""When a weekly review is due.

``proofboard deliver`` sends the review of the last complete ISO week before now. Subscriptions
made on the dashboard also name a weekday, hour and time zone: theirs is sent from the first
such moment after the week ended (a run before it sends nothing to them, a later run catches
up).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from analytics.delivery.config import WEEKDAYS

_ONE_WEEK = timedelta(days=7)


def last_complete_week(now: datetime) -> date:
    """The Monday of the last ISO week (Monday 00:00 to Monday 00:00 UTC) that ended by
    ``now``."""
    day = now.astimezone(UTC).date()
    return day - timedelta(days=day.weekday()) - _ONE_WEEK


def week_end(monday: date) -> datetime:
    """The end of the week starting on ``monday`` (the next Monday 00:00 UTC)."""
    return datetime.combine(monday + _ONE_WEEK, time(), tzinfo=UTC)


def due_at(monday: date, *, weekday: str, hour: int, timezone: str) -> datetime:
    """The first ``weekday`` at ``hour``:00 in ``timezone`` at or after the end of the week that
    starts on ``monday`` (in UTC)."""
    zone = ZoneInfo(timezone)
    end = week_end(monday)
    local = end.astimezone(zone).date()
    wanted = WEEKDAYS.index(weekday)
    for k in range(15):
        day = local + timedelta(days=k)
        if day.weekday() != wanted:
            continue
        moment = datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)
        if moment >= end:
            return moment
    raise AssertionError("a weekday recurs within two weeks")  # pragma: no cover
