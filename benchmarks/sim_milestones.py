"""Simulation study for the milestone analysis: over many seeds of the demo community, how often
the calibrated 95 % interval covers the planted uplift, how often planted uplifts are detected,
and how often milestones without effect raise a false alarm — split by whether the announcement
came during a growth spurt (the trap for before/after comparisons). The default counterfactual
(a trend that may bend four weeks before the announcement) is compared with a straight trend, and
the naive before/after ratio is shown for the announcements made during a spurt.

    .venv/bin/python benchmarks/sim_milestones.py --seeds 20 --members 100000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from analytics.community import load_community
from analytics.demo import generate_demo
from analytics.io import open_source, write_folder
from analytics.milestones import MilestoneResult, MilestoneSettings, estimate_milestones

METHODS = {
    "trend bending 4 weeks before (default)": MilestoneSettings(),
    "straight trend": MilestoneSettings(knot_days=None),
}


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
    spurt_estimates: list[float] = field(default_factory=list)
    errors: list[float] = field(default_factory=list)
    by_size: dict[float, list[int]] = field(default_factory=dict)  # planted -> [detected, all]
    not_estimable: int = 0
    model_false_alarms: float = 0.0
    seconds: float = 0.0
    seeds: int = 0

    def add(self, result: MilestoneResult, truth: dict[str, dict[str, object]]) -> None:
        self.seeds += 1
        self.model_false_alarms += result.false_alarm_rate or 0.0
        for effect in result.effects:
            entry = truth[effect.milestone_id]
            planted = float(entry["true_uplift"])  # type: ignore[arg-type]
            # the effect on the window's expected signups given the fixed total (slightly
            # below true_uplift): what the estimate can recover
            expected = entry["expected_signups_in_window"]
            without = entry["expected_signups_in_window_without_uplift"]
            realised = float(expected) / float(without) - 1 if expected and without else planted  # type: ignore[arg-type]
            if effect.uplift is None or effect.ci_low is None or effect.ci_high is None:
                self.not_estimable += 1
                continue
            self.estimated += 1
            self.covered += int(effect.ci_low <= realised <= effect.ci_high)
            self.errors.append(effect.uplift - realised)
            alarm = effect.verdict in {"lift", "drop"}
            if planted > 0:
                self.planted += 1
                self.detected += int(effect.verdict == "lift")
                size = self.by_size.setdefault(planted, [0, 0])
                size[0] += int(effect.verdict == "lift")
                size[1] += 1
            elif entry["growth_spurt_before"]:
                self.spurt_nulls += 1
                self.spurt_false += int(alarm)
                self.spurt_estimates.append(effect.uplift)
            else:
                self.nulls += 1
                self.false += int(alarm)


def naive_ratio(joined: pl.Series, announced: datetime) -> float:
    """Signups per day in the 14 days after against the 8 weeks before, minus 1."""
    after = int(((joined >= announced) & (joined < announced + timedelta(days=14))).sum())
    before = int(((joined >= announced - timedelta(days=56)) & (joined < announced)).sum())
    return (after / 14) / (before / 56) - 1


def run_seed(seed: int, members: int, tallies: dict[str, Tally], naive: list[float]) -> None:
    demo = generate_demo(members=members, seed=seed)
    truth = {m["milestone_id"]: m for m in demo.truth["milestones"]}
    for m in demo.truth["milestones"]:
        if m["growth_spurt_before"]:
            announced = datetime.fromisoformat(m["announced_at"].replace("Z", "+00:00"))
            naive.append(naive_ratio(demo.tables["members"]["joined_at"], announced))
    with tempfile.TemporaryDirectory() as folder:
        write_folder(demo.tables, folder)
        community = load_community(open_source(folder))
        # the events stay in the folder (read by each query), so analyse before it goes
        for name, settings in METHODS.items():
            start = time.perf_counter()
            result = estimate_milestones(community, settings)
            tallies[name].seconds += time.perf_counter() - start
            tallies[name].add(result, truth)


def share(part: int, whole: int) -> str:
    return f"{part / whole:.1%} ({part}/{whole})" if whole else "n/a"


def mean(values: list[float]) -> str:
    return f"{np.mean(values):+.1%}" if values else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--members", type=int, default=100_000)
    args = parser.parse_args()
    tallies = {name: Tally() for name in METHODS}
    naive: list[float] = []
    start = time.perf_counter()
    for seed in range(1, args.seeds + 1):
        run_seed(seed, args.members, tallies, naive)
        print(f"  seed {seed} done ({time.perf_counter() - start:.0f} s)", flush=True)
    print(f"\n{args.seeds} seeds x {args.members:,} members, window 14 d, 8 weeks before\n")
    names = list(METHODS)
    rows: list[tuple[str, list[str]]] = [
        ("coverage of the planted uplift by the 95 % interval",
         [share(t.covered, t.estimated) for t in tallies.values()]),
        ("planted uplifts detected (lift, p <= 0.05)",
         [share(t.detected, t.planted) for t in tallies.values()]),
        *(
            (f"  of which planted +{size:.0%}",
             [share(*t.by_size.get(size, [0, 0])) for t in tallies.values()])
            for size in sorted({s for t in tallies.values() for s in t.by_size}, reverse=True)
        ),
        ("false alarms, no effect, no spurt",
         [share(t.false, t.nulls) for t in tallies.values()]),
        ("false alarms, no effect, during a growth spurt",
         [share(t.spurt_false, t.spurt_nulls) for t in tallies.values()]),
        ("mean estimate, no effect, during a growth spurt",
         [mean(t.spurt_estimates) for t in tallies.values()]),
        ("mean error of the uplift (all estimable)",
         [mean(t.errors) for t in tallies.values()]),
        ("not estimable", [str(t.not_estimable) for t in tallies.values()]),
        ("model-only false-alarm rate on placebo dates",
         [f"{t.model_false_alarms / max(t.seeds, 1):.1%}" for t in tallies.values()]),
        ("seconds per community (200 placebos)",
         [f"{t.seconds / max(t.seeds, 1):.2f}" for t in tallies.values()]),
    ]  # fmt: skip
    print(f"| measure | {' | '.join(names)} |")
    print(f"| --- | {' | '.join('---' for _ in names)} |")
    for label, values in rows:
        print(f"| {label} | {' | '.join(values)} |")
    print(
        f"\nnaive before/after (14 days after vs 8 weeks before) on announcements during a "
        f"spurt, true effect 0: mean {mean(naive)}, range {min(naive):+.1%} to {max(naive):+.1%}"
    )


if __name__ == "__main__":
    main()
