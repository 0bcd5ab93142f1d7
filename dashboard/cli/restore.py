"""``proofboard restore``: put an earlier community back from the snapshots kept in a database
(see :mod:`analytics.io.history`)."""

from __future__ import annotations

import argparse
from typing import Any

NAME = "restore"


def add_parser(subparsers: Any) -> None:
    """Add ``restore`` to the ``proofboard`` parser."""
    p = subparsers.add_parser(
        NAME,
        help="list the snapshots of a database or put an earlier community back",
        description=(
            "Every replace of the community in a database (Save on the Data page, ingest, "
            "import) keeps the previous community as a dated snapshot in the same database "
            "(the last 5 by default; --keep-snapshots or $PROOFBOARD_KEEP_SNAPSHOTS). "
            "`--list` shows them; without it the newest snapshot (or --snapshot ID) becomes the "
            "community again, in one transaction. The community it replaces is kept as a "
            "snapshot first, so a restore can be undone with another restore. Recorded in the "
            "audit log."
        ),
    )
    p.add_argument("--to", required=True, metavar="URL", help="SQLAlchemy URL of the database")
    p.add_argument(
        "--snapshot", type=int, metavar="ID", help="the snapshot to restore (default: the newest)"
    )
    p.add_argument("--list", action="store_true", help="list the snapshots and change nothing")
    p.add_argument(
        "--keep-snapshots",
        type=int,
        metavar="N",
        help="snapshots to keep afterwards (default $PROOFBOARD_KEEP_SNAPSHOTS, else 5)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from analytics.io import mask_url
    from analytics.io.history import LOCAL_ACTOR, list_snapshots, restore_snapshot

    if args.list:
        snapshots = list_snapshots(args.to)
        if not snapshots:
            print(
                f"{mask_url(args.to)} has no snapshots yet: one is kept each time the community "
                "is replaced (Save on the Data page, ingest, import)."
            )
            return 0
        print(f"Snapshots of {mask_url(args.to)}, newest first:")
        for snapshot in snapshots:
            print(f"  {snapshot.label()}")
        return 0
    restored, saved = restore_snapshot(
        args.to, args.snapshot, actor=LOCAL_ACTOR, keep=args.keep_snapshots
    )
    print(f"Restored snapshot {restored.label()} into {mask_url(args.to)}")
    if saved is not None:
        print(
            f"The community it replaced is kept as snapshot {saved.snapshot_id} "
            f"(`proofboard restore --to URL --snapshot {saved.snapshot_id}` undoes this)."
        )
    return 0
