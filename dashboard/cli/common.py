"""What every ``proofboard`` command shares: progress on stderr, the data-source options and
the ``--as-of`` parser."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, TextIO

from analytics.contract import EARLIEST_YEAR, LATEST_YEAR, RANGE_HELP
from analytics.errors import ProofboardError

if TYPE_CHECKING:
    from analytics.community import Community

ENV_DATA = "PROOFBOARD_DATA"
ENV_ENGINE = "PROOFBOARD_ENGINE"
#: The store the dashboard keeps its additions and audit log in (dashboard.data.ENV_STORE);
#: the command line records member-level outputs there when it is set.
ENV_STORE = "PROOFBOARD_STORE"

AUDIT_HELP = (
    "Member-level output (member ids) is recorded in the audit log first: in $PROOFBOARD_STORE "
    "when set, else in the source database when it has one (a store that ingest, import or "
    "the dashboard wrote to). A folder source, or a database without an audit log, is never "
    "written to: the output is then not recorded, and a note on stderr says so. If recording "
    "fails, nothing is printed and the exit code is 1."
)

SOURCE_HELP = (
    "a data folder holding members.csv, activity.csv, ... (or .parquet), or a SQLAlchemy URL "
    "such as sqlite:///data/proofboard.db or postgresql+psycopg://user@host/db"
)


class Progress:
    """Progress on stderr: a redrawn bar on a terminal, one line per step otherwise."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.last_step = ""

    def __call__(self, step: str, fraction: float) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        if self.tty:
            filled = int(fraction * 30)
            bar = "#" * filled + "." * (30 - filled)
            self.stream.write(f"\r[{bar}] {fraction:4.0%} {step[:60]:<60}")
            if fraction >= 1.0:
                self.stream.write("\n")
        elif step != self.last_step:
            self.stream.write(f"{fraction:4.0%} {step}\n")
        self.stream.flush()
        self.last_step = step


def parse_timestamp(text: str) -> datetime:
    """An ``--as-of`` value: ISO 8601 date or date-time; without an offset it is UTC."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 timestamp (e.g. 2025-06-30 or 2025-06-30T12:00:00Z)"
        ) from exc
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not EARLIEST_YEAR <= value.year < LATEST_YEAR:
        raise argparse.ArgumentTypeError(
            f"{text!r} is outside {EARLIEST_YEAR}-{LATEST_YEAR - 1}: {RANGE_HELP}"
        )
    return value


ENGINE_CHOICES = ("polars", "polars-eager", "duckdb", "spark", "sql")


def add_data(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, metavar="SOURCE", help=SOURCE_HELP)
    add_engine(parser)


def add_engine(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=ENGINE_CHOICES,
        help="where the event-level queries run: polars (streaming; the default for folders), "
        "polars-eager (in memory), duckdb (folders; the duckdb extra), spark (folders; the "
        "spark extra, master from $PROOFBOARD_SPARK_MASTER, default local[2]) or sql (inside "
        "the database; the default for database URLs other than SQLite)",
    )


def add_as_of(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as-of",
        type=parse_timestamp,
        metavar="TIMESTAMP",
        help="analyse the data as of this time (default: the latest timestamp in the data)",
    )


def add_keep_snapshots(parser: argparse.ArgumentParser) -> None:
    """``--keep-snapshots N``: how many earlier communities a database target keeps."""
    parser.add_argument(
        "--keep-snapshots",
        type=int,
        metavar="N",
        help="snapshots of earlier communities to keep in a database target (default "
        "$PROOFBOARD_KEEP_SNAPSHOTS, else 5; 0 keeps none)",
    )


def byte_size(text: str) -> int:
    """An argparse type for sizes such as ``8GB`` or ``500MB``."""
    from analytics.io.stackexchange import parse_byte_size

    try:
        return parse_byte_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_date(text: str) -> date:
    """A ``--from``/``--to`` value: an ISO 8601 day."""
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 day (e.g. 2025-06-30)"
        ) from exc


def segments(specs: Sequence[str] | None, community: Community) -> dict[str, tuple[str, ...]]:
    """``--segment ATTRIBUTE=VALUE`` options as the chosen values per attribute (values of the
    same attribute are alternatives)."""
    chosen: dict[str, list[str]] = {}
    for spec in specs or ():
        attribute, _, value = spec.partition("=")
        if attribute not in community.attributes or not value:
            known = ", ".join(community.attributes) or "none"
            raise ProofboardError(
                f"--segment {spec!r}: write ATTRIBUTE=VALUE with one of the member attributes "
                f"({known})."
            )
        chosen.setdefault(attribute, []).append(value)
    return {a: tuple(v) for a, v in chosen.items()}


def add_segment(parser: argparse.ArgumentParser, what: str = "analyse") -> None:
    parser.add_argument(
        "--segment",
        action="append",
        metavar="ATTRIBUTE=VALUE",
        help=f"{what} only members with this attribute value (repeatable; values of the same "
        "attribute are alternatives), e.g. --segment channel=ads",
    )


def audit_member_output(source: str, what: str) -> bool:
    """Record in the audit log that member-level data read from ``source`` is about to be
    printed (``what``: the command and how many members, never an id), as :data:`AUDIT_HELP`
    says. Returns True when recorded; False (with a note on stderr) when there is no audit
    log to write to. Raises :class:`ProofboardError` when recording fails: the caller then
    prints nothing."""
    from analytics.io import is_url, mask_url
    from analytics.io.history import LOCAL_ACTOR, has_audit_log, record_audit

    shown = mask_url(source) if is_url(source) else source
    store = os.environ.get(ENV_STORE) or None
    if store is None:
        why = (
            "it is a folder, which has no audit log"
            if not is_url(source)
            else "that database has no audit log (nothing was ever ingested, imported or saved "
            "into it)"
        )
        if not is_url(source) or not has_audit_log(source):
            print(
                f"proofboard: note: this member-level output is not recorded in an audit log: "
                f"{why}, and Proofboard does not write into your data. Fix: set "
                f"${ENV_STORE}=URL to a database to record it there.",
                file=sys.stderr,
            )
            return False
        store = source
    try:
        record_audit(
            store,
            actor=LOCAL_ACTOR,
            action="export",
            detail=f"{what} on the command line, from {shown}",
        )
    except ProofboardError as exc:
        raise ProofboardError(
            f"Could not record this member-level output in the audit log, so nothing was "
            f"printed: {exc} Fix: make the audit log writable, set ${ENV_STORE}=URL to a "
            "database you can write to, or leave member ids out."
        ) from exc
    return True
