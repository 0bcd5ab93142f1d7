"""Data: where the data comes from, how much there is, every problem found in it; upload your
own files with a column mapping; connect a database; what was delivered by e-mail and chat;
the snapshots of earlier communities, the audit log and the removal of members."""

import polars as pl
import streamlit as st

from analytics.contract import TABLES
from dashboard import (
    auth,
    components,
    connect_view,
    delivery_view,
    history_view,
    state,
    upload_view,
)
from dashboard.data import Loaded
from dashboard.markup import escape

st.title("Data")
# The page is not in a viewer's navigation; this check holds even if it were reached.
auth.require_role(auth.Role.ANALYST)
loaded, _view = components.sidebar()


def current_data(loaded: Loaded) -> None:
    """The source, its tables and the data-quality report."""
    st.markdown(f"**Source:** {escape(loaded.source_label)}")
    report = loaded.report
    if report is None:
        st.error(escape(loaded.error or "The source could not be read."), icon=":material/error:")
        st.caption(
            "Point the dashboard at another source under **Connect a database**, or upload "
            "files under **Upload files**."
        )
        return
    if loaded.community is not None:
        community = loaded.community
        backend = community.events.backend
        where = "inside the data's own database" if backend.pushdown else "in this app"
        st.caption(
            f"Queries run on **{backend.name}** ({where}); set `engine` under `[proofboard]` "
            "in .streamlit/secrets.toml or start with `proofboard dashboard --engine` to choose."
        )
        st.markdown(
            f"**As of:** {community.as_of:%Y-%m-%d %H:%M} UTC · **latest time in the data:** "
            f"{community.data_end:%Y-%m-%d %H:%M} UTC"
        )
        used = {
            "members": community.members.height,
            "activity": community.activity_rows,
            "proof_items": None if community.proof_items is None else community.proof_items.height,
            "exposures": community.exposure_rows,
            "milestones": None if community.milestones is None else community.milestones.height,
        }
    else:
        used = dict.fromkeys(TABLES)

    st.subheader("Tables")
    counts = report.row_counts_frame().with_columns(
        pl.Series("rows used", [used.get(t) for t in report.row_counts], dtype=pl.Int64),
        pl.Series("what it holds", [TABLES[t].description for t in report.row_counts]),
    )
    # a static table: "what it holds" is read whole, wrapped, never cut
    components.table(counts.rename({"rows": "rows read"}), wrap=True)
    st.caption("Rows used: after rows with problems are left out.")
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
    if report.not_segments:
        st.caption(
            "Kept but never offered as segments (they would show in the sidebar and the link): "
            + escape("; ".join(f"{column} ({why})" for column, why in report.not_segments))
        )

    st.subheader("Data quality")
    components.quality_report(report, key="issues_csv")

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


if auth.allowed(auth.Role.ADMIN):
    current, upload, connect, deliveries, history = st.tabs(
        [
            ":material/table_view: Current data",
            ":material/upload_file: Upload files",
            ":material/cable: Connect a database",
            ":material/outgoing_mail: Deliveries",
            ":material/history: History",
        ],
        key=state.TAB,
        bind="query-params",
    )
    with current:
        current_data(loaded)
    with upload:
        upload_view.render()
    with connect:
        connect_view.render()
    with deliveries:
        delivery_view.deliveries_panel()
    with history:
        history_view.render()
else:  # analysts: no upload, no database connection (admin actions)
    current, deliveries = st.tabs(
        [":material/table_view: Current data", ":material/outgoing_mail: Deliveries"],
        key=state.TAB,
        bind="query-params",
    )
    with current:
        current_data(loaded)
        st.caption(
            "Uploading files, connecting a database and the history (restore, forget, audit log) "
            "are for admins.",
            help=auth.refusal(auth.Role.ADMIN),
        )
    with deliveries:
        delivery_view.deliveries_panel()
