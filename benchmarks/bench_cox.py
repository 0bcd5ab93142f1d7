"""Cox model at scale: time counting_process and fit_cox_time_varying on simulated members.

    .venv/bin/python benchmarks/bench_cox.py
    .venv/bin/python benchmarks/bench_cox.py --members 100000 --repeat 3 --lifelines 5000

Members join at day 0 and churn with a constant baseline hazard (mean about 300 days), changed
by three fixed covariates (age, a 0/1 paid-channel flag, a count of invitations) and by five
proof items. Four items are met at a random time (exponential, about half of the members get
each before they leave); one is a tenure badge every member still present receives on day 365,
which the fit must report as not estimable. Follow-up ends at a random as-of day up to two years,
and tenures are kept to ten minutes, so churn times tie now and then. Prints the best and median
wall time of ``--repeat`` runs per step and the fitted terms. With ``--lifelines N`` it also fits
lifelines' CoxTimeVaryingFitter (a development dependency, used here only) on the first N
members and prints the largest differences.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from analytics.cox import counting_process, fit_cox_time_varying

ITEMS = ("testimonial", "review_badge", "member_count", "case_study", "tenure_badge")
FIXED = ("age", "paid", "invites")
LOG_HR = {"testimonial": np.log(0.7), "review_badge": 0.0, "member_count": np.log(0.9),
          "case_study": np.log(1.2), "tenure_badge": 0.0}  # fmt: skip
FIXED_LOG_HR = np.array([0.01, 0.3, -0.1])
PLANTED = LOG_HR | dict(zip(FIXED, FIXED_LOG_HR.tolist(), strict=True))


def simulate(n: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Members and exposures with piecewise-constant hazards (exact piecewise exponential)."""
    rng = np.random.default_rng(seed)
    fixed = np.column_stack(
        [rng.normal(35.0, 10.0, n), rng.integers(0, 2, n), rng.poisson(1.0, n)]
    ).astype(np.float64)
    base = np.exp((fixed - fixed.mean(axis=0)) @ FIXED_LOG_HR) / 300.0
    switch = np.column_stack(
        [rng.exponential(200.0, n) + 1.0 for _ in ITEMS[:-1]] + [np.full(n, 366.0)]
    )  # day each item starts to count (exposure day + 1-day lag)
    effect = np.array([LOG_HR[item] for item in ITEMS])
    # walk through each member's switch days, spending an Exp(1) budget of cumulative hazard
    order = np.sort(switch, axis=1)
    rank = np.argsort(switch, axis=1)
    budget = rng.exponential(1.0, n)
    churn = np.full(n, np.inf)
    rate = base.copy()
    prev = np.zeros(n)
    for step in range(len(ITEMS) + 1):
        edge = order[:, step] if step < len(ITEMS) else np.full(n, np.inf)
        open_ = ~np.isfinite(churn)
        spend = rate * (edge - prev)
        ends = open_ & (budget <= spend)
        churn[ends] = prev[ends] + budget[ends] / rate[ends]
        budget = np.where(open_ & ~ends, budget - spend, budget)
        if step < len(ITEMS):
            rate = rate * np.exp(effect[rank[:, step]])
            prev = edge
    as_of = rng.uniform(30.0, 730.0, n)
    tenure = np.round(np.minimum(churn, as_of) * 144.0) / 144.0 + 1.0 / 144.0
    churned = (churn <= as_of).astype(np.int8)
    members = pl.DataFrame(
        {"member_id": np.arange(n), "tenure_days": tenure, "churned": churned}
        | {name: fixed[:, j] for j, name in enumerate(FIXED)}
    )
    seen = switch - 1.0 < tenure[:, None]  # exposures after leaving are never recorded
    rows, cols = np.nonzero(seen)
    exposures = pl.DataFrame(
        {
            "member_id": rows,
            "item_id": np.asarray(ITEMS)[cols],
            "day": switch[rows, cols] - 1.0,
        }
    )
    return members, exposures


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
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--lifelines", type=int, default=0, metavar="N",
                        help="also fit lifelines on the first N members")  # fmt: skip
    args = parser.parse_args()

    members, exposures = simulate(args.members, args.seed)
    covariates = [*ITEMS, *FIXED]
    data = timed("counting_process",
                 lambda: counting_process(members, exposures, items=ITEMS, fixed=FIXED),
                 args.repeat)  # fmt: skip
    events = data.filter(pl.col("event") == 1)["stop"]
    print(f"  {args.members:,} members, {data.height:,} intervals, {events.len():,} churns at "
          f"{events.n_unique():,} distinct times")  # fmt: skip
    result = timed("fit_cox_time_varying (efron)",
                   lambda: fit_cox_time_varying(data, covariates=covariates),
                   args.repeat)  # fmt: skip
    timed("fit_cox_time_varying (breslow)",
          lambda: fit_cox_time_varying(data, covariates=covariates, ties="breslow"),
          args.repeat)  # fmt: skip
    print(f"  converged {result.converged} in {result.iterations} iterations, "
          f"log-likelihood {result.log_likelihood:.4f}")  # fmt: skip
    for term in result.terms:
        if term.estimable:
            planted = f"   (planted {np.exp(PLANTED[term.name]):.3f})"
            print(f"  {term.name:<14} HR {term.hazard_ratio:.3f} "
                  f"[{term.ci_low:.3f}, {term.ci_high:.3f}]{planted}")  # fmt: skip
        else:
            print(f"  {term.name:<14} not estimable: {term.reason}")

    if args.lifelines:
        import warnings

        from lifelines import CoxTimeVaryingFitter

        warnings.filterwarnings("ignore")
        small = data.filter(pl.col("member_id") < args.lifelines)
        usable = [t.name for t in result.terms if t.estimable]
        ours = fit_cox_time_varying(small, covariates=usable)
        frame = small.select("member_id", "start", "stop", "event", *usable).to_pandas()
        ctv = timed(f"lifelines CoxTimeVaryingFitter ({args.lifelines:,} members)",
                    lambda: CoxTimeVaryingFitter().fit(frame, id_col="member_id",
                                                       event_col="event", start_col="start",
                                                       stop_col="stop"), 1)  # fmt: skip
        coef = np.array([t.coef for t in ours.terms], dtype=np.float64)
        se = np.array([t.se for t in ours.terms], dtype=np.float64)
        print(f"  largest difference from lifelines: coef "
              f"{np.abs(coef - ctv.params_.to_numpy()).max():.1e}, se "
              f"{np.abs(se - ctv.standard_errors_.to_numpy()).max():.1e}, log-likelihood "
              f"{abs(ours.log_likelihood - ctv.log_likelihood_):.1e}")  # fmt: skip


if __name__ == "__main__":
    main()
