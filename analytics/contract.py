"""The community data contract: the tables, columns and values Proofboard reads.

A data source is a folder of ``<table>.csv`` / ``<table>.parquet`` files or a database
reached through a SQLAlchemy URL holding tables of the same names. Column names are exact;
extra columns are allowed (extra ``members`` columns are member attributes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnKind = Literal["id", "text", "timestamp"]

PROOF_ITEM_KINDS: tuple[str, ...] = (
    "testimonial",
    "badge",
    "case_study",
    "ugc",
    "influencer",
    "mention",
)

TIMESTAMP_HELP = (
    "write timestamps as ISO 8601, e.g. 2024-03-01, 2024-03-01T14:30:00 or "
    "2024-03-01T14:30:00+02:00 (no offset means UTC; offsets run from -14:00 to +14:00)"
)

#: Timestamps the contract accepts: from 1970-01-01 up to (not including) 2100-01-01, UTC.
#: Anything outside is a typo or a placeholder (``9999-12-31``); taken as data it would move
#: the as-of time centuries ahead and make every analysis build years of empty periods.
EARLIEST_YEAR, LATEST_YEAR = 1970, 2100
#: The same bounds in integer microseconds since 1970-01-01 UTC (how the queries compare).
EARLIEST_US, LATEST_US = 0, 4_102_444_800_000_000
RANGE_HELP = (
    f"timestamps must lie between {EARLIEST_YEAR}-01-01 and {LATEST_YEAR - 1}-12-31; correct "
    "the value, or leave it empty where the column is optional"
)


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a contract table."""

    name: str
    kind: ColumnKind
    required: bool
    description: str


@dataclass(frozen=True)
class TableSpec:
    """One table of the contract."""

    name: str
    required: bool
    description: str
    columns: tuple[ColumnSpec, ...]
    unique: str | None = None

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def timestamp_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.kind == "timestamp")


MEMBERS = TableSpec(
    name="members",
    required=True,
    description=(
        "One row per member. Any column not listed here is a member attribute "
        "(e.g. channel, plan, country) offered as a segment filter."
    ),
    columns=(
        ColumnSpec("member_id", "id", True, "unique member identifier"),
        ColumnSpec("joined_at", "timestamp", True, "when the member signed up"),
        ColumnSpec("left_at", "timestamp", False, "explicit departure (cancelled, deleted)"),
        ColumnSpec(
            "last_seen_at", "timestamp", False, "latest sign of life, even without activity"
        ),
    ),
    unique="member_id",
)
ACTIVITY = TableSpec(
    name="activity",
    required=True,
    description="One row per thing a member did.",
    columns=(
        ColumnSpec("member_id", "id", True, "who did it"),
        ColumnSpec("occurred_at", "timestamp", True, "when"),
        ColumnSpec("kind", "text", True, "post, comment, reaction, login, event, ..."),
    ),
)
PROOF_ITEMS = TableSpec(
    name="proof_items",
    required=False,
    description="The social proof a community shows or hands out.",
    columns=(
        ColumnSpec("item_id", "id", True, "unique item identifier"),
        ColumnSpec("kind", "text", True, "one of " + ", ".join(PROOF_ITEM_KINDS)),
        ColumnSpec("title", "text", True, "what people see"),
        ColumnSpec("published_at", "timestamp", False, "when it became visible"),
    ),
    unique="item_id",
)
EXPOSURES = TableSpec(
    name="exposures",
    required=False,
    description="Who saw or earned which proof item, and when.",
    columns=(
        ColumnSpec("member_id", "id", True, "the member"),
        ColumnSpec("item_id", "id", True, "the proof item"),
        ColumnSpec("occurred_at", "timestamp", True, "when the member saw or earned it"),
        ColumnSpec("kind", "text", False, "viewed, earned, shared, ..."),
    ),
)
MILESTONES = TableSpec(
    name="milestones",
    required=False,
    description='Announcements such as "10,000 members!".',
    columns=(
        ColumnSpec("milestone_id", "id", False, "generated when absent"),
        ColumnSpec("announced_at", "timestamp", True, "when it was announced"),
        ColumnSpec("title", "text", True, "what was announced"),
        ColumnSpec("channel", "text", False, "where it was announced"),
    ),
    unique="milestone_id",
)

TABLES: dict[str, TableSpec] = {
    t.name: t for t in (MEMBERS, ACTIVITY, PROOF_ITEMS, EXPOSURES, MILESTONES)
}
TABLE_NAMES: tuple[str, ...] = tuple(TABLES)
