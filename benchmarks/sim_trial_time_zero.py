"""Does aligning time zero remove the trial view's null bias? (a study)

The sequential trials compare members newly exposed on day ``d`` with members active on ``d``
and not yet exposed. A control is eligible because it was active at some moment of ``d``;
a newly exposed member because it met the item at some moment of ``d`` (65 % of them have no
other activity that day, ``sim_trial_covariates.py``). The more often a member comes by, the
likelier the item is among the day's visits, while "active on ``d``" saturates: the exposed
arm leans towards members more engaged that day than their history shows.

This script tries the same trials with time zero at each member's *first activity of the
day*, the moment every arm's eligibility is known:

* newly exposed: the first exposure to the item at or before the first activity of ``d``
  (the day's first visit came with the item);
* controls: active on ``d``, not exposed before ``d``, and not exposed at that first
  activity (a member who meets the item later that day is a control of ``d``);
* covariates, outcome and estimator: the analysis's own (``trial_effect`` unchanged).

Each design also runs with one more adjustment, added to the covariates in this script only:
the trial day's calendar period (indicators of its 14-day period since the first trial day:
an item's reach fades with its age, so its first views bunch up in some periods), or whether the
day lies in the 14 days after a milestone announcement (when the demo's members come by more
often without meeting content more often).

Its estimand differs (members whose first visit of the day came with the item), so the truth's
``trial_att`` of the planted items does not apply: only null items (true effect 0) are
compared, for the analysis's design and the time-zero design on the same seeds.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/sim_trial_time_zero.py --seeds 20
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

import analytics.impact.trial as trial_module
from analytics.community import Community
from analytics.impact import ImpactSettings
from analytics.impact.trial import TrialDays, trial_effect
from analytics.queries.events import DAY_US
from benchmarks.sim_impact_diagnose import demo_with_engagement
from benchmarks.sim_trial_covariates import Results, bias_and_coverage, with_extra
from benchmarks.sim_trial_diagnose import seed_options, trial_inputs

ANALYSIS = "the analysis (exposed at any moment of the day)"
TIME_ZERO = "time zero at the day's first activity"
ANALYSIS_CAL = "the analysis + calendar (14-day periods)"
TIME_ZERO_CAL = "time zero + calendar (14-day periods)"
ANALYSIS_MS = "the analysis + in a milestone's 14 days"
TIME_ZERO_MS = "time zero + in a milestone's 14 days"
VARIANTS = (ANALYSIS, TIME_ZERO, ANALYSIS_CAL, TIME_ZERO_CAL, ANALYSIS_MS, TIME_ZERO_MS)
_analysis_arms = trial_module.trial_arms


class TimeZero:
    """Per trial row the first activity of its day, per member and item the first exposure
    (integer microseconds), and the arms of the time-zero design."""

    def __init__(self, community: Community, days: TrialDays) -> None:
        position = pl.DataFrame({"member_id": days.member_ids}).with_row_index("i")
        us = pl.col("occurred_at").dt.epoch("us")
        firsts = (
            community.activity.join(position, on="member_id", how="inner")
            .group_by(pl.col("i").cast(pl.Int64) * (1 << 32) + us // DAY_US)
            .agg(us.min().alias("first_us"))
            .sort("i")
        )
        keys, first_us = firsts["i"].to_numpy(), firsts["first_us"].to_numpy()
        row_keys = days.member.astype(np.int64) * (1 << 32) + days.day.astype(np.int64)
        at = np.searchsorted(keys, row_keys)
        assert (keys[at] == row_keys).all()
        self.first_activity_us = first_us[at]
        exposures = community.exposures
        assert exposures is not None
        self.exposed_us = (
            exposures.join(position, on="member_id", how="inner")
            .group_by("i", "item_id")
            .agg(pl.col("occurred_at").dt.epoch("us").min().alias("us"))
        )
        self.members = len(days.member_ids)

    def arms(
        self, days: TrialDays, item_ids: Sequence[str], published_at: object,
        settings: ImpactSettings,
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:  # fmt: skip
        eligible, _ = _analysis_arms(days, item_ids, published_at, settings)
        own = (
            self.exposed_us.filter(pl.col("item_id").is_in(list(item_ids)))
            .group_by("i")
            .agg(pl.col("us").min())
        )
        by_member = np.full(self.members, np.iinfo(np.int64).max, dtype=np.int64)
        by_member[own["i"].to_numpy()] = own["us"].to_numpy()
        first_us = by_member[days.member]
        same_day = first_us // DAY_US == days.day.astype(np.int64)
        treated = eligible & same_day & (first_us <= self.first_activity_us)
        return eligible, treated


def run_seed(seed: int, members: int, settings: ImpactSettings, results: Results,
             kept: list[float]) -> None:  # fmt: skip
    demo, _ = demo_with_engagement(members, seed)
    truth = {e["item_id"]: e for e in demo.truth["proof_items"]}
    with trial_inputs(demo, settings) as (community, days, singles):
        zero = TimeZero(community, days)
        period = (days.day - days.day.min()) // 14
        calendar = (period[:, None] == np.unique(period)[None, 1:]).astype(np.float64)
        with_calendar = with_extra(days, calendar, tuple(f"p{i}" for i in range(calendar.shape[1])))
        announced = (
            community.milestones["announced_at"].dt.epoch("us").to_numpy() // DAY_US
            if community.milestones is not None
            else np.zeros(0, dtype=np.int64)
        )
        day = days.day.astype(np.int64)[:, None]
        within = (day >= announced[None, :]) & (day < announced[None, :] + 14)
        window = np.asarray(within.any(axis=1), dtype=np.float64)
        with_window = with_extra(days, window[:, None], ("milestone window",))
        inputs = {
            ANALYSIS: days,
            TIME_ZERO: days,
            ANALYSIS_CAL: with_calendar,
            TIME_ZERO_CAL: with_calendar,
            ANALYSIS_MS: with_window,
            TIME_ZERO_MS: with_window,
        }
        for candidate in singles:
            if truth[candidate.item_id]["hazard_ratio"] != 1.0:
                continue  # another estimand: only null items are comparable
            for name in VARIANTS:
                zero_design = name in (TIME_ZERO, TIME_ZERO_CAL, TIME_ZERO_MS)
                trial_module.trial_arms = zero.arms if zero_design else _analysis_arms
                try:
                    found = trial_effect(
                        inputs[name], candidate.item_ids, candidate.published_at, settings,
                        candidate.item_id,
                    )  # fmt: skip
                finally:
                    trial_module.trial_arms = _analysis_arms
                if found.effect is not None and found.se is not None:
                    results["null (HR 1)", name].append((seed, found.effect, found.se))
            _, before = _analysis_arms(days, candidate.item_ids, candidate.published_at, settings)
            _, after = zero.arms(days, candidate.item_ids, candidate.published_at, settings)
            if before.sum():
                kept.append(after.sum() / before.sum())


def main() -> None:
    args = seed_options(__doc__, seeds=20).parse_args()
    settings = ImpactSettings()
    results: Results = defaultdict(list)
    kept: list[float] = []
    started = time.perf_counter()
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        run_seed(seed, args.members, settings, results, kept)
        print(f"  seed {seed} done ({time.perf_counter() - started:.0f} s)", flush=True)
    print(
        f"\n{args.seeds} seeds x {args.members:,} members; null items (true effect 0); points, "
        "± one Monte-Carlo SE clustered by seed\n"
    )
    print(f"{'design':<50} {'n':>5} {'bias':>6} {'± MC':>5} {'coverage':>8}")
    for name in VARIANTS:
        rows = results.get(("null (HR 1)", name), [])
        if rows:
            bias, bias_se, coverage, _ = bias_and_coverage(rows)
            print(f"{name:<50} {len(rows):>5} {bias:>+6.2f} {bias_se:>5.2f} {coverage:>7.1f}%")
    print(
        f"\nnewly exposed member-days kept by the time-zero design: {np.mean(kept):.1%} "
        f"(range {min(kept):.1%}-{max(kept):.1%})"
    )
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
