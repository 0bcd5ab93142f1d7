"""Can a legitimate history covariate remove the sequential trials' bias? (a study, not a method)

``sim_trial_diagnose.py`` finds that the simulator's latent engagement (what no real analysis
can know) moves the trial view's estimates down by about half a point. This script asks whether
anything a real analysis *could* know on the trial day does the same: information from the
member's activity strictly before the trial day (before any exposure that day). For each seed it
runs the trial view of every content item as the analysis does, then again with one more
covariate per row (member-day), computed here from the community's activity table:

* legitimate (activity strictly before the trial day ``d``): activity counts in the days 1-7,
  8-14 and 15-30 before ``d``, on the day before, active days in the 7 days before; hours from the
  last activity before ``d`` to the start of ``d`` (the analysis has whole days since the previous
  active day); the lifetime activity rate (activity before ``d`` per day of tenure) and that of
  the 27 days before (per day of tenure within them); each alone, all of them together, and all
  of them with the squares and pairwise products of the analysis's own history covariates (a
  more flexible model);
* **not legitimate, for diagnosis only**: the activity count on the trial day itself (views
  happen during visits, so it is partly *after* the exposure and includes the view's own
  activity row) and the latent log engagement (as in ``sim_trial_diagnose.py``).

It compares each with the truth's ``trial_att``: bias (points), coverage of the 95 % interval,
and the paired shift against the analysis's own covariates (same seeds and draws). The
Monte-Carlo standard errors are clustered by seed (a seed's items share one community). It also
reports how much of the latent log engagement each covariate set explains (R², least squares
over every trial member-day): a covariate that adds nothing about engagement cannot remove
confounding by it. And it reports how many of the newly exposed member-days have no activity
that day other than the item's own view rows: members active that day only because of the view,
which no control (active that day, not exposed) can be. The estimator (``analytics.impact.trial``)
is used unchanged.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/sim_trial_covariates.py --seeds 200 --every 100

(``--every 100`` also prints the table of the first 100 seeds. One BLAS thread: about 5 s a seed
on a busy 2-core machine, against 20-40 s with the default threads there.)
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field, fields

import numpy as np
import numpy.typing as npt
import polars as pl

from analytics.community import Community
from analytics.impact import ImpactSettings
from analytics.impact.model import FloatArray
from analytics.impact.trial import TrialDays, trial_arms, trial_effect
from analytics.queries.events import DAY_US
from benchmarks.sim_impact_diagnose import demo_with_engagement
from benchmarks.sim_trial_diagnose import member_engagement, seed_options, trial_inputs

Ints = npt.NDArray[np.int64]

BASE = "the analysis's covariates"
#: the legitimate candidates, each added alone (then all together)
LEGITIMATE = (
    "activity, days 1-7 before",
    "activity, days 8-14 before",
    "activity, days 15-30 before",
    "activity, the day before",
    "active days, 7 days before",
    "hours since last activity",
    "lifetime activity rate",
    "27-day activity rate",
)
ALL = "all legitimate ones"
FLEXIBLE = "all + squares, products"
#: not legitimate (post-exposure or unknowable): for diagnosis only
SAME_DAY = "NOT LEGIT: same-day activity"
LATENT = "NOT LEGIT: latent engagement"
VARIANTS = (BASE, *LEGITIMATE, ALL, FLEXIBLE, SAME_DAY, LATENT)

#: (item class, variant) -> (seed, estimate - truth, standard error) per estimate
Results = dict[tuple[str, str], list[tuple[int, float, float]]]
#: (item class, variant) -> (seed, estimate with the variant - estimate with the analysis's own)
Shifts = dict[tuple[str, str], list[tuple[int, float]]]


@dataclass(frozen=True)
class ExtraDays(TrialDays):
    """The trial days with more covariate columns per row (member-day), after the analysis's."""

    extra: FloatArray = field(kw_only=True)

    def features(self, rows: npt.NDArray[np.intp]) -> FloatArray:
        return np.hstack([super().features(rows), self.extra[rows]])


