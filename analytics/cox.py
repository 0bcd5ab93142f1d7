"""Social proof seen at any time: a Cox model of time to churn with time-varying exposure.

The survival curves in :mod:`analytics.survival` compare members by what they saw early on.
Proof items can also be met later (a testimonial page, a badge earned after months), and then
"exposed" and "not exposed" must be compared day by day: on each day someone churned, among the
members still there, did those who had already seen the item churn less? That is a Cox
proportional-hazards model with tenure (days since joining) as the time scale and each item as a
0/1 covariate that switches on at the member's first exposure.

Two steps:

1. :func:`counting_process` splits each member's membership into (start, stop] intervals at the
   days their exposures switch on. A switch happens ``lag_days`` (at least one day) after the
   exposure, so the visit on which a member churned cannot count as exposure before churn
   (reverse causation). Members still present are right-censored at their tenure so far.
2. :func:`fit_cox_time_varying` fits the model by Newton–Raphson on the partial likelihood
   (Efron's handling of ties by default, Breslow's as an option), vectorised with numpy: the
   sums over the members at risk at every churn time are running sums, so 100,000 members with
   a few hundred thousand intervals take well under a second per iteration.

Terms that cannot be estimated
------------------------------
Some effects cannot be measured from the data at all, and a plain fit would return either an
error (a singular matrix) or a meaningless huge coefficient. They are found before fitting, left
out of the fit, and reported with ``estimable=False`` and a plain reason:

- the covariate has the same value everywhere;
- at every churn time it has the same value for everyone still at risk. This is the tenure-badge
  trap: a badge every member still present receives on day 365 is held by nobody at risk before
  that day and by everybody at risk after it, so there is never anyone to compare with;
- among the churn times where it varies, every churn happened at its lowest value (no churn at
  all while exposed) or every churn at its highest value (no churn while unexposed). The
  likelihood then keeps rising as the coefficient runs to minus or plus infinity ("monotone
  likelihood"), so no finite estimate exists;
- it is an exact linear combination of earlier covariates within the risk sets (for example a
  copy of another column): the later one is left out;
- the Newton iterations do not settle (a combination of terms separates churners perfectly):
  the terms whose estimates keep moving are left out and the rest refitted. No coefficient is
  ever returned from a singular or unconverged fit.

The numbers match lifelines 0.30 ``CoxTimeVaryingFitter`` (which uses Efron's method) to
rounding (coefficients, standard errors and log-likelihood within about 1e-12 in the tests),
including its L2 ``penalizer``. lifelines has no Breslow option; the Breslow fit is checked
against hand-computed values and the written-out likelihood instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import linalg, stats

from analytics.errors import InputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

Ties = Literal["efron", "breslow"]

RESERVED_COLUMNS: tuple[str, ...] = ("member_id", "start", "stop", "event")
"""Columns of the counting-process table that are not covariates."""

MIN_LAG_DAYS = 1.0
"""Smallest lag between an exposure and the day it starts to count."""

_Z95 = float(stats.norm.ppf(0.975))  # 1.959964: the "1.96" of a 95 % interval
_COLLINEAR_TOL = 1e-9  # share of a covariate's within-risk-set variance left unexplained
_MAX_HALVINGS = 40

_FRAME_SCHEMA: dict[str, Any] = {
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


@dataclass(frozen=True)
class CoxTerm:
    """The estimated effect of one covariate on the hazard of churning.

    Attributes
    ----------
    name : str
        Covariate (column) name.
    estimable : bool
        False when the data cannot tell this effect apart (see ``reason``); all numbers are then
        None.
    reason : str
        Empty when estimable; otherwise a plain sentence saying why not.
    coef : float or None
        Log hazard ratio per unit of the covariate (for a 0/1 item: exposed versus not).
    se : float or None
        Standard error of ``coef``.
    hazard_ratio : float or None
        ``exp(coef)``: below 1 means members churn less while exposed.
    ci_low, ci_high : float or None
        95 % confidence interval of the hazard ratio, ``exp(coef ± 1.96 se)``.
    p_value : float or None
        Two-sided Wald test of "no effect" (hazard ratio 1).
    n_exposed_events : int
        Churn events that happened while exposed (on intervals where the covariate is not 0).
    """

    name: str
    estimable: bool
    reason: str
    coef: float | None
    se: float | None
    hazard_ratio: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_exposed_events: int


@dataclass(frozen=True)
class CoxResult:
    """A fitted Cox model: one term per covariate asked for, in the order asked.

    Attributes
    ----------
    terms : tuple of CoxTerm
        One per covariate, estimable or not.
    n_members : int
        Distinct members in the data.
    n_events : int
        Churn events.
    log_likelihood : float
        Partial log-likelihood of the reported model (estimable terms at their estimates; minus
        the penalty when ``penalizer > 0``, as lifelines reports it).
    converged : bool
        True when every Newton fit attempted converged. False when some terms had to be left
        out because the fit did not settle with them (they say so in their reason); the
        coefficients reported come from a converged refit without them.
    iterations : int
        Newton iterations of the fit whose coefficients are reported.
    """

    terms: tuple[CoxTerm, ...]
    n_members: int
    n_events: int
    log_likelihood: float
    converged: bool
    iterations: int

    def term(self, name: str) -> CoxTerm:
        """The term of covariate ``name``.

        Raises
        ------
        KeyError
            When the model has no such covariate.
        """
        for term in self.terms:
            if term.name == name:
                return term
        raise KeyError(
            f"No term {name!r} in this model; its terms are "
            f"{', '.join(repr(t.name) for t in self.terms)}."
        )

    def frame(self) -> pl.DataFrame:
        """The terms as a table, one row per covariate.

        Returns
        -------
        polars.DataFrame
            ``name``, ``estimable``, ``reason``, ``coef``, ``se``, ``hazard_ratio``,
            ``ci_low``, ``ci_high``, ``p_value``, ``n_exposed_events`` (numbers null where the
            term is not estimable).
        """
        rows = [
            {
                "name": t.name,
                "estimable": t.estimable,
                "reason": t.reason,
                "coef": t.coef,
                "se": t.se,
                "hazard_ratio": t.hazard_ratio,
                "ci_low": t.ci_low,
                "ci_high": t.ci_high,
                "p_value": t.p_value,
                "n_exposed_events": t.n_exposed_events,
            }
            for t in self.terms
        ]
        return pl.DataFrame(rows, schema=_FRAME_SCHEMA, orient="row")


# --------------------------------------------------------------------------------------------
# counting process


def counting_process(
    members: pl.DataFrame,
    exposures: pl.DataFrame,
    *,
    items: Sequence[str],
    lag_days: float = 1.0,
    fixed: Sequence[str] = (),
) -> pl.DataFrame:
    """Split each member's follow-up into (start, stop] intervals at their lagged exposures.

    An exposure on tenure day ``d`` counts from day ``d + lag_days`` on: the interval ending
    there is unexposed, the next one exposed. Exposures that would count only at or after the
    end of follow-up (churn or now) change nothing, so an exposure on the visit a member churned
    on is never counted as "before churn". An exposure before joining (negative day) counts
    from ``max(0, d + lag_days)``.

    Parameters
    ----------
    members : polars.DataFrame
        One row per member: ``member_id``, ``tenure_days`` (days from joining to churn, or to
        now when still a member; >= 0), ``churned`` (1 churned, 0 still a member) and the
        numeric columns named in ``fixed``. Members with zero tenure are at risk for no time
        and are left out.
    exposures : polars.DataFrame
        ``member_id``, ``item_id`` and ``day`` (tenure day of the member's first exposure to
        the item), one row per member and item; if an item is listed twice for a member the
        earliest day counts. Rows of items not in ``items`` and of members not in ``members``
        are ignored.
    items : sequence of str
        Proof items to turn into 0/1 columns (named by item id), even if nobody saw them.
    lag_days : float
        Days between an exposure and the day it starts to count (at least 1).
    fixed : sequence of str
        Columns of ``members`` copied to every interval (covariates that do not change).

    Returns
    -------
    polars.DataFrame
        ``member_id``, ``start``, ``stop``, ``event`` (1 only on the last interval of a member
        who churned), one Int8 0/1 column per item, then the fixed columns. Members keep their
        order in ``members``; each member's intervals are in time order and tile (0, tenure].

    Raises
    ------
    ValueError
        On missing or mistyped columns, missing values, negative tenure, churn flags other than
        0/1, repeated member ids, item names that clash with other columns, or a lag below one
        day; the message says how to fix it.
    """
    items = _names(items, "items")
    fixed = _names(fixed, "fixed")
    _check_lag(lag_days)
    clash = sorted(set(items) & (set(fixed) | set(RESERVED_COLUMNS)))
    if clash:
        raise InputError(
            f"Item name(s) {', '.join(map(repr, clash))} clash with "
            f"{'fixed covariates' if set(clash) & set(fixed) else 'columns of the result'}: "
            f"rename the item(s) or the fixed column(s); {', '.join(RESERVED_COLUMNS)} are "
            "reserved."
        )
    reserved_fixed = sorted(set(fixed) & set(RESERVED_COLUMNS))
    if reserved_fixed:
        raise InputError(
            f"Fixed covariate(s) {', '.join(map(repr, reserved_fixed))} use a reserved name "
            f"({', '.join(RESERVED_COLUMNS)}): rename the column(s) in members first."
        )
    _require_columns(members, ("member_id", "tenure_days", "churned", *fixed), "members")
    _require_columns(exposures, ("member_id", "item_id", "day"), "exposures")
    if members.height == 0:
        raise InputError("members is empty: pass at least one member.")
    ids = members["member_id"]
    if ids.null_count():
        raise InputError(
            f"members has {ids.null_count():,} missing member_id value(s): fill them in or drop "
            "those rows."
        )
    if ids.n_unique() != ids.len():
        repeated = ids.filter(ids.is_duplicated()).unique().head(3).to_list()
        raise InputError(
            f"members must have one row per member, but member_id repeats (e.g. {repeated}): "
            "keep one row per member."
        )
    tenure = _float_column(members, "tenure_days", "members", "tenure in days")
    bad = ~np.isfinite(tenure)
    if bad.any():
        raise InputError(
            f"members.tenure_days has {int(bad.sum()):,} missing or infinite value(s) (first at "
            f"row {int(np.argmax(bad))}): fill in the tenure in days or drop those members."
        )
    negative = tenure < 0
    if negative.any():
        first = int(np.argmax(negative))
        raise InputError(
            f"members.tenure_days must be at least 0 days, but {int(negative.sum()):,} value(s) "
            f"are negative (first at row {first}: {tenure[first]!r}). Check that the end date is "
            "after the join date."
        )
    churned = _flag_column(members, "churned", "members")
    for name in fixed:
        values = _float_column(members, name, "members", "a number per member")
        if not np.isfinite(values).all():
            raise InputError(
                f"Fixed covariate members.{name} has missing or infinite values: fill them in "
                "(or add a 0/1 'missing' indicator) before fitting."
            )

    n, k = members.height, len(items)
    switch = np.full((n, k), np.inf)  # day each item starts to count, per member
    if k and exposures.height:
        switch_rows, switch_cols, days = _exposure_days(members, exposures, items)
        np.minimum.at(switch, (switch_rows, switch_cols), days + float(lag_days))

    present = tenure > 0
    cut_rows, cut_cols = np.nonzero((switch > 0.0) & (switch < tenure[:, None]))
    rows = np.concatenate([np.flatnonzero(present), cut_rows]).astype(np.int64)
    starts = np.concatenate([np.zeros(int(present.sum())), switch[cut_rows, cut_cols]])
    order = np.lexsort((starts, rows))
    rows, starts = rows[order], starts[order]
    distinct = np.ones(rows.size, dtype=bool)
    distinct[1:] = (rows[1:] != rows[:-1]) | (starts[1:] != starts[:-1])
    rows, starts = rows[distinct], starts[distinct]
    last = np.ones(rows.size, dtype=bool)
    last[:-1] = rows[1:] != rows[:-1]
    stops = np.where(last, tenure[rows], np.append(starts[1:], 0.0))
    events = np.where(last, churned[rows], 0).astype(np.int8)
    exposed = switch[rows] <= starts[:, None]

    columns: list[pl.Series] = [
        ids.gather(rows).alias("member_id"),
        pl.Series("start", starts + 0.0, dtype=pl.Float64),
        pl.Series("stop", stops, dtype=pl.Float64),
        pl.Series("event", events, dtype=pl.Int8),
    ]
    columns += [pl.Series(item, exposed[:, j].astype(np.int8)) for j, item in enumerate(items)]
    columns += [members[name].gather(rows) for name in fixed]
    return pl.DataFrame(columns)


def _exposure_days(
    members: pl.DataFrame, exposures: pl.DataFrame, items: Sequence[str]
) -> tuple[IntArray, IntArray, FloatArray]:
    """Member row, item column and exposure day of every usable exposure row."""
    if not (exposures["day"].dtype.is_numeric()):
        raise InputError(
            f"exposures.day must be numbers (tenure day of the first exposure), got "
            f"{exposures['day'].dtype}. Convert dates to days since joining first."
        )
    item_ids = exposures["item_id"]
    if not (item_ids.dtype == pl.String or item_ids.dtype.is_integer()):
        raise InputError(
            f"exposures.item_id must be text or whole numbers naming the item, got "
            f"{item_ids.dtype}."
        )
    index = members.select("member_id").with_row_index("__row")
    table = exposures.select(
        "member_id", pl.col("item_id").cast(pl.String), pl.col("day").cast(pl.Float64)
    ).filter(pl.col("item_id").is_in(list(items)))
    try:
        table = table.join(index, on="member_id", how="inner")
    except pl.exceptions.PolarsError as exc:
        raise InputError(
            f"exposures.member_id ({exposures['member_id'].dtype}) cannot be matched with "
            f"members.member_id ({members['member_id'].dtype}): cast both to the same type."
        ) from exc
    days = table["day"].to_numpy().astype(np.float64)
    bad = ~np.isfinite(days)
    if bad.any():
        raise InputError(
            f"exposures.day has {int(bad.sum()):,} missing or infinite value(s): drop those "
            "rows (a member who never saw an item simply has no row for it)."
        )
    rows = table["__row"].to_numpy().astype(np.int64)
    cols = (
        table["item_id"]
        .replace_strict(list(items), list(range(len(items))), return_dtype=pl.Int64)
        .to_numpy()
        .astype(np.int64)
    )
    return rows, cols, days


# --------------------------------------------------------------------------------------------
# Cox model


def fit_cox_time_varying(
    data: pl.DataFrame,
    *,
    covariates: Sequence[str],
    ties: Ties = "efron",
    penalizer: float = 0.0,
    max_iter: int = 50,
    tol: float = 1e-9,
) -> CoxResult:
    """Fit a Cox proportional-hazards model of time to churn on (start, stop] intervals.

    Covariates that cannot be estimated (see the module notes) are detected first, left out of
    the fit and reported with ``estimable=False`` and the reason; the other terms are fitted
    exactly as if those columns had not been passed.

    Parameters
    ----------
    data : polars.DataFrame
        Counting-process table as made by :func:`counting_process`: ``member_id``, ``start``,
        ``stop`` (start < stop), ``event`` (0/1, only on a member's last interval) and the
        numeric covariate columns. A member's intervals must not overlap.
    covariates : sequence of str
        Columns to use as covariates, in the order the terms are reported. When two are
        collinear the later one is left out.
    ties : {"efron", "breslow"}
        How churn events on the same day share the risk set (Efron is more accurate with many
        ties and is what lifelines uses).
    penalizer : float
        Strength of an L2 penalty, 0 (the default) for plain maximum likelihood. As in
        lifelines' ``CoxTimeVaryingFitter`` the penalty is ``penalizer * n / 2 * sum(b ** 2)``
        with ``n`` the number of rows (intervals) of ``data`` and ``b`` the coefficients per
        standard deviation of their covariate, so results match lifelines; note that it
        therefore grows when the same members are split into more intervals. The rules above
        still apply: a penalty does not make an unmeasurable effect measurable.
    max_iter : int
        Most Newton iterations per fit.
    tol : float
        Convergence tolerance: the fit has converged once the next Newton step would raise the
        log-likelihood by less than ``tol`` and move no coefficient (per standard deviation of
        its covariate) by more than ``sqrt(tol)``. That step, and one more from the same
        derivatives, are still taken, so the coefficients end up far more precise than ``tol``.

    Returns
    -------
    CoxResult

    Raises
    ------
    ValueError
        On missing, non-numeric or missing-valued columns, intervals with start >= stop or
        overlapping within a member, events other than 0/1 or not on a member's last interval,
        or invalid options; the message says how to fix it.
    """
    covariates = _names(covariates, "covariates")
    _check_options(ties, penalizer, max_iter, tol)
    reserved = sorted(set(covariates) & set(RESERVED_COLUMNS))
    if reserved:
        raise InputError(
            f"{', '.join(map(repr, reserved))} cannot be a covariate: it is part of the interval "
            "structure. Pass the names of the item and fixed covariate columns only."
        )
    _require_columns(data, (*RESERVED_COLUMNS, *covariates), "data")
    if data.height == 0:
        raise InputError(
            "data has no intervals: build it with counting_process from at least one member."
        )
    start = _float_column(data, "start", "data", "day the interval starts")
    stop = _float_column(data, "stop", "data", "day the interval ends")
    if not (np.isfinite(start).all() and np.isfinite(stop).all()):
        raise InputError(
            "data.start and data.stop must be finite days: drop rows with missing values."
        )
    empty = stop <= start
    if empty.any():
        first = int(np.argmax(empty))
        raise InputError(
            f"Every interval needs start < stop, but {int(empty.sum()):,} do not (first at row "
            f"{first}: ({start[first]!r}, {stop[first]!r}]). Drop empty intervals, e.g. members "
            "with zero tenure."
        )
    event = _flag_column(data, "event", "data").astype(bool)
    x = np.empty((data.height, len(covariates)), order="F")  # columns contiguous
    for j, name in enumerate(covariates):
        x[:, j] = _float_column(data, name, "data", "a number per interval")
        if not np.isfinite(x[:, j]).all():
            raise InputError(
                f"Covariate data.{name} has missing or infinite values: fill them in (or add a "
                "0/1 'missing' indicator) or drop those rows."
            )
    _check_intervals(data)
    n_members = int(data["member_id"].n_unique())
    n_events = int(event.sum())
    exposed_events = [int(np.count_nonzero(x[event, j])) for j in range(len(covariates))]

    def not_estimable(j: int, reason: str) -> CoxTerm:
        return CoxTerm(
            covariates[j], False, reason, None, None, None, None, None, None, exposed_events[j]
        )

    if n_events == 0:
        reason = "no member churned in these data, so there is no churn to compare"
        return CoxResult(
            terms=tuple(not_estimable(j, reason) for j in range(len(covariates))),
            n_members=n_members,
            n_events=0,
            log_likelihood=0.0,
            converged=True,
            iterations=0,
        )

    risk = _RiskSets.build(start, stop, event, ties)
    # column by column, so a term's numbers do not depend on which other columns are passed
    mean = np.array([x[:, j].mean() for j in range(len(covariates))])
    sd = np.array([x[:, j].std(ddof=1) if data.height > 1 else 0.0 for j in range(len(covariates))])
    kept_x = x[risk.rows]
    reasons: dict[int, str] = {}
    for j in range(len(covariates)):
        reason = _unmeasurable(x[:, j], kept_x[:, j], risk, start[risk.rows])
        if reason:
            reasons[j] = reason
    active = [j for j in range(len(covariates)) if j not in reasons]
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (kept_x - mean) / np.where(sd > 0, sd, 1.0)

    if active:
        info0 = risk.evaluate(z[:, active], np.zeros(len(active)))[2]
        for position, others in _collinear(info0).items():
            names = [covariates[active[o]] for o in others]
            reasons[active[position]] = (
                f"it moves in lockstep with {names[0]} among the members at risk (an exact "
                f"linear function of it, e.g. a copy), so their effects cannot be told apart; "
                f"only {names[0]}, listed first, is fitted"
                if len(names) == 1
                else f"it is an exact linear combination of {', '.join(names)} among the "
                "members at risk, so their effects cannot be told apart; only the columns "
                "listed first are fitted"
            )
        active = [j for j in active if j not in reasons]

    converged = True
    while True:
        fit = _newton(risk, z[:, active], penalizer * data.height, max_iter, tol)
        if fit.converged:
            break
        converged = False
        stuck = fit.stuck if fit.stuck.any() else np.ones(len(active), dtype=bool)
        group = [active[int(i)] for i in np.flatnonzero(stuck)]
        for j in group:
            partners = ", ".join(covariates[o] for o in group if o != j)
            together = f" together with {partners}" if partners else ""
            how = (
                "its estimate kept growing until the information matrix became singular"
                if fit.singular
                else f"its estimate was still moving after {max_iter} Newton steps"
            )
            reasons[j] = (
                f"the fit did not settle: {how}, typically because churn is separated almost "
                f"perfectly by this term{together}, so no finite estimate exists"
                + ("" if fit.singular else " (if max_iter was simply too small, raise it)")
            )
        active = [j for position, j in enumerate(active) if not stuck[position]]

    terms: list[CoxTerm] = []
    for j in range(len(covariates)):
        if j in reasons:
            terms.append(not_estimable(j, reasons[j]))
            continue
        position = active.index(j)
        coef = float(fit.beta[position] / sd[j])
        se = float(fit.se[position] / sd[j])
        terms.append(
            CoxTerm(
                name=covariates[j],
                estimable=True,
                reason="",
                coef=coef,
                se=se,
                hazard_ratio=_exp(coef),
                ci_low=_exp(coef - _Z95 * se),
                ci_high=_exp(coef + _Z95 * se),
                p_value=float(2.0 * stats.norm.sf(abs(coef / se))),
                n_exposed_events=exposed_events[j],
            )
        )
    return CoxResult(
        terms=tuple(terms),
        n_members=n_members,
        n_events=n_events,
        log_likelihood=fit.log_likelihood,
        converged=converged,
        iterations=fit.iterations,
    )


def _exp(value: float) -> float:
    """exp that gives inf instead of raising for a huge value (a very wide interval)."""
    try:
        return math.exp(value)
    except OverflowError:
        return math.inf


# --------------------------------------------------------------------------------------------
# risk sets and the partial likelihood


@dataclass(frozen=True, eq=False)
class _RiskSets:
    """Where every interval sits among the distinct churn times, for running sums.

    Interval i is at risk at churn times ``times[lo[i]:hi[i]]`` (those in (start, stop]).
    Intervals at risk at no churn time carry no information and are dropped (``rows`` holds the
    positions of the rest in the original data).
    """

    times: FloatArray  # distinct churn times, ascending
    rows: IntArray  # original positions of the intervals kept
    lo: IntArray
    hi: IntArray
    event: BoolArray  # per kept interval
    event_time: IntArray  # churn-time index of each event interval (in order of kept rows)
    tie_time: IntArray  # churn-time index of each event, grouped by time (Efron expansion)
    tie_share: FloatArray  # l / d for the l-th of d tied events (0 with Breslow)

    @classmethod
    def build(cls, start: FloatArray, stop: FloatArray, event: BoolArray, ties: Ties) -> _RiskSets:
        times = np.unique(stop[event])
        lo = np.searchsorted(times, start, side="right").astype(np.int64)
        hi = np.searchsorted(times, stop, side="right").astype(np.int64)
        rows = np.flatnonzero(hi > lo).astype(np.int64)
        lo, hi, kept_event = lo[rows], hi[rows], event[rows]
        event_time = hi[kept_event] - 1
        counts = np.bincount(event_time, minlength=times.size)
        tie_time = np.repeat(np.arange(times.size, dtype=np.int64), counts)
        first = np.repeat(np.cumsum(counts) - counts, counts)
        if ties == "efron":
            tie_share = (np.arange(tie_time.size) - first) / counts[tie_time]
        else:
            tie_share = np.zeros(tie_time.size)
        return cls(times, rows, lo, hi, kept_event, event_time, tie_time, tie_share)

    @property
    def m(self) -> int:
        return int(self.times.size)

    def sums(self, values: FloatArray) -> FloatArray:
        """Sum of ``values`` (per kept interval, 1-D or 2-D) over the risk set of each churn time.

        Uses suffix sums (intervals still present after the time minus those starting after
        it), so rounding stays relative to what is still at risk late in follow-up.
        """
        flat = values.reshape(values.shape[0], -1)
        out = np.empty((self.m, flat.shape[1]))
        for c in range(flat.shape[1]):
            ending = np.bincount(self.hi, weights=flat[:, c], minlength=self.m + 1)
            starting = np.bincount(self.lo, weights=flat[:, c], minlength=self.m + 1)
            out[:, c] = np.cumsum(ending[::-1])[::-1][1:] - np.cumsum(starting[::-1])[::-1][1:]
        return out.reshape((self.m, *values.shape[1:]))

    def evaluate(self, z: FloatArray, beta: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        """Partial log-likelihood, its gradient and the information matrix at ``beta``.

        Far from the estimate (a fit drifting to infinity) every weight of a risk set can
        underflow to 0; the log-likelihood is then -inf or NaN and the caller backs off.
        """
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return self._evaluate(z, beta)

    def _evaluate(self, z: FloatArray, beta: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        m, p = self.m, z.shape[1]
        eta = z @ beta
        shift = float(eta.max()) if eta.size else 0.0
        w = np.exp(eta - shift)  # the likelihood does not change when every eta moves alike
        at_risk = self.sums(np.column_stack([w, w[:, None] * z]))
        ev_w = w[self.event]
        ev_z = z[self.event]
        tied = np.empty((m, p + 1))
        tied[:, 0] = np.bincount(self.event_time, weights=ev_w, minlength=m)
        for c in range(p):
            tied[:, c + 1] = np.bincount(self.event_time, weights=ev_w * ev_z[:, c], minlength=m)
        # Efron: the l-th of d tied events sees the risk set minus l/d of the tied members
        f = self.tie_share
        num = at_risk[self.tie_time] - f[:, None] * tied[self.tie_time]
        denominator = num[:, 0]
        mean_z = num[:, 1:] / denominator[:, None]
        # the denominators were summed with weights exp(eta - shift): each is exp(-shift) times
        # the true one, so every event adds -shift to its log
        loglik = float(eta[self.event].sum() - shift * f.size - np.log(denominator).sum())
        gradient = ev_z.sum(axis=0) - mean_z.sum(axis=0)
        # sum over events of the weighted second moments, without a p x p matrix per time:
        # each interval gets the sum of 1/denominator over the churn times it is at risk at,
        # minus (for a tied event) the sum of share/denominator at its own time
        per_time = np.bincount(self.tie_time, weights=1.0 / denominator, minlength=m)
        tie_part = np.bincount(self.tie_time, weights=f / denominator, minlength=m)
        running = np.concatenate([[0.0], np.cumsum(per_time)])
        weight = running[self.hi] - running[self.lo]
        weight[self.event] -= tie_part[self.event_time]
        weight *= w
        information = z.T @ (weight[:, None] * z) - mean_z.T @ mean_z
        return loglik, gradient, (information + information.T) / 2.0


@dataclass(frozen=True)
class _Fit:
    beta: FloatArray
    se: FloatArray
    log_likelihood: float
    converged: bool
    iterations: int
    stuck: BoolArray  # terms whose estimate was still moving when the fit gave up
    singular: bool


def _newton(risk: _RiskSets, z: FloatArray, penalty: float, max_iter: int, tol: float) -> _Fit:
    """Newton–Raphson with step halving on the partial log-likelihood minus ``penalty/2 |b|²``."""
    p = z.shape[1]

    def penalised(beta: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        loglik, gradient, information = risk.evaluate(z, beta)
        if penalty > 0:
            loglik -= 0.5 * penalty * float(beta @ beta)
            gradient = gradient - penalty * beta
            information = information + penalty * np.eye(p)
        return loglik, gradient, information

    beta = np.zeros(p)
    loglik, gradient, information = penalised(beta)
    if p == 0:
        return _Fit(beta, beta.copy(), loglik, True, 0, np.zeros(0, dtype=bool), False)
    step = np.zeros(p)
    for iteration in range(1, max_iter + 1):
        try:
            factor = linalg.cho_factor(information)
        except linalg.LinAlgError:
            return _Fit(beta, beta, loglik, False, iteration, _dependent(information), True)
        step = linalg.cho_solve(factor, gradient)
        decrement = float(gradient @ step)
        done = decrement / 2.0 < tol and float(np.abs(step).max()) <= math.sqrt(tol)
        trial = step
        for _ in range(_MAX_HALVINGS):
            candidate = penalised(beta + trial)
            if math.isfinite(candidate[0]) and candidate[0] >= loglik - 1e-12 * abs(loglik):
                break
            trial = trial / 2.0
        else:  # no step improves the likelihood: we are at its top up to rounding
            if decrement / 2.0 < tol:
                return _finish(beta, loglik, np.zeros(p), information, iteration)
            stuck = np.abs(step) > max(math.sqrt(tol), 1e-3 * float(np.abs(step).max()))
            return _Fit(beta, beta, loglik, False, iteration, stuck, False)
        beta = beta + trial
        loglik, gradient, information = candidate
        if done:
            return _finish(beta, loglik, gradient, information, iteration)
    stuck = np.abs(step) > max(math.sqrt(tol), 1e-3 * float(np.abs(step).max()))
    return _Fit(beta, beta, loglik, False, max_iter, stuck, False)


def _finish(
    beta: FloatArray,
    loglik: float,
    gradient: FloatArray,
    information: FloatArray,
    iterations: int,
) -> _Fit:
    """Standard errors from the information at ``beta``, after one last (tiny) Newton step.

    The last step reuses the gradient and information already computed at ``beta``, so it
    costs no pass over the data; it takes the coefficients from an error of about the square
    of the previous step to far below rounding. The log-likelihood and standard errors are
    those at ``beta``, off by less than the convergence tolerance (as in lifelines).
    """
    p = beta.size
    try:
        factor = linalg.cho_factor(information)
        covariance = linalg.cho_solve(factor, np.eye(p))
        beta = beta + linalg.cho_solve(factor, gradient)
    except linalg.LinAlgError:
        return _Fit(beta, beta, loglik, False, iterations, _dependent(information), True)
    se = np.sqrt(np.diag(covariance))
    return _Fit(beta, se, loglik, True, iterations, np.zeros(p, dtype=bool), False)


def _dependent(information: FloatArray) -> BoolArray:
    """Every term involved in a (near) dependency of a singular information matrix.

    When the information turns singular during the fit, the terms are being driven apart by
    separation rather than being plain copies, so all the terms of the dependency are affected,
    not only the later one.
    """
    involved = np.zeros(information.shape[0], dtype=bool)
    for position, others in _collinear(information).items():
        involved[position] = True
        involved[others] = True
    return involved


def _collinear(information: FloatArray) -> dict[int, list[int]]:
    """Covariates (positions) that are linear combinations of earlier kept ones.

    Goes through the covariates in order and keeps one when the part of its within-risk-set
    variance not explained by those already kept is more than ``_COLLINEAR_TOL`` of the whole;
    for each one left out, lists the kept covariates it is a combination of.
    """
    p = information.shape[0]
    kept: list[int] = []
    dropped: dict[int, list[int]] = {}
    for k in range(p):
        own = float(information[k, k])
        if not own > 0:
            dropped[k] = list(kept)
            continue
        if kept:
            block = information[np.ix_(kept, kept)]
            cross = information[kept, k]
            try:
                coefs = linalg.solve(block, cross, assume_a="pos")
            except (linalg.LinAlgError, ValueError):
                coefs = np.linalg.lstsq(block, cross, rcond=None)[0]
            residual = own - float(cross @ coefs)
            if residual <= _COLLINEAR_TOL * own:
                scale = np.sqrt(np.diag(block) / own)
                involved = [kept[i] for i in np.flatnonzero(np.abs(coefs) * scale > 1e-6)]
                dropped[k] = involved or list(kept)
                continue
        kept.append(k)
    return dropped


# --------------------------------------------------------------------------------------------
# terms that cannot be estimated


def _unmeasurable(
    values: FloatArray, kept: FloatArray, risk: _RiskSets, kept_start: FloatArray
) -> str:
    """Why a single covariate's effect cannot be estimated, or "" when it can.

    ``values`` is the column over all intervals, ``kept`` over the intervals at risk at some
    churn time (aligned with ``risk``).
    """
    binary = bool(np.isin(values, (0.0, 1.0)).all())
    low, high = float(values.min()), float(values.max())
    if low == high:
        if binary and low == 0.0:
            return "nobody has it at any time: nothing to compare"
        if binary:
            return "everyone has it for their whole membership: nothing to compare"
        return f"it has the same value ({low:g}) for everyone at all times: nothing to compare"
    smallest = -_risk_set_max(-kept, risk)
    largest = _risk_set_max(kept, risk)
    varies = smallest < largest
    if not varies.any():
        if not binary:
            return (
                "at every churn time it has the same value for everyone still at risk: no "
                "comparison possible"
            )
        on = largest == 1.0
        if on.all():
            return "everyone still at risk has it at every churn time: no comparison possible"
        if not on.any():
            return "nobody still at risk has it at any churn time: no comparison possible"
        first_on = int(np.argmax(on))
        if on[first_on:].all():
            since = float(kept_start[kept == 1.0].min())
            return (
                f"everyone still at risk has it from day {since:g} on and nobody before: no "
                "comparison possible"
            )
        return (
            "at every churn time either everyone still at risk has it or nobody does: no "
            "comparison possible"
        )
    time = risk.event_time
    at_varying = varies[time]
    churned = kept[risk.event][at_varying]
    if (churned == smallest[time][at_varying]).all():
        if binary:
            return (
                "no member churned while exposed (at the churn times where some members at "
                "risk had it and some not): the hazard ratio would run to 0, so no finite "
                "estimate exists"
            )
        return (
            "every churn happened at the lowest value among those at risk: the hazard ratio "
            "would run to 0, so no finite estimate exists"
        )
    if (churned == largest[time][at_varying]).all():
        if binary:
            return (
                "no member churned while unexposed (at the churn times where some members at "
                "risk had it and some not): the hazard ratio would run to infinity, so no "
                "finite estimate exists"
            )
        return (
            "every churn happened at the highest value among those at risk: the hazard ratio "
            "would run to infinity, so no finite estimate exists"
        )
    return ""


def _risk_set_max(values: FloatArray, risk: _RiskSets) -> FloatArray:
    """Largest of ``values`` among the intervals at risk at each churn time.

    Each interval covers a range of churn times [lo, hi); it is written into the two
    power-of-two blocks that cover the range (as in a sparse table), and the blocks are then
    pushed down level by level, so the whole costs O(n + m log m).
    """
    m = risk.m
    length = (risk.hi - risk.lo).astype(np.float64)
    level = (np.frexp(length)[1] - 1).astype(np.int64)  # floor(log2(length))
    levels = int(level.max()) + 1
    table = np.full(levels * m, -np.inf)
    np.maximum.at(table, level * m + risk.lo, values)
    np.maximum.at(table, level * m + risk.hi - np.left_shift(1, level), values)
    grid = table.reshape(levels, m)
    for lev in range(levels - 1, 0, -1):
        half = 1 << (lev - 1)
        np.maximum(grid[lev - 1], grid[lev], out=grid[lev - 1])
        np.maximum(grid[lev - 1, half:], grid[lev, : m - half], out=grid[lev - 1, half:])
    return grid[0].copy()


# --------------------------------------------------------------------------------------------
# input checks


def _names(values: Sequence[str], what: str) -> list[str]:
    if isinstance(values, str):
        raise InputError(
            f"{what} must be a list of column names, got the single string {values!r}: wrap it "
            f"in a list, e.g. [{values!r}]."
        )
    names = list(values)
    bad = [v for v in names if not isinstance(v, str) or not v]
    if bad:
        raise InputError(f"{what} must be non-empty strings (column names), got {bad[:3]!r}.")
    repeated = sorted({v for v in names if names.count(v) > 1})
    if repeated:
        raise InputError(
            f"{what} lists {', '.join(map(repr, repeated))} more than once: list each once."
        )
    return names


def _check_lag(lag_days: float) -> None:
    if not (isinstance(lag_days, int | float) and math.isfinite(lag_days)):
        raise InputError(f"lag_days must be a number of days, got {lag_days!r}.")
    if lag_days < MIN_LAG_DAYS:
        raise InputError(
            f"lag_days must be at least {MIN_LAG_DAYS:g} day, got {lag_days!r}: a shorter lag "
            "lets the visit a member churned on count as exposure before churn (reverse "
            "causation)."
        )


def _check_options(ties: str, penalizer: float, max_iter: int, tol: float) -> None:
    if ties not in ("efron", "breslow"):
        raise InputError(f"ties must be 'efron' or 'breslow', got {ties!r}.")
    if not (math.isfinite(penalizer) and penalizer >= 0):
        raise InputError(f"penalizer must be a number >= 0 (0 for no penalty), got {penalizer!r}.")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise InputError(f"max_iter must be a whole number of iterations >= 1, got {max_iter!r}.")
    if not (math.isfinite(tol) and 0 < tol < 1):
        raise InputError(f"tol must be a small positive number such as 1e-9, got {tol!r}.")


def _require_columns(frame: pl.DataFrame, needed: Sequence[str], what: str) -> None:
    absent = [c for c in dict.fromkeys(needed) if c not in frame.columns]
    if absent:
        raise InputError(
            f"Column(s) {', '.join(map(repr, absent))} not in {what}; it has "
            f"{', '.join(map(repr, frame.columns)) or 'no columns'}. Add them or pass the names "
            "of existing columns."
        )


def _float_column(frame: pl.DataFrame, name: str, what: str, meaning: str) -> FloatArray:
    column = frame[name]
    if not (column.dtype.is_numeric() or column.dtype == pl.Boolean):
        raise InputError(
            f"{what}.{name} must be numbers ({meaning}), got {column.dtype} values. Convert it "
            "first (categories: one 0/1 column per category; time differences: divide by one "
            "day)."
        )
    return column.cast(pl.Float64).to_numpy().astype(np.float64)  # nulls become NaN


def _flag_column(frame: pl.DataFrame, name: str, what: str) -> npt.NDArray[np.int8]:
    values = _float_column(frame, name, what, "0 or 1")
    invalid = (values != 0) & (values != 1)  # NaN counts as invalid
    if invalid.any():
        first = int(np.argmax(invalid))
        raise InputError(
            f"{what}.{name} must be 0 or 1 (1 = churned), but {int(invalid.sum()):,} value(s) "
            f"are not (first at row {first}: {values[first]!r}). Convert the flag to 0/1 and "
            "fill missing values."
        )
    return values.astype(np.int8)


def _check_intervals(data: pl.DataFrame) -> None:
    """A member's intervals must not overlap, and churn can only end their last interval."""
    ordered = data.select("member_id", "start", "stop", "event").sort("member_id", "start")
    same = ordered["member_id"].to_numpy()
    start = ordered["start"].cast(pl.Float64).to_numpy()
    stop = ordered["stop"].cast(pl.Float64).to_numpy()
    event = ordered["event"].cast(pl.Float64).to_numpy()
    follows = same[1:] == same[:-1]
    overlap = follows & (start[1:] < stop[:-1])
    if overlap.any():
        first = int(np.argmax(overlap))
        raise InputError(
            f"Member {same[first]!r} has overlapping intervals ({start[first]:g}, "
            f"{stop[first]:g}] and ({start[first + 1]:g}, {stop[first + 1]:g}]: each member's "
            "intervals must follow one another (build them with counting_process)."
        )
    early = follows & (event[:-1] == 1)
    if early.any():
        first = int(np.argmax(early))
        raise InputError(
            f"Member {same[first]!r} churns at day {stop[first]:g} but has a later interval: "
            "the event must be on the member's last interval only."
        )
