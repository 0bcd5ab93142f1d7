"""Kaplan–Meier curves and the log-rank test, checked against lifelines and textbook values."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import polars as pl
import pytest
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test as lifelines_logrank
from lifelines.statistics import multivariate_logrank_test
from lifelines.utils import median_survival_times

from analytics import survival
from analytics.survival import (
    MISSING_GROUP,
    SurvivalCurve,
    compare_groups,
    kaplan_meier,
    logrank_test,
)

TOL = 1e-9

# Freireich et al. (1963) leukaemia trial, remission times in weeks (Gehan 1965; the worked
# example of Kleinbaum & Klein, "Survival Analysis", ch. 2). 0 in the event list = censored.
SIX_MP = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
SIX_MP_EVENTS = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
PLACEBO = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]


def _lifelines(durations: Sequence[float], events: Sequence[int], level: float = 0.95) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifelines warns about its own log(0) at S = 0
        kmf = KaplanMeierFitter(alpha=1 - level).fit(np.asarray(durations), np.asarray(events))
        band = kmf.confidence_interval_.to_numpy()
        median_ci = median_survival_times(kmf.confidence_interval_).to_numpy().ravel()
    table = kmf.event_table
    return {
        "kmf": kmf,
        "timeline": kmf.timeline,
        "survival": kmf.survival_function_.to_numpy()[:, 0],
        "ci_low": band[:, 0],
        "ci_high": band[:, 1],
        "at_risk": table["at_risk"].to_numpy(),
        "events": table["observed"].to_numpy(),
        "censored": table["censored"].to_numpy(),
        "median": kmf.median_survival_time_,
        "median_ci": tuple(float(x) for x in median_ci),
    }


def _assert_matches_lifelines(
    durations: Sequence[float], events: Sequence[int], level: float = 0.95
) -> SurvivalCurve:
    curve = kaplan_meier(durations, events, level=level)
    ref = _lifelines(durations, events, level)
    np.testing.assert_array_equal(curve.timeline, ref["timeline"])
    for key in ("survival", "ci_low", "ci_high"):
        np.testing.assert_allclose(getattr(curve, key), ref[key], rtol=0, atol=TOL, err_msg=key)
    for key in ("at_risk", "events", "censored"):
        np.testing.assert_array_equal(getattr(curve, key), ref[key], err_msg=key)
    np.testing.assert_allclose(curve.median, ref["median"], rtol=0, atol=TOL)
    np.testing.assert_allclose(curve.median_ci, ref["median_ci"], rtol=0, atol=TOL)
    assert curve.n == len(durations)
    assert curve.n_events == int(np.sum(events))
    return curve


def _assert_median_ci_covers_band(curve: SurvivalCurve) -> None:
    """Every day whose band contains 50 % lies inside the median's interval."""
    inside = (curve.ci_low <= 0.5) & (curve.ci_high >= 0.5)
    low, high = curve.median_ci
    assert np.all(curve.timeline[inside] >= low)
    assert np.all((curve.timeline[inside] < high) | (curve.timeline[inside] == low))


HAND_CASES: dict[str, tuple[list[float], list[int]]] = {
    # ties between churn and censoring at 2, 3 and 5 days
    "ties": ([1, 2, 2, 2, 3, 3, 4, 5, 5, 6], [1, 1, 1, 0, 0, 1, 1, 0, 1, 0]),
    "all censored": ([3, 1, 4, 1, 5, 9], [0, 0, 0, 0, 0, 0]),
    "all churned": ([2, 2, 3, 5, 8], [1, 1, 1, 1, 1]),
    "single churned": ([4.5], [1]),
    "single censored": ([4.5], [0]),
    "churn on day 0": ([0, 0, 0, 1, 2, 2, 3], [1, 0, 1, 1, 0, 1, 1]),
    "everyone on day 0": ([0, 0, 0], [1, 0, 1]),
    "last churn empties the curve": ([1, 2, 3, 3], [0, 1, 1, 1]),
    "censored with the last churn": ([1, 2, 3, 3], [1, 1, 1, 0]),
    "fractional days": ([0.25, 1.5, 1.5, 2.75, 10.0, 10.0, 12.125], [1, 0, 1, 1, 1, 0, 0]),
    "median exactly half": ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [1] * 10),
}


