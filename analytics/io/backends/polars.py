"""The polars backend: folders (CSV/Parquet), the embedded SQLite store and uploaded files.

Tables are scanned lazily and collected with polars' streaming engine (``streaming=False`` runs
the same plans in memory). Text timestamps (CSV files, SQLite) are parsed here, by the rules of
``analytics.contract.TIMESTAMP_HELP``; a value that cannot be read becomes null, and its text is
kept beside it in ``<column>__text`` so that the quality report can name the row and the value.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import narwhals.stable.v2 as nw
import polars as pl

from analytics.io.backends.base import ROW, US_SUFFIX
from analytics.io.source import SqlSource

if TYPE_CHECKING:
    from analytics.io.source import Source

#: Suffix of the original text of a parsed timestamp column.
TEXT_SUFFIX = "__text"

#: Estimated bytes of memory per kept event row (a member key, two integer timestamps and the
#: kind: 2.2 GiB for the 53 M activity rows of a million members).
KEPT_ROW_BYTES = 44


def keep_in_memory_budget() -> int:
    """Bytes of kept event rows this process holds in memory, all backends together: 3 GiB, or
    an eighth of the machine's memory where that is less. Rows beyond it are kept in a
    temporary file."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not a POSIX system: the file
        return 0
    return min(3 * 2**30, physical // 8)


#: Bytes of kept rows each live backend holds in memory (entries go with their backends).
_HELD: weakref.WeakKeyDictionary[PolarsBackend, int] = weakref.WeakKeyDictionary()
_HELD_LOCK = threading.Lock()

_TIMESTAMP_PATTERN = (
    r"^(\d{4}-\d{2}-\d{2})"
    r"(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?))?"
    r"\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$"
)


def valid_offset(offset: pl.Expr) -> pl.Expr:
    """Whether a UTC offset (``+02``, ``+0200``, ``+02:00``) is one that exists: at most 14
    hours and 59 minutes, and within -14:00..+14:00 in all."""
    digits = offset.str.replace_all(r"[^0-9]", "")
    hours = digits.str.slice(0, 2).cast(pl.Int64, strict=False)
    minutes = (
        pl.when(digits.str.len_chars() >= 4)
        .then(digits.str.slice(2, 2).cast(pl.Int64, strict=False))
        .otherwise(0)
    )
    return (
        (digits.str.len_chars().is_in([2, 4])) & (minutes <= 59) & (hours * 60 + minutes <= 14 * 60)
    ).fill_null(False)


def parse_timestamp(column: str) -> pl.Expr:
    """Text in ISO 8601 as a naive UTC timestamp (null where it cannot be read).

    A date is midnight UTC; a date and time without offset is UTC; ``Z``, ``UTC`` or an offset
    (``+02``, ``+0200``, ``+02:00``) is converted to UTC.
    """
    parts = pl.col(column).str.strip_chars().str.extract_groups(_TIMESTAMP_PATTERN)
    date, time, offset = (parts.struct.field(k) for k in ("1", "2", "3"))
    digits = offset.str.replace_all(r"[^0-9]", "")
    minutes = (
        pl.when(offset.is_null() | offset.is_in(["Z", "z", "UTC"]))
        .then(pl.lit(0))
        .when(~valid_offset(offset))
        .then(pl.lit(None, dtype=pl.Int64))  # +24:00, +99:99: not a real offset, unreadable
        .otherwise(
            pl.when(offset.str.starts_with("-")).then(-1).otherwise(1)
            * (
                digits.str.slice(0, 2).cast(pl.Int64) * 60
                + pl.when(digits.str.len_chars() >= 4)
                .then(digits.str.slice(2, 2).cast(pl.Int64, strict=False))
                .otherwise(0)
            )
        )
    )
    clock = (
        pl.when(time.is_null())
        .then(pl.lit("00:00:00"))
        .when(time.str.len_chars() == 5)
        .then(time + ":00")
        .otherwise(time)
    )
    naive = (date + "T" + clock).str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%.f", time_unit="us", strict=False
    )
    return naive - pl.duration(minutes=minutes)


def normalise_timestamp(column: str, dtype: pl.DataType) -> list[pl.Expr] | None:
    """Expressions turning ``column`` of type ``dtype`` into a naive UTC timestamp (plus its
    text, for text columns); ``None`` when the type cannot hold timestamps."""
    col = pl.col(column)
    if isinstance(dtype, pl.Datetime):
        utc = col.dt.convert_time_zone("UTC") if dtype.time_zone else col
        return [utc.dt.replace_time_zone(None).dt.cast_time_unit("us").alias(column)]
    if dtype == pl.Date:
        return [col.cast(pl.Datetime("us")).alias(column)]
    if dtype == pl.Null:
        return [col.cast(pl.Datetime("us")).alias(column)]
    if dtype == pl.String:
        return [parse_timestamp(column).alias(column), col.alias(column + TEXT_SUFFIX)]
    return None


