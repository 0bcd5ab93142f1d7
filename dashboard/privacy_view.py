"""Charts as the viewer role may see them: every plotted point, bar or segment whose figure rests
on fewer than k members is taken out of the figure (see :mod:`analytics.privacy`).

The rule is the tables' rule (``components.table``, ``components.for_role``): a row of the data
behind a chart is *small* when one of its member counts is between 1 and k - 1, and every value
drawn from a small row is blanked: the bar, the point, its error bar, its hover data. Each
chart of :mod:`dashboard.catalog` says here which column links its traces to the rows of its
data (the x value, or the label on the y axis of a horizontal chart), which column tells
several lines apart (a trace's name) and, where the catalog's member-count columns
(:func:`analytics.privacy.member_count_columns`) do not name all of them, which columns count
members. The concentration (Lorenz) curve has a rule of its own: it keeps only points that
split the active members into groups of at least k, and its note hides the share of a "top
1 %" of fewer than k members. A chart without a rule here shows nothing about single members
(the cohort heatmap blanks its own cells; the covariate balance plot shows averages over the
whole view).

Streamlit-free: the page passes k in; analysts and admins never go through this module, so
their figures stay exactly as the catalog drew them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import plotly.graph_objects as go
import polars as pl

from analytics import privacy
from analytics.engagement import top_group_size
from dashboard.catalog import Drawn
from dashboard.charts.engagement import LORENZ_CURVE, lorenz_note

__all__ = ["HIDDEN_NOTE", "Hidden", "for_viewer", "hidden_note", "viewer_note"]


def hidden_note(k: int) -> str:
    """The caption line under a chart that had figures taken out."""
    return f"Figures about {privacy.small_cell_text(k)} members are hidden for your role."


HIDDEN_NOTE = hidden_note(privacy.DEFAULT_MIN_CELL)


@dataclass(frozen=True)
class Rule:
    """How a chart's traces map onto the rows of the frame that holds their member counts.

    ``frame`` picks that frame from the :class:`Drawn` (default: its data); ``key`` is the
    frame's column matching the trace values along ``axis``; ``group`` the column whose value is
    a trace's name (or legend group; ``names`` translates a trace name into it), rows without a
    group belong to traces with no matching group; ``counts`` the member-count columns (default
    :func:`analytics.privacy.member_count_columns`); traces named in ``skip`` are left alone
    (milestone markers: they are about announcements, not members); ``averages`` removes the
    horizontal lines drawn on the axes of a trace that lost values (the review's averages of the
    weeks before, which rest on the same members)."""

    key: str
    axis: str = "x"
    group: str | None = None
    counts: Sequence[str] | None = None
    skip: Sequence[str] = ()
    names: Mapping[str, str] = field(default_factory=dict)
    #: also remove the horizontal lines (averages) drawn on the axis of a trace that lost values
    averages: bool = False
    #: traces left as drawn and not moved (about other members than the rows': a placebo band)
    leave: Sequence[str] = ()
    frame: Callable[[Drawn], pl.DataFrame | None] = lambda drawn: drawn.data


def _points(drawn: Drawn) -> pl.DataFrame | None:
    return drawn.points


def _kpis(drawn: Drawn) -> pl.DataFrame:
    """The weekly review's key figures: a figure in members is itself a member count."""
    return drawn.data.with_columns(
        pl.when(pl.col("unit") == "members")
        .then(pl.col("value").round(0).cast(pl.Int64))
        .otherwise(None)
        .alias("members")
    )


def _forest(drawn: Drawn) -> pl.DataFrame:
    from dashboard.charts.impact import item_label

    return drawn.data.with_columns(
        pl.Series("label", [item_label(r) for r in drawn.data.to_dicts()], dtype=pl.String)
    )


_MILESTONES = ("Milestone announced",)
_GROWTH = Rule(key="period_start", skip=_MILESTONES)
_FOREST = Rule(key="label", axis="y", frame=_forest)
LIFECYCLE_COUNTS = ("new", "returning", "resurrected", "dormant", "active", "active_28d")

