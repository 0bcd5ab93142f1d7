"""Churn risk: no information from after the cutoff, labels by the churn definition, and a model
that beats the recency-only baseline on the demo community."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from analytics.community import Community, load_community
from analytics.errors import InputError, LeakageError
from analytics.io import FrameSource, open_source
from analytics.risk import (
    GROUPS,
    MIN_FACTOR,
    FeatureSpec,
    RiskSettings,
    _churn_dates,
    _features,
    _fit,
    _RankedScores,
    _samples,
    _sentence,
    _typical,
    at_risk_export,
    churn_labels,
    churn_risk,
    features_as_of,
    features_from,
    known_at,
    risk_factors,
    weighted_auc,
)
from analytics.risk.features import _days
from analytics.risk.model import _baseline, _predict, _predict_each
from tests.conftest import write_csvs

T0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(demo_folder: Path) -> Community:
    return load_community(open_source(demo_folder))


@pytest.fixture(scope="module")
def demo_risk(demo: Community):  # type: ignore[no-untyped-def]
    return churn_risk(demo)


def _community(tmp_path: Path, members: str, activity: str) -> Community:
    folder = write_csvs(tmp_path / "c", {"members": members, "activity": activity})
    return load_community(open_source(folder))


def _at(days: float) -> str:
    return (T0 + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S")


# -- no leakage --------------------------------------------------------------------------------


def test_features_do_not_change_when_the_future_changes(demo: Community) -> None:
    cutoff = demo.as_of - timedelta(days=120)
    before = features_as_of(demo, cutoff)
    later = pl.col("occurred_at") > cutoff
    # everything after the cutoff rewritten: more activity, other kinds, other departures
    future = demo.activity.filter(later)
    members = demo.members.with_columns(
        pl.when(pl.col("left_at") > cutoff)
        .then(None)
        .otherwise(pl.col("left_at"))
        .alias("left_at"),
        pl.lit(demo.as_of).alias("last_seen_at"),
    )
    activity = pl.concat(
        [
            demo.activity.filter(~later),
            future.with_columns(pl.lit("post").alias("kind")),
            future.with_columns(pl.col("occurred_at") + timedelta(hours=1)),
        ]
    )
    exposures = None if demo.exposures is None else demo.exposures.filter(
        pl.col("occurred_at") <= cutoff
    )  # fmt: skip
    tables = {"members": members, "activity": activity, "exposures": exposures,
              "proof_items": demo.proof_items, "milestones": demo.milestones}  # fmt: skip
    changed = load_community(
        FrameSource({k: v for k, v in tables.items() if v is not None}), as_of=demo.as_of
    )
    after = features_as_of(changed, cutoff, spec=FeatureSpec.from_known(known_at(demo, cutoff)))
    assert before.height > 100
    assert before.equals(after)


def test_a_row_after_the_cutoff_is_refused(demo: Community) -> None:
    cutoff = demo.as_of - timedelta(days=120)
    known = known_at(demo, cutoff)
    spec = FeatureSpec.from_known(known)
    late = known.activity.head(1).with_columns(pl.lit(cutoff + timedelta(seconds=1)).alias(
        "occurred_at"))  # fmt: skip
    with pytest.raises(LeakageError, match="after the cutoff"):
        features_from(replace(known, activity=pl.concat([known.activity, late])), spec,
                      inactive_days=30)  # fmt: skip
    departed = known.members.with_columns(pl.lit(cutoff + timedelta(days=1)).alias("left_at"))
    with pytest.raises(LeakageError, match="left_at"):
        features_from(replace(known, members=departed), spec, inactive_days=30)


def test_training_uses_only_labels_known_by_the_held_out_cutoff(demo_risk) -> None:  # type: ignore[no-untyped-def]
    ev = demo_risk.evaluation
    gap = demo_risk.settings.gap
    assert ev.eval_cutoff + gap <= demo_risk.as_of
    assert max(ev.training_cutoffs) + gap <= ev.eval_cutoff


# -- features and labels by construction -------------------------------------------------------


def test_features_and_population_by_construction(tmp_path: Path) -> None:
    # cutoff: day 100. a: active days 40, 90, 99 -> in; b: last active day 60 -> churned (quiet
    # 40 days) -> out; c: left on day 95 -> out; d: joins day 120 -> out; e: leaves on day 105,
    # which is not known at the cutoff -> in.
    c = _community(
        tmp_path,
        "member_id,joined_at,left_at\na,2024-01-01,\nb,2024-01-01,\n"
        f"c,2024-01-01,{_at(95)}\nd,{_at(120)},\ne,2024-01-01,{_at(105)}\n",
        "member_id,occurred_at,kind\n"
        f"a,{_at(40)},post\na,{_at(90)},comment\na,{_at(99)},post\nb,{_at(60)},post\n"
        f"c,{_at(94)},post\nd,{_at(121)},post\ne,{_at(98)},post\ne,{_at(104)},post\n",
    )
    frame = features_as_of(c, T0 + timedelta(days=100))
    assert frame["member_id"].to_list() == ["a", "e"]
    a = frame.row(0, named=True)
    assert a["days_since_last"] == pytest.approx(1.0)
    assert a["days_since_last_comment"] == pytest.approx(10.0)
    assert (a["activities_7d"], a["activities_28d"], a["activities_90d"]) == (1, 2, 3)
    assert a["activities_prev_28d"] == 0
    assert a["trend"] == pytest.approx(np.log(3.0))
    assert a["tenure_days"] == pytest.approx(100.0)
    e = frame.row(1, named=True)
    assert e["activities_28d"] == 1  # the activity on day 104 is after the cutoff


def test_labels_follow_the_churn_definition(tmp_path: Path) -> None:
    # cutoff day 100, horizon 30 -> churn date at or before day 130 counts.
    c = _community(
        tmp_path,
        "member_id,joined_at,left_at\nstays,2024-01-01,\nquits,2024-01-01,\n"
        f"leaves,2024-01-01,{_at(125)}\nlate,2024-01-01,\npause,2024-01-01,\n",
        "member_id,occurred_at,kind\n"
        + "".join(f"stays,{_at(d)},post\n" for d in range(0, 200, 5))
        + f"quits,{_at(99)},post\nleaves,{_at(124)},post\nlate,{_at(135)},post\n"
        # quiet from day 101 to 150, then back: not a churn by the definition
        + f"pause,{_at(101)},post\npause,{_at(150)},post\npause,{_at(199)},post\n",
    )
    labels = churn_labels(c, T0 + timedelta(days=100), known=T0 + timedelta(days=199))
    assert dict(labels.iter_rows()) == {"stays": 0, "quits": 1, "leaves": 1, "late": 0,
                                         "pause": 0}  # fmt: skip
    with pytest.raises(ValueError, match="not decidable"):
        churn_labels(c, T0 + timedelta(days=100), known=T0 + timedelta(days=150))


def test_weighted_auc_agrees_with_scikit_learn(rng: np.random.Generator) -> None:
    y = rng.integers(0, 2, size=500)
    score = np.round(rng.normal(size=500) + y, 1)  # with ties
    weight = rng.integers(0, 4, size=500).astype(float)
    assert weighted_auc(y, score) == pytest.approx(roc_auc_score(y, score))
    assert weighted_auc(y, score, weight) == pytest.approx(
        roc_auc_score(y, score, sample_weight=weight)
    )


def test_ranked_scores_give_the_weighted_auc_under_any_weights(rng: np.random.Generator) -> None:
    y = rng.integers(0, 2, size=2_000)
    score = np.round(rng.normal(size=2_000) + y, 1)  # with ties
    ranked = _RankedScores(y, score)
    for _ in range(5):
        weight = np.bincount(rng.integers(0, 2_000, 2_000), minlength=2_000).astype(float)
        assert ranked.auc(weight) == pytest.approx(weighted_auc(y, score, weight), rel=1e-12)
    assert ranked.auc(np.ones(2_000)) == pytest.approx(roc_auc_score(y, score), rel=1e-12)


def test_the_baseline_predicted_per_bin_equals_its_prediction_per_row(
    rng: np.random.Generator,
) -> None:
    days = rng.exponential(20.0, size=20_000)
    churned = rng.random(20_000) < 1.0 / (1.0 + np.exp(-(days - 20.0) / 8.0))
    base = _baseline(1).fit(days.reshape(-1, 1), churned)
    thresholds = base._bin_mapper.bin_thresholds_[0]
    # every threshold and its neighbours on both sides, the extremes, missing values
    values = np.concatenate([
        days, rng.uniform(-5.0, 400.0, 2_000), thresholds, np.nextafter(thresholds, np.inf),
        np.nextafter(thresholds, -np.inf), [np.inf, -np.inf, np.nan, 0.0, -1.0, 1e12],
    ])  # fmt: skip
    expected = base.predict_proba(values.reshape(-1, 1))[:, 1]
    found = _predict(base, values.reshape(-1, 1))
    np.testing.assert_array_equal(found, expected)
    assert len(np.unique(found)) > 5  # a step function with steps, not a constant


def test_predictions_of_stacked_matrices_equal_each_alone(rng: np.random.Generator) -> None:
    x = rng.normal(size=(3_000, 4))
    y = rng.random(3_000) < 1.0 / (1.0 + np.exp(-x[:, 0] - x[:, 1] * x[:, 2]))
    model = HistGradientBoostingClassifier(max_iter=30, random_state=1).fit(x, y)
    parts = [x[:1_000], x[1_000:1_001], rng.normal(size=(60_000, 4)), x[:0]]
    found = _predict_each(model, parts)
    assert [len(f) for f in found] == [len(p) for p in parts]
    for part, predicted in zip(parts[:-1], found, strict=False):
        np.testing.assert_array_equal(predicted, model.predict_proba(part)[:, 1])


def test_factors_in_words_equal_the_sentence_of_each_member(demo: Community) -> None:
    # the factors are built column-wise; member by member they read as _sentence writes them
    frame = features_as_of(demo, demo.as_of)
    spec = FeatureSpec.from_known(known_at(demo, demo.as_of))
    typical = _typical(frame, spec)
    # a label that depends on several groups, so that factors of several kinds appear
    labels = frame.select(
        (
            (pl.col("days_since_last") > typical["days_since_last"])
            ^ (pl.col("tenure_days") < typical["tenure_days"])
            ^ (pl.col("activities_28d") > pl.col("activities_prev_28d"))
        ).cast(pl.Int8)
    ).to_series()
    model, _ = _fit(frame.with_columns(labels.alias("churned")), spec, RiskSettings())
    found = risk_factors(model, frame, spec, typical).to_list()
    x = frame.select(list(spec.columns())).to_numpy().astype(np.float64)
    risk = model.predict_proba(x)[:, 1]
    columns = list(spec.columns().items())
    groups = [g for g in GROUPS if any(c == g for _, c in columns)]
    drops = []
    for group in groups:
        swapped = x.copy()
        for i, (name, g) in enumerate(columns):
            if g == group:
                swapped[:, i] = typical[name]
        drops.append(risk - model.predict_proba(swapped)[:, 1])
    matrix = np.column_stack(drops)
    rows = frame.select(list(spec.columns())).to_dicts()
    expected = []
    for i, row in enumerate(rows):
        order = np.argsort(-matrix[i], kind="stable")[:3]
        expected.append(
            [_sentence(groups[j], row, typical, spec) for j in order if matrix[i, j] >= MIN_FACTOR]
        )
    assert found == expected
    assert sum(len(f) for f in found) > frame.height  # most members have several factors
    assert len({g for f in found for g in f}) > 50
    openings = {text.split(" ")[0] for f in found for text in f}
    assert {"no", "member", "activity"} <= openings


def test_training_features_are_computed_for_a_sample_of_a_large_community(
    demo: Community,
) -> None:
    cutoffs = [demo.as_of - timedelta(days=100 + 14 * i) for i in range(6)]
    assert _samples(demo, [cutoffs], None, RiskSettings())[0] is None  # 10 k members: everyone
    settings = RiskSettings(max_training_rows=500)
    sample = _samples(demo, [cutoffs], None, settings)[0]
    assert sample is not None
    present = sum(features_as_of(demo, c).height for c in cutoffs)
    # about twice the rows a model trains on, chosen by the seed alone
    assert 1.4 * 500 < present * sample.height / demo.members.height < 2.6 * 500
    again = _samples(demo, [cutoffs[::-1]], None, settings)[0]
    assert again is not None
    assert again.equals(sample)
    result = churn_risk(demo, settings)
    assert result.evaluation is not None
    assert 1.4 * 500 < result.evaluation.n_train < 2.6 * 500
    # the held-out check and today's ranking still cover every member
    everyone = churn_risk(demo)
    assert result.at_risk.height == everyone.at_risk.height


def test_a_large_community_is_checked_on_a_sample_drawn_apart_from_the_training_sample(
    demo: Community,
) -> None:
    settings = RiskSettings(max_training_rows=500, max_eval_rows=200)
    eval_cutoff = demo.as_of - settings.gap
    cutoffs = [eval_cutoff - settings.gap - timedelta(days=14 * i) for i in range(6)]
    assert _samples(demo, [cutoffs], eval_cutoff, RiskSettings()) == (None, None)  # everyone
    train, held = _samples(demo, [cutoffs], eval_cutoff, settings)
    assert train is not None
    assert held is not None
    alone = _samples(demo, [cutoffs], None, settings)[0]
    assert alone is not None
    assert train.equals(alone)
    assert train.join(held, on="member_id", how="inner").is_empty()
    present = features_as_of(demo, eval_cutoff).height
    assert 0.6 * 200 < present * held.height / demo.members.height <= 1.2 * 200
    # the held-out sample's features are everyone's, of its members
    spec = FeatureSpec.from_known(known_at(demo, eval_cutoff))
    whole, of_sample = _features(
        demo, [(eval_cutoff, spec)] * 2, inactive_days=30, only=[None, held]
    )
    assert of_sample.equals(whole.join(held, on="member_id", how="semi"))
    result = churn_risk(demo, settings)
    assert result.evaluation is not None
    assert result.evaluation.eval_sampled
    assert result.evaluation.n_eval == of_sample.height
    assert f"a random sample of {result.evaluation.n_eval:,} members" in result.evaluation.summary()
    # today's ranking still covers every member
    assert result.at_risk.height == churn_risk(demo).at_risk.height


def test_factors_are_worked_out_for_the_members_at_highest_risk(demo: Community, demo_risk) -> None:  # type: ignore[no-untyped-def]
    capped = churn_risk(demo, replace(RiskSettings(), max_factor_rows=40))
    assert capped.at_risk.drop("factors").equals(demo_risk.at_risk.drop("factors"))
    factors = capped.at_risk["factors"]
    assert factors.head(40).equals(demo_risk.at_risk["factors"].head(40))
    assert factors.slice(40).is_null().all()
    assert demo_risk.at_risk["factors"].is_not_null().all()
    export = at_risk_export(capped)
    assert export["factors"][40].startswith("not worked out")
    assert capped.to_json()["members"][40]["factors"] is None


def test_churn_dates_from_the_feature_job_equal_their_own_query(demo: Community) -> None:
    cutoffs = [demo.as_of - timedelta(days=d) for d in (0, 60, 200)]
    spec = FeatureSpec.from_known(known_at(demo, cutoffs[0]))
    last_at: dict[datetime, pl.DataFrame] = {}
    _features(demo, [(c, spec) for c in cutoffs], inactive_days=30, last_at=last_at)
    for c in cutoffs:
        expected = _churn_dates(demo, known=c, inactive_days=30)
        found = _churn_dates(demo, known=c, inactive_days=30, last=last_at[c])
        assert found.sort("member_id").equals(expected.sort("member_id"))
        assert found["churned_at"].is_not_null().sum() > 100


# -- the model on the demo ---------------------------------------------------------------------


def test_model_beats_the_recency_baseline_on_the_demo(demo_risk) -> None:  # type: ignore[no-untyped-def]
    # The demo's lifetimes depend on engagement (which drives activity and exposures) and have a
    # falling hazard (tenure): signal beyond recency that the model should find. The interval is
    # a paired bootstrap over the held-out members.
    ev = demo_risk.evaluation
    assert ev is not None
    assert ev.beats_baseline
    assert ev.auc > ev.baseline_auc + 0.03
    assert ev.pr_auc > ev.baseline_pr_auc
    assert ev.brier < ev.baseline_brier
    assert demo_risk.ranked_by == "model"
    top = demo_risk.importance.row(0, named=True)
    assert top["group"] == "recency"
    assert top["ci_low"] > 0


def test_at_risk_ranks_current_members_with_factors_in_words(demo: Community, demo_risk) -> None:  # type: ignore[no-untyped-def]
    ranked = demo_risk.at_risk
    current = features_as_of(demo, demo.as_of)
    assert sorted(ranked["member_id"].to_list()) == current["member_id"].to_list()
    assert ranked["risk"].to_list() == sorted(ranked["risk"].to_list(), reverse=True)
    assert ranked["rank"].to_list() == list(range(1, ranked.height + 1))
    top = ranked.row(0, named=True)
    assert top["factors"]
    assert all(isinstance(f, str) for f in top["factors"])
    # the riskiest members are quieter than the typical one, and say so
    assert top["days_since_last"] > demo_risk.typical["days_since_last"]
    payload = demo_risk.to_json()
    assert set(payload) >= {"auc", "baseline_auc", "members"}
    assert set(payload["members"][0]) == {"member_id", "risk", "factors"}
    export = at_risk_export(demo_risk, top=5)
    assert export.height == 5
    assert export.schema["factors"] == pl.String


def test_too_little_history_gives_a_reason_not_a_model(tmp_path: Path) -> None:
    c = _community(
        tmp_path,
        "member_id,joined_at\na,2024-01-01\nb,2024-01-02\n",
        f"member_id,occurred_at,kind\na,{_at(3)},post\nb,{_at(50)},post\n",
    )
    result = churn_risk(c, RiskSettings())
    assert result.evaluation is None
    assert result.ranked_by is None
    assert "too little time" in (result.reason or "")
    assert result.to_json()["members"] == []


# -- the query path equals the eager definition ------------------------------------------------


@pytest.mark.parametrize("days_before", [0, 60, 120, 200])
def test_features_from_queries_equal_the_eager_features(demo: Community, days_before: int) -> None:
    cutoff = demo.as_of - timedelta(days=days_before)
    known = known_at(demo, cutoff)
    spec = FeatureSpec.from_known(known)
    expected = features_from(known, spec, inactive_days=30)
    found = features_as_of(demo, cutoff, inactive_days=30)
    assert expected.height > 100
    assert found.equals(expected)  # the same floats, to the last bit


def test_days_do_not_depend_on_how_the_frame_is_chunked() -> None:
    """The same member's days come out bit for bit the same whether their row sits in a long
    chunk or a one-row chunk of a frame (the flaky no-leakage test above compared the two)."""
    rng = np.random.default_rng(3)
    frame = pl.DataFrame(
        {"joined_at": [T0 - timedelta(microseconds=int(u)) for u in rng.integers(0, 10**14, 400)]}
    )
    pieces = pl.concat([frame.slice(i, 1) for i in range(frame.height)], rechunk=False)
    assert pieces["joined_at"].n_chunks() == frame.height
    days = _days(T0, pl.col("joined_at")).alias("days")
    whole = frame.select(days)["days"]
    assert pieces.select(days)["days"].to_list() == whole.to_list()
    assert whole.is_between(0.0, 10**14 / 86_400e6 * 1.000001).all()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"horizon_days": 0}, "horizon_days and inactive_days must be at least 1 day"),
        ({"training_cutoffs": 0}, "training_cutoffs and step_days must be at least 1"),
        ({"bootstrap": 10}, "repeats must be at least 2 and bootstrap at least 20"),
        ({"max_eval_rows": 0}, "max_eval_rows must be at least 1"),
    ],
)
def test_settings_out_of_range_are_refused_in_words(changes: dict[str, int], message: str) -> None:
    with pytest.raises(InputError, match=message):
        RiskSettings(**changes)
