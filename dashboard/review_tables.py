"""The Weekly review's tables, built once per review and role and shared by every session.

The review itself is computed through :func:`dashboard.data.compute`, so every session that
opens the same week on the same data reuses it; the tables drawn from it (formatted for
reading, small groups hidden for a viewer) and the frames its downloads hold go through the
same cache, keyed by the same inputs (data, as-of day, segments, week, quiet days, the
milestones added in the dashboard) plus the role's share of the content: the viewer's k of
the small-group rule, or ``None`` for analysts and admins. A viewer's entry is built with the
suppression applied inside it, so a viewer can never be handed an analyst's tables.

The key-figure table is text already (counts, shares and intervals formatted per row), so the
generic rule of :func:`dashboard.components.prepare_table` (integer member-count columns)
cannot see its small figures: :func:`kpis_for_viewer` applies the rule of the KPI tiles to each
of its figures (this week, the week before, the 4-week average) instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from analytics import privacy
from analytics.community import Community
from analytics.weekly import KpiComparison, WeeklyReview
from dashboard import report
from dashboard.components import PreparedTable, for_role, prepare_table


@dataclass(frozen=True)
class ReviewTables:
    """What the page draws and offers for download, for one role."""

    viewer_k: int | None
    kpis: PreparedTable
    kpi_download: pl.DataFrame
    findings: PreparedTable | None  # None: no impact estimate, or no notable finding
    findings_download: pl.DataFrame | None
    milestones: PreparedTable | None  # None: no milestone to list
    milestones_download: pl.DataFrame | None


def _small(value: float | None, n: int | None, unit: str, known: bool, k: int) -> bool:
    """A known figure about fewer than k members: based on 1 to k - 1 members, or a count of
    them (the rule of the KPI tiles)."""
    if not known or value is None:
        return False
    if n is not None and privacy.is_small(n, k=k):
        return True
    return unit == "members" and 0 < value < k


def small_figures(c: KpiComparison, k: int) -> dict[str, bool]:
    """Which of a key figure's numbers a viewer may not see: ``this`` week's, the ``previous``
    week's, the 4-week ``average``."""
    kpi = c.kpi
    return {
        "this": _small(kpi.value, kpi.n, kpi.unit, kpi.known, k),
        "previous": _small(kpi.previous, kpi.previous_n, kpi.unit, kpi.previous_known, k),
        "average": _small(c.average, c.average_n, kpi.unit, c.average_known_from is None, k),
    }


#: the columns each hidden figure takes with it: (shown table, download)
_HIDES = {
    "this": (
        ("this week", "95 % CI", "change", "vs 4-week average"),
        ("week", "ci_low", "ci_high", "n", "change_vs_previous", "change_vs_average"),
    ),
    "previous": (("week before", "change"), ("previous_week", "change_vs_previous")),
    "average": (
        ("4-week average", "4-week 95 % CI", "vs 4-week average"),
        ("average_4_weeks", "average_ci_low", "average_ci_high", "change_vs_average"),
    ),
}


def kpis_for_viewer(
    review: WeeklyReview, shown: pl.DataFrame, download: pl.DataFrame, k: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The key-figure table as shown (``shown``: :func:`dashboard.report.kpi_rows`) and as
    downloaded (``download``: ``review.kpi_table()``), one row per key figure in review order,
    with every figure about fewer than ``k`` members, and what is computed from it (interval,
    changes), reading "fewer than k". Affected download columns become text, as in
    :func:`analytics.privacy.suppress_small_cells`."""
    text = privacy.small_cell_text(k)
    rows = len(review.kpis)
    assert shown.height == download.height == rows, "one row per key figure, in review order"
    masks: tuple[dict[str, list[bool]], dict[str, list[bool]]] = ({}, {})
    for index, c in enumerate(review.kpis):
        for part, small in small_figures(c, k).items():
            if small:  # a column two figures feed (a change) is hidden when either is small
                for which, columns in enumerate(_HIDES[part]):
                    for column in columns:
                        masks[which].setdefault(column, [False] * rows)[index] = True

    def apply(frame: pl.DataFrame, mask: dict[str, list[bool]]) -> pl.DataFrame:
        return frame.with_columns(
            pl.when(pl.Series(flags, dtype=pl.Boolean))
            .then(pl.lit(text))
            .otherwise(pl.col(column).cast(pl.String))
            .alias(column)
            for column, flags in mask.items()
        )

    return apply(shown, masks[0]), apply(download, masks[1])


def build(
    community: Community,
    *,
    review: WeeklyReview,
    week: str,
    inactive_days: int,
    viewer_k: int | None,
) -> ReviewTables:
    """The tables of ``review`` for a role (``viewer_k``: see
    :func:`dashboard.components.viewer_k`). ``community``, ``week`` and ``inactive_days`` are
    what the cache keys the review by; they must be the review's."""
    del community  # the review holds what the tables show
    assert review.week == week, (review.week, week)
    assert review.inactive_days == inactive_days, (review.inactive_days, inactive_days)

    def prepared(frame: pl.DataFrame) -> PreparedTable:
        return prepare_table(frame, viewer_k=viewer_k)

    findings = findings_download = None
    if review.impact is not None:
        rows = report.findings_rows(review)
        if not rows.is_empty():
            findings = prepared(rows)
            findings_download = for_role(review.notable_table(), viewer_k)
    milestones = milestones_download = None
    if not review.milestones_note and review.milestones:
        milestones = prepared(report.milestone_rows(review))
        milestones_download = for_role(review.milestone_table(), viewer_k)
    kpis, kpi_download = report.kpi_rows(review), review.kpi_table()
    if viewer_k is not None:
        kpis, kpi_download = kpis_for_viewer(review, kpis, kpi_download, viewer_k)
    return ReviewTables(
        viewer_k=viewer_k,
        kpis=prepared(kpis),
        kpi_download=for_role(kpi_download, viewer_k),
        findings=findings,
        findings_download=findings_download,
        milestones=milestones,
        milestones_download=milestones_download,
    )
