"""Proof of pushdown: analyses of a PostgreSQL community run inside the database.

Every statement the load and the analyses send is counted by ``pg_stat_statements``; none may
return as many rows as the activity table (only per-member and per-period aggregates, and the
member table itself, cross the wire).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from analytics.community import load_community
from analytics.impact import ImpactSettings, landmark_population
from analytics.io import open_source, write_tables
from analytics.overview import overview_kpis
from analytics.periods import Period
from analytics.retention import cohort_matrix
from tests.pg_stats import reset_statements, rows_returned

pytestmark = pytest.mark.postgres


def test_no_statement_returns_the_activity_table(
    postgres_stats_url: str, demo_folder: Path
) -> None:
    source = open_source(demo_folder)
    tables = {name: source.scan(name) for name in source.table_names()}
    write_tables({n: f.collect() for n, f in tables.items() if f is not None}, postgres_stats_url)
    activity_rows = pl.read_parquet(demo_folder / "activity.parquet").height
    reset_statements(postgres_stats_url)

    community = load_community(open_source(postgres_stats_url))
    assert community.events.backend.pushdown
    cohort_matrix(community, period="week")
    overview_kpis(community, Period(community.as_of - timedelta(days=30), community.as_of))
    landmark_population(community, ImpactSettings())

    returned = rows_returned(postgres_stats_url)
    assert returned, "pg_stat_statements saw no statement"
    query, most = returned[0]
    assert most < activity_rows, f"{most:,} rows came back from: {query[:300]}"
    # all answers together are still fewer rows than the activity: the events stay there
    assert sum(rows for _query, rows in returned) < activity_rows
