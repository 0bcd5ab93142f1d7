"""Proof items (content and badges) and members' exposures to content."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from analytics.demo.model import FloatArray, _Item, _Members

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
