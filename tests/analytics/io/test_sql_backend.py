"""SqlBackend: which narwhals operations give PostgreSQL the same answers as polars.

Every probe builds one query with narwhals and runs it twice: on polars frames and inside
PostgreSQL through :class:`SqlBackend` (SQLFrame standalone session, postgres dialect). The
results must be equal (rows sorted). Probes that fail are marked ``xfail(strict=True)`` with the
exact reason, so a fix upstream shows up as an XPASS. Findings (sqlframe 4.10, narwhals 2.29,
PostgreSQL 15):

* OK (same answer as polars): filter with comparisons and ``&``/``|``; Int64 ``+ - * //``
  (non-negative); ``group_by().agg(nw.len(), sum, min, max, n_unique, count)``; joins inner,
  left, semi, anti, cross; ``with_columns``; ``when/then/otherwise``; ``is_null``,
  ``fill_null``, ``is_in``; ``cast`` to Float64/String/Date; ``dt.truncate("1mo"/"1d")``,
  ``dt.date()``, ``dt.year()``, ``dt.month()``; comparison with ``nw.lit(datetime)`` (naive UTC);
  ``unique(subset=...)``; ``sort`` + ``head``; ``nw.concat(how="vertical")``;
  ``max_horizontal``/``min_horizontal``; ``over(partition_by)`` sum/min/max;
  ``shift(1).over(partition_by, order_by)``; ``cum_sum().over(order_by)``; ``rank("dense")``.
* OK only because SqlBackend rewrites SQLFrame's output (``_postgres_functions``):
  ``is_null`` and ``n_unique`` (SQLFrame writes Spark's ``ISNULL(x)``: "function isnull(text)
  does not exist"); ``dt.weekday()`` (``DAY_OF_WEEK`` does not exist, and narwhals'
  ``(DAYOFWEEK(x) + 6) % 7`` gives Sunday 0 where polars gives 7: rewritten to ISODOW);
  ``dt.hour/minute/second/ordinal_day`` (``HOUR(x)`` etc. do not exist: EXTRACT, floored);
  ``%`` (modulo) must be doubled for psycopg ("incomplete placeholder: '%'").
* DIFFERS: ``cast(nw.Int64)`` of a float rounds in PostgreSQL and truncates in polars
  (``floor()`` first).
* Not available with the standalone session: ``collect_schema()`` (and dtype-dependent
  selectors) need a connection ("This engine does not support schema inference likely since it
  does not have an active connection"); ``.columns`` and ``nw.all()`` work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import narwhals.stable.v2 as nw
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics.io.backends.base import US_SUFFIX
from analytics.io.backends.sql import SqlBackend
from analytics.io.write import write_database

UTC = dt.UTC
T0 = dt.datetime(2024, 1, 29, 22, 30, tzinfo=UTC)

Query = Callable[[nw.LazyFrame[Any], nw.LazyFrame[Any]], nw.LazyFrame[Any]]


def probe_tables() -> dict[str, pl.DataFrame]:
    """Ten members (some without a channel or score), 40 activity rows over two months."""
    ts = pl.Datetime("us", "UTC")
    members = pl.DataFrame(
        {
            "member_id": [f"m{i}" for i in range(10)],
            "joined_at": [T0 + dt.timedelta(days=3 * i, seconds=7 * i) for i in range(10)],
            "channel": [None if i % 4 == 3 else ("ads" if i % 2 else "organic") for i in range(10)],
            "score": [None if i % 5 == 4 else i * 3 for i in range(10)],
        },
        schema={"member_id": pl.String, "joined_at": ts, "channel": pl.String, "score": pl.Int64},
    )
    activity = pl.DataFrame(
        {
            # m9 has no activity; "zz" is activity without a member.
            "member_id": [f"m{i % 9}" for i in range(39)] + ["zz"],
            "occurred_at": [
                T0 + dt.timedelta(days=i * 1.7, microseconds=123_457 * i) for i in range(40)
            ],
            "kind": [("post", "comment", "login")[i % 3] for i in range(40)],
            "x": [(i * 7) % 23 for i in range(40)],
            "y": [i / 4 for i in range(40)],
        },
        schema={
            "member_id": pl.String,
            "occurred_at": ts,
            "kind": pl.String,
            "x": pl.Int64,
            "y": pl.Float64,
        },
    )
    return {"members": members, "activity": activity}


def _as_contract(frame: pl.DataFrame, timestamps: tuple[str, ...]) -> pl.LazyFrame:
    """The frame as every backend presents a contract table: naive UTC plus ``_us``."""
    columns: list[pl.Expr] = []
    for c in frame.columns:
        if c in timestamps:
            columns += [
                pl.col(c).dt.replace_time_zone(None),
                pl.col(c).dt.epoch("us").alias(c + US_SUFFIX),
            ]
        else:
            columns.append(pl.col(c))
    return frame.lazy().select(columns)


def _normalise(frame: pl.DataFrame) -> pl.DataFrame:
    frame = frame.with_columns(
        *(
            pl.col(c).dt.replace_time_zone("UTC")
            for c, t in frame.schema.items()
            if isinstance(t, pl.Datetime) and t.time_zone is None
        ),
        *(
            pl.col(c).cast(pl.Int64)
            for c, t in frame.schema.items()
            if t.is_integer() or t == pl.Boolean
        ),
    )
    return frame.sort(frame.columns, nulls_last=True)


D = dt.datetime(2024, 2, 20, 12, 0)  # naive UTC

PROBES: dict[str, Query] = {
    "filter_compare_and_or": lambda a, m: a.filter(
        ((nw.col("x") >= 5) & (nw.col("x") < 15)) | (nw.col("kind") == "login")
    ),
    "int_arithmetic": lambda a, m: a.select(
        "x",
        p=nw.col("x") + 3,
        s=nw.col("x") - 2,
        t=nw.col("x") * 4,
        q=nw.col("x") // 3,
        q2=(nw.col("occurred_at_us") - nw.lit(1_700_000_000_000_000)) // 86_400_000_000,
    ),
    "group_by_agg": lambda a, m: a.group_by("kind").agg(
        nw.len(),
        nw.col("x").sum().alias("sum"),
        nw.col("x").min().alias("min"),
        nw.col("x").max().alias("max"),
        nw.col("member_id").n_unique().alias("members"),
        nw.col("y").count().alias("count"),
    ),
    "join_inner": lambda a, m: a.join(m, on="member_id", how="inner").select(
        "member_id", "x", "channel"
    ),
    "join_left": lambda a, m: a.join(m, on="member_id", how="left").select(
        "member_id", "x", "channel", "score"
    ),
    "join_semi": lambda a, m: m.join(a, on="member_id", how="semi").select("member_id"),
    "join_anti": lambda a, m: m.join(a, on="member_id", how="anti").select("member_id"),
    "join_cross": lambda a, m: (
        m.select("member_id")
        .join(a.select("kind").unique(), how="cross")
        .select("member_id", "kind")
    ),
    "with_columns": lambda a, m: a.with_columns(z=nw.col("x") * 2, w=nw.col("y") + 1).select(
        "x", "z", "w"
    ),
    "when_then_otherwise": lambda a, m: a.select(
        "x", big=nw.when(nw.col("x") > 10).then(nw.lit("big")).otherwise(nw.lit("small"))
    ),
    "is_null_fill_null_is_in": lambda a, m: m.select(
        "member_id",
        missing=nw.col("channel").is_null(),
        channel=nw.col("channel").fill_null("none"),
        score=nw.col("score").fill_null(0),
        chosen=nw.col("member_id").is_in(["m1", "m3", "m7"]),
    ),
    "cast": lambda a, m: a.select(
        f=nw.col("x").cast(nw.Float64),
        s=nw.col("x").cast(nw.String),
        d=nw.col("occurred_at").cast(nw.Date),
    ),
    "dt_truncate_1mo": lambda a, m: a.select(t=nw.col("occurred_at").dt.truncate("1mo")),
    "dt_truncate_1d": lambda a, m: a.select(t=nw.col("occurred_at").dt.truncate("1d")),
    "dt_date": lambda a, m: a.select(d=nw.col("occurred_at").dt.date()),
    "dt_year_month": lambda a, m: a.select(
        y=nw.col("occurred_at").dt.year(), mo=nw.col("occurred_at").dt.month()
    ),
    "dt_weekday": lambda a, m: a.select(w=nw.col("occurred_at").dt.weekday()),
    "dt_hour_minute_second_ordinal_day": lambda a, m: a.select(
        h=nw.col("occurred_at").dt.hour(),
        mi=nw.col("occurred_at").dt.minute(),
        s=nw.col("occurred_at").dt.second(),
        o=nw.col("occurred_at").dt.ordinal_day(),
    ),
    "cast_float_to_int_positive_halves": lambda a, m: a.select(
        i=(nw.col("y") + 0.5).cast(nw.Int64)
    ),
    "compare_datetime_literal": lambda a, m: a.filter(nw.col("occurred_at") < nw.lit(D)).select(
        "occurred_at"
    ),
    "unique_subset": lambda a, m: a.unique(subset=["member_id"], keep="any").select("member_id"),
    "sort_head": lambda a, m: (
        a.sort("x", "occurred_at", descending=[True, False]).head(5).select("x", "occurred_at")
    ),
    "concat_vertical": lambda a, m: nw.concat(
        [a.select("member_id", "kind"), m.select("member_id", kind=nw.lit("joined"))],
        how="vertical",
    ),
    "max_min_horizontal": lambda a, m: a.select(
        hi=nw.max_horizontal("x", nw.col("x") // 2 + 5),
        lo=nw.min_horizontal("x", nw.col("x") // 2 + 5),
    ),
    "over_partition": lambda a, m: a.select(
        "member_id",
        "x",
        s=nw.col("x").sum().over("member_id"),
        lo=nw.col("x").min().over("member_id"),
        hi=nw.col("x").max().over("member_id"),
    ),
    "shift_over_order": lambda a, m: a.select(
        "member_id",
        "occurred_at",
        prev=nw.col("occurred_at_us").shift(1).over("member_id", order_by="occurred_at_us"),
    ),
    "cum_sum_over_order": lambda a, m: a.select(
        "occurred_at", c=nw.col("x").cum_sum().over(order_by="occurred_at_us")
    ),
    "rank_dense": lambda a, m: a.select("x", r=nw.col("x").rank("dense")),
}

#: Probes that do not give PostgreSQL the polars answer, with the reason.
FAILING: dict[str, str] = {
    "cast_float_to_int_positive_halves": "CAST(double AS BIGINT) rounds to nearest in "
    "PostgreSQL (2.5 -> 3), polars truncates (2.5 -> 2): floor() before casting",
}


@pytest.fixture(scope="module")
def probe_backend(postgres_server: str) -> Any:
    import sqlalchemy as sa

    admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text('DROP DATABASE IF EXISTS "probe" WITH (FORCE)'))
        conn.execute(sa.text('CREATE DATABASE "probe"'))
    url = postgres_server.rsplit("/", 1)[0] + "/probe"
    write_database(probe_tables(), url)
    backend = SqlBackend(url)
    yield backend
    backend.close()
    admin.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=FAILING[n]))
        if n in FAILING
        else n
        for n in PROBES
    ],
)
def test_probe(probe_backend: SqlBackend, name: str) -> None:
    query = PROBES[name]
    tables = probe_tables()
    expected = query(
        nw.from_native(_as_contract(tables["activity"], ("occurred_at",))),
        nw.from_native(_as_contract(tables["members"], ("joined_at",))),
    ).collect(backend="polars")
    got = probe_backend.collect(
        [query(probe_backend.table("activity"), probe_backend.table("members"))]  # type: ignore[arg-type]
    )[0]
    assert_frame_equal(
        _normalise(got), _normalise(expected.to_native()), check_dtypes=False, check_exact=False
    )


# -- Conformance: every contract table as stored ------------------------------------------------


@pytest.mark.postgres
def test_contract_tables_match_parquet(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from analytics.contract import TABLES
    from analytics.embedded import write_demo

    monkeypatch.chdir(tmp_path)  # truth.json of a database demo goes to the working directory
    write_demo(postgres_url, members=2_000, seed=11)
    write_demo(tmp_path / "parquet", members=2_000, seed=11)
    backend = SqlBackend(postgres_url)
    try:
        for name, spec in TABLES.items():
            file = tmp_path / "parquet" / f"{name}.parquet"
            frame = backend.table(name)
            if not file.exists():
                assert frame is None, name
                continue
            assert frame is not None, name
            expected = pl.read_parquet(file).with_columns(
                pl.col(c).dt.epoch("us").alias(c + US_SUFFIX)
                for c in spec.timestamp_columns
                if c in pl.read_parquet_schema(file)
            )
            got = backend.collect([frame])[0]
            assert sorted(got.columns) == sorted(expected.columns), name
            got = got.select(expected.columns)
            for c in spec.timestamp_columns:
                if c in got.columns:
                    assert got.schema[c] == pl.Datetime("us", "UTC"), (name, c)
                    assert got.schema[c + US_SUFFIX] == pl.Int64, (name, c)
            assert_frame_equal(
                got.sort(got.columns), expected.sort(expected.columns), check_dtypes=False
            )
            numbered = backend.collect([backend.table(name, row_numbers=True)])[0]  # type: ignore[list-item]
            assert numbered["__row"].sort().to_list() == list(range(1, expected.height + 1))
    finally:
        backend.close()


# -- Proof of pushdown --------------------------------------------------------------------------


@pytest.mark.postgres
def test_only_aggregates_leave_the_database(
    postgres_stats_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from analytics.embedded import write_demo
    from analytics.io.source import SqlSource
    from tests.pg_stats import reset_statements, rows_returned

    monkeypatch.chdir(tmp_path)  # truth.json of a database demo goes to the working directory
    write_demo(postgres_stats_url, members=2_000, seed=11)
    backend = SqlBackend(postgres_stats_url)
    activity = backend.table("activity")
    assert activity is not None
    per_day = (
        activity.with_columns(day=nw.col("occurred_at").dt.date()).group_by("day").agg(nw.len())
    )
    total = int(backend.collect([activity.select(nw.len())])[0].item())

    reset_statements(postgres_stats_url)
    days = backend.collect([per_day])[0]
    pushed = rows_returned(postgres_stats_url)
    assert int(days["len"].sum()) == total
    assert pushed, "the query was not counted"
    assert max(rows for _, rows in pushed) == days.height < total / 10

    reset_statements(postgres_stats_url)
    streamed = SqlSource(postgres_stats_url).scan("activity")
    assert streamed is not None
    assert streamed.collect().height == total
    assert sum(rows for _, rows in rows_returned(postgres_stats_url)) >= total
    backend.close()


# -- Errors -------------------------------------------------------------------------------------


def test_silent_listener_times_out_with_a_clear_error() -> None:
    import socket
    import time

    from analytics.errors import DataSourceError

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(DataSourceError) as caught:
            SqlBackend(f"postgresql+psycopg://ann:s3cret@127.0.0.1:{port}/db")
        assert time.monotonic() - started < 15
    message = str(caught.value)
    assert "s3cret" not in message
    assert "ann:***@" in message
    assert "\n" not in message


def test_unreachable_server_and_unsupported_dialect() -> None:
    from analytics.errors import DataSourceError

    with pytest.raises(DataSourceError, match=r"Cannot reach .*ann:\*\*\*@") as caught:
        SqlBackend("postgresql+psycopg://ann:s3cret@127.0.0.1:9/none")
    assert "s3cret" not in str(caught.value)
    with pytest.raises(DataSourceError, match="pushdown supports"):
        SqlBackend("sqlite://")


@pytest.mark.postgres
def test_text_timestamps_are_refused(postgres_url: str) -> None:
    import sqlalchemy as sa

    from analytics.errors import DataSourceError

    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE activity (member_id text, occurred_at text, kind text)"))
        conn.execute(sa.text("INSERT INTO activity VALUES ('a', '2024-01-01', 'post')"))
    engine.dispose()
    backend = SqlBackend(postgres_url)
    with pytest.raises(DataSourceError, match=r"occurred_at of table activity.*TIMESTAMP"):
        backend.table("activity")
    backend.close()


@pytest.mark.postgres
def test_small_frames_join_tables(probe_backend: SqlBackend) -> None:
    cutoffs = pl.DataFrame(
        {"kind": ["post", "login"], "cutoff": [D.replace(tzinfo=UTC), None], "n": [1, None]}
    )
    activity = probe_backend.table("activity")
    assert activity is not None
    joined = activity.join(probe_backend.frame(cutoffs), on="kind").filter(
        nw.col("occurred_at") < nw.col("cutoff")
    )
    got = probe_backend.collect([joined.select("kind", "cutoff").unique()])[0]
    assert got.to_dicts() == [{"kind": "post", "cutoff": D.replace(tzinfo=UTC)}]


@pytest.mark.postgres
def test_connection_dropped_mid_query(probe_backend: SqlBackend, postgres_server: str) -> None:
    import threading
    import time

    import sqlalchemy as sa

    from analytics.errors import DataSourceError

    activity = probe_backend.table("activity")
    assert activity is not None
    huge = activity.select(x0="x")
    for i in range(1, 7):  # 40**7 rows: runs until stopped
        huge = huge.join(activity.select(nw.col("x").alias(f"x{i}")), how="cross")
    admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")

    def terminate() -> None:
        time.sleep(1.5)
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = 'probe' AND pid <> pg_backend_pid()"
                )
            )

    killer = threading.Thread(target=terminate)
    killer.start()
    try:
        with pytest.raises(DataSourceError, match="A query inside the database") as caught:
            probe_backend.collect([huge.select(nw.len())])
    finally:
        killer.join()
        admin.dispose()
    assert "\n" not in str(caught.value)
    # The backend recovers: the next query gets a fresh connection.
    assert probe_backend.collect([activity.select(nw.len())])[0].item() == 40


def test_the_statement_timeout_can_be_set_in_seconds(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy as sa

    from analytics.errors import DataSourceError
    from analytics.io.backends.sql import _engine_for

    def shown() -> str:
        engine = _engine_for(postgres_url)
        with engine.connect() as conn:
            value = str(conn.execute(sa.text("SHOW statement_timeout")).scalar())
        engine.dispose()
        return value

    assert shown() == "2min"
    monkeypatch.setenv("PROOFBOARD_STATEMENT_TIMEOUT", "600")
    assert shown() == "10min"
    monkeypatch.setenv("PROOFBOARD_STATEMENT_TIMEOUT", "ten minutes")
    with pytest.raises(DataSourceError, match="PROOFBOARD_STATEMENT_TIMEOUT='ten minutes'"):
        shown()


def test_a_statement_cancelled_by_the_timeout_says_so_and_how_to_allow_longer(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy as sa

    from analytics.io.backends.sql import _engine_for, query_failed

    monkeypatch.setenv("PROOFBOARD_STATEMENT_TIMEOUT", "1")
    engine = _engine_for(postgres_url)
    with pytest.raises(sa.exc.OperationalError) as raised, engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_sleep(3)"))
    engine.dispose()
    message = str(query_failed(raised.value, postgres_url))
    assert "ran longer than 1 s and was cancelled" in message
    assert "PROOFBOARD_STATEMENT_TIMEOUT=SECONDS" in message
    assert "\n" not in message
    assert "Traceback" not in message
    # any other failure keeps the general message
    other = sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))
    assert "failed: OperationalError: server closed the connection" in str(
        query_failed(other, postgres_url)
    )
