"""``proofboard retention``: print the cohort retention matrix."""

from __future__ import annotations

import argparse
import json
from typing import Any

from dashboard.cli.common import Progress, add_as_of, add_data


def format_matrix(payload: dict[str, object]) -> str:
    """The cohort matrix as a readable table: shares in %, ``·`` for incomplete cells."""
    cohorts = payload["cohorts"]
    assert isinstance(cohorts, list)
    width = max((len(c["retention"]) for c in cohorts), default=0)
    period = str(payload["period"])
    head = f"{'cohort':<10} {'size':>7} " + " ".join(
        f"{f'{period[0]}{k}':>6}" for k in range(width)
    )
    lines = [
        f"Retention by {period} after joining, as of {payload['as_of']}",
        "(share of each join cohort with any activity in that period; · = not complete yet)",
        head,
    ]
    for cohort in cohorts:
        cells = " ".join(
            f"{'·':>6}" if share is None else f"{share:>6.1%}" for share in cohort["retention"]
        )
        lines.append(f"{cohort['cohort']:<10} {cohort['size']:>7,} {cells}")
    if not cohorts:
        lines.append("(no cohort has a complete period yet)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from analytics.community import load_community
    from analytics.io import open_source
    from analytics.retention import cohort_matrix

    progress = Progress()
    progress("Reading and checking the data", 0.0)
    community = load_community(open_source(args.data), as_of=args.as_of, engine=args.engine)
    progress("Computing the cohort matrix", 0.6)
    matrix = cohort_matrix(community, period=args.period)
    progress("Done", 1.0)
    payload = matrix.to_json()
    print(json.dumps(payload) if args.json else format_matrix(payload))
    return 0


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "retention",
        help="print the cohort retention matrix",
        description=(
            "Print the share of each join cohort (calendar week or month of joining) that was "
            "active in each week (7 days) or month (30 days) after joining. Cells not complete "
            "yet at the as-of time are null, never 0."
        ),
    )
    add_data(p)
    p.add_argument("--period", choices=["week", "month"], required=True, help="week or month")
    p.add_argument(
        "--inactive-days",
        type=int,
        default=30,
        metavar="N",
        help="quiet days before silent churn (default 30; the matrix itself counts activity)",
    )
    add_as_of(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
