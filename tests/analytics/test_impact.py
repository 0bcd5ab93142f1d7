"""Social-proof impact: the honest estimate's rules, on hand-made cases and the demo community."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from analytics.community import Community, load_community
from analytics.errors import InputError
from analytics.impact import (
    ImpactSettings,
    _joined_until,
    _subsample,
    benjamini_hochberg,
    e_value,
    early_activity_by,
    estimate_effects,
    holm,
    landmark_population,
    with_trials,
)
from analytics.impact import population as population_module
from analytics.impact.detail import item_detail
from analytics.impact.item import _exclude_own
from analytics.impact.model import OTHER_EXPOSURES, OTHER_ITEMS
from analytics.impact.population import _landmark_population
from analytics.impact.verdicts import verdict_reason
from analytics.io import open_source
from analytics.vocabulary import FEATURES, label

VERDICTS = {"helps", "hurts", "no_evidence", "not_identifiable"}


@pytest.fixture(scope="module")
def demo(demo_folder: Path) -> Community:
    return load_community(open_source(demo_folder))


@pytest.fixture(scope="module")
def result(demo: Community):  # type: ignore[no-untyped-def]
    return estimate_effects(demo)


def _item(result, item_id: str):  # type: ignore[no-untyped-def]
    return next(i for i in result.items if i.item_id == item_id)


def test_badges_decided_by_activity_or_tenure_are_not_identifiable(result) -> None:  # type: ignore[no-untyped-def]
    first_post, prolific, yearling = (_item(result, b) for b in ("b001", "b003", "b004"))
    assert first_post.verdict == "not_identifiable"
    assert "decided by early activity" in first_post.reason
    for badge in (prolific, yearling):  # earned only after the first 30 days
        assert badge.verdict == "not_identifiable"
        assert badge.n_exposed == 0
        assert badge.effect is None
    assert "earned or seen only later" in prolific.reason
    assert "awarded at a fixed time of membership (from day 365" in yearling.reason
    # ...while the naive comparison, which they replace, makes the tenure badge look great
    assert yearling.naive_effect is not None
    assert yearling.naive_effect > 0.3


def test_every_estimate_has_an_interval_p_and_q_value(result) -> None:  # type: ignore[no-untyped-def]
    for item in (*result.items, *result.kinds):
        assert item.verdict in VERDICTS
        assert item.reason
        if item.verdict == "not_identifiable":
            assert item.effect is None
            assert item.ci_low is None
            continue
        assert item.ci_low < item.effect < item.ci_high
        assert 0 <= item.p_value <= 1
        assert item.p_value <= item.q_value <= 1
        assert item.e_value >= 1
        assert item.n_exposed >= 30
        assert item.n_control >= 30
        assert set(item.sensitivity) == {14, 60}
        # the default verdict controls the per-item error: Holm-adjusted p, never below BH's q
        assert item.adjusted_p == item.holm_p >= item.q_value
        assert (item.verdict in {"helps", "hurts"}) == (item.adjusted_p <= 0.05)


def test_naive_comparison_is_inflated_by_survivorship(result) -> None:  # type: ignore[no-untyped-def]
    estimable = [i for i in result.items if i.effect is not None]
    assert estimable
    # every naive "ever vs never" difference exceeds the adjusted one by a wide margin
    assert all(i.naive_effect - i.effect > 0.2 for i in estimable)


def test_balance_improves_after_weighting(demo: Community, result) -> None:  # type: ignore[no-untyped-def]
    """The drill-down's balance table (the only place it is shown): the weighted controls
    resemble the exposed far better than all controls do."""
    item = max((i for i in result.items if i.effect is not None), key=lambda i: i.n_exposed)
    balance = item_detail(demo, item.item_id).balance
    assert balance is not None
    assert balance["smd_after"].abs().max() < balance["smd_before"].abs().max()
    assert balance["smd_after"].abs().mean() < 0.1


def test_kinds_are_analysed_together(result, demo: Community) -> None:  # type: ignore[no-untyped-def]
    kinds = {k.item_id for k in result.kinds}
    assert kinds == {f"kind:{k}" for k in demo.proof_items["kind"].unique()}  # type: ignore[index]
    testimonials = next(k for k in result.kinds if k.item_id == "kind:testimonial")
    singles = [i for i in result.items if i.kind == "testimonial"]
    assert testimonials.n_exposed >= max(i.n_exposed for i in singles)


def test_json_has_exactly_the_documented_keys(result) -> None:  # type: ignore[no-untyped-def]
    rows = result.to_json()
    assert len(rows) == len(result.items)
    assert list(rows[0]) == [
        "item_id", "kind", "title", "n_exposed", "n_control", "effect", "ci_low", "ci_high",
        "p_value", "q_value", "naive_effect", "verdict", "reason",
        "holm_p", "adjusted_p", "error_control", "trial_effect", "trial_ci_low", "trial_ci_high",
    ]  # fmt: skip
    order = [r["verdict"] for r in rows]
    assert order.index("not_identifiable") > max(
        (order.index(v) for v in ("helps", "hurts", "no_evidence") if v in order), default=-1
    )


def test_trials_added_to_a_landmark_estimate_equal_the_estimate_with_trials(  # type: ignore[no-untyped-def]
    result, demo: Community
) -> None:
    # the weekly review estimates the landmark view only; the Impact page adds the trials to
    # that same (shared) estimate: the two steps give what one estimate with trials gives
    landmark = estimate_effects(demo, ImpactSettings(trials=False))
    assert landmark.table()["trial_effect"].is_null().all()
    assert landmark.table()["views"].eq("").all()
    trialled = with_trials(demo, landmark)
    assert trialled.settings == result.settings
    assert trialled.table().equals(result.table())
    assert trialled.table(kinds=True).equals(result.table(kinds=True))
    assert sum(i.trial_effect is not None for i in trialled.items) >= 3
    assert with_trials(demo, trialled) is trialled  # already there: nothing estimated again
    assert with_trials(demo, landmark, settings=ImpactSettings()).table().equals(result.table())
    with pytest.raises(InputError, match="other settings"):
        with_trials(demo, landmark, settings=ImpactSettings(horizon_days=60))


def test_population_uses_only_decidable_outcomes(demo: Community) -> None:
    settings = ImpactSettings()
    population = landmark_population(demo, settings)
    frame = population.frame
    cutoff = demo.as_of - pl.duration(days=settings.inactive_days)
    horizon = pl.col("joined_at") + pl.duration(days=settings.landmark_days + settings.horizon_days)
    assert frame.select((horizon <= cutoff).all()).item()
    assert set(frame["retained"].unique()) <= {0, 1}
    # covariates are measured before the landmark only: nothing from later activity
    assert frame["active_day_share"].max() <= 1.0
    assert "log_activity" in population.covariates
    assert any(c.startswith("channel=") for c in population.covariates)
    # reach (different items) and repeat viewing are two engagement signals
    assert {OTHER_EXPOSURES, OTHER_ITEMS} <= set(population.covariates)
    assert (frame["n_items_seen"] <= frame["n_exposures"]).all()
    assert (frame.filter(pl.col("n_exposures") > 0)["n_items_seen"] > 0).all()
    # every covariate is named in words (attributes are shown as "attribute=value")
    for covariate in population.covariates:
        if "=" not in covariate:
            assert covariate in FEATURES or covariate.startswith("log_"), covariate
    assert label(OTHER_ITEMS) == "different other proof items seen early (log count)"


def test_other_proof_covariates_leave_out_the_analysed_items_own_views() -> None:
    frame = pl.DataFrame(
        {"member_id": ["a", "b", "c"], "n_exposures": [5, 4, 0], "n_items_seen": [3, 2, 0]}
    )
    # a saw p1 twice and p2 once (and two rows of other items); b saw none of them
    own = pl.DataFrame(
        {"member_id": ["a", "a", "b"], "item_id": ["p1", "p2", "p9"], "n": [2, 1, 4]}
    )
    one = _exclude_own(frame, own, ["p1"])
    assert one[OTHER_EXPOSURES].to_list() == pytest.approx([math.log(4), math.log(5), 0.0])
    assert one[OTHER_ITEMS].to_list() == pytest.approx([math.log(3), math.log(3), 0.0])
    # a kind of items (p1 and p2 together): both left out
    both = _exclude_own(frame, own, ["p1", "p2"])
    assert both[OTHER_EXPOSURES].to_list() == pytest.approx([math.log(3), math.log(5), 0.0])
    assert both[OTHER_ITEMS].to_list() == pytest.approx([math.log(2), math.log(3), 0.0])


def test_benjamini_hochberg_by_hand() -> None:
    # p = .01, .04, .03, .20 -> ranked .01 .03 .04 .20: q = .04, .0533, .0533, .20
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.20]) == pytest.approx(
        [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.20]
    )
    assert benjamini_hochberg([]) == []
    assert max(benjamini_hochberg([0.9, 0.95])) <= 1.0


def test_benjamini_hochberg_never_rounds_a_q_value_below_its_p_value() -> None:
    # p * 5 / 5 is one ulp below p for this p (seen in an impact analysis of the demo)
    p_values = [0.1, 0.2, 0.3, 0.4, 0.9490706138384705]
    q_values = benjamini_hochberg(p_values)
    assert all(q >= p for p, q in zip(p_values, q_values, strict=True))
    assert q_values[-1] == p_values[-1]


def test_holm_by_hand_and_against_benjamini_hochberg() -> None:
    # p = .01, .04, .03, .20 (m = 4) -> sorted .01 .03 .04 .20 times 4, 3, 2, 1, running max:
    # .04, .09, .09, .20
    assert holm([0.01, 0.04, 0.03, 0.20]) == pytest.approx([0.04, 0.09, 0.09, 0.20])
    assert holm([]) == []
    # four strong effects and a borderline one among 20 items: BH flags the borderline one
    # (q = .012 * 20 / 5 = .048), Holm does not (.012 * 16 = .192)
    p_values = [1e-6, 2e-5, 1e-4, 4e-4, 0.012] + [0.2 + 0.04 * k for k in range(15)]
    q, h = benjamini_hochberg(p_values), holm(p_values)
    assert [x <= 0.05 for x in q[:5]] == [True] * 5
    assert [x <= 0.05 for x in h[:5]] == [True, True, True, True, False]
    assert all(hk >= qk for hk, qk in zip(h, q, strict=True))  # Holm never flags more


def _shown(name: str, value: float) -> str:
    """How a verdict reason must show an adjusted value: "< 0.001", never "= 0.000"."""
    return f"{name} < 0.001" if value < 0.001 else f"{name} = {value:.3f}"


def test_error_control_decides_the_verdict_and_says_so_in_words(demo: Community) -> None:
    per_item = estimate_effects(demo, sensitivity=False)
    fdr = estimate_effects(demo, ImpactSettings(error_control="fdr"), sensitivity=False)
    for a, b in zip(per_item.items, fdr.items, strict=True):
        assert a.effect == b.effect
        assert a.q_value == b.q_value
        assert a.holm_p == b.holm_p
        if a.effect is None:
            continue
        assert b.adjusted_p == b.q_value
        assert (b.verdict in {"helps", "hurts"}) == (b.q_value <= 0.05)
        if a.verdict in {"helps", "hurts"}:
            assert "this item alone: a 1-in-20 chance of a false alarm" in a.reason
            assert a.reason.startswith(_shown("Holm-adjusted p", a.holm_p))
        if b.verdict in {"helps", "hurts"}:
            assert "fewer than 1 in 20 items flagged this way is a false alarm" in b.reason
            assert b.reason.startswith(_shown("q", b.q_value))
    assert not any("0.000" in e.reason for e in (*per_item.items, *fdr.items))
    flagged = sum(e.verdict in {"helps", "hurts"} for e in per_item.items)
    assert flagged <= sum(e.verdict in {"helps", "hurts"} for e in fdr.items)
    assert {r["error_control"] for r in fdr.to_json()} == {"fdr"}
    with pytest.raises(ValueError, match="error_control"):
        ImpactSettings(error_control="bonferroni")  # type: ignore[arg-type]


def test_a_tiny_adjusted_p_reads_less_than_one_in_a_thousand_never_zero() -> None:
    for settings, name in (
        (ImpactSettings(), "Holm-adjusted p"),
        (ImpactSettings(error_control="fdr"), "q"),
    ):
        reason = verdict_reason(2e-32, True, 16, settings)
        assert reason.startswith(f"{name} < 0.001 across the 16 items compared: ")
        assert "0.000" not in reason
        assert verdict_reason(0.0123, True, 16, settings).startswith(f"{name} = 0.012 across")


def test_e_value_known_values() -> None:
    # VanderWeele & Ding: RR = 2 -> E = 2 + sqrt(2); protective effects use 1/RR
    assert e_value(0.6, 0.3) == pytest.approx(2 + math.sqrt(2))
    assert e_value(0.3, -0.3) == pytest.approx(2 + math.sqrt(2))
    assert e_value(0.5, 0.0) == pytest.approx(1.0)


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="at least 1 day"):
        ImpactSettings(landmark_days=0)
    with pytest.raises(ValueError, match="bootstrap"):
        ImpactSettings(bootstrap=10)


def test_refitting_bootstrap_agrees_with_the_influence_function(demo: Community) -> None:
    fast = estimate_effects(demo, sensitivity=False)
    boot = estimate_effects(demo, ImpactSettings(bootstrap=200), sensitivity=False)
    for a, b in zip(fast.items, boot.items, strict=True):
        if a.effect is None:
            continue
        assert a.effect == b.effect
        width_a, width_b = a.ci_high - a.ci_low, b.ci_high - b.ci_low
        # two honest ways to the same uncertainty: widths within 35 % of each other
        assert width_b == pytest.approx(width_a, rel=0.35)


def test_without_proof_tables_the_analysis_says_what_is_missing(minimal_folder: Path) -> None:
    community = load_community(open_source(minimal_folder))
    with pytest.raises(ValueError, match="needs the proof_items and exposures tables"):
        estimate_effects(community)


def test_results_are_repeatable(demo: Community) -> None:
    a = estimate_effects(demo, sensitivity=False).table()
    b = estimate_effects(demo, sensitivity=False).table()
    assert a.equals(b)
    assert np.isfinite(a.filter(pl.col("effect").is_not_null())["effect"].to_numpy()).all()


def test_any_time_view_refuses_the_tenure_badge(demo: Community) -> None:
    from analytics.impact import time_varying_effects

    cox = time_varying_effects(demo)
    yearling = next(t for t in cox.terms if t.name == "b004")
    assert not yearling.estimable
    assert yearling.hazard_ratio is None
    assert yearling.reason
    planted = next(t for t in cox.terms if t.name == "p001")  # hazard ratio 0.6 planted
    assert planted.estimable
    assert planted.ci_high < 1.0
    assert {t.name for t in cox.terms} >= {"join_years", *demo.proof_items["item_id"]}  # type: ignore[index]


def test_models_fitted_on_a_weighted_sample_give_nearly_the_same_effects(
    demo: Community, result
) -> None:  # type: ignore[no-untyped-def]
    # the default cap (100 k members) is above the demo: every model saw every member
    assert result.population_size < ImpactSettings().max_model_rows  # type: ignore[operator]
    sampled = estimate_effects(demo, ImpactSettings(max_model_rows=1_500), sensitivity=False)
    compared = 0
    for full, part in zip(result.items, sampled.items, strict=True):
        assert (full.effect is None) == (part.effect is None)
        if full.effect is None or part.effect is None:
            continue
        width = full.ci_high - full.ci_low
        assert abs(part.effect - full.effect) < width / 3
        compared += 1
    assert compared >= 5


def test_a_weighted_sample_takes_up_to_half_from_each_group_and_weighs_them_back() -> None:
    y = np.r_[np.zeros(9_000, dtype=np.int8), np.ones(300, dtype=np.int8)]
    assert _subsample(y, None, 1) is None
    assert _subsample(y, 20_000, 1) is None
    found = _subsample(y, 1_000, 1)
    assert found is not None
    rows, weight = found
    assert (y[rows] == 0).sum() == 500
    assert (y[rows] == 1).sum() == 300  # the rarer group is kept whole
    assert weight[y[rows] == 0].sum() == pytest.approx(9_000)
    assert weight[y[rows] == 1].sum() == pytest.approx(300)
    again = _subsample(y, 1_000, 1)
    assert again is not None
    assert np.array_equal(again[0], rows)


def test_one_early_activity_job_serves_every_population_exactly(demo: Community) -> None:
    settings = [ImpactSettings(inactive_days=d) for d in (14, 30, 60)]
    early = early_activity_by(demo, 30, [_joined_until(demo, s) for s in settings])
    for s in settings:
        # computed afresh both ways (landmark_population itself shares one per settings)
        alone = _landmark_population(demo, s, None)
        shared = _landmark_population(demo, s, early)
        assert shared.covariates == alone.covariates
        assert shared.frame.equals(alone.frame)
    assert len({len(p) for p in early.kinds.values()}) >= 1


def test_the_population_is_computed_once_per_settings_it_depends_on(
    demo_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The estimate and every drill-down share one population per community and the settings
    that decide it; other such settings, or another community, get their own."""
    community = load_community(open_source(demo_folder))
    first = landmark_population(community, ImpactSettings())
    # settings the population does not depend on: the same frame, their own settings
    again = landmark_population(community, ImpactSettings(trials=False, error_control="fdr"))
    assert again.frame is first.frame
    assert again.settings == ImpactSettings(trials=False, error_control="fdr")
    recent = landmark_population(community, ImpactSettings(recency_days=3))
    assert recent.frame is not first.frame
    assert recent.frame["present_at_landmark"].sum() < first.frame["present_at_landmark"].sum()
    other = load_community(open_source(demo_folder))
    assert landmark_population(other, ImpactSettings()).frame is not first.frame
    # the drill-downs read the shared population rather than computing their own
    computed: list[ImpactSettings] = []

    def counted(community: Community, settings: ImpactSettings, early: object) -> object:
        computed.append(settings)
        return _landmark_population(community, settings, early)  # type: ignore[arg-type]

    monkeypatch.setattr(population_module, "_landmark_population", counted)
    for item in ("p001", "p002"):
        assert item_detail(community, item).curves.height > 0
    assert computed == []
    item_detail(community, "p001", ImpactSettings(horizon_days=60))
    assert [s.horizon_days for s in computed] == [60]


