"""Engagement charts: active members, activity by kind, concentration (Lorenz) and activation."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboard.charts.style import COLORS, TEMPLATE_NAME, _pct_axis, _title


def active_members_chart(frame: pl.DataFrame, *, subtitle: str) -> go.Figure:
    """Daily, weekly and monthly active members per day, with stickiness on the right axis."""
    days = frame["day"].to_list()
    fig = go.Figure()
    for column, label, color in (
        ("mau", "Monthly active (30 days ending that day)", COLORS["muted"]),
        ("wau", "Weekly active (7 days ending that day)", COLORS["secondary"]),
        ("dau", "Daily active", COLORS["primary"]),
    ):
        fig.add_scatter(
            x=days, y=frame[column].to_list(), name=label, mode="lines",
            line={"color": color, "width": 2},
            hovertemplate="%{y:,} members<extra>" + label + "</extra>",
        )  # fmt: skip
    fig.add_scatter(
        x=days,
        y=frame["stickiness"].to_list(),
        name="Stickiness (daily ÷ 28-day active)",
        yaxis="y2",
        mode="lines",
        line={"color": COLORS["bad"], "width": 1.5, "dash": "dot"},
        hovertemplate="stickiness %{y:.1%}<extra></extra>",
    )
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title("Active members", subtitle),
        xaxis_title="Day (UTC)",
        yaxis={"title": "Members with any activity", "rangemode": "tozero"},
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


def activity_kind_chart(frame: pl.DataFrame, *, subtitle: str) -> go.Figure:
    """Activity rows per kind and week, stacked."""
    fig = go.Figure()
    palette = [COLORS["primary"], COLORS["secondary"], COLORS["good"], COLORS["bad"], "#7B61FF",
               "#E7298A", "#66A61E", "#A6761D"]  # fmt: skip
    kinds = frame.group_by("kind").agg(pl.col("rows").sum()).sort("rows", descending=True)["kind"]
    for i, kind in enumerate(kinds.to_list()):
        rows = frame.filter(pl.col("kind") == kind)
        fig.add_bar(
            x=rows["period_start"].to_list(), y=rows["rows"].to_list(), name=str(kind),
            marker_color=palette[i % len(palette)], customdata=rows["members"].to_list(),
            hovertemplate="%{y:,} rows by %{customdata:,} members<extra>" + str(kind) + "</extra>",
        )  # fmt: skip
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title("Activity by kind", subtitle),
        barmode="stack",
        xaxis_title="Week starting (Monday, UTC)",
        yaxis={"title": "Activity rows per week"},
    )
    return fig


#: the name of the Lorenz chart's curve (the trace a viewer's copy thins out)
LORENZ_CURVE = "Actual (members from least to most active)"


def lorenz_note(top_1: str, top_10: str) -> str:
    """The Lorenz chart's note on the most active members, their shares given as text (a
    viewer's copy says "hidden" for a group of fewer than k members)."""
    return f"top 10 % of members: {top_10} of activity<br>top 1 %: {top_1}"


def lorenz_chart(lorenz: pl.DataFrame, *, top_1: float, top_10: float, subtitle: str) -> go.Figure:
    """The Lorenz curve of activity over active members, with the line of perfect equality."""
    fig = go.Figure()
    fig.add_scatter(
        x=[0, 1], y=[0, 1], mode="lines", name="Everyone equally active",
        line={"color": COLORS["muted"], "dash": "dash", "width": 1}, hoverinfo="skip",
    )  # fmt: skip
    fig.add_scatter(
        x=lorenz["member_share"].to_list(),
        y=lorenz["activity_share"].to_list(),
        mode="lines",
        name=LORENZ_CURVE,
        line={"color": COLORS["primary"], "width": 3},
        fill="tonexty",
        fillcolor="rgba(45, 91, 255, 0.10)",
        hovertemplate="the least active %{x:.0%} of members: %{y:.1%} of activity<extra></extra>",
    )
    fig.add_annotation(
        x=0.99, y=1 - top_10, xref="x", yref="y", showarrow=True, ax=-120, ay=-30,
        text=lorenz_note(f"{top_1:.0%}", f"{top_10:.0%}"),
    )  # fmt: skip
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title("How concentrated activity is", subtitle),
        xaxis={"title": "Share of active members (least active first)", "tickformat": ".0%",
               "range": [0, 1]},
        yaxis={"title": "Share of all activity rows", "tickformat": ".0%", "range": [0, 1]},
        hovermode="closest",
    )  # fmt: skip
    return fig


def activation_chart(curve: pl.DataFrame, *, subtitle: str) -> go.Figure:
    """Share of new members active within d days of joining."""
    fig = go.Figure()
    fig.add_scatter(
        x=curve["days"].to_list(),
        y=curve["activated"].to_list(),
        mode="lines+markers",
        name="Active within that many days",
        line={"color": COLORS["good"], "width": 3, "shape": "hv"},
        customdata=curve["eligible"].to_list(),
        hovertemplate="day %{x}: %{y:.1%} of %{customdata:,} members<extra></extra>",
    )
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title("New members' time to first activity", subtitle),
        xaxis_title="Days since joining",
        yaxis=_pct_axis("Share with a first activity by then") | {"range": [0, 1]},
    )
    return fig
