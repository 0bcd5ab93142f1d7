"""On real data (the Stack Exchange music meta dump), the tenure badge "Yearling" must not come
out as helping retention, whatever the window; the naive comparison would say it does."""

from __future__ import annotations

import pytest

from analytics.community import Community, load_community
from analytics.impact import ImpactSettings, estimate_effects, time_varying_effects
from analytics.io import open_source, write_folder
from analytics.io.stackexchange import read_stackexchange
from tests.conftest import SHARED_DATASETS

DUMP = SHARED_DATASETS / "stackexchange-music-meta"


@pytest.fixture(scope="module")
def community(tmp_path_factory: pytest.TempPathFactory) -> Community:
    if not DUMP.is_dir():
        pytest.skip(f"the Stack Exchange sample is not at {DUMP}")
    folder = tmp_path_factory.mktemp("se")
    write_folder(read_stackexchange(DUMP).tables, folder)
    return load_community(open_source(folder))


@pytest.mark.parametrize(("landmark", "horizon"), [(30, 90), (90, 180), (365, 90), (400, 180)])
def test_yearling_never_helps(community: Community, landmark: int, horizon: int) -> None:
    settings = ImpactSettings(landmark_days=landmark, horizon_days=horizon)
    result = estimate_effects(community, settings, sensitivity=False)
    yearling = next(i for i in result.items if i.title == "Yearling")
    assert yearling.verdict != "helps"
    if landmark < 365:
        assert yearling.verdict == "not_identifiable"  # cannot be earned before day 365
    assert all(
        i.verdict in {"helps", "hurts", "no_evidence", "not_identifiable"} for i in result.items
    )


def test_naive_comparison_would_crown_the_yearling_badge(community: Community) -> None:
    result = estimate_effects(community, sensitivity=False)
    yearling = next(i for i in result.items if i.title == "Yearling")
    assert yearling.naive_effect is not None
    assert yearling.naive_effect > 0.2


def test_any_time_view_reports_yearling_honestly(community: Community) -> None:
    cox = time_varying_effects(community)
    term = next(t for t in cox.terms if t.name == "badge:yearling")
    # either not estimable (no comparison in the risk sets) or an interval, never a crash
    assert term.estimable in {True, False}
    if not term.estimable:
        assert term.reason
