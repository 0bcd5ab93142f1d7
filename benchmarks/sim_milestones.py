"""Simulation study for the milestone analysis: over many seeds of the demo community, how often
the calibrated 95 % interval covers the planted uplift, how often planted uplifts are detected,
and how often milestones without effect raise a false alarm — split by whether a growth spurt
preceded the announcement (the trap for before/after comparisons).

    .venv/bin/python benchmarks/sim_milestones.py --seeds 20 --members 100000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass

from analytics.community import load_community
from analytics.demo import generate_demo
from analytics.io import open_source, write_folder
from analytics.milestones import estimate_milestones


@dataclass
class Tally:
    estimated: int = 0
    covered: int = 0
    planted: int = 0
    detected: int = 0
    nulls: int = 0
    false: int = 0
    spurt_nulls: int = 0
    spurt_false: int = 0
    not_estimable: int = 0
    model_false_alarms: float = 0.0
    seeds: int = 0


def run_seed(seed: int, members: int, tally: Tally) -> None:
    demo = generate_demo(members=members, seed=seed)
    truth = {m["milestone_id"]: m for m in demo.truth["milestones"]}
    with tempfile.TemporaryDirectory() as folder:
        write_folder(demo.tables, folder)
        community = load_community(open_source(folder))
    result = estimate_milestones(community)
    tally.seeds += 1
    tally.model_false_alarms += result.false_alarm_rate or 0.0
    for effect in result.effects:
        entry = truth[effect.milestone_id]
        planted = float(entry["true_uplift"])
        if effect.uplift is None:
            tally.not_estimable += 1
            continue
        tally.estimated += 1
        tally.covered += int(effect.ci_low <= planted <= effect.ci_high)  # type: ignore[operator]
        alarm = effect.verdict in {"lift", "drop"}
        if planted > 0:
            tally.planted += 1
            tally.detected += int(effect.verdict == "lift")
        elif entry["growth_spurt_before"]:
            tally.spurt_nulls += 1
            tally.spurt_false += int(alarm)
        else:
            tally.nulls += 1
            tally.false += int(alarm)


def share(part: int, whole: int) -> str:
    return f"{part / whole:.1%} ({part}/{whole})" if whole else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--members", type=int, default=100_000)
    args = parser.parse_args()
    tally = Tally()
    start = time.perf_counter()
    for seed in range(1, args.seeds + 1):
        run_seed(seed, args.members, tally)
        print(f"  seed {seed} done ({time.perf_counter() - start:.0f} s)", flush=True)
    print(f"\n{args.seeds} seeds x {args.members:,} members, window 14 d, 8 weeks before")
    rows = [
        ("coverage of the planted uplift (all estimable)", share(tally.covered, tally.estimated)),
        ("planted uplifts detected (lift, p <= 0.05)", share(tally.detected, tally.planted)),
        ("false alarms, no effect, no spurt before", share(tally.false, tally.nulls)),
        (
            "false alarms, no effect, after a growth spurt",
            share(tally.spurt_false, tally.spurt_nulls),
        ),
        ("not estimable", str(tally.not_estimable)),
    ]
    for label, value in rows:
        print(f"{label:<50} {value}")
    rate = tally.model_false_alarms / max(tally.seeds, 1)
    print(
        f"model-only false-alarm rate on placebo dates:      {rate:.1%} (calibration replaces it)"
    )


if __name__ == "__main__":
    main()
