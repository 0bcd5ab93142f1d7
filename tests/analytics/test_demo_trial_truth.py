"""The demo truth's ``trial_att``: the sequential trials' own estimand, by coupled
counterfactual re-simulation (see :func:`analytics.demo.truth._trial_att`).

Hand-made cases where the answer can be reasoned out (who is in the population, an item without
effect, a protective item with and without a later view), the per-member reading time of the
recorded retention, and that the new truth stream leaves the tables and the other truth entries
alone. That the population is the one the trials count as newly exposed is checked against
:mod:`analytics.impact.trial` on the demo in ``test_impact.py``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from analytics.demo import generate_demo
from analytics.demo import truth as truth_module
from analytics.demo.lifetime import _lifetimes
from analytics.demo.model import _Item
from analytics.demo.truth import (
    _KnownAtLandmark,
    _recorded_retention,
    _trial_att,
    _trial_population,
)

DAYS = 400
#: the last decidable trial day: the data end falls in day DAYS - 1, less 90 + 30 days, less
#: the trial day itself
LAST_DAY = DAYS - 1 - 30 - 90 - 1


def _known(
    n: int,
    active: list[tuple[int, int]] | None,
    *,
    seen_known: bool = True,
    left: np.ndarray | None = None,
) -> _KnownAtLandmark:
    keys = None
    if active is not None:
        keys = np.unique(np.asarray([m * (1 << 32) + d for m, d in active], dtype=np.int64))
    return _KnownAtLandmark(
        active_before=np.ones(n, dtype=bool),
        left=np.zeros(n, dtype=bool) if left is None else left,
        seen_known=np.full(n, seen_known),
        rate=np.full(n, 0.13),
        active_days=keys,
    )


def test_trial_population_follows_the_trials_rules() -> None:
    """Newly exposed on an active day, while alive, on a decidable day, not before publication
    day: each member below breaks (or keeps) one rule."""
    join = np.zeros(8)
    lifetime = np.full(8, 1000.0)
    lifetime[4] = 40.0  # dies before the view the generator would have brought at day 50.5
    first = np.asarray(
        [
            100.5,  # 0: in, trial day 100
            LAST_DAY + 0.9,  # 1: in, the last decidable day
            LAST_DAY + 1.1,  # 2: out, the day after (outcome not decidable)
            150.2,  # 3: out, no activity row that day (views independent of visits)
            50.5,  # 4: out, after death
            np.inf,  # 5: out, never exposed
            20.7,  # 6: in, the publication day itself
            150.0,  # 7: in, a view at midnight is on the day it starts
        ]
    )
    active = [(0, 100), (1, LAST_DAY), (2, LAST_DAY + 1), (3, 149), (3, 151), (4, 50), (6, 20),
              (7, 150)]  # fmt: skip
    population, day = _trial_population(first, 20.5, join, lifetime, DAYS, _known(8, active))
    assert population.tolist() == [True, True, False, False, False, False, True, True]
    assert day[population].tolist() == [100, LAST_DAY, 20, 150]
    # without the active days recorded (views during visits: every view is an activity row)
    # only the activity rule is dropped
    everyone, _ = _trial_population(first, 20.5, join, lifetime, DAYS, _known(8, None))
    assert everyone.tolist() == [True, True, False, True, False, False, True, True]
    # no explicit departure before the trial day: a member recorded as gone at day 60 with a
    # view at day 100.5 (possible only if views are not visits) is not in it
    lifetime[0] = 60.0
    left = np.zeros(8, dtype=bool)
    left[0] = True
    gone, _ = _trial_population(first, 20.5, join, lifetime, DAYS, _known(8, active, left=left))
    assert not gone[0]


def test_trial_population_starts_at_the_days_first_activity() -> None:
    """Time zero is the member's first activity of the trial day: the first exposure must come
    at or before it (with views during visits the view is an activity row itself)."""
    join, lifetime = np.zeros(3), np.full(3, 1000.0)
    first = np.full(3, 100.5)
    view_us = 100 * 86_400_000_000 + 43_200_000_000  # day 100.5 as the tables date it
    known = replace(
        _known(3, [(0, 100), (1, 100), (2, 100)]),
        # 0: the view is the day's first activity; 1: an hour after it; 2: before it
        first_activity_us=np.asarray([view_us, view_us - 3_600_000_000, view_us + 1]),
    )
    population, _ = _trial_population(first, 20.5, join, lifetime, DAYS, known)
    assert population.tolist() == [True, False, True]


def _members(n: int, seed: int) -> dict[str, Any]:
    """Members who joined in the first 200 days and first saw the item (column 0) between
    joining and day 250 while alive, with Weibull lifetimes under the item's hazard ratio."""
    rng = np.random.default_rng(seed)
    join = rng.uniform(0, 200, n)
    seen_at = join + rng.uniform(0, 50, n)  # days since the start
    hazard_e = rng.standard_exponential(n)
    scale = rng.uniform(60, 600, n)
    return {"join": join, "seen_at": seen_at, "hazard_e": hazard_e, "scale": scale}