@pytest.mark.parametrize("case", list(HAND_CASES))
def test_hand_cases_match_lifelines(case: str) -> None:
    durations, events = HAND_CASES[case]
    curve = _assert_matches_lifelines(durations, events)
    _assert_median_ci_covers_band(curve)


def test_ties_by_hand() -> None:
    curve = kaplan_meier(*HAND_CASES["ties"])
    np.testing.assert_array_equal(curve.timeline, [0, 1, 2, 3, 4, 5, 6])
    np.testing.assert_array_equal(curve.at_risk, [10, 10, 9, 6, 4, 3, 1])
    np.testing.assert_array_equal(curve.events, [0, 1, 2, 1, 1, 1, 0])
    np.testing.assert_array_equal(curve.censored, [0, 0, 1, 1, 0, 1, 1])
    # members censored on a churn day still count as at risk on that day
    expected = np.cumprod([1, 9 / 10, 7 / 9, 5 / 6, 3 / 4, 2 / 3, 1])
    np.testing.assert_allclose(curve.survival, expected, rtol=0, atol=1e-12)
    assert curve.median == 4.0  # S(3) = 0.583, S(4) = 0.4375


def test_undefined_band_points_collapse_to_the_estimate() -> None:
    censored = kaplan_meier(*HAND_CASES["all censored"])
    assert np.all(censored.survival == 1.0)
    assert np.all(censored.ci_low == 1.0)
    assert np.all(censored.ci_high == 1.0)
    assert censored.median == math.inf
    assert censored.median_ci == (math.inf, math.inf)

    churned = kaplan_meier(*HAND_CASES["all churned"])
    assert churned.survival[0] == churned.ci_low[0] == churned.ci_high[0] == 1.0
    assert churned.survival[-1] == churned.ci_low[-1] == churned.ci_high[-1] == 0.0
    inner = slice(1, -1)
    assert np.all(churned.ci_low[inner] < churned.survival[inner])
    assert np.all(churned.survival[inner] < churned.ci_high[inner])
    for curve in (censored, churned):
        assert np.isfinite(curve.ci_low).all()
        assert np.isfinite(curve.ci_high).all()


def test_churn_on_day_zero_starts_below_one() -> None:
    curve = kaplan_meier([0, 0, 0, 1, 2], [1, 1, 0, 1, 0])
    assert curve.timeline[0] == 0.0
    assert curve.at_risk[0] == 5
    assert curve.survival[0] == pytest.approx(3 / 5)


def test_timeline_without_day_zero_durations_starts_at_zero() -> None:
    curve = kaplan_meier([3.0, 5.0], [1, 0])
    np.testing.assert_array_equal(curve.timeline, [0.0, 3.0, 5.0])
    np.testing.assert_array_equal(curve.at_risk, [2, 2, 1])


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("decimals", [0, 1, None])
def test_random_data_matches_lifelines(seed: int, decimals: int | None) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 2_000))
    churn = rng.exponential(rng.uniform(20, 200), n)
    observed = rng.exponential(rng.uniform(20, 200), n)
    durations = np.minimum(churn, observed)
    if decimals is not None:  # heavy ties between churn and censoring
        durations = np.round(durations, decimals)
    events = (churn <= observed).astype(int)
    curve = _assert_matches_lifelines(durations.tolist(), events.tolist())
    _assert_median_ci_covers_band(curve)
    if decimals == 0:
        assert curve.timeline.size < n / 2  # the ties really are heavy


