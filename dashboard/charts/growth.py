"""Growth and milestone charts: signups and members over time, a milestone's days against its
counterfactual, the event study, the milestone-effects table's columns."""

from __future__ import annotations

from datetime import timedelta

import plotly.graph_objects as go
import polars as pl

from dashboard.charts.style import COLORS, TEMPLATE_NAME, _title


def milestone_columns() -> list[pl.Expr]:
    """How a milestone-effects table is shown (Growth page, weekly review): percent uplift with
    its interval, rounded p and expected count."""
    return [
        pl.col("title"),
        pl.col("announced_at").dt.strftime("%Y-%m-%d %H:%M").alias("announced (UTC)"),
        pl.col("verdict"),
        (pl.col("uplift") * 100).round(0).alias("uplift (%)"),
        pl.format(
            "{} to {}", (pl.col("ci_low") * 100).round(0), (pl.col("ci_high") * 100).round(0)
        ).alias("95 % CI (%)"),
        pl.col("p_value").alias("p"),
        pl.col("observed"),
        pl.col("expected").round(0),
    ]


def growth_chart(
    series: pl.DataFrame,
    milestones: pl.DataFrame,
    *,
    granularity: str,
    subtitle: str,
    window_days: int | None = None,
) -> go.Figure:
    """Signups per day or week (bars), cumulative members (line, right axis) and each
    milestone announcement as a labelled marker, its impact window shaded when given."""
    unit = "day" if granularity == "day" else "week"
    x = series["period_start"].to_list()
    fig = go.Figure()
    complete = series["complete"].to_list()
    fig.add_bar(
        x=x,
        y=series["signups"].to_list(),
        name=f"Signups per {unit}",
        marker_color=[COLORS["primary"] if c else COLORS["muted"] for c in complete],
        customdata=[
            "" if c else f" (partial {unit}: only the part inside the period)" for c in complete
        ],
        hovertemplate="%{y:,} signups%{customdata}<extra></extra>",
    )
    fig.add_scatter(
        x=x,
        y=series["cumulative_members"].to_list(),
        name="Members joined so far (cumulative)",
        yaxis="y2",
        mode="lines",
        line={"color": COLORS["secondary"], "width": 2},
        hovertemplate="%{y:,} joined so far<extra></extra>",
    )
    top = float(series.select(pl.col("signups").max()).item() or 0) or 1.0
    if milestones.height:
        times = milestones["announced_at"].to_list()
        titles = milestones["title"].to_list()
        for moment in times:
            if window_days:
                fig.add_vrect(
                    x0=moment, x1=moment + timedelta(days=window_days), line_width=0,
                    fillcolor=COLORS["secondary"], opacity=0.12,
                )  # fmt: skip
            fig.add_shape(
                type="line",
                x0=moment,
                x1=moment,
                y0=0,
                y1=1,
                yref="paper",
                line={"color": COLORS["muted"], "width": 1, "dash": "dot"},
            )
        fig.add_scatter(
            x=times,
            y=[top * 1.08] * len(times),
            name="Milestone announced",
            mode="markers+text",
            marker={"symbol": "diamond", "size": 11, "color": COLORS["bad"]},
            text=[t if len(t) <= 28 else t[:27] + "…" for t in titles],
            textposition="top center",
            textfont={"size": 11},
            customdata=[
                [t, m.strftime("%Y-%m-%d %H:%M UTC")] for t, m in zip(titles, times, strict=True)
            ],
            hovertemplate="<b>%{customdata[0]}</b><br>announced %{customdata[1]}<extra></extra>",
        )
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title("Signups and members over time", subtitle),
        xaxis_title="Date (UTC)" if granularity == "day" else "Week starting (Monday, UTC)",
        yaxis={"title": f"Signups per {unit} (members)", "range": [0, top * 1.25]},
        yaxis2={
            "title": "Members joined so far",
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
            "rangemode": "tozero",
        },
        bargap=0.15,
    )
    return fig


def milestone_detail_chart(
    daily: pl.DataFrame, *, title: str, unit: str, subtitle: str
) -> go.Figure:
    """Observed counts around one announcement against the counterfactual expected without it."""
    days = daily["offset"].to_list()
    fig = go.Figure()
    fig.add_bar(x=days, y=daily["observed"].to_list(), name=f"Observed {unit}",
                marker_color=[COLORS["primary"] if d >= 0 else COLORS["muted"] for d in days],
                hovertemplate="day %{x}: %{y:,.0f} observed<extra></extra>")  # fmt: skip
    fig.add_scatter(x=days, y=daily["expected"].to_list(), name="Expected without it (model)",
                    mode="lines", line={"color": COLORS["secondary"], "width": 2},
                    hovertemplate="day %{x}: %{y:,.1f} expected<extra></extra>")  # fmt: skip
    fig.add_vline(x=-0.5, line={"color": "#1F2430", "dash": "dash", "width": 1},
                  annotation_text="announced")  # fmt: skip
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title(f"{title}: {unit} per day against the counterfactual", subtitle),
        xaxis={"title": "Days since the announcement (grey: the period the model learns from)"},
        yaxis={"title": f"{unit.capitalize()} per day", "rangemode": "tozero"},
        bargap=0.1,
    )
    return fig


def event_study_chart(frame: pl.DataFrame, *, unit: str, subtitle: str) -> go.Figure:
    """Average relative uplift by day since announcement, with the placebo band."""
    days = frame["day"].to_list()
    fig = go.Figure()
    fig.add_scatter(
        x=days + days[::-1],
        y=frame["band_high"].to_list() + frame["band_low"].to_list()[::-1],
        fill="toself", fillcolor="rgba(138, 148, 166, 0.25)", line={"width": 0},
        hoverinfo="skip", name="95 % band of the same average at placebo dates",
    )  # fmt: skip
    fig.add_scatter(x=days, y=frame["uplift"].to_list(), mode="lines+markers",
                    line={"color": COLORS["primary"], "width": 2.5},
                    name="Average over announcements",
                    hovertemplate="day %{x}: %{y:+.0%}<extra></extra>")  # fmt: skip
    fig.add_hline(y=0, line={"color": "#1F2430", "width": 1})
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title(f"Event study: {unit} above or below expected, by day", subtitle),
        xaxis={"title": "Days since the announcement", "dtick": 1},
        yaxis={"title": "Relative to expected", "tickformat": "+.0%"},
        hovermode="closest",
    )
    return fig


# -- engagement and churn risk ------------------------------------------------------------------