def with_extra(days: TrialDays, extra: FloatArray, names: tuple[str, ...]) -> ExtraDays:
    base = {f.name: getattr(days, f.name) for f in fields(TrialDays)}
    base["names"] = (*days.names, *names)
    return ExtraDays(**base, extra=extra)


@dataclass(frozen=True)
class MemberDays:
    """Every member-day with activity (all of the data, not only the trial days), sorted by
    ``key`` = member position * 2**32 + day: activity rows ``n`` and the day's last activity
    (microseconds); ``total`` the running count of rows before each member-day."""

    key: Ints
    n: Ints
    last_us: Ints
    total: Ints

    def between(self, key: Ints, lo: int, hi: int) -> tuple[Ints, Ints]:
        """Activity rows and active days from ``lo`` to ``hi`` days after each ``key``'s day
        (``hi`` excluded)."""
        a = np.searchsorted(self.key, key + lo, side="left")
        b = np.searchsorted(self.key, key + hi, side="left")
        return self.total[b] - self.total[a], b - a


def member_days(community: Community, days: TrialDays) -> MemberDays:
    position = pl.DataFrame({"member_id": days.member_ids}).with_row_index("i")
    found = (
        community.activity.join(position, on="member_id", how="inner")
        .select(
            (
                pl.col("i").cast(pl.Int64) * (1 << 32)
                + pl.col("occurred_at").dt.epoch("us") // DAY_US
            ).alias("key"),
            pl.col("occurred_at").dt.epoch("us").alias("us"),
        )
        .group_by("key")
        .agg(pl.len().cast(pl.Int64).alias("n"), pl.col("us").max().alias("last_us"))
        .sort("key")
    )
    n = found["n"].to_numpy()
    return MemberDays(
        key=found["key"].to_numpy(),
        n=n,
        last_us=found["last_us"].to_numpy(),
        total=np.r_[0, np.cumsum(n)],
    )


def history_columns(
    community: Community, days: TrialDays, found: MemberDays
) -> tuple[dict[str, FloatArray], FloatArray]:
    """The candidate covariates per trial row (legitimate ones by name) and the same-day
    activity count (not legitimate)."""
    key = days.member.astype(np.int64) * (1 << 32) + days.day.astype(np.int64)
    before, _ = found.between(key, -(1 << 31), 0)
    # the member-days line up with the analysis's own: activity before the day is its first column
    assert (before == days.history_matrix()[:, 0]).all()
    same_day, active = found.between(key, 0, 1)
    assert (active == 1).all()
    assert (same_day >= 1).all()
    tenure = days.history_matrix()[:, 4].astype(np.float64)
    count_27, _ = found.between(key, -27, 0)
    count_7, active_7 = found.between(key, -7, 0)
    count_14, _ = found.between(key, -14, -7)
    count_30, _ = found.between(key, -30, -14)
    count_1, _ = found.between(key, -1, 0)
    previous = np.searchsorted(found.key, key, side="left") - 1
    own_before = (previous >= 0) & (found.key[np.maximum(previous, 0)] >> 32 == key >> 32)
    joined_us = (
        pl.DataFrame({"member_id": days.member_ids})
        .join(community.members.select("member_id", "joined_at"), on="member_id", how="left")[
            "joined_at"
        ]
        .dt.epoch("us")
        .to_numpy()
    )
    last_us = np.where(own_before, found.last_us[np.maximum(previous, 0)], joined_us[days.member])
    hours = np.maximum(days.day.astype(np.int64) * DAY_US - last_us, 0) / 3.6e9
    columns = {
        "activity, days 1-7 before": np.log1p(count_7),
        "activity, days 8-14 before": np.log1p(count_14),
        "activity, days 15-30 before": np.log1p(count_30),
        "activity, the day before": np.log1p(count_1),
        "active days, 7 days before": np.log1p(active_7),
        "hours since last activity": np.log1p(hours),
        "lifetime activity rate": np.log((before + 0.5) / (tenure + 1)),
        "27-day activity rate": np.log((count_27 + 0.5) / (np.minimum(tenure, 27) + 1)),
    }
    return {k: v.astype(np.float64) for k, v in columns.items()}, same_day.astype(np.float64)


