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

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import numpy as np

from analytics.demo.activity import _draw_activity, _earn_badges
from analytics.demo.exposures import (
    _EXPOSURE_ENGAGEMENT_EXPONENT,
    _badge_catalogue,
    _content_catalogue,
    _potential_first_views,
    _view_rows,
)
from analytics.demo.lifetime import _SCALE_ENGAGEMENT_EXPONENT, _WEIBULL_SCALE_DAYS, _lifetimes
from analytics.demo.members import _draw_member_attributes
from analytics.demo.milestones import _plan_milestones
from analytics.demo.model import DemoCommunity
from analytics.demo.signups import _base_signup_intensity, _draw_signups
from analytics.demo.tables import (
    _activity_table,
    _exposure_rows,
    _exposures_table,
    _member_ids,
    _members_table,
    _milestones_table,
    _proof_items_table,
)
from analytics.demo.truth import _truth


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
