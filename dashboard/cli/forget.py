"""``proofboard forget``: remove members from every table and every snapshot of a database, for
an erasure request (GDPR/DSGVO Art. 17); see :func:`analytics.io.history.forget_members`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

NAME = "forget"


def add_parser(subparsers: Any) -> None:
    """Add ``forget`` to the ``proofboard`` parser."""
    p = subparsers.add_parser(
        NAME,
        help="remove members from every table and snapshot of a database (erasure request)",
        description=(
            "Remove the given members from the members, activity and exposures tables of a "
            "database and from every snapshot of them, in one transaction: on any error "
            "nothing is removed. The audit log records that it happened, by whom and how many "
            "rows went, never the ids. Only databases: a folder source is refused (edit its "
            "files, or ingest it into a database first). Reports built earlier (HTML/PDF "
            "files, e-mails sent) are not touched."
        ),
    )
    p.add_argument("member_ids", nargs="*", metavar="MEMBER_ID", help="the members to remove")
    p.add_argument(
        "--ids-file",
        metavar="FILE",
        help="a UTF-8 text file with one member id per line (keeps the ids out of the shell "
        "history)",
    )
    p.add_argument("--data", required=True, metavar="URL", help="SQLAlchemy URL of the database")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from analytics.errors import ProofboardError
    from analytics.io import mask_url
    from analytics.io.history import LOCAL_ACTOR, forget_members
    from analytics.io.upload import read_text_file

    ids = list(args.member_ids)
    if args.ids_file:
        ids += [line.strip() for line in read_text_file(Path(args.ids_file)).splitlines()]
    ids = [i for i in ids if i.strip()]
    if not ids:
        raise ProofboardError(
            "forget needs at least one MEMBER_ID (or --ids-file FILE). Nothing was changed."
        )
    result = forget_members(args.data, ids, actor=LOCAL_ACTOR)
    print(f"Removed from {mask_url(args.data)} in one transaction:")
    print(f"  {result.found:,} of {result.requested:,} member(s) were in the members table")
    for table, count in result.removed.items():
        print(f"  {table}: {count:,} row(s)")
    print("Recorded in the audit log (without the ids).")
    return 0