RULES: dict[str, Rule] = {
    "growth": _GROWTH,
    "review-signups": _GROWTH,
    "retention-curve": Rule(key="k", group="group", frame=_points),
    "survival": Rule(key="days", group="group", frame=_points),
    "lifecycle": Rule(key="week", counts=LIFECYCLE_COUNTS),
    "churn": Rule(key="period_start", counts=("members", "churned", "explicit", "silent")),
    "active-members": Rule(key="day", counts=("dau", "wau", "mau", "active_28d")),
    "activity-by-kind": Rule(key="period_start", group="kind", counts=("members",)),
    "first-activity": Rule(key="days", counts=("eligible",)),
    "risk-calibration": Rule(
        key="predicted",
        group="model",
        counts=("members",),
        names={"Model": "model", "Recency-only baseline": "baseline"},
    ),
    "effects": _FOREST,
    "review-effects": _FOREST,
    "item-timing": Rule(key="day", counts=("members",)),
    "milestone-detail": Rule(key="offset", counts=("observed",)),
    # the average over announcements of each day rests on the members counted that day; the
    # placebo band is about other dates' members, averaged over many random sets
    "event-study": Rule(
        key="day", counts=("members",), leave=("95 % band of the same average at placebo dates",)
    ),
    # each point of a survival curve rests on the members still at risk: the curves end where
    # fewer than k are
    "item-survival": Rule(key="days", group="group", counts=("at_risk",)),
    "review-kpis": Rule(key="week", group="kpi", counts=("members",), frame=_kpis, averages=True),
}


@dataclass(frozen=True)
class Hidden:
    """The chart as a viewer sees it and how many plotted values were taken out."""

    drawn: Drawn
    hidden: int


def _norm(value: Any) -> Any:
    """One spelling for a key in a trace and in a frame (dates, datetimes, whole floats)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if hasattr(value, "item"):  # numpy scalars
        return _norm(value.item())
    return value


def _blank(trace: Any, positions: list[int], axis: str) -> None:
    """Take the values at ``positions`` out of the trace: the value, hover data, error bars."""
    value_axis = "y" if axis == "x" else "x"
    length = len(trace[axis])
    values = list(trace[value_axis])
    for i in positions:
        values[i] = None
    trace[value_axis] = values
    for prop in ("customdata", "text", "hovertext"):
        current = getattr(trace, prop, None)
        if current is None or isinstance(current, str) or len(current) != length:
            continue
        blanked = list(current)
        for i in positions:
            blanked[i] = None
        trace[prop] = blanked
    error = f"error_{value_axis}"
    if error in trace:
        for part in ("array", "arrayminus"):
            current = trace[error][part]
            if current is not None and len(current) == length:
                blanked = list(current)
                for i in positions:
                    blanked[i] = None
                trace[error][part] = blanked


def _hide(figure: go.Figure, frame: pl.DataFrame, rule: Rule, k: int) -> int:
    counts = list(rule.counts) if rule.counts is not None else privacy.member_count_columns(frame)
    counts = [c for c in counts if c in frame.columns]
    if not counts or frame.is_empty() or rule.key not in frame.columns:
        return 0
    frame = frame.with_columns(privacy.small_cell_mask(frame, counts=counts, k=k).alias("_small"))
    groups = set(frame[rule.group].drop_nulls().to_list()) if rule.group else set()
    hidden = 0
    for trace in figure.data:
        label = trace.name if trace.name is not None else getattr(trace, "legendgroup", None)
        name = None if label is None else str(label)
        if name in rule.skip or name in rule.leave or trace[rule.axis] is None:
            continue
        rows = frame
        if rule.group is not None:
            name = None if name is None else rule.names.get(name, name)
            mine = pl.col(rule.group) == name if name in groups else pl.col(rule.group).is_null()
            rows = frame.filter(mine)
        small = {
            _norm(v) for v, s in zip(rows[rule.key].to_list(), rows["_small"], strict=True) if s
        }
        positions = [i for i, v in enumerate(trace[rule.axis]) if _norm(v) in small]
        if positions:
            _blank(trace, positions, rule.axis)
            hidden += len(positions)
            if rule.averages:
                _drop_averages(figure, str(trace.yaxis or "y"))
    if hidden and rule.skip:
        _lift_markers(figure, rule.skip)
    return hidden


def _lift_markers(figure: go.Figure, names: Sequence[str]) -> None:
    """Put the markers of ``names`` (milestones, drawn a little above the tallest bar) above
    the tallest bar still shown, so their height does not tell the hidden bars' values."""
    for marker in figure.data:
        if marker.name not in names or marker.y is None:
            continue
        axis = marker.yaxis or "y"
        shown = [
            float(v)
            for t in figure.data
            if t is not marker and (t.yaxis or "y") == axis and t.y is not None
            for v in t.y
            if isinstance(v, int | float)
        ]
        top = max(shown, default=0.0) or 1.0
        marker.y = [top * 1.08] * len(marker.y)


