"""Activity rows (a Poisson process over each member's active life, plus re-activation
bursts) and the badges members earn from their posts and tenure."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from analytics.demo.milestones import _REACTIVATION_KINDS_P, _WINDOW_DAYS
from analytics.demo.model import FloatArray, IntArray, _Activity, _Members, _Milestone

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
# --- badges (rules of the badge catalogue in exposures.py) ----------------------------------
_HELPFUL_P = 0.05
_PROLIFIC_POSTS = 25
_YEARLING_DAYS = 365.0


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
    activity_scale: float = 1.0,
    visits: _Activity | None = None,
) -> _Activity:
    """Activity rows over each member's active life, plus re-activation bursts and `visits`.

    A Poisson process over the active life with the member's rate (which grows with engagement,
    times `activity_scale`) times a shape that is higher in the first weeks; re-activating
    milestones add rows for members active during their window; `visits` (rows sorted by member
    and time: the visits during which members viewed content) are merged in last.
    """
    n = len(people.join)
    life = end_active - people.join
    rate = _ACTIVITY_RATE * activity_scale * people.engagement**_ACTIVITY_ENGAGEMENT_EXPONENT
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
    if visits is not None:
        extras.append(visits)
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


def _sort_key(
    member: npt.NDArray[np.int32], time: FloatArray, join: FloatArray, life: FloatArray
) -> FloatArray:
    """Member index plus relative position in the life: increasing along rows sorted by
    member and time."""
    relative = np.clip((time - join[member]) / life[member], 0.0, 1.0 - 1e-6)
    return np.asarray(member + relative)


def _merge_activity(
    base: _Activity, extras: Sequence[_Activity], join: FloatArray, life: FloatArray
) -> _Activity:
    """Merge activity parts, each sorted by member and time, into one sorted part.

    The same order as a stable sort of the concatenated parts by :func:`_sort_key`, got by
    inserting each part's rows after the rows already merged with an equal or smaller key.
    """
    merged, key = base, _sort_key(base.member, base.time, join, life)
    for part in extras:
        part_key = _sort_key(part.member, part.time, join, life)
        at = np.searchsorted(key, part_key, side="right") + np.arange(len(part_key))
        rest = np.ones(len(key) + len(part_key), dtype=bool)
        rest[at] = False
        columns = []
        for old, new in ((merged.member, part.member), (merged.time, part.time),
                         (merged.kind, part.kind), (key, part_key)):  # fmt: skip
            column = np.empty(len(rest), dtype=old.dtype)
            column[at] = new
            column[rest] = old
            columns.append(column)
        merged = _Activity(member=columns[0], time=columns[1], kind=columns[2])
        key = columns[3]
    return merged


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
