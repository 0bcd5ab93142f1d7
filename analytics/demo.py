"""Seeded synthetic community with planted, known effects.

The generator simulates an online community over a period of days: signups with a trend, a
weekday and time-of-day pattern, milestone announcements (some of which really lift signups),
members with a latent engagement that drives both their activity and their lifetime, social-proof
content they are exposed to (a few items truly change retention) and badges (which do not, but
look as if they did). The ground truth is returned next to the tables so that analyses can be
checked for finding what was planted and nothing else.

All times are handled internally as float64 days since the start of the period and converted to
UTC microsecond timestamps only when the tables are built. The module does not write files.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = ["DEMO_VERSION", "DemoCommunity", "generate_demo"]

DEMO_VERSION = "1.0.0"

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_US_PER_DAY = 86_400_000_000
_TIMESTAMP = pl.Datetime("us", "UTC")

# --- signups -------------------------------------------------------------------------------
_ANNUAL_GROWTH = 2.4  # expected signups per day grow by this factor per year
_WEEKDAY_FACTOR = (1.08, 1.10, 1.08, 1.04, 0.96, 0.72, 0.76)  # Monday .. Sunday
_SEASON_AMPLITUDE = 0.08  # yearly cycle, high in late January
_DAILY_NOISE_SHAPE = 80.0  # gamma day-level noise, sd = 1 / sqrt(shape) ~ 11 %
_HOUR_PROFILE_AMPLITUDE = 0.55  # time of day (UTC), peak at 15:00

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

# --- members -------------------------------------------------------------------------------
_CHANNELS = ("organic", "search", "referral", "ads", "social")
_CHANNEL_P = (0.34, 0.24, 0.14, 0.18, 0.10)
_CHANNEL_SHIFT = (0.10, 0.0, 0.35, -0.35, -0.15)  # on log engagement
_PLANS = ("free", "pro")
_PRO_P_BY_CHANNEL = (0.10, 0.09, 0.16, 0.06, 0.07)
_PRO_SHIFT = 0.45
_COUNTRIES = ("US", "GB", "DE", "FR", "IN", "BR", "CA", "NL")
_COUNTRY_P = (0.36, 0.12, 0.10, 0.07, 0.14, 0.09, 0.07, 0.05)
_ENGAGEMENT_MU = -0.25
_ENGAGEMENT_SIGMA = 0.8

# --- lifetime ------------------------------------------------------------------------------
_WEIBULL_SHAPE = 0.6
_WEIBULL_SCALE_DAYS = 120.0  # at engagement 1
_SCALE_ENGAGEMENT_EXPONENT = 1.0
_FAR_DAYS = 1e9  # stands in for "never" in the cumulative-hazard arithmetic
_EXPLICIT_LEAVE_P = 1 / 3
_LAST_SEEN_NULL_P = 0.20
_LAST_SEEN_RECENT_DAYS = 3.0

# --- activity ------------------------------------------------------------------------------
_ACTIVITY_KINDS = ("post", "comment", "reaction", "login", "event")
_ACTIVITY_KINDS_P = (0.09, 0.17, 0.28, 0.43, 0.03)
_POST = 0
_ACTIVITY_RATE = 0.13  # rows per active day at engagement 1
_ACTIVITY_ENGAGEMENT_EXPONENT = 1.0
# Activity is a Poisson process with rate r * (1 + boost * exp(-tenure / boost_days)): busier in
# the first weeks, then steady. Its rate depends on tenure only, never on how long the member will
# stay, so early activity carries no information from the future.
_EARLY_BOOST = 1.5
_EARLY_BOOST_DAYS = 30.0

# --- proof items and exposures -------------------------------------------------------------
_EXPOSURE_ENGAGEMENT_EXPONENT = 0.8
_MAX_REPEAT_VIEWS = 2
_REPEAT_VIEW_P = 0.22  # per possible repeat, at engagement 1 (times engagement ** 0.5)
_REPEAT_HORIZON_DAYS = 90.0
# kind, published (fraction of the period; 0 = launch day), hazard ratio, first-view rate per
# day at engagement 1, decay of that rate (days), title
_CONTENT = (
    ("testimonial", 0.00, 0.60, 0.0110, 240.0, "“I landed my first client here” — Maria, designer"),
    ("testimonial", 0.00, 1.00, 0.0060, 240.0, "“Code reviews made me a better engineer” — Dev"),
    ("testimonial", 0.15, 1.00, 0.0050, 200.0, "“Finally, people who get remote work” — Aisha"),
    ("testimonial", 0.30, 1.00, 0.0050, 200.0, "“From bootcamp to first job in 4 months” — Tom"),
    ("testimonial", 0.45, 1.00, 0.0045, 200.0, "“My go-to place for honest feedback” — Lena"),
    ("testimonial", 0.60, 1.00, 0.0045, 200.0, "“We hired two people from here” — Kenji, founder"),
    ("case_study", 0.05, 0.75, 0.0060, 300.0, "Case study: Acme halved onboarding with mentoring"),
    ("case_study", 0.35, 1.00, 0.0035, 300.0, "Case study: from 0 to 10k newsletter subscribers"),
    ("case_study", 0.70, 1.00, 0.0035, 300.0, "Case study: a remote team's weekly rituals"),
    ("influencer", 0.20, 1.25, 0.0150, 60.0, "@growthwithsam: “this community will 10x you”"),
    ("influencer", 0.50, 1.00, 0.0120, 60.0, "Video: why I joined — a creator's honest review"),
    ("influencer", 0.75, 1.00, 0.0120, 60.0, "Thread: 5 communities worth your time"),
    ("ugc", 0.25, 1.00, 0.0040, 150.0, "Member showcase: portfolio reviews"),
    ("ugc", 0.65, 1.00, 0.0040, 150.0, "Member showcase: side projects that shipped"),
    ("mention", 0.40, 1.00, 0.0100, 45.0, "Press mention: “online communities to watch”"),
)
_HELPFUL_P = 0.05
_PROLIFIC_POSTS = 25
_YEARLING_DAYS = 365.0

# --- truth ---------------------------------------------------------------------------------
_LANDMARK_DAYS = 30
_HORIZON_DAYS = 90


@dataclass(frozen=True)
class DemoCommunity:
    """A generated community: its tables, the planted truth and the end of the period.

    Attributes
    ----------
    tables : dict of str to polars.DataFrame
        ``"members"``, ``"activity"``, ``"proof_items"``, ``"exposures"`` and
        ``"milestones"``, following the project's data contract.
    truth : dict
        JSON-serialisable description of everything that was planted (timestamps as ISO 8601
        strings ending in ``"Z"``).
    as_of : datetime
        Aware UTC datetime at the end of the simulated period; every timestamp is before it.
    """

    tables: dict[str, pl.DataFrame]
    truth: dict[str, Any]
    as_of: datetime


@dataclass(frozen=True)
class _Item:
    """A proof item and how members come across it (days relative to the start)."""

    item_id: str
    kind: str
    title: str
    published: float
    hazard_ratio: float = 1.0
    view_rate: float = 0.0  # first-view rate per day at engagement 1, at publication
    decay_days: float = 1.0  # the rate decays as exp(-age / decay_days)
    rule: str | None = None  # badges only


@dataclass(frozen=True)
class _Milestone:
    """A milestone announcement (days relative to the start)."""

    title: str
    channel: str
    day: float
    kind: str  # "round_number" or "other"
    value: int | None = None
    uplift: float = 0.0
    spurt: bool = False
    reactivation: float = 1.0  # activity multiplier of active members in the window
    hour_of_day: int = 15  # of the announcement (UTC)
    spurt_interval: tuple[float, float] | None = None  # realised growth spurt (days)
    expected_window: float = 0.0  # expected signups in the window given the past
    expected_window_without: float = 0.0  # the same without this announcement's uplift


@dataclass(frozen=True)
class _Members:
    """Member-level arrays, indexed in order of joining."""

    join: FloatArray
    engagement: FloatArray
    channel: npt.NDArray[np.int8]
    plan: npt.NDArray[np.int8]
    country: npt.NDArray[np.int8]


@dataclass(frozen=True)
class _Activity:
    """Activity rows, sorted by member and time."""

    member: npt.NDArray[np.int32]
    time: FloatArray
    kind: npt.NDArray[np.uint8]


@dataclass(frozen=True)
class _Exposures:
    """Exposure rows (views and earned badges), sorted by member and time."""

    member: npt.NDArray[np.int32]
    item: npt.NDArray[np.int16]  # index into content items followed by badges
    time: FloatArray


# =========================================================================================
# public entry point
# =========================================================================================


def generate_demo(
    *,
    members: int = 5000,
    seed: int = 7,
    start: date = date(2024, 11, 1),
    days: int = 730,
    progress: Callable[[str, float], None] | None = None,
) -> DemoCommunity:
    """Generate a synthetic community with planted, known effects.

    Parameters
    ----------
    members : int, default 5000
        Exact number of members who sign up during the period (at least 50).
    seed : int, default 7
        Seed of the random generator; the same arguments give identical tables.
    start : datetime.date, default 2024-11-01
        First day of the period (00:00 UTC).
    days : int, default 730
        Length of the period in days (at least 120).
    progress : callable, optional
        Called as ``progress(step_description, fraction_done)`` between stages.

    Returns
    -------
    DemoCommunity
        The tables, the truth and ``as_of`` (the end of the period, UTC).

    Raises
    ------
    ValueError
        If an argument is out of range.

    Notes
    -----
    What is planted (details in ``truth["notes"]``): some milestone announcements lift signups
    over the 14 days after them, others do not (one of them follows a growth spurt); latent
    engagement drives activity, exposure to content and lifetime (confounding); two or three
    content items change the hazard of leaving after the first view; badges have no effect.
    """
    _validate(members=members, seed=seed, start=start, days=days)
    # fractions follow the measured share of each stage at 1,000,000 members
    report = progress if progress is not None else _ignore_progress
    # eight streams for the tables; the ninth child only feeds the truth, so adding to the truth
    # never changes the tables
    *table_seeds, truth_seed = np.random.SeedSequence(seed).spawn(9)
    streams = [np.random.default_rng(s) for s in table_seeds]
    start_dt = datetime(start.year, start.month, start.day, tzinfo=UTC)

    report("Planning signups and milestones", 0.0)
    base = _base_signup_intensity(start, days, streams[0])
    planned = _plan_milestones(base, members, start, days, streams[0])

    report("Drawing members", 0.01)
    join, milestones = _draw_signups(base, members, planned, streams[1])
    people = _draw_member_attributes(join, streams[1])

    report("Drawing exposures to content", 0.03)
    items = _content_catalogue(days)
    first_view = _potential_first_views(people, items, days, streams[2])

    report("Drawing lifetimes", 0.13)
    hazard_e = streams[3].standard_exponential(members)
    scale = _WEIBULL_SCALE_DAYS * people.engagement**_SCALE_ENGAGEMENT_EXPONENT
    lifetime = _lifetimes(hazard_e, scale, first_view - join[:, None], items)
    end_active = np.minimum(join + lifetime, float(days))

    report("Drawing activity", 0.24)
    activity = _draw_activity(people, end_active, milestones, streams[4])

    report("Awarding badges", 0.67)
    badges = _badge_catalogue()
    earned = _earn_badges(people, lifetime, activity, days, streams[5])

    report("Building tables", 0.68)
    exposures = _exposure_rows(
        _view_rows(people, first_view, end_active, streams[6]), earned, len(items)
    )
    ids = _member_ids(members)
    tables = {
        "members": _members_table(
            ids, people, lifetime, end_active, [activity, exposures], days, start_dt, streams[7]
        ),
        "activity": _activity_table(ids, activity, start_dt, days),
        "proof_items": _proof_items_table([*items, *badges], start_dt, days),
        "exposures": _exposures_table(ids, exposures, items, badges, start_dt, days),
        "milestones": _milestones_table(milestones, start_dt, days),
    }

    report("Computing the truth", 0.91)
    truth = _truth(
        members=members,
        seed=seed,
        start=start,
        days=days,
        start_dt=start_dt,
        milestones=milestones,
        join=join,
        items=items,
        badges=badges,
        first_view=first_view,
        earned=earned,
        hazard_e=hazard_e,
        scale=scale,
        lifetime=lifetime,
        reach=people.engagement**_EXPOSURE_ENGAGEMENT_EXPONENT,
        truth_seed=truth_seed,
        activity=activity,
        tables=tables,
    )
    report("Done", 1.0)
    return DemoCommunity(tables=tables, truth=truth, as_of=start_dt + timedelta(days=days))


def _ignore_progress(step: str, fraction: float) -> None:
    """Progress callback that does nothing."""


def _validate(*, members: int, seed: int, start: date, days: int) -> None:
    """Raise ValueError with a message saying what to change if an argument is unusable."""
    for name, value in (("members", members), ("seed", seed), ("days", days)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    if members < 50:
        raise ValueError(f"members must be at least 50 (got {members}); increase members")
    if days < 120:
        raise ValueError(f"days must be at least 120 (got {days}); increase days")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer (got {seed}); use seed >= 0")
    if isinstance(start, datetime) or not isinstance(start, date):
        raise ValueError(f"start must be a datetime.date (not a datetime), got {start!r}")


# =========================================================================================
# signups and milestones
# =========================================================================================


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


def _draw_member_attributes(join: FloatArray, rng: np.random.Generator) -> _Members:
    """Signup attributes and latent engagement (lognormal, shifted by channel and plan)."""
    n = len(join)
    channel = rng.choice(len(_CHANNELS), size=n, p=_CHANNEL_P).astype(np.int8)
    plan = (rng.random(n) < np.asarray(_PRO_P_BY_CHANNEL)[channel]).astype(np.int8)
    country = rng.choice(len(_COUNTRIES), size=n, p=_COUNTRY_P).astype(np.int8)
    log_engagement = (
        _ENGAGEMENT_MU
        + np.asarray(_CHANNEL_SHIFT)[channel]
        + _PRO_SHIFT * plan
        + _ENGAGEMENT_SIGMA * rng.standard_normal(n)
    )
    return _Members(
        join=join, engagement=np.exp(log_engagement), channel=channel, plan=plan, country=country
    )


# =========================================================================================
# proof items, exposures and lifetimes
# =========================================================================================


def _content_catalogue(days: int) -> list[_Item]:
    """The content proof items with their publication days, reach and hazard ratios.

    Launch-day items go live at 06:00 UTC; later ones at 09:00 or 14:00 UTC.
    """
    items = []
    for i, (kind, fraction, hazard_ratio, rate, decay, title) in enumerate(_CONTENT, start=1):
        hour = 6 if fraction == 0.0 else 9 + 5 * (i % 2)
        items.append(
            _Item(
                item_id=f"p{i:03d}",
                kind=kind,
                title=title,
                published=math.floor(fraction * days) + hour / 24,
                hazard_ratio=hazard_ratio,
                view_rate=rate,
                decay_days=decay,
            )
        )
    return items


def _badge_catalogue() -> list[_Item]:
    """The badges: available from the start, no effect on lifetime."""
    rules = [
        ("First post", "earned at the member's first post"),
        (
            "Helpful",
            f"earned at the member's first post marked helpful (each post is marked "
            f"helpful with probability {_HELPFUL_P})",
        ),
        ("Prolific", f"earned at the member's {_PROLIFIC_POSTS}th post"),
        ("Yearling", "earned at joined_at + 365 days if the member is still active then"),
    ]
    return [
        _Item(item_id=f"b{i:03d}", kind="badge", title=title, published=0.0, rule=rule)
        for i, (title, rule) in enumerate(rules, start=1)
    ]


def _potential_first_views(
    people: _Members, items: Sequence[_Item], days: int, rng: np.random.Generator
) -> FloatArray:
    """First time each member would view each item if they stayed (days; inf if never).

    The view rate is ``view_rate * engagement ** 0.8 * exp(-age / decay_days)`` from the later
    of joining and publication; the first view is drawn by inverting the integrated rate.
    Views after the end of the period are inf. Whether the member is still there at that time
    is decided later (only views before the end of life become exposures).
    """
    n = len(people.join)
    reach = people.engagement**_EXPOSURE_ENGAGEMENT_EXPONENT
    first = np.full((n, len(items)), np.inf)
    for j, item in enumerate(items):
        begin = np.maximum(people.join, item.published)
        first[:, j] = _first_view_from(item, begin, reach, rng.standard_exponential(n), days)
    return first


def _first_view_from(
    item: _Item, begin: FloatArray, reach: FloatArray, x: FloatArray, days: int
) -> FloatArray:
    """First view of an item at or after `begin` (days; inf if never or not before `days`).

    Inverts the integrated rate ``view_rate * reach * exp(-age / decay_days)`` from `begin`
    (which must not be before publication) at the Exp(1) draws `x`. Views form a Poisson
    process, so what happens after `begin` does not depend on what happened before it.
    """
    total = (
        item.view_rate
        * reach
        * item.decay_days
        * np.exp(-(begin - item.published) / item.decay_days)
    )
    seen = x < total
    t = begin[seen] - item.decay_days * np.log1p(-x[seen] / total[seen])
    column = np.full(len(begin), np.inf)
    column[seen] = np.where(t < days, t, np.inf)
    return column


def _lifetimes(
    hazard_e: FloatArray,
    scale: FloatArray,
    first_since_join: FloatArray,
    items: Sequence[_Item],
    hazard_ratios: Sequence[float] | None = None,
) -> FloatArray:
    """Lifetimes (days) under a Weibull baseline changed by first exposures.

    The cumulative hazard is piecewise: the baseline ``(t / scale) ** shape`` accrues at a
    multiplier that is multiplied by an item's hazard ratio from the member's first exposure to
    it onwards. The lifetime is where the cumulative hazard reaches ``hazard_e`` (Exp(1)).

    Parameters
    ----------
    hazard_e : numpy.ndarray
        Exp(1) draw per member.
    scale : numpy.ndarray
        Weibull scale per member (days).
    first_since_join : numpy.ndarray
        (members, items) potential first-exposure times since joining (inf if never).
    items : sequence of _Item
        Items matching the columns of ``first_since_join``.
    hazard_ratios : sequence of float, optional
        Hazard ratios to use instead of the items' own (for counterfactuals).
    """
    ratios = np.asarray(
        [it.hazard_ratio for it in items] if hazard_ratios is None else hazard_ratios
    )
    active = np.flatnonzero(ratios != 1.0)
    k = _WEIBULL_SHAPE
    if len(active) == 0:
        return np.asarray(scale * hazard_e ** (1.0 / k))
    n = len(scale)
    times = np.minimum(first_since_join[:, active], _FAR_DAYS)
    order = np.argsort(times, axis=1)
    breaks = np.take_along_axis(times, order, axis=1)
    zeros, ones = np.zeros((n, 1)), np.ones((n, 1))
    multiplier = np.hstack([ones, np.cumprod(ratios[active][order], axis=1)])
    base_h = np.hstack([zeros, (breaks / scale[:, None]) ** k])
    cumulative = np.hstack([zeros, np.cumsum(np.diff(base_h, axis=1) * multiplier[:, :-1], axis=1)])
    segment = ((cumulative <= hazard_e[:, None]).sum(axis=1) - 1)[:, None]

    def pick(a: FloatArray) -> FloatArray:
        return np.asarray(np.take_along_axis(a, segment, axis=1)[:, 0])

    base_at_end = pick(base_h) + (hazard_e - pick(cumulative)) / pick(multiplier)
    return np.asarray(scale * base_at_end ** (1.0 / k))


def _cumulative_hazard(
    t: FloatArray, scale: FloatArray, first_since_join: FloatArray, items: Sequence[_Item]
) -> FloatArray:
    """Cumulative hazard at `t` days after joining, the function `_lifetimes` inverts.

    The baseline ``(t / scale) ** shape`` accrues at the product of the hazard ratios of the
    items first viewed before that time (columns of `first_since_join` match `items`).
    """
    ratios = np.asarray([it.hazard_ratio for it in items])
    active = np.flatnonzero(ratios != 1.0)
    k = _WEIBULL_SHAPE
    n = len(scale)
    breaks = np.minimum(first_since_join[:, active], t[:, None])  # later views do not count
    order = np.argsort(breaks, axis=1)
    edges = np.hstack([np.zeros((n, 1)), np.take_along_axis(breaks, order, axis=1), t[:, None]])
    multiplier = np.hstack([np.ones((n, 1)), np.cumprod(ratios[active][order], axis=1)])
    base_h = (edges / scale[:, None]) ** k
    return np.asarray(np.sum(np.diff(base_h, axis=1) * multiplier, axis=1))


def _view_rows(
    people: _Members, first_view: FloatArray, end_active: FloatArray, rng: np.random.Generator
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int16], FloatArray]:
    """Realised "viewed" exposures: first views in the active life plus up to two repeats.

    Returns
    -------
    member, item, time : numpy.ndarray
        One entry per exposure row (not sorted).
    """
    n_items = first_view.shape[1]
    repeat_p = np.minimum(0.7, _REPEAT_VIEW_P * np.sqrt(people.engagement))
    members, item_idx, times = [], [], []
    for j in range(n_items):
        seen = np.flatnonzero(first_view[:, j] < end_active)
        first = first_view[seen, j]
        repeats = rng.binomial(_MAX_REPEAT_VIEWS, repeat_p[seen])
        span = np.minimum(end_active[seen], first + _REPEAT_HORIZON_DAYS) - first
        who = np.repeat(np.arange(len(seen)), repeats)
        later = first[who] + span[who] * rng.random(len(who))
        members.append(np.concatenate([seen, seen[who]]).astype(np.int32))
        times.append(np.concatenate([first, later]))
        item_idx.append(np.full(len(seen) + len(who), j, dtype=np.int16))
    return np.concatenate(members), np.concatenate(item_idx), np.concatenate(times)


# =========================================================================================
# activity and badges
# =========================================================================================


def _sorted_positions(counts: IntArray, rng: np.random.Generator) -> FloatArray:
    """Sorted uniform positions in [0, 1) for consecutive groups of the given sizes.

    Uses exponential spacings (no sort): a group of n sorted uniforms is the normalised
    cumulative sum of n + 1 exponentials.
    """
    n_groups, total = len(counts), int(counts.sum())
    cumulative = np.cumsum(rng.standard_exponential(total + n_groups))
    ends = np.cumsum(counts + 1) - 1  # index of each group's closing spacing
    before = np.concatenate([[0.0], cumulative[ends[:-1]]])
    span = cumulative[ends] - before
    keep = np.ones(total + n_groups, dtype=bool)
    keep[ends] = False
    group = np.repeat(np.arange(n_groups), counts)
    positions = cumulative[keep]
    positions -= before[group]
    positions /= span[group]
    return np.asarray(positions)


def _cumulative_activity(tenure: FloatArray) -> FloatArray:
    """Integral of the activity rate shape 1 + boost * exp(-t / days) from 0 to ``tenure``."""
    return np.asarray(
        tenure + _EARLY_BOOST * _EARLY_BOOST_DAYS * (1 - np.exp(-tenure / _EARLY_BOOST_DAYS))
    )


def _invert_cumulative_activity(target: FloatArray, life: FloatArray) -> FloatArray:
    """The tenures at which the cumulative activity shape reaches ``target`` (Newton steps; the
    shape is increasing and concave, so Newton from below converges monotonically)."""
    t = target / (1 + _EARLY_BOOST)  # a lower bound: the rate never exceeds 1 + boost
    for _ in range(30):
        excess = _cumulative_activity(t) - target
        t = t - excess / (1 + _EARLY_BOOST * np.exp(-t / _EARLY_BOOST_DAYS))
        if np.abs(excess).max(initial=0.0) < 1e-9:
            break
    return np.minimum(np.maximum(t, 0.0), np.nextafter(life, 0))


def _draw_activity(
    people: _Members,
    end_active: FloatArray,
    milestones: Sequence[_Milestone],
    rng: np.random.Generator,
) -> _Activity:
    """Activity rows over each member's active life, plus re-activation bursts.

    A Poisson process over the active life with the member's rate (which grows with engagement)
    times a shape that is higher in the first weeks; re-activating milestones add rows for
    members active during their window.
    """
    n = len(people.join)
    life = end_active - people.join
    rate = _ACTIVITY_RATE * people.engagement**_ACTIVITY_ENGAGEMENT_EXPONENT
    cumulative_life = _cumulative_activity(life)
    counts = rng.poisson(rate * cumulative_life)
    member = np.repeat(np.arange(n, dtype=np.int32), counts)
    target = _sorted_positions(counts, rng) * cumulative_life[member]
    time = people.join[member] + _invert_cumulative_activity(target, life[member])
    kind = _draw_kinds(len(member), _ACTIVITY_KINDS_P, rng)
    base = _Activity(member=member, time=time, kind=kind)
    extras = [
        _reactivation_rows(people, end_active, rate, m, rng)
        for m in milestones
        if m.reactivation != 1.0
    ]
    return _merge_activity(base, extras, people.join, life) if extras else base


def _draw_kinds(n: int, p: Sequence[float], rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    """Activity kind codes drawn with the given proportions."""
    edges = np.cumsum(p)
    edges /= edges[-1]
    return np.searchsorted(edges, rng.random(n), side="right").astype(np.uint8)


def _reactivation_rows(
    people: _Members,
    end_active: FloatArray,
    rate: FloatArray,
    milestone: _Milestone,
    rng: np.random.Generator,
) -> _Activity:
    """Extra activity in a re-activating milestone's window (members active then)."""
    lo = np.maximum(people.join, milestone.day)
    hi = np.minimum(end_active, milestone.day + _WINDOW_DAYS)
    overlap = np.maximum(hi - lo, 0.0)
    counts = rng.poisson((milestone.reactivation - 1.0) * rate * overlap)
    member = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
    time = lo[member] + overlap[member] * _sorted_positions(counts, rng)
    kind = _draw_kinds(len(member), _REACTIVATION_KINDS_P, rng)
    return _Activity(member=member, time=time, kind=kind)


