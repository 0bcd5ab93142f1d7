"""Loading a data source into a validated :class:`Community`.

``load_community`` reads every contract table, checks it, and returns clean frames with UTC
timestamps, or raises :class:`~analytics.errors.DataContractError` carrying the full report.
``check_source`` returns the same report without raising, for the Data page and the CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import narwhals.stable.v2 as nw
import polars as pl

from analytics.churn import churn_table
from analytics.contract import (
    EARLIEST_US,
    EARLIEST_YEAR,
    LATEST_US,
    LATEST_YEAR,
    PROOF_ITEM_KINDS,
    RANGE_HELP,
    TABLE_NAMES,
    TABLES,
    TIMESTAMP_HELP,
    TableSpec,
)
from analytics.errors import DataContractError, DataSourceError
from analytics.io import Source
from analytics.io.backends import Backend, open_backend
from analytics.io.backends.polars import valid_offset
from analytics.personal import not_segments
from analytics.quality import EXAMPLE_ROWS, Issue, QualityReport, Severity
from analytics.queries.checks import (
    TEXT_SUFFIX,
    EventCheck,
    activity_checks,
    activity_checks_by_row,
    problem_counts,
    problem_rows,
)
from analytics.queries.events import EventFrames, clean_id, to_us

_T = TypeVar("_T")

ROW = "__row"
UTC_US = pl.Datetime("us", "UTC")

#: Member attributes with more distinct values than this are kept but not offered as segments
#: (they are names, e-mails or free text rather than groups).
MAX_SEGMENT_VALUES = 50

_TIMESTAMP_PATTERN = (
    r"^(\d{4}-\d{2}-\d{2})"
    r"(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?))?"
    r"\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$"
)


#: From this many activity rows on, analyses that run many queries keep the valid event rows
#: computed once (:meth:`Community.keep_events`).
KEEP_EVENTS_ROWS = 2_000_000


def members_view(
    backend: Backend,
    keyed: pl.DataFrame,
    cutoff_us: int | None,
    segments: Mapping[str, Sequence[str]],
    attributes: Sequence[str],
) -> nw.LazyFrame[Any]:
    """The members analysed, on the backend: ``member_id``, ``member_key``, ``joined_at``,
    ``joined_at_us``. In-process engines get the checked, keyed frame itself; where the queries
    run in a database or on Spark, the members table there is read with the same rules (joined
    by the as-of time, segments applied), so that a million ids never cross the wire."""
    if not backend.pushdown:
        return backend.frame(keyed)
    raw = backend.table("members")
    assert raw is not None, "the members table was read before"
    view = raw.with_columns(clean_id("member_id").alias("member_id")).filter(
        ~nw.col("member_id").is_null() & ~nw.col("joined_at_us").is_null()
    )
    if cutoff_us is not None:
        view = view.filter(nw.col("joined_at_us") <= cutoff_us)
    for attribute, values in segments.items():
        if values and attribute in attributes:
            view = view.filter(
                nw.col(attribute)
                .cast(nw.String)
                .fill_null("(missing)")
                .is_in([str(v) for v in values])
            )
    return view.select(
        "member_id", nw.col("member_id").alias("member_key"), "joined_at", "joined_at_us"
    )


class Events:
    """The community's event tables where they are stored, read lazily.

    Holds the backend, the members analysed (with their dense ``member_key``) and the as-of
    time; :meth:`frames` gives the queries their inputs, :meth:`collect` runs them.
    ``summary`` is what the check pass learned per member with valid activity: ``member_key``,
    ``activities``, ``first_activity_at``, ``last_activity_at``.
    """

    def __init__(
        self,
        backend: Backend,
        keyed: pl.DataFrame,
        cutoff_us: int,
        item_ids: tuple[str, ...] | None,
        summary: pl.DataFrame,
        attributes: tuple[str, ...] = (),
        segments: Mapping[str, Sequence[str]] | None = None,
        strip_ids: bool = True,
    ) -> None:
        self.backend = backend
        self.keyed = keyed
        self.cutoff_us = cutoff_us
        self.item_ids = item_ids
        self.summary = summary
        self.attributes = attributes
        self.segments = dict(segments or {})
        self.strip_ids = strip_ids
        self.tables: set[str] = set()
        self.exposure_rows: int | None = None
        self._cache: dict[str, pl.DataFrame | None] = {}
        #: per-member results computed once and shared (see :meth:`Community.churn_status`)
        self._derived: dict[Any, tuple[object, Any]] = {}
        self._kept: tuple[nw.LazyFrame[Any] | None, nw.LazyFrame[Any] | None] | None = None

    def restricted(
        self,
        keys: pl.DataFrame,
        segments: Mapping[str, Sequence[str]],
        *,
        in_memory: bool = False,
    ) -> Events:
        """The same events for the members whose ``member_key`` is in ``keys`` (chosen by
        ``segments``). With ``in_memory``, kept rows of those members are read once into memory:
        for a small share of the members that many queries read (the churn model's training
        sample: at a million members its five queries took 3.8 s over the kept file, each
        reading every row to find the sample's)."""
        keyed = self.keyed.join(keys.select("member_key"), on="member_key", how="semi")
        summary = self.summary.join(keys.select("member_key"), on="member_key", how="semi")
        events = Events(
            self.backend, keyed, self.cutoff_us, self.item_ids, summary, self.attributes,
            {**self.segments, **segments}, self.strip_ids,
        )  # fmt: skip
        events.tables, events.exposure_rows = self.tables, self.exposure_rows
        if self._kept is not None and not self.backend.pushdown:
            chosen = self.backend.frame(keyed.select("member_key"))
            activity, exposures = (
                None if f is None else f.join(chosen, on="member_key", how="semi")
                for f in self._kept
            )
            if in_memory and activity is not None:
                frames = [activity] if exposures is None else [activity, exposures]
                held = [self.backend.frame(_naive(f)) for f in self.backend.collect(frames)]
                activity, exposures = held[0], (held[1] if len(held) > 1 else None)
            events._kept = (activity, exposures)
        return events

    @property
    def activity_rows(self) -> int:
        """How many valid activity rows there are (from the load's pass)."""
        return int(self.summary["activities"].sum())

    @property
    def kept(self) -> bool:
        """Whether the valid event rows are kept (see :meth:`keep`)."""
        return self._kept is not None and self._kept[0] is not None

    def keep(self) -> bool:
        """Compute the valid event rows once, keyed and typed, and keep them where the backend
        reads them fastest (polars: in memory, or a temporary Parquet file when large), so that
        analyses running many queries do not parse, clean and join the source again for each.
        Returns whether the backend keeps them (engines that run the queries where the data
        lives do not)."""
        if self._kept is None:
            frames = self.frames()
            activity = self.backend.keep(frames.activity(), "activity", rows=self.activity_rows)
            exposures = frames.exposures()
            if activity is not None and exposures is not None:
                self._kept = (
                    activity,
                    self.backend.keep(exposures, "exposures", rows=self.exposure_rows),
                )
            else:
                self._kept = (activity, None)
        return self._kept[0] is not None

    def frames(self) -> EventFrames:
        activity = self.backend.table("activity")
        assert activity is not None, "a community always has activity"
        exposures = self.backend.table("exposures") if self.item_ids is not None else None
        return EventFrames(
            members=members_view(
                self.backend, self.keyed, self.cutoff_us, self.segments, self.attributes
            ),
            raw_activity=activity,
            raw_exposures=exposures,
            cutoff_us=self.cutoff_us,
            item_ids=self.item_ids or (),
            strip_ids=self.strip_ids,
            kept_activity=self._kept[0] if self._kept else None,
            kept_exposures=self._kept[1] if self._kept else None,
        )

    def collect(self, *frames: nw.LazyFrame[Any]) -> list[pl.DataFrame]:
        return self.backend.collect(list(frames))

    def with_ids(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` with ``member_key`` replaced by ``member_id``."""
        ids = self.keyed.select("member_key", "member_id")
        columns = ["member_id" if c == "member_key" else c for c in frame.columns]
        return frame.join(ids, on="member_key", how="left").select(columns)

    def materialised(self, table: str) -> pl.DataFrame | None:
        """Every valid row of an event table in memory, in the source's order (for analyses
        that truly need every row, and for tests)."""
        if table not in self._cache:
            self._cache[table] = self._materialise(table)
        return self._cache[table]

    def _materialise(self, table: str) -> pl.DataFrame | None:
        raw = self.backend.table(table, row_numbers=True)
        if raw is None or (table == "exposures" and self.item_ids is None):
            return None
        base = self.frames()
        # from the source itself, in its order (the kept rows are in no particular order)
        frames = (
            replace(base, raw_activity=raw, kept_activity=None)
            if table == "activity"
            else replace(base, raw_exposures=raw, kept_exposures=None)
        )
        if table == "activity":
            lazy = frames.activity()
            columns = ["member_id", "occurred_at", "kind"]
        else:
            lazy_exposures = frames.exposures()
            assert lazy_exposures is not None
            lazy = lazy_exposures
            columns = ["member_id", "item_id", "occurred_at", "kind"]
        keep = [c for c in columns if c != "member_id"]
        (frame,) = self.collect(lazy.select("__row", "member_key", *keep))
        return (
            self.with_ids(frame.sort("__row"))
            .select(columns)
            .with_columns(pl.col("kind").cast(pl.String))
        )


def _naive(frame: pl.DataFrame) -> pl.DataFrame:
    """UTC timestamps of a collected frame back to naive ones (the backends' convention for
    their tables, see :mod:`analytics.io.backends.base`)."""
    return frame.with_columns(
        pl.col(c).dt.replace_time_zone(None)
        for c, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None
    )


@dataclass(frozen=True)
class Community:
    """A validated community: clean frames, all timestamps UTC, nothing after ``as_of``.

    ``members`` has ``member_id``, ``joined_at``, ``left_at``, ``last_seen_at`` and the member
    attributes (as text). The event tables stay where they are stored (``events``): queries
    from :mod:`analytics.queries` run there, and only their results are collected. ``activity``
    (``member_id``, ``occurred_at``, ``kind``) and ``exposures`` collect every valid row, for
    analyses that truly need every row. The optional tables are ``None`` when the source does
    not have them.
    """

    members: pl.DataFrame
    proof_items: pl.DataFrame | None
    milestones: pl.DataFrame | None
    as_of: datetime
    data_end: datetime
    attributes: tuple[str, ...]
    report: QualityReport
    events: Events = field(repr=False, compare=False)

    @property
    def activity(self) -> pl.DataFrame:
        """Every valid activity row (materialised on first use: prefer a query)."""
        frame = self.events.materialised("activity")
        assert frame is not None
        return frame

    @property
    def exposures(self) -> pl.DataFrame | None:
        """Every valid exposure row, or ``None`` without exposures (materialised on first use)."""
        return self.events.materialised("exposures")

    def collect(self, *frames: nw.LazyFrame[Any]) -> list[pl.DataFrame]:
        """Run queries built on :meth:`frames` where the data lives; polars frames back."""
        return self.events.collect(*frames)

    def frames(self) -> EventFrames:
        """The lazy inputs of the event-level queries (see :mod:`analytics.queries`)."""
        return self.events.frames()

    def backend_frame(self, frame: pl.DataFrame) -> nw.LazyFrame[Any]:
        """A small polars frame on the backend, to join with the queries' frames there."""
        return self.events.backend.frame(frame)

    def last_activity(self) -> pl.DataFrame:
        """Each member's latest valid activity (``member_id``, ``occurred_at``): what the churn
        definition needs of the activity, known from the load's single pass."""
        return self.activity_summary.select(
            "member_id", pl.col("last_activity_at").alias("occurred_at")
        )

    @property
    def has_exposures(self) -> bool:
        """Whether the community has exposures to analyse (and the proof items they are of)."""
        return self.events.item_ids is not None and "exposures" in self.events.tables

    @property
    def exposure_rows(self) -> int | None:
        """How many exposure rows the source holds (``None`` without exposures)."""
        return self.events.exposure_rows if self.has_exposures else None

    @property
    def activity_rows(self) -> int:
        """How many valid activity rows the analyses use."""
        return self.events.activity_rows

    #: the step an analysis reports while the rows are kept (see ``before``)
    KEEP_STEP = "Keeping the activity rows in compact form for the many queries ahead"

    def keep_events(
        self, *, min_rows: int = KEEP_EVENTS_ROWS, before: Callable[[], None] | None = None
    ) -> bool:
        """Before an analysis that runs many queries: keep the valid event rows computed once
        (see :meth:`Events.keep`) when there are at least ``min_rows`` activity rows (below
        that, reading the source again costs less than writing the rows). Returns whether they
        were kept by this call (``False`` when kept before or not kept). ``before`` is called
        first when they are about to be kept (to say so: at a million members it takes a few
        seconds)."""
        if self.activity_rows < min_rows or self.events.kept:
            return False
        if before is not None:
            before()
        return self.events.keep()

    def activity_kinds(self) -> list[str]:
        """The kinds of activity that occur, sorted."""
        from analytics.queries.active import kinds

        (found,) = self.collect(kinds(self.frames().activity()))
        return sorted(str(k) for k in found["kind"].to_list())

    @property
    def activity_summary(self) -> pl.DataFrame:
        """Per member with activity: ``member_id``, ``activities``, ``first_activity_at``,
        ``last_activity_at`` (from the load's single pass over the activity)."""
        return self.shared("summary", lambda: self.events.with_ids(self.events.summary))

    def churn_status(self, inactive_days: int) -> pl.DataFrame:
        """:func:`analytics.churn.churn_table` of the members as of the as-of time, computed
        once per number of quiet days and shared by the analyses that need it."""
        return self.shared(
            ("churn", inactive_days),
            lambda: churn_table(
                self.members, self.last_activity(), as_of=self.as_of, inactive_days=inactive_days
            ),
        )

    def shared(self, key: Any, compute: Callable[[], _T]) -> _T:
        """``compute()``, computed once per ``key`` for this community's members and as-of time
        and shared by every analysis of it that asks for the same key."""
        # Kept on the events (this frozen community's mutable part) with the members and as-of
        # time they were computed for: a community made from this one with other members or
        # another as-of time computes its own.
        full_key = (key, self.as_of)
        found = self.events._derived.get(full_key)
        if found is not None and found[0] is self.members:
            return cast(_T, found[1])
        frame = compute()
        self.events._derived[full_key] = (self.members, frame)
        return frame

    @property
    def first_join(self) -> datetime | None:
        value = self.members["joined_at"].min()
        return value if isinstance(value, datetime) else None

    def segment_values(self, attribute: str) -> list[str]:
        """Distinct values of a member attribute, most common first (missing as ``(missing)``)."""
        counts = (
            self.members.select(pl.col(attribute).fill_null("(missing)"))
            .group_by(attribute)
            .len()
            .sort(["len", attribute], descending=[True, False])
        )
        return counts[attribute].to_list()

    def with_extra_milestones(self, extra: pl.DataFrame) -> Community:
        """The community with milestones added by users beside those from the source; the column
        ``editable`` tells them apart (source milestones are read-only)."""
        columns = ["milestone_id", "announced_at", "title", "channel"]
        own = (
            self.milestones.select(columns).with_columns(pl.lit(False).alias("editable"))
            if self.milestones is not None
            else None
        )
        added = (
            extra.select(columns)
            .filter(pl.col("announced_at") <= self.as_of)
            .with_columns(pl.lit(True).alias("editable"))
        )
        if own is None and added.is_empty():
            return self
        merged = added if own is None else pl.concat([own, added])
        return replace(self, milestones=merged.sort("announced_at"))

    def filter_members(self, segments: Mapping[str, Sequence[str]]) -> Community:
        """Keep members whose attributes take one of the chosen values (empty choice = all),
        with their activity and exposures."""
        conditions = [
            pl.col(attr).fill_null("(missing)").is_in(list(values))
            for attr, values in segments.items()
            if values and attr in self.attributes
        ]
        if not conditions:
            return self
        members = self.members.filter(pl.all_horizontal(conditions))
        keys = self.events.keyed.join(members.select("member_id"), on="member_id", how="semi")
        return replace(self, members=members, events=self.events.restricted(keys, segments))


class _Checker:
    """Collects issues while one source is read and cleaned."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.issues: list[Issue] = []
        self.row_counts: dict[str, int | None] = {}
        #: member attributes never offered as segments, with the reason (personal data)
        self.not_segments: dict[str, str] = {}

    def add(
        self,
        severity: Severity,
        table: str,
        column: str | None,
        message: str,
        fix: str = "",
        rows: pl.Series | None = None,
        count: int | None = None,
    ) -> None:
        examples: tuple[int, ...] = ()
        n = count if count is not None else 0
        if rows is not None:
            examples = tuple(int(r) for r in rows.head(EXAMPLE_ROWS).to_list())
            n = count if count is not None else rows.len()
        self.issues.append(
            Issue(
                severity=severity,
                table=table,
                location=self.source.location(table) if table in TABLES else table,
                column=column,
                message=message,
                fix=fix,
                rows=examples,
                count=n,
            )
        )

    @property
    def has_errors(self) -> bool:
        return any(i.severity == "error" for i in self.issues)

    # -- reading ---------------------------------------------------------------------------

    def read(self, spec: TableSpec) -> pl.DataFrame | None:
        try:
            scan = self.source.scan(spec.name)
            if scan is None:
                self.row_counts[spec.name] = None
                if spec.required:
                    self.add(
                        "error",
                        spec.name,
                        None,
                        f"the required table {spec.name} is missing.",
                        f"provide {spec.name}.csv or {spec.name}.parquet (or a database table "
                        f"{spec.name}) with the columns {', '.join(spec.required_columns)}.",
                    )
                return None
            schema = scan.collect_schema()
            frame = scan.with_row_index(ROW, offset=1).collect()
        except pl.exceptions.PolarsError as exc:
            self.row_counts[spec.name] = None
            self.add(
                "error",
                spec.name,
                None,
                f"the file cannot be read: {str(exc).splitlines()[0]}",
                "save it again as UTF-8 CSV with a header row, or as Parquet.",
            )
            return None
        self.row_counts[spec.name] = frame.height
        if self.nested(spec.name, schema):
            return None
        missing = [c for c in spec.required_columns if c not in schema]
        for column in missing:
            self.add(
                "error",
                spec.name,
                column,
                f"the required column {column} is missing (found: {', '.join(schema) or 'none'}).",
                f"add a column named exactly {column}: {_describe(spec, column)}.",
            )
        if missing:
            return None
        if frame.height == 0:
            self.add("warning", spec.name, None, "the table is empty.", "", count=0)
        return frame

    def nested(self, table: str, schema: Mapping[str, pl.DataType]) -> bool:
        """Report columns holding lists or structs (Parquet can store them; the contract has
        only plain values). Returns whether there were any."""
        found = [name for name, dtype in schema.items() if dtype.is_nested()]
        for column in found:
            self.add(
                "error",
                table,
                column,
                f"holds nested values ({schema[column]}), not plain text, numbers or timestamps.",
                "store one plain value per cell (e.g. text), or drop this column from the file.",
            )
        return bool(found)

    # -- checks ----------------------------------------------------------------------------

    def timestamps(self, frame: pl.DataFrame, table: str, column: str) -> pl.DataFrame:
        if column not in frame.columns:
            return frame.with_columns(pl.lit(None, dtype=UTC_US).alias(column))
        parsed, problem = _parse_timestamp_column(frame[column])
        if problem is not None:
            self.add(
                "error",
                table,
                column,
                problem,
                "store this column as a timestamp, or as text in ISO 8601.",
                rows=frame[ROW],
            )
            return frame.with_columns(pl.lit(None, dtype=UTC_US).alias(column))
        bad = frame[column].is_not_null() & parsed.is_null()
        if bad.any():
            first_bad = frame.filter(bad)
            value = str(first_bad[column][0])
            self.add(
                "error",
                table,
                column,
                f"cannot read {value!r} as a timestamp.",
                TIMESTAMP_HELP + ".",
                rows=first_bad[ROW],
            )
        us = parsed.dt.epoch("us")
        outside = parsed.is_not_null() & ((us < EARLIEST_US) | (us >= LATEST_US))
        if outside.any():
            first_out = frame.filter(outside)
            example = first_out[column].cast(pl.String)[0]
            self.add(
                "error",
                table,
                column,
                f"{int(outside.sum()):,} timestamp(s) lie outside "
                f"{EARLIEST_YEAR}-{LATEST_YEAR - 1} (e.g. {example!r}).",
                RANGE_HELP + ".",
                rows=first_out[ROW],
            )
            return frame.with_columns(
                pl.when(pl.lit(outside)).then(None).otherwise(parsed).alias(column)
            )
        return frame.with_columns(parsed.alias(column))

    def not_null(self, frame: pl.DataFrame, table: str, column: str, what: str) -> None:
        dtype = frame.schema[column]
        blank = pl.col(column).is_null()
        if not (dtype.is_temporal() or dtype.is_numeric() or dtype == pl.Boolean):
            # only text can be blank (a million typed timestamps written out as text: 0.2 s)
            blank = blank | (pl.col(column).cast(pl.String).str.strip_chars() == "")
        empty = frame.filter(blank)
        if empty.height:
            self.add(
                "error",
                table,
                column,
                f"{empty.height:,} row(s) have no {what}.",
                f"fill in {column} on every row, or remove those rows.",
                rows=empty[ROW],
            )

    def unique(self, frame: pl.DataFrame, table: str, column: str) -> None:
        values = frame[column]
        nulls = values.null_count()
        if values.n_unique() - (nulls > 0) == values.len() - nulls:
            return  # every value once: counting the distinct values costs a third of the search
        dup = frame.filter(pl.col(column).is_duplicated() & pl.col(column).is_not_null())
        if dup.height:
            first = dup[column][0]
            self.add(
                "error",
                table,
                column,
                f"{column} must be unique, but {dup[column].n_unique():,} value(s) appear more "
                f"than once (e.g. {first!r}).",
                f"keep one row per {column}, or give each row its own {column}.",
                rows=dup[ROW],
            )

    def drop(
        self, frame: pl.DataFrame, table: str, column: str | None, mask: pl.Expr, message: str
    ) -> pl.DataFrame:
        dropped = frame.filter(mask)
        if dropped.height:
            self.add(
                "warning",
                table,
                column,
                f"{dropped.height:,} row(s) {message}; they are left out of the analyses.",
                rows=dropped[ROW],
            )
            return frame.filter(~mask)
        return frame


def _describe(spec: TableSpec, column: str) -> str:
    return next(c.description for c in spec.columns if c.name == column)


def _parse_timestamp_column(series: pl.Series) -> tuple[pl.Series, str | None]:
    """Parse a column into UTC timestamps; returns the parsed series and a problem, if any.

    Text must be ISO 8601: a date (midnight UTC), a date and time (UTC), or a date and time with
    ``Z`` or an offset. Timestamp columns without a zone are taken as UTC.
    """
    dtype = series.dtype
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            out = series.dt.replace_time_zone("UTC")
        else:
            out = series.dt.convert_time_zone("UTC")
        return out.dt.cast_time_unit("us"), None
    if dtype == pl.Date:
        return series.cast(pl.Datetime("us")).dt.replace_time_zone("UTC"), None
    if dtype == pl.Null:
        return series.cast(UTC_US), None
    if dtype != pl.String:
        return (
            pl.Series(series.name, [None] * series.len(), dtype=UTC_US),
            f"holds {dtype} values, not timestamps.",
        )
    parts = series.str.strip_chars().str.extract_groups(_TIMESTAMP_PATTERN).struct.unnest()
    date, time, offset = parts.get_column("1"), parts.get_column("2"), parts.get_column("3")
    frame = pl.DataFrame({"d": date, "t": time, "o": offset})
    digits = pl.col("o").str.replace_all(r"[^0-9]", "")
    minutes = (
        pl.when(pl.col("o").is_null() | pl.col("o").is_in(["Z", "z", "UTC"]))
        .then(pl.lit(0))
        .when(~valid_offset(pl.col("o")))
        .then(pl.lit(None, dtype=pl.Int64))  # +24:00, +99:99: not a real offset, unreadable
        .otherwise(
            (pl.when(pl.col("o").str.starts_with("-")).then(-1).otherwise(1))
            * (
                digits.str.slice(0, 2).cast(pl.Int64) * 60
                + pl.when(digits.str.len_chars() >= 4)
                .then(digits.str.slice(2, 2).cast(pl.Int64, strict=False))
                .otherwise(0)
            )
        )
    )
    clock = (
        pl.when(pl.col("t").is_null())
        .then(pl.lit("00:00:00"))
        .when(pl.col("t").str.len_chars() == 5)
        .then(pl.col("t") + ":00")
        .otherwise(pl.col("t"))
    )
    naive = (pl.col("d") + "T" + clock).str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%.f", time_unit="us", strict=False
    )
    out = frame.select(
        (naive.dt.replace_time_zone("UTC") - pl.duration(minutes=minutes)).alias(series.name)
    ).to_series()
    return out, None


def parse_timestamps(series: pl.Series) -> pl.Series:
    """A column as UTC timestamps, read as every source is read (ISO 8601 text, see
    :func:`_parse_timestamp_column`); null where a value cannot be read."""
    return _parse_timestamp_column(series)[0]


def _ids(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    return frame.with_columns(pl.col(c).cast(pl.String).str.strip_chars() for c in columns)


def _latest(
    frames: Sequence[tuple[pl.DataFrame | None, Sequence[str]]],
    extra: Sequence[datetime] = (),
) -> datetime | None:
    values: list[datetime] = list(extra)
    for frame, columns in frames:
        if frame is None:
            continue
        for column in columns:
            value = frame[column].max()
            if isinstance(value, datetime):
                values.append(value)
    return max(values) if values else None


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _attributes(members: pl.DataFrame) -> tuple[pl.DataFrame, tuple[str, ...], dict[str, str]]:
    """Member attributes as text, the ones offered as segments, and those never offered because
    they hold personal data or a value per member (with the reason, see
    :mod:`analytics.personal`)."""
    known = {*TABLES["members"].column_names, ROW}
    extra = [c for c in members.columns if c not in known]
    members = members.with_columns(pl.col(c).cast(pl.String) for c in extra)
    withheld = not_segments(members, extra)
    segments = tuple(
        c
        for c in extra
        if c not in withheld and 1 <= members[c].drop_nulls().n_unique() <= MAX_SEGMENT_VALUES
    )
    return members, segments, withheld


EVENT_TABLES = ("activity", "exposures")
_US_PER_SECOND = 1_000_000


def _timestamp_columns() -> dict[str, tuple[str, ...]]:
    return {name: spec.timestamp_columns for name, spec in TABLES.items()}


def _from_us(value: int | None) -> datetime | None:
    if value is None:
        return None
    seconds, micros = divmod(int(value), _US_PER_SECOND)
    return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=micros)


@dataclass
class _EventTable:
    """What is known of one event table while it is checked."""

    name: str
    present: bool = False
    usable: bool = False
    dtype_problem: str | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    rows: dict[str, tuple[list[int], list[str | None]]] = field(default_factory=dict)


def _split_activity(grouped: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The per-member activity checks (``analytics.queries.checks.activity_checks``) as one
    row of totals (as ``problem_counts`` gives) and the members with valid activity:
    ``member_key``, ``activities``, ``first_us``, ``last_us``."""
    summary_columns = ["member_key", "activities", "first_us", "last_us"]
    counts = [c for c in grouped.columns if c not in (*summary_columns, "latest_us")]
    totals = grouped.select(
        *[pl.col(c).sum().cast(pl.Int64) for c in counts], pl.col("latest_us").max()
    )
    summary = grouped.filter(pl.col("member_key").is_not_null() & (pl.col("activities") > 0))
    return totals, summary.select(summary_columns)


class _Inspection:
    """Reads and checks one source: small tables in memory, event tables by lazy aggregation."""

    def __init__(self, source: Source, as_of: datetime | None, engine: str | None) -> None:
        self.source = source
        self.as_of = _as_utc(as_of) if as_of is not None else None
        self.check = _Checker(source)
        self.backend = open_backend(source, engine, timestamp_columns=_timestamp_columns())
        self.events = {name: _EventTable(name) for name in EVENT_TABLES}
        self.as_of_us = None if self.as_of is None else to_us(self.as_of)
        # Ids are compared as stored unless some do not match: then blanks around them are
        # stripped (the contract's rule), at the cost of a second pass.
        self.strip = False

    # -- event tables ------------------------------------------------------------------------

    def _open_event(self, name: str) -> None:
        """Is the table there, with its required columns and a usable timestamp type?"""
        spec, table = TABLES[name], self.events[name]
        try:
            raw = self.backend.table(name)
            if raw is None:
                self.check.row_counts[name] = None
                if spec.required:
                    self.check.add(
                        "error", name, None, f"the required table {name} is missing.",
                        f"provide {name}.csv or {name}.parquet (or a database table {name}) "
                        f"with the columns {', '.join(spec.required_columns)}.",
                    )  # fmt: skip
                return
            schema = raw.columns
        except pl.exceptions.PolarsError as exc:
            self.check.row_counts[name] = None
            self.check.add(
                "error", name, None,
                f"the file cannot be read: {str(exc).splitlines()[0]}",
                "save it again as UTF-8 CSV with a header row, or as Parquet.",
            )  # fmt: skip
            return
        table.present = True
        raw_scan = getattr(self.backend, "raw", lambda _n: None)(name)
        if raw_scan is not None and self.check.nested(name, raw_scan.collect_schema()):
            return
        missing = [c for c in spec.required_columns if c not in schema]
        for column in missing:
            found = [c for c in schema if not c.endswith(("_us", "__text"))]
            self.check.add(
                "error", name, column,
                f"the required column {column} is missing (found: {', '.join(found) or 'none'}).",
                f"add a column named exactly {column}: {_describe(spec, column)}.",
            )  # fmt: skip
        if missing:
            return
        if "occurred_at_us" not in schema:
            raw_schema = getattr(self.backend, "raw", lambda _n: None)(name)
            dtype = raw_schema.collect_schema()["occurred_at"] if raw_schema is not None else "?"
            table.dtype_problem = f"holds {dtype} values, not timestamps."
        table.usable = True

    def _event_check(self, name: str, members: pl.DataFrame | None) -> EventCheck:
        keyed = (
            None
            if members is None
            else members_view(self.backend, self.keyed, self.as_of_us, {}, ())
        )
        items = self.items_ids if name == "exposures" and members is not None else None
        return EventCheck(
            time="occurred_at",
            members=keyed,
            cutoff_us=self.as_of_us,
            item_ids=items,
            strip=self.strip,
        )

    def _count_events(
        self, members: pl.DataFrame | None, *, by_row: bool = False, plain: bool = True
    ) -> pl.DataFrame | None:
        """One pass per event table (run together): the problem counts, and (members known) per
        member the valid activity, grouped by member in the same pass as the activity's counts
        (``by_row``: each activity row joined to its member, needed when some are earlier than
        their member's joining; ``plain``: plain aggregations where the timestamps are typed,
        run again without them when some timestamp is out of range)."""
        names = [
            n for n in EVENT_TABLES if self.events[n].usable and not self.events[n].dtype_problem
        ]
        lazy: list[nw.LazyFrame[Any]] = []
        grouped = members is not None
        for name in names:
            raw = self.backend.table(name)
            assert raw is not None
            check = self._event_check(name, members)
            by_member = grouped and name == "activity"
            if not by_member:
                lazy.append(problem_counts(raw, check))
            elif by_row:
                lazy.append(activity_checks_by_row(raw, check))
            else:
                typed = check.time + TEXT_SUFFIX not in raw.columns
                lazy.append(activity_checks(raw, check, plain=plain and typed))
        results = self._collect(lazy, names)
        summary = None
        for i, name in enumerate(names):
            if grouped and name == "activity":
                results[i], summary = _split_activity(results[i])
        unmatched = sum(
            int(counts["unknown_member"][0] or 0)
            + int(counts.row(0, named=True).get("unknown_item") or 0)
            for counts in results
            if "unknown_member" in counts.columns
        )
        if unmatched and not self.strip:
            self.strip = True
            return self._count_events(members, by_row=by_row, plain=plain)
        flags = ("before_join_members", "irregular_members")
        early, irregular = (sum(int(c[f][0]) for c in results if f in c) for f in flags)
        if early and not by_row:
            return self._count_events(members, by_row=True)
        if irregular:
            return self._count_events(members, by_row=by_row, plain=False)
        for name, counts in zip(names, results, strict=True):
            self.events[name].counts = {
                k: v for k, v in counts.row(0, named=True).items() if k not in flags
            }
            self.check.row_counts[name] = int(counts["rows"][0])
        return summary

    def _collect(self, lazy: list[nw.LazyFrame[Any]], tables: list[str]) -> list[pl.DataFrame]:
        """Collect the queries; a file that breaks while being read (a damaged Parquet page, a
        CSV line polars cannot split) is named, one query at a time, in a DataSourceError."""
        if not lazy:
            return []
        try:
            return self.backend.collect(lazy)
        except pl.exceptions.PolarsError as exc:
            failed = exc
            for query, name in zip(lazy, tables, strict=True):
                try:
                    self.backend.collect([query])
                except pl.exceptions.PolarsError as one:
                    failed, where = one, self.source.location(name)
                    break
            else:
                where = ", ".join(self.source.location(n) for n in dict.fromkeys(tables))
            detail = (str(failed).strip().splitlines() or [type(failed).__name__])[0]
            raise DataSourceError(
                f"{where}: the file cannot be read: {detail}. Fix: save it again as UTF-8 CSV "
                "with a header row, or as Parquet (a damaged or partly copied file)."
            ) from exc

    def _problem_rows(self, members: pl.DataFrame | None, wanted: list[tuple[str, str]]) -> None:
        """The first rows of each problem that occurs (one more pass, only when needed)."""
        if not wanted:
            return
        lazy = []
        for name, problem in wanted:
            raw = self.backend.table(name, row_numbers=True)
            assert raw is not None
            lazy.append(
                problem_rows(raw, self._event_check(name, members), problem, limit=EXAMPLE_ROWS)
            )
        found_rows = self._collect(lazy, [name for name, _ in wanted])
        for (name, problem), found in zip(wanted, found_rows, strict=True):
            self.events[name].rows[problem] = (
                [int(r) for r in found["__row"].to_list()],
                found["value"].to_list(),
            )

    def _issue(self, name: str, problem: str, severity: Severity, column: str | None,
               message: str, fix: str = "") -> None:  # fmt: skip
        count = int(self.events[name].counts.get(problem) or 0)
        if not count:
            return
        rows, _values = self.events[name].rows.get(problem, ([], []))
        self.check.issues.append(
            Issue(
                severity=severity, table=name, location=self.source.location(name),
                column=column, message=message.format(count=count), fix=fix,
                rows=tuple(rows), count=count,
            )
        )  # fmt: skip

    def _event_errors(self, name: str) -> None:
        table = self.events[name]
        if not table.usable:
            return
        if table.dtype_problem:
            self.check.add(
                "error", name, "occurred_at", table.dtype_problem,
                "store this column as a timestamp, or as text in ISO 8601.",
            )  # fmt: skip
            return
        self._issue(
            name, "missing", "error", "occurred_at", "{count:,} row(s) have no occurred_at.",
            "fill in occurred_at on every row, or remove those rows.",
        )  # fmt: skip
        values = table.rows.get("unreadable", ([], []))[1]
        shown = repr(values[0]) if values else "?"
        self._issue(
            name, "unreadable", "error", "occurred_at",
            f"cannot read {shown} as a timestamp.", TIMESTAMP_HELP + ".",
        )  # fmt: skip
        outside = table.rows.get("out_of_range", ([], []))[1]
        self._issue(
            name, "out_of_range", "error", "occurred_at",
            f"{{count:,}} timestamp(s) lie outside {EARLIEST_YEAR}-{LATEST_YEAR - 1} (e.g. "
            f"{repr(outside[0]) if outside else '?'}).", RANGE_HELP + ".",
        )  # fmt: skip

    def _event_warnings(self, name: str, cutoff: datetime) -> None:
        left = "; they are left out of the analyses."
        self._issue(
            name,
            "unknown_member",
            "warning",
            "member_id",
            "{count:,} row(s) refer to members not in the members table" + left,
        )
        if name == "exposures":
            self._issue(
                name,
                "unknown_item",
                "warning",
                "item_id",
                "{count:,} row(s) refer to items not in the proof_items table" + left,
            )
        self._issue(
            name,
            "before_join",
            "warning",
            "occurred_at",
            "{count:,} row(s) happened before the member joined" + left,
        )
        self._issue(name, "after_as_of", "warning", "occurred_at",
                    "{count:,} row(s) happened after the as-of time" + left)  # fmt: skip

    # -- the whole inspection ------------------------------------------------------------------

    def run(self) -> tuple[dict[str, pl.DataFrame | None], datetime | None, datetime | None,
                           tuple[str, ...], pl.DataFrame | None]:  # fmt: skip
        check = self.check
        members = check.read(TABLES["members"])
        self._open_event("activity")
        items = check.read(TABLES["proof_items"])
        self._open_event("exposures")
        milestones = check.read(TABLES["milestones"])

        if members is not None:
            members = _ids(members, "member_id")
            check.not_null(members, "members", "member_id", "member_id")
            check.unique(members, "members", "member_id")
            check.not_null(members, "members", "joined_at", "joined_at (signup time)")
            for col in TABLES["members"].timestamp_columns:
                members = check.timestamps(members, "members", col)
        members_issues = list(check.issues)
        check.issues.clear()
        if items is not None:
            items = _ids(items, "item_id")
            check.not_null(items, "proof_items", "item_id", "item_id")
            check.unique(items, "proof_items", "item_id")
            items = check.timestamps(items, "proof_items", "published_at")
            items = items.with_columns(
                pl.col("kind").cast(pl.String).str.strip_chars().str.to_lowercase(),
                pl.col("title").cast(pl.String),
            )
            unknown = items.filter(
                ~pl.col("kind").is_in(PROOF_ITEM_KINDS) | pl.col("kind").is_null()
            )
            if unknown.height:
                check.add(
                    "error", "proof_items", "kind",
                    f"unknown proof-item kind {unknown['kind'][0]!r}.",
                    "use one of " + ", ".join(PROOF_ITEM_KINDS) + ".",
                    rows=unknown[ROW],
                )  # fmt: skip
            items = items.with_columns(pl.col("title").fill_null(pl.col("item_id")))
        items_issues = list(check.issues)
        check.issues.clear()
        if milestones is not None:
            check.not_null(milestones, "milestones", "announced_at", "announcement time")
            milestones = check.timestamps(milestones, "milestones", "announced_at")
            check.not_null(milestones, "milestones", "title", "title")
            if "milestone_id" not in milestones.columns:
                milestones = milestones.sort("announced_at", nulls_last=True).with_columns(
                    pl.format(
                        "milestone-{}", pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(3)
                    ).alias("milestone_id")
                )
            else:
                milestones = _ids(milestones, "milestone_id")
                check.unique(milestones, "milestones", "milestone_id")
            if "channel" not in milestones.columns:
                milestones = milestones.with_columns(pl.lit(None, dtype=pl.String).alias("channel"))
            milestones = milestones.with_columns(pl.col("title", "channel").cast(pl.String))
        milestones_issues = list(check.issues)
        check.issues.clear()

        members_ok = members is not None and not any(i.severity == "error" for i in members_issues)
        self.items_ids = (
            tuple(items["item_id"].drop_nulls().to_list()) if items is not None else None
        )
        # Members who joined after the as-of time are not members yet: their rows count as
        # rows of unknown members, as they always have.
        present = None
        if members_ok and members is not None:
            present = members
            if self.as_of is not None:
                present = members.filter(pl.col("joined_at") <= self.as_of)
            self.keyed = _keyed(present, by_id=self.backend.pushdown)
        summary = self._count_events(present)

        # Errors of the event tables, then (when there are none anywhere) the warnings.
        wanted = [
            (name, p)
            for name in EVENT_TABLES
            for p in ("missing", "unreadable", "out_of_range")
            if int(self.events[name].counts.get(p) or 0)
        ]
        self._problem_rows(present, wanted)
        check.issues.extend(members_issues)
        self._event_errors("activity")
        check.issues.extend(items_issues)
        self._event_errors("exposures")
        check.issues.extend(milestones_issues)

        tables: dict[str, pl.DataFrame | None] = {
            "members": members, "proof_items": items, "milestones": milestones,
        }  # fmt: skip
        activity_ok = self.events["activity"].usable
        if check.has_errors or members is None or not activity_ok:
            return tables, None, None, (), None

        latest = [
            _from_us(self.events[n].counts.get("latest_us"))
            for n in EVENT_TABLES
            if self.events[n].counts
        ]
        data_end = _latest(
            [
                (members, ("joined_at", "left_at", "last_seen_at")),
                (items, ("published_at",)),
                (milestones, ("announced_at",)),
            ],
            extra=[t for t in latest if t is not None],
        )
        cutoff = self.as_of if self.as_of is not None else data_end
        if cutoff is None:
            return tables, None, None, (), None
        first_join = members["joined_at"].min()
        if self.as_of is not None and isinstance(first_join, datetime) and cutoff < first_join:
            check.add(
                "error", "as-of time", None,
                f"the as-of time {cutoff:%Y-%m-%d %H:%M} UTC is before the first member joined "
                f"({first_join:%Y-%m-%d %H:%M} UTC).",
                "choose a later as-of time, or leave it empty to use the latest time in the data.",
            )  # fmt: skip
            return tables, None, data_end, (), None

        problems = ("unknown_member", "unknown_item", "before_join", "after_as_of")
        self._problem_rows(
            present,
            [
                (name, p)
                for name in EVENT_TABLES
                for p in problems
                if int(self.events[name].counts.get(p) or 0)
                and not (name == "exposures" and items is None)
            ],
        )
        members = check.drop(
            members, "members", "joined_at", pl.col("joined_at") > cutoff,
            "joined after the as-of time",
        )  # fmt: skip
        bad_left = members.filter(pl.col("left_at") < pl.col("joined_at"))
        if bad_left.height:
            check.add(
                "warning", "members", "left_at",
                f"{bad_left.height:,} member(s) left before they joined; that left_at is ignored.",
                "check the time zone and order of joined_at and left_at.",
                rows=bad_left[ROW],
            )  # fmt: skip
        members = members.with_columns(
            pl.when((pl.col("left_at") < pl.col("joined_at")) | (pl.col("left_at") > cutoff))
            .then(None)
            .otherwise(pl.col("left_at"))
            .alias("left_at"),
            pl.when(
                (pl.col("last_seen_at") < pl.col("joined_at")) | pl.col("last_seen_at").is_null()
            )
            .then(None)
            .otherwise(pl.min_horizontal("last_seen_at", pl.lit(cutoff)))
            .alias("last_seen_at"),
        )
        self._event_warnings("activity", cutoff)
        if items is not None:
            items = check.drop(
                items, "proof_items", "published_at", pl.col("published_at") > cutoff,
                "were published after the as-of time",
            )  # fmt: skip
        if self.events["exposures"].present and items is None:
            check.add(
                "warning", "exposures", None,
                "exposures are present but the proof_items table is missing, so they are ignored.",
                "add proof_items.csv with item_id, kind and title for every item.",
                count=int(self.events["exposures"].counts.get("rows") or 0),
            )  # fmt: skip
            self.items_ids = None
        elif self.events["exposures"].present:
            self._event_warnings("exposures", cutoff)
        else:
            self.items_ids = None
        if milestones is not None:
            milestones = check.drop(
                milestones, "milestones", "announced_at", pl.col("announced_at") > cutoff,
                "were announced after the as-of time",
            )  # fmt: skip
        assert summary is not None
        active_rows = int(summary["activities"].sum())
        silent = members.join(
            self.keyed.join(summary.select("member_key"), on="member_key").select("member_id"),
            on="member_id",
            how="anti",
        )
        if silent.height and active_rows:
            check.add(
                "warning", "members", None,
                f"{silent.height:,} member(s) have no activity at all; they count as members who "
                "never became active.",
                rows=silent[ROW],
            )  # fmt: skip
        members, segments, self.check.not_segments = _attributes(members)
        tables = {"members": members, "proof_items": items, "milestones": milestones}
        self.summary = summary.select(
            "member_key",
            "activities",
            pl.from_epoch("first_us", time_unit="us")
            .dt.replace_time_zone("UTC")
            .alias("first_activity_at"),
            pl.from_epoch("last_us", time_unit="us")
            .dt.replace_time_zone("UTC")
            .alias("last_activity_at"),
        )
        self.cutoff = cutoff
        return tables, cutoff, data_end, segments, self.summary


def _keyed(members: pl.DataFrame, *, by_id: bool = False) -> pl.DataFrame:
    """Members with a dense integer key (their rank by id) and joining time in microseconds:
    the events are joined to this once per query, and grouped by the key. Where the queries run
    in a database or on Spark (``by_id``), the key is the member id itself: the members stay
    there too, and their id is what both sides share."""
    ordered = (
        members.select("member_id", "joined_at")
        .filter(pl.col("member_id").is_not_null())
        .sort("member_id")
    )
    keyed = (
        ordered.with_columns(pl.col("member_id").alias("member_key"))
        if by_id
        else ordered.with_row_index("member_key")
    )
    return keyed.select(
        "member_id",
        "member_key",
        pl.col("joined_at").dt.replace_time_zone(None).alias("joined_at"),
        pl.col("joined_at").dt.epoch("us").alias("joined_at_us"),
    )


_COLUMNS: dict[str, list[str]] = {
    "proof_items": ["item_id", "kind", "title", "published_at"],
    "milestones": ["milestone_id", "announced_at", "title", "channel"],
}


def _report(
    source: Source,
    check: _Checker,
    as_of: datetime | None,
    data_end: datetime | None,
    segments: tuple[str, ...],
) -> QualityReport:
    row_counts = {name: check.row_counts.get(name) for name in TABLES}
    return QualityReport(
        source=source.description,
        row_counts=row_counts,
        issues=tuple(check.issues),
        as_of=as_of,
        data_end=data_end,
        attributes=segments,
        not_segments=tuple(check.not_segments.items()),
    )


def check_source(
    source: Source, *, as_of: datetime | None = None, engine: str | None = None
) -> QualityReport:
    """Read and check a source; the report lists every error and warning (never raises for
    contract problems)."""
    inspection = _Inspection(source, as_of, engine)
    try:
        _tables, cutoff, data_end, segments, _summary = inspection.run()
    finally:
        inspection.backend.close()
    return _report(source, inspection.check, cutoff, data_end, segments)


def load_community(
    source: Source, *, as_of: datetime | None = None, engine: str | None = None
) -> Community:
    """Read, check and clean a source.

    Parameters
    ----------
    source
        An opened data source (see :func:`analytics.io.open_source`).
    as_of
        The time the analyses look from; rows after it are left out. Default: the latest
        timestamp in the data.
    engine
        Where the event-level queries run (see :func:`analytics.io.backends.open_backend`):
        default polars' streaming engine for folders, the database itself for database URLs.

    Raises
    ------
    DataContractError
        When the data breaks the contract; its ``report`` lists every error with table,
        column, rows and the fix.
    """
    inspection = _Inspection(source, as_of, engine)
    check = inspection.check
    tables, cutoff, data_end, segments, summary = inspection.run()
    report = _report(source, check, cutoff, data_end, segments)
    members = tables["members"]
    if not report.ok or members is None or cutoff is None or data_end is None or summary is None:
        if report.ok:  # only reachable with empty tables: no timestamp anywhere
            check.add(
                "error",
                "members",
                None,
                "there is no timestamp in the data, so there is nothing to analyse.",
                "add members with joined_at and their activity.",
            )
            report = _report(source, check, cutoff, data_end, segments)
        inspection.backend.close()
        raise DataContractError(report)

    def clean(name: str) -> pl.DataFrame | None:
        frame = tables[name]
        return None if frame is None else frame.select(_COLUMNS[name])

    member_columns = [
        "member_id", "joined_at", "left_at", "last_seen_at",
        *[c for c in members.columns if c not in {*TABLES["members"].column_names, ROW}],
    ]  # fmt: skip
    members = members.select(member_columns)
    keyed = inspection.keyed.join(members.select("member_id"), on="member_id", how="semi")
    events = Events(
        inspection.backend,
        keyed,
        to_us(cutoff),
        inspection.items_ids,
        summary.join(keyed.select("member_key"), on="member_key", how="semi"),
        segments,
        strip_ids=inspection.strip,
    )
    events.tables = {n for n, t in inspection.events.items() if t.present}
    events.exposure_rows = inspection.check.row_counts.get("exposures")
    return Community(
        members=members,
        proof_items=clean("proof_items"),
        milestones=clean("milestones"),
        as_of=cutoff,
        data_end=data_end,
        attributes=segments,
        report=report,
        events=events,
    )


def stored_tables(source: Source) -> dict[str, pl.DataFrame]:
    """The contract tables of ``source`` as they are, for a copy into a database: every row and
    every value kept, whatever the checks say (they decide what the analyses use, at each load,
    never what is stored). Only the timestamp columns are read as UTC timestamps, so that a
    database can query them; a column with a value that does not read as a timestamp stays
    text (the load that checked the source refuses it anyway).
    """
    tables: dict[str, pl.DataFrame] = {}
    for name in TABLE_NAMES:
        scan = source.scan(name)
        if scan is None:
            continue
        frame = scan.collect()
        for column in TABLES[name].timestamp_columns:
            if column not in frame.columns:
                continue
            parsed, problem = _parse_timestamp_column(frame[column])
            original = frame[column]
            blank = original.is_null()
            if original.dtype == pl.String:
                blank = blank | (original.str.strip_chars() == "")
            if problem is None and not (parsed.is_null() & ~blank).any():
                frame = frame.with_columns(parsed.alias(column))
        tables[name] = frame
    return tables
