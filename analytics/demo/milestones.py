"""Milestone announcements: which round numbers and other milestones are announced, when,
and with which planted effects (on signups or on the activity of active members)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import date

import numpy as np

from analytics.demo.model import FloatArray, _Milestone

# --- milestones ----------------------------------------------------------------------------
_WINDOW_DAYS = 14
_MIN_ANNOUNCEMENT_DAY = 56  # room for a 28-day growth spurt and a 28-day baseline before it
_END_MARGIN_DAYS = 42  # window plus a 28-day baseline after it
_MIN_SPACING_DAYS = 80  # announcements are at least this far apart
_MAX_ROUND_ANNOUNCED = 4
_ROUND_MANTISSAS = (1.0, 2.0, 2.5, 5.0)
# (true uplift, growth spurt before) of announced round numbers, in chronological order
_ROUND_EFFECTS = ((0.40, False), (0.0, True), (0.25, False), (0.0, False))
_ROUND_CHANNELS = ("blog", "social", "newsletter", "social")
_SPURT_DAYS = 28  # a growth spurt starts this long before the planned announcement
_SPURT_PEAK = 1.6  # ... and raises signups log-linearly to this multiple, which then stays
_REACTIVATION_MULTIPLIER = 1.6  # activity of active members during the window
_REACTIVATION_KINDS_P = (0.0, 0.10, 0.20, 0.35, 0.35)  # post, comment, reaction, login, event


def _round_numbers(members: int) -> list[int]:
    """Round member counts (1, 2, 2.5, 5 times a power of ten, at least 10) below members."""
    values: list[int] = []
    power = 10
    while power < members:
        values.extend(int(m * power) for m in _ROUND_MANTISSAS if m * power < members)
        power *= 10
    return sorted(values)


def _expected_cumulative(intensity: FloatArray, members: int) -> FloatArray:
    """Expected number of members at the end of each hour."""
    cumulative = np.cumsum(intensity)
    return np.asarray(members * cumulative / cumulative[-1])


def _announcement_day(expected: FloatArray, value: int, hour_of_day: int) -> float | None:
    """Announce on the day after the expected count crosses value, at hour_of_day (UTC)."""
    hour = int(np.searchsorted(expected, value))
    if hour >= len(expected):
        return None
    return float(hour // 24 + 1) + hour_of_day / 24.0


def _spurt_multiplier(t: FloatArray, begin: float) -> FloatArray:
    """Growth-spurt multiplier: 1 before `begin`, then rising log-linearly over the spurt's
    `_SPURT_DAYS + _WINDOW_DAYS` days to `_SPURT_PEAK`, a gain that then stays.

    The spurt is not caused by the announcement and does not stop at it: it runs through the
    announcement's window, which is the trap for a before/after comparison.
    """
    w = np.clip((t - begin) / (_SPURT_DAYS + _WINDOW_DAYS), 0.0, 1.0)
    return np.asarray(np.exp(math.log(_SPURT_PEAK) * w))


def _hour(day: float) -> int:
    """Index of the hour that starts at or contains a day offset."""
    return math.floor(day * 24 + 1e-9)


def _planned_intensity(base: FloatArray, milestones: Sequence[_Milestone]) -> FloatArray:
    """Signup intensity with uplifts and spurts at planned announcement times."""
    mid_hour = (np.arange(len(base), dtype=np.float64) + 0.5) / 24.0
    intensity = base.copy()
    for m in milestones:
        if m.spurt:
            lo = max(_hour(m.day - _SPURT_DAYS), 0)
            intensity[lo:] *= _spurt_multiplier(mid_hour[lo:], m.day - _SPURT_DAYS)
        if m.uplift:
            lo = _hour(m.day)
            intensity[lo : lo + _WINDOW_DAYS * 24] *= 1.0 + m.uplift
    return intensity


def _far_from(day: float, others: Sequence[float]) -> bool:
    """Whether day keeps the minimum spacing to all other announcement days."""
    return all(abs(day - other) >= _MIN_SPACING_DAYS for other in others)


def _choose_round_numbers(
    base: FloatArray, members: int, days: int, hours_of_day: dict[int, int]
) -> list[_Milestone]:
    """Pick up to four well-spaced round numbers to announce, largest values first."""
    expected = _expected_cumulative(base, members)
    picked: list[tuple[int, float]] = []
    for value in sorted(hours_of_day, reverse=True):
        day = _announcement_day(expected, value, hours_of_day[value])
        if day is None or not _MIN_ANNOUNCEMENT_DAY <= day <= days - _END_MARGIN_DAYS:
            continue
        if _far_from(day, [d for _, d in picked]):
            picked.append((value, day))
        if len(picked) == _MAX_ROUND_ANNOUNCED:
            break
    picked.sort(key=lambda vd: vd[1])
    return [
        _Milestone(
            title=f"{value:,} members!",
            channel=_ROUND_CHANNELS[i],
            day=day,
            kind="round_number",
            value=value,
            uplift=_ROUND_EFFECTS[i][0],
            spurt=_ROUND_EFFECTS[i][1],
            hour_of_day=hours_of_day[value],
        )
        for i, (value, day) in enumerate(picked)
    ]


def _settle_round_numbers(
    base: FloatArray, members: int, milestones: list[_Milestone]
) -> list[_Milestone]:
    """Move planned round-number announcements to where the expected count crosses them.

    Spurts and uplifts change the expected cumulative count (and the total is fixed), so the
    crossing times are iterated to a fixed point (a few rounds; hours are discrete).
    """
    for _ in range(30):
        expected = _expected_cumulative(_planned_intensity(base, milestones), members)
        moved = []
        for m in milestones:
            day = None
            if m.kind == "round_number" and m.value is not None:
                day = _announcement_day(expected, m.value, m.hour_of_day)
            moved.append(m if day is None else replace(m, day=day))
        if moved == milestones:
            break
        milestones = moved
    return milestones


def _first_birthday(start: date) -> int:
    """Days from the start to its first anniversary (28 February for 29 February)."""
    try:
        anniversary = start.replace(year=start.year + 1)
    except ValueError:
        anniversary = start.replace(year=start.year + 1, day=28)
    return (anniversary - start).days


def _other_milestones(start: date, days: int, taken: Sequence[float]) -> list[_Milestone]:
    """Non-round-number milestones, placed near preferred days where spacing allows."""
    templates = [
        ("Our 100th community event", "newsletter", 0.42 * days, 0.0, _REACTIVATION_MULTIPLIER),
        ("500 success stories shared", "blog", 0.68 * days, 0.20, 1.0),
        ("Happy first birthday, community!", "social", _first_birthday(start), 0.0, 1.0),
    ]
    placed: list[_Milestone] = []
    lo, hi = _MIN_ANNOUNCEMENT_DAY, days - _END_MARGIN_DAYS - 1
    for title, channel, preferred, uplift, reactivation in templates:
        if not lo <= preferred <= hi:
            continue
        candidates = sorted(range(lo, hi + 1), key=lambda d: (abs(d - preferred), d))
        if title.startswith("Happy first birthday"):
            candidates = [int(preferred)]  # a birthday cannot move
        others = [*taken, *(m.day for m in placed)]
        for d in candidates:
            day = d + 15.0 / 24.0
            if _far_from(day, others):
                placed.append(
                    _Milestone(
                        title=title,
                        channel=channel,
                        day=day,
                        kind="other",
                        uplift=uplift,
                        reactivation=reactivation,
                        hour_of_day=15,
                    )
                )
                break
    return placed


def _plan_milestones(
    base: FloatArray, members: int, start: date, days: int, rng: np.random.Generator
) -> list[_Milestone]:
    """Choose the milestone announcements, their planned times and their effects.

    Round numbers are planned where the expected cumulative count crosses them; the actual
    announcement follows the realised crossing (see `_draw_signups`).
    """
    values = _round_numbers(members)
    hours_of_day = {
        v: int(h) for v, h in zip(values, rng.integers(9, 18, size=len(values)), strict=True)
    }
    rounds = _choose_round_numbers(base, members, days, hours_of_day)
    rounds = _settle_round_numbers(base, members, rounds)
    others = _other_milestones(start, days, [m.day for m in rounds])
    milestones = _settle_round_numbers(base, members, [*rounds, *others])
    return sorted(milestones, key=lambda m: m.day)