def _att(item: _Item, m: dict[str, Any], *, seen_known: bool = True) -> tuple[dict[str, Any], Any]:
    items = [item]
    first_at = m["seen_at"][:, None]
    first_since_join = first_at - m["join"][:, None]
    lifetime = _lifetimes(m["hazard_e"], m["scale"], first_since_join, items)
    n = len(lifetime)
    result = _trial_att(
        first_since_join,
        first_at,
        0,
        items,
        item.published,
        m["join"],
        np.ones(n),
        m["hazard_e"],
        m["scale"],
        lifetime,
        DAYS,
        np.random.default_rng(5),
        _known(n, None, seen_known=seen_known),
    )
    return result, lifetime


def test_trial_att_is_zero_for_an_item_without_effect() -> None:
    m = _members(3000, 1)
    item = _Item("a", "testimonial", "a", published=0.0, hazard_ratio=1.0, view_rate=0.01,
                 decay_days=200.0)  # fmt: skip
    result, lifetime = _att(item, m)
    assert result["value"] == 0.0
    population, _ = _trial_population(
        m["seen_at"], 0.0, m["join"], lifetime, DAYS, _known(3000, None)
    )
    assert result["n"] == int(population.sum()) > 1000
    assert (result["horizon_days"], result["grace_days"], result["inactive_days"]) == (90, 1, 30)


def test_protective_item_without_a_later_view_is_the_never_seen_world() -> None:
    """With no later view possible (view rate 0) the counterfactual is the same Exp(1) draw with
    the item never seen: before the exposure nothing differs, so re-simulating from there with
    the hazard left is re-simulating from joining. With ``last_seen_at`` known, recorded
    retention is being alive 90 days after the start of the trial day."""
    m = _members(4000, 2)
    item = _Item("a", "testimonial", "a", published=0.0, hazard_ratio=0.6, view_rate=0.0,
                 decay_days=200.0)  # fmt: skip
    result, lifetime = _att(item, m)
    population, day = _trial_population(
        m["seen_at"], 0.0, m["join"], lifetime, DAYS, _known(4000, None)
    )
    who = np.flatnonzero(population)
    never = _lifetimes(m["hazard_e"][who], m["scale"][who], np.full((len(who), 1), np.inf),
                       [item])  # fmt: skip
    end = day[who] + 90.0 - m["join"][who]
    expected = np.mean(lifetime[who] > end) - np.mean(never > end)
    assert result["n"] == len(who)
    assert result["value"] == pytest.approx(expected, abs=1e-12)
    assert result["value"] > 0.02  # a hazard ratio of 0.6 over 90 days keeps members


def test_a_later_view_dilutes_the_effect_and_harm_is_negative() -> None:
    """Per member the later view brings the counterfactual hazard between the actual one and
    "never seen", so 0 < trial_att < the never-seen value for a protective item; a harmful item
    gives a negative value. The same holds for the recorded retention without last_seen_at."""
    m = _members(4000, 3)
    protective = _Item("a", "testimonial", "a", published=0.0, hazard_ratio=0.6,
                       view_rate=0.02, decay_days=400.0)  # fmt: skip
    for seen_known in (True, False):
        later, _ = _att(protective, m, seen_known=seen_known)
        never, _ = _att(replace(protective, view_rate=0.0), m, seen_known=seen_known)
        assert 0.0 < later["value"] < never["value"]
    harmful, _ = _att(replace(protective, hazard_ratio=1.25), m)
    assert harmful["value"] < 0.0


