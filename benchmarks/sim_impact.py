"""Simulation study: does the impact analysis find the planted effects and nothing else?

Over many seeds of the demo community (whose truth.json records the planted effects), compare the
adjusted estimates of ``analytics.impact`` and the naive "ever exposed vs never" comparison with
the truth:

* coverage: how often the 95 % interval contains the true effect (items with an estimate);
* detected: the share of planted effects (hazard ratio != 1) found with q <= 0.05 and the right
  sign;
* false discoveries: the share of no-effect items (hazard ratio 1) called helps or hurts;
* the tenure badge (Yearling) must never come out as "helps".

    .venv/bin/python benchmarks/sim_impact.py --seeds 20 --members 20000
    .venv/bin/python benchmarks/sim_impact.py --views independent   # the old generator

``--views independent`` generates the communities with views drawn independently of visits (the
demo generator before version 2): exposure then carries information about latent engagement that
no recorded data measure, which shows what unmeasurable confounding does to the estimates.

The truth used is the analysis's own estimand (``active_landmark_att``: members active in the
week before day 30, by coupled counterfactual re-simulation) when the generator records it,
else ``landmark_att``, else ``att_retention_difference``. The sequential trials (second view) are
compared with their own estimand, ``trial_att`` (members first exposed on an active, decidable
day, by coupled counterfactual re-simulation from the exposure on); a no-effect item's is 0.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from analytics.demo import generate_demo
from analytics.impact import ImpactSettings, benjamini_hochberg, estimate_effects, holm
from analytics.io import write_folder

TENURE_BADGE = "Yearling"


@dataclass
class Tally:
    covered: int = 0
    estimated: int = 0
    planted: int = 0
    detected: int = 0
    nulls: int = 0
    false: int = 0
    tenure_helps: int = 0
    errors: list[float] = field(default_factory=list)

    def row(self, name: str) -> str:
        coverage = self.covered / self.estimated if self.estimated else float("nan")
        power = self.detected / self.planted if self.planted else float("nan")
        fdr = self.false / self.nulls if self.nulls else float("nan")
        bias = float(np.mean(self.errors)) * 100 if self.errors else float("nan")
        return (
            f"{name:<10} {coverage:>9.1%} {power:>10.1%} {fdr:>10.1%} {bias:>+10.2f} "
            f"{self.tenure_helps:>13}"
        )


def _truth(entry: dict[str, Any]) -> float:
    block = (
        entry.get("active_landmark_att")
        or entry.get("landmark_att")
        or entry["att_retention_difference"]
    )
    return float(block["value"])


def _trial_truth(entry: dict[str, Any]) -> float | None:
    """The trial estimand: ``trial_att`` when the generator records it (0 for a no-effect item
    whatever the estimand), else none for a planted item."""
    block = entry.get("trial_att")
    if block is not None and block["value"] is not None:
        return float(block["value"])
    return 0.0 if entry["hazard_ratio"] == 1.0 else None


@dataclass
class Record:
    """One estimate of one item in one seed, for the per-estimator table."""

    estimator: str
    item_class: str
    truth: float | None
    effect: float
    low: float
    high: float
    flagged: dict[str, bool]


@dataclass
class Study:
    """Every estimate of every seed, by estimator (landmark, trial) and error control."""

    records: list[Record] = field(default_factory=list)

    def add(self, estimator: str, rows: list[tuple[str, float | None, float, float, float, float]],
            alpha: float = 0.05) -> None:  # fmt: skip
        """``rows``: (item class, truth, effect, low, high, p) of one seed's estimable items;
        the verdicts of both error controls come from the p-values across them."""
        if not rows:
            return
        p_values = [r[5] for r in rows]
        adjusted = {"per_item": holm(p_values), "fdr": benjamini_hochberg(p_values)}
        for k, (item_class, truth, effect, low, high, _) in enumerate(rows):
            flagged = {name: values[k] <= alpha for name, values in adjusted.items()}
            self.records.append(Record(estimator, item_class, truth, effect, low, high, flagged))

    def table(self) -> list[str]:
        """Coverage, bias, RMSE, detection and per-null flag rate per estimator and class."""
        lines = [
            f"{'estimator':<9} {'items':<22} {'n':>4} {'coverage':>9} {'± MC':>5} {'bias pts':>9} "
            f"{'± MC':>5} {'RMSE pts':>9} {'flagged per_item':>17} {'flagged fdr':>12}"
        ]
        classes = sorted({(r.estimator, r.item_class) for r in self.records})
        for estimator, item_class in classes:
            rows = [
                r for r in self.records if (r.estimator, r.item_class) == (estimator, item_class)
            ]
            known = [r for r in rows if r.truth is not None]
            if known:
                errors = np.asarray([r.effect - r.truth for r in known]) * 100
                cover = np.mean([r.low <= r.truth <= r.high for r in known])  # type: ignore[operator]
                coverage, bias = f"{cover:.1%}", f"{errors.mean():+.2f}"
                rmse = f"{np.sqrt((errors**2).mean()):.2f}"
                # Monte-Carlo standard errors (one standard error; estimates of one class in
                # one seed are taken as independent, which for the nulls they are not quite)
                m = len(known)
                cover_se = f"{100 * np.sqrt(cover * (1 - cover) / m):.1f}"
                bias_se = f"{errors.std(ddof=1) / np.sqrt(m):.2f}" if m > 1 else "-"
            else:
                coverage = bias = rmse = "no truth"
                cover_se = bias_se = "-"
            per_item = np.mean([r.flagged["per_item"] for r in rows])
            fdr = np.mean([r.flagged["fdr"] for r in rows])
            lines.append(
                f"{estimator:<9} {item_class:<22} {len(rows):>4} {coverage:>9} {cover_se:>5} "
                f"{bias:>9} {bias_se:>5} {rmse:>9} {per_item:>17.1%} {fdr:>12.1%}"
            )
        return lines


def _item_class(entry: dict[str, Any]) -> str:
    ratio = entry["hazard_ratio"]
    return "null (HR 1)" if ratio == 1.0 else f"planted HR {ratio:g} {entry['item_id']}"


def run_seed(
    seed: int,
    members: int,
    settings: ImpactSettings,
    adjusted: Tally,
    naive: Tally,
    study: Study | None = None,
    views: str = "visits",
) -> None:
    import tempfile

    from analytics.community import load_community
    from analytics.io import open_source

    demo = generate_demo(members=members, seed=seed, views=views)
    truth = {e["item_id"]: e for e in demo.truth["proof_items"]}
    with tempfile.TemporaryDirectory() as folder:
        write_folder(demo.tables, folder)
        community = load_community(open_source(folder))
        # the events stay in the folder (read by each query), so analyse before it goes
        result = estimate_effects(community, settings, sensitivity=False)
    if study is not None:
        landmark_rows, trial_rows = [], []
        for item in result.items:
            entry = truth[item.item_id]
            if item.effect is not None:
                assert item.ci_low is not None
                assert item.ci_high is not None
                assert item.p_value is not None
                landmark_rows.append(
                    (_item_class(entry), _truth(entry), item.effect, item.ci_low, item.ci_high,
                     item.p_value)
                )  # fmt: skip
            if item.trial_effect is not None and item.trial_se:
                assert item.trial_ci_low is not None
                assert item.trial_ci_high is not None
                # the trial's own estimand (exposure on an active day): trial_att
                trial_rows.append(
                    (_item_class(entry), _trial_truth(entry), item.trial_effect,
                     item.trial_ci_low, item.trial_ci_high,
                     float(2 * stats.norm.sf(abs(item.trial_effect) / item.trial_se)))
                )  # fmt: skip
        study.add("landmark", landmark_rows, settings.alpha)
        study.add("trial", trial_rows, settings.alpha)
    # The naive comparison with a Wald interval and BH, as a correlation tool would report it.
    naive_rows = []
    for item in result.items:
        if item.naive_effect is None:
            continue
        naive_rows.append(item)
    for item in result.items:
        entry = truth[item.item_id]
        effect_true = _truth(entry)
        planted = entry["hazard_ratio"] != 1.0
        if item.title == TENURE_BADGE and item.verdict == "helps":
            adjusted.tenure_helps += 1
        if item.effect is not None:
            adjusted.estimated += 1
            adjusted.covered += int(item.ci_low <= effect_true <= item.ci_high)  # type: ignore[operator]
            adjusted.errors.append(item.effect - effect_true)
        significant = item.verdict in {"helps", "hurts"}
        if planted:
            adjusted.planted += 1
            adjusted.detected += int(
                significant and np.sign(item.effect or 0) == np.sign(effect_true)
            )
        else:
            adjusted.nulls += 1
            adjusted.false += int(significant)
    p_values, wald = [], []
    for item in naive_rows:
        # a conservative Wald interval for a difference of two proportions (p(1-p) <= 1/4)
        n1, n0 = (max(n, 1) for n in item.naive_sizes)
        se = float(np.sqrt(0.25 / n1 + 0.25 / n0))
        assert item.naive_effect is not None
        wald.append((item.naive_effect - 1.96 * se, item.naive_effect + 1.96 * se))
        p_values.append(float(2 * stats.norm.sf(abs(item.naive_effect) / se)))
    q_values = benjamini_hochberg(p_values)
    for item, (low, high), q in zip(naive_rows, wald, q_values, strict=True):
        entry = truth[item.item_id]
        effect_true = _truth(entry)
        naive.estimated += 1
        naive.covered += int(low <= effect_true <= high)
        naive.errors.append(item.naive_effect - effect_true)  # type: ignore[operator]
        significant = q <= 0.05
        if item.title == TENURE_BADGE and significant and (item.naive_effect or 0) > 0:
            naive.tenure_helps += 1
        if entry["hazard_ratio"] != 1.0:
            naive.planted += 1
            naive.detected += int(
                significant and np.sign(item.naive_effect) == np.sign(effect_true)
            )
        else:
            naive.nulls += 1
            naive.false += int(significant)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument(
        "--views",
        choices=("visits", "independent"),
        default="visits",
        help="how the demo generator draws views: during visits (default) or independently of "
        "them (the generator before version 2: unmeasurable confounding)",
    )
    parser.add_argument(
        "--records",
        help="write every per-estimator record (JSON lines) to this file, to combine runs of "
        "separate seed ranges with --combine",
    )
    parser.add_argument(
        "--combine",
        nargs="+",
        metavar="FILE",
        help="print the per-estimator table of records written by earlier runs (no new seeds)",
    )
    args = parser.parse_args()
    if args.combine:
        combined = Study([Record(**json.loads(line)) for f in args.combine
                          for line in Path(f).read_text().splitlines() if line])  # fmt: skip
        for line in combined.table():
            print(line)
        return
    settings = ImpactSettings()
    adjusted, naive = Tally(), Tally()
    study = Study()
    start = time.perf_counter()
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        run_seed(seed, args.members, settings, adjusted, naive, study, args.views)
        print(f"  seed {seed} done ({time.perf_counter() - start:.0f} s)", flush=True)
    print(f"\n{args.seeds} seeds x {args.members:,} members, views {args.views}, "
          f"landmark {settings.landmark_days} d, horizon {settings.horizon_days} d")  # fmt: skip
    print(f"{'method':<10} {'coverage':>9} {'detected':>10} {'false disc.':>10} "
          f"{'bias (pts)':>10} {'tenure helps':>13}")  # fmt: skip
    print(adjusted.row("adjusted"))
    print(naive.row("naive"))
    print(f"\nPer estimator ({time.perf_counter() - start:.0f} s in all); truth: "
          "active_landmark_att (landmark), trial_att (trial); flagged = share called "
          "helps/hurts (detection for planted items, false flags for nulls) with Holm "
          "(per_item) or Benjamini-Hochberg (fdr); ± MC = one Monte-Carlo standard "
          "error:")  # fmt: skip
    for line in study.table():
        print(line)
    if args.records:
        with Path(args.records).open("w") as out:
            for record in study.records:
                out.write(json.dumps(asdict(record)) + "\n")


if __name__ == "__main__":
    main()
