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
from analytics.queries import windows
from analytics.queries.events import to_us
from analytics.risk import features_as_of
from tests.analytics.queries.conftest import ENGINES, sorted_rows

KINDS = ("post", "comment", "no such kind")


def _cutoffs(c: Community) -> list[int]:
    return [to_us(c.as_of - timedelta(days=d)) for d in (200, 120, 45, 0)]


def _items(c: Community) -> Any:
    assert c.proof_items is not None
    return c.backend_frame(c.proof_items.select("item_id", pl.col("kind").alias("item_kind")))


def _exposures(c: Community) -> Any:
    exposures = c.frames().exposures()
    assert exposures is not None
    return exposures


def _last(c: Community) -> list[Any]:
    return [windows.last_activity(c.frames().activity(), _cutoffs(c), KINDS)]


def _recent(c: Community) -> list[Any]:
    return list(windows.recent_counts(c.frames().activity(), _cutoffs(c), KINDS))


def _joining(c: Community) -> list[Any]:
    return list(windows.since_joining(c.frames().activity(), _cutoffs(c), KINDS))


def _kinds(c: Community) -> list[Any]:
    return [windows.kind_counts(c.frames().activity(), _cutoffs(c))]


def _churn(c: Community) -> list[Any]:
    known = to_us(c.as_of - timedelta(days=90))
    return [windows.last_activity_at(c.frames().activity(), known)]


def _proof(c: Community) -> list[Any]:
    return list(windows.proof_seen(_exposures(c), _items(c), _cutoffs(c)))


def _proof_kinds(c: Community) -> list[Any]:
    return [windows.proof_kinds(_exposures(c), _items(c), _cutoffs(c)[1])]


QUERIES: dict[str, Callable[[Community], list[Any]]] = {
    "last activity per cutoff": _last,
    "counts before the cutoffs": _recent,
    "counts after joining": _joining,
    "rows per kind per cutoff": _kinds,
    "last activity as known then": _churn,
    "proof seen per cutoff": _proof,
    "proof kinds seen": _proof_kinds,
}


def _run(c: Community, query: Callable[[Community], list[Any]]) -> list[pl.DataFrame]:
    found = c.collect(*query(c))
    return [sorted_rows(c.events.with_ids(f) if "member_key" in f.columns else f) for f in found]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", list(QUERIES))
def test_window_query_equals_eager_polars(
    communities: dict[str, Community], engine: str, name: str
) -> None:
    expected = _run(communities["reference"], QUERIES[name])
    found = _run(communities[engine], QUERIES[name])
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
