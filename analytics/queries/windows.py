"""Per-member counts and recency relative to cutoffs, for many cutoffs in one job.

Cutoffs are given as :class:`Cutoffs` (integer microseconds, distinct and ascending, and where
the engine prefers a join, the same as a small frame on the backend); every query returns rows
per cutoff with ``cutoff``, the cutoff's position (0, 1, ...). Events are put into *buckets*:
bucket i holds the events after cutoff i-1 and at or before cutoff i. Anything "at or before
cutoff j" is then an aggregate over buckets 0..j of a per-bucket aggregate: the whole history
is grouped once, not once per cutoff. Counts in windows (the last 7, 28, 90 days) keep each
recent event for the cutoffs whose window it falls in.

Every query returns member-level rows (per cutoff and member, or per member), never events.
Windows are relative to the cutoff; :func:`since_joining` gives the same windows relative to
``joined_at`` for analyses of early engagement."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import narwhals.stable.v2 as nw

from analytics.errors import InputError
from analytics.queries.events import DAY_US

Frame = nw.LazyFrame[Any]

#: Windows of the activity counts, in days.
WINDOW_DAYS = (7, 28, 90)


def _one_if(condition: nw.Expr) -> nw.Expr:
    return nw.when(condition).then(1).otherwise(0)


def bucket(cutoffs_us: Sequence[int], column: str = "occurred_at_us") -> nw.Expr:
    """How many cutoffs lie strictly before the event: the position of the first cutoff at or
    after it (``len(cutoffs_us)`` when it is after all of them)."""
    t = nw.col(column)
    out: nw.Expr = nw.lit(0)
    for c in cutoffs_us:
        out = out + _one_if(t > c)
    return out.alias("bucket")


@dataclass(frozen=True)
class Cutoffs:
    """The cutoffs of a query: ``us``, integer microseconds, distinct and ascending; and,
    where the engine joins better than it repeats a pass, ``frame``: the same cutoffs as a small
    frame on the backend (``cutoff``, the position, and ``cutoff_us``).

    With a ``frame`` the events are joined with it once (Spark and the databases broadcast the
    few cutoffs: at 100,000 members on Spark ``local[2]`` the risk features took half as long
    as one pass per cutoff; polars' in-memory engine re-read an unkept source for every pass).
    Without one, each cutoff is its own filtered pass and the passes are stacked (polars'
    streaming engine ran the join 2 to 11 times slower at 1 M members; benchmarks in
    docs/benchmarks.md). The backend says which it prefers (``stacks_passes``). Both give the
    same rows (the golden tests run both on every engine)."""

    us: tuple[int, ...]
    frame: Frame | None = None

    def __post_init__(self) -> None:
        if not self.us or list(self.us) != sorted(set(self.us)):
            raise InputError("cutoffs must be distinct and in ascending order.")


def _stacked(frames: Iterable[Frame]) -> Frame:
    """The i-th frame's rows with ``cutoff`` i, stacked."""
    return nw.concat(
        [f.with_columns(nw.lit(i, dtype=nw.Int64).alias("cutoff")) for i, f in enumerate(frames)]
    )


def _each(
    frame: Frame,
    cutoffs: Cutoffs,
    rows: Callable[[Frame, nw.Expr, nw.Expr], Frame],
    summary: Callable[[Frame, list[str]], Frame],
) -> Frame:
    """Per cutoff: ``summary(rows(frame, position, cutoff_us), by)``, where ``rows`` keeps the
    rows of the cutoff at ``position`` (``cutoff_us``) and ``summary`` groups them by ``by``
    and its own keys; with ``cutoff`` (the position) first on a join, last when stacked."""
    if cutoffs.frame is not None:
        joined = frame.join(cutoffs.frame, how="cross")
        return summary(rows(joined, nw.col("cutoff"), nw.col("cutoff_us")), ["cutoff"])
    return _stacked(
        summary(rows(frame, nw.lit(i), nw.lit(c)), []) for i, c in enumerate(cutoffs.us)
    )


def _grouped(
    keep: Callable[[nw.Expr, nw.Expr], nw.Expr], keys: Sequence[str], aggs: Sequence[nw.Expr]
) -> tuple[Callable[[Frame, nw.Expr, nw.Expr], Frame], Callable[[Frame, list[str]], Frame]]:
    """The ``rows`` and ``summary`` of :func:`_each` for rows kept by ``keep(position,
    cutoff_us)``, grouped by ``keys`` and aggregated by ``aggs``."""
    return (
        lambda f, i, c: f.filter(keep(i, c)),
        lambda f, by: f.group_by(*by, *keys).agg(*aggs),
    )


def last_activity(activity: Frame, cutoffs: Cutoffs, kinds: Sequence[str] = ()) -> Frame:
    """Per cutoff and member with activity at or before it: ``cutoff``, ``member_key``,
    ``last_us`` (latest activity at or before the cutoff) and ``last_us_<i>`` (latest activity
    of kind ``kinds[i]``, null without one)."""
    t = nw.col("occurred_at_us")
    per_bucket = (
        activity.filter(t <= cutoffs.us[-1])
        .with_columns(bucket(cutoffs.us))
        .group_by("member_key", "bucket")
        .agg(
            t.max().alias("last_us"),
            *(
                nw.when(nw.col("kind") == k).then(t).otherwise(None).max().alias(f"last_us_{i}")
                for i, k in enumerate(kinds)
            ),
        )
    )
    names = ["last_us", *(f"last_us_{i}" for i in range(len(kinds)))]
    return _each(
        per_bucket,
        cutoffs,
        *_grouped(
            lambda i, _c: nw.col("bucket") <= i, ["member_key"], [nw.col(n).max() for n in names]
        ),
    )


def recent_counts(
    activity: Frame,
    cutoffs: Cutoffs,
    kinds: Sequence[str] = (),
    *,
    anchor: str = "cutoff_us",
) -> tuple[Frame, Frame]:
    """Activity counts in windows before each cutoff (``anchor="cutoff_us"``), or after joining
    (``anchor="joined_at_us"``, the cutoffs then only bound the history used).

    Before a cutoff, an event of age ``a`` (cutoff minus its time, at most the cutoff) counts in
    the last d days when ``a < d`` days; after joining, an event ``a`` after joining counts in
    the first d days when ``a < d`` days (and the event is at or before the cutoff).

    Returns two frames, per cutoff and member with activity in the last (first) 90 days:
    ``cutoff``, ``member_key``, ``n_7d``, ``n_28d``, ``n_90d``, ``n_prev_28d`` (28 to 56 days),
    ``n_28d_<i>`` (kind ``kinds[i]`` in 28 days); and ``cutoff``, ``member_key``,
    ``active_days_28d`` (distinct UTC days with activity in 28 days).
    """
    if anchor not in ("cutoff_us", "joined_at_us"):
        raise InputError(f"anchor must be 'cutoff_us' or 'joined_at_us', got {anchor!r}.")
    t = nw.col("occurred_at_us")
    window = max(WINDOW_DAYS) * DAY_US
    a = nw.col("age_us")

    def within(rows: Frame, _i: nw.Expr, cutoff_us: nw.Expr) -> Frame:
        age = cutoff_us - t if anchor == "cutoff_us" else t - nw.col("joined_at_us")
        return rows.filter(t <= cutoff_us).with_columns(age.alias("age_us")).filter(a < window)

    counts_by = [
        *(_one_if(a < d * DAY_US).sum().alias(f"n_{d}d") for d in WINDOW_DAYS),
        _one_if((a >= 28 * DAY_US) & (a < 56 * DAY_US)).sum().alias("n_prev_28d"),
        *(
            _one_if((nw.col("kind") == k) & (a < 28 * DAY_US)).sum().alias(f"n_28d_{j}")
            for j, k in enumerate(kinds)
        ),
    ]

    def active_days(rows: Frame, by: list[str]) -> Frame:
        return (
            rows.filter(a < 28 * DAY_US)
            .select(*by, "member_key", (t // DAY_US).alias("day"))
            .unique()
            .group_by(*by, "member_key")
            .agg(nw.col("day").count().alias("active_days_28d"))
        )

    recent = activity.filter(t <= cutoffs.us[-1])
    if anchor == "cutoff_us":
        recent = recent.filter(t > cutoffs.us[0] - window)
    recent = recent.select("member_key", "occurred_at_us", "joined_at_us", "kind")
    counts = _each(
        recent, cutoffs, within, lambda f, by: f.group_by(*by, "member_key").agg(*counts_by)
    )
    return counts, _each(recent, cutoffs, within, active_days)


def since_joining(
    activity: Frame, cutoffs: Cutoffs, kinds: Sequence[str] = ()
) -> tuple[Frame, Frame]:
    """:func:`recent_counts` with windows starting at each member's joining."""
    return recent_counts(activity, cutoffs, kinds, anchor="joined_at_us")


def kind_counts(activity: Frame, cutoffs: Cutoffs) -> Frame:
    """Activity rows per kind at or before each cutoff: ``cutoff``, ``kind``, ``rows``."""
    t = nw.col("occurred_at_us")
    per_bucket = (
        activity.filter(t <= cutoffs.us[-1])
        .with_columns(bucket(cutoffs.us))
        .group_by("kind", "bucket")
        .agg(nw.col("member_key").count().alias("rows"))
    )
    return _each(
        per_bucket,
        cutoffs,
        *_grouped(lambda i, _c: nw.col("bucket") <= i, ["kind"], [nw.col("rows").sum()]),
    )


def last_activity_at(activity: Frame, known_us: int) -> Frame:
    """Each member's latest activity at or before ``known_us`` (the churn dates as the data said
    then): ``member_key``, ``last_us``."""
    t = nw.col("occurred_at_us")
    return activity.filter(t <= known_us).group_by("member_key").agg(t.max().alias("last_us"))


def _with_item_kind(exposures: Frame, items: Frame) -> Frame:
    """Exposures with the kind of their item (``item_kind``) from ``items`` (``item_id``,
    ``item_kind``: the small proof-items frame on the backend)."""
    return exposures.select("member_key", "item_id", "occurred_at_us").join(
        items.select("item_id", "item_kind"), on="item_id"
    )


def proof_seen(exposures: Frame, items: Frame, cutoffs: Cutoffs) -> tuple[Frame, Frame]:
    """Proof seen at or before each cutoff.

    Returns two frames: ``cutoff``, ``member_key``, ``item_kind``, ``items`` (distinct items of
    that kind seen: badges earned for kind ``badge``), and ``cutoff``, ``member_key``,
    ``last_proof_us`` (the latest exposure to an item that is not a badge).
    """
    t = nw.col("occurred_at_us")
    seen = _with_item_kind(exposures, items).filter(t <= cutoffs.us[-1])
    first = seen.group_by("member_key", "item_id", "item_kind").agg(t.min().alias("first_us"))
    items_seen = _each(
        first,
        cutoffs,
        *_grouped(
            lambda _i, c: nw.col("first_us") <= c,
            ["member_key", "item_kind"],
            [nw.col("item_id").count().alias("items")],
        ),
    )
    per_bucket = (
        seen.filter(nw.col("item_kind") != "badge")
        .with_columns(bucket(cutoffs.us))
        .group_by("member_key", "bucket")
        .agg(t.max().alias("last_proof_us"))
    )
    last = _each(
        per_bucket,
        cutoffs,
        *_grouped(
            lambda i, _c: nw.col("bucket") <= i, ["member_key"], [nw.col("last_proof_us").max()]
        ),
    )
    return items_seen, last


def proof_kinds(exposures: Frame, items: Frame, cutoff_us: int) -> Frame:
    """The kinds of the items seen at or before ``cutoff_us``: ``item_kind``."""
    seen = _with_item_kind(exposures, items)
    return seen.filter(nw.col("occurred_at_us") <= cutoff_us).select("item_kind").unique()
