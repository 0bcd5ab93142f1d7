"""Data: where the data comes from, how much there is, and every problem found in it."""

import polars as pl
import streamlit as st

from analytics.contract import TABLES
from dashboard import components

st.title("Data")
loaded, _view = components.sidebar()
report = loaded.report

st.markdown(f"**Source:** `{loaded.source_label}`")
if report is None:
    st.error(loaded.error or "The source could not be read.", icon="⚠️")
    st.stop()

if loaded.community is not None:
    community = loaded.community
    st.markdown(
        f"**As of:** {community.as_of:%Y-%m-%d %H:%M} UTC · **latest time in the data:** "
        f"{community.data_end:%Y-%m-%d %H:%M} UTC"
    )
    used = {
        "members": community.members.height,
        "activity": community.activity.height,
        "proof_items": None if community.proof_items is None else community.proof_items.height,
        "exposures": None if community.exposures is None else community.exposures.height,
        "milestones": None if community.milestones is None else community.milestones.height,
    }
else:
    used = dict.fromkeys(TABLES)

st.subheader("Tables")
counts = report.row_counts_frame().with_columns(
    pl.Series("rows used", [used.get(t) for t in report.row_counts], dtype=pl.Int64),
    pl.Series("what it holds", [TABLES[t].description for t in report.row_counts]),
)
st.dataframe(
    counts,
    hide_index=True,
    width="stretch",
    column_config={
        "rows": st.column_config.NumberColumn("rows read", format="localized"),
        "rows used": st.column_config.NumberColumn(
            "rows used", format="localized", help="after rows with problems are left out"
        ),
    },
)
components.table_download(counts, "tables", key="tables_csv")
missing = [t for t, n in report.row_counts.items() if n is None and not TABLES[t].required]
if missing:
    st.info(
        "Optional tables not in this source: "
        + ", ".join(f"`{t}`" for t in missing)
        + ". Pages that need them say so; see the contract below for their columns."
    )
if report.attributes:
    st.caption("Member attributes offered as segments: " + ", ".join(report.attributes))

st.subheader("Data quality")
if report.ok and not report.warnings:
    st.success("No problems found.")
elif report.ok:
    st.success(f"No errors. {len(report.warnings)} warning(s): the rows named are left out.")
else:
    st.error(
        f"{len(report.errors)} error(s) stop this source from loading. Fix them in the source "
        "and reload the page.",
        icon="⚠️",
    )
for issue in report.errors:
    st.markdown(f"- ❌ {issue.text()}")
for issue in report.warnings:
    st.markdown(f"- ⚠️ {issue.text()}")
if report.issues:
    st.caption("Row numbers count data rows: row 1 is the first row below a CSV file's header.")
    issues = report.issues_frame()
    st.dataframe(issues, hide_index=True, width="stretch")
    components.table_download(issues, "data quality report", key="issues_csv")

with st.expander("The data contract: tables and columns Proofboard reads"):
    st.markdown(
        "A source is a folder of `<table>.csv` / `<table>.parquet` files or a database with "
        "tables of these names. Timestamps are ISO 8601 (no offset means UTC; a plain date "
        "means midnight UTC). Extra columns are allowed; extra `members` columns are member "
        "attributes offered as segments."
    )
    for spec in TABLES.values():
        need = "required" if spec.required else "optional"
        st.markdown(f"**`{spec.name}`** ({need}) — {spec.description}")
        st.markdown(
            "\n".join(
                f"- `{c.name}` ({c.kind}{'' if c.required else ', optional'}): {c.description}"
                for c in spec.columns
            )
        )