@pytest.mark.parametrize("level", [0.8, 0.9, 0.99])
def test_other_levels_match_lifelines(level: float) -> None:
    rng = np.random.default_rng(11)
    durations = np.round(rng.weibull(1.3, 400) * 60)
    events = (rng.random(400) < 0.7).astype(int)
    curve = _assert_matches_lifelines(durations.tolist(), events.tolist(), level=level)
    assert curve.level == level


def test_large_sample_matches_lifelines() -> None:
    rng = np.random.default_rng(7)
    durations = rng.exponential(150, 50_000)
    events = (rng.random(50_000) < 0.6).astype(int)
    _assert_matches_lifelines(durations.tolist(), events.tolist())


def test_accepts_numpy_polars_and_booleans() -> None:
    durations, events = HAND_CASES["ties"]
    reference = kaplan_meier(durations, events)
    as_bool = kaplan_meier(np.asarray(durations, dtype=np.int32), np.asarray(events, dtype=bool))
    as_polars = kaplan_meier(pl.Series(durations), pl.Series(events, dtype=pl.Int8))
    for curve in (as_bool, as_polars):
        np.testing.assert_array_equal(curve.survival, reference.survival)
        np.testing.assert_array_equal(curve.timeline, reference.timeline)


def test_curve_arrays_are_read_only() -> None:
    curve = kaplan_meier([1, 2, 3], [1, 0, 1])
    with pytest.raises(ValueError, match="read-only"):
        curve.survival[0] = 0.5


# --------------------------------------------------------------------------------------------
# median interval where the band is not monotone


def test_median_interval_covers_a_band_that_rises_again() -> None:
    # 115 early churns, 82 censored, then 3 members of whom 2 churn one after the other: the
    # upper edge dips below 0.5 at day 2.13, climbs back above it at day 10 as the variance
    # jumps with 2 members left, and falls below for good at day 11.
    durations = (
        [1 + 0.01 * i for i in range(115)] + [5 + 0.001 * i for i in range(82)] + [10, 11, 12]
    )
    events = [1] * 115 + [0] * 82 + [1, 1, 0]
    curve = kaplan_meier(durations, events)
    high = curve.at([2.13, 9.0, 10.0, 11.0]).ci_high
    assert high[0] <= 0.5
    assert high[1] <= 0.5
    assert high[2] > 0.5
    assert high[3] <= 0.5
    assert curve.median_ci[1] == 11.0
    _assert_median_ci_covers_band(curve)
    # lifelines' binary search over the non-monotone edge stops at the first dip instead
    assert _lifelines(durations, events)["median_ci"][1] == pytest.approx(2.13)


# --------------------------------------------------------------------------------------------
# reading the curve at any day


def test_at_is_a_right_continuous_step_function() -> None:
    durations, events = HAND_CASES["ties"]
    curve = kaplan_meier(durations, events)
    grid = np.array([-1.0, 0.0, 0.5, 1.0, 1.999, 2.0, 2.5, 5.0, 6.0, 7.0, 100.0])
    read = curve.at(grid)
    ref = _lifelines(durations, events)["kmf"]
    # lifelines gives NaN before day 0; nobody has churned before joining, so 1.0 there
    expected_s = ref.predict(grid).to_numpy()
    np.testing.assert_allclose(read.survival[1:], expected_s[1:], rtol=0, atol=TOL)
    assert math.isnan(expected_s[0])
    assert read.survival[0] == read.ci_low[0] == read.ci_high[0] == 1.0
    index = [1, 1, 1, 2, 2, 3, 3, 6, 7, 7, 7]  # timeline point in force; 0 = before day 0
    for i, j in enumerate(index):
        if j:
            assert read.survival[i] == curve.survival[j - 1]
            assert read.ci_low[i] == curve.ci_low[j - 1]
            assert read.ci_high[i] == curve.ci_high[j - 1]
    # at risk just before day t: members whose tenure is at least t
    expected = (np.asarray(durations)[None, :] >= grid[:, None]).sum(axis=1)
    np.testing.assert_array_equal(read.at_risk, expected)


