"""Chart builders: each takes an analysis result and returns a plotly Figure.

Every chart has a title, axis titles with units, hover text, and the shared template.
"""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl

TEMPLATE_NAME = "proofboard"
COLORS = {
    "primary": "#2D5BFF",
    "secondary": "#F28C28",
    "muted": "#8A94A6",
    "good": "#1B9E77",
    "bad": "#D95F02",
}

pio.templates[TEMPLATE_NAME] = go.layout.Template(
    layout=go.Layout(
        font={"family": "Inter, Segoe UI, Helvetica, Arial, sans-serif", "size": 13},
        colorway=[COLORS["primary"], COLORS["secondary"], COLORS["good"], COLORS["bad"]],
        plot_bgcolor="white",
        paper_bgcolor="white",
        hovermode="x unified",
        margin={"l": 60, "r": 60, "t": 80, "b": 40},
        legend={"orientation": "h", "yanchor": "top", "y": -0.18, "xanchor": "left", "x": 0},
        xaxis={"showgrid": False, "linecolor": "#C8CED8", "ticks": "outside"},
        yaxis={"gridcolor": "#EEF1F5", "zeroline": False},
    )
)


def _title(title: str, subtitle: str) -> dict[str, object]:
    return {
        "text": title,
        "subtitle": {"text": subtitle, "font": {"size": 12, "color": COLORS["muted"]}},
        "x": 0,
        "xanchor": "left",
    }


def growth_chart(
    series: pl.DataFrame,
    milestones: pl.DataFrame,
    *,
    granularity: str,
    subtitle: str,
) -> go.Figure:
    """Signups per day or week (bars), cumulative members (line, right axis) and each
    milestone announcement as a labelled marker."""
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
