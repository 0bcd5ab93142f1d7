"""A small version of the simulation study (benchmarks/sim_impact.py): on several seeds of the
demo community, the adjusted analysis finds the planted effects and little else, while the naive
comparison it replaces flags everything, the tenure badge included."""

from __future__ import annotations

import pytest

from analytics.impact import ImpactSettings
from benchmarks.sim_impact import Tally, run_seed

SEEDS = tuple(range(101, 109))
MEMBERS = 10_000


@pytest.fixture(scope="module")
def tallies() -> tuple[Tally, Tally]:
    adjusted, naive = Tally(), Tally()
    for seed in SEEDS:
        run_seed(seed, MEMBERS, ImpactSettings(), adjusted, naive)
    return adjusted, naive


def test_the_tenure_badge_never_helps(tallies: tuple[Tally, Tally]) -> None:
    adjusted, naive = tallies
    assert adjusted.tenure_helps == 0
    assert naive.tenure_helps == len(SEEDS)  # the survivorship trap the analysis avoids


def test_few_false_discoveries_among_items_without_effect(tallies: tuple[Tally, Tally]) -> None:
    adjusted, naive = tallies
    # every no-effect item of every seed (content and badges); Holm at 5 % (the default
    # per-item error control): the full study (100 seeds x 10,000 members, views during visits)
    # flagged 0.3 % of the no-effect items; allow up to 10 % here
    assert adjusted.nulls >= 12 * len(SEEDS)
    assert adjusted.false / adjusted.nulls <= 0.10
    assert naive.false / naive.nulls >= 0.9


def test_intervals_cover_the_truth_most_of_the_time(tallies: tuple[Tally, Tally]) -> None:
    adjusted, naive = tallies
    # nominal 95 %; the full study measured 94.3 % over all items (93-97 % for each planted
    # one; 87.5 % for the protective ones with the old, independent views). Below 80 % here
    # would mean a real regression (with ~120 estimates, 80 % is about 3 standard errors under
    # 90 %).
    assert adjusted.covered / adjusted.estimated >= 0.80
    assert naive.covered / naive.estimated <= 0.10


def test_planted_effects_are_found(tallies: tuple[Tally, Tally]) -> None:
    adjusted, _ = tallies
    # three planted items per seed (HR 0.6, 0.75, 1.25); the strongest is found every time
    assert adjusted.planted == 3 * len(SEEDS)
    assert adjusted.detected >= len(SEEDS)
