"""Survival at scale: time Kaplan–Meier and the log-rank test on a million random members.

    .venv/bin/python benchmarks/bench_survival.py
    .venv/bin/python benchmarks/bench_survival.py --members 1000000 --groups 5 --lifelines

Durations are exponential floats (almost every one distinct), about two thirds churned, over
``--groups`` groups with slightly different churn rates. Prints the best and median wall time of
``--repeat`` runs per step. With ``--lifelines`` it also times lifelines (a development
dependency, used here only) on the same data and checks that the answers agree.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from analytics.survival import compare_groups, kaplan_meier, logrank_test


def timed(label: str, fn: Callable[[], Any], repeat: int) -> Any:
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    print(f"  {label:<46} best {min(times):7.3f} s   median {statistics.median(times):7.3f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--lifelines", action="store_true", help="also time lifelines")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    groups = rng.integers(0, args.groups, args.members)
    churn = rng.exponential(120.0 + 10.0 * groups)
    followed = rng.exponential(280.0, args.members)
    durations = np.minimum(churn, followed)
    events = (churn <= followed).astype(np.int8)
    distinct = np.unique(durations).size
    print(
        f"{args.members:,} members, {distinct:,} distinct durations, {events.mean():.0%} churned, "
        f"{args.groups} groups"
    )

    curve = timed("kaplan_meier (one curve, everyone)", lambda: kaplan_meier(durations, events),
                  args.repeat)  # fmt: skip
    test = timed(f"logrank_test ({args.groups} groups)",
                 lambda: logrank_test(durations, events, groups), args.repeat)  # fmt: skip
    frame = pl.DataFrame({"days": durations, "churned": events, "group": groups})
    timed(f"compare_groups ({args.groups} curves + log-rank)",
          lambda: compare_groups(frame, duration="days", event="churned", group="group"),
          args.repeat)  # fmt: skip
    print(f"  median {curve.median:.2f} days (95 % CI {curve.median_ci[0]:.2f}–"
          f"{curve.median_ci[1]:.2f}); log-rank chi2 {test.statistic:.2f}, "
          f"df {test.degrees_of_freedom}, p {test.p_value:.3g}")  # fmt: skip

    if args.lifelines:
        import warnings

        from lifelines import KaplanMeierFitter
        from lifelines.statistics import multivariate_logrank_test

        warnings.filterwarnings("ignore")
        kmf = timed("lifelines KaplanMeierFitter.fit",
                    lambda: KaplanMeierFitter().fit(durations, events), 1)  # fmt: skip
        ref = timed("lifelines multivariate_logrank_test",
                    lambda: multivariate_logrank_test(durations, groups, events), 1)  # fmt: skip
        band = kmf.confidence_interval_.to_numpy()
        worst = max(
            float(np.abs(curve.survival - kmf.survival_function_.to_numpy()[:, 0]).max()),
            float(np.abs(curve.ci_low - band[:, 0]).max()),
            float(np.abs(curve.ci_high - band[:, 1]).max()),
        )
        print(f"  largest difference from lifelines: curve {worst:.1e}, "
              f"log-rank statistic {abs(test.statistic - ref.test_statistic):.1e}, "
              f"median {abs(curve.median - kmf.median_survival_time_):.1e}")  # fmt: skip


if __name__ == "__main__":
    main()
