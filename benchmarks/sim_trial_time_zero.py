"""Time zero for the sequential trials: the study behind the trial view's design (2026-12-02).

Until 2026-12-02 the sequential trials compared members newly exposed on day ``d`` (at any
moment of it) with members active on ``d`` and not yet exposed. A control counts because it was
active at *some* moment of the day; a newly exposed member because it met the item at some
moment of the day (65 % of them have no other activity that day, ``sim_trial_covariates.py``).
The more often a member comes by, the likelier the item is among the day's visits, while
"active on ``d``" saturates: the exposed arm leaned towards members more engaged that day than
their history shows.

The analysis now starts each trial at the member's *first activity of the day*, the moment
every arm's eligibility is known (``analytics.impact.trial.trial_arms``):

* newly exposed: the first exposure to the item at or before the first activity of ``d``
  (the day's first visit came with the item);
* controls: active on ``d``, not exposed before ``d``, and not exposed at that first
  activity (a member who meets the item later that day is a control of ``d``);

and adjusts for the trial day's calendar period (indicators of its 14-day period since the
first trial day: an item's reach fades with its age, so its first views bunch up in some
periods). This script compares, on the same seeds, both designs (any moment of the day, and
time zero) each without and with the calendar periods, and with instead whether the day lies in
the 14 days after a milestone announcement (when the demo's members come by more often without
meeting content more often). The estimator (``trial_effect``) and the other covariates are the
analysis's own.

Null items (true effect 0) are compared in every design. With ``--planted`` the planted items
are compared too, against the demo truth's ``trial_att``, which is the time-zero design's
estimand (members whose first visit of a day came with the item), so only in the time-zero
designs.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/sim_trial_time_zero.py --seeds 200
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/sim_trial_time_zero.py --seeds 200 --planted
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import polars as pl

import analytics.impact.trial as trial_module
from analytics.impact import ImpactSettings
from analytics.impact.trial import TrialDays, trial_effect
from analytics.queries.events import DAY_US
from benchmarks.sim_impact_diagnose import demo_with_engagement
from benchmarks.sim_trial_covariates import Results, bias_and_coverage, with_extra
from benchmarks.sim_trial_diagnose import seed_options, trial_inputs

ANY = "exposed at any moment of the day (until 2026-12-02)"
TIME_ZERO = "time zero at the day's first activity"
ANY_CAL = "any moment + calendar (14-day periods)"
TIME_ZERO_CAL = "time zero + calendar (the analysis)"
ANY_MS = "any moment + in a milestone's 14 days"
TIME_ZERO_MS = "time zero + in a milestone's 14 days"
VARIANTS = (ANY, TIME_ZERO, ANY_CAL, TIME_ZERO_CAL, ANY_MS, TIME_ZERO_MS)
AT_TIME_ZERO = (TIME_ZERO, TIME_ZERO_CAL, TIME_ZERO_MS)
_time_zero_arms = trial_module.trial_arms
_time_zero_rows = trial_module.arm_rows


def any_moment_arms(
    days: TrialDays, item_ids: Sequence[str], published_at: object, settings: ImpactSettings
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """The arms of the design before 2026-12-02: newly exposed when first exposed at any moment
    of the trial day."""
    # eligibility is the same in both designs (from arm_rows itself: trial_arms calls whichever
    # arm_rows is in place, and this one replaces it)
    eligible, _ = _time_zero_rows(days, item_ids, published_at, settings).masks(len(days.member))
    own = (
        days.first_days.filter(pl.col("item_id").is_in(list(item_ids)))
        .group_by("i")
        .agg(pl.col("first_day").min())
    )
    by_member = np.full(len(days.member_ids), np.iinfo(np.int64).max, dtype=np.int64)
    by_member[own["i"].to_numpy()] = own["first_day"].to_numpy()
    return eligible, eligible & (by_member[days.member] == days.day)


def _any_moment_rows(
    days: TrialDays, item_ids: Sequence[str], published_at: object, settings: ImpactSettings
) -> trial_module.ArmRows:
    return trial_module.ArmRows.from_masks(*any_moment_arms(days, item_ids, published_at, settings))


def run_seed(seed: int, members: int, settings: ImpactSettings, results: Results,
             kept: list[float], planted: bool = False) -> None:  # fmt: skip
    demo, _ = demo_with_engagement(members, seed)
    truth = {e["item_id"]: e for e in demo.truth["proof_items"]}
    with trial_inputs(demo, replace(settings, trial_period_days=0)) as (community, days, singles):
        announced = (
            community.milestones["announced_at"].dt.epoch("us").to_numpy() // DAY_US
            if community.milestones is not None
            else np.zeros(0, dtype=np.int64)
        )
    day = days.day.astype(np.int64)[:, None]
    within = (day >= announced[None, :]) & (day < announced[None, :] + 14)
    window = np.asarray(within.any(axis=1), dtype=np.float64)
    with_calendar = replace(days, period_days=14)
    with_window = with_extra(days, window[:, None], ("milestone window",))
    inputs = {ANY: days, TIME_ZERO: days, ANY_CAL: with_calendar, TIME_ZERO_CAL: with_calendar,
              ANY_MS: with_window, TIME_ZERO_MS: with_window}  # fmt: skip
    for candidate in singles:
        entry = truth[candidate.item_id]
        ratio = entry["hazard_ratio"]
        if ratio != 1.0 and not planted:
            continue
        item_class = "null (HR 1)" if ratio == 1.0 else f"HR {ratio:g} {candidate.item_id}"
        value = float(entry["trial_att"]["value"] or 0.0)
        for name in VARIANTS:
            if ratio != 1.0 and name not in AT_TIME_ZERO:
                continue  # the truth is the time-zero design's
            if name not in AT_TIME_ZERO:  # trial_effect finds its arms with arm_rows
                trial_module.arm_rows = _any_moment_rows
            try:
                found = trial_effect(
                    inputs[name], candidate.item_ids, candidate.published_at, settings,
                    candidate.item_id,
                )  # fmt: skip
            finally:
                trial_module.arm_rows = _time_zero_rows
            if found.effect is not None and found.se is not None:
                results[item_class, name].append((seed, found.effect - value, found.se))
        _, before = any_moment_arms(days, candidate.item_ids, candidate.published_at, settings)
        _, after = _time_zero_arms(days, candidate.item_ids, candidate.published_at, settings)
        if before.sum():
            kept.append(after.sum() / before.sum())


def main() -> None:
    parser = seed_options(__doc__, seeds=20)
    parser.add_argument(
        "--planted",
        action="store_true",
        help="compare the planted items too (time-zero designs only)",
    )
    args = parser.parse_args()
    settings = ImpactSettings()
    results: Results = defaultdict(list)
    kept: list[float] = []
    started = time.perf_counter()
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        run_seed(seed, args.members, settings, results, kept, planted=args.planted)
        print(f"  seed {seed} done ({time.perf_counter() - started:.0f} s)", flush=True)
    print(
        f"\n{args.seeds} seeds x {args.members:,} members; points, ± one Monte-Carlo SE "
        "clustered by seed; null items against 0, planted items (with --planted) against the "
        "time-zero design's trial_att\n"
    )
    print(f"{'items':<18} {'design':<50} {'n':>5} {'bias':>6} {'± MC':>5} {'coverage':>8}")
    for item_class in sorted({c for c, _ in results}, key=lambda c: (c != "null (HR 1)", c)):
        for name in VARIANTS:
            rows = results.get((item_class, name), [])
            if rows:
                bias, bias_se, coverage, _ = bias_and_coverage(rows)
                print(
                    f"{item_class:<18} {name:<50} {len(rows):>5} {bias:>+6.2f} {bias_se:>5.2f} "
                    f"{coverage:>7.1f}%"
                )
    print(
        f"\nnewly exposed member-days kept by the time-zero design: {np.mean(kept):.1%} "
        f"(range {min(kept):.1%}-{max(kept):.1%})"
    )
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
