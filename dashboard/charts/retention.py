"""Retention charts: cohort heatmap, retention curve, survival curves, lifecycle and churn."""

from __future__ import annotations

from datetime import timedelta

import plotly.graph_objects as go
import polars as pl

from dashboard.charts.style import COLORS, TEMPLATE_NAME, _pct_axis, _rgba, _title


def cohort_heatmap(cells: pl.DataFrame, *, period: str, subtitle: str) -> go.Figure:
    """The cohort matrix: one row per join cohort, one column per period after joining. A text in
    an optional ``hidden`` column blanks its cell and is its hover text (small cells)."""
    cohorts = sorted(set(cells["cohort"].to_list()))
    width = int(cells.select(pl.col("k").max()).item() or 0) + 1 if cells.height else 0
    index = {c: i for i, c in enumerate(cohorts)}
    z: list[list[float | None]] = [[None] * width for _ in cohorts]
    hover: list[list[str]] = [[""] * width for _ in cohorts]
    for row in cells.iter_rows(named=True):
        i, k = index[row["cohort"]], row["k"]
        if row.get("hidden"):  # a small cell hidden from this reader: its reason, no figure
            hover[i][k] = str(row["hidden"])
        elif row["complete"]:
            z[i][k] = row["share"]
            hover[i][k] = f"{row['retained']:,} of {row['size']:,} members"
        else:
            hover[i][k] = "not complete yet"
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"{period.capitalize()} {k}" for k in range(width)],
            y=[c.isoformat() for c in cohorts],
            customdata=hover,
            colorscale="Blues",
            zmin=0,
            zmax=1,
            colorbar={"title": "Retained", "tickformat": ".0%"},
            hovertemplate=(
                "Cohort %{y}<br>%{x}: %{z:.1%} retained<br>%{customdata}<extra></extra>"
            ),
            texttemplate="%{z:.0%}" if len(cohorts) * width <= 600 else None,
            textfont={"size": 10},
            hoverongaps=False,
        )
    )
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title(f"Retention by {period} after joining, per join cohort", subtitle),
        xaxis={"title": f"{period.capitalize()}s since joining", "showgrid": False},
        yaxis={
            "title": f"Join cohort ({period} starting)",
            "autorange": "reversed",
            "type": "category",
        },
        hovermode="closest",
        height=max(380, 22 * len(cohorts) + 160),
    )
    return fig


def retention_curves(
    average: pl.DataFrame, cells: pl.DataFrame, cohorts: list[object], *, period: str, subtitle: str
) -> go.Figure:
    """The size-weighted average retention curve with its 95 % band, and chosen cohorts."""
    fig = go.Figure()
    k = average["k"].to_list()
    fig.add_scatter(
        x=k + k[::-1],
        y=average["ci_high"].to_list() + average["ci_low"].to_list()[::-1],
        fill="toself",
        fillcolor="rgba(45, 91, 255, 0.15)",
        line={"width": 0},
        hoverinfo="skip",
        name="95 % interval of the average",
    )
    fig.add_scatter(
        x=k,
        y=average["share"].to_list(),
        name="All cohorts (weighted by size)",
        mode="lines+markers",
        line={"color": COLORS["primary"], "width": 3},
        customdata=list(zip(average["cohorts"], average["members"], strict=True)),
        hovertemplate=(
            "%{y:.1%} retained (%{customdata[1]:,} members in %{customdata[0]} cohorts)"
            "<extra>average</extra>"
        ),
    )
    for cohort in cohorts:
        rows = cells.filter((pl.col("cohort") == cohort) & pl.col("complete"))
        fig.add_scatter(
            x=rows["k"].to_list(),
            y=rows["share"].to_list(),
            name=f"Cohort {cohort}",
            mode="lines+markers",
            line={"width": 1.5},
            hovertemplate="%{y:.1%} retained<extra>cohort " + str(cohort) + "</extra>",
        )
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title("Retention curve", subtitle),
        xaxis={
            "title": f"{period.capitalize()}s since joining",
            "dtick": 1 if len(k) <= 30 else None,
        },
        yaxis=_pct_axis("Share of the cohort active in that period") | {"range": [0, 1]},
    )
    return fig