class PolarsBackend:
    """Contract tables of a :class:`~analytics.io.source.Source` as polars lazy frames.

    Parameters
    ----------
    source
        An opened folder, SQLite store or in-memory frames.
    streaming
        Collect with polars' streaming engine (the default: bounded memory on large folders);
        ``False`` collects in memory.
    timestamp_columns
        Per table, the columns the contract reads as timestamps.
    """

    pushdown = False

    def __init__(
        self,
        source: Source,
        *,
        streaming: bool = True,
        timestamp_columns: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.source = source
        self.streaming = streaming
        self.timestamp_columns = timestamp_columns or {}
        self._scans: dict[str, pl.LazyFrame | None] = {}
        self._kept: Path | None = None
        #: bytes of kept rows all backends together may hold in memory (see :meth:`keep`)
        self.keep_in_memory_bytes = keep_in_memory_budget()

    @property
    def name(self) -> str:
        return "polars" if self.streaming else "polars-eager"

    @property
    def stacks_passes(self) -> bool:
        # in memory, every pass re-read an unkept source (the embedded SQLite store: risk at
        # 10,000 members 62.7 s stacked, 15.9 s joined)
        return self.streaming

    def _scan(self, name: str) -> pl.LazyFrame | None:
        if name not in self._scans:
            scan = self.source.scan(name)
            if scan is not None and not self.streaming and isinstance(self.source, SqlSource):
                # in memory, a database table is read once: its rows cross from the driver one
                # by one, and an analysis of many queries read them again for each (churn risk
                # on the embedded store at 10,000 members: 14.9 s -> 9.0 s); one snapshot also
                # gives every query the same rows
                scan = scan.collect().lazy()
            self._scans[name] = scan
        return self._scans[name]

    def raw(self, name: str) -> pl.LazyFrame | None:
        """The table exactly as the source holds it (for checks that need the stored types)."""
        return self._scan(name)

    def polars_table(self, name: str, *, row_numbers: bool = False) -> pl.LazyFrame | None:
        scan = self._scan(name)
        if scan is None:
            return None
        schema = scan.collect_schema()
        exprs: list[pl.Expr] = []
        for column in self.timestamp_columns.get(name, ()):
            if column not in schema:
                continue
            normal = normalise_timestamp(column, schema[column])
            if normal is None:  # a type that holds no timestamps: reported by the checks
                continue
            exprs.extend(normal)
        frame = scan.with_row_index(ROW, offset=1) if row_numbers else scan
        if exprs:
            frame = frame.with_columns(exprs)
            present = [c for c in self.timestamp_columns.get(name, ()) if c in schema]
            frame = frame.with_columns(
                pl.col(c).dt.epoch("us").alias(c + US_SUFFIX)
                for c in present
                if normalise_timestamp(c, schema[c]) is not None
            )
        return frame

    def table(self, name: str, *, row_numbers: bool = False) -> nw.LazyFrame[Any] | None:
        frame = self.polars_table(name, row_numbers=row_numbers)
        return None if frame is None else nw.from_native(frame)

    def frame(self, frame: pl.DataFrame) -> nw.LazyFrame[Any]:
        return nw.from_native(frame.lazy())

    def collect(self, frames: Sequence[nw.LazyFrame[Any]]) -> list[pl.DataFrame]:
        natives: list[pl.LazyFrame] = [f.to_native() for f in frames]
        if self.streaming:
            # one at a time: run together, streaming queries compete for the cores and memory
            # (measured: 73 s together against 49 s in turn for the churn-risk features at 1 M)
            return [as_utc(native.collect(engine="streaming")) for native in natives]
        return [as_utc(df) for df in pl.collect_all(natives, engine="in-memory")]

    def keep(
        self, frame: nw.LazyFrame[Any], name: str, *, rows: int | None = None
    ) -> nw.LazyFrame[Any] | None:
        """Compute the rows once and keep them: in memory when ``rows`` (at most how many there
        are) fit what this process may hold (:attr:`keep_in_memory_bytes`, every backend's kept
        rows together), else in a Parquet file in a private temporary folder (removed by
        :meth:`close` or when the backend is dropped). Later queries read compact typed columns
        instead of parsing, cleaning and joining the source again; from memory they also skip
        writing and decoding the file (the social-proof effects at a million members: 15.5 s
        with the file, 11.6 s in memory, 2.2 GiB more)."""
        native: pl.LazyFrame = frame.to_native()
        schema = native.collect_schema()
        # a timestamp with its integer twin is stored once, as the integer, and rebuilt on read
        twinned = {
            c: dtype
            for c, dtype in schema.items()
            if isinstance(dtype, pl.Datetime) and schema.get(c + US_SUFFIX) == pl.Int64
        }
        stored = native.drop(list(twinned))
        if rows is not None and self._hold(rows * KEPT_ROW_BYTES):
            held = stored.collect(engine="streaming" if self.streaming else "in-memory")
            kept = held.lazy()
        else:
            if self._kept is None:
                self._kept = Path(tempfile.mkdtemp(prefix="proofboard-kept-"))
                weakref.finalize(self, shutil.rmtree, self._kept, True)
            path = self._kept / f"{name}.parquet"
            stored.sink_parquet(path, compression="lz4", engine="streaming")
            kept = pl.scan_parquet(path)
        rebuilt = kept.with_columns(
            pl.from_epoch(c + US_SUFFIX, time_unit="us").cast(dtype).alias(c)
            for c, dtype in twinned.items()
        )
        return nw.from_native(rebuilt.select(list(schema)))

    def _hold(self, size: int) -> bool:
        """Reserve ``size`` bytes of the memory kept rows may take, if they fit."""
        with _HELD_LOCK:
            held = sum(_HELD.values())
            if held + size > self.keep_in_memory_bytes:
                return False
            _HELD[self] = _HELD.get(self, 0) + size
            return True

    @property
    def held_in_memory(self) -> int:
        """Bytes of kept rows this backend holds in memory (estimated)."""
        with _HELD_LOCK:
            return _HELD.get(self, 0)

    def close(self) -> None:
        self._scans.clear()
        with _HELD_LOCK:
            _HELD.pop(self, None)
        if self._kept is not None:
            shutil.rmtree(self._kept, ignore_errors=True)
            self._kept = None


def as_utc(frame: pl.DataFrame) -> pl.DataFrame:
    """Naive timestamps as UTC (the backends' convention for results)."""
    naive = [
        name
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is None
    ]
    if not naive:
        return frame
    return frame.with_columns(
        pl.col(c).dt.cast_time_unit("us").dt.replace_time_zone("UTC") for c in naive
    )
