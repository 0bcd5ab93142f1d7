"""``proofboard import stackexchange``: convert a Stack Exchange data dump."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dashboard.cli.common import Progress, add_keep_snapshots, byte_size


def run(args: argparse.Namespace) -> int:
    from analytics.io import is_url, mask_url
    from analytics.io.history import LOCAL_ACTOR
    from analytics.io.stackexchange import read_stackexchange
    from analytics.io.write import (
        Replace,
        check_replaceable_database,
        check_replaceable_folder,
        write_database,
        write_folder,
    )

    progress = Progress()
    out = str(args.out)
    # Refuse before the (long) read: a target holding another community is not touched.
    if not args.replace:
        if is_url(out):
            check_replaceable_database(out, IMPORTED_TABLES)
        else:
            check_replaceable_folder(Path(out), IMPORTED_TABLES)
    imported = read_stackexchange(
        Path(args.path), progress=progress, max_extracted_bytes=args.max_extracted_bytes
    )
    if not args.replace:  # the archive may hold other tables than expected
        if is_url(out):
            check_replaceable_database(out, imported.tables)
        else:
            check_replaceable_folder(Path(out), imported.tables)
    from analytics.contract import TABLE_NAMES

    if is_url(out):
        snapshot = write_database(
            imported.tables,
            out,
            drop=TABLE_NAMES if args.replace else (),
            progress=progress,
            replace=Replace(
                LOCAL_ACTOR, "import", f"Stack Exchange dump {Path(args.path).name}:",
                keep=args.keep_snapshots,
            ),
        )  # fmt: skip
        shown = mask_url(out)
    else:
        removed = write_folder(
            imported.tables,
            Path(out),
            progress=progress,
            remove=TABLE_NAMES if args.replace else (),
        )
        snapshot = None
        shown = out
        if removed:
            print(f"Removed the earlier tables {', '.join(removed)} from {out} (--replace)")
    print(imported.summary())
    print(f"Wrote the community to {shown}")
    if snapshot is not None:
        print(
            f"The previous community is kept as snapshot {snapshot.snapshot_id} "
            "(`proofboard restore --to URL` puts it back)."
        )
    return 0


#: The tables a Stack Exchange import writes.
IMPORTED_TABLES = ("members", "activity", "proof_items", "exposures")


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "import",
        help="import real community data (Stack Exchange data dumps)",
        description=(
            "Convert a community's own export into the data contract and write it to a folder "
            "or database (--out DIR_OR_URL). Run `proofboard import FORMAT --help` for a format."
        ),
    )
    formats = p.add_subparsers(dest="format", required=True, metavar="FORMAT")
    se = formats.add_parser(
        "stackexchange",
        help="a Stack Exchange data dump: the site's .7z archive or its extracted folder",
        description=(
            "Read Users.xml, Posts.xml, Comments.xml (when present) and Badges.xml of a "
            "Stack Exchange data dump (the site's .7z archive, extracted to a temporary folder "
            "that is removed afterwards, or the extracted folder) and write members, activity "
            "(questions, answers, comments), proof_items (one per badge) and exposures (each "
            "award). Rows of the bot account, without an owner or of unknown accounts are "
            "counted and left out. Only what is known at signup becomes a member attribute "
            "(nothing: reputation and votes are measured at dump time)."
        ),
    )
    se.add_argument(
        "path", metavar="PATH", help="the site's .7z archive or the extracted dump folder"
    )
    se.add_argument("--out", required=True, metavar="DIR_OR_URL", help="a folder or SQLAlchemy URL")
    se.add_argument(
        "--replace",
        action="store_true",
        help="replace the community already in --out: every contract table there is removed "
        "(in a database it is kept as a snapshot first); without it such a target is refused",
    )
    se.add_argument(
        "--max-extracted-bytes",
        type=byte_size,
        metavar="SIZE",
        help="refuse a .7z archive that unpacks to more than this, e.g. 8GB (default: 20 times "
        "the archive, at most 50 GB; also $PROOFBOARD_MAX_EXTRACTED_BYTES)",
    )
    add_keep_snapshots(se)
    se.set_defaults(func=run)
