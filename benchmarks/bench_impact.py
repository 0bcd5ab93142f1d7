"""Speed of the social-proof impact analysis: the full item table (with sensitivity re-runs and
the sequential-trial view), the same without each, the any-time Cox view and one drill-down, on
a demo community (``--skip-cox`` leaves out the Cox view).

    .venv/bin/python benchmarks/bench_impact.py --members 100000
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from analytics.community import load_community
from analytics.embedded import write_demo
from analytics.impact import ImpactSettings, estimate_effects, item_detail, time_varying_effects
from analytics.io import open_source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--skip-cox", action="store_true", help="leave out the any-time Cox view")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="proofboard-impact-"))
    write_demo(folder, members=args.members, seed=args.seed)
    community = load_community(open_source(folder))
    print(f"{args.members:,} members, {community.activity.height:,} activity rows, "
          f"{community.exposures.height:,} exposures")  # type: ignore[union-attr]  # fmt: skip
    for label, run in (
        ("item table with sensitivity (14, 60 d)", lambda: estimate_effects(community)),
        ("item table without sensitivity", lambda: estimate_effects(community, sensitivity=False)),
        (
            "item table without sensitivity and trials",
            lambda: estimate_effects(community, ImpactSettings(trials=False), sensitivity=False),
        ),
        *(
            []
            if args.skip_cox
            else [("any-time Cox view", lambda: time_varying_effects(community))]
        ),
        ("drill-down of one item", lambda: item_detail(community, "p001")),
    ):
        start = time.perf_counter()
        run()
        print(f"  {label:<42} {time.perf_counter() - start:6.1f} s")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2:.2f} GiB")


if __name__ == "__main__":
    main()
