"""``proofboard overview``: the Overview's key figures for the last N days."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from analytics.errors import ProofboardError
from dashboard.cli.common import Progress, add_as_of, add_data


def run(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from analytics.community import load_community
    from analytics.io import open_source
    from analytics.known import not_known_text
    from analytics.overview import kpi_frame, kpi_json, overview_kpis
    from analytics.periods import Period
    from dashboard.exports import frame_csv
    from dashboard.tables import for_csv

    if args.days < 1:
        raise ProofboardError(f"--days must be at least 1, got {args.days}.")
    progress = Progress()
    progress("Reading and checking the data", 0.0)
    community = load_community(open_source(args.data), as_of=args.as_of, engine=args.engine)
    last = community.as_of.date()
    period = Period.from_dates(last - timedelta(days=args.days - 1), last, as_of=community.as_of)
    progress("Computing the key figures", 0.6)
    kpis = overview_kpis(community, period, inactive_days=args.inactive_days)
    progress("Done", 1.0)
    if args.json:
        print(json.dumps({"period": period.label(), "as_of": community.as_of.isoformat(),
                          "kpis": kpi_json(kpis)}))  # fmt: skip
    elif args.csv:
        sys.stdout.write(frame_csv(for_csv(kpi_frame(kpis))).decode("utf-8"))
    else:
        print(f"Key figures {period.label()} (data as of {community.as_of:%Y-%m-%d %H:%M} UTC)")
        for k in kpis:
            if k.value is None:
                shown = not_known_text(k.known_from) if not k.known else "—"
            else:
                shown = f"{k.value:.1%}" if k.unit == "share" else f"{k.value:,.0f}"
            note = f"  ({k.note})" if k.note else ""
            print(f"  {k.label:<22}{shown}{note}")
    return 0


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "overview",
        help="print the Overview's key figures for the last N days",
        description=(
            "Members, new members, active members, churned members and 90-day retention for the "
            "last --days days up to the as-of time, each against the period before, as on the "
            "Overview page. A figure not known yet (churn within the quiet-day window) is "
            "'not known yet' with the day it will be known: null with known_from in JSON and "
            "CSV, never 0."
        ),
    )
    add_data(p)
    p.add_argument("--days", type=int, default=30, metavar="N", help="the period's length (30)")
    p.add_argument(
        "--inactive-days", type=int, default=30, metavar="N", help="quiet days before churn (30)"
    )
    add_as_of(p)
    shape = p.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="print one JSON object")
    shape.add_argument("--csv", action="store_true", help="print the key figures as CSV")
    p.set_defaults(func=run)