def flexible_columns(days: TrialDays) -> FloatArray:
    """Squares and pairwise products of the analysis's own history covariates (standardised)."""
    h = np.log1p(days.history_matrix().astype(np.float64))
    h = (h - h.mean(axis=0)) / np.where(h.std(axis=0) > 0, h.std(axis=0), 1.0)
    pairs = [h[:, i] * h[:, j] for i in range(h.shape[1]) for j in range(i, h.shape[1])]
    return np.column_stack(pairs)


def own_views(community: Community, days: TrialDays, item_ids: tuple[str, ...]) -> Ints:
    """Per trial row: the item's own exposure rows that day."""
    exposures = community.exposures
    assert exposures is not None
    position = pl.DataFrame({"member_id": days.member_ids}).with_row_index("i")
    keys = (
        exposures.filter(pl.col("item_id").is_in(list(item_ids)))
        .join(position, on="member_id", how="inner")
        .select(
            pl.col("i").cast(pl.Int64) * (1 << 32) + pl.col("occurred_at").dt.epoch("us") // DAY_US
        )
        .to_series()
        .sort()
        .to_numpy()
    )
    key = days.member.astype(np.int64) * (1 << 32) + days.day.astype(np.int64)
    counts: Ints = np.searchsorted(keys, key + 1, side="left") - np.searchsorted(
        keys, key, side="left"
    )
    return counts


def r_squared(x: FloatArray, y: FloatArray) -> float:
    design = np.column_stack([np.ones(len(y)), x])
    coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coefficients
    return float(1 - residual.var() / y.var())


def run_seed(
    seed: int,
    members: int,
    settings: ImpactSettings,
    results: Results,
    shifts: Shifts,
    explained: dict[str, list[float]],
    view_only: dict[str, list[float]],
) -> None:
    demo, latent = demo_with_engagement(members, seed)
    truth = {e["item_id"]: e for e in demo.truth["proof_items"]}
    with trial_inputs(demo, settings) as (community, days, singles):
        columns, same_day = history_columns(community, days, member_days(community, days))
        own = {c.item_id: own_views(community, days, c.item_ids) for c in singles}
    engagement = np.log(member_engagement(days, latent))[days.member]
    legitimate = np.column_stack([columns[name] for name in LEGITIMATE])
    fixed: dict[str, TrialDays] = {BASE: days}
    for name in LEGITIMATE:
        fixed[name] = with_extra(days, columns[name][:, None], (name,))
    fixed[ALL] = with_extra(days, legitimate, LEGITIMATE)
    flexible = flexible_columns(days)
    fixed[FLEXIBLE] = with_extra(
        days,
        np.hstack([legitimate, flexible]),
        (*LEGITIMATE, *(f"flexible_{k}" for k in range(flexible.shape[1]))),
    )
    fixed[SAME_DAY] = with_extra(days, np.log1p(same_day)[:, None], (SAME_DAY,))
    fixed[LATENT] = with_extra(days, engagement[:, None], (LATENT,))
    # how much of the latent log engagement each covariate set explains, over every trial row
    everything = np.arange(len(days.member))
    for name, found in fixed.items():
        if name != LATENT:
            explained[name].append(r_squared(found.features(everything), engagement))
    for candidate in singles:
        entry = truth[candidate.item_id]
        value = entry["trial_att"]["value"]
        ratio = entry["hazard_ratio"]
        item_class = "null (HR 1)" if ratio == 1.0 else f"HR {ratio:g} {candidate.item_id}"
        if value is None:
            continue
        _, newly = trial_arms(days, candidate.item_ids, candidate.published_at, settings)
        if newly.any():
            view_only[item_class].append((same_day[newly] <= own[candidate.item_id][newly]).mean())
        effects: dict[str, float] = {}
        for name in VARIANTS:
            trial = trial_effect(
                fixed[name], candidate.item_ids, candidate.published_at, settings, candidate.item_id
            )
            if trial.effect is None or trial.se is None:
                continue
            results[item_class, name].append((seed, trial.effect - value, trial.se))
            effects[name] = trial.effect
        if BASE in effects:
            for name, effect in effects.items():
                if name != BASE:
                    shifts[item_class, name].append((seed, effect - effects[BASE]))


