"""Diagnosis of the sequential trials' bias on the demo simulator (not an analysis method).

Runs the trial view of every content item as the analysis does, and again with the simulator's
latent log engagement added as one more covariate (what no real analysis can know; captured by
``sim_impact_diagnose.latent_values`` while the generator runs, the tables and truth unchanged),
and compares both with the truth's ``trial_att``: bias (points) and coverage per item class, and
the paired shift the latent engagement brings (same seeds, same draws).

    .venv/bin/python benchmarks/sim_trial_diagnose.py --seeds 100 --members 10000
"""

from __future__ import annotations

import argparse
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from analytics.community import Community, load_community
from analytics.impact import ImpactSettings
from analytics.impact.analysis import _candidates
from analytics.impact.item import _first_exposures
from analytics.impact.trial import TrialDays, trial_days, trial_effect
from analytics.io import open_source, write_folder
from benchmarks.sim_impact_diagnose import demo_with_engagement


@contextmanager
def trial_inputs(demo: Any, settings: ImpactSettings) -> Iterator[tuple[Community, TrialDays, Any]]:
    """The demo community loaded as the analysis loads it (from a temporary folder, which lasts
    while the context is open), its trial days and its single-item candidates."""
    with tempfile.TemporaryDirectory() as folder:
        write_folder(demo.tables, Path(folder))
        community = load_community(open_source(folder))
        days = trial_days(community, settings, _first_exposures(community))
        assert days is not None
        singles, _ = _candidates(community)
        yield community, days, singles


def member_engagement(days: TrialDays, latent: pl.DataFrame) -> npt.NDArray[np.float64]:
    """The latent engagement of the trial days' members, in ``days.member_ids`` order."""
    return (
        pl.DataFrame({"member_id": days.member_ids})
        .join(latent, on="member_id", how="left")["engagement"]
        .to_numpy()
    )


#: (item class, with the latent engagement) -> (estimate - truth, standard error) per estimate
Results = dict[tuple[str, bool], list[tuple[float, float]]]


def run_seed(seed: int, members: int, settings: ImpactSettings, results: Results,
             shifts: dict[str, list[float]]) -> None:  # fmt: skip
    demo, latent = demo_with_engagement(members, seed)
    truth = {e["item_id"]: e for e in demo.truth["proof_items"]}
    with trial_inputs(demo, settings) as (_, days, singles):
        engagement = member_engagement(days, latent)
    oracle = replace(
        days,
        member_x=np.hstack([days.member_x, np.log(engagement)[:, None]]),
        names=(*days.names, "latent_log_engagement"),
    )
    for candidate in singles:
        entry = truth[candidate.item_id]
        value = entry["trial_att"]["value"]
        ratio = entry["hazard_ratio"]
        item_class = "null (HR 1)" if ratio == 1.0 else f"HR {ratio:g} {candidate.item_id}"
        effects = {}
        for with_latent, found in ((False, days), (True, oracle)):
            trial = trial_effect(
                found, candidate.item_ids, candidate.published_at, settings, candidate.item_id
            )
            if trial.effect is None or trial.se is None or value is None:
                continue
            results[item_class, with_latent].append((trial.effect - value, trial.se))
            effects[with_latent] = trial.effect
        if len(effects) == 2:
            shifts[item_class].append(effects[True] - effects[False])


def seed_options(description: str | None, *, seeds: int) -> argparse.ArgumentParser:
    """The trial studies' command line: ``--seeds`` (default ``seeds``), ``--members`` per
    seed and ``--first-seed``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seeds", type=int, default=seeds)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--first-seed", type=int, default=1)
    return parser


def main() -> None:
    args = seed_options(__doc__, seeds=30).parse_args()
    settings = ImpactSettings()
    results: Results = defaultdict(list)
    shifts: dict[str, list[float]] = defaultdict(list)
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        run_seed(seed, args.members, settings, results, shifts)
        print(f"  seed {seed} done", flush=True)
    print(f"\n{args.seeds} seeds x {args.members:,} members; points, ± one Monte-Carlo SE")
    print(f"{'items':<16} {'covariates':<22} {'n':>5} {'bias':>7} {'± MC':>5} {'coverage':>9}")
    for (item_class, with_latent), rows in sorted(results.items()):
        errors = np.asarray([e for e, _ in rows]) * 100
        covered = np.mean([abs(e) <= 1.96 * se for e, se in rows])
        label = "+ latent engagement" if with_latent else "the analysis's"
        print(f"{item_class:<16} {label:<22} {len(rows):>5} {errors.mean():>+7.2f} "
              f"{errors.std(ddof=1) / np.sqrt(len(rows)):>5.2f} {covered:>9.1%}")  # fmt: skip
    print("\npaired shift with the latent engagement (points):")
    for item_class, values in sorted(shifts.items()):
        shift = np.asarray(values) * 100
        print(
            f"{item_class:<16} {shift.mean():+.2f} ± {shift.std(ddof=1) / np.sqrt(len(shift)):.2f}"
        )


if __name__ == "__main__":
    main()
