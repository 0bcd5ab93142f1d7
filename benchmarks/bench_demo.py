"""Benchmark the demo-community generator, in memory or streamed to Parquet.

Run from the repository root::

    .venv/bin/python benchmarks/bench_demo.py --members 1000000
    .venv/bin/python benchmarks/bench_demo.py --members 10000000 --stream /tmp/demo10m
    .venv/bin/python benchmarks/bench_demo.py --members 1000000 --activity-scale 2.158 \\
        --stream /tmp/demo1m

Prints the wall time of each stage and in total, the peak resident set size of the process
and the row count of every table. With ``--stream DIR`` the community is written block by
block to Parquet files in DIR (``write_demo_stream``) instead of being built in memory.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics.demo import BLOCK_MEMBERS, generate_demo, write_demo_stream


def main(argv: list[str] | None = None) -> None:
    """Generate one community and print timings, peak memory and row counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--activity-scale", type=float, default=1.0)
    parser.add_argument("--block-members", type=int, default=BLOCK_MEMBERS)
    parser.add_argument(
        "--stream", type=Path, metavar="DIR", help="write Parquet block by block into DIR"
    )
    parser.add_argument(
        "--stages", action="store_true", help="print every stage (one per block when streaming)"
    )
    args = parser.parse_args(argv)

    stages: list[tuple[str, float]] = []

    def progress(step: str, fraction: float) -> None:
        stages.append((step, time.perf_counter()))

    kwargs = {
        "members": args.members,
        "seed": args.seed,
        "days": args.days,
        "activity_scale": args.activity_scale,
        "block_members": args.block_members,
        "progress": progress,
    }
    started = time.perf_counter()
    if args.stream is not None:
        truth = write_demo_stream(args.stream, **kwargs)  # type: ignore[arg-type]
        rows: dict[str, int] = truth["summary"]["rows"]
        what = f"write_demo_stream({str(args.stream)!r}, "
    else:
        demo = generate_demo(**kwargs)  # type: ignore[arg-type]
        rows = {name: frame.height for name, frame in demo.tables.items()}
        what = "generate_demo("
    total = time.perf_counter() - started
    stages.append(("end", time.perf_counter()))

    print(
        f"{what}members={args.members:,}, seed={args.seed}, days={args.days}, "
        f"activity_scale={args.activity_scale:g}, block_members={args.block_members:,})"
    )
    if args.stages:
        print("\nstage                                                       seconds")
        for (step, at), (_, following) in itertools.pairwise(stages):
            print(f"  {step:<58}{following - at:8.2f}")
    print(f"\nwall time: {total:.1f} s")

    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(f"peak RSS: {peak_kib / 1024**2:.2f} GiB")

    print("\ntable            rows")
    for name, count in rows.items():
        print(f"  {name:<12}{count:>14,}")
    print(
        f"\nper member: {rows['activity'] / args.members:.1f} activity rows, "
        f"{rows['exposures'] / args.members:.2f} exposure rows"
    )
    if args.stream is not None:
        size = sum(p.stat().st_size for p in args.stream.iterdir())
        print(f"written: {size / 1024**3:.2f} GiB in {args.stream}")


if __name__ == "__main__":
    main()
