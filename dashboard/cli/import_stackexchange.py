"""``proofboard import stackexchange``: convert a Stack Exchange data dump."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dashboard.cli.common import Progress


def run(args: argparse.Namespace) -> int:
    from analytics.io import is_url, write_tables
    from analytics.io.stackexchange import read_stackexchange
    from analytics.io.write import check_replaceable_database, check_replaceable_folder

    progress = Progress()
    imported = read_stackexchange(Path(args.path), progress=progress)
    if is_url(str(args.out)):
        check_replaceable_database(str(args.out), imported.tables)
    else:
        check_replaceable_folder(Path(args.out), imported.tables)
    write_tables(imported.tables, args.out, progress=progress)
    print(imported.summary())
    print(f"Wrote the community to {args.out}")
    return 0


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
    se.set_defaults(func=run)