def test_at_on_a_daily_grid_matches_lifelines() -> None:
    rng = np.random.default_rng(3)
    durations = rng.exponential(40, 300)
    events = (rng.random(300) < 0.8).astype(int)
    curve = kaplan_meier(durations, events)
    days = np.arange(0, 200, dtype=float)
    read = curve.at(days)
    kmf = _lifelines(durations.tolist(), events.tolist())["kmf"]
    band = kmf.confidence_interval_.asof(days).to_numpy()
    np.testing.assert_allclose(read.survival, kmf.predict(days).to_numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(read.ci_low, band[:, 0], rtol=0, atol=TOL)
    np.testing.assert_allclose(read.ci_high, band[:, 1], rtol=0, atol=TOL)
    assert read.at_risk.tolist() == [int((durations >= d).sum()) for d in days]


def test_at_rejects_missing_days() -> None:
    curve = kaplan_meier([1, 2], [1, 1])
    with pytest.raises(ValueError, match="finite"):
        curve.at([1.0, float("nan")])


def test_frame_lists_every_timeline_point() -> None:
    curve = kaplan_meier(*HAND_CASES["ties"], label="ads")
    frame = curve.frame()
    assert frame.columns == [
        "group",
        "days",
        "survival",
        "ci_low",
        "ci_high",
        "at_risk",
        "events",
        "censored",
    ]
    assert frame.height == curve.timeline.size
    assert frame["group"].unique().to_list() == ["ads"]
    np.testing.assert_array_equal(frame["survival"].to_numpy(), curve.survival)
    assert int(frame["events"].sum()) == curve.n_events
    assert int(frame["events"].sum()) + int(frame["censored"].sum()) == curve.n


# --------------------------------------------------------------------------------------------
# textbook example


def test_leukaemia_six_mp_textbook_values() -> None:
    curve = _assert_matches_lifelines(SIX_MP, SIX_MP_EVENTS)
    read = curve.at([6, 7, 10, 13, 16, 22, 23])
    # Kleinbaum & Klein table 2.2; bands as R's survfit(conf.type = "log-log") prints them
    np.testing.assert_allclose(
        read.survival, [0.857, 0.807, 0.753, 0.690, 0.627, 0.538, 0.448], atol=5e-4
    )
    np.testing.assert_allclose(
        read.ci_low, [0.620, 0.563, 0.503, 0.432, 0.368, 0.268, 0.188], atol=5e-4
    )
    np.testing.assert_allclose(
        read.ci_high, [0.952, 0.923, 0.889, 0.849, 0.805, 0.747, 0.680], atol=5e-4
    )
    assert curve.survival[curve.timeline == 23][0] == pytest.approx(
        (18 / 21) * (16 / 17) * (14 / 15) * (11 / 12) * (10 / 11) * (6 / 7) * (5 / 6), abs=1e-12
    )
    assert curve.median == 23.0
    assert curve.median_ci == (13.0, math.inf)
    placebo = kaplan_meier(PLACEBO, [1] * len(PLACEBO))
    assert placebo.median == 8.0
    test = logrank_test(
        SIX_MP + PLACEBO, SIX_MP_EVENTS + [1] * 21, ["6-MP"] * 21 + ["placebo"] * 21
    )
    assert test.statistic == pytest.approx(16.79, abs=5e-3)
    assert test.p_value == pytest.approx(4.17e-5, abs=5e-8)
    assert test.degrees_of_freedom == 1


# --------------------------------------------------------------------------------------------
# log-rank test


def _random_groups(seed: int, k: int, n: int = 600) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    groups = rng.integers(0, k, n)
    scale = np.array([40.0, 55.0, 45.0, 80.0])[groups]
    churn = rng.exponential(scale)
    observed = rng.exponential(70, n)
    durations = np.round(np.minimum(churn, observed))  # ties within and across groups
    events = (churn <= observed).astype(int)
    return durations, events, groups


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_two_groups_match_lifelines(seed: int) -> None:
    durations, events, groups = _random_groups(seed, 2)
    ours = logrank_test(durations, events, np.where(groups == 0, "ads", "organic"))
    a, b = groups == 0, groups == 1
    ref = lifelines_logrank(durations[a], durations[b], events[a], events[b])
    assert abs(ours.statistic - ref.test_statistic) < TOL
    assert abs(ours.p_value - ref.p_value) < TOL
    assert ours.degrees_of_freedom == 1
    assert ours.groups == ("ads", "organic")


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("k", [2, 4])
def test_k_groups_match_lifelines(seed: int, k: int) -> None:
    durations, events, groups = _random_groups(seed, k)
    ours = logrank_test(durations, events, groups)
    ref = multivariate_logrank_test(durations, groups, events)
    assert abs(ours.statistic - ref.test_statistic) < TOL
    assert abs(ours.p_value - ref.p_value) < TOL
    assert ours.degrees_of_freedom == k - 1
    assert ours.groups == tuple(str(g) for g in range(k))


def test_logrank_in_small_blocks_gives_the_same_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    durations, events, groups = _random_groups(4, 4)
    whole = logrank_test(durations, events, groups)
    monkeypatch.setattr(survival, "_LOGRANK_BLOCK_CELLS", 10)  # 2 churn times per block
    blocks = logrank_test(durations, events, groups)
    assert blocks.statistic == pytest.approx(whole.statistic, abs=TOL)
    assert blocks.p_value == pytest.approx(whole.p_value, abs=TOL)


def test_logrank_detects_a_real_difference_and_not_a_fake_one() -> None:
    rng = np.random.default_rng(5)
    n = 2_000
    same = logrank_test(rng.exponential(50, n), np.ones(n), rng.integers(0, 3, n))
    assert same.p_value > 0.01
    groups = rng.integers(0, 2, n)
    differ = logrank_test(rng.exponential(np.where(groups == 1, 80, 50)), np.ones(n), groups)
    assert differ.p_value < 1e-6


def test_logrank_without_churn_finds_no_difference() -> None:
    result = logrank_test([1, 2, 3, 4], [0, 0, 0, 0], ["a", "b", "a", "b"])
    assert result.statistic == 0.0
    assert result.p_value == 1.0


def test_logrank_does_not_depend_on_group_names_or_order() -> None:
    durations, events, groups = _random_groups(9, 3)
    base = logrank_test(durations, events, groups)
    renamed = logrank_test(durations, events, np.array(["z", "m", "a"])[groups])
    shuffled = np.random.default_rng(0).permutation(durations.size)
    moved = logrank_test(durations[shuffled], events[shuffled], groups[shuffled])
    assert renamed.statistic == pytest.approx(base.statistic, abs=TOL)
    assert moved.statistic == pytest.approx(base.statistic, abs=TOL)
    assert renamed.groups == ("a", "m", "z")


def test_logrank_input_errors() -> None:
    with pytest.raises(ValueError, match="at least two groups"):
        logrank_test([1, 2], [1, 1], ["a", "a"])
    with pytest.raises(ValueError, match="missing label"):
        logrank_test([1, 2, 3], [1, 1, 0], ["a", None, "b"])
    with pytest.raises(ValueError, match="one group label per member"):
        logrank_test([1, 2, 3], [1, 1, 0], ["a", "b"])


# --------------------------------------------------------------------------------------------
# comparing groups


def _members(sizes: dict[str | None, int], seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    labels = [g for g, size in sizes.items() for _ in range(size)]
    n = len(labels)
    return pl.DataFrame(
        {
            "tenure_days": np.round(rng.exponential(60, n), 1),
            "churned": (rng.random(n) < 0.6).astype(np.int8),
            "channel": labels,
        },
        schema={"tenure_days": pl.Float64, "churned": pl.Int8, "channel": pl.String},
    )


def test_compare_groups_leaves_out_and_names_small_groups() -> None:
    table = _members({"ads": 40, "organic": 80, "referral": 12, None: 35, "events": 29})
    result = compare_groups(table, duration="tenure_days", event="churned", group="channel")
    assert [c.label for c in result.curves] == ["organic", "ads", MISSING_GROUP]
    assert [c.n for c in result.curves] == [80, 40, 35]
    assert result.too_small == (("events", 29), ("referral", 12))
    for curve in result.curves:
        rows = table.with_columns(pl.col("channel").fill_null(MISSING_GROUP)).filter(
            pl.col("channel") == curve.label
        )
        alone = kaplan_meier(rows["tenure_days"], rows["churned"], label=curve.label)
        np.testing.assert_array_equal(curve.survival, alone.survival)
        np.testing.assert_array_equal(curve.ci_high, alone.ci_high)
        assert curve.median_ci == alone.median_ci
    assert result.logrank is not None
    assert result.logrank.groups == ("organic", "ads", MISSING_GROUP)
    assert result.logrank.degrees_of_freedom == 2
    kept = table.with_columns(pl.col("channel").fill_null(MISSING_GROUP)).filter(
        pl.col("channel").is_in(["organic", "ads", MISSING_GROUP])
    )
    ref = multivariate_logrank_test(
        kept["tenure_days"].to_numpy(), kept["channel"].to_numpy(), kept["churned"].to_numpy()
    )
    assert abs(result.logrank.statistic - ref.test_statistic) < TOL
    assert abs(result.logrank.p_value - ref.p_value) < TOL


def test_compare_groups_min_group_size_and_single_group() -> None:
    table = _members({"ads": 40, "organic": 20})
    one = compare_groups(table, duration="tenure_days", event="churned", group="channel")
    assert [c.label for c in one.curves] == ["ads"]
    assert one.logrank is None
    assert one.too_small == (("organic", 20),)
    both = compare_groups(
        table, duration="tenure_days", event="churned", group="channel", min_group_size=20
    )
    assert [c.label for c in both.curves] == ["ads", "organic"]
    assert both.logrank is not None
    assert both.too_small == ()


def test_compare_groups_with_too_few_members_anywhere() -> None:
    table = _members({"ads": 3, "organic": 2})
    result = compare_groups(table, duration="tenure_days", event="churned", group="channel")
    assert result.curves == ()
    assert result.logrank is None
    assert result.too_small == (("ads", 3), ("organic", 2))
    assert result.frame().is_empty()
    assert result.summary().is_empty()
    empty = compare_groups(table.clear(), duration="tenure_days", event="churned", group="channel")
    assert empty.curves == ()
    assert empty.too_small == ()


def test_compare_groups_frame_and_summary() -> None:
    # followed for at most 200 days: still a member (censored) at day 200
    table = _members({"ads": 300, "organic": 200}, seed=4).with_columns(
        pl.when(pl.col("tenure_days") > 200).then(0).otherwise(pl.col("churned")).alias("churned"),
        pl.col("tenure_days").clip(upper_bound=200.0),
    )
    result = compare_groups(table, duration="tenure_days", event="churned", group="channel")
    stacked = result.frame()
    assert stacked.height == sum(c.timeline.size for c in result.curves)
    assert stacked["group"].unique(maintain_order=True).to_list() == ["ads", "organic"]
    summary = result.summary()
    assert summary["group"].to_list() == ["ads", "organic"]
    assert summary["n"].to_list() == [300, 200]
    for row, curve in zip(summary.iter_rows(named=True), result.curves, strict=True):
        assert row["events"] == curve.n_events
        assert row["median"] == curve.median
        assert (row["median_ci_low"], row["median_ci_high"]) == curve.median_ci
        read = curve.at([30, 90])
        assert row["survival_30d"] == read.survival[0]
        assert row["survival_30d_low"] == read.ci_low[0]
        assert row["survival_90d_high"] == read.ci_high[1]
        # nobody is followed for a year in this table: no value rather than a guess
        assert curve.follow_up < 365
        assert row["survival_365d"] is None


def test_summary_reports_zero_after_everyone_churned() -> None:
    table = pl.DataFrame(
        {"days": [float(d) for d in range(1, 31)], "churned": [1] * 30, "g": ["x"] * 30}
    )
    summary = compare_groups(table, duration="days", event="churned", group="g").summary()
    assert summary["survival_365d"].to_list() == [0.0]
    assert summary["survival_30d"].to_list() == [0.0]


def test_compare_groups_reads_non_text_groups_and_boolean_events() -> None:
    table = pl.DataFrame(
        {
            "days": np.arange(60, dtype=float),
            "left": np.arange(60) % 3 == 0,
            "quarter": [2024] * 30 + [2025] * 30,
        }
    )
    result = compare_groups(table, duration="days", event="left", group="quarter")
    assert sorted(c.label for c in result.curves) == ["2024", "2025"]
    assert sum(c.n_events for c in result.curves) == 20


def test_compare_groups_errors_name_the_columns() -> None:
    table = _members({"ads": 40})
    with pytest.raises(ValueError, match="'tenure' not in the table"):
        compare_groups(table, duration="tenure", event="churned", group="channel")
    bad = table.with_columns(pl.lit(-1.0).alias("tenure_days"))
    with pytest.raises(ValueError, match="column 'tenure_days' must be at least 0 days"):
        compare_groups(bad, duration="tenure_days", event="churned", group="channel")
    holes = table.with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(None).otherwise("churned").alias("churned")
    )
    with pytest.raises(ValueError, match=r"column 'churned' must be 0 .* fill missing values"):
        compare_groups(holes, duration="tenure_days", event="churned", group="channel")
    gaps = table.with_columns(
        pl.when(pl.int_range(pl.len()) == 5)
        .then(None)
        .otherwise("tenure_days")
        .alias("tenure_days")
    )
    with pytest.raises(ValueError, match=r"1 missing or infinite values \(first at position 5"):
        compare_groups(gaps, duration="tenure_days", event="churned", group="channel")
    text = table.with_columns(pl.col("tenure_days").cast(pl.String))
    with pytest.raises(ValueError, match="column 'tenure_days' must be numbers"):
        compare_groups(text, duration="tenure_days", event="churned", group="channel")
    with pytest.raises(ValueError, match="min_group_size"):
        compare_groups(
            table, duration="tenure_days", event="churned", group="channel", min_group_size=0
        )


# --------------------------------------------------------------------------------------------
# input validation


@pytest.mark.parametrize(
    ("durations", "events", "message"),
    [
        ([], [], "No members"),
        ([1, -2, 3], [1, 1, 0], r"at least 0 days, but 1 are negative \(first at position 1"),
        ([1, 2, 3], [1, 2, 0], r"must be 0 \(still a member\) or 1 \(churned\)"),
        ([1, 2, 3], [1, float("nan"), 0], "Convert the churn flag to 0/1 and fill missing"),
        ([1, 2, 3], [1, 0], "durations has 3 values but events has 2"),
        ([1, float("nan"), 3], [1, 0, 0], "1 missing or infinite values"),
        ([1, float("inf")], [1, 0], "missing or infinite"),
        (["1", "2"], [1, 0], "durations must be numbers"),
        ([[1, 2], [3, 4]], [1, 0], "1-D sequence"),
        ([1, 2], ["yes", "no"], "events must be numbers"),
        ([1, None], [1, 0], "missing or infinite"),
    ],
)
def test_input_validation_says_how_to_fix(durations: list, events: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        kaplan_meier(durations, events)


@pytest.mark.parametrize("level", [0.0, 1.0, 95])
def test_level_must_be_a_fraction(level: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        kaplan_meier([1, 2], [1, 0], level=level)
