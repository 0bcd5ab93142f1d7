"""Cox model with time-varying exposure: intervals, lifelines agreement, planted effects, traps."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import polars as pl
import pytest
from lifelines import CoxPHFitter, CoxTimeVaryingFitter

from analytics.cox import CoxResult, counting_process, fit_cox_time_varying

# Agreement with lifelines. lifelines stops Newton early by default (its standard errors can then
# be ~1e-6 off its own optimum on small data), so it is run with a strict precision here; both
# then agree to about 1e-12.
TOL = 1e-9
STRICT = {"precision": 1e-14}


# --------------------------------------------------------------------------------------------
# helpers


def _members(
    tenure: Sequence[float], churned: Sequence[int], **fixed: Sequence[float]
) -> pl.DataFrame:
    ids = [f"m{i}" for i in range(len(tenure))]
    return pl.DataFrame(
        {"member_id": ids, "tenure_days": tenure, "churned": churned}
        | {k: list(v) for k, v in fixed.items()}
    )


def _exposures(rows: Sequence[tuple[str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"member_id": pl.String, "item_id": pl.String, "day": pl.Float64},
        orient="row",
    )


def _random_community(
    rng: np.random.Generator, n: int, *, whole_days: bool = True
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Members with several covariates and exposures; whole-day tenures give many ties."""
    tenure = rng.exponential(90.0, n) + 0.5
    if whole_days:
        tenure = np.ceil(tenure)
    members = pl.DataFrame(
        {
            "member_id": np.arange(n),
            "tenure_days": tenure,
            "churned": rng.integers(0, 2, n),
            "age": rng.normal(35.0, 9.0, n),
            "paid": rng.integers(0, 2, n),
        }
    )
    frames = []
    for item, mean in (("testimonial", 30.0), ("badge", 60.0), ("count", 20.0)):
        who = np.flatnonzero(rng.random(n) < 0.6)
        day = rng.exponential(mean, who.size)
        frames.append(
            pl.DataFrame(
                {
                    "member_id": who,
                    "item_id": item,
                    "day": np.floor(day) if whole_days else day,
                }
            )
        )
    return members, pl.concat(frames)


COVARIATES = ["testimonial", "badge", "count", "age", "paid"]


def _lifelines_ctv(data: pl.DataFrame, covariates: Sequence[str], penalizer: float = 0.0):
    frame = data.select("member_id", "start", "stop", "event", *covariates).to_pandas()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CoxTimeVaryingFitter(penalizer=penalizer).fit(
            frame,
            id_col="member_id",
            event_col="event",
            start_col="start",
            stop_col="stop",
            fit_options=STRICT,
        )


def _coefs(result: CoxResult) -> tuple[np.ndarray, np.ndarray]:
    coef = np.array([t.coef for t in result.terms], dtype=np.float64)
    se = np.array([t.se for t in result.terms], dtype=np.float64)
    return coef, se


