"""Diagnosis of the landmark estimate's bias on the demo simulator (not an analysis method).

The simulation study (``sim_impact.py``) finds the landmark estimate biased upwards. This script
splits that bias into its causes by giving the estimator, *for diagnosis only*, what no real
analysis can know: the simulator's latent engagement and true lifetimes. It reports, over the
seeds:

* how well the analysis's own covariates predict the latent log engagement among the members
  present at the landmark (R², by least squares), and how many of those members were in fact
  already gone by day 30 (active in the week before, but their life ended before the landmark);
* the bias and coverage per item class of the estimate as analysed; with the latent log
  engagement added as a covariate (what is left is not confounding by engagement); and with it
  among the members alive at day 30 only, the truth rescaled to them (members gone by day 30
  have retention 0 in both of the truth's worlds, so its sum over the population is theirs);
* the same against a truth whose counterfactual starts at each member's last activity before
  the landmark rather than at day 30 (what no one can see: whether the member left between that
  activity and day 30). It is the recorded truth plus the difference between the two
  counterfactuals computed here with alive-at-day-120 outcomes and the same draws (the
  recording of retention, nearly the same in both, is left out of that difference).

    .venv/bin/python benchmarks/sim_impact_diagnose.py --seeds 30 --members 10000
    .venv/bin/python benchmarks/sim_impact_diagnose.py --views independent   # the old generator

The latent values are captured by wrapping three of the generator's internal functions while it
runs (the tables and truth it writes are unchanged); nothing here is used by the analysis.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

import analytics.demo.generate as generator
from analytics.community import load_community
from analytics.demo import generate_demo
from analytics.demo.exposures import _first_view_from, _reach
from analytics.demo.lifetime import _cumulative_hazard
from analytics.demo.lifetime import _lifetimes as lifetimes_of
from analytics.impact import ImpactSettings
from analytics.impact.analysis import _candidates
from analytics.impact.item import _analyse, _first_exposures, _own_counts, _own_rows
from analytics.impact.population import landmark_population
from analytics.io import open_source, write_folder

ORACLE = "latent_log_engagement"


@contextmanager
def latent_values() -> Iterator[list[dict[str, Any]]]:
    """While active, every block the generator draws appends its members' ids, latent
    engagement and lifetimes (days) to the yielded list."""
    blocks: list[dict[str, Any]] = []
    draw, lifetimes, ids = (
        generator._draw_member_attributes,
        generator._lifetimes,
        generator._member_ids,
    )

    def draw_attributes(*args: Any, **kwargs: Any) -> Any:
        people = draw(*args, **kwargs)
        blocks.append({"engagement": people.engagement, "join": people.join})
        return people

    def draw_lifetimes(*args: Any, **kwargs: Any) -> Any:
        hazard_e, scale, first_since_join, items = args
        blocks[-1].update(
            hazard_e=hazard_e, scale=scale, first_since_join=first_since_join, items=items
        )
        blocks[-1]["lifetime"] = lifetimes(*args, **kwargs)
        return blocks[-1]["lifetime"]

    def member_ids(*args: Any, **kwargs: Any) -> Any:
        blocks[-1]["member_id"] = ids(*args, **kwargs)
        return blocks[-1]["member_id"]

    generator._draw_member_attributes = draw_attributes
    generator._lifetimes = draw_lifetimes
    generator._member_ids = member_ids
    try:
        yield blocks
    finally:
        generator._draw_member_attributes = draw
        generator._lifetimes = lifetimes
        generator._member_ids = ids


def demo_with_engagement(members: int, seed: int) -> tuple[Any, pl.DataFrame]:
    """The demo community of ``seed`` and its members' latent engagement (``member_id``,
    ``engagement``), which no real analysis can know."""
    with latent_values() as blocks:
        demo = generate_demo(members=members, seed=seed)
    latent = pl.DataFrame(
        {
            "member_id": pl.concat([b["member_id"] for b in blocks]),
            "engagement": np.concatenate([b["engagement"] for b in blocks]),
        }
    )
    return demo, latent


def _estimand_shift(
    blocks: list[dict[str, Any]],
    frame: pl.DataFrame,
    settings: ImpactSettings,
    seed: int,
    views: str,
) -> dict[str, float]:
    """Per planted item: how much larger the truth is when its counterfactual starts at each
    member's last activity before the landmark instead of at the landmark (alive at day 120,
    same draws; members exposed in their first 30 days and present at the landmark)."""
    landmark = float(settings.landmark_days)
    end = landmark + settings.horizon_days
    known = frame.select(
        "member_id",
        "present_at_landmark",
        ((pl.col("last_activity") - pl.col("joined_at")).dt.total_seconds() / 86_400).alias("s"),
    )
    items = blocks[0]["items"]
    shifts: dict[str, float] = {}
    for j, item in enumerate(items):
        if item.hazard_ratio == 1.0:
            continue
        rng = np.random.default_rng([seed, j])
        total, exposed = 0.0, 0
        for b in blocks:
            ids = pl.DataFrame({"member_id": b["member_id"]}).with_row_index("row")
            rows = ids.join(known, on="member_id", how="inner").filter("present_at_landmark")
            who = rows["row"].to_numpy()
            life, first = b["lifetime"][who], b["first_since_join"][who]
            join, scale, hazard_e = b["join"][who], b["scale"][who], b["hazard_e"][who]
            pick = (item.published < join + landmark) & (first[:, j] < np.minimum(landmark, life))
            if not pick.any():
                continue
            life, first, join, scale, hazard_e = (
                a[pick] for a in (life, first, join, scale, hazard_e)
            )
            last = rows["s"].to_numpy()[pick]
            reach = _reach(b["engagement"][who][pick], views)
            counterfactual = first.copy()
            begin = np.maximum(join + landmark, item.published)
            x = rng.standard_exponential(len(join))
            later = _first_view_from(item, begin, join, reach, x, 10**9, views)
            counterfactual[:, j] = later - join
            retained = []
            for start in (last, np.full(len(join), landmark)):
                used = _cumulative_hazard(start, scale, first, items)
                restart = _cumulative_hazard(start, scale, counterfactual, items)
                again = lifetimes_of(np.maximum(hazard_e - used + restart, 0.0), scale,
                                     counterfactual, items)  # fmt: skip
                retained.append(np.where(life > start, again, life) > end)
            total += float(retained[1].sum() - retained[0].sum())
            exposed += len(join)
        shifts[item.item_id] = total / exposed if exposed else 0.0
    return shifts


def _r2(y: np.ndarray[Any, Any], x: np.ndarray[Any, Any]) -> float:
    design = np.column_stack([np.ones(len(y)), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return float(1 - ((y - design @ coef) ** 2).mean() / y.var())


def run_seed(
    seed: int, members: int, settings: ImpactSettings, views: str = "visits"
) -> tuple[dict[str, float], list[tuple[str, str, float, bool]]]:
    """Population figures and (variant, class, error, covered) per estimable content item."""
    with latent_values() as blocks:
        demo = generate_demo(members=members, seed=seed, views=views)
    latent = pl.concat(
        pl.DataFrame(
            {"member_id": b["member_id"], "engagement": b["engagement"], "life": b["lifetime"]}
        )
        for b in blocks
    )
    truth = {e["item_id"]: e for e in demo.truth["proof_items"]}
    with tempfile.TemporaryDirectory() as folder:
        write_folder(demo.tables, Path(folder))
        community = load_community(open_source(folder))
        population = landmark_population(community, settings)
        first = _first_exposures(community)
        own = _own_counts(_own_rows(community, settings.landmark_days), population)
    frame = population.frame.join(latent, on="member_id", how="left").with_columns(
        pl.col("engagement").log().alias(ORACLE),
        (pl.col("life") > settings.landmark_days).alias("alive_at_landmark"),
    )
    present = frame.filter("present_at_landmark")
    figures = {
        "r2": _r2(present[ORACLE].to_numpy(), present.select(population.covariates).to_numpy()),
        "gone": 1 - float(present["alive_at_landmark"].mean()),  # type: ignore[arg-type]
    }
    variants = {
        "as analysed": replace(population, frame=frame),
        "+ latent engagement": replace(
            population, frame=frame, covariates=(*population.covariates, ORACLE)
        ),
        "+ latent engagement, alive at day 30": replace(
            population,
            frame=frame.filter(pl.col("alive_at_landmark") | ~pl.col("present_at_landmark")),
            covariates=(*population.covariates, ORACLE),
        ),
    }
    shifts = _estimand_shift(blocks, frame, settings, seed, views)
    rows: list[tuple[str, str, float, bool]] = []
    singles, _ = _candidates(community)
    rng = np.random.default_rng(settings.seed)
    for name, variant in variants.items():
        for candidate in singles:
            if candidate.item_id not in truth:
                continue
            with threadpool_limits(limits=1, user_api="blas"):
                item = _analyse(candidate, variant, first, settings, rng, own_counts=own)
            if item.effect is None or item.ci_low is None or item.ci_high is None:
                continue
            entry = truth[candidate.item_id]
            value = float(entry["active_landmark_att"]["value"])
            if name.endswith("day 30") and item.n_exposed:
                value *= entry["active_landmark_att"]["n"] / item.n_exposed
            ratio = entry["hazard_ratio"]
            item_class = "null (HR 1)" if ratio == 1.0 else f"planted HR {ratio:g}"
            covered = item.ci_low <= value <= item.ci_high
            rows.append((name, item_class, item.effect - value, covered))
            if not name.endswith("day 30"):
                value += shifts.get(candidate.item_id, 0.0)
                covered = item.ci_low <= value <= item.ci_high
                rows.append((f"{name} [truth from last activity]", item_class,
                             item.effect - value, covered))  # fmt: skip
    return figures, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--views", choices=("visits", "independent"), default="visits")
    args = parser.parse_args()
    settings = ImpactSettings(trials=False)
    figures: list[dict[str, float]] = []
    rows: list[tuple[str, str, float, bool]] = []
    start = time.perf_counter()
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        seed_figures, seed_rows = run_seed(seed, args.members, settings, args.views)
        figures.append(seed_figures)
        rows.extend(seed_rows)
        print(f"  seed {seed} done ({time.perf_counter() - start:.0f} s)", flush=True)
    print(f"\n{args.seeds} seeds x {args.members:,} members, views {args.views} "
          "(landmark estimate only)")  # fmt: skip
    print(f"R² of latent log engagement on the covariates (present members): "
          f"{np.mean([f['r2'] for f in figures]):.3f}")  # fmt: skip
    print(f"present at the landmark but gone by day 30: "
          f"{np.mean([f['gone'] for f in figures]):.1%}")  # fmt: skip
    print(f"\n{'variant':<38} {'items':<16} {'n':>4} {'bias pts':>9} {'coverage':>9}")
    for name in dict.fromkeys(r[0] for r in rows):
        for item_class in sorted({r[1] for r in rows if r[0] == name}):
            chosen = [r for r in rows if r[:2] == (name, item_class)]
            bias = np.mean([r[2] for r in chosen]) * 100
            cover = np.mean([r[3] for r in chosen])
            print(f"{name:<38} {item_class:<16} {len(chosen):>4} {bias:>+9.2f} {cover:>9.1%}")


if __name__ == "__main__":
    main()
