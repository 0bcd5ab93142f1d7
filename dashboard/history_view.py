"""Data page, History: the snapshots kept of earlier communities with "Restore previous", the
audit log (who did what, when), and the form that removes members for an erasure request."""

from __future__ import annotations

import re

import polars as pl
import streamlit as st

from analytics.errors import ProofboardError
from analytics.io import is_url, mask_url
from analytics.io.history import (
    AUDIT_SCHEMA,
    forget_members,
    list_snapshots,
    read_audit,
    restore_snapshot,
)
from dashboard import auth, components, data, state
from dashboard.markup import escape


def history_target() -> str:
    """The database whose snapshots are shown: where an upload is saved (the source database,
    or the embedded one when the source is a folder)."""
    return data.save_target()


def snapshots_frame(url: str) -> pl.DataFrame:
    """The snapshots of ``url`` as a table, newest first."""
    rows = [
        {
            "snapshot": s.snapshot_id,
            "taken at (UTC)": s.taken_at,
            "by": s.actor,
            "why": s.reason,
            "tables (rows)": ", ".join(f"{t} {n:,}" for t, n in s.rows.items()),
        }
        for s in list_snapshots(url)
    ]
    schema = {
        "snapshot": pl.Int64(),
        "taken at (UTC)": pl.Datetime("us", "UTC"),
        "by": pl.String(),
        "why": pl.String(),
        "tables (rows)": pl.String(),
    }
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)


def audit_frame() -> pl.DataFrame:
    """The audit logs of the data database and of the store (when it is another database),
    newest first."""
    urls = [history_target(), data.store_url()]
    frames = [read_audit(url) for url in dict.fromkeys(u for u in urls if is_url(u))]
    if not frames:
        return pl.DataFrame(schema=AUDIT_SCHEMA)
    return pl.concat(frames).sort("when (UTC)", descending=True)


def _flash(message: str) -> None:
    st.session_state[state.HISTORY_FLASH] = message


def _switch_to(target: str) -> None:
    """Make every page read ``target`` after it changed (as after an upload)."""
    if target != data.configured_source():
        data.use_for_session(target)
    else:
        data.data_changed()


def restore_panel(target: str) -> None:
    st.subheader("Snapshots")
    try:
        frame = snapshots_frame(target)
    except ProofboardError as exc:
        st.error(escape(exc), icon=":material/error:")
        return
    if frame.is_empty():
        st.info(
            f"No snapshots in `{escape(mask_url(target))}` yet. One is kept each time the "
            "community there is replaced (Save of an upload, `proofboard ingest`, `proofboard "
            "import`), so that it can be put back.",
            icon=":material/info:",
        )
        return
    try:
        keep = f"the last {data.keep_snapshots_setting()} are kept"
    except ProofboardError as exc:
        keep = str(exc)
    st.caption(
        f"Earlier communities kept in `{escape(mask_url(target))}`, newest first ({escape(keep)}; "
        "`keep_snapshots` under `[proofboard]` in secrets.toml to change)."
    )
    components.table(frame, key="snapshots_table")
    components.table_download(frame, "snapshots", key="snapshots_csv")
    ids = frame["snapshot"].to_list()
    chosen = st.selectbox(
        "Snapshot to restore",
        options=ids,
        format_func=lambda i: f"#{i}" + (" (the previous community)" if i == ids[0] else ""),
        key=state.RESTORE_CHOICE,
    )
    st.markdown(
        "Restoring **replaces the current community** with the snapshot, in one transaction. "
        "The current community is kept as a snapshot first, so this can be undone the same way."
    )
    confirmed = st.checkbox(
        "Replace the current community with this snapshot", key=state.RESTORE_CONFIRM
    )
    if st.button(
        "Restore previous" if chosen == ids[0] else f"Restore snapshot {chosen}",
        icon=":material/history:",
        type="primary",
        disabled=not confirmed,
        key=state.RESTORE_GO,
    ):
        auth.require_role(auth.Role.ADMIN)  # checked again on the server, at the action
        try:
            restored, saved = restore_snapshot(
                target, chosen, actor=state.current_actor(), keep=data.keep_snapshots_setting()
            )
        except ProofboardError as exc:
            st.error(escape(exc), icon=":material/error:")
            return
        _switch_to(target)
        _flash(
            f"Restored snapshot {restored.snapshot_id}. Every page now shows it."
            + (f" The community it replaced is snapshot {saved.snapshot_id}." if saved else "")
        )
        st.session_state.pop(state.RESTORE_CONFIRM, None)
        st.rerun()


def audit_panel() -> None:
    st.subheader("Audit log")
    try:
        frame = audit_frame()
    except ProofboardError as exc:
        st.error(escape(exc), icon=":material/error:")
        return
    if frame.is_empty():
        st.info(
            "Nothing recorded yet. Saves, restores, ingests, imports, milestone changes, "
            "downloads of member-level data and removals of members are recorded here, with "
            "who did them and when.",
            icon=":material/info:",
        )
        return
    components.table(frame, key="audit_table")
    components.table_download(frame, "audit log", key="audit_csv", member_level=False)


def parse_ids(text: str) -> list[str]:
    """Member ids typed one per line (or separated by commas)."""
    return [part.strip() for part in re.split(r"[\n,]", text or "") if part.strip()]


def forget_panel(target: str) -> None:
    st.subheader("Forget members")
    st.markdown(
        "For an erasure request (GDPR/DSGVO Art. 17): removes the members from the members, "
        "activity and exposures tables **and from every snapshot**, in one transaction. The "
        "audit log records that it happened and how many rows went, never the ids. Reports "
        "already sent or downloaded are not touched."
    )
    source = data.configured_source()
    if not is_url(source):
        st.info(
            f"The dashboard reads the folder `{escape(source)}`: remove the members from its "
            "files there. This form works on databases only.",
            icon=":material/info:",
        )
        return
    text = st.text_area(
        "Member ids, one per line", key=state.FORGET_IDS, placeholder="u-1042\nu-2210"
    )
    confirmed = st.checkbox(
        "Remove these members for good (snapshots included; this cannot be undone)",
        key=state.FORGET_CONFIRM,
    )
    go = st.button("Forget these members", icon=":material/person_remove:", key=state.FORGET_GO)
    if not go:
        return
    ids = parse_ids(text)
    if not ids:
        st.error("No member id given. Nothing was changed.", icon=":material/error:")
        return
    if not confirmed:
        st.error("Tick the box to confirm first. Nothing was changed.", icon=":material/error:")
        return
    auth.require_role(auth.Role.ADMIN)  # checked again on the server, at the action
    try:
        result = forget_members(target, ids, actor=state.current_actor())
    except ProofboardError as exc:
        st.error(escape(exc), icon=":material/error:")
        return
    data.data_changed()
    removed = pl.DataFrame(
        {"table": list(result.removed), "rows removed": list(result.removed.values())},
        schema={"table": pl.String(), "rows removed": pl.Int64()},
    )
    st.success(
        escape(
            f"Removed {result.found:,} of {result.requested:,} member(s) "
            "(the others were not in the members table)."
        ),
        icon=":material/check_circle:",
    )
    components.table(removed, key="forget_result")


def render() -> None:
    """The whole History tab."""
    flash = st.session_state.pop(state.HISTORY_FLASH, None)
    if flash:
        st.success(escape(flash), icon=":material/check_circle:")
    target = history_target()
    restore_panel(target)
    audit_panel()
    forget_panel(target)
