"""``proofboard report``: the weekly review of an ISO week as one HTML or PDF file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dashboard.cli.common import Progress, add_as_of, add_data


def _week_argument(text: str) -> str:
    from analytics.weekly import WeekError, parse_week, week_label

    try:
        return week_label(parse_week(text))
    except WeekError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _report_path(text: str) -> Path:
    from dashboard.report import ReportError, check_output_path

    try:
        return check_output_path(text)
    except ReportError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    from analytics.community import load_community
    from analytics.io import open_source
    from analytics.weekly import WeekError, default_week, weekly_review
    from dashboard.report import write_report

    progress = Progress()
    progress("Reading and checking the data", 0.0)
    community = load_community(open_source(args.data), as_of=args.as_of, engine=args.engine)
    week = args.week or default_week(community)
    try:
        if week is None:
            raise WeekError(
                f"The data (as of {community.as_of:%Y-%m-%d %H:%M} UTC) does not cover a "
                "complete ISO week yet, so there is no week to review."
            )
        review = weekly_review(
            community,
            week,
            inactive_days=args.inactive_days,
            progress=lambda step, f: progress(f"Review: {step}", 0.05 + 0.6 * f),
            error_control=args.error_control,
        )
    except WeekError as exc:
        print(f"proofboard report: error: {exc}", file=sys.stderr)
        return 2
    out = write_report(
        review, args.out, progress=lambda step, f: progress(f"Report: {step}", 0.65 + 0.35 * f)
    )
    print(f"Wrote the weekly review of {review.week} to {out}")
    return 0


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "report",
        help="write the weekly review of an ISO week as one HTML or PDF file",
        description=(
            "Write the Weekly review page for one ISO week as a file: the week's key figures "
            "against the week before and the average of the four weeks before, the notable "
            "social-proof findings, the milestones announced that week with their effect, a "
            "written summary and the method notes. FILE.html is self-contained (plotly.js "
            "embedded, opens offline, interactive charts); FILE.pdf is A4 with static charts "
            "(needs Chromium). Exit code 2 for a malformed week, a week outside the data or "
            "an unknown file type."
        ),
    )
    add_data(p)
    p.add_argument(
        "--week",
        type=_week_argument,
        metavar="YYYY-Www",
        help="the ISO week, e.g. 2026-W46 (default: the last complete week before the as-of time)",
    )
    p.add_argument(
        "--out", required=True, type=_report_path, metavar="FILE", help="FILE.html or FILE.pdf"
    )
    p.add_argument(
        "--inactive-days", type=int, default=30, metavar="N", help="quiet days before churn (30)"
    )
    p.add_argument(
        "--error-control",
        choices=["per_item", "fdr"],
        default="per_item",
        help="which error a social-proof helps/hurts verdict controls: per_item (default, Holm) "
        "or fdr (Benjamini–Hochberg)",
    )
    add_as_of(p)
    p.set_defaults(func=run)
