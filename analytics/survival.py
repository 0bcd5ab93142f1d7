"""Time to churn: Kaplan–Meier survival curves, their 95 % bands and the log-rank test.

A survival curve answers "of the members who joined, what share is still a member after t
days?", counting members who have not churned yet (right-censored) only for as long as we have
seen them. Durations are tenure in days; an event is 1 when the member churned and 0 when they
are still a member (censored at their tenure so far).

The numbers match lifelines 0.30 (``KaplanMeierFitter`` with its default exponential Greenwood
band, ``median_survival_times`` and ``multivariate_logrank_test``) to rounding, and are computed
with vectorised numpy so a million members take a fraction of a second.

Where the band is undefined
---------------------------
The band is built on the log(-log S) scale, which has no value where S(t) = 1 (no churn yet) or
S(t) = 0 (everyone still followed churned). As lifelines does, the band is then the point
itself: ``ci_low = ci_high = 1`` where S(t) = 1 and ``ci_low = ci_high = 0`` where S(t) = 0.
Both are honest: before the first churn nobody has churned in the sample, and S(t) = 0 only
happens at the last time point, when every member left to follow churned.

Where we differ from lifelines on purpose
-----------------------------------------
- The band is not always monotone: with few members left, one churn can widen it enough that
  the upper edge rises again. The median's interval then runs from the first day the lower edge
  reaches 0.5 to the first day from which the upper edge stays at or below 0.5, so it covers
  every day whose band contains 50 %. lifelines' binary search can stop at an earlier dip of the
  upper edge. Where the band is monotone (almost always) the two agree exactly.
- :meth:`SurvivalCurve.at` gives 1.0 before day 0 (lifelines gives NaN).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats

from analytics.errors import InputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MISSING_GROUP = "(missing)"
"""Name of the group of members whose group value is null."""

DEFAULT_MIN_GROUP_SIZE = 30
SUMMARY_DAYS: tuple[int, ...] = (30, 90, 180, 365)
"""Days at which :meth:`SurvivalComparison.summary` reports the share still a member."""

_LOGRANK_BLOCK_CELLS = 4_000_000  # event times × groups held in memory at once by the log-rank

_FRAME_SCHEMA: dict[str, Any] = {
    "group": pl.String,
    "days": pl.Float64,
    "survival": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "at_risk": pl.Int64,
    "events": pl.Int64,
    "censored": pl.Int64,
}


class SurvivalAt(NamedTuple):
    """A survival curve read off at chosen days (see :meth:`SurvivalCurve.at`)."""

    times: FloatArray
    """The days asked for."""
    survival: FloatArray
    """Share still a member at each day."""
    ci_low: FloatArray
    """Lower edge of the band at each day."""
    ci_high: FloatArray
    """Upper edge of the band at each day."""
    at_risk: IntArray
    """Members still followed just before each day (tenure of at least that many days)."""


@dataclass(frozen=True, eq=False)
class SurvivalCurve:
    """Share of members not yet churned after each number of days, with a pointwise band.

    The curve is a step function: ``survival[i]`` holds from ``timeline[i]`` up to (not
    including) ``timeline[i + 1]``.

    Attributes
    ----------
    label : str
        Name of the group the curve describes.
    timeline : numpy.ndarray
        Day 0 and every distinct duration (churn or censoring), ascending (float).
    survival : numpy.ndarray
        Kaplan–Meier estimate S(t) at each timeline point.
    ci_low, ci_high : numpy.ndarray
        Pointwise band at ``level`` (95 % by default): Greenwood variance on the log(-log S)
        scale (the "exponential Greenwood" band). Equal to S where S is 1 or 0.
    at_risk : numpy.ndarray
        Members still followed just before each timeline point (int).
    events : numpy.ndarray
        Members who churned at each timeline point (int).
    censored : numpy.ndarray
        Members whose follow-up ends there without churning (int).
    n : int
        Members in the curve.
    n_events : int
        Members who churned.
    median : float
        Median time to churn: the first day with S(t) <= 0.5; ``math.inf`` when the curve
        never falls that far (more than half are still members at the end of follow-up).
    median_ci : tuple of float
        Band for the median, read where the band edges reach 0.5: the first day the lower edge
        is at or below 0.5, and the first day from which the upper edge stays at or below 0.5.
        ``math.inf`` where an edge never gets there.
    level : float
        Coverage of the band, e.g. 0.95.
    """

    label: str
    timeline: FloatArray
    survival: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    at_risk: IntArray
    events: IntArray
    censored: IntArray
    n: int
    n_events: int
    median: float
    median_ci: tuple[float, float]
    level: float = 0.95

    @property
    def follow_up(self) -> float:
        """Longest tenure observed: beyond it the curve says nothing new."""
        return float(self.timeline[-1])

    def at(self, times: npt.ArrayLike) -> SurvivalAt:
        """Read the curve at any days, e.g. every day from 0 to 365 for a chart.

        The curve is a right-continuous step function: at day t it has the value of the last
        timeline point at or before t. Before day 0 every member is still present (1.0).
        After the longest tenure the last value is held, as lifelines' ``predict`` does; check
        :attr:`follow_up` before reading that far.

        Parameters
        ----------
        times : array_like
            Days (any order, finite).

        Returns
        -------
        SurvivalAt
            ``times``, ``survival``, ``ci_low``, ``ci_high`` and ``at_risk`` as arrays of the
            same length as ``times``.
        """
        t = np.atleast_1d(np.asarray(times, dtype=np.float64))
        if t.ndim != 1:
            raise InputError(f"times must be a 1-D sequence of days, got shape {t.shape}.")
        if not np.isfinite(t).all():
            raise InputError("times must be finite numbers of days: drop NaN and infinite values.")
        index = np.searchsorted(self.timeline, t, side="right") - 1
        before = index < 0
        safe = np.where(before, 0, index)
        survival = np.where(before, 1.0, self.survival[safe])
        low = np.where(before, 1.0, self.ci_low[safe])
        high = np.where(before, 1.0, self.ci_high[safe])
        still = np.append(self.at_risk, 0)
        at_risk = still[np.searchsorted(self.timeline, t, side="left")]
        return SurvivalAt(t, survival, low, high, at_risk.astype(np.int64))

    def frame(self) -> pl.DataFrame:
        """The curve as a table, one row per timeline point, for charts and export.

        Returns
        -------
        polars.DataFrame
            ``group``, ``days``, ``survival``, ``ci_low``, ``ci_high``, ``at_risk``,
            ``events``, ``censored``.
        """
        return pl.DataFrame(
            {
                "group": np.full(self.timeline.size, self.label, dtype=object),
                "days": self.timeline,
                "survival": self.survival,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "at_risk": self.at_risk,
                "events": self.events,
                "censored": self.censored,
            },
            schema=_FRAME_SCHEMA,
        )


@dataclass(frozen=True)
class LogRankResult:
    """Whether churn differs between groups by more than chance would explain.

    Attributes
    ----------
    statistic : float
        Log-rank chi-squared statistic: how far the churn seen in each group is from the churn
        expected if every group churned at the same rate.
    degrees_of_freedom : int
        Number of groups minus one.
    p_value : float
        Chance of a statistic at least this large if the groups did not differ.
    groups : tuple of str
        Groups compared.
    """

    statistic: float
    degrees_of_freedom: int
    p_value: float
    groups: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class SurvivalComparison:
    """Survival curves of several groups of members, and the test of whether they differ.

    Attributes
    ----------
    curves : tuple of SurvivalCurve
        One curve per group with enough members, largest group first.
    logrank : LogRankResult or None
        Log-rank test across those groups; None when fewer than two groups qualify.
    too_small : tuple of (str, int)
        Groups left out for having too few members, with their size, largest first.
    """

    curves: tuple[SurvivalCurve, ...]
    logrank: LogRankResult | None
    too_small: tuple[tuple[str, int], ...]

    def frame(self) -> pl.DataFrame:
        """All curves stacked in one table (see :meth:`SurvivalCurve.frame`), for export."""
        if not self.curves:
            return pl.DataFrame(schema=_FRAME_SCHEMA)
        return pl.concat([curve.frame() for curve in self.curves], how="vertical")

    def summary(self) -> pl.DataFrame:
        """One row per group: size, churn, median time to churn and share left at set days.

        Returns
        -------
        polars.DataFrame
            ``group``, ``n``, ``events``, ``median``, ``median_ci_low``, ``median_ci_high``
            (``inf`` when not reached), then for each of 30, 90, 180 and 365 days
            ``survival_<d>d``, ``survival_<d>d_low`` and ``survival_<d>d_high``: the share still
            a member after d days with its band, null when no member was followed that long
            (unless everyone followed had already churned, when it is 0).
        """
        schema: dict[str, Any] = {
            "group": pl.String,
            "n": pl.Int64,
            "events": pl.Int64,
            "median": pl.Float64,
            "median_ci_low": pl.Float64,
            "median_ci_high": pl.Float64,
        }
        for day in SUMMARY_DAYS:
            for suffix in ("", "_low", "_high"):
                schema[f"survival_{day}d{suffix}"] = pl.Float64
        rows: list[dict[str, Any]] = []
        days = np.asarray(SUMMARY_DAYS, dtype=np.float64)
        for curve in self.curves:
            row: dict[str, Any] = {
                "group": curve.label,
                "n": curve.n,
                "events": curve.n_events,
                "median": curve.median,
                "median_ci_low": curve.median_ci[0],
                "median_ci_high": curve.median_ci[1],
            }
            read = curve.at(days)
            known = (days <= curve.follow_up) | (curve.survival[-1] == 0.0)
            for i, day in enumerate(SUMMARY_DAYS):
                ok = bool(known[i])
                row[f"survival_{day}d"] = float(read.survival[i]) if ok else None
                row[f"survival_{day}d_low"] = float(read.ci_low[i]) if ok else None
                row[f"survival_{day}d_high"] = float(read.ci_high[i]) if ok else None
            rows.append(row)
        return pl.DataFrame(rows, schema=schema, orient="row")


def kaplan_meier(
    durations: npt.ArrayLike,
    events: npt.ArrayLike,
    *,
    label: str = "all",
    level: float = 0.95,
) -> SurvivalCurve:
    """Share of members still present after each number of days (Kaplan–Meier curve).

    Members who have not churned count for as long as we have seen them and then drop out of
    the calculation without counting as churned.

    Parameters
    ----------
    durations : array_like
        Tenure of each member in days (>= 0): to churn, or to now when still a member.
    events : array_like
        1 (or True) when the member churned, 0 (or False) when still a member.
    label : str
        Name for the curve (the group it describes).
    level : float
        Coverage of the band, between 0 and 1 (default 0.95).

    Returns
    -------
    SurvivalCurve

    Raises
    ------
    ValueError
        When the inputs are empty, of different lengths, have missing or negative durations,
        or events other than 0 and 1; the message says how to fix them.
    """
    times, flags = _check_inputs(durations, events)
    if times.size == 0:
        raise InputError(
            "No members to draw a survival curve for: pass at least one duration and event."
        )
    return _fit(times, flags, label=label, z=_z(level), level=level)


def logrank_test(
    durations: npt.ArrayLike,
    events: npt.ArrayLike,
    groups: npt.ArrayLike | Sequence[object] | pl.Series,
) -> LogRankResult:
    """Test whether members of different groups churn at different rates (log-rank test).

    Compares, at each day someone churned, how many churned in each group with how many would
    have if all groups churned alike; a small p-value means the curves differ by more than
    chance would explain. With k groups the statistic is chi-squared with k - 1 degrees of
    freedom (the multivariate log-rank test; for two groups it is the usual log-rank test).

    Parameters
    ----------
    durations : array_like
        Tenure of each member in days (>= 0).
    events : array_like
        1 when the member churned, 0 when still a member.
    groups : array_like or polars.Series
        Group of each member (any labels; listed in sorted order in the result).

    Returns
    -------
    LogRankResult

    Raises
    ------
    ValueError
        On invalid durations or events (see :func:`kaplan_meier`), missing group labels,
        lengths that differ, or fewer than two groups.
    """
    times, flags = _check_inputs(durations, events)
    if isinstance(groups, pl.Series):
        labels = groups.rename("group")
    else:
        raw = np.asarray(groups)
        labels = pl.Series("group", raw if raw.dtype != object else raw.tolist(), strict=False)
    if labels.len() != times.size:
        raise InputError(
            f"groups has {labels.len():,} values but durations has {times.size:,}: pass one "
            "group label per member."
        )
    if labels.null_count():
        raise InputError(
            f"groups has {labels.null_count():,} missing label(s): give them a name (for example "
            f"{MISSING_GROUP!r}) or leave those members out."
        )
    names = labels.unique().sort()
    if names.len() < 2:
        raise InputError(
            "The log-rank test compares groups: pass members from at least two groups "
            f"(found {names.len()})."
        )
    codes = labels.rank("dense").to_numpy().astype(np.int64) - 1
    statistic, p_value = _logrank(times, flags, codes, names.len())
    return LogRankResult(
        statistic=statistic,
        degrees_of_freedom=names.len() - 1,
        p_value=p_value,
        groups=tuple(str(name) for name in names.to_list()),
    )


def compare_groups(
    frame: pl.DataFrame,
    *,
    duration: str,
    event: str,
    group: str,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    level: float = 0.95,
) -> SurvivalComparison:
    """Survival curves per group of members, and whether they differ (log-rank test).

    Groups with fewer than ``min_group_size`` members are left out (and listed in
    ``too_small``): their curves would be too noisy to read. Members whose group is null form
    a group named ``"(missing)"``.

    Parameters
    ----------
    frame : polars.DataFrame
        One row per member.
    duration : str
        Column with tenure in days (>= 0).
    event : str
        Column with 1 (or true) when the member churned, 0 (or false) when still a member.
    group : str
        Column naming each member's group (any type; compared as text).
    min_group_size : int
        Fewest members a group needs to get a curve (default 30).
    level : float
        Coverage of the bands, between 0 and 1 (default 0.95).

    Returns
    -------
    SurvivalComparison
        Empty (no curves) when no group is large enough, including for an empty frame.
    """
    absent = [c for c in (duration, event, group) if c not in frame.columns]
    if absent:
        raise InputError(
            f"Column(s) {', '.join(map(repr, absent))} not in the table; it has "
            f"{', '.join(map(repr, frame.columns))}. Pass existing column names."
        )
    if min_group_size < 1:
        raise InputError(f"min_group_size must be at least 1 member, got {min_group_size}.")
    z = _z(level)
    times, flags = _check_inputs(
        frame[duration], frame[event], names=(f"column {duration!r}", f"column {event!r}")
    )
    try:
        labels = frame[group].cast(pl.String).fill_null(MISSING_GROUP).rename("group")
    except pl.exceptions.PolarsError as exc:
        raise InputError(
            f"Column {group!r} cannot be read as group names ({frame[group].dtype}): choose a "
            "column of text, numbers or dates."
        ) from exc
    sizes = labels.value_counts(name="members").sort(["members", "group"], descending=[True, False])
    names: list[str] = sizes["group"].to_list()
    counts: list[int] = sizes["members"].to_list()
    kept = [(g, c) for g, c in zip(names, counts, strict=True) if c >= min_group_size]
    too_small = tuple((g, c) for g, c in zip(names, counts, strict=True) if c < min_group_size)
    if not kept:
        return SurvivalComparison(curves=(), logrank=None, too_small=too_small)
    kept_names = [g for g, _ in kept]
    codes = (
        labels.replace_strict(kept_names, list(range(len(kept))), default=-1, return_dtype=pl.Int64)
        .to_numpy()
        .astype(np.int64)
    )
    # members of each kept group are contiguous in this order (left-out members, code -1, first)
    order = np.argsort(codes, kind="stable")
    left_out = int(np.count_nonzero(codes < 0))
    bounds = left_out + np.r_[0, np.cumsum([c for _, c in kept])]
    curves = []
    for j, name in enumerate(kept_names):
        rows = order[bounds[j] : bounds[j + 1]]
        curves.append(_fit(times[rows], flags[rows], label=name, z=z, level=level))
    logrank = None
    if len(kept) >= 2:
        inside = codes >= 0
        statistic, p_value = _logrank(times[inside], flags[inside], codes[inside], len(kept))
        logrank = LogRankResult(
            statistic=statistic,
            degrees_of_freedom=len(kept) - 1,
            p_value=p_value,
            groups=tuple(kept_names),
        )
    return SurvivalComparison(curves=tuple(curves), logrank=logrank, too_small=too_small)


# --------------------------------------------------------------------------------------------
# internals


def _z(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise InputError(f"level must be between 0 and 1 (e.g. 0.95 for a 95 % band), got {level}.")
    return float(stats.norm.ppf(1.0 - (1.0 - level) / 2.0))


def _check_inputs(
    durations: npt.ArrayLike | pl.Series,
    events: npt.ArrayLike | pl.Series,
    *,
    names: Sequence[str] = ("durations", "events"),
) -> tuple[FloatArray, npt.NDArray[np.int8]]:
    """Durations as float days (>= 0) and events as 0/1, or a ValueError saying what to fix."""
    d_name, e_name = names
    d = _numeric(durations, d_name, "tenure in days")
    e = _numeric(events, e_name, "0 (still a member) or 1 (churned)")
    if d.size != e.size:
        raise InputError(
            f"{d_name} has {d.size:,} values but {e_name} has {e.size:,}: pass one duration and "
            "one event flag per member."
        )
    bad = ~np.isfinite(d)
    if bad.any():
        raise InputError(
            f"{d_name} has {int(bad.sum()):,} missing or infinite values (first at position "
            f"{int(np.argmax(bad))}): drop those members or fill in their tenure in days."
        )
    negative = d < 0
    if negative.any():
        first = int(np.argmax(negative))
        raise InputError(
            f"{d_name} must be at least 0 days, but {int(negative.sum()):,} are negative (first "
            f"at position {first}: {d[first]!r}). Check that the end date is after the join date."
        )
    invalid = (e != 0) & (e != 1)
    if invalid.any():
        first = int(np.argmax(invalid))
        raise InputError(
            f"{e_name} must be 0 (still a member) or 1 (churned), but {int(invalid.sum()):,} "
            f"values are not (first at position {first}: {e[first]!r}). Convert the churn flag "
            "to 0/1 and fill missing values."
        )
    # + 0.0 turns -0.0 into 0.0 so the timeline never shows "-0"
    return d + 0.0, e.astype(np.int8)


def _numeric(values: npt.ArrayLike | pl.Series, name: str, meaning: str) -> FloatArray:
    if isinstance(values, pl.Series):
        if not (values.dtype.is_numeric() or values.dtype == pl.Boolean):
            raise InputError(
                f"{name} must be numbers ({meaning}), got {values.dtype} values. Convert them "
                "first (time differences: divide by one day)."
            )
        return values.cast(pl.Float64).to_numpy()  # nulls become NaN, reported as missing
    raw = np.asarray(values)
    if raw.dtype.kind in "USMm":
        raise InputError(
            f"{name} must be numbers ({meaning}), got {raw.dtype} values. Convert them first "
            "(time differences: divide by one day)."
        )
    if raw.ndim != 1:
        raise InputError(
            f"{name} must be a 1-D sequence with one value per member, got shape {raw.shape}."
        )
    try:
        return np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numbers ({meaning}); some values are not.") from exc


def _tabulate(
    durations: FloatArray, events: npt.NDArray[np.int8]
) -> tuple[FloatArray, IntArray, IntArray]:
    """Distinct durations (ascending) with how many members end there and how many churned."""
    order = np.argsort(durations)
    sorted_d = durations[order]
    starts = _run_starts(sorted_d)
    removed = np.diff(np.r_[starts, sorted_d.size]).astype(np.int64)
    deaths = np.add.reduceat(events[order].astype(np.int64), starts)
    return sorted_d[starts], removed, deaths


def _run_starts(sorted_values: FloatArray) -> IntArray:
    """Positions where a new distinct value starts in an ascending array."""
    new = np.ones(sorted_values.size, dtype=bool)
    new[1:] = sorted_values[1:] != sorted_values[:-1]
    return np.flatnonzero(new).astype(np.int64)


def _fit(
    durations: FloatArray,
    events: npt.NDArray[np.int8],
    *,
    label: str,
    z: float,
    level: float,
) -> SurvivalCurve:
    n = durations.size
    times, removed, deaths = _tabulate(durations, events)
    if times[0] > 0.0:
        times = np.r_[0.0, times]
        removed = np.r_[0, removed]
        deaths = np.r_[0, deaths]
    at_risk = n - np.r_[0, np.cumsum(removed)[:-1]]
    left = at_risk - deaths
    with np.errstate(divide="ignore", invalid="ignore"):
        # the same arithmetic as lifelines, so S is identical to the last bit and the median
        # lands on the same day where S is exactly 0.5 in theory
        log_s = np.cumsum(np.log(left) - np.log(at_risk))
        increments = np.where(left > 0, deaths / (at_risk * left.astype(np.float64)), 0.0)
        greenwood = np.cumsum(increments)
        survival = np.exp(log_s)
        # exponential Greenwood band on the log(-log S) scale (undefined where S is 1 or 0)
        spread = z * np.sqrt(greenwood) / log_s
        low = np.exp(-np.exp(np.log(-log_s) - spread))
        high = np.exp(-np.exp(np.log(-log_s) + spread))
    one = survival == 1.0
    zero = survival == 0.0
    low = np.where(one, 1.0, np.where(zero, 0.0, low))
    high = np.where(one, 1.0, np.where(zero, 0.0, high))
    median = _first_at_or_below(survival, times)
    median_ci = (_first_at_or_below(low, times), _stays_at_or_below(high, times))
    censored = removed - deaths
    for array in (times, survival, low, high, at_risk, deaths, censored):
        array.setflags(write=False)
    return SurvivalCurve(
        label=label,
        timeline=times,
        survival=survival,
        ci_low=low,
        ci_high=high,
        at_risk=at_risk,
        events=deaths,
        censored=censored,
        n=n,
        n_events=int(deaths.sum()),
        median=median,
        median_ci=median_ci,
        level=level,
    )


def _first_at_or_below(values: FloatArray, times: FloatArray, q: float = 0.5) -> float:
    """First time with values <= q (inf when never)."""
    hit = values <= q
    return float(times[int(np.argmax(hit))]) if hit.any() else math.inf


def _stays_at_or_below(values: FloatArray, times: FloatArray, q: float = 0.5) -> float:
    """First time from which values stay <= q (inf when the last value is above q)."""
    above = np.flatnonzero(values > q)
    if above.size == 0:
        return float(times[0])
    if above[-1] == values.size - 1:
        return math.inf
    return float(times[above[-1] + 1])


def _logrank(
    durations: FloatArray, events: npt.NDArray[np.int8], codes: IntArray, k: int
) -> tuple[float, float]:
    """Multivariate log-rank statistic and p-value for members in groups 0..k-1.

    Works on the distinct churn times only, in blocks of at most ``_LOGRANK_BLOCK_CELLS``
    (time, group) cells, so many groups do not exhaust memory; the cost grows with
    churn times × k². As in lifelines, the last group is dropped from the covariance and a
    pseudo-inverse is used, so a group with nobody at risk at any churn time (all censored
    before the first churn) adds nothing; the degrees of freedom stay k - 1 there, as in
    lifelines, which makes the p-value slightly conservative in that rare case.
    """
    order = np.argsort(durations)
    total = durations[order]  # every member's duration, ascending
    churned_sorted = total[events[order] == 1]
    firsts = _run_starts(churned_sorted)
    event_times = churned_sorted[firsts]
    d = np.diff(np.r_[firsts, churned_sorted.size]).astype(np.float64)
    # durations sorted within each group (a stable sort of small integers is a radix sort)
    sorted_codes = codes[order]
    sorted_d = total[np.argsort(sorted_codes, kind="stable")]
    sizes = np.bincount(codes, minlength=k)
    bounds = np.r_[0, np.cumsum(sizes)]
    observed = np.bincount(sorted_codes[events[order] == 1], minlength=k).astype(np.float64)
    n_t = (durations.size - np.searchsorted(total, event_times, side="left")).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        shrink = np.where(n_t > 1, (n_t - d) / (n_t - 1), 1.0)
    factor = shrink * d / n_t**2
    expected = np.zeros(k)
    diagonal = np.zeros(k)
    cross = np.zeros((k, k))
    block = max(1, _LOGRANK_BLOCK_CELLS // k)
    for lo in range(0, event_times.size, block):
        hi = min(lo + block, event_times.size)
        at = event_times[lo:hi]
        # members of each group still followed just before each event time
        n_tj = np.empty((hi - lo, k))
        for j in range(k):
            group_d = sorted_d[bounds[j] : bounds[j + 1]]
            n_tj[:, j] = sizes[j] - np.searchsorted(group_d, at, side="left")
        expected += (d[lo:hi] / n_t[lo:hi]) @ n_tj
        diagonal += (factor[lo:hi] * n_t[lo:hi]) @ n_tj
        cross += (n_tj * factor[lo:hi, None]).T @ n_tj
    variance = np.diag(diagonal) - cross
    z = (observed - expected)[:-1]
    statistic = float(z @ np.linalg.pinv(variance[:-1, :-1]) @ z)
    p_value = float(stats.chi2.sf(statistic, k - 1))
    return statistic, p_value