def test_population_is_decided_only_by_what_is_known_at_the_landmark(demo: Community) -> None:
    """Present at day 30 = some activity in the 7 days before it and no departure before it:
    members whose only signs of life come after day 30 are not compared, whatever they did."""
    frame = landmark_population(demo, ImpactSettings()).frame
    rows = (
        demo.activity.join(demo.members.select("member_id", "joined_at", "left_at"), on="member_id")
        .with_columns(
            ((pl.col("occurred_at") - pl.col("joined_at")).dt.total_seconds() / 86_400).alias("d")
        )
        .group_by("member_id")
        .agg(
            ((pl.col("d") >= 23) & (pl.col("d") < 30)).any().alias("week_before"),
            (pl.col("d") >= 30).any().alias("after"),
            ((pl.col("left_at") - pl.col("joined_at")).dt.total_seconds() / 86_400)
            .first()
            .alias("left_day"),
        )
    )
    checked = frame.join(rows, on="member_id", how="left").with_columns(
        pl.col("week_before", "after").fill_null(False)
    )
    expected = checked["week_before"] & (
        checked["left_day"].is_null() | (checked["left_day"] >= 30)
    ).fill_null(True)
    assert (checked["present_at_landmark"] == expected).all()
    # members seen only after day 30 exist in the demo, and none of them is compared
    later_only = checked.filter(~pl.col("week_before") & pl.col("after"))
    assert later_only.height > 10
    assert not later_only["present_at_landmark"].any()
    # the estimand is said in words
    assert estimate_effects(demo, sensitivity=False).estimand.startswith(
        "members active in the week before day 30"
    )


