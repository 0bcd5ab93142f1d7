"""The data-quality report: every error and warning found while loading a source.

One report serves the CLI (``proofboard validate``) and the dashboard's Data page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import polars as pl

Severity = Literal["error", "warning"]

#: How many example rows an issue lists.
EXAMPLE_ROWS = 5


@dataclass(frozen=True)
class Issue:
    """One problem in the data.

    ``rows`` are 1-based data-row numbers (the header line of a CSV file is not counted, so
    row 1 is the file's second line); ``count`` is how many rows have the problem.
    """

    severity: Severity
    table: str
    location: str
    column: str | None
    message: str
    fix: str = ""
    rows: tuple[int, ...] = ()
    count: int = 0

    def where(self) -> str:
        parts = [self.location]
        if self.column:
            parts.append(f"column {self.column}")
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows)
            more = (
                f" and {self.count - len(self.rows):,} more" if self.count > len(self.rows) else ""
            )
            parts.append(f"row{'s' if len(self.rows) > 1 else ''} {shown}{more}")
        return ", ".join(parts)

    def text(self) -> str:
        fix = f" Fix: {self.fix}" if self.fix else ""
        return f"{self.where()}: {self.message}{fix}"


@dataclass(frozen=True)
class QualityReport:
    """All issues of one load, with row counts per table (``None`` = table absent)."""

    source: str
    row_counts: dict[str, int | None]
    issues: tuple[Issue, ...] = ()
    as_of: datetime | None = None
    data_end: datetime | None = None
    attributes: tuple[str, ...] = field(default=())
    #: member attributes never offered as segments: (column, why), e.g. personal data
    not_segments: tuple[tuple[str, str], ...] = field(default=())

    @property
    def errors(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity == "warning")

    @property
    def ok(self) -> bool:
        return not self.errors

    def issues_frame(self) -> pl.DataFrame:
        """The issues as a table (for display and export)."""
        return pl.DataFrame(
            {
                "severity": [i.severity for i in self.issues],
                "table": [i.table for i in self.issues],
                "column": [i.column or "" for i in self.issues],
                "rows affected": [i.count for i in self.issues],
                "example rows": [", ".join(map(str, i.rows)) for i in self.issues],
                "problem": [i.message for i in self.issues],
                "fix": [i.fix for i in self.issues],
            },
            schema={
                "severity": pl.String,
                "table": pl.String,
                "column": pl.String,
                "rows affected": pl.Int64,
                "example rows": pl.String,
                "problem": pl.String,
                "fix": pl.String,
            },
        )

    def row_counts_frame(self) -> pl.DataFrame:
        """Rows per contract table as read from the source (before anything is dropped)."""
        return pl.DataFrame(
            {
                "table": list(self.row_counts),
                "rows": list(self.row_counts.values()),
                "present": [n is not None for n in self.row_counts.values()],
            },
            schema={"table": pl.String, "rows": pl.Int64, "present": pl.Boolean},
        )

    def to_text(self) -> str:
        """A plain-text rendering for the terminal."""
        lines = [f"Source: {self.source}"]
        if self.as_of is not None:
            lines.append(f"As of: {self.as_of.isoformat()}")
        lines.append("Rows:")
        for table, n in self.row_counts.items():
            lines.append(f"  {table:<12} {'absent' if n is None else f'{n:,}'}")
        if self.attributes:
            lines.append("Member attributes (segments): " + ", ".join(self.attributes))
        for column, why in self.not_segments:
            lines.append(f"Not offered as a segment: {column} ({why})")
        lines.append(f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)")
        for issue in self.issues:
            lines.append(f"  {issue.severity.upper()}: {issue.text()}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        """A JSON-serialisable form."""
        return {
            "source": self.source,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "data_end": self.data_end.isoformat() if self.data_end else None,
            "row_counts": self.row_counts,
            "attributes": list(self.attributes),
            "not_segments": dict(self.not_segments),
            "ok": self.ok,
            "issues": [
                {
                    "severity": i.severity,
                    "table": i.table,
                    "location": i.location,
                    "column": i.column,
                    "rows": list(i.rows),
                    "count": i.count,
                    "message": i.message,
                    "fix": i.fix,
                }
                for i in self.issues
            ],
        }
