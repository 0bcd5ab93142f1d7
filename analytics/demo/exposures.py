"""Proof items (content and badges) and members' exposures to content.

Two ways members come across content (``views``):

* ``"visits"`` (the default): a view happens during a visit. Each content item has a Poisson
  process of *visits during which the item is on show*, with the member's visit rate (activity
  rate: ``engagement ** _ACTIVITY_ENGAGEMENT_EXPONENT`` times the early-tenure shape of the
  activity) times the item's reach (``view_rate * exp(-age / decay_days)``). Every point of it is
  an activity row of the member (the usual kind mix); the first three are also "viewed" exposure
  rows. The activity table is the superposition of these processes and the plain activity
  process, all with intensities proportional to the member's engagement, so given the activity
  a member was observed to have, whether a row was a view of an item does not depend on the
  latent engagement: engagement confounds exposure only through what the data record.
* ``"independent"`` (the generator before version 2, kept for the simulation study): first views
  from a Poisson process with rate ``view_rate * engagement ** 0.8 * exp(-age / decay_days)``,
  drawn independently of the activity, plus up to two repeats; views leave no activity row. Being
  exposed then carries information about engagement that no data measure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from analytics.demo.activity import (
    _ACTIVITY_ENGAGEMENT_EXPONENT,
    _ACTIVITY_KINDS_P,
    _EARLY_BOOST,
    _EARLY_BOOST_DAYS,
    _HELPFUL_P,
    _PROLIFIC_POSTS,
    _draw_kinds,
    _sort_key,
    _sorted_positions,
)
from analytics.demo.model import FloatArray, _Activity, _Item, _Members

# --- proof items and exposures -------------------------------------------------------------
#: How members come across content: during visits (default) or independently of them (old)
VIEWS = ("visits", "independent")
#: Engagement exponent of the view rate: the visit (activity) rate's with views during visits
_EXPOSURE_ENGAGEMENT_EXPONENT = _ACTIVITY_ENGAGEMENT_EXPONENT
_INDEPENDENT_ENGAGEMENT_EXPONENT = 0.8
#: Viewed exposure rows per member and item: the first view and at most two repeats
_MAX_REPEAT_VIEWS = 2
# repeats of the "independent" views only
_REPEAT_VIEW_P = 0.22  # per possible repeat, at engagement 1 (times engagement ** 0.5)
_REPEAT_HORIZON_DAYS = 90.0
# kind, published (fraction of the period; 0 = launch day), hazard ratio, view rate per day at
# engagement 1 (at publication, once the early-weeks boost of the visit rate has faded; with
# independent views the first-view rate), decay of that rate (days), title
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


def _reach(engagement: FloatArray, views: str) -> FloatArray:
    """The engagement factor of every member's view rates."""
    exponent = (
        _EXPOSURE_ENGAGEMENT_EXPONENT if views == "visits" else _INDEPENDENT_ENGAGEMENT_EXPONENT
    )
    return np.asarray(engagement**exponent)


def _potential_first_views(
    people: _Members, items: Sequence[_Item], days: int, rng: np.random.Generator, views: str
) -> FloatArray:
    """First time each member would view each item if they stayed (days; inf if never).

    The view rate (see the module's description) runs from the later of joining and publication;
    the first view is drawn by inverting the integrated rate (:func:`_first_view_from`). Views
    after the end of the period are inf. Whether the member is still there at that time is
    decided later (only views before the end of life become exposures).
    """
    n = len(people.join)
    reach = _reach(people.engagement, views)
    first = np.full((n, len(items)), np.inf)
    for j, item in enumerate(items):
        begin = np.maximum(people.join, item.published)
        first[:, j] = _first_view_from(
            item, begin, people.join, reach, rng.standard_exponential(n), days, views
        )
    return first


def _rate_terms(
    item: _Item, begin: FloatArray, join: FloatArray, reach: FloatArray, views: str
) -> tuple[FloatArray, FloatArray, float]:
    """The view rate from `begin` on, ``K * (exp(-w / d) + b * exp(-w * (1 / d + 1 / D)))`` at
    ``w`` days after `begin` (``d`` the item's decay, ``D`` the early-tenure activity shape's):
    returns ``K``, ``b`` and the exponent ``p = 1 + d / D`` of the second term in
    ``y = 1 - exp(-w / d)``. With independent views ``b = 0``."""
    k = item.view_rate * reach * np.exp(-(begin - item.published) / item.decay_days)
    if views == "visits":
        b = _EARLY_BOOST * np.exp(-(begin - join) / _EARLY_BOOST_DAYS)
    else:
        b = np.zeros_like(begin)
    return np.asarray(k), np.asarray(b), 1.0 + item.decay_days / _EARLY_BOOST_DAYS


def _integrated_rate(
    k: FloatArray, b: FloatArray, p: float, decay: float, y: FloatArray
) -> FloatArray:
    """The view rate of :func:`_rate_terms` integrated from `begin` to ``w``, in terms of
    ``y = 1 - exp(-w / decay)``: ``K * decay * (y + b / p * (1 - (1 - y) ** p))``."""
    return np.asarray(k * decay * (y + b / p * (1.0 - (1.0 - y) ** p)))