def _merge_activity(
    base: _Activity, extras: Sequence[_Activity], join: FloatArray, life: FloatArray
) -> _Activity:
    """Merge activity parts, each sorted by member and time, into one sorted part."""
    parts = [base, *extras]
    member = np.concatenate([p.member for p in parts])
    time = np.concatenate([p.time for p in parts])
    kind = np.concatenate([p.kind for p in parts])
    # member index plus relative position in the life: sorted within each part, so the
    # stable sort only merges runs
    relative = np.clip((time - join[member]) / life[member], 0.0, 1.0 - 1e-6)
    order = np.argsort(member + relative, kind="stable")
    return _Activity(member=member[order], time=time[order], kind=kind[order])


def _earn_badges(
    people: _Members,
    lifetime: FloatArray,
    activity: _Activity,
    days: int,
    rng: np.random.Generator,
) -> list[FloatArray]:
    """Time each member earned each badge (days; nan if never), in catalogue order."""
    n = len(people.join)
    posts = np.flatnonzero(activity.kind == _POST)
    post_member = activity.member[posts]
    post_time = activity.time[posts]
    members_with_posts, first_index, n_posts = np.unique(
        post_member, return_index=True, return_counts=True
    )

    first_post = np.full(n, np.nan)
    first_post[members_with_posts] = post_time[first_index]

    helpful = np.flatnonzero(rng.random(len(posts)) < _HELPFUL_P)
    helpful_members, helpful_first = np.unique(post_member[helpful], return_index=True)
    first_helpful = np.full(n, np.nan)
    first_helpful[helpful_members] = post_time[helpful[helpful_first]]

    prolific_ok = n_posts >= _PROLIFIC_POSTS
    prolific = np.full(n, np.nan)
    prolific[members_with_posts[prolific_ok]] = post_time[
        first_index[prolific_ok] + _PROLIFIC_POSTS - 1
    ]

    anniversary = people.join + _YEARLING_DAYS
    yearling = np.where((lifetime > _YEARLING_DAYS) & (anniversary < days), anniversary, np.nan)
    return [first_post, first_helpful, prolific, yearling]