def survival_chart(curves: pl.DataFrame, *, title: str, subtitle: str, x_title: str) -> go.Figure:
    """Kaplan–Meier curves (steps) with 95 % bands; ``curves`` has group, days, survival,
    ci_low, ci_high, at_risk."""
    fig = go.Figure()
    palette = [COLORS["primary"], COLORS["secondary"], COLORS["good"], COLORS["bad"], "#7B61FF",
               "#E7298A", "#66A61E", "#A6761D"]  # fmt: skip
    for i, (group, rows) in enumerate(curves.group_by("group", maintain_order=True)):
        color = palette[i % len(palette)]
        name = str(group[0])
        days = rows["days"].to_list()
        fig.add_scatter(
            x=days + days[::-1],
            y=rows["ci_high"].to_list() + rows["ci_low"].to_list()[::-1],
            fill="toself",
            fillcolor=_rgba(color, 0.15),
            line={"width": 0, "shape": "hv"},
            hoverinfo="skip",
            showlegend=False,
            legendgroup=name,
        )
        fig.add_scatter(
            x=days,
            y=rows["survival"].to_list(),
            name=name,
            legendgroup=name,
            mode="lines",
            line={"color": color, "width": 2, "shape": "hv"},
            customdata=list(
                zip(
                    rows["ci_low"].to_list(),
                    rows["ci_high"].to_list(),
                    rows["at_risk"].to_list(),
                    strict=True,
                )
            ),
            hovertemplate=(
                "day %{x:.0f}: %{y:.1%} still members (95 % CI %{customdata[0]:.1%}–"
                "%{customdata[1]:.1%}; %{customdata[2]:,} at risk)<extra>" + name + "</extra>"
            ),
        )
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title(title, subtitle),
        xaxis={"title": x_title, "rangemode": "tozero"},
        yaxis=_pct_axis("Share not yet churned") | {"range": [0, 1.02]},
        hovermode="closest",
    )
    return fig


def lifecycle_chart(frame: pl.DataFrame, *, subtitle: str) -> go.Figure:
    """New, returning and resurrected members (up) and dormant members (down) per week, with
    stickiness on the right axis."""
    weeks = frame["week"].to_list()
    fig = go.Figure()
    for column, label, color in (
        ("returning", "Returning (active last week too)", COLORS["primary"]),
        ("new", "New (first active week)", COLORS["good"]),
        ("resurrected", "Resurrected (back after a break)", COLORS["secondary"]),
    ):
        fig.add_bar(x=weeks, y=frame[column].to_list(), name=label, marker_color=color,
                    hovertemplate="%{y:,} members<extra>" + label + "</extra>")  # fmt: skip
    fig.add_bar(
        x=weeks,
        y=[-v for v in frame["dormant"].to_list()],
        name="Dormant (active last week, not this week)",
        marker_color=COLORS["muted"],
        customdata=frame["dormant"].to_list(),
        hovertemplate="%{customdata:,} members<extra>dormant</extra>",
    )
    fig.add_scatter(
        x=weeks,
        y=frame["stickiness"].to_list(),
        name="Stickiness (daily ÷ 28-day active)",
        yaxis="y2",
        mode="lines",
        line={"color": COLORS["bad"], "width": 2},
        hovertemplate="stickiness %{y:.1%}<extra></extra>",
    )
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title("Who was active each week", subtitle),
        barmode="relative",
        xaxis_title="Week starting (Monday, UTC)",
        yaxis={"title": "Members (dormant below zero)"},
        yaxis2={
            "title": "Stickiness",
            "overlaying": "y",
            "side": "right",
            "tickformat": ".0%",
            "rangemode": "tozero",
            "showgrid": False,
        },
    )
    return fig


def churn_chart(frame: pl.DataFrame, *, period: str, subtitle: str) -> go.Figure:
    """Churn rate per period, explicit departures and silent churn stacked, with the 95 %
    interval of the total; periods not known yet are marked, not drawn as zero."""
    known = frame.filter(pl.col("known"))
    starts = known["period_start"].to_list()
    members = known["members"].to_list()
    fig = go.Figure()
    for column, label, color in (
        ("explicit", "Left explicitly", COLORS["bad"]),
        ("silent", "Went silent", COLORS["secondary"]),
    ):
        fig.add_bar(
            x=starts,
            y=[c / n if n else None for c, n in zip(known[column].to_list(), members, strict=True)],
            name=label,
            marker_color=color,
            customdata=list(zip(known[column].to_list(), members, strict=True)),
            hovertemplate="%{y:.1%} (%{customdata[0]:,} of %{customdata[1]:,} members)<extra>"
            + label + "</extra>",
        )  # fmt: skip
    fig.add_scatter(
        x=starts,
        y=known["rate"].to_list(),
        mode="markers",
        marker={"color": "#1F2430", "size": 5},
        name="Total with 95 % interval",
        error_y={
            "type": "data",
            "symmetric": False,
            "array": (known["ci_high"] - known["rate"]).to_list(),
            "arrayminus": (known["rate"] - known["ci_low"]).to_list(),
            "color": "#1F2430",
            "thickness": 1,
        },
        hovertemplate="total %{y:.1%}<extra></extra>",
    )
    unknown = frame.filter(~pl.col("known"))["period_start"].to_list()
    if unknown:
        half = timedelta(days=3.5 if period == "week" else 15.5)  # half a bar's width
        fig.add_vrect(
            x0=unknown[0] - half, x1=unknown[-1] + half, fillcolor=COLORS["muted"], opacity=0.2,
            line_width=0, annotation_text="not known yet", annotation_position="top left",
        )  # fmt: skip
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title(f"Churn per {period}", subtitle),
        barmode="stack",
        xaxis_title=f"{period.capitalize()} starting (UTC)",
        yaxis=_pct_axis(f"Share of members who churned that {period}"),
    )
    return fig
