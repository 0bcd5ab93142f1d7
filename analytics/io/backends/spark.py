"""Apache Spark backend (``--engine spark``): the queries run on Spark through PySpark.

The folder's contract tables (``<table>.parquet`` or ``<table>.csv``) are read by Spark and
handed out as narwhals lazy frames over PySpark DataFrames, so that the shared narwhals queries
run on the cluster (or ``local[2]``) and only their results come back as polars frames.

Time follows the conventions of :mod:`analytics.io.backends.base`: the session time zone is UTC,
contract timestamp columns become ``TimestampNTZ`` (what narwhals reports as a naive
``Datetime("us")``) holding the UTC wall clock, and ``<column>_us`` is ``unix_micros`` of the same
instant.

CSV files are read with every column as text. Their timestamp columns are parsed with the same
rule the polars loader uses (:func:`analytics.community` accepts ``YYYY-MM-DD`` with an optional
``[T ]HH:MM[:SS[.fraction]]`` and an optional ``Z``/``UTC``/``±HH[[:]MM]`` offset; no offset means
UTC): the text is split with one regular expression and the offset subtracted, rather than left to
Spark's ``to_timestamp``, which refuses some of these forms (``2024-03-01T14:30Z``) and, in ANSI
mode, fails the whole job on the first odd value. A value that does not parse becomes null, as in
the polars loader; the quality report is where such values are named by row.

PySpark is imported inside the functions that need it: this module imports without it, and only
creating a backend reports that Spark is missing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import narwhals.stable.v2 as nw
import polars as pl

from analytics.contract import TABLES
from analytics.errors import DataSourceError
from analytics.io.backends.base import ROW, US_SUFFIX
from analytics.io.backends.polars import TEXT_SUFFIX

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

#: Environment variable naming the Spark master when none is passed.
MASTER_ENV = "PROOFBOARD_SPARK_MASTER"
DEFAULT_MASTER = "local[2]"
#: Seconds to wait for a ``spark://`` master to accept a connection before giving up.
CONNECT_TIMEOUT_S = 5.0

INSTALL_HINT = (
    "Apache Spark is not installed: install proofboard[spark] (pip install 'proofboard[spark]')"
)

#: The polars loader's timestamp rule (analytics.community), in Java regex syntax.
TIMESTAMP_PATTERN = (
    r"^(\d{4}-\d{2}-\d{2})"
    r"(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?))?"
    r"\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$"
)
_SUFFIXES = (".parquet", ".csv")
_US_PER_MINUTE = 60_000_000
#: Errors only, without stack traces: failed queries come back as exceptions instead.
LOG4J2_CONFIG = Path(__file__).with_name("spark-log4j2.properties")


def resolve_master(master: str | None) -> str:
    """The master to use: the argument, else ``$PROOFBOARD_SPARK_MASTER``, else ``local[2]``."""
    return master or os.environ.get(MASTER_ENV) or DEFAULT_MASTER


def _check_master_reachable(master: str) -> None:
    """Fail fast when a standalone master (``spark://host:port[,host:port]``) does not answer:
    Spark itself would retry registration for a minute and then leave jobs waiting forever."""
    if not master.startswith("spark://"):
        return
    hosts = master.removeprefix("spark://").split(",")
    problems = []
    for entry in hosts:
        parts = urlsplit(f"spark://{entry}")
        host, port = parts.hostname, parts.port or 7077
        if not host:
            raise DataSourceError(
                f"Cannot use the Spark master {master}: no host. Fix: write it as "
                f"spark://host:7077, or unset {MASTER_ENV} to run Spark locally (local[2])."
            )
        try:
            with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
                return
        except OSError as exc:
            problems.append(f"{host}:{port} ({exc.strerror or type(exc).__name__})")
    raise DataSourceError(
        f"Cannot reach the Spark master {master}: {', '.join(problems)}. Fix: start the master "
        f"or correct the address (--spark-master / {MASTER_ENV}), or use local[2] to run Spark "
        "on this machine."
    )


def _check_java() -> None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return
    if not home and shutil.which("java"):
        return
    where = f"JAVA_HOME={home} holds no bin/java" if home else "no java on PATH"
    raise DataSourceError(
        f"No Java runtime for Apache Spark ({where}). Fix: install Java 17 or later "
        "(e.g. apt-get install openjdk-17-jre-headless) and put it on PATH or set JAVA_HOME."
    )


def _quiet_python_loggers() -> None:
    """PySpark 4 logs every failed query with its JVM stack trace as JSON on stderr; the error
    itself is raised (and reported in one line by the caller)."""
    from pyspark.logger import PySparkLogger

    for name in ("DataFrameQueryContextLogger", "SQLQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL + 1)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def spark_session(master: str | None = None) -> SparkSession:
    """The process's Spark session, created on first use (later calls reuse it, whatever master
    they name: Spark allows one active context per process)."""
    try:
        from pyspark.sql import SparkSession
    except ModuleNotFoundError as exc:
        raise DataSourceError(INSTALL_HINT) from exc
    chosen = resolve_master(master)
    _check_master_reachable(chosen)
    _check_java()
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = (
        SparkSession.builder.master(chosen)
        .appName("proofboard")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={LOG4J2_CONFIG}")
    )
    if chosen.startswith("local"):
        # Executors run in this JVM: no need to advertise an outside address.
        builder = builder.config("spark.driver.host", "127.0.0.1")
    try:
        session = builder.getOrCreate()
    except Exception as exc:
        raise DataSourceError(
            f"Cannot start Apache Spark (master {chosen}): {_first_line(exc)}. Fix: check the "
            f"master address ({MASTER_ENV}) and the Java runtime (java -version, Java 17+)."
        ) from exc
    session.sparkContext.setLogLevel("OFF")
    _quiet_python_loggers()
    return session


def _table_file(folder: Path, table: str) -> Path | None:
    found = [folder / f"{table}{s}" for s in _SUFFIXES if (folder / f"{table}{s}").is_file()]
    if len(found) > 1:
        raise DataSourceError(
            f"{folder} holds both {found[0].name} and {found[1].name}. Fix: keep one file per "
            "table."
        )
    return found[0] if found else None


def parse_timestamp_text(column: Column) -> Column:
    """ISO 8601 text as a naive UTC ``TimestampNTZ`` with the polars loader's rule; null where
    the text does not parse."""
    from pyspark.sql import functions as F

    text = F.trim(column)
    date = F.regexp_extract(text, TIMESTAMP_PATTERN, 1)
    clock = F.regexp_extract(text, TIMESTAMP_PATTERN, 2)
    offset = F.regexp_extract(text, TIMESTAMP_PATTERN, 3)
    clock = (
        F.when(clock == "", F.lit("00:00:00"))
        .when(F.length(clock) == 5, F.concat(clock, F.lit(":00")))
        .otherwise(F.regexp_replace(clock, r"(\.\d{6})\d+$", "$1"))  # Spark keeps microseconds
    )
    naive = F.concat(date, F.lit(" "), clock).try_cast("timestamp_ntz")
    digits = F.regexp_replace(offset, "[^0-9]", "")
    hours = F.substring(digits, 1, 2).try_cast("long")
    minutes = F.when(F.length(digits) >= 4, F.substring(digits, 3, 2).try_cast("long")).otherwise(
        F.lit(0)
    )
    # An offset beyond ±14:00 (or with 60+ minutes) does not exist: unreadable, as on polars.
    real = F.length(digits).isin(2, 4) & (minutes <= 59) & (hours * 60 + minutes <= 14 * 60)
    shift = (
        F.when(offset.isin("", "Z", "z", "UTC"), F.lit(0))
        .when(~real, F.lit(None))
        .when(offset.startswith("-"), -(hours * 60 + minutes))
        .otherwise(hours * 60 + minutes)
    )
    micros = F.unix_micros(naive.cast("timestamp")) - shift * _US_PER_MINUTE
    parsed = F.timestamp_micros(micros).cast("timestamp_ntz")
    return F.when(text.rlike(TIMESTAMP_PATTERN), parsed)


def _naive_utc(frame: DataFrame, column: str) -> Column:
    """A contract timestamp column as a naive UTC ``TimestampNTZ``."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    kind = frame.schema[column].dataType
    col = F.col(column)
    if isinstance(kind, T.TimestampNTZType):
        return col
    if isinstance(kind, T.TimestampType | T.DateType):
        return col.cast("timestamp_ntz")  # the session time zone is UTC
    if isinstance(kind, T.StringType):
        return parse_timestamp_text(col)
    if isinstance(kind, T.NullType):
        return col.cast("timestamp_ntz")
    raise DataSourceError(
        f"Column {column} holds {kind.simpleString()} values, not timestamps. Fix: store it as a "
        "timestamp or as ISO 8601 text."
    )