# =========================================================================================
# tables
# =========================================================================================


def _timestamps(name: str, day: FloatArray, start_dt: datetime, days: int) -> pl.Series:
    """UTC microsecond timestamps from days since the start, clipped into the period."""
    start_us = int(start_dt.timestamp()) * 1_000_000
    us = np.floor(day * _US_PER_DAY).astype(np.int64)
    np.clip(us, 0, days * _US_PER_DAY - 1, out=us)
    return pl.Series(name, us + start_us).cast(_TIMESTAMP)


def _member_ids(n: int) -> pl.Series:
    """Member ids in order of joining: m0000001, m0000002, ..."""
    width = max(7, len(str(n)))
    return ("m" + pl.int_range(1, n + 1, eager=True).cast(pl.String).str.zfill(width)).alias(
        "member_id"
    )


def _labels(name: str, labels: Sequence[str], codes: npt.NDArray[Any]) -> pl.Series:
    """String column from small integer codes."""
    return pl.Series(name, list(labels), dtype=pl.String).gather(codes)


def _last_time(events: _Activity | _Exposures, n: int) -> FloatArray:
    """Time of each member's last row (-inf without rows); rows sorted by member and time."""
    last = np.full(n, -np.inf)
    counts = np.bincount(events.member, minlength=n)
    has_rows = counts > 0
    last[has_rows] = events.time[(np.cumsum(counts) - 1)[has_rows]]
    return last


