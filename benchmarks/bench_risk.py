"""Churn risk on the demo community: how well the model and the recency-only baseline rank
members at the held-out later cutoff, and how long the whole analysis takes.

    .venv/bin/python benchmarks/bench_risk.py                      # 10,000 members, seed 7
    .venv/bin/python benchmarks/bench_risk.py --members 100000 --seed 3

The held-out cutoff is as-of - horizon - quiet days; the model is trained on cutoffs whose labels
were known by then (see analytics/risk/). The figures are recorded in docs/risk.md.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from analytics.community import load_community
from analytics.embedded import write_demo
from analytics.engagement import active_members, concentration, leaderboard
from analytics.io import open_source
from analytics.risk import RiskSettings, churn_risk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--horizon-days", type=int, default=30)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="proofboard-risk-"))
    write_demo(folder, members=args.members, seed=args.seed)
    community = load_community(open_source(folder))
    print(
        f"demo community: {args.members:,} members (seed {args.seed}), "
        f"{community.activity.height:,} activity rows, as of {community.as_of:%Y-%m-%d}"
    )
    start = time.perf_counter()
    result = churn_risk(community, RiskSettings(horizon_days=args.horizon_days))
    elapsed = time.perf_counter() - start
    ev = result.evaluation
    if ev is None:
        print(f"no model: {result.reason}")
        return
    low, high = ev.auc_difference_ci
    print(f"training cutoffs: {', '.join(f'{c:%Y-%m-%d}' for c in ev.training_cutoffs)} "
          f"({ev.n_train:,} member-cutoffs, {ev.churn_rate_train:.1%} churned)")  # fmt: skip
    print(f"held-out cutoff:  {ev.eval_cutoff:%Y-%m-%d} ({ev.n_eval:,} members, "
          f"{ev.churn_rate_eval:.1%} churned within {args.horizon_days} days)")  # fmt: skip
    print(f"{'':<22}{'model':>8}{'baseline':>10}")
    print(f"{'ROC AUC':<22}{ev.auc:>8.3f}{ev.baseline_auc:>10.3f}")
    print(f"{'PR AUC':<22}{ev.pr_auc:>8.3f}{ev.baseline_pr_auc:>10.3f}")
    print(f"{'Brier score':<22}{ev.brier:>8.3f}{ev.baseline_brier:>10.3f}")
    print(f"AUC difference {ev.auc - ev.baseline_auc:+.3f} (95 % bootstrap interval "
          f"{low:+.3f} to {high:+.3f}); beats the baseline: {ev.beats_baseline}")  # fmt: skip
    print("permutation importance (drop in ROC AUC, 2.5-97.5 % of repeats):")
    for row in result.importance.iter_rows(named=True):
        print(f"  {row['group']:<12}{row['importance']:>8.3f}  "
              f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}]")  # fmt: skip
    print(f"current members scored: {result.at_risk.height:,}; ranked by {result.ranked_by}")
    print(f"churn risk, whole analysis: {elapsed:.1f} s")
    last = community.as_of.date()
    first = last.replace(day=1)
    for label, run in (
        ("active members (DAU/WAU/MAU), one year", lambda: active_members(
            community, first=last.replace(year=last.year - 1), last=last)),
        ("concentration, this month", lambda: concentration(community, first=first, last=last)),
        ("leaderboard, this month", lambda: leaderboard(community, first=first, last=last)),
    ):  # fmt: skip
        start = time.perf_counter()
        run()
        print(f"{label:<40} {time.perf_counter() - start:6.2f} s")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2:.2f} GiB")


if __name__ == "__main__":
    main()
