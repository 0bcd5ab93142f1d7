"""The Data page's upload: files in, columns mapped, quality report, then use it for this
session, save it, or discard it.

Nothing is written to the store until the user ticks the confirmation and presses Save; the
write replaces the community in the SQL store in one transaction. "Use for this session" lets
every page analyse the upload in this browser session first, leaving the store as it is.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from analytics.contract import TABLE_NAMES, TABLES
from analytics.errors import ProofboardError
from analytics.io import mask_url
from analytics.io.upload import UploadedFile, format_size, read_upload
from analytics.mapping import (
    DATE_FORMATS,
    FileMappings,
    MappingError,
    TableMapping,
    check_mapping,
    date_preview,
    guess_columns,
    guess_date_format,
    guess_mapping,
    mapping_to_toml,
    prepare,
)
from analytics.personal import not_segments
from dashboard import auth, components, data, state
from dashboard.markup import escape

NOT_USED = ""


def _finish(message: str) -> None:
    """Empty the uploader (a new key), keep a message for the next run, and rerun."""
    st.session_state[state.UPLOAD_ROUND] = st.session_state.get(state.UPLOAD_ROUND, 0) + 1
    st.session_state[state.UPLOAD_FLASH] = message
    st.rerun()


def _read_files(limit: int) -> dict[str, UploadedFile]:
    files = st.file_uploader(
        "CSV or Parquet files, one table per file",
        type=["csv", "parquet"],
        accept_multiple_files=True,
        key=state.upload_key(),
        help=f"Up to {format_size(limit)} per file (server.maxUploadSize in "
        ".streamlit/config.toml). CSV files must be UTF-8 with a header row.",
    )
    read: dict[str, UploadedFile] = {}
    for file in files or []:
        try:
            uploaded = read_upload(file.name, file.getvalue(), max_bytes=limit)
        except ProofboardError as exc:
            st.error(escape(exc), icon=":material/error:")
            continue
        if uploaded.name in read:
            st.error(
                f"Two files are named {uploaded.name}; only the first is used. Fix: rename one.",
                icon=":material/error:",
            )
            continue
        read[uploaded.name] = uploaded
        note = uploaded.blank_note()
        if note:
            st.info(escape(note), icon=":material/info:")
    return read


def _map_file(
    uploaded: UploadedFile, guessed: FileMappings, by_file: dict[str, str]
) -> TableMapping | None:
    """The table and column choices for one file, pre-filled with the guesses."""
    name = uploaded.name
    options = [NOT_USED, *TABLE_NAMES]
    with st.container(border=True):
        st.markdown(
            f"**{escape(name)}** · {uploaded.frame.height:,} rows · {uploaded.frame.width} columns"
        )
        table = st.selectbox(
            "Holds the table",
            options,
            index=options.index(by_file.get(name, NOT_USED)),
            format_func=lambda t: t or "(not used)",
            key=state.map_table_key(name),
            help="Guessed from the file name and columns; change it if it is wrong.",
        )
        st.dataframe(uploaded.frame.head(5), hide_index=True, width="stretch")
        if not table:
            st.caption("Not used: this file is left out.")
            return None
        spec = TABLES[table]
        entry = guessed.get(table)
        guess = (
            dict(entry.columns)
            if entry is not None and entry.file == name
            else guess_columns(table, uploaded.columns)
        )
        choices = [NOT_USED, *uploaded.columns]
        chosen: dict[str, str] = {}
        for column, spec_column in zip(st.columns(len(spec.columns)), spec.columns, strict=True):
            picked = column.selectbox(
                f"{spec_column.name}{' (required)' if spec_column.required else ''}",
                choices,
                index=choices.index(guess.get(spec_column.name, NOT_USED)),
                format_func=lambda c: c or "(none)",
                key=state.map_column_key(name, table, spec_column.name),
                help=spec_column.description,
            )
            if picked:
                chosen[spec_column.name] = picked
        date_format = _date_format(uploaded, table, chosen)
        if table == "members":
            kept = [c for c in uploaded.columns if c not in chosen.values()]
            withheld = not_segments(uploaded.frame, kept)
            offered = [c for c in kept if c not in withheld]
            if offered:
                st.caption(
                    "Other columns kept as member attributes (offered as segments): "
                    + escape(", ".join(offered))
                )
            for attribute, why in withheld.items():
                st.caption(
                    f":material/lock: {escape(attribute)} is kept but never offered as a segment "
                    f"(it would show in the sidebar and the link): {escape(why)}."
                )
        return TableMapping(table, name, chosen, date_format)


def _date_format(uploaded: UploadedFile, table: str, chosen: dict[str, str]) -> str:
    """How the file writes its dates: guessed from the first values, changeable, with a preview
    of how the first values of each mapped timestamp column are read."""
    stamps = [chosen[c] for c in TABLES[table].timestamp_columns if c in chosen]
    text = [c for c in stamps if uploaded.frame.schema[c] == pl.String]
    numeric = [c for c in stamps if uploaded.frame.schema[c].is_numeric()]
    if not text and not numeric:
        return "ISO"  # typed timestamps (Parquet): nothing to choose
    firsts = [v for c in text for v in uploaded.frame[c].drop_nulls().head(20).to_list()]
    guess = "Unix seconds" if numeric and not text else guess_date_format(firsts)
    options = list(DATE_FORMATS)
    key = state.map_date_key(uploaded.name, table)
    chosen_format = st.selectbox(
        "Dates in this file are written as",
        options,
        index=options.index(guess),
        format_func=lambda f: f"{f}: {DATE_FORMATS[f]}",
        key=key,
        help="Applies to this file's date and time columns (read as UTC). Guessed from the "
        "first values; the preview shows how they are read. Saved as date_format in "
        "mapping.toml.",
    )
    rows = [
        {"column": column, "in the file": value, "read as": read}
        for column in stamps
        for value, read in date_preview(uploaded.frame[column], chosen_format)
    ]
    if rows:
        components.table(pl.DataFrame(rows), key=f"{key}_preview")
    return str(chosen_format)


def _use_for_session(tables: dict[str, pl.DataFrame], files: list[str]) -> None:
    """Offer to analyse the upload in this browser session, before (and without) a save."""
    st.subheader("Try it first")
    st.markdown(
        "Every page can analyse these files **in this browser session only**: the stored "
        "community stays exactly as it is, other people keep seeing it, and a new session "
        "starts from it again. Save below when the pages look right."
    )
    if st.button(
        "Use for this session",
        icon=":material/visibility:",
        key=state.UPLOAD_USE,
        help="Nothing is written to the database; the checked tables are kept in a temporary "
        "folder of this server for this session.",
    ):
        data.use_upload_for_session(tables, files)
        rows = ", ".join(f"{t} {f.height:,}" for t, f in tables.items())
        st.session_state[state.UPLOAD_FLASH] = (
            f"This session now analyses the uploaded files ({rows}); nothing was saved. Open any "
            "page to see them."
        )
        st.rerun()


def _save(tables: dict[str, pl.DataFrame], files: dict[str, str]) -> None:
    target = data.save_target()
    shown = mask_url(target)
    source = data.base_source()
    dropped = [t for t in TABLE_NAMES if t not in tables]
    st.subheader("Save")
    where = (
        f"the database `{shown}` the dashboard reads"
        if target == source
        else f"the embedded database `{shown}` (the dashboard reads the folder "
        f"`{data.source_label(source)}`, which an upload never overwrites; this browser session "
        "switches to the database after saving)"
    )
    st.markdown(
        f"Saving **replaces the community data** in {where}: the tables "
        + ", ".join(f"`{t}`" for t in tables)
        + " are replaced by the uploaded ones"
        + (
            "; " + ", ".join(f"`{t}`" for t in dropped) + " are removed there if present"
            if dropped
            else ""
        )
        + ". Milestones added on the Growth page are kept. The community it replaces is kept as "
        "a snapshot in the same database (the last few are kept; the **History** tab "
        "restores one). The files are stored as they are: rows the checks leave out of the "
        "analyses are kept and left out again at every load. It happens in one transaction: "
        "if anything fails, the database stays exactly as it was. Nothing is written before "
        "you press Save."
    )
    confirmed = st.checkbox("Replace the community data in this database", key=state.UPLOAD_CONFIRM)
    left, right, _ = st.columns([1, 1, 3])
    save = left.button(
        "Save",
        type="primary",
        icon=":material/save:",
        key=state.UPLOAD_SAVE,
        disabled=not confirmed,
    )
    discard = right.button("Discard", icon=":material/delete:", key=state.UPLOAD_DISCARD)
    if discard:
        _finish("Discarded the uploaded files: nothing was written.")
    if save:
        auth.require_role(auth.Role.ADMIN)  # checked again at the moment of writing
        bar = st.progress(0.0, text="Saving")

        def progress(step: str, fraction: float) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=step)

        try:
            written = data.save_upload(
                tables,
                progress=progress,
                actor=state.current_actor(),
                what="uploaded " + ", ".join(sorted(set(files.values()))),
            )
        except ProofboardError as exc:
            st.error(escape(exc), icon=":material/error:")
            return
        rows = ", ".join(f"{t} {f.height:,}" for t, f in tables.items())
        auth.audit("save upload", f"to {mask_url(written)}: {rows}")
        _finish(f"Saved to {mask_url(written)}: {rows}. Every page now shows this data.")


def render() -> None:
    """The whole upload flow (admins only)."""
    auth.require_role(auth.Role.ADMIN)
    st.markdown(
        "Upload your own CSV or Parquet files (several tables at once), say which table each "
        "holds and which column is which, check them, then save them to the SQL store. "
        "Nothing is written until you confirm."
    )
    flash = st.session_state.pop(state.UPLOAD_FLASH, None)
    if flash:
        st.success(escape(flash), icon=":material/check_circle:")
    trying = data.session_upload()
    if trying is not None:
        st.info(
            f"This browser session analyses uploaded files ({escape(', '.join(trying))}), not "
            "the stored community. They are not saved.",
            icon=":material/visibility:",
        )
        if st.button("Back to the stored data", key=state.UPLOAD_STOP_USING):
            data.use_for_session(None)
            st.rerun()
    read = _read_files(data.upload_limit_bytes())
    if not read:
        st.info(
            "No files uploaded yet. You need at least a members file (one row per member with an "
            "id and a signup time) and an activity file (who did what, when). Column names may "
            "be your own: the mapping below is guessed and can be changed.",
            icon=":material/info:",
        )
        return

    columns = {name: uploaded.columns for name, uploaded in read.items()}
    guessed = guess_mapping(columns)
    by_file = {entry.file: table for table, entry in guessed.items()}
    st.subheader("Map the columns")
    mapping: FileMappings = {}
    clashes: list[str] = []
    for uploaded in read.values():
        entry = _map_file(uploaded, guessed, by_file)
        if entry is None:
            continue
        if entry.table in mapping:
            clashes.append(
                f"{mapping[entry.table].file} and {entry.file} both hold {entry.table}. "
                "Fix: choose one table per file (or combine the files before uploading)."
            )
            continue
        mapping[entry.table] = entry

    st.download_button(
        "Mapping (mapping.toml)",
        data=mapping_to_toml(mapping),
        file_name="mapping.toml",
        mime="application/toml",
        icon=":material/download:",
        key=state.MAPPING_DOWNLOAD,
        help="Repeat this upload from the command line: proofboard ingest "
        + " ".join(sorted(e.file for e in mapping.values()))
        + " --map mapping.toml --to URL",
    )
    problems = clashes + check_mapping(mapping, columns)
    st.subheader("Data-quality report")
    if problems:
        st.error(
            "The mapping is not complete yet, so the files cannot be checked or saved.",
            icon=":material/error:",
        )
        for problem in problems:
            st.markdown(f"- :material/error: {escape(problem)}")
        return
    try:
        prepared = prepare({n: u.frame for n, u in read.items()}, mapping)
    except MappingError as exc:  # pragma: no cover - check_mapping found nothing above
        st.error(escape(exc), icon=":material/error:")
        return
    components.quality_report(prepared.report, key="upload_issues_csv", what="these files")
    if not prepared.ok:
        st.info(
            "Fix the errors in your files (or the mapping) and upload them again. Nothing was "
            "written.",
            icon=":material/info:",
        )
        return
    tables = prepared.stored_tables()
    _use_for_session(tables, sorted(e.file for e in mapping.values()))
    _save(tables, {t: e.file for t, e in mapping.items()})
