"""``proofboard milestones``: what each milestone announcement did to signups."""

from __future__ import annotations

import argparse
import json
from typing import Any

from dashboard.cli.common import Progress, add_as_of, add_data


def run(args: argparse.Namespace) -> int:
    from analytics.community import load_community
    from analytics.io import open_source
    from analytics.milestones import MilestoneSettings, estimate_milestones

    progress = Progress()
    progress("Reading and checking the data", 0.0)
    community = load_community(open_source(args.data), as_of=args.as_of, engine=args.engine)
    result = estimate_milestones(
        community, MilestoneSettings(window_days=args.window_days), progress=progress
    )
    rows = result.to_json()
    if args.json:
        print(json.dumps(rows))
        return 0
    print(
        f"Signups in the {args.window_days} days after each announcement against a counterfactual "
        f"(trend + weekday, 8 weeks before); p and interval calibrated on {result.placebo_count} "
        f"placebo dates. The model alone would raise false alarms on "
        f"{(result.false_alarm_rate or 0):.0%} of them."
    )
    head = f"{'verdict':<14}{'uplift':>8}{'95 % CI':>18}{'p':>7}{'observed':>10}{'expected':>10}"
    print(head + "  title")
    for row in rows:
        ci = f"{row['ci_low']:+.0%} to {row['ci_high']:+.0%}" if row["ci_low"] is not None else ""
        uplift = "" if row["uplift"] is None else f"{row['uplift']:+.0%}"
        p = "" if row["p_value"] is None else f"{row['p_value']:.3f}"
        observed = "" if row["observed_signups"] is None else f"{row['observed_signups']:,}"
        expected = "" if row["expected_signups"] is None else f"{row['expected_signups']:,.0f}"
        print(f"{row['verdict']:<14}{uplift:>8}{ci:>18}{p:>7}{observed:>10}{expected:>10}  "
              f"{row['title']}")  # fmt: skip
    return 0


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "milestones",
        help="estimate what each milestone announcement did to signups",
        description=(
            "For each milestone: signups in --window-days after the announcement against a "
            "counterfactual from the 8 weeks before (Poisson regression with trend and weekday), "
            "relative uplift with a 95 % interval and p-value calibrated on placebo dates, and a "
            "verdict (lift, drop, no_evidence, not_estimable)."
        ),
    )
    add_data(p)
    p.add_argument("--window-days", type=int, default=14, metavar="N", help="default 14")
    add_as_of(p)
    p.add_argument(
        "--json", action="store_true", help="print a JSON array, one object per milestone"
    )
    p.set_defaults(func=run)
