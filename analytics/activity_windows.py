"""The windows behind "active members" and "stickiness": one definition for every page.

* **Monthly active** on a day: members with at least one activity row in the 30 UTC days ending
  with that day. The Overview, the Engagement page and the weekly review count it for the same
  day (the last complete day of the period), so they show the same number for the same as-of.
* **Stickiness**: daily active members ÷ members active in the 28 days ending with the day (on
  the Retention page's lifecycle: the week's average daily active ÷ the 28 days ending with the
  week). 28 days are four whole weeks, so the weekly and the daily view agree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

#: days in the "monthly active" window (Overview, Engagement, weekly review)
MONTHLY_ACTIVE_DAYS = 30
#: days in the "weekly active" window
WEEKLY_ACTIVE_DAYS = 7
#: days in the denominator of stickiness (four whole weeks)
STICKINESS_DAYS = 28
#: how every page and chart names stickiness
STICKINESS_LABEL = f"Stickiness (daily ÷ {STICKINESS_DAYS}-day active)"


def stickiness_definition() -> str:
    """Stickiness in one sentence, for help texts and captions."""
    return (
        f"Daily active members ÷ members active in the {STICKINESS_DAYS} days ending with the "
        f"day: the share of the last {STICKINESS_DAYS} days' active members who show up on an "
        "average day."
    )


def last_complete_day(end: datetime) -> date:
    """The last whole UTC day before ``end`` (a period's exclusive end, cut at the as-of time):
    the day a period's "monthly active" is counted for."""
    midnight = datetime.combine(end.astimezone(UTC).date(), time(), tzinfo=UTC)
    return midnight.date() - timedelta(days=1)


def active_window(day: date, days: int = MONTHLY_ACTIVE_DAYS) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC of the ``days`` whole days ending with ``day``."""
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
    return end - timedelta(days=days), end
