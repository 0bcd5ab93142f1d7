"""The ground truth: what was planted, as a JSON-serialisable dict."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from analytics.demo.activity import (
    _ACTIVITY_ENGAGEMENT_EXPONENT,
    _ACTIVITY_RATE,
    _EARLY_BOOST,
    _EARLY_BOOST_DAYS,
    _cumulative_activity,
)
from analytics.demo.exposures import (
    _INDEPENDENT_ENGAGEMENT_EXPONENT,
    _MAX_REPEAT_VIEWS,
    _first_view_from,
    _view_mass,
)
from analytics.demo.lifetime import (
    _WEIBULL_SCALE_DAYS,
    _WEIBULL_SHAPE,
    _cumulative_hazard,
    _lifetimes,
)
from analytics.demo.members import (
    _CHANNEL_SHIFT,
    _CHANNELS,
    _ENGAGEMENT_MU,
    _ENGAGEMENT_SIGMA,
    _PRO_SHIFT,
)
from analytics.demo.milestones import (
    _REACTIVATION_MULTIPLIER,
    _SPURT_PEAK,
    _WINDOW_DAYS,
    _round_numbers,
)
from analytics.demo.model import _US_PER_DAY, DEMO_VERSION, FloatArray, _Item, _Milestone
from analytics.demo.signups import _ANNUAL_GROWTH, _WEEKDAY_FACTOR
from analytics.demo.tables import _period_us

# --- truth ---------------------------------------------------------------------------------
_LANDMARK_DAYS = 30
_HORIZON_DAYS = 90
#: The analysis's population: activity in the week before the landmark, no departure before it
_RECENCY_DAYS = 7
#: The analysis's churn definition (quiet days), which decides whose day 120 is decidable
_INACTIVE_DAYS = 30
#: The sequential trials' grace period (days from the start of the trial day in which a first
#: exposure counts as "newly exposed"): the analysis's default, one day (the day itself)
_TRIAL_GRACE_DAYS = 1


@dataclass(frozen=True)
class _KnownAtLandmark:
    """Per member of a block, what the truth's population and outcome need beyond the lifetime:
    activity in the week before the landmark, an explicit departure recorded, ``last_seen_at``
    recorded, the activity rate (rows per day at the steady rate) and whether every view is
    also an activity row (views during visits).

    ``active_days`` (for the sequential trials' truth): the member-days with activity, as sorted
    unique keys ``member * 2**32 + day`` (``day`` the calendar day of the activity table's
    timestamp, whole days since the start); ``None`` when not recorded (no trial truth).
    ``first_activity_us``: each of those member-days' first activity, as the activity table
    dates it (whole microseconds since the start); ``None`` to leave the trials' time zero out
    (every exposure on an active day counts)."""

    active_before: npt.NDArray[np.bool_]
    left: npt.NDArray[np.bool_]
    seen_known: npt.NDArray[np.bool_]
    rate: FloatArray
    views_are_visits: bool = True
    active_days: npt.NDArray[np.int64] | None = None
    first_activity_us: npt.NDArray[np.int64] | None = None


def _iso(start_dt: datetime, day: float) -> str:
    """ISO 8601 UTC timestamp ("Z") of a day offset, truncated to the microsecond."""
    moment = start_dt + timedelta(microseconds=math.floor(day * _US_PER_DAY))
    return moment.isoformat().replace("+00:00", "Z")


def _planted_intervals(milestones: Sequence[_Milestone]) -> list[tuple[float, float]]:
    """Intervals (days) in which signups are changed: uplift windows and growth spurts."""
    intervals = []
    for m in milestones:
        if m.uplift:
            intervals.append((m.day, m.day + _WINDOW_DAYS))
        if m.spurt_interval is not None:
            intervals.append(m.spurt_interval)
    return intervals


def _milestone_truth(
    milestones: Sequence[_Milestone], join: FloatArray, start_dt: datetime
) -> list[dict[str, Any]]:
    """Per milestone: placement, planted effects and expected signups in the window."""
    out = []
    for i, m in enumerate(milestones, start=1):
        entry: dict[str, Any] = {
            "milestone_id": f"ms{i:02d}",
            "title": m.title,
            "channel": m.channel,
            "kind": m.kind,
            "value": m.value,
            "crossed_at": None if m.value is None else _iso(start_dt, float(join[m.value - 1])),
            "announced_at": _iso(start_dt, m.day),
            "window_days": _WINDOW_DAYS,
            "true_uplift": float(m.uplift),
            "expected_signups_in_window": m.expected_window,
            "expected_signups_in_window_without_uplift": m.expected_window_without,
            "growth_spurt_before": m.spurt_interval is not None,
            "growth_spurt": None,
            "active_member_effect": None,
        }
        if m.spurt_interval is not None:
            entry["growth_spurt"] = {
                "start": _iso(start_dt, m.spurt_interval[0]),
                "end": _iso(start_dt, m.spurt_interval[1]),
                "peak_multiplier": _SPURT_PEAK,
                "shape": f"signup intensity rises log-linearly from start to end (through "
                f"the announcement's window) to x{_SPURT_PEAK:g}, and stays at that level",
            }
        if m.reactivation != 1.0:
            entry["active_member_effect"] = {
                "activity_multiplier": float(m.reactivation),
                "window_days": _WINDOW_DAYS,
                "applies_to": "members active during the window: extra activity rows of kind "
                "comment, reaction, login or event in the window; no effect on signups or "
                "lifetimes",
            }
        out.append(entry)
    return out


def _unannounced_truth(
    milestones: Sequence[_Milestone], join: FloatArray, members: int, start_dt: datetime
) -> list[dict[str, Any]]:
    """Round-number crossings that were not announced (placebos), with realised times."""
    announced = {m.value for m in milestones if m.value is not None}
    intervals = _planted_intervals(milestones)
    out = []
    for value in _round_numbers(members):
        if value in announced:
            continue
        crossed = float(join[value - 1])
        out.append(
            {
                "value": value,
                "crossed_at": _iso(start_dt, crossed),
                "true_uplift": 0.0,
                "inside_planted_interval": any(lo <= crossed < hi for lo, hi in intervals),
            }
        )
    return out


def _exposed_at_landmark(
    first_since_join: FloatArray,
    column: int,
    published: float,
    join: FloatArray,
    lifetime: FloatArray,
    days: int,
) -> npt.NDArray[np.bool_]:
    """Population of the ATTs: members alive at joined_at + 30 days, with joined_at + 120 days
    within the period, for whom the item was published before joined_at + 30 days and who were
    exposed to it in their first 30 days."""
    landmark, end = float(_LANDMARK_DAYS), float(_LANDMARK_DAYS + _HORIZON_DAYS)
    return np.asarray(
        (lifetime > landmark)
        & (join + end <= days)
        & (published < join + landmark)
        & (first_since_join[:, column] < landmark)
    )


def _att_retention_difference(
    first_since_join: FloatArray,
    column: int,
    items: Sequence[_Item],
    published: float,
    join: FloatArray,
    hazard_e: FloatArray,
    scale: FloatArray,
    lifetime: FloatArray,
    days: int,
) -> dict[str, Any]:
    """Effect of an item on being there at landmark + horizon, among the exposed (ATT).

    Population: see `_exposed_at_landmark`. Value: share alive at joined_at + 120 days with the
    item's hazard ratio minus the share alive then with that hazard ratio set to 1 (same Exp(1)
    draw, other items unchanged).
    """
    end = float(_LANDMARK_DAYS + _HORIZON_DAYS)
    population = _exposed_at_landmark(first_since_join, column, published, join, lifetime, days)
    n = int(population.sum())
    hazard_ratio = items[column].hazard_ratio if column < len(items) else 1.0
    result: dict[str, Any] = {
        "landmark_days": _LANDMARK_DAYS,
        "horizon_days": _HORIZON_DAYS,
        "value": 0.0,
        "n": n,
    }
    if hazard_ratio == 1.0:
        return result
    if n == 0:
        result["value"] = None
        return result
    ratios = [1.0 if j == column else it.hazard_ratio for j, it in enumerate(items)]
    who = np.flatnonzero(population)
    counterfactual = _lifetimes(
        hazard_e[who], scale[who], first_since_join[who][:, : len(items)], items, ratios
    )
    result["value"] = float(np.mean(lifetime[who] > end) - np.mean(counterfactual > end))
    return result


def _landmark_att(
    first_since_join: FloatArray,
    column: int,
    items: Sequence[_Item],
    join: FloatArray,
    reach: FloatArray,
    hazard_e: FloatArray,
    scale: FloatArray,
    lifetime: FloatArray,
    days: int,
    rng: np.random.Generator | None,
    views: str = "visits",
) -> dict[str, Any]:
    """Effect of early exposure to an item on being there at landmark + horizon, as a landmark
    comparison of exposed with comparable unexposed members estimates it.

    Population: as for `_att_retention_difference`. Value: share alive at joined_at + 120 days
    minus the share alive then in the counterfactual where the member's views of the item
    before the landmark did not happen and the first view is instead the next one the view
    process produces from the landmark on (a fresh Exp(1) draw from `rng`, inverted with the
    generator's own rate, `_first_view_from`); other items unchanged. Like the unexposed members
    it is compared with, the member is alive at the landmark: the counterfactual hazard accrues
    from there, with the member's own Exp(1) draw less the hazard already used up, so the
    counterfactual lifetime solves ``H(30) + H_cf(T) - H_cf(30) = E``.

    `rng` draws one Exp(1) per member (whether in the population or not), so the draws do not
    depend on the population; it is only used for items with a hazard ratio other than 1.
    """
    landmark, end = float(_LANDMARK_DAYS), float(_LANDMARK_DAYS + _HORIZON_DAYS)
    item = items[column] if column < len(items) else None
    published = 0.0 if item is None else item.published
    population = _exposed_at_landmark(first_since_join, column, published, join, lifetime, days)
    n = int(population.sum())
    result: dict[str, Any] = {
        "landmark_days": _LANDMARK_DAYS,
        "horizon_days": _HORIZON_DAYS,
        "value": 0.0,
        "n": n,
    }
    if item is None or item.hazard_ratio == 1.0 or rng is None:
        return result
    if n == 0:
        result["value"] = None
        return result
    x = rng.standard_exponential(len(join))
    who = np.flatnonzero(population)
    after = np.maximum(join[who] + landmark, item.published)
    later = _first_view_from(item, after, join[who], reach[who], x[who], days, views) - join[who]
    actual = first_since_join[who][:, : len(items)]
    counterfactual = actual.copy()
    counterfactual[:, column] = later
    at_landmark, at_end = np.full(len(who), landmark), np.full(len(who), end)
    used = _cumulative_hazard(at_landmark, scale[who], actual, items)
    needed = _cumulative_hazard(at_end, scale[who], counterfactual, items) - _cumulative_hazard(
        at_landmark, scale[who], counterfactual, items
    )
    alive = hazard_e[who] - used > needed
    result["value"] = float(np.mean(lifetime[who] > end) - np.mean(alive))
    return result


def _recorded_retention(
    lifetime: FloatArray,
    join: FloatArray,
    rate: FloatArray,
    seen_known: npt.NDArray[np.bool_],
    days: int,
    visits: tuple[Sequence[_Item], FloatArray, FloatArray] | None = None,
    end: float | FloatArray = float(_LANDMARK_DAYS + _HORIZON_DAYS),
) -> FloatArray:
    """Probability that the data record a member as still there at joined_at + 120 days, given
    their lifetime: churn is dated at the end of life when ``last_seen_at`` is known, else at the
    last activity row, so a member alive at day 120 without ``last_seen_at`` counts as retained
    only with some activity between day 120 and the end of life (a Poisson process with the
    generator's activity rate, re-activation bursts left out).

    `end` (days since joining; one for all, day 120 by default, or one per member) is the time
    at which retention is read: the sequential trials' truth reads it at each member's trial day
    plus the horizon. Whatever `end`, it must leave ``_INACTIVE_DAYS`` quiet days before the end
    of the period for the recorded churn to be the one described here.

    With views during visits, `visits` is ``(items, reach, first_since_join)`` (the first view
    of each item, days since joining, in the world evaluated): each item's view process adds
    activity rows, given its first view ``f`` a row at ``f`` and a Poisson process from ``f`` on
    (none before it), so rows after day 120 are certain when ``f`` lies between day 120 and the
    end of life, and otherwise add the item's integrated view rate from the later of day 120 and
    ``f`` to the end of life. Exact given the lifetime and the first views.
    """
    life = np.minimum(lifetime, days - join)
    read = np.broadcast_to(np.asarray(end, dtype=np.float64), life.shape)
    at_end = _cumulative_activity(np.array(read))
    mass = rate * np.maximum(_cumulative_activity(life) - at_end, 0.0)
    certain = np.zeros(len(life), dtype=bool)
    if visits is not None:
        items, reach, first = visits
        for j, item in enumerate(items):
            f = first[:, j]
            certain |= (f > read) & (f < life)
            lo = join + np.maximum(read, f)
            mass = mass + _view_mass(item, join, reach, lo, join + life)
    some_activity = np.where(certain, 1.0, -np.expm1(-mass))
    return np.where(lifetime > read, np.where(seen_known, 1.0, some_activity), 0.0)


def _active_landmark_att(
    first_since_join: FloatArray,
    column: int,
    items: Sequence[_Item],
    join: FloatArray,
    reach: FloatArray,
    hazard_e: FloatArray,
    scale: FloatArray,
    lifetime: FloatArray,
    days: int,
    rng: np.random.Generator | None,
    known: _KnownAtLandmark,
    views: str = "visits",
) -> dict[str, Any]:
    """The effect the analysis estimates, by coupled counterfactual re-simulation.

    Population (what the analysis can know at the landmark): members with activity in the
    ``_RECENCY_DAYS`` before joined_at + 30 days and no explicit departure before it, whose
    day 120 is decidable (joined_at + 120 + ``_INACTIVE_DAYS`` within the period), for whom the
    item was published before their landmark and who were exposed to it in their first 30 days
    (while still there).

    Value: the mean recorded retention at day 120 (:func:`_recorded_retention`) minus the mean
    in the counterfactual that re-simulates the same members from day 30 on with the same random
    draws and the early exposure removed: the same Exp(1) lifetime draw less the hazard used up
    by day 30, the item's first view moved to the next one the view process produces from the
    landmark on (a fresh Exp(1) from `rng`), other items and everything before day 30
    unchanged. Members who died before day 30 (active that week, no recorded departure) are in
    the population with retention 0 in both worlds.
    """
    landmark, end = float(_LANDMARK_DAYS), float(_LANDMARK_DAYS + _HORIZON_DAYS)
    item = items[column] if column < len(items) else None
    published = 0.0 if item is None else item.published
    population = (
        known.active_before
        & ~(known.left & (lifetime < landmark))
        & (join + end + _INACTIVE_DAYS <= days)
        & (published < join + landmark)
        & (first_since_join[:, column] < np.minimum(landmark, lifetime))
    )
    n = int(population.sum())
    result: dict[str, Any] = {
        "landmark_days": _LANDMARK_DAYS,
        "horizon_days": _HORIZON_DAYS,
        "recency_days": _RECENCY_DAYS,
        "value": 0.0,
        "n": n,
    }
    if item is None or item.hazard_ratio == 1.0 or rng is None:
        return result
    if n == 0:
        result["value"] = None
        return result
    x = rng.standard_exponential(len(join))
    who = np.flatnonzero(population)
    after = np.maximum(join[who] + landmark, item.published)
    result["value"] = _coupled_difference(
        who, np.full(len(who), landmark), after, end, first_since_join, column, items, join,
        reach, hazard_e, scale, lifetime, days, x, known, views,
    )  # fmt: skip
    return result


def _day_of(t: FloatArray) -> npt.NDArray[np.int64]:
    """Calendar day (whole days since the start) of times in days, as the tables date them:
    the day of the UTC microsecond timestamp (see ``tables._timestamps``; inf stays far away)."""
    finite = np.isfinite(t)
    us = np.floor(np.where(finite, t, 0.0) * _US_PER_DAY).astype(np.int64)
    return np.where(finite, us // _US_PER_DAY, np.iinfo(np.int32).max)


def _trial_population(
    first_at: FloatArray,
    published: float,
    join: FloatArray,
    lifetime: FloatArray,
    days: int,
    known: _KnownAtLandmark,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """The members a sequential trial counts as newly exposed to an item, and their trial days.

    As :func:`analytics.impact.trial.trial_days` and ``trial_arms`` define them (grace period
    ``_TRIAL_GRACE_DAYS`` = 1: time zero): the member's first exposure to the item
    (`first_at`, days since the start; inf if never) happened while alive and within the period,
    on a calendar day ``d`` on which the member has an activity row (``known.active_days``; with
    views during visits the view itself is one), at or before the first of them
    (``known.first_activity_us``, as the tables date both), with no explicit departure recorded
    before the start of ``d``, ``d`` not before the item's publication day, and the outcome
    decidable: the whole day ``d`` ends at least ``_HORIZON_DAYS + _INACTIVE_DAYS`` days before
    the as-of time.

    The as-of time is the one the analysis takes when it is not given one, the data's latest
    timestamp: it falls in the period's last day (timestamps are clipped before the end of the
    period, and the members still there were last seen in its last three days), so the last
    trial day is ``days - 122``. (An analysis given truth.json's ``as_of``, the end of the
    period exactly, also counts day ``days - 121``, whose members this population leaves out.)
    Returns the population mask and every member's ``d``.
    """
    day = _day_of(first_at)
    exposed = first_at < np.minimum(join + lifetime, float(days))
    as_of_day = days - 1  # the calendar day of the data's latest timestamp
    last_day = as_of_day - _INACTIVE_DAYS - _HORIZON_DAYS - 1
    population = (
        exposed
        & (day <= last_day)
        & (day >= _day_of(np.asarray([published]))[0])
        & ~(known.left & (join + lifetime < day))
    )
    if known.active_days is not None and len(known.active_days):
        who = np.flatnonzero(population)
        key = who.astype(np.int64) * (1 << 32) + day[who]
        at = np.minimum(np.searchsorted(known.active_days, key), len(known.active_days) - 1)
        population[who[known.active_days[at] != key]] = False
        if known.first_activity_us is not None:
            late = _period_us(first_at[who], days) > known.first_activity_us[at]
            population[who[late]] = False
    elif known.active_days is not None:
        population[:] = False
    return population, day


def _trial_att(
    first_since_join: FloatArray,
    first_at: FloatArray,
    column: int,
    items: Sequence[_Item],
    published: float,
    join: FloatArray,
    reach: FloatArray,
    hazard_e: FloatArray,
    scale: FloatArray,
    lifetime: FloatArray,
    days: int,
    rng: np.random.Generator | None,
    known: _KnownAtLandmark,
    views: str = "visits",
) -> dict[str, Any]:
    """The effect the sequential trials estimate, by coupled counterfactual re-simulation.

    Population (:func:`_trial_population`): the members newly exposed to the item at time zero
    (their first activity of an active day) whose trial outcome is decidable, each at that trial
    day ``d`` (the calendar day of the first exposure). Value: the mean recorded retention at
    ``d + _HORIZON_DAYS`` (:func:`_recorded_retention` read there) minus the mean in the
    counterfactual where that first view did not happen and the item's first view is instead the
    next one the view process produces after it (a fresh Exp(1) from `rng`, one draw per member
    of the block, inverted by `_first_view_from`): what the trial's controls, active that day and
    not exposed by their first activity, stand for (they may still meet the item later that
    day). Without ``known.first_activity_us`` (every exposure on an active day counts) the
    next view comes from the end of the grace period (the start of day ``d + 1``) on instead.
    The lifetime is re-simulated from the exposure time ``t0`` with the member's own Exp(1)
    draw less the hazard used up by then (``H(t0) + H_cf(T) - H_cf(t0) = E``); other items,
    everything before ``t0`` and the recording (``last_seen_at`` known or not) unchanged. Items
    without effect (hazard ratio 1) have value 0 (and `rng` None: nothing drawn).

    `first_at`: the first exposures in days since the start (`first_since_join` plus joining,
    as the generator drew them, so the trial day is the tables' own).
    """
    item = items[column] if column < len(items) else None
    population, day = _trial_population(first_at[:, column], published, join, lifetime, days, known)
    n = int(population.sum())
    result: dict[str, Any] = {
        "horizon_days": _HORIZON_DAYS,
        "grace_days": _TRIAL_GRACE_DAYS,
        "inactive_days": _INACTIVE_DAYS,
        "value": 0.0,
        "n": n,
    }
    if item is None or item.hazard_ratio == 1.0 or rng is None:
        return result
    if n == 0:
        result["value"] = None
        return result
    x = rng.standard_exponential(len(join))
    who = np.flatnonzero(population)
    if known.first_activity_us is not None:
        # time zero: a control may meet the item later that day, so the view moves to the
        # next one the process brings after the removed one
        after = np.maximum(first_at[who, column], item.published)
    else:
        after = np.maximum((day[who] + _TRIAL_GRACE_DAYS).astype(np.float64), item.published)
    exposed_at = first_since_join[who, column]
    end = day[who] + float(_HORIZON_DAYS) - join[who]
    result["value"] = _coupled_difference(
        who, exposed_at, after, end, first_since_join, column, items, join, reach, hazard_e,
        scale, lifetime, days, x, known, views,
    )  # fmt: skip
    return result


def _coupled_difference(
    who: npt.NDArray[np.int64],
    t0: FloatArray,
    after: FloatArray,
    end: float | FloatArray,
    first_since_join: FloatArray,
    column: int,
    items: Sequence[_Item],
    join: FloatArray,
    reach: FloatArray,
    hazard_e: FloatArray,
    scale: FloatArray,
    lifetime: FloatArray,
    days: int,
    x: FloatArray,
    known: _KnownAtLandmark,
    views: str,
) -> float:
    """Mean recorded retention of the members `who` at `end` days after joining minus the mean
    in their coupled counterfactual: the item's first view moved to the next one the view
    process produces from `after` on (the member's Exp(1) `x`), and the lifetime of a member
    alive at `t0` (days since joining) re-simulated from there with the same draw less the hazard
    used up: it solves ``H(t0) + H_cf(T) - H_cf(t0) = E`` (invert H_cf at
    ``E - H(t0) + H_cf(t0)``, which _lifetimes does with that draw). Other items, everything
    before `t0` and the recording (``last_seen_at`` known or not) unchanged."""
    item = items[column]
    later = _first_view_from(item, after, join[who], reach[who], x[who], days, views) - join[who]
    actual = first_since_join[who][:, : len(items)]
    counterfactual = actual.copy()
    counterfactual[:, column] = later
    used = _cumulative_hazard(t0, scale[who], actual, items)
    restart = _cumulative_hazard(t0, scale[who], counterfactual, items)
    lifetime_cf = np.where(
        lifetime[who] > t0,
        _lifetimes(
            np.maximum(hazard_e[who] - used + restart, 0.0), scale[who], counterfactual, items
        ),
        lifetime[who],
    )
    rate, seen = known.rate[who], known.seen_known[who]
    visits = known.views_are_visits
    factual = _recorded_retention(
        lifetime[who], join[who], rate, seen, days,
        (items, reach[who], actual) if visits else None, end,
    )  # fmt: skip
    without = _recorded_retention(
        lifetime_cf, join[who], rate, seen, days,
        (items, reach[who], counterfactual) if visits else None, end,
    )  # fmt: skip
    return float(np.mean(factual) - np.mean(without))


def _item_effects(
    items: Sequence[_Item],
    badges: Sequence[_Item],
    first_view: FloatArray,
    earned: Sequence[FloatArray],
    join: FloatArray,
    reach: FloatArray,
    hazard_e: FloatArray,
    scale: FloatArray,
    lifetime: FloatArray,
    truth_seed: np.random.SeedSequence,
    days: int,
    known: _KnownAtLandmark | None = None,
    views: str = "visits",
) -> list[tuple[dict[str, Any], ...]]:
    """Per proof item (content, then badges) of one block of members: the ATTs on retention
    (``att_retention_difference``, ``landmark_att``, with `known` also ``active_landmark_att``
    and, when `known` records the active days, ``trial_att``) among that block's members.

    The counterfactual later views of `landmark_att` come from one stream per content item,
    spawned from the block's `truth_seed` (which the tables never use); those of the later
    entries from further streams spawned after them, so adding an entry changes no earlier
    entry's draws. Blocks are combined with :func:`_combine_effects`.
    """
    first_at = np.hstack([first_view, np.column_stack(earned)])
    first_at[np.isnan(first_at)] = np.inf
    first_since_join = first_at - join[:, None]
    later_views = [np.random.default_rng(s) for s in truth_seed.spawn(len(items))]
    # a second set of streams (spawned after the first, so landmark_att keeps its draws)
    active_views = [np.random.default_rng(s) for s in truth_seed.spawn(len(items))]
    # a third set (spawned after the other two, so they keep theirs): trial_att's later views
    trial_views = [np.random.default_rng(s) for s in truth_seed.spawn(len(items))]
    out: list[tuple[dict[str, Any], ...]] = []
    for column, item in enumerate([*items, *badges]):
        att = _att_retention_difference(
            first_since_join,
            column,
            items,
            item.published,
            join,
            hazard_e,
            scale,
            lifetime,
            days,
        )
        landmark = _landmark_att(
            first_since_join,
            column,
            items,
            join,
            reach,
            hazard_e,
            scale,
            lifetime,
            days,
            later_views[column] if column < len(items) else None,
            views,
        )
        if known is None:
            out.append((att, landmark))
            continue
        active = _active_landmark_att(
            first_since_join,
            column,
            items,
            join,
            reach,
            hazard_e,
            scale,
            lifetime,
            days,
            active_views[column] if column < len(items) else None,
            known,
            views,
        )
        if known.active_days is None:
            out.append((att, landmark, active))
            continue
        trial = _trial_att(
            first_since_join,
            first_at,
            column,
            items,
            item.published,
            join,
            reach,
            hazard_e,
            scale,
            lifetime,
            days,
            trial_views[column] if column < len(items) else None,
            known,
            views,
        )
        out.append((att, landmark, active, trial))
    return out


def _combine_effects(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One ATT over all members from the ATTs of the blocks (a mean over the population, so
    the blocks' values weighted by their population sizes ``n``).

    The value is 0.0 for an item without effect, None for an item with an effect but nobody
    in the population.
    """
    n = sum(int(p["n"]) for p in parts)
    combined = {k: v for k, v in parts[0].items() if k not in ("value", "n")}
    if n == 0:
        value = None if any(p["value"] is None for p in parts) else 0.0
    else:
        value = float(sum(p["value"] * p["n"] for p in parts if p["n"]) / n)
    combined["value"] = value
    combined["n"] = n
    return combined


def _item_truth(
    items: Sequence[_Item],
    badges: Sequence[_Item],
    effects: Sequence[Sequence[tuple[dict[str, Any], ...]]],
    start_dt: datetime,
) -> list[dict[str, Any]]:
    """Per proof item (content and badges): hazard ratio and ATTs on retention.

    `effects` holds the result of :func:`_item_effects` for every block of members.
    """
    out = []
    for column, item in enumerate([*items, *badges]):
        entry: dict[str, Any] = {
            "item_id": item.item_id,
            "kind": item.kind,
            "title": item.title,
            "published_at": _iso(start_dt, item.published),
            "hazard_ratio": float(item.hazard_ratio),
        }
        if item.rule is not None:
            entry["rule"] = item.rule
        else:
            entry["view_rate_per_day"] = item.view_rate
            entry["view_rate_decay_days"] = item.decay_days
        entry["att_retention_difference"] = _combine_effects([b[column][0] for b in effects])
        entry["landmark_att"] = _combine_effects([b[column][1] for b in effects])
        if all(len(b[column]) > 2 for b in effects):
            entry["active_landmark_att"] = _combine_effects([b[column][2] for b in effects])
        if all(len(b[column]) > 3 for b in effects):
            entry["trial_att"] = _combine_effects([b[column][3] for b in effects])
        out.append(entry)
    return out


def _notes(
    milestones: Sequence[_Milestone], items: Sequence[_Item], views: str = "visits"
) -> list[str]:
    """Plain-words summary of what was planted."""
    lifted = [f"{m.title} (+{m.uplift:.0%})" for m in milestones if m.uplift]
    flat = [m.title for m in milestones if not m.uplift]
    spurts = [m.title for m in milestones if m.spurt_interval is not None]
    effective = [
        f"{it.item_id} {it.kind} (hazard ratio {it.hazard_ratio:g})"
        for it in items
        if it.hazard_ratio != 1.0
    ]
    notes = [
        "Signups follow an upward trend with fewer signups at weekends, a yearly season, "
        "day-level noise and a time-of-day profile; the total is exactly the requested number.",
        "Announcements that really lift signups over the 14 days after them: "
        + (", ".join(lifted) or "none")
        + ".",
        "Announcements with no effect on signups: " + (", ".join(flat) or "none") + ".",
        "A growth spurt (not caused by any announcement) starts 28 days before and runs "
        "through the window of: "
        + (", ".join(spurts) or "none")
        + "; comparing the 14 days after with the weeks before shows a lift although the "
        "true effect is zero.",
        "Round-number crossings that were not announced are listed as placebos.",
        "Latent engagement (lognormal, higher for referral and pro members, lower for ads) "
        "raises activity, exposure to content and lifetime: naive comparisons of exposed and "
        "unexposed members are confounded.",
        (
            "Views happen during visits: each view of a content item is also an activity row of "
            "the member at the same time, and members come across an item at their visit rate "
            "(which grows with engagement and is higher in the first weeks) times the item's "
            "reach, so engaged members see more, but given the activity the data record, "
            "whether a member saw an item does not depend on their latent engagement."
            if views == "visits"
            else "Views are drawn independently of the activity (rate ~ engagement ** 0.8) and "
            "leave no activity row: being exposed carries information about engagement that no "
            "recorded data measure (unmeasurable confounding)."
        ),
        "Lifetimes are Weibull (shape 0.6: many leave early); most churners leave silently, "
        "about a third have left_at; last_seen_at is missing for about 20 % of members.",
        "Content items that change the hazard of leaving from the first view on: "
        + (", ".join(effective) or "none")
        + "; every other item has hazard ratio 1.",
        "Badges have no effect on lifetime (hazard ratio 1), but holders had to stay long "
        "enough to earn them (immortal-time bias), so they look far more loyal.",
        "att_retention_difference of a proof item: among members still there 30 days after "
        "joining who saw the item in those 30 days (and whose day 120 is in the period), the "
        "share still there at day 120 minus the share that would be if the item had no effect "
        "on them at all.",
        "landmark_att of a proof item: in the same members, the share still there at day 120 "
        "minus the share that would be if, still there at day 30, they had not seen the item "
        "in their first 30 days but first seen it whenever their viewing would have brought "
        "it later, which is what comparing them with similar members who did not see it early "
        "estimates.",
        "active_landmark_att of a proof item (what the impact analysis estimates): among members "
        "active in the week before day 30 with no recorded departure before it (whose day 120 "
        "is decidable 30 quiet days later), exposed to the item in their first 30 days, the "
        "share recorded as still there at day 120 minus that share when the same members are "
        "re-simulated from day 30 on with the same random draws and the early exposure "
        "removed (the first view moved to the next one from day 30 on); the recorded share is "
        "the exact expectation over activity after day 120 (the visits' rows included when "
        "views happen during visits; re-activation bursts left out) given the lifetime and "
        "the first views.",
        "trial_att of a proof item (what the sequential trials of the impact analysis "
        "estimate): among members first exposed to the item on a day they were active (no "
        "recorded departure before it, that day published and decidable: it ends at least 90 "
        "days plus 30 quiet days before the data's latest timestamp), the share recorded as "
        "still there 90 days after the start of that day minus that share when the same members "
        "are re-simulated from the exposure on with the same random draws and that first view "
        "removed (the first view moved to the next one from the following day on, as for the "
        "members active that day and not yet exposed who are compared with them); the recorded "
        "share is computed as for active_landmark_att.",
    ]
    reactivating = [m.title for m in milestones if m.reactivation != 1.0]
    if reactivating:
        notes.append(
            "Existing active members are more active in the 14 days after: "
            + ", ".join(reactivating)
            + f" (activity x{_REACTIVATION_MULTIPLIER:g}); "
            "it has no effect on signups or lifetimes."
        )
    return notes


def _truth(
    *,
    members: int,
    seed: int,
    start: date,
    days: int,
    activity_scale: float,
    start_dt: datetime,
    milestones: Sequence[_Milestone],
    join: FloatArray,
    items: Sequence[_Item],
    badges: Sequence[_Item],
    effects: Sequence[Sequence[tuple[dict[str, Any], ...]]],
    counts: dict[str, int],
    rows: dict[str, int],
    views: str = "visits",
) -> dict[str, Any]:
    """The JSON-serialisable ground truth.

    `effects` holds :func:`_item_effects` of every block of members; `counts` the member counts
    of the summary (``churned``, ``left_explicitly``, ``last_seen_missing``,
    ``members_without_activity``) summed over the blocks; `rows` the rows of every table.
    """
    parameters: dict[str, Any] = {
        "members": int(members),
        "seed": int(seed),
        "start": start.isoformat(),
        "days": int(days),
        "version": DEMO_VERSION,
    }
    if activity_scale != 1.0:
        parameters["activity_scale"] = float(activity_scale)
    if views != "visits":
        parameters["views"] = views
    return {
        "parameters": parameters,
        "as_of": _iso(start_dt, float(days)),
        "signups": {
            "annual_growth_factor": _ANNUAL_GROWTH,
            "weekday_factors": dict(
                zip(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), _WEEKDAY_FACTOR, strict=True)
            ),
            "uplift_definition": "during [announced_at, announced_at + window_days) the signup "
            "intensity is multiplied by 1 + true_uplift",
            "expected_signups_definition": "expected signups in the window given the signups "
            "before announced_at and the fixed total, with and without the uplift; as the total "
            "is fixed their ratio is slightly below 1 + true_uplift",
            "round_number_announcements": "the day after the realised count crosses the value, "
            "between 09:00 and 17:00 UTC",
        },
        "milestones": _milestone_truth(milestones, join, start_dt),
        "unannounced_round_numbers": _unannounced_truth(milestones, join, members, start_dt),
        "proof_items": _item_truth(items, badges, effects, start_dt),
        "engagement": {
            "distribution": "lognormal",
            "mu": _ENGAGEMENT_MU,
            "sigma": _ENGAGEMENT_SIGMA,
            "channel_shift": dict(zip(_CHANNELS, _CHANNEL_SHIFT, strict=True)),
            "pro_shift": _PRO_SHIFT,
            "activity_rate_per_day": f"{_ACTIVITY_RATE * activity_scale:g} * engagement",
            **_exposure_description(views),
        },
        "lifetime": {
            "distribution": "weibull",
            "shape": _WEIBULL_SHAPE,
            "scale_days": f"{_WEIBULL_SCALE_DAYS:g} * engagement",
            "hazard": "baseline times the product of the hazard ratios of items first viewed "
            "before t",
        },
        "summary": {
            "members": int(members),
            "churned": counts["churned"],
            "left_explicitly": counts["left_explicitly"],
            "last_seen_missing": counts["last_seen_missing"],
            "members_without_activity": counts["members_without_activity"],
            "rows": dict(rows),
        },
        "notes": _notes(milestones, items, views),
    }


def _exposure_description(views: str) -> dict[str, str]:
    """How members come across content, for the truth's ``engagement`` section."""
    if views != "visits":
        return {
            "exposure_rate": f"view_rate * engagement ** {_INDEPENDENT_ENGAGEMENT_EXPONENT} * "
            "exp(-age / decay_days)",
            "views": "drawn independently of the activity (views leave no activity row), plus "
            "up to two repeats in the 90 days after the first view",
        }
    power = _ACTIVITY_ENGAGEMENT_EXPONENT
    exponent = "" if power == 1.0 else f" ** {power:g}"
    return {
        "activity_shape": f"the activity rate is multiplied by 1 + {_EARLY_BOOST:g} * "
        f"exp(-tenure / {_EARLY_BOOST_DAYS:g} days)",
        "exposure_rate": f"view_rate * engagement{exponent} * (1 + {_EARLY_BOOST:g} * "
        f"exp(-tenure / {_EARLY_BOOST_DAYS:g} days)) * exp(-age / decay_days)",
        "views": "during visits: every view of an item is also an activity row of the member "
        "(the usual kind mix) at the same time, and the view rate is the member's visit rate "
        "(engagement and tenure shape of the activity) times the item's reach; the first view "
        f"and at most {_MAX_REPEAT_VIEWS} more per member and item are exposure rows",
    }
