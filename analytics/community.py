"""Loading a data source into a validated :class:`Community`.

``load_community`` reads every contract table, checks it, and returns clean frames with UTC
timestamps, or raises :class:`~analytics.errors.DataContractError` carrying the full report.
``check_source`` returns the same report without raising, for the Data page and the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import polars as pl

from analytics.contract import PROOF_ITEM_KINDS, TABLES, TIMESTAMP_HELP, TableSpec
from analytics.errors import DataContractError
from analytics.io import Source
from analytics.quality import EXAMPLE_ROWS, Issue, QualityReport, Severity

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


@dataclass(frozen=True)
class Community:
    """A validated community: clean frames, all timestamps UTC, nothing after ``as_of``.

    ``members`` has ``member_id``, ``joined_at``, ``left_at``, ``last_seen_at`` and the member
    attributes (as text); ``activity`` has ``member_id``, ``occurred_at``, ``kind``. The optional
    tables are ``None`` when the source does not have them.
    """

    members: pl.DataFrame
    activity: pl.DataFrame
    proof_items: pl.DataFrame | None
    exposures: pl.DataFrame | None
    milestones: pl.DataFrame | None
    as_of: datetime
    data_end: datetime
    attributes: tuple[str, ...]
    report: QualityReport

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
        ids = members.select("member_id")
        return replace(
            self,
            members=members,
            activity=self.activity.join(ids, on="member_id", how="semi"),
            exposures=(
                None
                if self.exposures is None
                else self.exposures.join(ids, on="member_id", how="semi")
            ),
        )


class _Checker:
    """Collects issues while one source is read and cleaned."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.issues: list[Issue] = []
        self.row_counts: dict[str, int | None] = {}

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
        return frame.with_columns(parsed.alias(column))

    def not_null(self, frame: pl.DataFrame, table: str, column: str, what: str) -> None:
        empty = frame.filter(
            pl.col(column).is_null() | (pl.col(column).cast(pl.String).str.strip_chars() == "")
        )
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


