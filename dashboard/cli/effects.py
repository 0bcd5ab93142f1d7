"""``proofboard effects``: which proof items go with members staying."""

from __future__ import annotations

import argparse
import json
from typing import Any

from analytics.stats import p_text
from analytics.vocabulary import words
from dashboard.cli.common import Progress, add_as_of, add_data, add_segment, segments


def format_effects(rows: list[dict[str, object]], *, landmark: int, horizon: int) -> str:
    """The effects as a readable ranked table (``adj. p``: the q-value or Holm-adjusted p-value
    the verdict used, as the rows' ``error_control`` says)."""

    def points(value: object) -> str:
        return "" if value is None else f"{float(value) * 100:+.1f}"  # type: ignore[arg-type]

    quiet = [k for k in (rows[0] if rows else {}) if k.startswith("effect_inactive_")]
    quiet_heads = "".join(
        f"{k.removeprefix('effect_inactive_').removesuffix('d') + ' days':>9}" for k in quiet
    )

    lines = [
        f"Retention effect of early exposure (first {landmark} days) on still being a member "
        f"{horizon} days later, in percentage points; naive = ever exposed vs never; trial = "
        "exposed at the first activity of a day vs active members not exposed by then "
        "(sequential trials, per-member 95 % CI).",
        f"{'verdict':<24}{'effect':>8}{'95 % CI':>17}{'adj. p':>8}{'naive':>8}{'trial':>8}"
        f"{'trial 95 % CI':>17}{quiet_heads}{'exposed':>9}  item",
    ]
    if quiet:
        lines.insert(1, "N days = the effect with churn after N quiet days instead.")
    controls = {str(r.get("error_control")) for r in rows if r.get("error_control")}
    if controls == {"fdr"}:
        lines.insert(1, "adj. p = Benjamini–Hochberg q: fewer than 1 in 20 items flagged this way "
                        "is a false alarm.")  # fmt: skip
    elif controls == {"per_item"}:
        lines.insert(1, "adj. p = Holm-adjusted p: this item alone: a 1-in-20 chance of a false "
                        "alarm.")  # fmt: skip
    for row in rows:
        ci = (
            f"{points(row['ci_low'])} to {points(row['ci_high'])}"
            if row["ci_low"] is not None
            else ""
        )
        used = row.get("adjusted_p", row["q_value"])
        q = "" if used is None else p_text(float(used))  # type: ignore[arg-type]
        trial_ci = (
            f"{points(row.get('trial_ci_low'))} to {points(row.get('trial_ci_high'))}"
            if row.get("trial_ci_low") is not None
            else ""
        )
        lines.append(
            f"{words(str(row['verdict'])):<24}{points(row['effect']):>8}{ci:>17}{q:>8}"
            f"{points(row['naive_effect']):>8}{points(row.get('trial_effect')):>8}{trial_ci:>17}"
            f"{''.join(f'{points(row[k]):>9}' for k in quiet)}"
            f"{row['n_exposed']!s:>9}  {row['title']}"
        )
        if row["verdict"] == "not_identifiable":
            lines.append(f"{'':<24}why: {row['reason']}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from analytics.community import load_community
    from analytics.impact import ImpactSettings, estimate_effects
    from analytics.io import open_source

    settings = ImpactSettings(
        landmark_days=args.landmark_days,
        horizon_days=args.horizon_days,
        recency_days=args.recency_days,
        inactive_days=args.inactive_days,
        bootstrap=args.bootstrap,
        error_control=args.error_control,
    )
    progress = Progress()
    progress("Reading and checking the data", 0.0)
    community = load_community(open_source(args.data), as_of=args.as_of, engine=args.engine)
    if args.segment:
        community = community.filter_members(segments(args.segment, community))
    # the re-estimates under other churn definitions only when they are printed
    result = estimate_effects(community, settings, progress=progress, sensitivity=args.sensitivity)
    rows = result.to_json(sensitivity=args.sensitivity)
    if args.json:
        print(json.dumps(rows))
    else:
        print(f"Who is compared: {result.estimand}.")
        print(format_effects(rows, landmark=settings.landmark_days, horizon=settings.horizon_days))
    return 0


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "effects",
        help="estimate which proof items go with members staying",
        description=(
            "For each proof item: among members active in the week before day 30 (by default: "
            "some activity in the --recency-days before --landmark-days after joining, and no "
            "departure before it; decided only from what was known then) who could have seen "
            "it by then, the difference in the probability of still being a "
            "member --horizon-days later between those exposed in their first --landmark-days "
            "and comparable members who were not (adjusted for early activity, join time and "
            "member attributes; doubly robust). Items whose exposure is decided by activity or "
            "tenure are reported as 'cannot be estimated' (not_identifiable in --json). The "
            "naive ever-vs-never difference is printed beside it, and a second estimate "
            "(sequential trials: trial_effect in --json): on each day, members whose first "
            "visit of the day came with the item against members active that day and not "
            "exposed by their first activity, weighted on their history up to the day and on "
            "the calendar (two-week periods), with a 95 % interval per member. A member "
            "active shortly before the landmark may have left unseen before it: an item that "
            "kept members from leaving in those days counts that as part of its effect."
        ),
    )
    add_data(p)
    p.add_argument("--landmark-days", type=int, default=30, metavar="N", help="default 30")
    p.add_argument("--horizon-days", type=int, default=90, metavar="N", help="default 90")
    p.add_argument(
        "--recency-days",
        type=int,
        default=7,
        metavar="N",
        help="who is compared: members with activity in the N days before the landmark "
        "(default 7: members active in the week before day 30)",
    )
    p.add_argument(
        "--inactive-days", type=int, default=30, metavar="N", help="quiet days before churn (30)"
    )
    p.add_argument(
        "--error-control",
        choices=["per_item", "fdr"],
        default="per_item",
        help="which error a helps/hurts verdict controls: per_item (default, Holm: this item "
        "alone has a 1-in-20 chance of a false alarm) or fdr (Benjamini–Hochberg: fewer than "
        "1 in 20 items flagged this way is a false alarm; for screening many items)",
    )
    p.add_argument(
        "--bootstrap",
        type=int,
        default=0,
        metavar="B",
        help="refitting bootstrap with B resamples for the intervals (default 0: influence-"
        "function intervals, much faster)",
    )
    add_as_of(p)
    add_segment(p)
    p.add_argument(
        "--sensitivity",
        action="store_true",
        help="also estimate each effect with churn after 14 and 60 quiet days (keys "
        "effect_inactive_14d and effect_inactive_60d; about doubles the run time)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON array, one object per item")
    p.set_defaults(func=run)
