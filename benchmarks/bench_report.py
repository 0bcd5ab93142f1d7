"""Speed of the weekly review and ``proofboard report`` on a demo community: the analysis, the
HTML file and the PDF (static charts by kaleido, printed by headless Chromium), each timed in
this process as the CLI runs them.

    .venv/bin/python benchmarks/bench_report.py --members 100000
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from analytics.community import load_community
from analytics.embedded import write_demo
from analytics.io import open_source
from analytics.weekly import default_week, weekly_review
from dashboard.report import write_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="proofboard-report-"))
    write_demo(folder, members=args.members, seed=args.seed)

    start = time.perf_counter()
    community = load_community(open_source(folder))
    loaded = time.perf_counter() - start
    week = default_week(community)
    assert week is not None
    print(f"{args.members:,} members, {community.activity.height:,} activity rows; week {week}")
    print(f"  {'load and validate (Parquet)':<44} {loaded:6.1f} s")

    start = time.perf_counter()
    review = weekly_review(community, week)
    print(f"  {'weekly review (analysis)':<44} {time.perf_counter() - start:6.1f} s")
    for label, name in (
        ("HTML report (3 interactive charts)", "review.html"),
        ("PDF report, first (starts the chart browser)", "review.pdf"),
        ("PDF report, again in the same process", "again.pdf"),
    ):
        start = time.perf_counter()
        out = write_report(review, folder / name)
        size = out.stat().st_size / 1024**2
        print(f"  {label:<44} {time.perf_counter() - start:6.1f} s  ({size:.1f} MB)")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2:.2f} GiB")


if __name__ == "__main__":
    main()