def test_time_zero_counterfactual_may_bring_the_view_the_same_day() -> None:
    """At time zero (first activities recorded) the counterfactual's next view comes after the
    removed one, not from the next day on: the same population and draws, the view earlier, so
    a protective item's value is smaller (the controls may meet it later that day), and with a
    view rate of 0 both are the never-seen world."""
    m = _members(4000, 5)
    n = len(m["join"])
    first_at = m["seen_at"]
    day = np.floor(first_at).astype(np.int64)
    known = replace(
        _known(n, [(i, int(d)) for i, d in enumerate(day)]),
        first_activity_us=np.floor(first_at * 86_400_000_000).astype(np.int64),  # the views
    )

    def value(item: _Item, at_time_zero: bool) -> dict[str, Any]:
        first_since_join = (first_at - m["join"])[:, None]
        lifetime = _lifetimes(m["hazard_e"], m["scale"], first_since_join, [item])
        return _trial_att(
            first_since_join, first_at[:, None], 0, [item], item.published, m["join"],
            np.ones(n), m["hazard_e"], m["scale"], lifetime, DAYS, np.random.default_rng(5),
            known if at_time_zero else replace(known, first_activity_us=None),
        )  # fmt: skip

    protective = _Item("a", "testimonial", "a", published=0.0, hazard_ratio=0.6,
                       view_rate=0.5, decay_days=400.0)  # fmt: skip
    zero, next_day = value(protective, True), value(protective, False)
    assert zero["n"] == next_day["n"] > 1000  # every view is its day's first activity
    assert 0.0 < zero["value"] < next_day["value"]
    never = replace(protective, view_rate=0.0)
    assert value(never, True)["value"] == pytest.approx(value(never, False)["value"], abs=1e-12)


def test_recorded_retention_read_at_a_per_member_end() -> None:
    """A per-member end gives what each member's own scalar end gives, and an end of 120 for
    all gives the default (the landmark truth's reading, unchanged)."""
    rng = np.random.default_rng(4)
    n = 50
    join = rng.uniform(0, 300, n)
    lifetime = rng.uniform(0, 500, n)
    rate = rng.uniform(0.05, 0.5, n)
    seen = rng.random(n) < 0.5
    items = [_Item("a", "testimonial", "a", published=10.0, hazard_ratio=0.6, view_rate=0.02,
                   decay_days=200.0)]  # fmt: skip
    first = np.where(rng.random((n, 1)) < 0.7, rng.uniform(0, 300, (n, 1)), np.inf)
    reach = rng.uniform(0.5, 2, n)
    visits = (items, reach, first)
    default = _recorded_retention(lifetime, join, rate, seen, DAYS, visits)
    np.testing.assert_array_equal(
        _recorded_retention(lifetime, join, rate, seen, DAYS, visits, np.full(n, 120.0)), default
    )
    end = rng.uniform(30, 300, n)
    together = _recorded_retention(lifetime, join, rate, seen, DAYS, visits, end)
    one_by_one = [
        _recorded_retention(lifetime[i : i + 1], join[i : i + 1], rate[i : i + 1],
                            seen[i : i + 1], DAYS, (items, reach[i : i + 1], first[i : i + 1]),
                            float(end[i]))[0]
        for i in range(n)
    ]  # fmt: skip
    np.testing.assert_allclose(together, one_by_one, rtol=1e-12)
    alive = lifetime > end
    assert (together[~alive] == 0).all()
    assert (together[alive & seen] == 1).all()


def test_trial_att_has_its_own_stream_and_the_planted_signs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """trial_att draws from streams spawned after the others: drawing more from them changes
    neither the tables nor any other truth entry. On the demo it is 0 for items without effect
    (every badge), positive for the protective items and negative for the harmful one."""
    plain = generate_demo(members=3000, seed=5)
    original = truth_module._trial_att

    def greedy(*args: Any, **kwargs: Any) -> dict[str, Any]:
        rng = args[11]
        if rng is not None:
            rng.standard_exponential(10_000)  # draws the real function never makes
        return original(*args, **kwargs)

    monkeypatch.setattr(truth_module, "_trial_att", greedy)
    shifted = generate_demo(members=3000, seed=5)
    for name, frame in plain.tables.items():
        assert frame.equals(shifted.tables[name]), name
    for a, b in zip(plain.truth["proof_items"], shifted.truth["proof_items"], strict=True):
        assert {k: v for k, v in a.items() if k != "trial_att"} == {
            k: v for k, v in b.items() if k != "trial_att"
        }
        assert a["trial_att"]["n"] == b["trial_att"]["n"]
    assert {k: v for k, v in plain.truth.items() if k != "proof_items"} == {
        k: v for k, v in shifted.truth.items() if k != "proof_items"
    }
    items = {it["item_id"]: it for it in plain.truth["proof_items"]}
    for it in items.values():
        trial = it["trial_att"]
        assert trial["n"] > 0 or it["kind"] == "badge"
        if it["hazard_ratio"] == 1.0:
            assert trial["value"] == 0.0
        elif it["hazard_ratio"] < 1.0:
            assert trial["value"] > 0.0
        else:
            assert trial["value"] < 0.0
    assert any("trial_att" in note for note in plain.truth["notes"])
