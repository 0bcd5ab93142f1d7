"""Benchmark the demo-community generator.

Run from the repository root::

    .venv/bin/python benchmarks/bench_demo.py --members 1000000

Prints the wall time of each stage and in total, the peak resident set size of the process
and the row count of every table.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics.demo import generate_demo


def main(argv: list[str] | None = None) -> None:
    """Generate one community and print timings, peak memory and row counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=730)
    args = parser.parse_args(argv)

    stages: list[tuple[str, float]] = []

    def progress(step: str, fraction: float) -> None:
        stages.append((step, time.perf_counter()))

    started = time.perf_counter()
    demo = generate_demo(members=args.members, seed=args.seed, days=args.days, progress=progress)
    total = time.perf_counter() - started

    print(f"generate_demo(members={args.members:,}, seed={args.seed}, days={args.days})")
    print("\nstage                                     seconds")
    for (step, at), (_, following) in itertools.pairwise(stages):
        print(f"  {step:<40}{following - at:8.2f}")
    print(f"  {'total':<40}{total:8.2f}")

    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(f"\npeak RSS: {peak_kib / 1024**2:.2f} GiB")

    print("\ntable            rows")
    for name, frame in demo.tables.items():
        print(f"  {name:<12}{frame.height:>14,}")
    per_member = {
        name: demo.tables[name].height / args.members for name in ("activity", "exposures")
    }
    print(
        f"\nper member: {per_member['activity']:.1f} activity rows, "
        f"{per_member['exposures']:.2f} exposure rows"
    )


if __name__ == "__main__":
    main()