def _invert_integrated_rate(
    k: FloatArray, b: FloatArray, p: float, decay: float, x: FloatArray
) -> FloatArray:
    """Days after `begin` at which :func:`_integrated_rate` reaches `x` (which must be below its
    limit ``K * decay * (1 + b / p)``).

    In ``y`` the integrated rate is increasing and concave, below both ``K * decay * (1 + b) * y``
    and ``K * decay * (y + b / p)``, so the larger of the ``y`` where those reach `x` is a lower
    bound of the root (close to it for small and for large ``y``), and Newton steps from there
    rise monotonically to the root (each shrinking the error by at least ``b / (1 + b)``, at
    most 0.6, then quadratically).
    """
    scale = k * decay
    y = np.maximum(x / (scale * (1.0 + b)), x / scale - b / p)
    todo = np.arange(len(x))
    for _ in range(60):
        yt, bt, st = y[todo], b[todo], scale[todo]
        left = 1.0 - yt
        power = left ** (p - 1.0)  # (1 - y) ** (p - 1); times (1 - y) gives (1 - y) ** p
        excess = st * (yt + bt / p * (1.0 - power * left)) - x[todo]
        step = excess / (st * (1.0 + bt * power))
        y[todo] = np.minimum(yt - step, np.nextafter(1.0, 0.0))
        todo = todo[np.abs(step) > 1e-15]  # y is in [0, 1): near machine precision
        if len(todo) == 0:
            break
    return np.asarray(-decay * np.log1p(-y))


def _first_view_from(
    item: _Item,
    begin: FloatArray,
    join: FloatArray,
    reach: FloatArray,
    x: FloatArray,
    days: int,
    views: str = "visits",
) -> FloatArray:
    """First view of an item at or after `begin` (days; inf if never or not before `days`).

    Inverts the integrated view rate from `begin` (which must not be before publication or
    joining; see :func:`_rate_terms`) at the Exp(1) draws `x`. Views form a Poisson process, so
    what happens after `begin` does not depend on what happened before it.
    """
    k, b, p = _rate_terms(item, begin, join, reach, views)
    total = k * item.decay_days * (1.0 + b / p)
    seen = np.flatnonzero(x < total)
    w = _invert_integrated_rate(k[seen], b[seen], p, item.decay_days, x[seen])
    t = begin[seen] + w
    column = np.full(len(begin), np.inf)
    column[seen] = np.where(t < days, t, np.inf)
    return column


def _view_mass(
    item: _Item,
    join: FloatArray,
    reach: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    views: str = "visits",
) -> FloatArray:
    """Expected number of views of the item between the times `lo` and `hi` (days since the
    start; 0 where ``hi <= lo``), the view rate counted from the later of joining and
    publication."""
    begin = np.maximum(join, item.published)
    k, b, p = _rate_terms(item, begin, join, reach, views)
    d = item.decay_days

    def at(t: FloatArray) -> FloatArray:
        y = -np.expm1(-np.maximum(t - begin, 0.0) / d)
        return _integrated_rate(k, b, p, d, y)

    return np.asarray(np.maximum(at(hi) - at(np.maximum(lo, begin)), 0.0))


def _view_rows(
    people: _Members, first_view: FloatArray, end_active: FloatArray, rng: np.random.Generator
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int16], FloatArray]:
    """Realised "viewed" exposures of independent views (``views="independent"``): first views
    in the active life plus up to two repeats, uniform over the 90 days after the first.

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


def _visit_views(
    people: _Members,
    items: Sequence[_Item],
    first_view: FloatArray,
    end_active: FloatArray,
    rng: np.random.Generator,
) -> tuple[tuple[npt.NDArray[np.int32], npt.NDArray[np.int16], FloatArray], _Activity]:
    """Realised views during visits (``views="visits"``): every point of each item's view
    process in the active life is a visit, the first three are also "viewed" exposures.

    Given the first point (`first_view`, drawn before the lifetime was known), the later points
    of a Poisson process are a Poisson process on the rest of the active life: their number is
    Poisson with the integrated rate between the first view and the end of the active life, their
    places that rate's inverse at sorted uniforms.

    Returns
    -------
    (member, item, time), activity
        One entry per exposure row (not sorted); the visits as activity rows (the usual kind
        mix), sorted by member and time.
    """
    reach = _reach(people.engagement, "visits")
    members, item_idx, times = [], [], []
    visit_member, visit_time = [], []
    for j, item in enumerate(items):
        seen = np.flatnonzero(first_view[:, j] < end_active)
        first, end = first_view[seen, j], end_active[seen]
        begin = np.maximum(people.join[seen], item.published)
        k, b, p = _rate_terms(item, begin, people.join[seen], reach[seen], "visits")
        d = item.decay_days
        done = _integrated_rate(k, b, p, d, -np.expm1(-(first - begin) / d))
        whole = _integrated_rate(k, b, p, d, -np.expm1(-(end - begin) / d))
        counts = rng.poisson(np.maximum(whole - done, 0.0))
        who = np.repeat(np.arange(len(seen)), counts)
        target = done[who] + _sorted_positions(counts, rng) * (whole - done)[who]
        later = begin[who] + _invert_integrated_rate(k[who], b[who], p, d, target)
        later = np.clip(later, first[who], np.nextafter(end[who], 0.0))
        # the first two later points of each member are recorded as repeat views
        rank = np.arange(len(who)) - np.repeat(np.cumsum(counts) - counts, counts)
        repeat = rank < _MAX_REPEAT_VIEWS
        members.append(np.concatenate([seen, seen[who[repeat]]]).astype(np.int32))
        times.append(np.concatenate([first, later[repeat]]))
        item_idx.append(np.full(len(seen) + int(repeat.sum()), j, dtype=np.int16))
        visit_member.append(np.concatenate([seen, seen[who]]))
        visit_time.append(np.concatenate([first, later]))
    member = np.concatenate(visit_member).astype(np.int32)
    time = np.concatenate(visit_time)
    life = end_active - people.join
    order = np.argsort(_sort_key(member, time, people.join, life))
    visits = _Activity(
        member=member[order],
        time=time[order],
        kind=_draw_kinds(len(member), _ACTIVITY_KINDS_P, rng),
    )
    exposures = (np.concatenate(members), np.concatenate(item_idx), np.concatenate(times))
    return exposures, visits
