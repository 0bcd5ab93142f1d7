"""``proofboard demo``: write the seeded demo community with planted effects."""

from __future__ import annotations

import argparse
from typing import Any

from dashboard.cli.common import Progress


def run(args: argparse.Namespace) -> int:
    from analytics.embedded import write_demo

    written, truth = write_demo(
        args.out,
        members=args.members,
        seed=args.seed,
        file_format=args.format,
        activity_scale=args.activity_scale,
        progress=Progress(),
    )
    rows = ", ".join(f"{name} {count:,}" for name, count in written.items())
    print(f"Wrote the demo community to {args.out}: {rows}")
    print(f"What was planted (for checking analyses): {truth}")
    return 0


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "demo",
        help="write the seeded demo community with planted effects",
        description=(
            "Generate a realistic synthetic community (two years of signups, activity, churn, "
            "proof items, badges, milestones) with planted, known effects, and write it with a "
            "truth.json beside it that records what was planted."
        ),
    )
    p.add_argument("--members", type=int, default=10_000, help="number of members (default 10000)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--out", required=True, metavar="DIR_OR_URL", help="a folder or SQLAlchemy URL")
    p.add_argument(
        "--format",
        choices=["parquet", "csv"],
        default="parquet",
        help="file format when --out is a folder (default parquet)",
    )
    p.add_argument(
        "--activity-scale",
        type=float,
        default=1.0,
        metavar="FACTOR",
        help="multiply every member's activity rate, for denser benchmark data (default 1.0; "
        "2.158 gives about 48.6 activity rows per member)",
    )
    p.set_defaults(func=run)
