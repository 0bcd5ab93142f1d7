"""Proof of pushdown: how many rows each statement sent back from PostgreSQL.

Use with the ``postgres_stats_url`` fixture (a cluster with ``pg_stat_statements``):
``reset_statements(url)``, run the analysis, then ``rows_returned(url)``. Rows read through a
server-side cursor (``yield_per``) are counted on ``FETCH`` statements, not on the ``SELECT``.
"""

from __future__ import annotations

import sqlalchemy as sa

#: Statements of the bookkeeping itself, left out of the answer.
_OWN = ("pg_stat_statements", "pg_catalog", "information_schema")


def reset_statements(url: str) -> None:
    """Forget the statements counted so far."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_stat_statements_reset()"))
    finally:
        engine.dispose()


def rows_returned(url: str) -> list[tuple[str, int]]:
    """``(statement, rows)`` for every SELECT or FETCH since the last reset, most rows first
    (catalog lookups and this bookkeeping left out)."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            found = conn.execute(
                sa.text(
                    "SELECT query, rows FROM pg_stat_statements "
                    "WHERE query ~* '^\\s*(with|select|fetch)' ORDER BY rows DESC"
                )
            ).all()
    finally:
        engine.dispose()
    return [(str(q), int(r)) for q, r in found if not any(word in q for word in _OWN)]