def _ids(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    return frame.with_columns(pl.col(c).cast(pl.String).str.strip_chars() for c in columns)


def _latest(frames: Sequence[tuple[pl.DataFrame | None, Sequence[str]]]) -> datetime | None:
    values: list[datetime] = []
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


def _attributes(members: pl.DataFrame) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """Member attributes as text, and the ones offered as segments."""
    known = {*TABLES["members"].column_names, ROW}
    extra = [c for c in members.columns if c not in known]
    members = members.with_columns(pl.col(c).cast(pl.String) for c in extra)
    segments = tuple(
        c for c in extra if 1 <= members[c].drop_nulls().n_unique() <= MAX_SEGMENT_VALUES
    )
    return members, segments


def _inspect(
    source: Source, as_of: datetime | None
) -> tuple[
    _Checker, dict[str, pl.DataFrame | None], datetime | None, datetime | None, tuple[str, ...]
]:
    check = _Checker(source)
    raw = {name: check.read(spec) for name, spec in TABLES.items()}

    # Identifiers, required values, parsing.
    members, activity = raw["members"], raw["activity"]
    items, exposures, milestones = raw["proof_items"], raw["exposures"], raw["milestones"]
    if members is not None:
        members = _ids(members, "member_id")
        check.not_null(members, "members", "member_id", "member_id")
        check.unique(members, "members", "member_id")
        check.not_null(members, "members", "joined_at", "joined_at (signup time)")
        for col in TABLES["members"].timestamp_columns:
            members = check.timestamps(members, "members", col)
    if activity is not None:
        activity = _ids(activity, "member_id")
        check.not_null(activity, "activity", "occurred_at", "occurred_at")
        activity = check.timestamps(activity, "activity", "occurred_at")
        activity = activity.with_columns(
            pl.col("kind").cast(pl.String).str.strip_chars().fill_null("unknown")
        )
    if items is not None:
        items = _ids(items, "item_id")
        check.not_null(items, "proof_items", "item_id", "item_id")
        check.unique(items, "proof_items", "item_id")
        items = check.timestamps(items, "proof_items", "published_at")
        items = items.with_columns(
            pl.col("kind").cast(pl.String).str.strip_chars().str.to_lowercase(),
            pl.col("title").cast(pl.String),
        )
        unknown = items.filter(~pl.col("kind").is_in(PROOF_ITEM_KINDS) | pl.col("kind").is_null())
        if unknown.height:
            check.add(
                "error",
                "proof_items",
                "kind",
                f"unknown proof-item kind {unknown['kind'][0]!r}.",
                "use one of " + ", ".join(PROOF_ITEM_KINDS) + ".",
                rows=unknown[ROW],
            )
        items = items.with_columns(pl.col("title").fill_null(pl.col("item_id")))
    if exposures is not None:
        exposures = _ids(exposures, "member_id", "item_id")
        check.not_null(exposures, "exposures", "occurred_at", "occurred_at")
        exposures = check.timestamps(exposures, "exposures", "occurred_at")
        if "kind" not in exposures.columns:
            exposures = exposures.with_columns(pl.lit(None, dtype=pl.String).alias("kind"))
        exposures = exposures.with_columns(pl.col("kind").cast(pl.String))
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

    tables: dict[str, pl.DataFrame | None] = {
        "members": members,
        "activity": activity,
        "proof_items": items,
        "exposures": exposures,
        "milestones": milestones,
    }
    if check.has_errors or members is None or activity is None:
        return check, tables, None, None, ()

    data_end = _latest(
        [
            (members, ("joined_at", "left_at", "last_seen_at")),
            (activity, ("occurred_at",)),
            (items, ("published_at",)),
            (exposures, ("occurred_at",)),
            (milestones, ("announced_at",)),
        ]
    )
    cutoff = _as_utc(as_of) if as_of is not None else data_end
    if cutoff is None:
        return check, tables, None, None, ()
    first_join = members["joined_at"].min()
    if as_of is not None and isinstance(first_join, datetime) and cutoff < first_join:
        check.add(
            "error",
            "as-of time",
            None,
            f"the as-of time {cutoff:%Y-%m-%d %H:%M} UTC is before the first member joined "
            f"({first_join:%Y-%m-%d %H:%M} UTC).",
            "choose a later as-of time, or leave it empty to use the latest time in the data.",
        )
        return check, tables, None, data_end, ()

    # Consistency: everything is cut at the as-of time and must refer to known members/items.
    members = check.drop(
        members, "members", "joined_at", pl.col("joined_at") > cutoff, "joined after the as-of time"
    )
    bad_left = members.filter(pl.col("left_at") < pl.col("joined_at"))
    if bad_left.height:
        check.add(
            "warning",
            "members",
            "left_at",
            f"{bad_left.height:,} member(s) left before they joined; that left_at is ignored.",
            "check the time zone and order of joined_at and left_at.",
            rows=bad_left[ROW],
        )
    members = members.with_columns(
        pl.when((pl.col("left_at") < pl.col("joined_at")) | (pl.col("left_at") > cutoff))
        .then(None)
        .otherwise(pl.col("left_at"))
        .alias("left_at"),
        pl.when((pl.col("last_seen_at") < pl.col("joined_at")) | pl.col("last_seen_at").is_null())
        .then(None)
        .otherwise(pl.min_horizontal("last_seen_at", pl.lit(cutoff)))
        .alias("last_seen_at"),
    )
    ids = members.select("member_id")
    known = pl.col("member_id").is_in(ids["member_id"].implode())
    activity = check.drop(
        activity, "activity", "member_id", ~known, "refer to members not in the members table"
    )
    activity = activity.join(members.select("member_id", "joined_at"), on="member_id")
    activity = check.drop(
        activity,
        "activity",
        "occurred_at",
        pl.col("occurred_at") < pl.col("joined_at"),
        "happened before the member joined",
    )
    activity = check.drop(
        activity,
        "activity",
        "occurred_at",
        pl.col("occurred_at") > cutoff,
        "happened after the as-of time",
    ).drop("joined_at")

    if items is not None:
        items = check.drop(
            items,
            "proof_items",
            "published_at",
            pl.col("published_at") > cutoff,
            "were published after the as-of time",
        )
    if exposures is not None and items is None:
        check.add(
            "warning",
            "exposures",
            None,
            "exposures are present but the proof_items table is missing, so they are ignored.",
            "add proof_items.csv with item_id, kind and title for every item.",
            count=exposures.height,
        )
        exposures = None
    if exposures is not None and items is not None:
        exposures = check.drop(
            exposures, "exposures", "member_id", ~known, "refer to members not in the members table"
        )
        exposures = check.drop(
            exposures,
            "exposures",
            "item_id",
            ~pl.col("item_id").is_in(items["item_id"].implode()),
            "refer to items not in the proof_items table",
        )
        exposures = exposures.join(members.select("member_id", "joined_at"), on="member_id")
        exposures = check.drop(
            exposures,
            "exposures",
            "occurred_at",
            pl.col("occurred_at") < pl.col("joined_at"),
            "happened before the member joined",
        )
        exposures = check.drop(
            exposures,
            "exposures",
            "occurred_at",
            pl.col("occurred_at") > cutoff,
            "happened after the as-of time",
        ).drop("joined_at")
    if milestones is not None:
        milestones = check.drop(
            milestones,
            "milestones",
            "announced_at",
            pl.col("announced_at") > cutoff,
            "were announced after the as-of time",
        )

    silent = members.join(activity.select("member_id").unique(), on="member_id", how="anti")
    if silent.height and activity.height:
        check.add(
            "warning",
            "members",
            None,
            f"{silent.height:,} member(s) have no activity at all; they count as members who "
            "never became active.",
            rows=silent[ROW],
        )
    members, segments = _attributes(members)
    tables = {
        "members": members,
        "activity": activity,
        "proof_items": items,
        "exposures": exposures,
        "milestones": milestones,
    }
    return check, tables, cutoff, data_end, segments


_COLUMNS: dict[str, list[str]] = {
    "activity": ["member_id", "occurred_at", "kind"],
    "proof_items": ["item_id", "kind", "title", "published_at"],
    "exposures": ["member_id", "item_id", "occurred_at", "kind"],
    "milestones": ["milestone_id", "announced_at", "title", "channel"],
}


def _report(
    source: Source,
    check: _Checker,
    as_of: datetime | None,
    data_end: datetime | None,
    segments: tuple[str, ...],
) -> QualityReport:
    return QualityReport(
        source=source.description,
        row_counts=dict(check.row_counts),
        issues=tuple(check.issues),
        as_of=as_of,
        data_end=data_end,
        attributes=segments,
    )


def check_source(source: Source, *, as_of: datetime | None = None) -> QualityReport:
    """Read and check a source; the report lists every error and warning (never raises for
    contract problems)."""
    check, _tables, cutoff, data_end, segments = _inspect(source, as_of)
    return _report(source, check, cutoff, data_end, segments)


def load_community(source: Source, *, as_of: datetime | None = None) -> Community:
    """Read, check and clean a source.

    Parameters
    ----------
    source
        An opened data source (see :func:`analytics.io.open_source`).
    as_of
        The time the analyses look from; rows after it are left out. Default: the latest
        timestamp in the data.

    Raises
    ------
    DataContractError
        When the data breaks the contract; its ``report`` lists every error with table,
        column, rows and the fix.
    """
    check, tables, cutoff, data_end, segments = _inspect(source, as_of)
    report = _report(source, check, cutoff, data_end, segments)
    members, activity = tables["members"], tables["activity"]
    if not report.ok or members is None or activity is None or cutoff is None or data_end is None:
        if report.ok:  # only reachable with empty tables: no timestamp anywhere
            check.add(
                "error",
                "members",
                None,
                "there is no timestamp in the data, so there is nothing to analyse.",
                "add members with joined_at and their activity.",
            )
            report = _report(source, check, cutoff, data_end, segments)
        raise DataContractError(report)

    def clean(name: str) -> pl.DataFrame | None:
        frame = tables[name]
        return None if frame is None else frame.select(_COLUMNS[name])

    member_columns = [
        "member_id", "joined_at", "left_at", "last_seen_at",
        *[c for c in members.columns if c not in {*TABLES["members"].column_names, ROW}],
    ]  # fmt: skip
    activity_clean = clean("activity")
    assert activity_clean is not None
    return Community(
        members=members.select(member_columns),
        activity=activity_clean.with_columns(pl.col("kind").cast(pl.String)),
        proof_items=clean("proof_items"),
        exposures=clean("exposures"),
        milestones=clean("milestones"),
        as_of=cutoff,
        data_end=data_end,
        attributes=segments,
        report=report,
    )
