"""Risk features per member at each cutoff, computed by the event-level queries."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import polars as pl

from analytics.churn import DEFAULT_INACTIVE_DAYS
from analytics.community import Community
from analytics.errors import LeakageError
from analytics.queries import windows
from analytics.queries.events import to_us
from analytics.risk.known_at import KnownAt, _members_at
from analytics.risk.settings import MAX_KIND_FEATURES, RiskSettings

Progress = Callable[[str, float], None]
FloatArray = npt.NDArray[np.float64]
_Frame = TypeVar("_Frame", pl.DataFrame, pl.LazyFrame)


@dataclass(frozen=True)
class FeatureSpec:
    """Which columns the model sees, fixed at training time so later cutoffs match."""

    kinds: tuple[str, ...]
    proof_kinds: tuple[str, ...]
    attributes: tuple[str, ...]
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_known(cls, known: KnownAt, *, max_kinds: int = MAX_KIND_FEATURES) -> FeatureSpec:
        kinds = (
            known.activity.group_by("kind")
            .len()
            .sort(["len", "kind"], descending=[True, False])
            .head(max_kinds)["kind"]
            .to_list()
        )
        proof_kinds = sorted(set(known.exposures["item_kind"].to_list()) - {"badge"})
        categories = {
            a: tuple(sorted(known.members[a].fill_null("(missing)").unique().to_list()))
            for a in known.attributes
        }
        return cls(tuple(kinds), tuple(proof_kinds), known.attributes, categories)

    def columns(self) -> dict[str, str]:
        """Feature name -> group, in model order."""
        out = {"days_since_last": "recency"}
        out |= {f"days_since_last_{k}": "recency" for k in self.kinds}
        out |= {"days_since_last_proof": "proof seen"}
        out |= {"activities_7d": "frequency", "activities_28d": "frequency",
                "activities_90d": "frequency", "active_days_28d": "frequency"}  # fmt: skip
        out |= {f"{k}_28d": "frequency" for k in self.kinds}
        out |= {"activities_prev_28d": "trend", "trend": "trend", "tenure_days": "tenure"}
        out |= {f"seen_{k}": "proof seen" for k in self.proof_kinds}
        out |= {"badges": "badges"}
        out |= {f"attr_{a}": "attributes" for a in self.attributes}
        return out


def _days(later: pl.Expr | datetime, earlier: pl.Expr) -> pl.Expr:
    later_expr = pl.lit(later) if isinstance(later, datetime) else later
    # times the reciprocal, not divided by 86,400: polars divides a column by a number as a
    # multiplication by its reciprocal but a one-row chunk exactly, so the same member's days
    # could differ in the last bit with how the frame happens to be chunked
    return (later_expr - earlier).dt.total_seconds(fractional=True) * (1.0 / 86_400.0)


def _guard(known: KnownAt) -> None:
    """Raise when any row handed to the features lies after the cutoff."""
    t = known.cutoff
    checks = [
        ("members", known.members, "joined_at"),
        ("members", known.members, "left_at"),
        ("activity", known.activity, "occurred_at"),
        ("exposures", known.exposures, "occurred_at"),
    ]
    for table, frame, column in checks:
        late = frame.filter(pl.col(column) > t)
        if late.height:
            raise LeakageError(
                f"{late.height:,} {table} row(s) have {column} after the cutoff {t:%Y-%m-%d %H:%M} "
                f"UTC (e.g. member {late['member_id'][0]!r} at {late[column][0]}); features may "
                "only use what was known at the cutoff. Build the input with known_at()."
            )


def features_from(known: KnownAt, spec: FeatureSpec, *, inactive_days: int) -> pl.DataFrame:
    """One row per member still a member at the cutoff, with the features of ``spec``.

    Raises
    ------
    LeakageError
        When ``known`` holds a row after its cutoff.
    """
    _guard(known)
    t = known.cutoff
    # the last time of each kind needs the whole history; the counts only the last 90 days
    lasts = known.activity.group_by("member_id", "kind").agg(pl.col("occurred_at").max())
    per_member = lasts.group_by("member_id").agg(
        pl.col("occurred_at").max().alias("last_activity_at"),
        *(
            _days(t, pl.col("occurred_at").filter(pl.col("kind") == k).max()).alias(
                f"days_since_last_{k}"
            )
            for k in spec.kinds
        ),
    )
    act = known.activity.filter(pl.col("occurred_at") > t - timedelta(days=90)).with_columns(
        _days(t, pl.col("occurred_at")).alias("age")
    )
    recent = pl.col("age") < 28
    aggs = [
        (pl.col("age") < 7).sum().cast(pl.Float64).alias("activities_7d"),
        recent.sum().cast(pl.Float64).alias("activities_28d"),
        (pl.col("age") < 90).sum().cast(pl.Float64).alias("activities_90d"),
        pl.col("occurred_at")
        .filter(recent)
        .dt.date()
        .n_unique()
        .cast(pl.Float64)
        .alias("active_days_28d"),
        ((pl.col("age") >= 28) & (pl.col("age") < 56))
        .sum()
        .cast(pl.Float64)
        .alias("activities_prev_28d"),
        *(((pl.col("kind") == k) & recent).sum().cast(pl.Float64).alias(f"{k}_28d")
          for k in spec.kinds),
    ]  # fmt: skip
    per_member = per_member.join(act.group_by("member_id").agg(aggs), on="member_id", how="left")

    exp = known.exposures
    proof_aggs = [
        pl.col("occurred_at").filter(pl.col("item_kind") != "badge").max().alias("last_proof_at"),
        pl.col("item_id").filter(pl.col("item_kind") == "badge").n_unique().alias("badges"),
    ]
    proof_aggs += [
        pl.col("item_id").filter(pl.col("item_kind") == k).n_unique().alias(f"seen_{k}")
        for k in spec.proof_kinds
    ]
    proof = exp.group_by("member_id").agg(proof_aggs)
    return _assemble(known.members, per_member, proof, t, spec, inactive_days=inactive_days)


def _assemble(
    members: _Frame,
    per_member: _Frame,
    proof: _Frame,
    t: datetime,
    spec: FeatureSpec,
    *,
    inactive_days: int,
    key: str = "member_id",
) -> _Frame:
    """The features from the members known at ``t`` and their activity (``per_member``:
    ``last_activity_at``, ``days_since_last_<kind>``, the counts) and proof (``proof``:
    ``last_proof_at``, ``badges``, ``seen_<kind>``) aggregates, each one row per member and
    joined on ``key`` (``member_id``, or ``member_key``, which sorts as ``member_id`` does)."""
    frame = (
        members.join(per_member, on=key, how="left")
        .join(proof, on=key, how="left")
        .with_columns(
            pl.max_horizontal("joined_at", "last_activity_at").alias("last_sign_at"),
        )
        .filter(
            pl.col("left_at").is_null() & (_days(t, pl.col("last_sign_at")) < float(inactive_days))
        )
    )
    counts = ["activities_7d", "activities_28d", "activities_90d", "active_days_28d",
              "activities_prev_28d", *(f"{k}_28d" for k in spec.kinds), "badges",
              *(f"seen_{k}" for k in spec.proof_kinds)]  # fmt: skip
    frame = frame.with_columns(
        pl.col(c).fill_null(0).cast(pl.Float64) for c in counts
    ).with_columns(
        _days(t, pl.col("last_sign_at")).alias("days_since_last"),
        _days(t, pl.col("last_proof_at")).alias("days_since_last_proof"),
        _days(t, pl.col("joined_at")).alias("tenure_days"),
        ((pl.col("activities_28d") + 1.0) / (pl.col("activities_prev_28d") + 1.0))
        .log()
        .alias("trend"),
        *(
            pl.col(a)
            .fill_null("(missing)")
            .replace_strict(
                {v: float(i) for i, v in enumerate(spec.categories.get(a, ()))},
                default=None,
                return_dtype=pl.Float64,
            )
            .alias(f"attr_{a}")
            for a in spec.attributes
        ),
    )
    return frame.sort(key).select("member_id", *spec.columns())


def features_as_of(
    community: Community,
    cutoff: datetime,
    *,
    spec: FeatureSpec | None = None,
    inactive_days: int = DEFAULT_INACTIVE_DAYS,
) -> pl.DataFrame:
    """Features of every member still a member at ``cutoff``, from what was known then (the
    same as ``features_from(known_at(community, cutoff), spec)``, computed where the events
    are stored)."""
    spec = spec or _specs(community, [cutoff])[0]
    return _features(community, [(cutoff, spec)], inactive_days=inactive_days)[0]


# -- the same features from queries on the event tables ------------------------------------------


def _from_us(column: str) -> pl.Expr:
    return pl.from_epoch(pl.col(column), time_unit="us").dt.replace_time_zone("UTC")


def _cutoffs(
    community: Community, cutoffs: Sequence[datetime], *, joined: bool | None = None
) -> windows.Cutoffs:
    """The cutoffs (distinct, ascending) for the window queries: as a frame on the backend too
    where the events are joined with it rather than filtered once per cutoff (``joined``; by
    default as the engine prefers)."""
    us = tuple(to_us(c) for c in sorted(set(cutoffs)))
    if joined is None:
        joined = not community.events.backend.stacks_passes
    if not joined:
        return windows.Cutoffs(us)
    frame = pl.DataFrame(
        {"cutoff": list(range(len(us))), "cutoff_us": list(us)},
        schema={"cutoff": pl.Int64, "cutoff_us": pl.Int64},
    )
    return windows.Cutoffs(us, community.backend_frame(frame))


def _proof_items(community: Community) -> Any:
    assert community.proof_items is not None
    items = community.proof_items.select("item_id", pl.col("kind").alias("item_kind"))
    return community.backend_frame(items)


def _specs(
    community: Community, cutoffs: Sequence[datetime], *, max_kinds: int = MAX_KIND_FEATURES
) -> list[FeatureSpec]:
    """:meth:`FeatureSpec.from_known` at each cutoff, from queries."""
    ordered = sorted(set(cutoffs))
    cut = _cutoffs(community, ordered)
    frames = community.frames()
    lazy = [windows.kind_counts(frames.activity(), cut)]
    exposures = frames.exposures()
    with_proof = exposures is not None and community.proof_items is not None
    if with_proof:
        assert exposures is not None
        items = _proof_items(community)
        lazy += [windows.proof_kinds(exposures, items, u) for u in cut.us]
    counts, *proof = community.collect(*lazy)
    out = []
    for cutoff in cutoffs:
        i = ordered.index(cutoff)
        kinds = (
            counts.filter(pl.col("cutoff") == i)
            .sort(["rows", "kind"], descending=[True, False])
            .head(max_kinds)["kind"]
            .to_list()
        )
        proof_kinds = sorted(set(proof[i]["item_kind"].to_list()) - {"badge"}) if proof else []
        members = _members_at(community, cutoff)
        categories = {
            a: tuple(sorted(members[a].fill_null("(missing)").unique().to_list()))
            for a in community.attributes
        }
        out.append(FeatureSpec(tuple(kinds), tuple(proof_kinds), community.attributes, categories))
    return out


def _samples(
    community: Community,
    models: Sequence[Sequence[datetime]],
    eval_cutoff: datetime | None,
    settings: RiskSettings,
) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    """The members (``member_id``) whose features are computed at the training cutoffs, and
    those checked at ``eval_cutoff``; ``None`` for all.

    A model trains on at most ``max_training_rows`` member-cutoffs, sampled from every member
    at every training cutoff. In a large community computing all of them and keeping a few
    percent wastes most of the work (at a million members, a dozen full feature sets). So a
    seeded random share of the members is chosen first, large enough to give each model
    (``models``: the training cutoffs of each) about twice the rows it takes. The check at the
    held-out cutoff takes at most about ``max_eval_rows`` members: a share from the other end of
    the same draw, so that no member checked was trained on unless the two shares overlap
    (members, in ``member_id`` order, decide by one uniform draw each: the same members on every
    engine).
    """
    # at most the members present at each cutoff: joined, not yet left, and some sign of life
    # in the quiet days before it or later (the last activity known now bounds the one then)
    members = community.members.select("member_id", "joined_at", "left_at").join(
        community.last_activity(), on="member_id", how="left"
    )
    sign = pl.max_horizontal("joined_at", "occurred_at")
    quiet = timedelta(days=settings.inactive_days)
    every = sorted(
        {*(c for cutoffs in models for c in cutoffs), *([eval_cutoff] if eval_cutoff else [])}
    )
    # how many at each cutoff, counted in one pass over the members
    counts = (
        members.select(
            (
                (pl.col("joined_at") <= c)
                & (pl.col("left_at").is_null() | (pl.col("left_at") > c))
                & (sign > c - quiet)
            )
            .sum()
            .alias(str(i))
            for i, c in enumerate(every)
        ).row(0)
        if every
        else ()
    )
    present = dict(zip(every, counts, strict=True))
    share = max(
        (2.0 * settings.max_training_rows / max(sum(present[c] for c in cutoffs), 1)
         for cutoffs in models),
        default=1.0,
    )  # fmt: skip
    held_share = (
        1.0 if eval_cutoff is None else settings.max_eval_rows / max(present[eval_cutoff], 1)
    )
    if share >= 1.0 and held_share >= 1.0:
        return None, None
    ids = members.select("member_id").sort("member_id")
    draw = np.random.default_rng(settings.seed).random(ids.height)
    train = None if share >= 1.0 else ids.filter(pl.Series(draw < share))
    held = None if held_share >= 1.0 else ids.filter(pl.Series(draw >= 1.0 - held_share))
    return train, held


def _features(
    community: Community,
    requests: Sequence[tuple[datetime, FeatureSpec]],
    *,
    inactive_days: int,
    sample: pl.DataFrame | None = None,
    only: Sequence[pl.DataFrame | None] | None = None,
    last_at: dict[datetime, pl.DataFrame] | None = None,
) -> list[pl.DataFrame]:
    """The features of each (cutoff, spec), all from one job on the event tables; only of the
    members in ``sample`` (``member_id``) when given, whose events alone are read. ``only``,
    when given, narrows each request's result to the members of its entry (``None``: no
    narrowing) after the queries. ``last_at``, when given, receives each member's latest
    activity at or before each cutoff (``member_id``, ``occurred_at``; of the sampled members
    only), as :func:`_churn_dates` needs it."""
    ordered = sorted({c for c, _ in requests})
    kinds = sorted({k for _, spec in requests for k in spec.kinds})
    events = community.events
    if sample is not None and not events.backend.pushdown:
        # in-process engines read only the sampled members' events; where the queries run in a
        # database or on Spark, the ids stay there and the sample is applied to the results
        keys = events.keyed.join(sample, on="member_id", how="semi").select("member_key")
        events = events.restricted(keys, {}, in_memory=True)
    cut = _cutoffs(community, ordered)
    frames = events.frames()
    activity = frames.activity()
    counts, days = windows.recent_counts(activity, cut, kinds)
    lazy = [windows.last_activity(activity, cut, kinds), counts, days]
    exposures = frames.exposures()
    if exposures is not None and community.proof_items is not None:
        lazy += list(windows.proof_seen(exposures, _proof_items(community), cut))
    # joined and filtered on the members' keys (integers on in-process engines): the ids are
    # looked up once per member in the end, not once per row of every result
    keyed = community.events.keyed.select("member_id", "member_key")
    found = events.collect(*lazy)
    if sample is not None:
        chosen = keyed.join(sample, on="member_id", how="semi").select("member_key")
        found = [f.join(chosen, on="member_key", how="semi") for f in found]
    lasts = found[0]
    if last_at is not None:
        for i, cutoff in enumerate(ordered):
            last_at[cutoff] = events.with_ids(
                lasts.filter(pl.col("cutoff") == i).select(
                    "member_key", _from_us("last_us").alias("occurred_at")
                )
            )
    members_keyed = community.members.join(keyed, on="member_id")
    if sample is not None:
        members_keyed = members_keyed.join(sample, on="member_id", how="semi")
    # each cutoff's features put together lazily and computed at once: the joins of the many
    # per-member frames run side by side, and no joined copy is kept between them
    lasts_l, counts_l, days_l, *proof_l = (f.lazy() for f in found)
    lazy_out = []
    narrowed = [None] * len(requests) if only is None else only
    for (cutoff, spec), narrow in zip(requests, narrowed, strict=True):
        i = ordered.index(cutoff)

        def at(frame: pl.LazyFrame, i: int = i) -> pl.LazyFrame:
            return frame.filter(pl.col("cutoff") == i).drop("cutoff")

        index = {k: kinds.index(k) for k in spec.kinds}
        per_member = (
            at(lasts_l)
            .select(
                "member_key",
                _from_us("last_us").alias("last_activity_at"),
                *(
                    _days(cutoff, _from_us(f"last_us_{j}")).alias(f"days_since_last_{k}")
                    for k, j in index.items()
                ),
            )
            .join(
                at(counts_l).select(
                    "member_key",
                    pl.col("n_7d").cast(pl.Float64).alias("activities_7d"),
                    pl.col("n_28d").cast(pl.Float64).alias("activities_28d"),
                    pl.col("n_90d").cast(pl.Float64).alias("activities_90d"),
                    pl.col("n_prev_28d").cast(pl.Float64).alias("activities_prev_28d"),
                    *(
                        pl.col(f"n_28d_{j}").cast(pl.Float64).alias(f"{k}_28d")
                        for k, j in index.items()
                    ),
                ),
                on="member_key",
                how="left",
            )
            .join(
                at(days_l).select("member_key", pl.col("active_days_28d").cast(pl.Float64)),
                on="member_key",
                how="left",
            )
        )
        proof = pl.LazyFrame(
            schema={"member_key": keyed.schema["member_key"],
                    "last_proof_at": pl.Datetime("us", "UTC"), "badges": pl.Int64,
                    **{f"seen_{k}": pl.Int64 for k in spec.proof_kinds}}
        )  # fmt: skip
        if proof_l:
            by_kind = at(proof_l[0])
            proof = (
                at(proof_l[1])
                .select("member_key", _from_us("last_proof_us").alias("last_proof_at"))
                .join(by_kind.select("member_key").unique(), on="member_key", how="full",
                      coalesce=True)
                .join(_items(by_kind, "badge", "badges"), on="member_key", how="left")
            )  # fmt: skip
            for k in spec.proof_kinds:
                proof = proof.join(_items(by_kind, k, f"seen_{k}"), on="member_key", how="left")
        members = _members_at(community, cutoff, members_keyed).lazy()
        if narrow is not None:
            members = members.join(narrow.lazy(), on="member_id", how="semi")
        lazy_out.append(_assemble(members, per_member, proof, cutoff, spec,
                                  inactive_days=inactive_days, key="member_key"))  # fmt: skip
    # a sample's small frames put together by the in-memory engine: the streaming engine's
    # start-up cost more than it saved (0.25-0.37 s against 0.52-0.73 s for the twelve training
    # cutoffs at a million members; every member's, 1.1-1.6 s either way)
    return pl.collect_all(lazy_out, engine="auto" if sample is None else "in-memory")


def _items(by_kind: pl.LazyFrame, kind: str, name: str) -> pl.LazyFrame:
    return by_kind.filter(pl.col("item_kind") == kind).select(
        "member_key", pl.col("items").alias(name)
    )
