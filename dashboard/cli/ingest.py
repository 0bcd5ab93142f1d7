"""``proofboard ingest``: check a source (or mapped files) and copy it into a SQL database."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analytics.errors import DataContractError, ProofboardError
from dashboard.cli.common import SOURCE_HELP, Progress, add_keep_snapshots

if TYPE_CHECKING:
    import polars as pl

    from analytics.quality import QualityReport


def _ingest_mapped(args: argparse.Namespace) -> tuple[dict[str, pl.DataFrame], QualityReport]:
    """Read FILES, apply the mapping of --map and check the result (nothing is written)."""
    from analytics.io.upload import read_text_file, read_upload_file
    from analytics.mapping import mapping_from_toml, prepare

    mapping = mapping_from_toml(read_text_file(Path(args.map)), origin=str(args.map))
    files: dict[str, pl.DataFrame] = {}
    for path in args.source:
        uploaded = read_upload_file(Path(path))
        if uploaded.name in files:
            raise ProofboardError(
                f"Two files are named {uploaded.name}. Fix: rename one; the mapping names "
                "files by their name alone."
            )
        files[uploaded.name] = uploaded.frame
        note = uploaded.blank_note()
        if note:
            print(note, file=sys.stderr)
    prepared = prepare(files, mapping, label=", ".join(sorted(files)))
    if prepared.community is None:
        raise DataContractError(prepared.report)
    return prepared.stored_tables(), prepared.community.report


def run(args: argparse.Namespace) -> int:
    from analytics.community import load_community, stored_tables
    from analytics.io import is_url, mask_url, open_source, write_database
    from analytics.io.history import LOCAL_ACTOR
    from analytics.io.write import Replace

    if not is_url(args.to):
        raise ProofboardError(
            f"--to must be a SQLAlchemy URL, got {args.to!r}. Fix: e.g. "
            "--to sqlite:///data/community.db or --to postgresql+psycopg://user@host/db"
        )
    progress = Progress()
    progress("Reading and checking the source", 0.0)
    if args.map:
        tables, report = _ingest_mapped(args)
        what = f"files {', '.join(Path(p).name for p in args.source)} with {Path(args.map).name}"
    else:
        if len(args.source) != 1:
            raise ProofboardError(
                f"Without --map, ingest copies one SOURCE (a folder or URL); got "
                f"{len(args.source)}. Fix: pass one source, or files with --map mapping.toml."
            )
        source = open_source(args.source[0])
        # The check decides whether the source can be used at all; what is copied is the
        # source as it is (rows the analyses leave out stay stored, and are left out again at
        # every load).
        report = load_community(source).report
        tables = stored_tables(source)
        what = source.description
    snapshot = write_database(
        tables,
        args.to,
        progress=progress,
        replace=Replace(LOCAL_ACTOR, "ingest", f"from {what}:", keep=args.keep_snapshots),
    )
    for issue in report.warnings:
        print(f"warning: {issue.text()} (stored as it is)", file=sys.stderr)
    rows = ", ".join(f"{name} {frame.height:,}" for name, frame in tables.items())
    print(f"Copied into {mask_url(args.to)}: {rows}")
    if snapshot is not None:
        print(
            f"The previous community is kept as snapshot {snapshot.snapshot_id} "
            f"(`proofboard restore --to URL` puts it back)."
        )
    return 0


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "ingest",
        help="check a source (or files with a column mapping) and copy it into a SQL database",
        description=(
            "Read SOURCE, check it against the data contract and copy its tables into the "
            "database at --to in one transaction: on any error the target stays as it was. "
            "Tables of the same names in the target are replaced; other tables are left alone. "
            "The source is copied as it is: rows the checks leave out of the analyses (of "
            "unknown members, a left_at before joined_at, ...) are stored too and left out "
            "again at every load. The community the target held before is kept as a snapshot "
            "in the same database (`proofboard restore`). "
            "With --map, SOURCE is one or more CSV/Parquet files in your own column names and "
            "mapping.toml says which file holds which table and which column is which (the "
            "Data page of the dashboard offers the guessed mapping as a download)."
        ),
    )
    p.add_argument(
        "source",
        metavar="SOURCE",
        nargs="+",
        help=SOURCE_HELP + "; with --map: the CSV/Parquet files the mapping names",
    )
    p.add_argument(
        "--map",
        metavar="MAPPING_TOML",
        help='a column mapping (see the README): [members] file = "users.csv", '
        '[members.columns] member_id = "user_id", ...',
    )
    p.add_argument("--to", required=True, metavar="URL", help="SQLAlchemy URL of the target")
    add_keep_snapshots(p)
    p.set_defaults(func=run)
