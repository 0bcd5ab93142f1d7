"""Would deciding trial eligibility on the day before remove the trial view's null bias? (a study)

The sequential trials compare members newly exposed on day ``d`` with members active on ``d``
and not yet exposed. With views during visits, 65 % of the newly exposed member-days have no
activity that day but the item's own view (``sim_trial_covariates.py``): being active on ``d``
is partly caused by the exposure, and the null items show a bias of about +0.27 points.

This script asks whether a design whose eligibility is known at the start of the trial day
removes it. Each trial row (a member active on day ``d``) becomes a trial on day ``d + 1``:

* eligible: active on ``d`` (the day before), not exposed to the item before ``d + 1``, alive
  at the start of ``d + 1``, the item published by then, the outcome decidable;
* newly exposed: first exposure on ``d + 1`` (the grace period, one day, from its start);
* covariates: the analysis's own history, as of the start of ``d + 1`` (activity before it, in
  the 27 days before it, active days before it, days since the previous active day, tenure,
  other proof seen before it; join time and attributes); optionally also the activity count of
  the day before, which is now known at the start of the trial day;
* outcome: retained ``horizon_days`` after the start of ``d + 1``.

The estimand differs from the analysis's (members active the day before, not that day), so the
truth's ``trial_att`` of the planted items does not apply: only null items (hazard ratio 1, true
effect 0) are compared, for the analysis's design and the day-before design on the same seeds.
The estimator (``analytics.impact.trial.trial_effect``) is used unchanged.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/sim_trial_day_before.py --seeds 20
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import replace
from datetime import timedelta

import numpy as np
import polars as pl

from analytics.community import Community
from analytics.impact import ImpactSettings
from analytics.impact.trial import TrialDays, trial_effect
from analytics.queries.events import DAY_US, to_us
from benchmarks.sim_impact_diagnose import demo_with_engagement
from benchmarks.sim_trial_covariates import (
    Results,
    bias_and_coverage,
    member_days,
    with_extra,
)
from benchmarks.sim_trial_diagnose import seed_options, trial_inputs

ANALYSIS = "the analysis (active on the day)"
DAY_BEFORE = "active the day before"
DAY_BEFORE_COUNT = "active the day before + its activity count"
VARIANTS = (ANALYSIS, DAY_BEFORE, DAY_BEFORE_COUNT)


def day_before(
    community: Community, days: TrialDays, settings: ImpactSettings
) -> tuple[TrialDays, np.ndarray]:
    """The trial rows moved to the day after each active day (see the module's text), and the
    activity count of that active day per moved row."""
    found = member_days(community, days)
    member = days.member.astype(np.int64)
    day = days.day.astype(np.int64) + 1
    key = member * (1 << 32) + day
    before, active_before = found.between(key, -(1 << 31), 0)
    count_27, _ = found.between(key, -27, 0)
    previous_count, _ = found.between(key, -1, 0)
    assert (previous_count >= 1).all()  # active on the day before, by construction
    history = days.history_matrix()
    history[:, 0] = before
    history[:, 1] = count_27
    history[:, 2] = active_before
    history[:, 3] = 1
    history[:, 4] += 1
    # other proof first seen before the new day
    seen = np.sort(
        (days.first_days["i"].cast(pl.Int64) * (1 << 32) + days.first_days["first_day"]).to_numpy()
    )
    begins = np.searchsorted(seen, np.arange(len(days.member_ids), dtype=np.int64) << 32)
    history[:, 5] = np.searchsorted(seen, key, side="left") - begins[member]
    members = (
        pl.DataFrame({"member_id": days.member_ids})
        .join(
            community.churn_status(settings.inactive_days).select("member_id", "churned_at"),
            on="member_id",
            how="left",
        )
        .join(community.members.select("member_id", "left_at"), on="member_id", how="left")
    )
    never = np.iinfo(np.int64).max
    churned_us = members["churned_at"].dt.epoch("us").fill_null(never).to_numpy()
    left_us = members["left_at"].dt.epoch("us").fill_null(never).to_numpy()
    decidable_by = (
        community.as_of
        - timedelta(days=settings.inactive_days)
        - timedelta(days=settings.horizon_days)
    )
    last_day = to_us(decidable_by) // DAY_US - 1
    keep = (day <= last_day) & (left_us[member] >= day * DAY_US)
    retained = (churned_us[member] >= (day + settings.horizon_days) * DAY_US).astype(np.int8)
    moved = replace(
        days,
        member=days.member[keep],
        day=day[keep].astype(np.int32),
        history=history[keep],
        retained=retained[keep],
    )
    return moved, np.log1p(previous_count[keep].astype(np.float64))


def run_seed(seed: int, members: int, settings: ImpactSettings, results: Results) -> None:
    demo, _ = demo_with_engagement(members, seed)
    truth = {e["item_id"]: e for e in demo.truth["proof_items"]}
    with trial_inputs(demo, settings) as (community, days, singles):
        moved, previous = day_before(community, days, settings)
    variants = {
        ANALYSIS: days,
        DAY_BEFORE: moved,
        DAY_BEFORE_COUNT: with_extra(moved, previous[:, None], ("log activity the day before",)),
    }
    for candidate in singles:
        if truth[candidate.item_id]["hazard_ratio"] != 1.0:
            continue  # the day-before design has another estimand: only nulls are comparable
        for name, found in variants.items():
            trial = trial_effect(
                found, candidate.item_ids, candidate.published_at, settings, candidate.item_id
            )
            if trial.effect is not None and trial.se is not None:
                results["null (HR 1)", name].append((seed, trial.effect, trial.se))


def main() -> None:
    args = seed_options(__doc__, seeds=20).parse_args()
    settings = ImpactSettings()
    results: Results = defaultdict(list)
    started = time.perf_counter()
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        run_seed(seed, args.members, settings, results)
        print(f"  seed {seed} done ({time.perf_counter() - started:.0f} s)", flush=True)
    print(
        f"\n{args.seeds} seeds x {args.members:,} members; null items (true effect 0); points, "
        "± one Monte-Carlo SE clustered by seed\n"
    )
    print(f"{'design':<45} {'n':>5} {'bias':>6} {'± MC':>5} {'coverage':>8} {'misses 0':>8}")
    for name in VARIANTS:
        rows = results.get(("null (HR 1)", name), [])
        if not rows:
            continue
        bias, bias_se, coverage, _ = bias_and_coverage(rows)
        print(
            f"{name:<45} {len(rows):>5} {bias:>+6.2f} {bias_se:>5.2f} "
            f"{coverage:>7.1f}% {100 - coverage:>7.1f}%"
        )
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
