"""Golden tests of the per-member window queries (analytics.queries.windows): every engine
returns the same rows as plain eager polars, for several cutoffs at once.

Results are compared after ``member_key`` is mapped to ``member_id`` (the key is a dense integer
on polars and the id elsewhere). All the queries' columns are integers (microseconds, counts),
so the comparison is exact; so is the one of the risk features built from them, whose float
columns are computed in polars from those integers on every engine.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics.community import Community
from analytics.errors import InputError
from analytics.queries import windows
from analytics.queries.events import to_us
from analytics.risk import features_as_of
from analytics.risk.features import _cutoffs as _risk_cutoffs
from tests.analytics.queries.conftest import ENGINES, sorted_rows

KINDS = ("post", "comment", "no such kind")


def _cutoffs(c: Community, joined: bool) -> windows.Cutoffs:
    """Cutoffs joined with the events as a frame (as on Spark and the databases) or filtered
    once per cutoff (as on polars): the tests run both on every engine."""
    return _risk_cutoffs(c, [c.as_of - timedelta(days=d) for d in (200, 120, 45, 0)], joined=joined)


def _items(c: Community) -> Any:
    assert c.proof_items is not None
    return c.backend_frame(c.proof_items.select("item_id", pl.col("kind").alias("item_kind")))


def _exposures(c: Community) -> Any:
    exposures = c.frames().exposures()
    assert exposures is not None
    return exposures


def _last(c: Community, joined: bool) -> list[Any]:
    return [windows.last_activity(c.frames().activity(), _cutoffs(c, joined), KINDS)]


def _recent(c: Community, joined: bool) -> list[Any]:
    return list(windows.recent_counts(c.frames().activity(), _cutoffs(c, joined), KINDS))


def _joining(c: Community, joined: bool) -> list[Any]:
    return list(windows.since_joining(c.frames().activity(), _cutoffs(c, joined), KINDS))


def _kinds(c: Community, joined: bool) -> list[Any]:
    return [windows.kind_counts(c.frames().activity(), _cutoffs(c, joined))]


def _churn(c: Community, joined: bool) -> list[Any]:
    known = to_us(c.as_of - timedelta(days=90))
    return [windows.last_activity_at(c.frames().activity(), known)]


def _proof(c: Community, joined: bool) -> list[Any]:
    return list(windows.proof_seen(_exposures(c), _items(c), _cutoffs(c, joined)))


def _proof_kinds(c: Community, joined: bool) -> list[Any]:
    return [windows.proof_kinds(_exposures(c), _items(c), _cutoffs(c, joined).us[1])]


QUERIES: dict[str, Callable[[Community, bool], list[Any]]] = {
    "last activity per cutoff": _last,
    "counts before the cutoffs": _recent,
    "counts after joining": _joining,
    "rows per kind per cutoff": _kinds,
    "last activity as known then": _churn,
    "proof seen per cutoff": _proof,
    "proof kinds seen": _proof_kinds,
}


def _run(
    c: Community, query: Callable[[Community, bool], list[Any]], *, joined: bool = False
) -> list[pl.DataFrame]:
    found = [
        c.events.with_ids(f) if "member_key" in f.columns else f
        for f in c.collect(*query(c, joined))
    ]
    return [sorted_rows(f.select(sorted(f.columns))) for f in found]


#: the queries that take cutoffs: run with both ways of applying them
WITH_CUTOFFS = {"last activity per cutoff", "counts before the cutoffs", "counts after joining",
                "rows per kind per cutoff", "proof seen per cutoff"}  # fmt: skip


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("name", "joined"),
    [(n, False) for n in QUERIES] + [(n, True) for n in QUERIES if n in WITH_CUTOFFS],
)
def test_window_query_equals_eager_polars(
    communities: dict[str, Community], engine: str, name: str, joined: bool
) -> None:
    expected = _run(communities["reference"], QUERIES[name])  # one pass per cutoff
    found = _run(communities[engine], QUERIES[name], joined=joined)
    assert len(found) == len(expected)
    for e, f in zip(expected, found, strict=True):
        assert e.height > 0
        assert_frame_equal(f, e, check_dtypes=False, check_column_order=False)


@pytest.mark.parametrize("engine", ENGINES)
def test_risk_features_equal_eager_polars(communities: dict[str, Community], engine: str) -> None:
    reference, other = communities["reference"], communities[engine]
    cutoff = reference.as_of - timedelta(days=75)
    expected = features_as_of(reference, cutoff)
    assert expected.height > 100
    assert_frame_equal(features_as_of(other, cutoff), expected)


@pytest.mark.parametrize("us", [(), (2, 1), (1, 1)])
def test_cutoffs_must_be_distinct_and_ascending(us: tuple[int, ...]) -> None:
    with pytest.raises(InputError, match="distinct and in ascending order"):
        windows.Cutoffs(us)
