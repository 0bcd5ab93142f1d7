"""The analysis of every proof item: candidates, the main loop and the results."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from analytics.community import Community
from analytics.errors import InputError
from analytics.impact.estimate import ExposureModel
from analytics.impact.item import (
    _analyse,
    _Candidate,
    _design,
    _first_exposures,
    _own_counts,
    _own_rows,
    _tenure_days,
)
from analytics.impact.model import (
    SENSITIVITY_INACTIVE_DAYS,
    ImpactResult,
    ImpactSettings,
    ItemEffect,
    Progress,
)
from analytics.impact.parallel import ordered_map
from analytics.impact.population import _joined_until, early_activity_by, landmark_population
from analytics.impact.sensitivity import with_sensitivity
from analytics.impact.trial import TrialEffect, trial_days, trial_effect, views_compared
from analytics.impact.verdicts import _with_q_values
from analytics.vocabulary import quoted

#: the share of the trials' work that building the member-day table takes (about 60 % at a
#: million members), for the progress shown
TRIAL_DAYS_SHARE = 0.6


def _candidates(community: Community) -> tuple[list[_Candidate], list[_Candidate]]:
    assert community.proof_items is not None
    items = community.proof_items.sort("item_id")
    singles = [
        _Candidate(r["item_id"], r["kind"], r["title"], (r["item_id"],), r["published_at"])
        for r in items.iter_rows(named=True)
    ]
    kinds = []
    for (kind,), group in items.group_by("kind", maintain_order=True):
        published = group["published_at"]
        kinds.append(
            _Candidate(
                f"kind:{kind}",
                str(kind),
                f"any {str(kind).replace('_', ' ')}",
                tuple(group["item_id"].to_list()),
                None if published.null_count() else published.min(),
            )
        )
    return singles, sorted(kinds, key=lambda c: c.item_id)


def estimate_effects(
    community: Community,
    settings: ImpactSettings | None = None,
    *,
    progress: Progress | None = None,
    sensitivity: bool = True,
) -> ImpactResult:
    """Estimate the retention effect of every proof item and of every kind of item.

    Raises
    ------
    ValueError
        When the community has no proof_items or exposures table.
    """
    # The models' matrices are small (a few dozen covariates): one BLAS thread computes them
    # fastest, and several spin against each other on a busy machine (measured: a fit on 100 k
    # members took 6.5 s with two threads against 0.9 s with one while other work ran).
    with threadpool_limits(limits=1, user_api="blas"):
        return _estimate_effects(community, settings, progress, sensitivity)


def _estimate_effects(
    community: Community,
    settings: ImpactSettings | None,
    progress: Progress | None,
    sensitivity: bool,
) -> ImpactResult:
    settings = settings or ImpactSettings()
    if community.proof_items is None or not community.has_exposures:
        raise InputError(
            "Estimating social-proof effects needs the proof_items and exposures tables. Add "
            "them to the source (see the Data page for their columns)."
        )
    report = progress or (lambda _s, _f: None)
    rng = np.random.default_rng(settings.seed)
    community.keep_events(before=lambda: report(community.KEEP_STEP, 0.0))
    report("Building the landmark population and early-activity covariates", 0.0)
    # one job on the event tables for the early activity of the main and the sensitivity
    # populations, and one for the exposures before the landmark
    others = [replace(settings, inactive_days=d) for d in SENSITIVITY_INACTIVE_DAYS]
    early = early_activity_by(
        community,
        settings.landmark_days,
        [_joined_until(community, s) for s in (settings, *(others if sensitivity else []))],
    )
    population = landmark_population(community, settings, early=early)
    first = _first_exposures(community)
    own_rows = _own_rows(community, settings.landmark_days)
    own = _own_counts(own_rows, population)
    singles, kinds = _candidates(community)
    total = len(singles) + len(kinds)
    # the items are independent; the interval's bootstrap (when asked for) draws from one
    # shared generator, so then they run one after the other to stay reproducible
    parallel = settings.bootstrap == 0
    by_item = _tenure_days(community, first, [c.item_id for c in singles])
    tenures = [by_item[c.item_id] for c in singles]

    # each candidate's exposure model, reused by the sensitivity re-estimates
    models: dict[str, ExposureModel] = {}

    design = _design(population, first, own)

    def single(k: int) -> ItemEffect:
        return _analyse(
            singles[k], population, first, settings, rng, own_counts=own,
            tenure_day=tenures[k], exposure_models=models, design=design,
        )  # fmt: skip

    def kind(candidate: _Candidate) -> ItemEffect:
        return _analyse(
            candidate, population, first, settings, rng, own_counts=own,
            exposure_models=models, design=design,
        )  # fmt: skip

    # the share of the work the items' estimates take (the rest: the trials and the
    # sensitivity re-estimates, when asked for)
    span = 0.6 if settings.trials or sensitivity else 0.9
    items: list[ItemEffect] = []
    for i, effect in enumerate(ordered_map(single, range(len(singles)), parallel=parallel)):
        report(f"Estimated {quoted(singles[i].title)}", 0.05 + span * (i + 1) / total)
        items.append(effect)
    kind_effects: list[ItemEffect] = []
    for i, effect in enumerate(ordered_map(kind, kinds, parallel=parallel)):
        report(f"Estimated {kinds[i].title}", 0.05 + span * (len(singles) + i + 1) / total)
        kind_effects.append(effect)
    if settings.trials:
        items = _add_trials(
            community, settings, first, items, singles,
            lambda step, fraction: report(step, 0.65 + 0.05 * fraction),
        )  # fmt: skip
    items = _with_q_values(items, settings)
    kind_effects = _with_q_values(kind_effects, settings)
    if sensitivity:
        with_sensitivity(
            community, settings, early, own_rows, first, rng, report,
            ((items, singles), (kind_effects, kinds)), models,
        )  # fmt: skip
    report("Done", 1.0)
    return ImpactResult(
        settings=settings,
        items=tuple(items),
        kinds=tuple(kind_effects),
        population_size=population.frame.height,
        covariates=population.covariates,
    )


def _add_trials(
    community: Community,
    settings: ImpactSettings,
    first: pl.DataFrame,
    items: list[ItemEffect],
    singles: list[_Candidate],
    progress: Progress | None = None,
) -> list[ItemEffect]:
    """The items with their sequential-trial view (the second view) filled in, and the two
    views compared in words. ``progress`` hears of each step, with the fraction of the trials'
    work done."""
    report = progress or (lambda _s, _f: None)
    report("Sequential trials: every member's active days and history up to each", 0.0)
    days = trial_days(community, settings, first)

    def trial_of(candidate: _Candidate) -> TrialEffect:
        return trial_effect(
            days, candidate.item_ids, candidate.published_at, settings, candidate.item_id
        )

    out = list(items)
    for k, trial in enumerate(ordered_map(trial_of, singles)):
        report(
            f"Sequential trials: estimated {quoted(singles[k].title)}",
            TRIAL_DAYS_SHARE + (1 - TRIAL_DAYS_SHARE) * (k + 1) / len(singles),
        )
        landmark = out[k]
        out[k] = replace(
            landmark,
            trial_effect=trial.effect,
            trial_ci_low=trial.ci_low,
            trial_ci_high=trial.ci_high,
            trial_se=trial.se,
            trial_naive_se=trial.naive_se,
            trial_n_exposed=trial.n_exposed,
            trial_reason=trial.reason,
            views=views_compared(
                (landmark.effect, landmark.ci_low, landmark.ci_high),
                (trial.effect, trial.ci_low, trial.ci_high),
                settings.landmark_days,
            ),
        )
    return out


def with_trials(
    community: Community,
    landmark: ImpactResult,
    *,
    settings: ImpactSettings | None = None,
    progress: Progress | None = None,
) -> ImpactResult:
    """``landmark`` (estimated with ``trials=False``) with the sequential-trial view added: the
    same result as :func:`estimate_effects` with ``trials=True`` and the same other settings,
    without estimating the landmark view again. The weekly review shows only the landmark view;
    the Impact page adds the trials on top of the estimate it shares with the review.

    Raises
    ------
    InputError
        When ``settings`` are given and differ from the landmark estimate's in more than
        ``trials``.
    """
    if settings is not None and replace(settings, trials=False) != replace(
        landmark.settings, trials=False
    ):
        raise InputError(
            f"The trials are added to an estimate with other settings ({landmark.settings}, not "
            f"{settings})."
        )
    if landmark.settings.trials:
        return landmark
    settings = replace(landmark.settings, trials=True)
    report = progress or (lambda _s, _f: None)
    with threadpool_limits(limits=1, user_api="blas"):
        singles, _kinds = _candidates(community)
        by_id = {e.item_id: e for e in landmark.items}
        # the items in the candidates' order (the order estimate_effects fills them in)
        items = [by_id[c.item_id] for c in singles]
        items = _add_trials(
            community, settings, _first_exposures(community), items, singles, report
        )
    report("Done", 1.0)
    trialled = {e.item_id: e for e in items}
    return replace(
        landmark,
        settings=settings,
        items=tuple(trialled[e.item_id] for e in landmark.items),
    )
