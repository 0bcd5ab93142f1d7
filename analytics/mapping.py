"""Mapping a user's own files onto the data contract: guess it, check it, apply it.

A user hands over a few CSV/Parquet files in their own words (``users.csv`` with ``user_id``
and ``created_at``). A :class:`TableMapping` says which contract table a file holds and which of
its columns is each contract column; :func:`guess_mapping` proposes one from the file names and
column names, :func:`prepare` applies it and runs the same data-quality checks as any source.

A mapping is saved as a small TOML file (``mapping.toml``) so that the command line can repeat
what was done in the dashboard::

    # one section per contract table
    [members]
    file = "users.csv"          # the file holding it (name only, no folder)

    [members.columns]           # contract column = column in the file
    member_id = "user_id"
    joined_at = "created_at"

    [activity]
    file = "events.csv"

    [activity.columns]
    member_id = "user_id"
    occurred_at = "timestamp"
    kind = "action"

A section may say how the file writes its dates, ``date_format = "DD/MM/YYYY"`` (one of
:data:`DATE_FORMATS`; ``"ISO"`` when left out), which applies to its timestamp columns.

Columns of a ``members`` file that are not mapped are kept as member attributes (offered as
segments); unmapped columns of other tables are left out. Nothing here reads or writes files.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import polars as pl

from analytics.community import Community, load_community, parse_timestamps, stored_tables
from analytics.contract import TABLE_NAMES, TABLES
from analytics.errors import DataContractError, ProofboardError
from analytics.io import FrameSource
from analytics.quality import QualityReport


class MappingError(ProofboardError):
    """A mapping that cannot be applied: unknown table or column, a required column unmapped,
    a file named that was not given. The message lists every problem with its fix."""


#: How a file may write its dates and times (all read as UTC), with an example of each.
DATE_FORMATS: dict[str, str] = {
    "ISO": "ISO 8601: 2024-01-31, 2024-01-31 14:05 or 2024-01-31T14:05:00Z",
    "DD/MM/YYYY": "day first: 31/01/2024 or 31/01/2024 14:05 (also with . or -)",
    "MM/DD/YYYY": "month first (US): 01/31/2024 or 01/31/2024 14:05 (also with . or -)",
    "Unix seconds": "seconds since 1970-01-01 UTC: 1706709900",
}
DEFAULT_DATE_FORMAT = "ISO"

_DAY_FIRST = (
    r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})"
    r"(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)
_SECONDS = r"^[+-]?\d{1,12}(?:\.\d+)?$"


@dataclass(frozen=True)
class TableMapping:
    """Which file holds one contract table, and which of its columns is each contract column.

    ``columns`` maps contract column -> column in the file; optional contract columns may be
    left out. ``date_format`` (a key of :data:`DATE_FORMATS`) says how the file's timestamp
    columns are written.
    """

    table: str
    file: str
    columns: Mapping[str, str] = field(default_factory=dict)
    date_format: str = DEFAULT_DATE_FORMAT

    def __post_init__(self) -> None:
        if self.date_format not in DATE_FORMATS:
            raise MappingError(
                f"{self.file} ({self.table}): date_format {self.date_format!r} is not known. "
                f"Fix: use one of {', '.join(repr(f) for f in DATE_FORMATS)}."
            )


def _pad(expr: pl.Expr) -> pl.Expr:
    return expr.str.zfill(2)


def _as_iso(values: pl.Expr, date_format: str) -> pl.Expr:
    """Text written in ``date_format`` as ISO 8601 text (UTC); values that do not fit the
    format are kept as they are, so that the data-quality check reports them by row."""
    if date_format == "ISO":
        return values
    text = values.cast(pl.String).str.strip_chars()
    if date_format == "Unix seconds":
        seconds = pl.when(text.str.contains(_SECONDS)).then(text.cast(pl.Float64, strict=False))
        moment = pl.from_epoch((seconds * 1_000_000).round(0).cast(pl.Int64), time_unit="us")
        return pl.coalesce(moment.dt.to_string("%Y-%m-%dT%H:%M:%S%.6f"), values.cast(pl.String))
    parts = text.str.extract_groups(_DAY_FIRST)
    first, second, year = parts.struct.field("1"), parts.struct.field("2"), parts.struct.field("3")
    day, month = (first, second) if date_format == "DD/MM/YYYY" else (second, first)
    clock = pl.concat_str(
        _pad(parts.struct.field("4").fill_null("0")),
        pl.lit(":"),
        parts.struct.field("5").fill_null("00"),
        pl.lit(":"),
        parts.struct.field("6").fill_null("00"),
    )
    iso = pl.concat_str(year, pl.lit("-"), _pad(month), pl.lit("-"), _pad(day), pl.lit("T"), clock)
    return pl.coalesce(iso, values.cast(pl.String))


def read_dates(values: pl.Series, date_format: str) -> pl.Series:
    """How ``values`` are read under ``date_format``: UTC timestamps, null where a value cannot
    be read (what the data-quality check then reports)."""
    iso = pl.DataFrame({"v": values}).select(_as_iso(pl.col("v"), date_format)).to_series()
    return parse_timestamps(iso)


def date_preview(values: pl.Series, date_format: str, *, n: int = 3) -> list[tuple[str, str]]:
    """The first ``n`` non-empty values of a timestamp column and how they are read under
    ``date_format``, in words: ``("01/31/2024", "2024-01-31 00:00 UTC")`` or ``(..., "cannot
    be read as MM/DD/YYYY")``."""
    shown = values.cast(pl.String).drop_nulls()
    shown = shown.filter(shown.str.strip_chars() != "").head(n)
    read = read_dates(shown, date_format)
    return [
        (
            value,
            f"cannot be read as {date_format}"
            if moment is None
            else f"{moment:%Y-%m-%d %H:%M}" + (f":{moment:%S}" if moment.second else "") + " UTC",
        )
        for value, moment in zip(shown.to_list(), read.to_list(), strict=True)
    ]


def guess_date_format(values: Sequence[str | None]) -> str:
    """The likely date format of some values: day first when a first number exceeds 12, month
    first when a second one does (or when neither does: the US order, which most exporting
    tools use for slashes), Unix seconds for plain numbers, else ISO."""
    text = [v.strip() for v in values if v is not None and v.strip()]
    if not text:
        return DEFAULT_DATE_FORMAT
    if all(re.fullmatch(r"\d{9,11}(?:\.\d+)?", v) for v in text):
        return "Unix seconds"
    found = [re.match(_DAY_FIRST, v) for v in text]
    if not all(found):
        return DEFAULT_DATE_FORMAT
    if any(int(m.group(1)) > 12 for m in found if m):
        return "DD/MM/YYYY"
    return "MM/DD/YYYY"


#: A whole mapping: contract table -> its mapping (at most one file per table).
FileMappings = dict[str, TableMapping]


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


# Names a column goes by, per contract table and column, best first (compared without case,
# spaces, dashes or underscores). ``id`` alone means the table's own key only where that is
# sensible: the members file's member_id, the proof-item file's item_id.
_PERSON = ["member_id", "user_id", "userid", "uid", "member", "user", "account_id", "customer_id",
           "owner_user_id", "owner_id", "author_id", "person_id", "subscriber_id"]  # fmt: skip
_WHEN = ["occurred_at", "timestamp", "ts", "time", "datetime", "date", "event_time", "event_date",
         "happened_at", "created_at", "creation_date", "at"]  # fmt: skip
COLUMN_SYNONYMS: dict[str, dict[str, list[str]]] = {
    "members": {
        "member_id": [*_PERSON, "id"],
        "joined_at": ["joined_at", "joined", "join_date", "date_joined", "created_at", "created",
                      "creation_date", "signup_date", "signed_up_at", "signup_at", "signup",
                      "registered_at", "registration_date", "registered", "first_seen_at",
                      "start_date", "subscribed_at"],
        "left_at": ["left_at", "left", "churned_at", "deleted_at", "cancelled_at", "canceled_at",
                    "unsubscribed_at", "deactivated_at", "ended_at", "end_date", "closed_at"],
        "last_seen_at": ["last_seen_at", "last_seen", "last_login_at", "last_login",
                         "last_active_at", "last_active", "last_activity_at", "last_access_date",
                         "last_access", "last_visit"],
    },
    "activity": {
        "member_id": _PERSON,
        "occurred_at": _WHEN,
        "kind": ["kind", "type", "action", "event", "event_type", "activity_type", "event_name",
                 "activity", "verb", "name"],
    },
    "proof_items": {
        "item_id": ["item_id", "proof_id", "proof_item_id", "badge_id", "id"],
        "kind": ["kind", "type", "proof_type", "category", "item_type"],
        "title": ["title", "name", "label", "headline", "text"],
        "published_at": ["published_at", "published", "publish_date", "published_on",
                         "released_at", "created_at", "date"],
    },
    "exposures": {
        "member_id": _PERSON,
        "item_id": ["item_id", "proof_item_id", "proof_id", "badge_id", "badge", "item"],
        "occurred_at": ["occurred_at", "seen_at", "viewed_at", "shown_at", "earned_at",
                        "awarded_at", *_WHEN],
        "kind": ["kind", "type", "action", "event", "exposure_type"],
    },
    "milestones": {
        "milestone_id": ["milestone_id", "id"],
        "announced_at": ["announced_at", "announced", "announcement_date", "published_at",
                         "posted_at", "date", "timestamp", "created_at"],
        "title": ["title", "name", "headline", "text", "announcement", "milestone"],
        "channel": ["channel", "medium", "platform", "where", "source"],
    },
}  # fmt: skip

# Words in a file name that say which table it holds.
TABLE_WORDS: dict[str, tuple[str, ...]] = {
    "members": ("member", "user", "account", "customer", "people", "person", "signup",
                "subscriber", "profile"),
    "activity": ("activit", "event", "action", "post", "comment", "login", "session", "log",
                 "message", "interaction"),
    "proof_items": ("proof", "item", "testimonial", "badge", "casestud", "story", "stories"),
    "exposures": ("exposure", "view", "impression", "award", "earned", "seen", "shown"),
    "milestones": ("milestone", "announcement"),
}  # fmt: skip


def guess_columns(table: str, columns: Sequence[str]) -> dict[str, str]:
    """The likely file column for each contract column of ``table`` (contract column -> file
    column), each file column used at most once; contract columns without a likely match are
    left out."""
    by_norm: dict[str, str] = {}
    for column in columns:
        by_norm.setdefault(_norm(column), column)
    chosen: dict[str, str] = {}
    used: set[str] = set()
    synonyms = COLUMN_SYNONYMS[table]
    # Exact contract names first, so that "kind" is never taken by another column's guess.
    for contract_column in synonyms:
        exact = by_norm.get(_norm(contract_column))
        if exact is not None:
            chosen[contract_column] = exact
            used.add(exact)
    for contract_column, names in synonyms.items():
        if contract_column in chosen:
            continue
        for name in names:
            found = by_norm.get(_norm(name))
            if found is not None and found not in used:
                chosen[contract_column] = found
                used.add(found)
                break
    return {c: chosen[c] for c in synonyms if c in chosen}


def _table_score(table: str, file_name: str, columns: Sequence[str]) -> float:
    stem = _norm(file_name.rsplit(".", 1)[0])
    name_hit = any(word in stem for word in TABLE_WORDS[table]) or _norm(table) in stem
    guessed = guess_columns(table, columns)
    required = TABLES[table].required_columns
    covered = sum(c in guessed for c in required) / len(required)
    exact = sum(c in columns for c in TABLES[table].column_names) / len(TABLES[table].columns)
    if covered < 1 and not name_hit:
        return 0.0
    return 2.0 * name_hit + covered + 0.5 * exact


def guess_table(file_name: str, columns: Sequence[str]) -> str | None:
    """The contract table a file most likely holds (from its name and columns), or ``None``."""
    scores = {t: _table_score(t, file_name, columns) for t in TABLE_NAMES}
    best = max(scores, key=lambda t: scores[t])
    return best if scores[best] > 0 else None


def guess_mapping(files: Mapping[str, Sequence[str]]) -> FileMappings:
    """A proposed mapping for files given as ``{file name: column names}``: each table goes to
    the file that fits it best, each file to at most one table."""
    candidates = sorted(
        (
            (_table_score(table, name, columns), name, table)
            for name, columns in files.items()
            for table in TABLE_NAMES
        ),
        key=lambda c: (-c[0], c[1], TABLE_NAMES.index(c[2])),
    )
    mapping: FileMappings = {}
    taken: set[str] = set()
    for score, name, table in candidates:
        if score <= 0 or name in taken or table in mapping:
            continue
        mapping[table] = TableMapping(table, name, guess_columns(table, files[name]))
        taken.add(name)
    return {t: mapping[t] for t in TABLE_NAMES if t in mapping}


def check_mapping(mapping: FileMappings, files: Mapping[str, Sequence[str]]) -> list[str]:
    """Every problem that stops ``mapping`` from being applied to ``files`` (``{file name:
    column names}``), each a sentence with its fix; empty when it can be applied."""
    problems: list[str] = []
    for required in (t for t in TABLE_NAMES if TABLES[t].required):
        if required not in mapping:
            problems.append(
                f"No file is mapped to the required table {required}. Fix: add a file holding "
                f"{', '.join(TABLES[required].required_columns)} and choose {required} for it."
            )
    files_seen: dict[str, str] = {}
    for table, entry in mapping.items():
        if table not in TABLES:
            problems.append(
                f"{table} is not a table of the data contract. Fix: use one of "
                f"{', '.join(TABLE_NAMES)}."
            )
            continue
        if entry.file in files_seen:
            problems.append(
                f"{entry.file} is mapped to both {files_seen[entry.file]} and {table}. Fix: "
                "choose one table per file."
            )
        files_seen[entry.file] = table
        if entry.file not in files:
            given = ", ".join(sorted(files)) or "none"
            problems.append(
                f"The mapping names {entry.file} for {table}, but that file was not given "
                f"(given: {given}). Fix: pass the file or correct its name in the mapping."
            )
            continue
        spec = TABLES[table]
        available = files[entry.file]
        for contract_column, column in entry.columns.items():
            if contract_column not in spec.column_names:
                problems.append(
                    f"{entry.file} ({table}): {contract_column} is not a column of {table}. "
                    f"Fix: use one of {', '.join(spec.column_names)}."
                )
            elif column not in available:
                problems.append(
                    f"{entry.file} ({table}): column {column!r} (for {contract_column}) is not "
                    f"in the file, which has {', '.join(available)}. Fix: choose one of those."
                )
        used = list(entry.columns.values())
        for column in sorted({c for c in used if used.count(c) > 1}):
            problems.append(
                f"{entry.file} ({table}): column {column!r} is mapped to more than one contract "
                "column. Fix: map each contract column to its own column."
            )
        for contract_column in spec.required_columns:
            if contract_column not in entry.columns:
                problems.append(
                    f"{entry.file} ({table}): the required column {contract_column} is not "
                    f"mapped. Fix: choose the column of {entry.file} that holds "
                    f"{spec.columns[spec.column_names.index(contract_column)].description}."
                )
    return problems


def apply_mapping(frame: pl.DataFrame, entry: TableMapping) -> pl.DataFrame:
    """The file's rows under contract names: mapped columns renamed (ids as text); for
    ``members`` the other columns are kept as attributes unless their name clashes with a
    contract column."""
    spec = TABLES[entry.table]
    id_columns = {c.name for c in spec.columns if c.kind == "id"}
    timestamps = set(spec.timestamp_columns)

    def mapped_column(contract: str, column: str) -> pl.Expr:
        if contract in id_columns:
            return pl.col(column).cast(pl.String)
        if contract in timestamps and (
            frame.schema[column] == pl.String
            or (entry.date_format == "Unix seconds" and frame.schema[column].is_numeric())
        ):
            return _as_iso(pl.col(column), entry.date_format)
        return pl.col(column)

    mapped = [
        mapped_column(contract, column).alias(contract)
        for contract, column in entry.columns.items()
    ]
    extra: list[str] = []
    if entry.table == "members":
        used = set(entry.columns.values())
        extra = [
            c for c in frame.columns if c not in used and c not in spec.column_names and c.strip()
        ]
    return frame.select(*mapped, *extra)


@dataclass(frozen=True)
class Prepared:
    """Mapped files, checked: the report always; the community only when there is no error."""

    tables: dict[str, pl.DataFrame]
    report: QualityReport
    community: Community | None

    @property
    def ok(self) -> bool:
        return self.community is not None

    def clean_tables(self) -> dict[str, pl.DataFrame]:
        """The checked tables as they would be stored (rows with problems left out), for a
        write; empty when there are errors."""
        community = self.community
        if community is None:
            return {}
        tables = {
            "members": community.members,
            "activity": community.activity,
            "proof_items": community.proof_items,
            "exposures": community.exposures,
            "milestones": community.milestones,
        }
        return {name: frame for name, frame in tables.items() if frame is not None}

    def stored_tables(self) -> dict[str, pl.DataFrame]:
        """The mapped tables as they are, every row kept, for a write (see
        :func:`analytics.community.stored_tables`); empty when there are errors. The checks
        decide what the analyses use when the data is loaded, not what is stored."""
        if self.community is None:
            return {}
        return stored_tables(FrameSource(dict(self.tables)))


def _relabel(report: QualityReport, mapping: FileMappings) -> QualityReport:
    """Issues name the user's own column (``created_at (as joined_at)``), not only ours."""
    issues = []
    for issue in report.issues:
        entry = mapping.get(issue.table)
        own = entry.columns.get(issue.column) if entry and issue.column else None
        if own is not None and own != issue.column:
            issue = replace(issue, column=f"{own} (as {issue.column})")
        issues.append(issue)
    return replace(report, issues=tuple(issues))


def prepare(
    frames: Mapping[str, pl.DataFrame], mapping: FileMappings, *, label: str = "uploaded files"
) -> Prepared:
    """Apply ``mapping`` to ``frames`` (``{file name: frame}``) and check the result against the
    data contract, exactly as a data source is checked.

    Raises
    ------
    MappingError
        When the mapping cannot be applied (see :func:`check_mapping`).
    """
    problems = check_mapping(mapping, {name: f.columns for name, f in frames.items()})
    if problems:
        raise MappingError(" ".join(problems))
    tables = {t: apply_mapping(frames[e.file], e) for t, e in mapping.items()}
    source = FrameSource(tables, {t: e.file for t, e in mapping.items()}, label=label)
    try:
        community = load_community(source)
    except DataContractError as exc:
        return Prepared(tables, _relabel(exc.report, mapping), None)
    return Prepared(tables, _relabel(community.report, mapping), community)


# -- mapping.toml ---------------------------------------------------------------------------


def _toml_string(text: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes).
    return json.dumps(text, ensure_ascii=False)


def mapping_to_toml(mapping: FileMappings) -> str:
    """The mapping as ``mapping.toml`` text (see the module doc for the format)."""
    lines = [
        "# Proofboard column mapping: which file holds each table of the data contract, and",
        "# which of its columns is each contract column (contract column = column in the file).",
        "# Use it with: proofboard ingest FILES... --map mapping.toml --to URL",
    ]
    for table in TABLE_NAMES:
        entry = mapping.get(table)
        if entry is None:
            continue
        lines += ["", f"[{table}]", f"file = {_toml_string(entry.file)}"]
        if entry.date_format != DEFAULT_DATE_FORMAT:
            lines.append(f"date_format = {_toml_string(entry.date_format)}")
        lines += ["", f"[{table}.columns]"]
        lines += [f"{c} = {_toml_string(v)}" for c, v in entry.columns.items()]
    return "\n".join(lines) + "\n"


def mapping_from_toml(text: str, *, origin: str = "mapping.toml") -> FileMappings:
    """Read ``mapping.toml`` text; raises :class:`MappingError` naming ``origin`` and the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(
            f"{origin} is not valid TOML: {exc}. Fix: see the format in the README."
        ) from exc
    mapping: FileMappings = {}
    for table, section in data.items():
        if table not in TABLES:
            raise MappingError(
                f"{origin}: [{table}] is not a table of the data contract. Fix: use one of "
                f"{', '.join(TABLE_NAMES)}."
            )
        if not isinstance(section, dict) or not isinstance(section.get("file"), str):
            raise MappingError(
                f'{origin}: [{table}] needs file = "NAME" (the file holding {table}). '
                f'Fix: e.g. file = "{table}.csv".'
            )
        unknown = sorted(set(section) - {"file", "columns", "date_format"})
        if unknown:
            raise MappingError(
                f"{origin}: [{table}] has unknown key(s) {', '.join(unknown)}. Fix: use only "
                f"file, date_format and [{table}.columns]."
            )
        date_format = section.get("date_format", DEFAULT_DATE_FORMAT)
        if date_format not in DATE_FORMATS:
            raise MappingError(
                f"{origin}: [{table}] date_format = {date_format!r} is not known. Fix: use one "
                f"of {', '.join(_toml_string(f) for f in DATE_FORMATS)}."
            )
        columns = section.get("columns", {})
        if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
            raise MappingError(
                f"{origin}: [{table}.columns] must map contract columns to column names, e.g. "
                f'member_id = "user_id".'
            )
        mapping[table] = TableMapping(table, section["file"], dict(columns), date_format)
    return mapping


__all__ = [
    "COLUMN_SYNONYMS",
    "DATE_FORMATS",
    "DEFAULT_DATE_FORMAT",
    "FileMappings",
    "MappingError",
    "Prepared",
    "TableMapping",
    "apply_mapping",
    "check_mapping",
    "date_preview",
    "guess_columns",
    "guess_date_format",
    "guess_mapping",
    "guess_table",
    "mapping_from_toml",
    "mapping_to_toml",
    "prepare",
    "read_dates",
]
