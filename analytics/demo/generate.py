"""The entry points: the whole community in memory, or block by block.

Whole-community steps (the signup intensity, the milestones, every signup time) are drawn once.
Everything per member (attributes, exposures, lifetimes, activity, badges, the member rows) is
drawn in fixed blocks of :data:`BLOCK_MEMBERS` members in order of joining, each block from its
own child of the seed (``numpy.random.SeedSequence.spawn``), so the same arguments give the same
tables whether they are built in memory (:func:`generate_demo`) or streamed block by block
(:func:`iter_demo_blocks`). The truth is accumulated over the blocks.

All times are handled internally as float64 days since the start of the period and converted to
UTC microsecond timestamps only when the tables are built. The module does not write files.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from analytics.demo.activity import (
    _ACTIVITY_ENGAGEMENT_EXPONENT,
    _ACTIVITY_RATE,
    _draw_activity,
    _earn_badges,
)
from analytics.demo.exposures import (
    VIEWS,
    _badge_catalogue,
    _content_catalogue,
    _potential_first_views,
    _reach,
    _view_rows,
    _visit_views,
)
from analytics.demo.lifetime import _SCALE_ENGAGEMENT_EXPONENT, _WEIBULL_SCALE_DAYS, _lifetimes
from analytics.demo.members import _draw_member_attributes
from analytics.demo.milestones import _plan_milestones
from analytics.demo.model import (
    _US_PER_DAY,
    DemoCommunity,
    FloatArray,
    _Activity,
    _Item,
    _Members,
    _Milestone,
)
from analytics.demo.signups import _base_signup_intensity, _draw_signups
from analytics.demo.tables import (
    _activity_table,
    _exposure_rows,
    _exposures_table,
    _member_ids,
    _members_table,
    _milestones_table,
    _period_us,
    _proof_items_table,
)
from analytics.demo.truth import (
    _LANDMARK_DAYS,
    _RECENCY_DAYS,
    _item_effects,
    _KnownAtLandmark,
    _truth,
)
from analytics.errors import InputError

#: Members per block of per-member draws. A fixed constant (not a function of the memory
#: available): the block size is part of what a seed means.
BLOCK_MEMBERS = 200_000

#: Tables in the order of :attr:`DemoCommunity.tables`; the per-member ones come in blocks.
TABLE_NAMES = ("members", "activity", "proof_items", "exposures", "milestones")
BLOCK_TABLES = ("members", "activity", "exposures")

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class _Community:
    """The whole-community draws every block needs."""

    members: int
    seed: int
    start: date
    days: int
    activity_scale: float
    views: str
    start_dt: datetime
    milestones: list[_Milestone]
    join: FloatArray
    items: list[_Item]
    badges: list[_Item]


class DemoBlocks:
    """A demo community drawn block by block (see :func:`iter_demo_blocks`).

    Attributes
    ----------
    tables : dict of str to polars.DataFrame
        The whole-community tables, ``"proof_items"`` and ``"milestones"``.
    as_of : datetime
        Aware UTC datetime at the end of the simulated period.
    n_blocks : int
        Number of blocks the iteration yields.
    """

    def __init__(self, community: _Community, block_members: int, progress: Progress) -> None:
        self._community = community
        self._block_members = block_members
        self._progress = progress
        self._truth: dict[str, Any] | None = None
        self.n_blocks = math.ceil(community.members / block_members)
        self.as_of = community.start_dt + timedelta(days=community.days)
        self.tables = {
            "proof_items": _proof_items_table(
                [*community.items, *community.badges], community.start_dt, community.days
            ),
            "milestones": _milestones_table(
                community.milestones, community.start_dt, community.days
            ),
        }

    def __iter__(self) -> Iterator[dict[str, pl.DataFrame]]:
        """Yield ``{"members", "activity", "exposures"}`` frames per block, in order of joining;
        when the last block has been yielded, :attr:`truth` is available."""
        c = self._community
        self._truth = None
        # fresh children every time: SeedSequence.spawn counts the children it has made
        block_seeds = _root_seeds(c.seed)[2].spawn(self.n_blocks)
        effects = []
        counts = dict.fromkeys(
            ("churned", "left_explicitly", "last_seen_missing", "members_without_activity"), 0
        )
        rows = dict.fromkeys(TABLE_NAMES, 0)
        rows.update({name: frame.height for name, frame in self.tables.items()})
        for b, block_seed in enumerate(block_seeds):
            lo = b * self._block_members
            hi = min(lo + self._block_members, c.members)
            self._progress(
                f"Drawing members {lo + 1:,} to {hi:,} of {c.members:,}",
                0.02 + 0.96 * b / self.n_blocks,
            )
            tables, block_effects, block_counts = _draw_block(c, lo, hi, block_seed)
            effects.append(block_effects)
            for key, value in block_counts.items():
                counts[key] += value
            for name, frame in tables.items():
                rows[name] += frame.height
            yield tables
        self._progress("Computing the truth", 0.98)
        self._truth = _truth(
            members=c.members,
            seed=c.seed,
            start=c.start,
            days=c.days,
            activity_scale=c.activity_scale,
            views=c.views,
            start_dt=c.start_dt,
            milestones=c.milestones,
            join=c.join,
            items=c.items,
            badges=c.badges,
            effects=effects,
            counts=counts,
            rows=rows,
        )

    @property
    def truth(self) -> dict[str, Any]:
        """The truth (see :attr:`DemoCommunity.truth`), once every block has been drawn.

        Raises
        ------
        RuntimeError
            If the blocks have not all been iterated over yet.
        """
        if self._truth is None:
            raise RuntimeError(
                "the truth is known only after every block was drawn: iterate over all blocks "
                "of the DemoBlocks first"
            )
        return self._truth


# =========================================================================================
# public entry points
# =========================================================================================


def generate_demo(
    *,
    members: int = 5000,
    seed: int = 7,
    start: date = date(2024, 11, 1),
    days: int = 730,
    activity_scale: float = 1.0,
    block_members: int = BLOCK_MEMBERS,
    progress: Progress | None = None,
    views: str = "visits",
) -> DemoCommunity:
    """Generate a synthetic community with planted, known effects, in memory.

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
    activity_scale : float, default 1.0
        Multiplies every member's activity rate (more activity rows, e.g. for benchmarks);
        must be positive.
    block_members : int, default :data:`BLOCK_MEMBERS`
        Members per block of per-member draws; part of what a seed means (leave the default
        unless comparing with a streamed community of the same block size).
    progress : callable, optional
        Called as ``progress(step_description, fraction_done)`` between stages.
    views : {"visits", "independent"}, default "visits"
        How members come across content. ``"visits"``: a view happens during a visit (each
        view is also an activity row; view rates follow the member's visit rate), so given the
        activity the data record, exposure does not depend on latent engagement.
        ``"independent"``: the generator before version 2, views drawn independently of the
        activity (rate ``~ engagement ** 0.8``), so exposure carries information about
        engagement no data measure; kept for the simulation study
        (``benchmarks/sim_impact.py --views independent``).

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
    engagement drives activity, exposure to content and lifetime (confounding; views happen
    during visits, so it confounds through the recorded activity); two or three
    content items change the hazard of leaving after the first view; badges have no effect.
    The tables are the blocks of :func:`iter_demo_blocks` concatenated.
    """
    report = progress if progress is not None else _ignore_progress
    blocks = iter_demo_blocks(
        members=members,
        seed=seed,
        start=start,
        days=days,
        activity_scale=activity_scale,
        block_members=block_members,
        progress=report,
        views=views,
    )
    parts: dict[str, list[pl.DataFrame]] = {name: [] for name in BLOCK_TABLES}
    for block in blocks:
        for name, frame in block.items():
            parts[name].append(frame)
    whole = {
        **blocks.tables,
        **{name: pl.concat(frames, rechunk=True) for name, frames in parts.items()},
    }
    report("Done", 1.0)
    return DemoCommunity(
        tables={name: whole[name] for name in TABLE_NAMES}, truth=blocks.truth, as_of=blocks.as_of
    )


def iter_demo_blocks(
    *,
    members: int = 5000,
    seed: int = 7,
    start: date = date(2024, 11, 1),
    days: int = 730,
    activity_scale: float = 1.0,
    block_members: int = BLOCK_MEMBERS,
    progress: Progress | None = None,
    views: str = "visits",
) -> DemoBlocks:
    """Draw the whole-community part of a demo community and return its blocks of members.

    Parameters are those of :func:`generate_demo`. The signups and milestones are drawn here;
    iterating over the result draws one block of members at a time, so memory stays bounded
    by the block size (plus one float per member).

    Returns
    -------
    DemoBlocks
        ``tables`` (proof items, milestones) and ``as_of`` at once; iterating yields the
        ``members``, ``activity`` and ``exposures`` frames of each block; ``truth`` after the
        last block.

    Raises
    ------
    ValueError
        If an argument is out of range.
    """
    _validate(members=members, seed=seed, start=start, days=days)
    _validate_scale(activity_scale=activity_scale, block_members=block_members)
    if views not in VIEWS:
        raise InputError(f"views must be one of {', '.join(VIEWS)} (got {views!r})")
    report = progress if progress is not None else _ignore_progress
    planning_seed, signup_seed, _ = _root_seeds(seed)
    start_dt = datetime(start.year, start.month, start.day, tzinfo=UTC)

    report("Planning signups and milestones", 0.0)
    planning = np.random.default_rng(planning_seed)
    base = _base_signup_intensity(start, days, planning)
    planned = _plan_milestones(base, members, start, days, planning)

    report("Drawing signup times", 0.01)
    join, milestones = _draw_signups(base, members, planned, np.random.default_rng(signup_seed))
    community = _Community(
        members=members,
        seed=seed,
        start=start,
        days=days,
        activity_scale=float(activity_scale),
        views=views,
        start_dt=start_dt,
        milestones=milestones,
        join=join,
        items=_content_catalogue(days),
        badges=_badge_catalogue(),
    )
    return DemoBlocks(community, block_members, report)


# =========================================================================================
# one block of members
# =========================================================================================


def _root_seeds(seed: int) -> list[np.random.SeedSequence]:
    """The three children of the seed: planning (intensity and milestones), signup times, and
    the parent of the blocks' seeds."""
    return np.random.SeedSequence(seed).spawn(3)


def _draw_block(
    c: _Community, lo: int, hi: int, block_seed: np.random.SeedSequence
) -> tuple[dict[str, pl.DataFrame], list[tuple[dict[str, Any], ...]], dict[str, int]]:
    """Members ``lo`` to ``hi - 1`` (in order of joining): their tables, their part of the
    item truth (:func:`_item_effects`) and their summary counts.

    Seven streams for the tables; the eighth child only feeds the truth, so adding to the truth
    never changes the tables.
    """
    *table_seeds, truth_seed = block_seed.spawn(8)
    streams = [np.random.default_rng(s) for s in table_seeds]
    n = hi - lo
    join = c.join[lo:hi]
    people = _draw_member_attributes(join, streams[0])
    first_view = _potential_first_views(people, c.items, c.days, streams[1], c.views)
    hazard_e = streams[2].standard_exponential(n)
    scale = _WEIBULL_SCALE_DAYS * people.engagement**_SCALE_ENGAGEMENT_EXPONENT
    lifetime = _lifetimes(hazard_e, scale, first_view - join[:, None], c.items)
    end_active = np.minimum(join + lifetime, float(c.days))
    visits = None
    if c.views == "visits":  # every view is a visit: an activity row at the view's time
        views, visits = _visit_views(people, c.items, first_view, end_active, streams[5])
    else:
        views = _view_rows(people, first_view, end_active, streams[5])
    activity = _draw_activity(
        people, end_active, c.milestones, streams[3], c.activity_scale, visits
    )
    earned = _earn_badges(people, lifetime, activity, c.days, streams[4])
    exposures = _exposure_rows(views, earned, len(c.items))
    ids = _member_ids(lo, hi, c.members)
    members_table = _members_table(
        ids, people, lifetime, end_active, [activity, exposures], c.days, c.start_dt, streams[6]
    )
    tables = {
        "members": members_table,
        "activity": _activity_table(ids, activity, c.start_dt, c.days),
        "exposures": _exposures_table(ids, exposures, c.items, c.badges, c.start_dt, c.days),
    }
    effects = _item_effects(
        c.items,
        c.badges,
        first_view,
        earned,
        join,
        _reach(people.engagement, c.views),
        hazard_e,
        scale,
        lifetime,
        truth_seed,
        c.days,
        _known_at_landmark(people, activity, members_table, c.activity_scale, c.views, c.days),
        c.views,
    )
    counts = {
        "churned": int((join + lifetime < c.days).sum()),
        "left_explicitly": int(members_table["left_at"].is_not_null().sum()),
        "last_seen_missing": int(members_table["last_seen_at"].is_null().sum()),
        "members_without_activity": int(n - np.unique(activity.member).size),
    }
    return tables, effects, counts


def _known_at_landmark(
    people: _Members,
    activity: _Activity,
    members_table: pl.DataFrame,
    activity_scale: float,
    views: str,
    days: int,
) -> _KnownAtLandmark:
    """What the truth's population and recorded outcome need (see :class:`_KnownAtLandmark`)."""
    since_join = activity.time - people.join[activity.member]
    window = (since_join >= _LANDMARK_DAYS - _RECENCY_DAYS) & (since_join < _LANDMARK_DAYS)
    active_before = np.zeros(len(people.join), dtype=bool)
    active_before[activity.member[window]] = True
    active_days, first_us = _active_days(activity, days)
    return _KnownAtLandmark(
        active_before=active_before,
        left=members_table["left_at"].is_not_null().to_numpy(),
        seen_known=members_table["last_seen_at"].is_not_null().to_numpy(),
        rate=_ACTIVITY_RATE * activity_scale * people.engagement**_ACTIVITY_ENGAGEMENT_EXPONENT,
        views_are_visits=views == "visits",
        active_days=active_days,
        first_activity_us=first_us,
    )


def _active_days(
    activity: _Activity, days: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The member-days with activity as the activity table dates them (the calendar day of the
    clipped UTC microsecond timestamp, whole days since the start): sorted unique keys
    ``member * 2**32 + day``, and each one's first activity (microseconds since the start)."""
    us = _period_us(activity.time, days)
    keys = activity.member.astype(np.int64) * (1 << 32) + us // _US_PER_DAY
    in_order = (keys[1:] > keys[:-1]) | ((keys[1:] == keys[:-1]) & (us[1:] >= us[:-1]))
    if not in_order.all():  # rows not sorted by member and time
        order = np.lexsort((us, keys))
        keys, us = keys[order], us[order]
    first = np.r_[True, keys[1:] != keys[:-1]] if len(keys) else np.zeros(0, dtype=bool)
    return keys[first], us[first]


def _ignore_progress(step: str, fraction: float) -> None:
    """Progress callback that does nothing."""


def _validate(*, members: int, seed: int, start: date, days: int) -> None:
    """Raise ValueError with a message saying what to change if an argument is unusable."""
    for name, value in (("members", members), ("seed", seed), ("days", days)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise InputError(f"{name} must be an integer, got {value!r}")
    if members < 50:
        raise InputError(f"members must be at least 50 (got {members}); increase members")
    if days < 120:
        raise InputError(f"days must be at least 120 (got {days}); increase days")
    if seed < 0:
        raise InputError(f"seed must be a non-negative integer (got {seed}); use seed >= 0")
    if isinstance(start, datetime) or not isinstance(start, date):
        raise InputError(f"start must be a datetime.date (not a datetime), got {start!r}")


def _validate_scale(*, activity_scale: float, block_members: int) -> None:
    """Raise ValueError if the activity scale or the block size is unusable."""
    if (
        isinstance(activity_scale, bool)
        or not isinstance(activity_scale, int | float | np.integer | np.floating)
        or not math.isfinite(activity_scale)
        or activity_scale <= 0
    ):
        raise InputError(
            f"activity_scale must be a positive number (got {activity_scale!r}); "
            "use e.g. 1.0 for the usual activity, 2.0 for twice as many activity rows"
        )
    if (
        isinstance(block_members, bool)
        or not isinstance(block_members, int | np.integer)
        or block_members < 1
    ):
        raise InputError(
            f"block_members must be a positive integer (got {block_members!r}); "
            f"leave it at the default {BLOCK_MEMBERS:,}"
        )
