"""Impact charts: the forest plot of proof-item effects and its diagnostics (weighted curves,
covariate balance, exposure timing)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import polars as pl

from analytics.impact import ImpactSettings, adjusted_p_name, threshold_words
from analytics.vocabulary import label as feature_label
from analytics.vocabulary import words
from dashboard.charts.style import COLORS, TEMPLATE_NAME, _pct_axis, _title

VERDICT_COLORS = {
    "helps": COLORS["good"],
    "hurts": COLORS["bad"],
    "no_evidence": COLORS["muted"],
    "not_identifiable": "#C8CED8",
}


def verdict_labels(settings: ImpactSettings) -> dict[str, str]:
    """Verdicts in words, the clear ones with the threshold of the error control actually used
    ("Helps: Holm-adjusted p ≤ 0.05" or "Helps: q ≤ 0.05 (false discovery rate)")."""
    threshold = threshold_words(settings)
    return {
        "helps": f"Helps: {threshold}",
        "hurts": f"Hurts: {threshold}",
        "no_evidence": "No evidence",
        "not_identifiable": "Not identifiable",
    }


def item_label(row: dict[str, Any]) -> str:
    """A proof item's label on the forest plot: its title (shortened) and kind."""
    title = str(row["title"])
    return (title if len(title) <= 45 else title[:44] + "…") + f"  ({words(row['kind'])})"


def forest_plot(table: pl.DataFrame, *, settings: ImpactSettings, subtitle: str) -> go.Figure:
    """Ranked effects with 95 % intervals, coloured by verdict (the legend names the error
    control of ``settings``), the naive difference as a faded marker beside each; items without
    an estimate are listed at the bottom, unplotted."""
    horizon, landmark = settings.horizon_days, settings.landmark_days
    names = verdict_labels(settings)
    p_name = adjusted_p_name(settings)
    rows = table.to_dicts()[::-1]  # plotly draws the first category at the bottom
    labels = [item_label(r) for r in rows]
    fig = go.Figure()
    fig.add_scatter(
        x=[None if r["naive_effect"] is None else r["naive_effect"] * 100 for r in rows],
        y=labels,
        mode="markers",
        marker={"symbol": "circle-open", "size": 9, "color": COLORS["muted"], "opacity": 0.6},
        name="Naive: ever exposed vs never (association only)",
        hovertemplate="naive %{x:+.1f} points<extra></extra>",
    )
    for verdict, color in VERDICT_COLORS.items():
        picked = [(r, lab) for r, lab in zip(rows, labels, strict=True) if r["verdict"] == verdict]
        if not picked or verdict == "not_identifiable":
            continue
        fig.add_scatter(
            x=[r["effect"] * 100 for r, _ in picked],
            y=[lab for _, lab in picked],
            mode="markers",
            marker={"size": 10, "color": color},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [(r["ci_high"] - r["effect"]) * 100 for r, _ in picked],
                "arrayminus": [(r["effect"] - r["ci_low"]) * 100 for r, _ in picked],
                "color": color,
                "thickness": 2,
            },
            name=names[verdict],
            customdata=[
                [r.get("adjusted_p", r["q_value"]), r["n_exposed"], r["n_control"]]
                for r, _ in picked
            ],
            hovertemplate=(
                f"%{{x:+.1f}} points, {p_name} = %{{customdata[0]:.3f}}<br>"
                "%{customdata[1]:,} exposed, %{customdata[2]:,} compared<extra></extra>"
            ),
        )
    missing = [
        lab for r, lab in zip(rows, labels, strict=True) if r["verdict"] == "not_identifiable"
    ]
    if missing:
        fig.add_scatter(
            x=[0] * len(missing),
            y=missing,
            mode="text",
            text=["not identifiable"] * len(missing),
            textfont={"color": COLORS["muted"], "size": 11},
            name=names["not_identifiable"],
            hoverinfo="skip",
        )
    fig.add_vline(x=0, line={"color": "#1F2430", "width": 1})
    height = max(420, 34 * len(rows) + 260)
    bottom = 190  # room for the two-line axis title and the legend under it
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title(
            f"Effect of early exposure on still being a member {horizon} days later", subtitle
        ),
        xaxis={
            # two lines: one would run past the figure's edge beside the long item names
            "title": f"Difference in retention, percentage points<br>(exposed in the first "
            f"{landmark} days vs comparable members)",
            "zeroline": False,
        },
        yaxis={"title": "", "automargin": True},
        hovermode="closest",
        height=height,
        margin={"b": bottom},
        # the legend a fixed distance under the axis title, however tall the plot
        legend={"y": -(bottom - 70) / (height - 110 - bottom), "yanchor": "top"},
    )
    return fig