def test_demo_truth_is_about_the_population_the_analysis_compares(
    demo: Community, demo_folder: Path
) -> None:
    """truth.json's active_landmark_att counts the members the analysis counts as exposed (same
    estimand); no-effect items have truth 0 and the protective ones a positive truth."""
    import json

    truth = json.loads((demo_folder / "truth.json").read_text())
    result = estimate_effects(demo, sensitivity=False)
    for entry in truth["proof_items"]:
        block = entry["active_landmark_att"]
        assert block["recency_days"] == 7
        item = _item(result, entry["item_id"])
        if entry["kind"] != "badge":
            # the generator's exposures while alive before day 30 and the analysis's exposure
            # rows before the landmark: the same members up to timestamp rounding
            assert block["n"] == pytest.approx(item.n_exposed, abs=2)
        if entry["hazard_ratio"] == 1.0:
            assert block["value"] == 0.0
        elif entry["hazard_ratio"] < 1.0:
            assert block["value"] > 0.0


def test_demo_trial_truth_is_about_the_members_the_trials_count_as_newly_exposed(
    demo_folder: Path,
    result,  # type: ignore[no-untyped-def]
) -> None:
    """truth.json's trial_att counts the members the sequential trials count as newly exposed
    (first exposure at or before the first activity of an active day, published, decidable;
    the analysis's as-of time being the data's latest timestamp): the same members, items and
    badges alike, up to timestamp rounding; its value is 0 for no-effect items and has the
    planted sign otherwise."""
    import json

    truth = json.loads((demo_folder / "truth.json").read_text())
    assert result.settings.trial_grace_days == 1  # the truth's grace period
    for entry in truth["proof_items"]:
        block = entry["trial_att"]
        item = _item(result, entry["item_id"])
        assert block["n"] == pytest.approx(item.trial_n_exposed, abs=2), entry["item_id"]
        if entry["hazard_ratio"] == 1.0:
            assert block["value"] == 0.0
        else:
            assert np.sign(block["value"]) == np.sign(1.0 - entry["hazard_ratio"])


def test_item_survival_curves_have_one_point_per_day_on_the_full_curve(demo: Community) -> None:
    """The drill-down's curves keep one point per day (the survival after the day's last churn),
    start at 1, never rise, and rest on fewer members as they go."""
    detail = item_detail(demo, "p001")
    assert detail.curves.height > 0
    for (group,), rows in detail.curves.group_by("group", maintain_order=True):
        days = rows["days"].to_numpy()
        survival = rows["survival"].to_numpy()
        assert days[0] == 0.0, group
        assert survival[0] == 1.0, group
        buckets = np.floor(days[1:])
        assert len(np.unique(buckets)) == len(buckets), group  # one point per day
        assert np.all(np.diff(survival) <= 1e-12), group
        assert np.all(np.diff(rows["at_risk"].to_numpy()) <= 0), group
