"""``proofboard risk``: rank current members by their risk of churning soon."""

from __future__ import annotations

import argparse
import json
from typing import Any

from dashboard.cli.common import AUDIT_HELP, Progress, add_as_of, add_data, audit_member_output


def format_risk(payload: dict[str, object], *, limit: int) -> str:
    """The risk ranking as a readable table, with the model's check against the baseline."""
    members = payload["members"]
    assert isinstance(members, list)
    lines = [
        f"Churn risk within {payload['horizon_days']} days, as of {payload['as_of']}.",
    ]
    if payload["auc"] is None:
        lines.append(f"No model: {payload['reason']}")
        return "\n".join(lines)
    verdict = (
        "beats the recency-only baseline"
        if payload["beats_baseline"]
        else "does NOT beat the recency-only baseline; members are ranked by days since last "
        "activity"
    )
    lines.append(
        f"Held-out ROC AUC {payload['auc']:.3f} vs baseline {payload['baseline_auc']:.3f}; "
        f"PR AUC {payload['pr_auc']:.3f} vs {payload['baseline_pr_auc']:.3f}: the model {verdict}."
    )
    lines.append(f"{'rank':>5}  {'risk':>6}  {'member_id':<20}factors")
    for rank, row in enumerate(members[:limit], start=1):
        factors = "-" if row["factors"] is None else "; ".join(row["factors"]) or "-"
        lines.append(f"{rank:>5}  {row['risk']:>6.1%}  {row['member_id']!s:<20}{factors}")
    if len(members) > limit:
        lines.append(f"... and {len(members) - limit:,} more (--top N, or --json for all)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from analytics.community import load_community
    from analytics.io import open_source
    from analytics.risk import RiskSettings, churn_risk

    progress = Progress()
    progress("Reading and checking the data", 0.0)
    community = load_community(open_source(args.data), as_of=args.as_of, engine=args.engine)
    settings = RiskSettings(horizon_days=args.horizon_days, inactive_days=args.inactive_days)
    result = churn_risk(community, settings, progress=progress)
    payload = result.to_json()
    members = payload["members"]
    assert isinstance(members, list)
    if args.json:
        shown = len(members)
    else:  # the table lists members only when there is a model
        shown = 0 if payload["auc"] is None else min(len(members), args.top)
    if shown:  # member ids are about to be printed: recorded first
        output = "--json" if args.json else f"--top {args.top}"
        audit_member_output(
            args.data, f"proofboard risk {output}: {shown:,} member(s) ranked by churn risk"
        )
    if args.json:
        print(json.dumps(payload))
    else:
        print(format_risk(payload, limit=args.top))
    return 0


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "risk",
        help="rank current members by their risk of churning soon, with the reasons",
        description=(
            "Train a gradient-boosted model on what was known at earlier cutoffs, check it on a "
            "later held-out cutoff against a recency-only baseline (days since last activity), "
            "and rank the members still present at the as-of time by their risk of churning "
            "within --horizon-days, with their top risk factors in words. With --json: "
            '{"auc", "baseline_auc", "members": [{"member_id", "risk", "factors"}, ...]} '
            "ranked by risk (and a few more keys). When the model does not beat the baseline, "
            "the risk is the baseline's. " + AUDIT_HELP
        ),
    )
    add_data(p)
    p.add_argument("--horizon-days", type=int, default=30, metavar="N", help="default 30")
    p.add_argument(
        "--inactive-days", type=int, default=30, metavar="N", help="quiet days before churn (30)"
    )
    add_as_of(p)
    p.add_argument("--top", type=int, default=25, metavar="N", help="rows in the table (25)")
    p.add_argument("--json", action="store_true", help="print one JSON object with every member")
    p.set_defaults(func=run)