def weighted_curves_chart(curves: pl.DataFrame, *, landmark: int, subtitle: str) -> go.Figure:
    """Survival after the landmark: exposed, weighted comparable unexposed, all unexposed."""
    fig = go.Figure()
    styles = [
        (COLORS["primary"], "solid", 2.5),
        (COLORS["secondary"], "solid", 2.5),
        (COLORS["muted"], "dot", 1.5),
    ]
    for (group, rows), (color, dash, width) in zip(
        curves.group_by("group", maintain_order=True), styles, strict=False
    ):
        fig.add_scatter(
            x=rows["days"].to_list(),
            y=rows["survival"].to_list(),
            name=str(group[0]),
            mode="lines",
            line={"color": color, "dash": dash, "width": width, "shape": "hv"},
            hovertemplate="day %{x:.0f}: %{y:.1%}<extra>" + str(group[0]) + "</extra>",
        )
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title("Still members after the landmark: exposed vs comparable members", subtitle),
        xaxis={"title": f"Days after day {landmark} of membership", "rangemode": "tozero"},
        yaxis=_pct_axis("Share not yet churned") | {"range": [0, 1.02]},
        hovermode="closest",
    )
    return fig


def balance_chart(balance: pl.DataFrame, *, subtitle: str) -> go.Figure:
    """Standardized mean differences of each covariate before and after weighting."""
    names = [feature_label(n) for n in balance["covariate"].to_list()]
    fig = go.Figure()
    for column, color, label in (
        ("smd_before", COLORS["muted"], "Before weighting"),
        ("smd_after", COLORS["primary"], "After weighting"),
    ):
        fig.add_scatter(
            x=balance[column].to_list(),
            y=names,
            mode="markers",
            marker={"color": color, "size": 9},
            name=label,
        )
    for edge in (-0.1, 0.1):
        fig.add_vline(x=edge, line={"color": COLORS["muted"], "dash": "dot", "width": 1})
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title("Are the compared members alike? Covariate balance", subtitle),
        xaxis={"title": "Standardized mean difference, exposed minus unexposed (|d| < 0.1: alike)"},
        yaxis={"title": "", "automargin": True, "autorange": "reversed"},
        hovermode="closest",
        height=max(360, 24 * len(names) + 180),
    )
    return fig


def timing_chart(timing: pl.DataFrame, *, landmark: int, subtitle: str) -> go.Figure:
    """When members first saw or earned the item, by day of membership."""
    fig = go.Figure(
        go.Bar(
            x=timing["day"].to_list(),
            y=timing["members"].to_list(),
            marker_color=[
                COLORS["primary"] if d < landmark else COLORS["muted"] for d in timing["day"]
            ],
            hovertemplate="day %{x}: %{y:,} members<extra></extra>",
            name="First exposure",
        )
    )
    fig.add_vline(x=landmark - 0.5, line={"color": "#1F2430", "dash": "dash", "width": 1},
                  annotation_text=f"landmark (day {landmark})")  # fmt: skip
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title("When members first saw or earned it", subtitle),
        xaxis={"title": "Day of membership (0 = joining day)"},
        yaxis={"title": "Members (first exposure)"},
        bargap=0.05,
    )
    return fig