def _drop_averages(figure: go.Figure, axis: str) -> None:
    """Remove the horizontal lines drawn on y axis ``axis`` (``y``, ``y2``...)."""
    kept = [
        shape
        for shape in figure.layout.shapes
        if not (
            str(shape.yref or "y").split(" ")[0] == axis
            and shape.y0 is not None
            and shape.y0 == shape.y1
        )
    ]
    figure.layout.shapes = kept


def viewer_note(drawn: Drawn, k: int) -> str:
    """The caption line under a chart a viewer sees with figures taken out: the curves say
    where they end."""
    note = hidden_note(k)
    if drawn.name in ("survival", "item-survival"):
        note += f" Each curve ends where {privacy.small_cell_text(k)} members are still at risk."
    return note


def _concentration(drawn: Drawn, k: int) -> Hidden:
    """The Lorenz curve for a viewer: only points that split the active members into groups of
    at least k (:func:`analytics.privacy.lorenz_for_viewer`), in the figure and in its data, and
    the note's shares of the top 1 % and 10 % only when that group has k members or more."""
    points = drawn.points
    if points is None or points.is_empty():
        return Hidden(drawn, 0)
    n = int(points["active_members"][0])
    curve = drawn.data.select("member_share", "activity_share")
    shown = privacy.lorenz_for_viewer(curve, active_members=n, k=k)
    hidden_tops = {share: top_group_size(n, share) < k or n < k for share in (0.01, 0.10)}
    hidden = curve.height - shown.height + sum(hidden_tops.values())
    if not hidden:
        return Hidden(drawn, 0)
    figure = copy.deepcopy(drawn.figure)
    kept = set(shown["member_share"].to_list())
    for trace in figure.data:
        if trace.name == LORENZ_CURVE:  # the other points blanked, the line drawn through
            trace.y = [y if x in kept else None for x, y in zip(trace.x, trace.y, strict=True)]
            trace.connectgaps = True
    gone = f"hidden ({privacy.small_cell_text(k)} members)"
    texts = {
        share: gone if hidden_tops[share] else f"{float(points[column][0]):.0%}"
        for share, column in ((0.01, "top_1"), (0.10, "top_10"))
    }
    for note in figure.layout.annotations:
        note.text = lorenz_note(texts[0.01], texts[0.10])
        if hidden_tops[0.10]:  # the arrow would point at the top 10 %'s share: no arrow
            note.update(showarrow=False, y=0.05, xanchor="right")
    return Hidden(replace(drawn, figure=figure, data=shown), hidden)


#: charts a rule of its own handles
SPECIAL: dict[str, Callable[[Drawn, int], Hidden]] = {"concentration": _concentration}


def for_viewer(drawn: Drawn, k: int = privacy.DEFAULT_MIN_CELL) -> Hidden:
    """The chart with every value about fewer than ``k`` members taken out (a copy: the
    catalog's figure, which a page may have cached, is not touched)."""
    special = SPECIAL.get(drawn.name)
    if special is not None:
        return special(drawn, k)
    rule = RULES.get(drawn.name)
    if rule is None:
        return Hidden(drawn, 0)
    frame = rule.frame(drawn)
    if frame is None:
        return Hidden(drawn, 0)
    figure = copy.deepcopy(drawn.figure)
    hidden = _hide(figure, frame, rule, k)
    if not hidden:
        return Hidden(drawn, 0)
    return Hidden(replace(drawn, figure=figure), hidden)