def _simulate_planted(
    rng: np.random.Generator, n: int, hazard_ratio: float = 0.6, lag: float = 1.0
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Piecewise-exponential churn: constant hazard, times ``hazard_ratio`` from exposure + lag.

    A second item, "placebo", is met at random times and changes nothing; "age" multiplies the
    hazard by 1.02 per year.
    """
    age = rng.normal(35.0, 10.0, n)
    base = np.exp(0.02 * (age - 35.0)) / 150.0
    seen = rng.exponential(80.0, n)  # day of first exposure to the proof item
    switch = seen + lag
    budget = rng.exponential(1.0, n)  # cumulative hazard at churn
    before = base * switch
    churn = np.where(
        budget < before, budget / base, switch + (budget - before) / (hazard_ratio * base)
    )
    as_of = rng.uniform(30.0, 500.0, n)
    tenure = np.minimum(churn, as_of)
    members = pl.DataFrame(
        {
            "member_id": np.arange(n),
            "tenure_days": tenure,
            "churned": (churn <= as_of).astype(np.int8),
            "age": age,
        }
    )
    placebo = rng.exponential(80.0, n)
    exposures = pl.DataFrame(
        {
            "member_id": np.r_[np.arange(n), np.arange(n)],
            "item_id": ["proof"] * n + ["placebo"] * n,
            "day": np.r_[seen, placebo],
        }
    ).filter(pl.col("day") < pl.col("member_id").replace_strict(np.arange(n), tenure))
    return members, exposures


# --------------------------------------------------------------------------------------------
# counting process


def test_counting_process_by_hand() -> None:
    members = _members(
        [10.0, 5.0, 3.0, 0.0, 8.0], [1, 0, 1, 1, 0], age=[20.0, 30.0, 40.0, 50.0, 60.0]
    )
    exposures = _exposures(
        [
            ("m0", "x", 0.0),  # day 0 with a 1-day lag: counts from day 1
            ("m0", "y", 4.0),  # counts from day 5
            ("m1", "x", 6.0),  # after censoring at day 5: ignored
            ("m2", "x", 2.0),  # would count from day 3 = the churn day: ignored
            ("m2", "y", 2.5),  # would count after churn: ignored
            ("m4", "x", 3.0),
            ("m4", "x", 1.0),  # listed twice: the earliest exposure counts (day 2)
            ("m4", "y", -3.0),  # before joining: counts from the start
            ("m4", "other", 1.0),  # not an item asked for
            ("nobody", "x", 1.0),  # not a member
        ]
    )
    data = counting_process(members, exposures, items=["x", "y", "z"], fixed=["age"])
    expected = pl.DataFrame(
        {
            "member_id": ["m0", "m0", "m0", "m1", "m2", "m4", "m4"],
            "start": [0.0, 1.0, 5.0, 0.0, 0.0, 0.0, 2.0],
            "stop": [1.0, 5.0, 10.0, 5.0, 3.0, 2.0, 8.0],
            "event": [0, 0, 1, 0, 1, 0, 0],
            "x": [0, 1, 1, 0, 0, 0, 1],
            "y": [0, 0, 1, 0, 0, 1, 1],
            "z": [0, 0, 0, 0, 0, 0, 0],  # nobody saw it: a column of zeros
            "age": [20.0, 20.0, 20.0, 30.0, 40.0, 60.0, 60.0],
        },
        schema_overrides={"event": pl.Int8, "x": pl.Int8, "y": pl.Int8, "z": pl.Int8},
    )
    # m3 has zero tenure: at risk for no time, so left out
    assert data.equals(expected), data


def test_longer_lag_moves_the_switch() -> None:
    members = _members([10.0], [1])
    exposures = _exposures([("m0", "x", 2.0)])
    data = counting_process(members, exposures, items=["x"], lag_days=7.0)
    assert data["start"].to_list() == [0.0, 9.0]
    assert data["x"].to_list() == [0, 1]
    assert counting_process(members, exposures, items=["x"], lag_days=8.0)["x"].to_list() == [0]


def test_intervals_tile_each_members_follow_up(rng: np.random.Generator) -> None:
    members, exposures = _random_community(rng, 500, whole_days=False)
    data = counting_process(members, exposures, items=["testimonial", "badge", "count"])
    summary = (
        data.group_by("member_id", maintain_order=True)
        .agg(
            pl.col("start").first().alias("first"),
            pl.col("stop").last().alias("tenure_days"),
            pl.col("event").sum().alias("churned"),
            pl.col("event").last().alias("last_event"),
            (pl.col("start").slice(1) == pl.col("stop").slice(0, pl.len() - 1))
            .all()
            .alias("contiguous"),
        )
        .join(members, on="member_id", suffix="_member")
    )
    assert summary.height == members.height
    assert (summary["first"] == 0.0).all()
    assert (summary["contiguous"]).all()
    assert (summary["tenure_days"] == summary["tenure_days_member"]).all()
    assert (summary["churned"] == summary["churned_member"]).all()
    assert (summary["last_event"] == summary["churned_member"]).all()
    # exposure columns never switch back off
    switched_off = data.select(
        (pl.col(c).diff().over("member_id") < 0).any() for c in ("testimonial", "badge", "count")
    )
    assert not any(switched_off.row(0))


# --------------------------------------------------------------------------------------------
# agreement with lifelines and with hand-computed values


@pytest.mark.parametrize("penalizer", [0.0, 0.05])
def test_efron_matches_lifelines_time_varying(rng: np.random.Generator, penalizer: float) -> None:
    members, exposures = _random_community(rng, 300)
    data = counting_process(
        members, exposures, items=["testimonial", "badge", "count"], fixed=["age", "paid"]
    )
    events = data.filter(pl.col("event") == 1)["stop"]
    assert events.len() > events.n_unique() + 20  # plenty of tied churn days
    result = fit_cox_time_varying(data, covariates=COVARIATES, penalizer=penalizer)
    reference = _lifelines_ctv(data, COVARIATES, penalizer)
    coef, se = _coefs(result)
    assert all(t.estimable for t in result.terms)
    assert result.converged
    np.testing.assert_allclose(coef, reference.params_.to_numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(se, reference.standard_errors_.to_numpy(), rtol=0, atol=TOL)
    assert result.log_likelihood == pytest.approx(reference.log_likelihood_, abs=TOL)
    summary = reference.summary
    frame = result.frame()
    np.testing.assert_allclose(frame["p_value"], summary["p"], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(frame["ci_low"], summary["exp(coef) lower 95%"], rtol=1e-6, atol=0)
    np.testing.assert_allclose(frame["ci_high"], summary["exp(coef) upper 95%"], rtol=1e-6, atol=0)
    assert result.n_members == members.height
    assert result.n_events == int(members["churned"].sum())


def test_efron_matches_lifelines_on_time_fixed_data(rng: np.random.Generator) -> None:
    n = 400
    x = rng.normal(size=(n, 3))
    duration = np.ceil(rng.exponential(30.0 * np.exp(-0.4 * x[:, 0] + 0.2 * x[:, 1])))
    event = rng.integers(0, 2, n)
    frame = pd.DataFrame({"T": duration, "E": event, "a": x[:, 0], "b": x[:, 1], "c": x[:, 2]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = CoxPHFitter().fit(frame, duration_col="T", event_col="E", fit_options=STRICT)
    data = pl.DataFrame(
        {
            "member_id": np.arange(n),
            "start": np.zeros(n),
            "stop": duration,
            "event": event,
            "a": x[:, 0],
            "b": x[:, 1],
            "c": x[:, 2],
        }
    )
    result = fit_cox_time_varying(data, covariates=["a", "b", "c"])
    coef, se = _coefs(result)
    np.testing.assert_allclose(coef, reference.params_.to_numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(se, reference.standard_errors_.to_numpy(), rtol=0, atol=TOL)
    assert result.log_likelihood == pytest.approx(reference.log_likelihood_, abs=TOL)


def _hand_example(split: bool) -> pl.DataFrame:
    """Five members; two churn together on day 1 (both x=1), one more on day 3 (x=0).

    At day 1 all five are at risk (x = 1, 1, 0, 0, 1); at day 3 only D (x=0, churns) and E
    (x=1, censored). With u = exp(b) the Breslow partial likelihood is
    u^2 / (3u + 2)^2 * 1 / (1 + u), the Efron one u^2 / ((3u + 2)(2u + 2)) * 1 / (1 + u).
    """
    rows = [
        ("A", 0.0, 1.0, 1, 1.0),
        ("B", 0.0, 1.0, 1, 1.0),
        ("C", 0.0, 2.0, 0, 0.0),
        ("D", 0.0, 3.0, 1, 0.0),
    ]
    rows += (
        [("E", 0.0, 2.0, 0, 1.0), ("E", 2.0, 3.0, 0, 1.0)] if split else [("E", 0.0, 3.0, 0, 1.0)]
    )
    return pl.DataFrame(
        rows,
        schema=["member_id", "start", "stop", "event", "x"],
        orient="row",
    )


@pytest.mark.parametrize("split", [False, True])
def test_breslow_and_efron_by_hand(split: bool) -> None:
    data = _hand_example(split)
    # Breslow: score 2 - 6u/(3u+2) - u/(1+u) = 0  <=>  3u^2 - 2u - 4 = 0
    u = (1.0 + math.sqrt(13.0)) / 3.0
    p, q = 3.0 * u / (3.0 * u + 2.0), u / (1.0 + u)
    breslow = fit_cox_time_varying(data, covariates=["x"], ties="breslow")
    term = breslow.terms[0]
    assert term.coef == pytest.approx(math.log(u), abs=1e-10)
    assert term.se == pytest.approx(1.0 / math.sqrt(2 * p * (1 - p) + q * (1 - q)), abs=1e-10)
    loglik = 2 * math.log(u) - 2 * math.log(3 * u + 2) - math.log(1 + u)
    assert breslow.log_likelihood == pytest.approx(loglik, abs=1e-10)
    # Efron: score 2 - 3u/(3u+2) - 2u/(1+u) = 0  <=>  3u^2 - 3u - 4 = 0
    u = (3.0 + math.sqrt(57.0)) / 6.0
    p, q = 3.0 * u / (3.0 * u + 2.0), u / (1.0 + u)
    efron = fit_cox_time_varying(data, covariates=["x"])
    term = efron.terms[0]
    assert term.coef == pytest.approx(math.log(u), abs=1e-10)
    assert term.se == pytest.approx(1.0 / math.sqrt(p * (1 - p) + 2 * q * (1 - q)), abs=1e-10)
    loglik = 2 * math.log(u) - math.log(3 * u + 2) - math.log(2 * u + 2) - math.log(1 + u)
    assert efron.log_likelihood == pytest.approx(loglik, abs=1e-10)
    assert (efron.n_members, efron.n_events) == (5, 3)


def _breslow_loglik(data: pl.DataFrame, covariates: Sequence[str], beta: np.ndarray) -> float:
    """Breslow partial log-likelihood written out time by time, for reference."""
    start = data["start"].to_numpy()
    stop = data["stop"].to_numpy()
    event = data["event"].to_numpy() == 1
    eta = data.select(covariates).to_numpy().astype(np.float64) @ beta
    total = 0.0
    for t in np.unique(stop[event]):
        at_risk = (start < t) & (t <= stop)
        dying = event & (stop == t)
        total += eta[dying].sum() - dying.sum() * math.log(np.exp(eta[at_risk]).sum())
    return total


def test_breslow_maximises_the_written_out_likelihood(rng: np.random.Generator) -> None:
    members, exposures = _random_community(rng, 150)
    data = counting_process(
        members, exposures, items=["testimonial", "badge", "count"], fixed=["age", "paid"]
    )
    result = fit_cox_time_varying(data, covariates=COVARIATES, ties="breslow")
    coef, se = _coefs(result)
    assert result.log_likelihood == pytest.approx(_breslow_loglik(data, COVARIATES, coef), abs=1e-9)
    # gradient 0 and the curvature matches the standard errors (central differences)
    h = 1e-4
    eye = np.eye(coef.size) * h
    grad = [
        (_breslow_loglik(data, COVARIATES, coef + e) - _breslow_loglik(data, COVARIATES, coef - e))
        / (2 * h)
        for e in eye
    ]
    np.testing.assert_allclose(grad, 0.0, atol=1e-5)
    f0 = _breslow_loglik(data, COVARIATES, coef)
    hessian = np.array(
        [
            [
                (
                    _breslow_loglik(data, COVARIATES, coef + ei + ej)
                    - _breslow_loglik(data, COVARIATES, coef + ei - ej)
                    - _breslow_loglik(data, COVARIATES, coef - ei + ej)
                    + _breslow_loglik(data, COVARIATES, coef - ei - ej)
                )
                / (4 * h * h)
                if i != j
                else (
                    _breslow_loglik(data, COVARIATES, coef + ei)
                    - 2 * f0
                    + _breslow_loglik(data, COVARIATES, coef - ei)
                )
                / (h * h)
                for j, ej in enumerate(eye)
            ]
            for i, ei in enumerate(eye)
        ]
    )
    np.testing.assert_allclose(se, np.sqrt(np.diag(np.linalg.inv(-hessian))), rtol=1e-4)
    # Efron and Breslow differ with ties, but not by much
    efron, _ = _coefs(fit_cox_time_varying(data, covariates=COVARIATES))
    assert not np.allclose(coef, efron, rtol=0, atol=1e-6)
    np.testing.assert_allclose(coef, efron, atol=0.05)


# --------------------------------------------------------------------------------------------
# planted effects


def test_planted_hazard_ratio_is_recovered(rng: np.random.Generator) -> None:
    members, exposures = _simulate_planted(rng, 5000)
    data = counting_process(members, exposures, items=["proof", "placebo"], fixed=["age"])
    result = fit_cox_time_varying(data, covariates=["proof", "placebo", "age"])
    proof = result.term("proof")
    assert proof.estimable
    assert proof.coef is not None
    assert proof.se is not None
    # the model is exactly the one simulated, so (coef - log 0.6) / se is about N(0, 1): three
    # standard errors fail by chance 0.3 % of the time (the seed is fixed, so never here), and
    # the standard error (about 0.04) makes that a tight check on the hazard ratio
    assert abs(proof.coef - math.log(0.6)) < 3 * proof.se
    assert proof.se < 0.06
    assert proof.ci_low is not None
    assert proof.ci_high is not None
    assert proof.ci_low < 0.6 < proof.ci_high
    assert proof.n_exposed_events > 100
    age = result.term("age")
    assert age.coef is not None
    assert age.se is not None
    assert abs(age.coef - 0.02) < 3 * age.se


def test_null_item_interval_covers_one_in_most_seeds() -> None:
    covered_null = covered_planted = 0
    for seed in range(20):
        members, exposures = _simulate_planted(np.random.default_rng(seed), 1500)
        data = counting_process(members, exposures, items=["proof", "placebo"], fixed=["age"])
        result = fit_cox_time_varying(data, covariates=["proof", "placebo", "age"])
        placebo, proof = result.term("placebo"), result.term("proof")
        assert placebo.ci_low is not None
        assert placebo.ci_high is not None
        assert proof.ci_low is not None
        assert proof.ci_high is not None
        covered_null += placebo.ci_low <= 1.0 <= placebo.ci_high
        covered_planted += proof.ci_low <= 0.6 <= proof.ci_high
    # a 95 % interval covers in about 19 of 20 runs; P(at most 16 of 20) is 1.6 %
    assert covered_null >= 17
    assert covered_planted >= 17


# --------------------------------------------------------------------------------------------
# terms that cannot be estimated


def _badge_community(rng: np.random.Generator, n: int = 3000) -> pl.DataFrame:
    """Churn continues after day 365; everyone still present then gets the tenure badge."""
    tenure = np.ceil(rng.exponential(300.0, n))
    churned = (rng.random(n) < 0.7).astype(np.int8)
    members = pl.DataFrame(
        {
            "member_id": np.arange(n),
            "tenure_days": tenure,
            "churned": churned,
            "age": rng.normal(35, 9, n),
        }
    )
    veterans = np.flatnonzero(tenure > 365)
    readers = np.flatnonzero(rng.random(n) < 0.5)
    exposures = pl.DataFrame(
        {
            "member_id": np.r_[veterans, readers],
            "item_id": ["tenure_badge"] * veterans.size + ["testimonial"] * readers.size,
            "day": np.r_[np.full(veterans.size, 365.0), rng.uniform(0, 200, readers.size)],
        }
    )
    data = counting_process(
        members, exposures, items=["testimonial", "tenure_badge"], fixed=["age"]
    )
    late = data.filter((pl.col("event") == 1) & (pl.col("stop") > 366))
    assert late.height > 100  # churn continues after the badge
    return data


def test_tenure_badge_is_not_estimable(rng: np.random.Generator) -> None:
    data = _badge_community(rng)
    result = fit_cox_time_varying(data, covariates=["testimonial", "tenure_badge", "age"])
    badge = result.term("tenure_badge")
    assert not badge.estimable
    assert badge.coef is None
    assert badge.se is None
    assert badge.hazard_ratio is None
    assert badge.p_value is None
    assert badge.ci_low is None
    assert badge.ci_high is None
    assert badge.reason == (
        "everyone still at risk has it from day 366 on and nobody before: no comparison possible"
    )
    assert badge.n_exposed_events > 100
    without = fit_cox_time_varying(data, covariates=["testimonial", "age"])
    for name in ("testimonial", "age"):
        assert result.term(name) == without.term(name)
    assert result.log_likelihood == without.log_likelihood
    assert result.converged
    assert result.iterations == without.iterations
    frame = result.frame()
    assert frame["name"].to_list() == ["testimonial", "tenure_badge", "age"]
    assert frame["estimable"].to_list() == [True, False, True]


def test_item_with_no_churn_while_exposed_is_not_estimable(rng: np.random.Generator) -> None:
    n = 800
    churned = rng.integers(0, 2, n)
    members = pl.DataFrame(
        {"member_id": np.arange(n), "tenure_days": np.ceil(rng.exponential(100, n)),
         "churned": churned, "age": rng.normal(35, 9, n)}
    )  # fmt: skip
    stayers, leavers = np.flatnonzero(churned == 0), np.flatnonzero(churned == 1)
    exposures = pl.DataFrame(
        {
            "member_id": np.r_[stayers, leavers],
            "item_id": ["stayers_only"] * stayers.size + ["leavers_only"] * leavers.size,
            "day": np.zeros(n),
        }
    )
    data = counting_process(
        members, exposures, items=["stayers_only", "leavers_only"], fixed=["age"]
    )
    result = fit_cox_time_varying(data, covariates=["stayers_only", "leavers_only", "age"])
    low, high = result.term("stayers_only"), result.term("leavers_only")
    assert not low.estimable
    assert low.coef is None
    assert low.n_exposed_events == 0
    assert low.reason.startswith("no member churned while exposed")
    assert "run to 0" in low.reason
    assert not high.estimable
    assert high.coef is None
    assert high.reason.startswith("no member churned while unexposed")
    assert "run to infinity" in high.reason
    assert result.term("age").estimable
    # what a plain fit would have reported: a huge "protective" effect, or no answer at all
    # (on some machines' linear algebra its Newton steps end in a singular Hessian)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            naive = _lifelines_ctv(data, ["stayers_only", "age"])
    except np.linalg.LinAlgError:
        return
    assert naive.params_["stayers_only"] < -5


def test_numeric_covariate_at_the_extreme_of_every_risk_set_is_not_estimable() -> None:
    # every churner is the youngest member still at risk when they churn
    data = pl.DataFrame(
        {
            "member_id": [1, 2, 3, 4, 5],
            "start": [0.0] * 5,
            "stop": [1.0, 2.0, 3.0, 4.0, 5.0],
            "event": [1, 1, 1, 0, 0],
            "age": [20.0, 25.0, 30.0, 60.0, 50.0],
        }
    )
    term = fit_cox_time_varying(data, covariates=["age"]).terms[0]
    assert not term.estimable
    assert term.reason.startswith("every churn happened at the lowest value")


def test_identical_and_combined_columns_are_dropped(rng: np.random.Generator) -> None:
    members, exposures = _random_community(rng, 400)
    members = members.with_columns(
        pl.col("age").alias("age_copy"),
        (2 * pl.col("age") - 3 * pl.col("paid") + 1).alias("combo"),
    )
    data = counting_process(
        members,
        exposures,
        items=["testimonial", "badge", "count"],
        fixed=["age", "age_copy", "paid", "combo"],
    )
    covariates = ["testimonial", "badge", "count", "age", "age_copy", "paid", "combo"]
    result = fit_cox_time_varying(data, covariates=covariates)
    copy, combo = result.term("age_copy"), result.term("combo")
    assert not copy.estimable
    assert copy.coef is None
    assert copy.reason.startswith("it moves in lockstep with age")
    assert not combo.estimable
    assert combo.reason.startswith("it is an exact linear combination of age, paid")
    kept = fit_cox_time_varying(data, covariates=COVARIATES)
    for name in COVARIATES:
        assert result.term(name) == kept.term(name)


def test_constant_columns_and_no_churn() -> None:
    data = _hand_example(split=False).with_columns(
        pl.lit(1).alias("everyone"), pl.lit(0).alias("nobody"), pl.lit(2.5).alias("level")
    )
    result = fit_cox_time_varying(data, covariates=["everyone", "nobody", "level", "x"])
    reasons = [t.reason for t in result.terms]
    assert reasons[0] == "everyone has it for their whole membership: nothing to compare"
    assert reasons[1] == "nobody has it at any time: nothing to compare"
    assert reasons[2] == "it has the same value (2.5) for everyone at all times: nothing to compare"
    assert result.terms[3].estimable
    quiet = fit_cox_time_varying(data.with_columns(pl.lit(0).alias("event")), covariates=["x"])
    assert not quiet.terms[0].estimable
    assert "no member churned" in quiet.terms[0].reason
    assert quiet.n_events == 0


def test_joint_separation_is_caught_when_newton_does_not_settle(
    rng: np.random.Generator,
) -> None:
    # only members with A or B (never both) churn: each alone has churn on both sides, but
    # A + B separates churners perfectly, so the likelihood rises for ever along b_A = b_B
    n = 900
    group = rng.integers(0, 3, n)
    churned = np.where(group == 2, 0, rng.integers(0, 2, n))
    members = pl.DataFrame(
        {
            "member_id": np.arange(n),
            "tenure_days": np.ceil(rng.exponential(100, n)),
            "churned": churned,
            "A": (group == 0).astype(np.int8),
            "B": (group == 1).astype(np.int8),
            "age": rng.normal(35, 9, n),
        }
    )
    data = counting_process(members, _exposures([]), items=[], fixed=["A", "B", "age"])
    result = fit_cox_time_varying(data, covariates=["A", "B", "age"])
    assert not result.converged
    for name in ("A", "B"):
        term = result.term(name)
        assert not term.estimable
        assert term.coef is None
        assert term.reason.startswith("the fit did not settle")
        assert "separated almost perfectly by this term together with" in term.reason
    age = result.term("age")
    assert age.estimable
    assert age == fit_cox_time_varying(data, covariates=["age"]).term("age")


def test_too_few_iterations_reports_nothing(rng: np.random.Generator) -> None:
    members, exposures = _random_community(rng, 200)
    data = counting_process(members, exposures, items=["testimonial"], fixed=["age"])
    result = fit_cox_time_varying(data, covariates=["testimonial", "age"], max_iter=1)
    assert not result.converged
    assert all(not t.estimable and t.coef is None for t in result.terms)
    assert all("raise it" in t.reason for t in result.terms)


def test_frame_schema() -> None:
    frame = fit_cox_time_varying(_hand_example(False), covariates=["x"]).frame()
    assert frame.schema == pl.Schema(
        {
            "name": pl.String,
            "estimable": pl.Boolean,
            "reason": pl.String,
            "coef": pl.Float64,
            "se": pl.Float64,
            "hazard_ratio": pl.Float64,
            "ci_low": pl.Float64,
            "ci_high": pl.Float64,
            "p_value": pl.Float64,
            "n_exposed_events": pl.Int64,
        }
    )
    row = frame.row(0, named=True)
    assert row["hazard_ratio"] == pytest.approx(math.exp(row["coef"]))
    assert row["ci_low"] == pytest.approx(math.exp(row["coef"] - 1.959964 * row["se"]))
    assert row["n_exposed_events"] == 2


# --------------------------------------------------------------------------------------------
# input validation


MEMBERS = _members([10.0, 5.0], [1, 0], age=[20.0, 30.0])
EXPOSURES = _exposures([("m0", "x", 1.0)])


@pytest.mark.parametrize(
    ("members", "exposures", "options", "message"),
    [
        (MEMBERS.with_columns(pl.Series("tenure_days", [-1.0, 5.0])), EXPOSURES, {},
         r"tenure_days must be at least 0 days.*end date is after the join date"),
        (MEMBERS.with_columns(pl.Series("tenure_days", [None, 5.0])), EXPOSURES, {},
         r"missing or infinite.*fill in the tenure"),
        (MEMBERS.with_columns(pl.Series("churned", [2, 0])), EXPOSURES, {},
         r"churned must be 0 or 1.*Convert the flag to 0/1"),
        (MEMBERS.drop("churned"), EXPOSURES, {}, r"'churned' not in members.*Add them"),
        (MEMBERS, EXPOSURES.drop("day"), {}, r"'day' not in exposures"),
        (MEMBERS, EXPOSURES, {"fixed": ["height"]}, r"'height' not in members"),
        (MEMBERS.with_columns(pl.lit("x").alias("age")), EXPOSURES, {"fixed": ["age"]},
         r"members.age must be numbers.*one 0/1 column per category"),
        (MEMBERS.with_columns(pl.Series("age", [1.0, None])), EXPOSURES, {"fixed": ["age"]},
         r"members.age has missing.*fill them in"),
        (pl.concat([MEMBERS, MEMBERS]), EXPOSURES, {}, r"one row per member.*keep one row"),
        (MEMBERS, EXPOSURES, {"lag_days": 0.5}, r"at least 1 day.*reverse causation"),
        (MEMBERS, EXPOSURES, {"items": ["age"], "fixed": ["age"]}, r"clash with fixed"),
        (MEMBERS, EXPOSURES, {"items": ["stop"]}, r"clash with columns of the result"),
        (MEMBERS, EXPOSURES, {"items": "x"}, r"wrap it in a list"),
        (MEMBERS, EXPOSURES, {"items": ["x", "x"]}, r"more than once"),
        (MEMBERS, EXPOSURES.with_columns(pl.lit(None, pl.Float64).alias("day")), {},
         r"exposures.day has 1 missing.*drop those rows"),
        (MEMBERS, EXPOSURES.with_columns(pl.lit(1).alias("member_id")), {},
         r"cannot be matched.*cast both to the same type"),
    ],
)  # fmt: skip
def test_counting_process_rejects_bad_input(
    members: pl.DataFrame, exposures: pl.DataFrame, options: dict, message: str
) -> None:
    options = {"items": ["x"]} | options
    with pytest.raises(ValueError, match=message):
        counting_process(members, exposures, **options)


DATA = _hand_example(split=True)


@pytest.mark.parametrize(
    ("data", "options", "message"),
    [
        (DATA, {"covariates": ["exposed"]}, r"'exposed' not in data.*pass the names of existing"),
        (DATA, {"covariates": ["stop"]}, r"part of the interval structure"),
        (DATA.drop("member_id"), {}, r"'member_id' not in data"),
        (DATA.with_columns(pl.lit(1.0).alias("start")), {},
         r"start < stop.*Drop empty intervals"),
        (DATA.with_columns(pl.lit(0.0).alias("start")), {},
         r"overlapping intervals.*build them with counting_process"),
        (DATA.with_columns(pl.when(pl.col("member_id") == "E").then(1).otherwise(pl.col("event"))
                           .alias("event")), {}, r"last interval only"),
        (DATA.with_columns(pl.lit(None, pl.Float64).alias("x")), {}, r"data.x has missing"),
        (DATA.with_columns(pl.lit("yes").alias("x")), {}, r"data.x must be numbers"),
        (DATA.with_columns(pl.lit(3).alias("event")), {}, r"event must be 0 or 1"),
        (DATA.clear(), {}, r"no intervals"),
        (DATA, {"ties": "exact"}, r"'efron' or 'breslow'"),
        (DATA, {"penalizer": -1.0}, r"penalizer must be a number >= 0"),
        (DATA, {"max_iter": 0}, r"max_iter must be a whole number"),
        (DATA, {"tol": 0.0}, r"tol must be a small positive number"),
    ],
)  # fmt: skip
def test_fit_rejects_bad_input(data: pl.DataFrame, options: dict, message: str) -> None:
    options = {"covariates": ["x"]} | options
    with pytest.raises(ValueError, match=message):
        fit_cox_time_varying(data, **options)
