"""Chart builders: each takes an analysis result and returns a plotly Figure.

Every chart has a title, axis titles with units, hover text, and the shared template. One
module per chart family; pages, the catalog and the report import them from here.
"""

from __future__ import annotations

from dashboard.charts.engagement import (
    LORENZ_CURVE,
    activation_chart,
    active_members_chart,
    activity_kind_chart,
    lorenz_chart,
    lorenz_note,
)
from dashboard.charts.growth import (
    event_study_chart,
    growth_chart,
    milestone_columns,
    milestone_detail_chart,
)
from dashboard.charts.impact import (
    VERDICT_COLORS,
    balance_chart,
    forest_plot,
    timing_chart,
    verdict_labels,
    weighted_curves_chart,
)
from dashboard.charts.retention import (
    churn_chart,
    cohort_heatmap,
    lifecycle_chart,
    retention_curves,
    survival_chart,
)
from dashboard.charts.review import kpi_weeks_chart, week_signups_chart
from dashboard.charts.risk import calibration_chart, importance_chart
from dashboard.charts.style import COLORS, TEMPLATE_NAME, view_caption

__all__ = [
    "COLORS",
    "LORENZ_CURVE",
    "TEMPLATE_NAME",
    "VERDICT_COLORS",
    "activation_chart",
    "active_members_chart",
    "activity_kind_chart",
    "balance_chart",
    "calibration_chart",
    "churn_chart",
    "cohort_heatmap",
    "event_study_chart",
    "forest_plot",
    "growth_chart",
    "importance_chart",
    "kpi_weeks_chart",
    "lifecycle_chart",
    "lorenz_chart",
    "lorenz_note",
    "milestone_columns",
    "milestone_detail_chart",
    "retention_curves",
    "survival_chart",
    "timing_chart",
    "verdict_labels",
    "view_caption",
    "week_signups_chart",
    "weighted_curves_chart",
]
