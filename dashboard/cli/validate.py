"""``proofboard validate``: print the data-quality report of a source."""

from __future__ import annotations

import argparse
import json
from typing import Any

from dashboard.cli.common import add_as_of, add_data


def run(args: argparse.Namespace) -> int:
    from analytics.community import check_source
    from analytics.io import open_source

    report = check_source(open_source(args.data), as_of=args.as_of, engine=args.engine)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.to_text())
    return 0 if report.ok else 1


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "validate",
        help="print the data-quality report of a source",
        description=(
            "Check a source against the data contract and print every error (which stops a "
            "load) and warning (rows left out, members without activity, ...). Exit code 1 "
            "when there are errors."
        ),
    )
    add_data(p)
    add_as_of(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)
