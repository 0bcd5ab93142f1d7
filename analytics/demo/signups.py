"""Signups: the hourly intensity (trend, weekday, season, noise, time of day) and the exact
number of signup times, with round numbers announced as the realised count reaches them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import date

import numpy as np

from analytics.demo.milestones import (
    _SPURT_DAYS,
    _WINDOW_DAYS,
    _hour,
    _spurt_multiplier,
)
from analytics.demo.model import FloatArray, IntArray, _Milestone

# --- signups -------------------------------------------------------------------------------
_ANNUAL_GROWTH = 2.4  # expected signups per day grow by this factor per year
_WEEKDAY_FACTOR = (1.08, 1.10, 1.08, 1.04, 0.96, 0.72, 0.76)  # Monday .. Sunday
_SEASON_AMPLITUDE = 0.08  # yearly cycle, high in late January
_DAILY_NOISE_SHAPE = 80.0  # gamma day-level noise, sd = 1 / sqrt(shape) ~ 11 %
_HOUR_PROFILE_AMPLITUDE = 0.55  # time of day (UTC), peak at 15:00


def _base_signup_intensity(start: date, days: int, rng: np.random.Generator) -> FloatArray:
    """Hourly signup intensity without milestone effects (arbitrary scale).

    Trend times weekday pattern times yearly season times day-level noise, spread over the
    hours of the day with a time-of-day profile.
    """
    day = np.arange(days, dtype=np.float64)
    weekday = (start.weekday() + np.arange(days)) % 7
    day_of_year = (start.timetuple().tm_yday - 1 + day) % 365.25
    daily = (
        np.exp(math.log(_ANNUAL_GROWTH) * day / 365.0)
        * np.asarray(_WEEKDAY_FACTOR)[weekday]
        * (1.0 + _SEASON_AMPLITUDE * np.cos(2 * np.pi * (day_of_year - 25.0) / 365.25))
        * rng.gamma(_DAILY_NOISE_SHAPE, 1.0 / _DAILY_NOISE_SHAPE, size=days)
    )
    hour = np.arange(24, dtype=np.float64)
    profile = 1.0 + _HOUR_PROFILE_AMPLITUDE * np.cos(2 * np.pi * (hour - 15.0) / 24.0)
    return np.asarray((daily[:, None] * (profile / profile.sum())[None, :]).ravel())


def _draw_signups(
    base: FloatArray, members: int, planned: Sequence[_Milestone], rng: np.random.Generator
) -> tuple[FloatArray, list[_Milestone]]:
    """Draw exactly `members` signup times, announcing milestones as the count gets there.

    The hourly counts are multinomial over the intensity. Going through the milestones in time
    order, the remaining members are distributed over the remaining hours; a round number is
    announced the day after the realised count crosses it (at its hour of day), the counts up
    to the announcement are kept, the intensity in its window is multiplied by the uplift and
    the rest is drawn again. Conditionally on the past this is exactly the multinomial over the
    changed intensity. Growth spurts are laid on beforehand around the planned announcement
    times: they do not depend on when the announcement is made.

    Returns
    -------
    join : numpy.ndarray
        Sorted signup times (days since the start).
    milestones : list of _Milestone
        The announced milestones with realised times and expected window counts.
    """
    hours = len(base)
    mid_hour = (np.arange(hours, dtype=np.float64) + 0.5) / 24.0
    intensity = base.copy()
    spurts: dict[str, tuple[float, float]] = {}  # title -> days of the spurt's rise
    for m in planned:
        if m.spurt:  # around the planned announcement, wherever the realised one falls
            lo = max(_hour(m.day - _SPURT_DAYS), 0)
            intensity[lo:] *= _spurt_multiplier(mid_hour[lo:], m.day - _SPURT_DAYS)
            spurts[m.title] = (lo / 24.0, min(m.day + _WINDOW_DAYS, hours / 24.0))
    counts = np.zeros(hours, dtype=np.int64)
    fixed, remaining, announced = 0, members, []
    for m in planned:
        draw = rng.multinomial(remaining, intensity[fixed:] / intensity[fixed:].sum())
        at = _hour(m.day)
        if m.kind == "round_number" and m.value is not None:
            needed = m.value - (members - remaining)
            at = _realised_announcement(draw, needed, fixed, m.hour_of_day)
        if at <= fixed or at + _WINDOW_DAYS * 24 > hours:
            continue  # cannot be announced in this period
        counts[fixed:at] = draw[: at - fixed]
        remaining -= int(counts[fixed:at].sum())
        fixed = at
        window = slice(at, at + _WINDOW_DAYS * 24)
        without = remaining * intensity[window].sum() / intensity[at:].sum()
        intensity[window] *= 1.0 + m.uplift
        expected = remaining * intensity[window].sum() / intensity[at:].sum()
        spurt = spurts[m.title] if m.spurt else None
        announced.append(
            replace(
                m,
                day=at / 24.0,
                spurt_interval=spurt,
                expected_window=float(expected),
                expected_window_without=float(without),
            )
        )
    counts[fixed:] = rng.multinomial(remaining, intensity[fixed:] / intensity[fixed:].sum())
    hour_of_join = np.repeat(np.arange(hours, dtype=np.float64), counts)
    return np.sort((hour_of_join + rng.random(members)) / 24.0), announced


def _realised_announcement(draw: IntArray, needed: int, offset: int, hour_of_day: int) -> int:
    """Hour of the announcement once `needed` more members have joined, or -1.

    `draw` holds the signups per hour from hour `offset` on. The announcement is on the day
    after the crossing, at `hour_of_day` (UTC); -1 if the number was already reached or is not
    reached in the draw.
    """
    if needed <= 0:
        return -1
    crossing = int(np.searchsorted(np.cumsum(draw), needed))
    if crossing >= len(draw):
        return -1
    return ((offset + crossing) // 24 + 1) * 24 + hour_of_day