def clustered_mean(seeds: list[int], values: npt.NDArray[np.float64]) -> tuple[float, float]:
    """The mean and its standard error, clustered by seed."""
    mean = float(values.mean())
    by_seed = np.bincount(np.unique(seeds, return_inverse=True)[1], weights=values - mean)
    clusters = len(by_seed)
    se = float(np.sqrt((by_seed**2).sum() * clusters / max(clusters - 1, 1)) / len(values))
    return mean, se


def bias_and_coverage(rows: list[tuple[int, float, float]]) -> tuple[float, float, float, float]:
    """Of estimates ``(seed, estimate - truth, standard error)``: the bias in points and the
    coverage of the 95 % interval in percent, each with its Monte-Carlo SE clustered by seed."""
    seeds = [s for s, _, _ in rows]
    errors = np.asarray([e for _, e, _ in rows]) * 100
    covered = np.asarray([abs(e) <= 1.96 * se for _, e, se in rows], dtype=np.float64)
    bias, bias_se = clustered_mean(seeds, errors)
    coverage, coverage_se = clustered_mean(seeds, covered * 100)
    return bias, bias_se, coverage, coverage_se


def report(
    title: str,
    results: Results,
    shifts: Shifts,
    explained: dict[str, list[float]],
    view_only: dict[str, list[float]],
) -> None:
    print(f"\n{title}; points, ± one Monte-Carlo SE clustered by seed; shift: paired, against "
          "the analysis's own covariates")  # fmt: skip
    header = (
        f"{'items':<14} {'covariates':<35} {'n':>5} {'bias':>6} {'± MC':>5} "
        f"{'coverage':>8} {'± MC':>5} {'shift':>6} {'± MC':>5}"
    )
    classes = sorted({item_class for item_class, _ in results})
    for item_class in classes:
        print()
        print(header)
        for name in VARIANTS:
            rows = results.get((item_class, name), [])
            if not rows:
                continue
            bias, bias_se, coverage, coverage_se = bias_and_coverage(rows)
            line = (
                f"{item_class:<14} {name:<35} {len(rows):>5} {bias:>+6.2f} {bias_se:>5.2f} "
                f"{coverage:>7.1f}% {coverage_se:>5.1f}"
            )
            paired = shifts.get((item_class, name), [])
            if paired:
                shift, shift_se = clustered_mean(
                    [s for s, _ in paired], np.asarray([d for _, d in paired]) * 100
                )
                line += f" {shift:>+6.2f} {shift_se:>5.2f}"
            print(line)
    print("\nR² of the latent log engagement on each covariate set (every trial member-day):")
    for name, values in explained.items():
        print(f"  {name:<35} {np.mean(values):.3f}")
    print("\nnewly exposed member-days with no activity that day but the item's own views:")
    for item_class in classes:
        print(f"  {item_class:<14} {np.mean(view_only[item_class]):.1%}")


def main() -> None:
    parser = seed_options(__doc__, seeds=30)
    parser.add_argument(
        "--every", type=int, default=0, help="also print the table every so many seeds"
    )
    args = parser.parse_args()
    settings = ImpactSettings()
    results: Results = defaultdict(list)
    shifts: Shifts = defaultdict(list)
    explained: dict[str, list[float]] = defaultdict(list)
    view_only: dict[str, list[float]] = defaultdict(list)
    started = time.perf_counter()
    for done, seed in enumerate(range(args.first_seed, args.first_seed + args.seeds), start=1):
        run_seed(seed, args.members, settings, results, shifts, explained, view_only)
        print(f"  seed {seed} done ({time.perf_counter() - started:.0f} s)", flush=True)
        if args.every and done % args.every == 0 and done < args.seeds:
            title = f"so far: seeds {args.first_seed}-{seed} x {args.members:,} members"
            report(title, results, shifts, explained, view_only)
            print(flush=True)
    last = args.first_seed + args.seeds - 1
    title = f"{args.seeds} seeds ({args.first_seed}-{last}) x {args.members:,} members"
    report(title, results, shifts, explained, view_only)
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