def _members_table(
    ids: pl.Series,
    people: _Members,
    lifetime: FloatArray,
    end_active: FloatArray,
    events: Sequence[_Activity | _Exposures],
    days: int,
    start_dt: datetime,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """members: ids, joining, explicit departures, last seen and signup attributes.

    Churners were last seen at the end of their life; members still there in the last few days
    of the period (and never before their last activity or exposure).
    """
    n = len(people.join)
    churned = people.join + lifetime < days
    left = churned & (rng.random(n) < _EXPLICIT_LEAVE_P)
    recent = np.maximum(days - _LAST_SEEN_RECENT_DAYS * rng.random(n), people.join)
    for part in events:
        recent = np.maximum(recent, _last_time(part, n))
    last_seen = np.where(churned, end_active, recent)
    seen_known = rng.random(n) >= _LAST_SEEN_NULL_P
    frame = pl.DataFrame(
        [
            ids,
            _timestamps("joined_at", people.join, start_dt, days),
            _timestamps("left_at", end_active, start_dt, days),
            _timestamps("last_seen_at", last_seen, start_dt, days),
            _labels("channel", _CHANNELS, people.channel),
            _labels("plan", _PLANS, people.plan),
            _labels("country", _COUNTRIES, people.country),
        ]
    )
    return frame.with_columns(
        pl.when(pl.Series(left)).then(pl.col("left_at")).alias("left_at"),
        pl.when(pl.Series(seen_known)).then(pl.col("last_seen_at")).alias("last_seen_at"),
    )


def _activity_table(
    ids: pl.Series, activity: _Activity, start_dt: datetime, days: int
) -> pl.DataFrame:
    """activity: one row per action, sorted by member and time."""
    return pl.DataFrame(
        [
            ids.gather(activity.member),
            _timestamps("occurred_at", activity.time, start_dt, days),
            _labels("kind", _ACTIVITY_KINDS, activity.kind),
        ]
    )


def _proof_items_table(items: Sequence[_Item], start_dt: datetime, days: int) -> pl.DataFrame:
    """proof_items: content items and badges, by publication time."""
    frame = pl.DataFrame(
        [
            pl.Series("item_id", [it.item_id for it in items], dtype=pl.String),
            pl.Series("kind", [it.kind for it in items], dtype=pl.String),
            pl.Series("title", [it.title for it in items], dtype=pl.String),
            _timestamps("published_at", np.asarray([it.published for it in items]), start_dt, days),
        ]
    )
    return frame.sort("published_at", "item_id")


def _exposure_rows(
    views: tuple[npt.NDArray[np.int32], npt.NDArray[np.int16], FloatArray],
    earned: Sequence[FloatArray],
    n_items: int,
) -> _Exposures:
    """Content views and earned badges together, sorted by member and time."""
    member_parts, item_parts, time_parts = [views[0]], [views[1]], [views[2]]
    for b, when in enumerate(earned):
        who = np.flatnonzero(~np.isnan(when)).astype(np.int32)
        member_parts.append(who)
        item_parts.append(np.full(len(who), n_items + b, dtype=np.int16))
        time_parts.append(when[who])
    member = np.concatenate(member_parts)
    time = np.concatenate(time_parts)
    order = np.argsort(time, kind="stable")
    order = order[np.argsort(member[order], kind="stable")]
    return _Exposures(
        member=member[order], item=np.concatenate(item_parts)[order], time=time[order]
    )


def _exposures_table(
    ids: pl.Series,
    exposures: _Exposures,
    items: Sequence[_Item],
    badges: Sequence[_Item],
    start_dt: datetime,
    days: int,
) -> pl.DataFrame:
    """exposures: content views ("viewed") and badges ("earned"), by member and time."""
    catalogue = [*items, *badges]
    return pl.DataFrame(
        [
            ids.gather(exposures.member),
            _labels("item_id", [it.item_id for it in catalogue], exposures.item),
            _timestamps("occurred_at", exposures.time, start_dt, days),
            _labels("kind", ["viewed", "earned"], (exposures.item >= len(items)).astype(np.int8)),
        ]
    )


def _milestones_table(
    milestones: Sequence[_Milestone], start_dt: datetime, days: int
) -> pl.DataFrame:
    """milestones: announcements, by time."""
    return pl.DataFrame(
        [
            pl.Series(
                "milestone_id",
                [f"ms{i:02d}" for i in range(1, len(milestones) + 1)],
                dtype=pl.String,
            ),
            _timestamps(
                "announced_at", np.asarray([m.day for m in milestones], dtype=float), start_dt, days
            ),
            pl.Series("title", [m.title for m in milestones], dtype=pl.String),
            pl.Series("channel", [m.channel for m in milestones], dtype=pl.String),
        ]
    )


# =========================================================================================
# truth
# =========================================================================================


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
    later = _first_view_from(item, after, reach[who], x[who], days) - join[who]
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


def _item_truth(
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
    start_dt: datetime,
) -> list[dict[str, Any]]:
    """Per proof item (content and badges): hazard ratio and ATTs on retention.

    The counterfactual later views of `landmark_att` come from one stream per content item,
    spawned from `truth_seed` (which the tables never use).
    """
    first_since_join = np.hstack([first_view, np.column_stack(earned)]) - join[:, None]
    first_since_join[np.isnan(first_since_join)] = np.inf
    later_views = [np.random.default_rng(s) for s in truth_seed.spawn(len(items))]
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
        entry["att_retention_difference"] = _att_retention_difference(
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
        entry["landmark_att"] = _landmark_att(
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
        )
        out.append(entry)
    return out


def _notes(milestones: Sequence[_Milestone], items: Sequence[_Item]) -> list[str]:
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
    start_dt: datetime,
    milestones: Sequence[_Milestone],
    join: FloatArray,
    items: Sequence[_Item],
    badges: Sequence[_Item],
    first_view: FloatArray,
    earned: Sequence[FloatArray],
    hazard_e: FloatArray,
    scale: FloatArray,
    lifetime: FloatArray,
    reach: FloatArray,
    truth_seed: np.random.SeedSequence,
    activity: _Activity,
    tables: dict[str, pl.DataFrame],
) -> dict[str, Any]:
    """The JSON-serialisable ground truth."""
    churned = join + lifetime < days
    return {
        "parameters": {
            "members": int(members),
            "seed": int(seed),
            "start": start.isoformat(),
            "days": int(days),
            "version": DEMO_VERSION,
        },
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
        "proof_items": _item_truth(
            items,
            badges,
            first_view,
            earned,
            join,
            reach,
            hazard_e,
            scale,
            lifetime,
            truth_seed,
            days,
            start_dt,
        ),
        "engagement": {
            "distribution": "lognormal",
            "mu": _ENGAGEMENT_MU,
            "sigma": _ENGAGEMENT_SIGMA,
            "channel_shift": dict(zip(_CHANNELS, _CHANNEL_SHIFT, strict=True)),
            "pro_shift": _PRO_SHIFT,
            "activity_rate_per_day": f"{_ACTIVITY_RATE} * engagement",
            "exposure_rate": f"view_rate * engagement ** {_EXPOSURE_ENGAGEMENT_EXPONENT} * "
            "exp(-age / decay_days)",
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
            "churned": int(churned.sum()),
            "left_explicitly": int(tables["members"]["left_at"].is_not_null().sum()),
            "last_seen_missing": int(tables["members"]["last_seen_at"].is_null().sum()),
            "members_without_activity": int(members - np.unique(activity.member).size),
            "rows": {name: int(frame.height) for name, frame in tables.items()},
        },
        "notes": _notes(milestones, items),
    }
