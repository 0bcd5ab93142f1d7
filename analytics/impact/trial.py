"""Second view: sequential trial emulation, one trial per calendar day.

For each day ``d`` and item, the trial starts for each member active that day at their first
activity of the day (time zero, when every arm's eligibility is known). It compares members
*newly exposed at time zero* (first exposure to the item at or before that first activity: the
day's first visit came with the item) with members *not exposed by then* (not exposed before,
nor at their first activity; one who meets the item later that day is a control of that day),
weighted on their history up to that day (activity before ``d``: all of it, the last 28 days,
active days, days since the previous active day; tenure; other proof seen before ``d``; join
time; attributes fixed at signup) and on the calendar: indicators of the ``trial_period_days``
period the day falls in (an item's first views bunch up while it is new). With
``trial_grace_days`` above 1, a first exposure at any time before the start of day
``d + trial_grace_days`` counts as newly exposed instead.

Why time zero: a control counts because it was active at *some* moment of the day, a member
exposed at some moment of the day because it met the item then. The more often a member comes
by, the likelier the item is among the day's visits, while "active that day" saturates, so
comparing every exposure of the day leans towards members more engaged that day than their
history shows (+0.27 points on items without effect in the demo simulation; with time zero and
the calendar, -0.10; ``docs/impact.md``).

The outcome is being retained ``horizon_days`` after the start of day ``d``, counted only for
days whose outcome is decidable (``inactive_days`` quiet days after the horizon before the
as-of time). Trials are pooled: a member active on many days takes part in many trials, as a
control until exposed, so the 95 % interval is cluster-robust by member (the sum of each
member's influence terms), never the naive one that treats every member-day as independent.

Unlike the landmark estimate, which asks about exposure in the first ``landmark_days`` among
members active just before day 30, this asks about exposure *on any day* among members active
that day: it covers items met late in membership, and the two answer different questions when
an item matters more (or less) for new members.

Speed: all treated member-days are kept (up to half of ``trial_max_rows``) and the controls are
sampled at random (seeded) to ``trial_controls_per_exposed`` per treated, each weighted by the
inverse of its sampling rate, so an item costs a few hundred thousand rows at most.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats
from sklearn.linear_model import LogisticRegression

from analytics.auc import weighted_auc
from analytics.community import Community
from analytics.impact.estimate import _standardise
from analytics.impact.model import (
    PROPENSITY_CLIP,
    FloatArray,
    ImpactSettings,
    rows_of_items,
    sorted_by_item,
    split_by_item,
)
from analytics.impact.population import attribute_dummies
from analytics.queries.events import DAY_US, to_us
from analytics.queries.landmark import active_member_days

#: the trial's covariates (history up to the trial day), besides the attributes fixed at signup
TRIAL_COVARIATES = (
    "log_activity_before",
    "log_activity_28d",
    "log_active_days_before",
    "log_days_since_active",
    "log_tenure",
    "log_other_proof_seen",
    "join_years",
)


@dataclass(frozen=True)
class TrialDays:
    """Every decidable member-day with activity, rows sorted by member, then day.

    ``member`` is the row's member (index into ``member_ids``), ``day`` its UTC calendar day
    number, ``retained`` its outcome. The covariates are kept compact (whole-number history per
    row, ``history``, and the attributes fixed at signup per member, ``member_x``) and built
    only for the rows a trial uses (:meth:`features`): at a million members there are tens of
    millions of member-days, and a float matrix of them all would take gigabytes."""

    member_ids: list[str]
    member: npt.NDArray[np.int32]
    day: npt.NDArray[np.int32]
    #: per row: activity before the day, in the 27 days before it, active days before it,
    #: days since the previous active day (or joining), tenure in days, other proof seen before
    #: (a matrix, or :class:`MemberDayHistory`, which computes the rows asked for)
    history: npt.NDArray[np.int32] | MemberDayHistory
    #: per member: years joined after the first member, then the attribute dummies
    member_x: FloatArray
    names: tuple[str, ...]
    #: per row: retained ``horizon_days`` after the day (an array, or
    #: :class:`MemberDayOutcome`, which computes the rows asked for)
    retained: npt.NDArray[np.int8] | MemberDayOutcome
    #: first exposures by member position: ``i`` (index into ``member_ids``), ``item_id``,
    #: ``first_day``, ``first_us`` (integer microseconds) and ``at_time_zero`` (at or before the
    #: member's first activity of that day; false without activity that day), joined to the
    #: positions once, not per item; :func:`trial_days` sorts them by item
    first_days: pl.DataFrame
    #: length of the calendar periods adjusted for (days; 0: none)
    period_days: int = 0

    def features(self, rows: npt.NDArray[np.intp]) -> FloatArray:
        """The covariates (columns ``names``) of the member-days ``rows``: the history, the
        member's fixed covariates and, with ``period_days``, one indicator per calendar period
        after the first (periods absent from ``rows`` give constant columns, which the model
        drops)."""
        history = np.log1p(self.history[rows].astype(np.float64))
        columns = [history, self.member_x[self.member[rows]]]
        if self.period_days:
            first_day, periods = self._calendar
            period = (self.day[rows].astype(np.int64) - first_day) // self.period_days
            levels = np.arange(1, periods)
            columns.append((period[:, None] == levels[None, :]).astype(np.float64))
        return np.hstack(columns)

    @cached_property
    def _calendar(self) -> tuple[int, int]:
        """The first trial day and how many calendar periods the days span (found once: every
        trial asks for its rows' features)."""
        return int(self.day.min()), calendar_periods(self.day, self.period_days)

    def history_matrix(self) -> npt.NDArray[np.int32]:
        """The whole-number history of every row (for studies; the trials use :meth:`features`)."""
        return np.asarray(self.history[np.arange(len(self.member))])

    @cached_property
    def row_keys(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Each row's ``member * 2**32 + day`` (sorted, as the rows are) and each member's first
        row (one more at the end: the row count), found once; the history holds them already."""
        if isinstance(self.history, MemberDayHistory):
            return self.history.key, self.history.first_row
        member = self.member.astype(np.int64)
        first_row = np.searchsorted(member, np.arange(len(self.member_ids) + 1, dtype=np.int64))
        return member * (1 << 32) + self.day.astype(np.int64), first_row

    @cached_property
    def exposures_by_item(self) -> dict[str, pl.DataFrame]:
        """:attr:`first_days` by item (``i``, ``first_day``, ``first_us``, ``at_time_zero``: one
        row per member exposed), slices of the rows (:func:`trial_days` stores them sorted by
        item, so they are not copied)."""
        return split_by_item(self.first_days)

    def first_exposures(self, item_ids: Sequence[str]) -> pl.DataFrame:
        """Per member exposed to any of ``item_ids``: its position ``i``, the ``first_day`` of
        the earliest first exposure and whether that one came at time zero (``at_time_zero``)."""
        frames = rows_of_items(self.exposures_by_item, item_ids)
        if len(frames) == 1:  # one row per member already
            return frames[0].select("i", "first_day", "at_time_zero")
        if not frames:
            return pl.DataFrame(
                schema={"i": pl.Int64, "first_day": pl.Int64, "at_time_zero": pl.Boolean}
            )
        return (
            pl.concat(frames)
            .group_by("i")
            .agg(
                pl.col("first_day").min(),
                # the earliest of the items' first exposures decides (two at the same moment
                # share their flag: it depends on the moment alone)
                pl.col("at_time_zero").sort_by("first_us").first(),
            )
        )

    def prepare(self) -> TrialDays:
        """Compute what every trial shares (the row keys, the exposures by item) now, once,
        rather than in whichever of the parallel trials asks first."""
        _ = self.row_keys, self.exposures_by_item
        return self


@dataclass(frozen=True)
class MemberDayHistory:
    """The whole-number history of member-days (columns as :attr:`TrialDays.history`), computed
    for the rows asked for: a trial uses a few hundred thousand of tens of millions of
    member-days, so the history of all of them (a 500 MB matrix at a million members, and
    seconds of work) is never built.

    ``key`` is each row's ``member * 2**32 + day``, sorted; ``cum`` the running activity count
    to the end of the row's day (over all rows); ``first_row`` and ``offset`` per member: its
    first row and the running count before it; ``seen`` the sorted first-exposure keys of all
    members (the same packing) and ``seen_begins`` where each member's begin."""

    key: npt.NDArray[np.int64]
    cum: npt.NDArray[np.int64]
    first_row: npt.NDArray[np.int64]
    offset: npt.NDArray[np.int64]
    join_day: npt.NDArray[np.int64]
    seen: npt.NDArray[np.int64]
    seen_begins: npt.NDArray[np.int64]

    @classmethod
    def build(
        cls,
        key: npt.NDArray[np.int64],
        first_row: npt.NDArray[np.int64],
        n: npt.NDArray[np.int64],
        join_day: npt.NDArray[np.int64],
        seen: npt.NDArray[np.int64],
    ) -> MemberDayHistory:
        """From the member-days (``key``: ``member * 2**32 + day``, sorted; each member's
        ``first_row``, one more at the end: the row count; activity count ``n``), each member's
        joining day and the sorted first-exposure keys."""
        members = len(join_day)
        cum = np.cumsum(n)
        offset = np.where(first_row > 0, cum[np.maximum(first_row - 1, 0)], 0)
        seen_begins = np.searchsorted(seen, np.arange(members, dtype=np.int64) << 32)
        return cls(
            key=key,
            cum=cum,
            first_row=first_row,
            offset=offset,
            join_day=join_day.astype(np.int64),
            seen=seen,
            seen_begins=seen_begins,
        )

    def __getitem__(self, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.int32]:
        rows = np.asarray(rows, dtype=np.int64)
        key = self.key[rows]
        member, day = key >> 32, key & 0xFFFFFFFF
        start = self.first_row[member]
        before_day = self.cum[rows] - self.offset[member] - self._count(rows)  # rows before
        # rows in the 27 days before: from the first row on or after day - 27 (never one of
        # another member: keys of two members lie 2**32 apart)
        cut = np.searchsorted(self.key, key - 27, side="left")
        earlier = np.where(cut > start, self.cum[np.maximum(cut - 1, 0)] - self.offset[member], 0)
        k = rows - start  # active days before this one
        previous = np.where(
            k > 0, self.key[np.maximum(rows - 1, 0)] & 0xFFFFFFFF, self.join_day[member]
        )
        history = np.empty((len(rows), 6), dtype=np.int32)
        history[:, 0] = before_day
        history[:, 1] = before_day - earlier
        history[:, 2] = k
        history[:, 3] = day - previous
        history[:, 4] = day - self.join_day[member]
        # other proof first seen before the day, less that of earlier members
        history[:, 5] = np.searchsorted(self.seen, key, side="left") - self.seen_begins[member]
        return history

    def _count(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Activity on the rows' own days."""
        return self.cum[rows] - np.where(rows > 0, self.cum[np.maximum(rows - 1, 0)], 0)


@dataclass(frozen=True)
class MemberDayOutcome:
    """Whether the member of each member-day is retained ``horizon_days`` after the start of
    its day, computed for the rows asked for (a trial reads a few hundred thousand of tens of
    millions): ``member`` and ``day`` per row, ``churned_us`` per member (the largest integer
    for members not churned)."""

    member: npt.NDArray[np.int32]
    day: npt.NDArray[np.int32]
    churned_us: npt.NDArray[np.int64]
    horizon_days: int

    def __getitem__(self, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.int8]:
        rows = np.asarray(rows, dtype=np.int64)
        ends = (self.day[rows].astype(np.int64) + self.horizon_days) * DAY_US
        return (self.churned_us[self.member[rows]] >= ends).astype(np.int8)


@dataclass(frozen=True)
class TrialEffect:
    """One item's pooled trial estimate (``effect`` None with ``reason`` when not estimable)."""

    effect: float | None
    ci_low: float | None
    ci_high: float | None
    se: float | None
    naive_se: float | None
    n_exposed: int
    n_trials: int
    reason: str


def trial_days(
    community: Community, settings: ImpactSettings, first: pl.DataFrame
) -> TrialDays | None:
    """The member-days the trials are built from (``None`` when no outcome is decidable).

    ``first``: first exposures (``member_id``, ``item_id``, ``first_at``)."""
    decidable_by = (
        community.as_of
        - timedelta(days=settings.inactive_days)
        - timedelta(days=settings.horizon_days)
    )
    last_day = to_us(decidable_by) // DAY_US - 1  # the whole day ends before decidable_by
    (found,) = community.collect(
        active_member_days(
            community.frames().activity(),
            until_us=(last_day + 1) * DAY_US,
            integer_keys=community.events.keyed["member_key"].dtype.is_integer(),
        )
    )
    if found.is_empty():
        return None
    # members by position in the keyed members (sorted by id): whole numbers from here on
    keyed = community.events.keyed.select("member_id", "member_key").with_row_index("_pos")
    ids = keyed["member_id"]
    status = community.churn_status(settings.inactive_days).select(
        "member_id", "joined_at", "churned_at"
    )
    first_join = community.members["joined_at"].min()
    members = (
        keyed.select("_pos", "member_id")
        .join(status, on="member_id", how="left")
        .join(community.members.select("member_id", "left_at"), on="member_id", how="left")
        .sort("_pos")
    )
    never = np.iinfo(np.int64).max
    join_day = (members["joined_at"].dt.epoch("us") // DAY_US).to_numpy()
    churned_us = members["churned_at"].dt.epoch("us").fill_null(never).to_numpy()
    left_us = members["left_at"].dt.epoch("us").fill_null(never).to_numpy()
    join_years = members.select(
        (pl.col("joined_at") - pl.lit(first_join)).dt.total_days() / 365.25
    ).to_series()
    key, n, day_first_us = _by_member_and_day(found, keyed)
    del found
    key, n, day_first_us = _without_departed(key, n, day_first_us, left_us)
    if len(key) == 0:
        return None
    # split as 32-bit numbers without a 64-bit array in between
    member = np.right_shift(key, 32, out=np.empty(len(key), np.int32), casting="unsafe")
    day = np.bitwise_and(key, 0xFFFFFFFF, out=np.empty(len(key), np.int32), casting="unsafe")
    first_row = np.searchsorted(member, np.arange(len(join_day) + 1, dtype=np.int32))
    # other proof first seen before the day: first exposures per member as sorted day keys
    exposures = _first_exposure_times(first, keyed)
    exposure_keys = (exposures["i"].to_numpy() << 32) | exposures["first_day"].to_numpy()
    # polars sorts on both cores (equal keys may come in any order: the sorted keys are the same)
    order = pl.Series(exposure_keys).arg_sort().to_numpy()
    seen = exposure_keys[order]
    history = MemberDayHistory.build(key, first_row.astype(np.int64), n, join_day, seen)
    del n
    # sorted by item: each item's trials read a slice of them (TrialDays.exposures_by_item)
    first_days = sorted_by_item(_with_time_zero(exposures, exposure_keys, order, key, day_first_us))
    del day_first_us
    retained = MemberDayOutcome(member, day, churned_us, settings.horizon_days)
    periods = calendar_periods(day, settings.trial_period_days)
    member_x = [join_years.to_numpy().astype(np.float64)[:, None]]
    dummies = attribute_dummies(community, settings)
    if dummies is not None:
        levels = [c for c in dummies.columns if c != "member_id"]
        aligned = keyed.select("_pos", "member_id").join(dummies, on="member_id", how="left")
        member_x.append(
            aligned.sort("_pos")
            .select(pl.col(c).cast(pl.Float64).fill_null(0.0) for c in levels)
            .to_numpy()
        )
    else:
        levels = []
    names = [*TRIAL_COVARIATES, *levels, *(f"calendar_period_{k}" for k in range(1, periods))]
    return TrialDays(
        member_ids=ids.to_list(),
        member=member,
        day=day,
        history=history,
        member_x=np.hstack(member_x),
        names=tuple(names),
        retained=retained,
        first_days=first_days,
        period_days=settings.trial_period_days,
    ).prepare()


def calendar_periods(day: npt.NDArray[np.integer], period_days: int) -> int:
    """How many calendar periods of ``period_days`` the trial days span, counted from the
    first (1 without calendar periods: ``period_days`` 0)."""
    if not period_days or not len(day):
        return 1
    return (int(day.max()) - int(day.min())) // period_days + 1


def _first_exposure_times(first: pl.DataFrame, keyed: pl.DataFrame) -> pl.DataFrame:
    """Each member's first exposure to each item by member position: ``i``, ``item_id``,
    ``first_us`` (integer microseconds) and ``first_day``. Where ``first`` carries the
    whole-number ``member_key`` (as :func:`analytics.impact.item._first_exposures` does for
    folder sources), positions are looked up in an array, not joined on the text ids."""
    positions = (
        _positions(keyed, first["member_key"].cast(pl.Int64).to_numpy())
        if "member_key" in first.columns and keyed["member_key"].dtype.is_integer()
        else None
    )
    if positions is None:
        by_member = first.group_by("member_id", "item_id").agg(pl.col("first_at").min())
        by_member = by_member.join(keyed.select("member_id", "_pos"), on="member_id", how="inner")
    else:
        by_member = (
            first.select("item_id", "first_at", pl.Series("_pos", positions))
            .filter(pl.col("_pos") >= 0)
            .group_by("_pos", "item_id")
            .agg(pl.col("first_at").min())
        )
    return by_member.select(
        pl.col("_pos").cast(pl.Int64).alias("i"),
        "item_id",
        pl.col("first_at").dt.epoch("us").alias("first_us"),
        (pl.col("first_at").dt.epoch("us") // DAY_US).alias("first_day"),
    )


def _positions(keyed: pl.DataFrame, raw: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The positions in ``keyed`` (its ``_pos``) of the whole-number member keys ``raw``; -1
    for a key of no member there. When the keys are the positions (every member), they are
    taken as they are; otherwise looked up in an array (faster than a join)."""
    keys = keyed["member_key"].cast(pl.Int64).to_numpy()
    if np.array_equal(keys, np.arange(len(keys))):
        if not len(raw) or raw.max() < len(keys):  # every key is a member's (no copy)
            return raw
        return np.where(raw < len(keys), raw, -1)
    lookup = np.full(int(keys.max()) + 1 if len(keys) else 1, -1, dtype=np.int64)
    lookup[keys] = keyed["_pos"].cast(pl.Int64).to_numpy()
    inside = raw < len(lookup)
    return np.where(inside, lookup[np.where(inside, raw, 0)], -1)


def _without_departed(
    key: npt.NDArray[np.int64],
    n: npt.NDArray[np.int64],
    first_us: npt.NDArray[np.int64],
    left_us: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The member-days (``key``: ``member * 2**32 + day``, sorted; ``n``, ``first_us``) without
    those after the member's explicit departure (``left_us`` per member, the largest integer
    for none): only the members who left are searched, and the arrays are copied only when a
    row goes."""
    departed = np.flatnonzero(left_us != np.iinfo(np.int64).max)
    if not len(departed):
        return key, n, first_us
    # each departed member's rows: from its first key to the first key of its day after leaving
    begin = np.searchsorted(key, departed << 32)
    end = np.searchsorted(key, (departed + 1) << 32)
    # alive on a day when not gone before its start: day * DAY_US <= left_us
    cut = np.searchsorted(key, (departed << 32) + left_us[departed] // DAY_US + 1)
    cut = np.clip(cut, begin, end)
    if not (end > cut).any():
        return key, n, first_us
    keep = np.ones(len(key), dtype=bool)
    keep[_rows_in(cut, end)] = False
    return key[keep], n[keep], first_us[keep]


def _with_time_zero(
    exposures: pl.DataFrame,
    exposure_keys: npt.NDArray[np.int64],
    order: npt.NDArray[np.intp],
    keys: npt.NDArray[np.int64],
    day_first_us: npt.NDArray[np.int64],
) -> pl.DataFrame:
    """The first exposures (``i``, ``item_id``, ``first_us``, ``first_day``; their keys
    ``member * 2**32 + day`` and the order sorting them) with ``at_time_zero``: at or before
    the member's first activity of that day (``day_first_us`` of the member-days ``keys``, in
    the same packing, sorted); false on a day without activity. The keys are looked up in
    sorted order: a binary search per key in random order costs 6 times as much."""
    at_zero = np.zeros(exposures.height, dtype=bool)
    if len(keys):
        at = np.empty(len(exposure_keys), dtype=np.int64)
        at[order] = np.searchsorted(keys, exposure_keys[order])
        at = np.minimum(at, len(keys) - 1)
        at_zero = (keys[at] == exposure_keys) & (
            exposures["first_us"].to_numpy() <= day_first_us[at]
        )
    return exposures.with_columns(pl.Series("at_time_zero", at_zero, dtype=pl.Boolean))


def _by_member_and_day(
    found: pl.DataFrame, keyed: pl.DataFrame
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The member-days (``member_key``, ``day``, ``n``, ``first_us``) as one key per row,
    ``position * 2**32 + day`` (the member's position in ``keyed``; days since 1970 fit in 32
    bits), the count and the day's first activity, sorted by the key. Whole-number keys are
    looked up in an array rather than joined, and the rows sorted on one combined key: at a
    million members (20 M member-days) a join and a two-column sort took 7.5 s, these take
    about 1.5. Rows that arrive sorted (the query sorts them where member keys are whole
    numbers: one key sorts faster there than the packed columns here) are only checked, not
    sorted again."""
    if keyed["member_key"].dtype.is_integer():
        position = _positions(keyed, found["member_key"].cast(pl.Int64).to_numpy())
    else:
        position = (
            found.select("member_key")
            .join(keyed.select("member_key", "_pos"), on="member_key", how="left",
                  maintain_order="left")
            ["_pos"].cast(pl.Int64).fill_null(-1).to_numpy()
        )  # fmt: skip
    day = found["day"].cast(pl.Int64).to_numpy()
    n = found["n"].cast(pl.Int64).to_numpy()
    first_us = found["first_us"].cast(pl.Int64).to_numpy()
    known = position >= 0
    if not known.all():
        position, day, n, first_us = position[known], day[known], n[known], first_us[known]
    del known
    key = np.left_shift(position, 32)
    key |= day  # in place: at 20 M member-days every fresh array costs a few tenths of a second
    if len(key) and bool(np.all(key[1:] > key[:-1])):
        # as the query returns them (the keys ranked by member id, as the positions are)
        return key, n, first_us
    fits = len(day) and position.max() < 1 << 31 and day.max() - day.min() < 1 << 16
    if fits and n.max() < 1 << 16:
        # member, day (from the first) and count packed into one whole number, the sort key
        # (the first activity carried along): four times as fast as sorting on key and count
        first = int(day.min())
        ordered = pl.DataFrame(
            {"packed": (position << 32) | ((day - first) << 16) | n, "first_us": first_us}
        ).sort("packed")
        packed = ordered["packed"].to_numpy()
        return (
            ((packed >> 32) << 32) | (((packed >> 16) & 0xFFFF) + first),
            packed & 0xFFFF,
            ordered["first_us"].to_numpy(),
        )
    # sorted as one frame (key, count and first activity together): faster than an arg-sort
    # and separate gathers
    ordered = pl.DataFrame({"key": key, "n": n, "first_us": first_us}).sort("key")
    return ordered["key"].to_numpy(), ordered["n"].to_numpy(), ordered["first_us"].to_numpy()


def _stream(seed: int, key: str) -> np.random.Generator:
    digest = hashlib.sha256(key.encode()).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:4], "little")])


def _weighted_probability(
    x: FloatArray, y: npt.NDArray[np.int8], w: FloatArray, predict: FloatArray
) -> FloatArray:
    if y.min() == y.max():
        return np.full(len(predict), float(y[0]))
    model = LogisticRegression(C=1.0, solver="newton-cholesky", max_iter=100)
    model.fit(x, y, sample_weight=w)
    probability: FloatArray = model.predict_proba(predict)[:, 1]
    return probability


@dataclass(frozen=True)
class ArmRows:
    """The member-days of an item's trials (see :func:`arm_rows`): ``treated``, the rows of the
    newly exposed (sorted), and the controls as one range of rows per member, ``low`` to
    ``high`` (end excluded), in row order. Tens of millions of member-days hold a few hundred
    thousand trial rows: the controls are sampled by their position among all controls, never
    listed whole."""

    treated: npt.NDArray[np.int64]
    low: npt.NDArray[np.int64]
    high: npt.NDArray[np.int64]

    @classmethod
    def from_masks(cls, eligible: npt.NDArray[np.bool_], treated: npt.NDArray[np.bool_]) -> ArmRows:
        """From per-row masks (as :func:`trial_arms` returns): a range per control row."""
        controls = np.flatnonzero(eligible & ~treated).astype(np.int64)
        return cls(np.flatnonzero(treated).astype(np.int64), controls, controls + 1)

    @cached_property
    def _starts(self) -> npt.NDArray[np.int64]:
        """Each member's first position among all controls (one more at the end: the count)."""
        return np.concatenate([[0], np.cumsum(self.high - self.low)])

    @property
    def n_controls(self) -> int:
        return int(self._starts[-1])

    def controls(self, positions: npt.NDArray[np.int64] | None = None) -> npt.NDArray[np.int64]:
        """The rows of the controls at ``positions`` (0 … :attr:`n_controls` - 1, counted in row
        order); all of them, in row order, without ``positions``."""
        if positions is None:
            return _rows_in(self.low, self.high)
        positions = np.asarray(positions, dtype=np.int64)
        which = np.searchsorted(self._starts, positions, side="right") - 1
        return self.low[which] + positions - self._starts[which]

    def masks(self, rows: int) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """Per row of ``rows``: whether it enters the trials, and whether it is newly exposed."""
        eligible = np.zeros(rows, dtype=bool)
        treated = np.zeros(rows, dtype=bool)
        eligible[self.controls()] = True
        eligible[self.treated] = True
        treated[self.treated] = True
        return eligible, treated


def _rows_in(low: npt.NDArray[np.int64], high: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The rows of the ranges ``low`` … ``high`` (end excluded), one after the other."""
    lengths = high - low
    has = np.flatnonzero(lengths)
    begins = np.cumsum(lengths[has]) - lengths[has]  # where each range starts in the result
    return (np.repeat(low[has] - begins, lengths[has]) + np.arange(int(lengths.sum()))).astype(
        np.int64
    )


def arm_rows(
    days: TrialDays, item_ids: Sequence[str], published_at: object, settings: ImpactSettings
) -> ArmRows:
    """The rows entering the trials of the items ``item_ids``: member-days not exposed to any
    of them before that day, the item published by then. Newly exposed (``treated``): first
    exposed at or before the day's first activity (time zero), or, with ``trial_grace_days``
    above 1, before the start of day + grace days; the others are the controls.

    The rows are sorted by member, then day, so each member's eligible days are one range of
    rows (from the publication to the first exposure), its newly exposed ones the end of it: a
    binary search per member exposed, not a pass over every member-day per item."""
    key, first_row = days.row_keys
    members = len(first_row) - 1
    if not len(key):
        empty = np.zeros(0, dtype=np.int64)
        return ArmRows(empty, np.zeros(members, dtype=np.int64), np.zeros(members, dtype=np.int64))
    low = first_row[:-1].copy()
    high = first_row[1:].copy()
    day = days.day
    if published_at is not None:
        published_day = to_us(published_at) // DAY_US  # type: ignore[arg-type]
        # searched only for the members active both before and after the publication
        some = np.flatnonzero(high > low)
        first_seen, last_seen = day[low[some]], day[high[some] - 1]
        low[some[last_seen < published_day]] = high[some[last_seen < published_day]]
        across = some[(first_seen < published_day) & (last_seen >= published_day)]
        low[across] = _first_row_from(
            day, low[across], high[across], np.full(len(across), published_day, dtype=np.int64)
        )
    own = days.first_exposures(item_ids)
    i = own["i"].to_numpy().astype(np.int64)
    first_day = own["first_day"].to_numpy().astype(np.int64)
    # days up to the first exposure's (a member not exposed: every day)
    high[i] = _first_row_from(day, first_row[i], first_row[i + 1], first_day + 1)
    high = np.maximum(high, low)
    split = high.copy()  # controls: low … split, newly exposed: split … high
    if settings.trial_grace_days > 1:
        since = first_day - settings.trial_grace_days + 1
        split[i] = np.clip(_first_row_from(day, first_row[i], high[i], since), low[i], high[i])
    else:
        at_zero = own["at_time_zero"].to_numpy()
        last = high[i] - 1
        that_day = (high[i] > low[i]) & (key[np.maximum(last, 0)] == (i << 32) + first_day)
        split[i] = np.where(that_day & at_zero, last, high[i])
    return ArmRows(_rows_in(split, high), low, split)


def _first_row_from(
    day: npt.NDArray[np.integer],
    begin: npt.NDArray[np.int64],
    end: npt.NDArray[np.int64],
    target: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """Per range of rows ``begin`` … ``end`` (a member's days, sorted), the first row whose
    day is at least ``target`` (``end`` if none): a binary search inside each member's own few
    rows, all members at once. A search over all rows per member (``np.searchsorted``) costs a
    cache miss per step in an array of tens of millions."""
    lo, hi = begin.astype(np.int64), end.astype(np.int64)
    if not len(lo):
        return lo
    for _ in range(int((hi - lo).max()).bit_length()):
        open_ = lo < hi
        if not open_.any():
            break
        mid = (lo + hi) // 2
        later = day[np.minimum(mid, len(day) - 1)] < target
        lo = np.where(open_ & later, mid + 1, lo)
        hi = np.where(open_ & ~later, mid, hi)
    return lo


def trial_arms(
    days: TrialDays, item_ids: Sequence[str], published_at: object, settings: ImpactSettings
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Per trial row (member-day), as masks: whether it enters the trials of the items
    ``item_ids``, and whether it is a newly exposed one (:func:`arm_rows`; for studies and
    tests)."""
    return arm_rows(days, item_ids, published_at, settings).masks(len(days.member))


def trial_effect(
    days: TrialDays | None,
    item_ids: Sequence[str],
    published_at: object,
    settings: ImpactSettings,
    key: str,
) -> TrialEffect:
    """The pooled trial estimate of the items ``item_ids`` taken together (first exposure to
    any of them); ``key`` names the candidate for its own seeded sampling stream."""

    def none(reason: str, n1: int = 0, trials: int = 0) -> TrialEffect:
        return TrialEffect(None, None, None, None, None, n1, trials, reason)

    if days is None:
        return none("no trial day has a decidable outcome yet")
    arms = arm_rows(days, item_ids, published_at, settings)
    rows1 = arms.treated
    n1, n0 = len(rows1), arms.n_controls
    trials = int(np.unique(days.day[rows1]).size)
    if n1 < settings.min_group_size:
        return none(
            f"too few members newly exposed on an active day ({n1}, at least "
            f"{settings.min_group_size} needed)",
            n1,
            trials,
        )
    if n0 < settings.min_group_size:
        return none("too few active members not yet exposed to compare with", n1, trials)
    rng = _stream(settings.seed, key)
    half = settings.trial_max_rows // 2
    take1 = min(n1, half)
    take0 = min(n0, settings.trial_controls_per_exposed * take1, settings.trial_max_rows - take1)
    pick1 = np.sort(rng.choice(rows1, size=take1, replace=False)) if take1 < n1 else rows1
    # the same draws as choosing from the list of control rows, without listing them
    pick0 = (
        np.sort(arms.controls(rng.choice(n0, size=take0, replace=False)))
        if take0 < n0
        else arms.controls()
    )
    rows = np.concatenate([pick1, pick0])
    s = np.concatenate([np.full(take1, n1 / take1), np.full(take0, n0 / take0)])
    a = np.concatenate([np.ones(take1, dtype=np.int8), np.zeros(take0, dtype=np.int8)])
    x = _standardise(days.features(rows))
    y = days.retained[rows]
    propensity = _weighted_probability(x, a, s, x)
    auc = weighted_auc(a, propensity, s)
    if auc >= settings.max_propensity_auc:
        return none(
            f"exposure on a day is almost fully decided by the member's history and the calendar "
            f"(propensity AUC {auc:.2f}): no comparable unexposed member-days",
            n1,
            trials,
        )
    e = np.clip(propensity, *PROPENSITY_CLIP)
    exposed = a == 1
    w = np.where(exposed, 1.0, e / (1 - e))
    m0 = _weighted_probability(x[~exposed], y[~exposed], s[~exposed], x)
    residual = y - m0
    terms = np.where(exposed, residual, -w * residual)
    total_exposed = float((s * a).sum())
    effect = float((s * terms).sum() / total_exposed)
    psi = s * (terms - a * effect) / total_exposed
    naive_se = float(np.sqrt((psi**2).sum()))
    clusters = np.bincount(days.member[rows], weights=psi)
    se = float(np.sqrt((clusters**2).sum()))
    z = float(stats.norm.ppf(1 - settings.alpha / 2))
    return TrialEffect(effect, effect - z * se, effect + z * se, se, naive_se, n1, trials, "")


def views_compared(
    landmark: tuple[float | None, float | None, float | None],
    trial: tuple[float | None, float | None, float | None],
    landmark_days: int,
) -> str:
    """The landmark and trial estimates side by side, in words."""
    (e1, lo1, hi1), (e2, lo2, hi2) = landmark, trial
    if e1 is None or e2 is None or None in (lo1, hi1, lo2, hi2):
        return ""
    assert lo1 is not None
    assert hi1 is not None
    assert lo2 is not None
    assert hi2 is not None
    clear1 = lo1 > 0 or hi1 < 0
    clear2 = lo2 > 0 or hi2 < 0
    if clear1 and clear2 and np.sign(e1) != np.sign(e2):
        return (
            "the views disagree in direction: early exposure and exposure on any active day go "
            "with opposite changes in retention; trust neither without a closer look"
        )
    if hi1 < lo2 or hi2 < lo1:
        return (
            f"the views differ: exposure in the first {landmark_days} days and exposure on any "
            "active day answer different questions (the item may matter more, or less, for new "
            "members), or one of them is confounded"
        )
    if clear1 != clear2:
        return (
            "only one view is clear of chance, but their intervals overlap: they do not "
            "contradict each other"
        )
    return "the views agree"
