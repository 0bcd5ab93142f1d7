"""Retention at scale: time the cohort matrix, survival curves, lifecycle and churn per period on
a demo community, and compare the cohort matrix against DuckDB SQL and plain pandas.

    .venv/bin/python benchmarks/bench_retention.py --members 1000000
    .venv/bin/python benchmarks/bench_retention.py --data /path/to/demo-folder

Prints wall time per step and peak RSS; checks that the three cohort matrices agree. DuckDB and
pandas are development dependencies, used here only.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from analytics.churn import churn_by_period
from analytics.community import Community, load_community
from analytics.embedded import write_demo
from analytics.io import open_source
from analytics.lifecycle import lifecycle
from analytics.retention import PERIOD_DAYS, cohort_matrix

US_PER_DAY = 86_400_000_000


def timed(label: str, fn: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    result = fn()
    print(f"  {label:<44} {time.perf_counter() - start:8.2f} s")
    return result


def duckdb_matrix(folder: Path, as_of: Any, period: str) -> pl.DataFrame:
    import duckdb

    step = PERIOD_DAYS[period] * US_PER_DAY
    unit = "week" if period == "week" else "month"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    query = f"""
    WITH m AS (
        SELECT member_id, joined_at, CAST(date_trunc('{unit}', joined_at) AS DATE) AS cohort
        FROM read_parquet('{folder / "members.parquet"}')
    ),
    sizes AS (
        SELECT cohort, count(*) AS size,
               (epoch_us(TIMESTAMPTZ '{as_of.isoformat()}') - epoch_us(max(joined_at))) // {step}
                   AS complete_periods
        FROM m GROUP BY cohort
    ),
    r AS (
        SELECT DISTINCT a.member_id, m.cohort,
               (epoch_us(a.occurred_at) - epoch_us(m.joined_at)) // {step} AS k
        FROM read_parquet('{folder / "activity.parquet"}') a JOIN m USING (member_id)
        WHERE a.occurred_at >= m.joined_at
    ),
    counts AS (SELECT cohort, k, count(*) AS retained FROM r GROUP BY cohort, k),
    ks AS (SELECT range AS k FROM range((SELECT max(complete_periods) FROM sizes)))
    SELECT s.cohort, ks.k, s.size,
           CASE WHEN ks.k < s.complete_periods THEN coalesce(c.retained, 0) / s.size END AS share
    FROM sizes s CROSS JOIN ks LEFT JOIN counts c ON c.cohort = s.cohort AND c.k = ks.k
    ORDER BY s.cohort, ks.k
    """
    return con.sql(query).pl()


def pandas_matrix(folder: Path, as_of: Any, period: str) -> pl.DataFrame:
    import pandas as pd

    step = pd.Timedelta(days=PERIOD_DAYS[period])
    members = pd.read_parquet(folder / "members.parquet", columns=["member_id", "joined_at"])
    activity = pd.read_parquet(folder / "activity.parquet", columns=["member_id", "occurred_at"])
    joined = members["joined_at"].dt.tz_convert("UTC").dt.tz_localize(None)
    if period == "week":
        members["cohort"] = (joined - pd.to_timedelta(joined.dt.weekday, unit="D")).dt.normalize()
    else:
        members["cohort"] = joined.dt.to_period("M").dt.to_timestamp()
    merged = activity.merge(members, on="member_id")
    merged["k"] = (merged["occurred_at"] - merged["joined_at"]) // step
    retained = (
        merged[merged["k"] >= 0].drop_duplicates(["member_id", "k"]).groupby(["cohort", "k"]).size()
    )
    sizes = members.groupby("cohort").agg(size=("member_id", "size"), last=("joined_at", "max"))
    sizes["complete"] = (pd.Timestamp(as_of) - sizes["last"]) // step
    rows = []
    for cohort, row in sizes.iterrows():
        for k in range(int(sizes["complete"].max())):
            share = retained.get((cohort, k), 0) / row["size"] if k < row["complete"] else None
            rows.append((cohort.date(), k, int(row["size"]), share))
    return pl.DataFrame(rows, schema=["cohort", "k", "size", "share"], orient="row")


def compare(name: str, ours: pl.DataFrame, other: pl.DataFrame) -> None:
    joined = ours.select("cohort", "k", "size", "share").join(
        other.select(pl.col("cohort").cast(pl.Date), pl.col("k").cast(pl.Int64),
                     pl.col("size").cast(pl.Int64).alias("size_other"),
                     pl.col("share").cast(pl.Float64).alias("share_other")),
        on=["cohort", "k"], how="full", coalesce=True,
    )  # fmt: skip
    assert joined.height == ours.height, f"{name}: {joined.height} cells vs {ours.height}"
    assert (joined["size"] == joined["size_other"]).all(), f"{name}: sizes differ"
    both_null = joined["share"].is_null() & joined["share_other"].is_null()
    diff = (joined["share"] - joined["share_other"]).abs().max() or 0.0
    nulls_agree = bool((joined["share"].is_null() == joined["share_other"].is_null()).all())
    assert nulls_agree, f"{name}: incomplete cells differ"
    assert diff < 1e-12, f"{name}: largest difference {diff}"
    print(f"  {name}: same {joined.height:,} cells ({int(both_null.sum()):,} incomplete), "
          f"largest difference {diff:.1e}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, help="an existing demo folder (Parquet)")
    args = parser.parse_args()
    folder: Path = args.data or Path(tempfile.mkdtemp(prefix="proofboard-bench-"))
    if args.data is None:
        timed(f"generate demo ({args.members:,} members)",
              lambda: write_demo(folder, members=args.members, seed=args.seed))  # fmt: skip
    print(f"data: {folder}")
    community: Community = timed("load and validate", lambda: load_community(open_source(folder)))
    print(f"  members {community.members.height:,}, activity {community.activity.height:,}")
    for period in ("week", "month"):
        matrix = timed(f"cohort matrix by {period} (polars)",
                       lambda p=period: cohort_matrix(community, period=p))  # fmt: skip
        duck = timed(f"cohort matrix by {period} (DuckDB SQL)",
                     lambda p=period: duckdb_matrix(folder, community.as_of, p))  # fmt: skip
        pand = timed(f"cohort matrix by {period} (pandas)",
                     lambda p=period: pandas_matrix(folder, community.as_of, p))  # fmt: skip
        compare("DuckDB", matrix.cells, duck)
        compare("pandas", matrix.cells, pand)
    try:
        from analytics.survival import compare_groups
        from analytics.survival_groups import survival_table

        table = timed("survival table (churn per member)", lambda: survival_table(community))
        timed("Kaplan-Meier, everyone", lambda: compare_groups(
            table.with_columns(pl.lit("all").alias("g")), duration="tenure_days",
            event="churned", group="g"))  # fmt: skip
        timed("Kaplan-Meier by channel + log-rank", lambda: compare_groups(
            table, duration="tenure_days", event="churned", group="channel"))  # fmt: skip
    except ImportError as exc:
        print(f"  (survival skipped: {exc})")
    timed("weekly lifecycle", lambda: lifecycle(community))
    timed("churn per week", lambda: churn_by_period(
        community.members, community.activity, as_of=community.as_of, period="week"))  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"peak RSS: {peak:.2f} GiB")


if __name__ == "__main__":
    main()