class SparkBackend:
    """The contract tables of a folder, read and queried by Apache Spark."""

    name = "spark"
    pushdown = True
    stacks_passes = False

    def __init__(self, folder: Path, *, master: str | None = None) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise DataSourceError(
                f"Data folder {self.folder} does not exist. Fix: pass a folder holding "
                "members.parquet and activity.parquet (or .csv files)."
            )
        self._files = {name: _table_file(self.folder, name) for name in TABLES}
        missing = [n for n, spec in TABLES.items() if spec.required and self._files[n] is None]
        if missing:
            wanted = " and ".join(f"{n}.parquet (or {n}.csv)" for n in missing)
            raise DataSourceError(
                f"{self.folder} has no {wanted}. Fix: pass the folder holding the contract tables "
                "(proofboard demo --out FOLDER writes an example)."
            )
        self.master = resolve_master(master)
        self.session = spark_session(self.master)

    def _read(self, file: Path) -> DataFrame:
        reader = self.session.read
        if file.suffix == ".parquet":
            return reader.parquet(str(file))
        return (
            reader.option("header", True)
            .option("inferSchema", False)
            .option("encoding", "UTF-8")
            .option("multiLine", True)
            .csv(str(file))
        )

    def table(self, name: str, *, row_numbers: bool = False) -> nw.LazyFrame[Any] | None:
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        file = self._files.get(name)
        if file is None:
            return None
        try:
            frame = self._read(file)
        except Exception as exc:
            raise DataSourceError(
                f"Spark cannot read {file}: {_first_line(exc)}. Fix: check that it is a valid "
                f"{file.suffix.lstrip('.').upper()} file."
            ) from exc
        if row_numbers:
            order = Window.orderBy(F.monotonically_increasing_id())
            frame = frame.withColumn(ROW, F.row_number().over(order).cast("long"))
        present = [c for c in TABLES[name].timestamp_columns if c in frame.columns]
        if present:
            from pyspark.sql import types as T

            # The text as written, beside the parsed value: the checks tell text that does not
            # read as a timestamp (reported as unreadable, with its rows) from an empty cell.
            text = {
                f"{c}{TEXT_SUFFIX}": F.col(c)
                for c in present
                if isinstance(frame.schema[c].dataType, T.StringType)
            }
            frame = frame.withColumns(text)
            naive = {c: _naive_utc(frame, c) for c in present}
            frame = frame.withColumns(naive)
            frame = frame.withColumns(
                {f"{c}{US_SUFFIX}": F.unix_micros(F.col(c).cast("timestamp")) for c in present}
            )
        return nw.from_native(frame)

    def frame(self, frame: pl.DataFrame) -> nw.LazyFrame[Any]:
        from pyspark.sql import functions as F

        stamps = [c for c, t in frame.schema.items() if isinstance(t, pl.Datetime)]
        local = frame.with_columns(
            (
                pl.col(c).dt.convert_time_zone("UTC").dt.replace_time_zone(None)
                if frame.schema[c].time_zone is not None  # type: ignore[attr-defined]
                else pl.col(c)
            ).dt.cast_time_unit("us")
            for c in stamps
        )
        native = self.session.createDataFrame(local.to_arrow(compat_level=pl.CompatLevel.oldest()))
        if stamps:
            native = native.withColumns({c: F.col(c).cast("timestamp_ntz") for c in stamps})
        return nw.from_native(native)

    def collect(self, frames: Sequence[nw.LazyFrame[Any]]) -> list[pl.DataFrame]:
        results = []
        for lazy in frames:
            native = nw.to_native(lazy)
            try:
                table = native.toArrow()
            except DataSourceError:
                raise
            except Exception as exc:
                raise DataSourceError(
                    f"The Spark query failed: {_first_line(exc)}. Fix: check the data with "
                    "`proofboard check FOLDER`; if it is valid, report this as a bug."
                ) from exc
            result = pl.from_arrow(table)
            assert isinstance(result, pl.DataFrame)
            results.append(_utc(result))
        return results

    def keep(
        self, frame: nw.LazyFrame[Any], name: str, *, rows: int | None = None
    ) -> nw.LazyFrame[Any] | None:
        return None

    def close(self) -> None:
        """Nothing to release per backend: the Spark session lives as long as the process (one
        per process, reused by every backend); :func:`stop_session` ends it."""


def _utc(frame: pl.DataFrame) -> pl.DataFrame:
    """Naive timestamps as ``Datetime("us", "UTC")``, aware ones converted to UTC."""
    fixes = []
    for column, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime):
            col = pl.col(column).dt.cast_time_unit("us")
            if dtype.time_zone is None:
                fixes.append(col.dt.replace_time_zone("UTC"))
            else:
                fixes.append(col.dt.convert_time_zone("UTC"))
    return frame.with_columns(fixes) if fixes else frame


def stop_session() -> None:
    """Stop the process's Spark session, if one runs."""
    with contextlib.suppress(ModuleNotFoundError):
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession()
        if active is not None:
            active.stop()
