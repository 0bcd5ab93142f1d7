"""Churn-risk charts: the model's calibration and its feature importance."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboard.charts.style import COLORS, TEMPLATE_NAME, _title


def calibration_chart(calibration: pl.DataFrame, *, subtitle: str) -> go.Figure:
    """Predicted against observed churn on the held-out cutoff, model and baseline."""
    fig = go.Figure()
    fig.add_scatter(
        x=[0, 1], y=[0, 1], mode="lines", name="Perfectly calibrated",
        line={"color": COLORS["muted"], "dash": "dash", "width": 1}, hoverinfo="skip",
    )  # fmt: skip
    for model, label, color in (
        ("model", "Model", COLORS["primary"]),
        ("baseline", "Recency-only baseline", COLORS["secondary"]),
    ):
        rows = calibration.filter(pl.col("model") == model)
        fig.add_scatter(
            x=rows["predicted"].to_list(), y=rows["observed"].to_list(), name=label,
            mode="lines+markers", line={"color": color, "width": 2},
            customdata=rows["members"].to_list(),
            hovertemplate="predicted %{x:.1%}, observed %{y:.1%} (%{customdata:,} members)"
            "<extra>" + label + "</extra>",
        )  # fmt: skip
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title("Calibration on the held-out cutoff", subtitle),
        xaxis={"title": "Predicted churn risk (mean of a tenth of members)", "tickformat": ".0%",
               "range": [0, 1]},
        yaxis={"title": "Share who actually churned", "tickformat": ".0%", "range": [0, 1]},
        hovermode="closest",
    )  # fmt: skip
    return fig


def importance_chart(importance: pl.DataFrame, *, subtitle: str) -> go.Figure:
    """Permutation importance per feature group with the spread over repeats."""
    rows = importance.sort("importance")
    fig = go.Figure(
        go.Bar(
            x=rows["importance"].to_list(),
            y=rows["group"].to_list(),
            orientation="h",
            marker_color=COLORS["primary"],
            error_x={
                "type": "data",
                "symmetric": False,
                "array": (rows["ci_high"] - rows["importance"]).to_list(),
                "arrayminus": (rows["importance"] - rows["ci_low"]).to_list(),
                "color": "#1F2430",
            },
            customdata=rows["help"].to_list(),
            hovertemplate="%{y}: ROC AUC falls by %{x:.3f} when shuffled<br>%{customdata}"
            "<extra></extra>",
            name="Drop in ROC AUC",
        )
    )
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title("What the model relies on", subtitle),
        xaxis={"title": "Drop in ROC AUC when the group is shuffled (held-out cutoff)"},
        yaxis={"title": "Feature group"},
        hovermode="closest",
        showlegend=False,
    )
    return fig
