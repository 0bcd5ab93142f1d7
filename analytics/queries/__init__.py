"""Event-level aggregations, written once with narwhals and run on the source's backend.

Every function here takes narwhals lazy frames (the community's events and members as the
backend holds them, see :mod:`analytics.queries.events`) and returns lazy frames of one row per
member or per period: never the events themselves. Collecting them (``Community.collect``)
runs them where the data lives: polars' streaming engine, DuckDB, the database, or Spark.

Conventions (kept by every backend, see ``analytics.io.backends.base``): timestamps are naive
UTC; ``<column>_us`` is the same instant as integer microseconds since 1970, used for all time
arithmetic; ``member_key`` identifies a member (a dense integer on polars, the member id
elsewhere). This package imports narwhals only: no polars-only API and no statistics.
"""

from analytics.queries.events import DAY_US, EventFrames, day_index, week_index

__all__ = ["DAY_US", "EventFrames", "day_index", "week_index"]
