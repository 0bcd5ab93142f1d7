"""Where the dashboard gets its data, and the caching around it.

The source is, in order: a database chosen on the Data page for this browser session (kept in
``st.session_state`` only, never written to disk), ``$PROOFBOARD_DATA`` (set by ``proofboard
dashboard --data``), the ``data`` key of the ``[proofboard]`` section of
``.streamlit/secrets.toml``, or the embedded SQLite database under ``data/`` (created with the
demo community when missing).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from analytics.community import Community, load_community
from analytics.contract import TABLE_NAMES
from analytics.embedded import (
    default_url,
    ensure_default_database,
    needs_demo,
    store_url_for,
)
from analytics.errors import DataContractError, ProofboardError
from analytics.io import (
    create_engine,
    is_url,
    mask_url,
    open_source,
    sqlite_path,
    write_database,
    write_folder,
)
from analytics.io.history import LOCAL_ACTOR, keep_snapshots, record_audit
from analytics.io.milestone_store import FRAME_SCHEMA, MilestoneStore
from analytics.io.write import Progress, Replace
from analytics.quality import QualityReport
from dashboard import log_scrub, state
from dashboard.engagement_view import pseudonym_table

ENV_DATA = "PROOFBOARD_DATA"
ENV_ENGINE = "PROOFBOARD_ENGINE"
ENV_STORE = "PROOFBOARD_STORE"


@dataclass(frozen=True)
class Loaded:
    """The outcome of loading a source: a community, or the reason there is none."""

    source_label: str
    community: Community | None
    report: QualityReport | None
    error: str | None


def secret_source() -> str | None:
    """``data`` of the ``[proofboard]`` section of ``.streamlit/secrets.toml``, if set."""
    try:
        secret = st.secrets.get("proofboard", {}).get("data")
    except (FileNotFoundError, KeyError, AttributeError):
        secret = None
    except Exception:
        secret = None
    return str(secret) if secret else None


def configured_engine() -> str | None:
    """Where the queries run: ``$PROOFBOARD_ENGINE`` (``proofboard dashboard --engine``), else
    ``engine`` in the ``[proofboard]`` section of secrets.toml, else the source's default
    (polars' streaming engine for folders, the database itself for database URLs)."""
    chosen = os.environ.get(ENV_ENGINE)
    if not chosen:
        try:
            chosen = st.secrets.get("proofboard", {}).get("engine")
        except Exception:
            chosen = None
    return str(chosen) if chosen else None


def session_source() -> str | None:
    """The database URL chosen on the Data page for this browser session, if any."""
    chosen = st.session_state.get(state.SESSION_SOURCE)
    return str(chosen) if chosen else None


def configured_source() -> str:
    """The data source this dashboard runs on (a folder path or a SQLAlchemy URL)."""
    source = session_source() or os.environ.get(ENV_DATA) or secret_source() or default_url()
    log_scrub.remember(source)
    return source


def source_origin() -> str:
    """Where :func:`configured_source` came from, in words."""
    if session_source():
        return "chosen on the Data page for this browser session only"
    if os.environ.get(ENV_DATA):
        return f"from ${ENV_DATA} (proofboard dashboard --data)"
    if secret_source():
        return "from data in the [proofboard] section of .streamlit/secrets.toml"
    return "the embedded database (no source configured)"


def data_changed() -> None:
    """Forget every cached load and result, so that every page reads the data again."""
    _load.clear()
    _segment.clear()
    _computed.clear()
    _stored_milestones.clear()


def use_for_session(url: str | None) -> None:
    """Read ``url`` in this browser session from now on (``None``: back to the configured
    source). Only ``st.session_state`` holds it: nothing is written to disk or logged."""
    st.session_state.pop(state.SESSION_UPLOAD, None)
    if url:
        log_scrub.remember(url)
        st.session_state[state.SESSION_SOURCE] = url
    else:
        st.session_state.pop(state.SESSION_SOURCE, None)
    data_changed()


def use_upload_for_session(tables: dict[str, pl.DataFrame], files: list[str]) -> str:
    """Analyse checked, uploaded ``tables`` in this browser session only: they are written to a
    new temporary folder of this server (never to the source or the store) and the session reads
    that folder from now on. Returns the folder."""
    folder = Path(tempfile.mkdtemp(prefix="proofboard-upload-"))
    write_folder(tables, folder)
    use_for_session(str(folder))
    st.session_state[state.SESSION_UPLOAD] = list(files)
    return str(folder)


def session_upload() -> list[str] | None:
    """The uploaded files this session analyses instead of the stored data, if any."""
    files = st.session_state.get(state.SESSION_UPLOAD)
    return list(files) if files and session_source() else None


def upload_limit_bytes() -> int:
    """The largest file the upload accepts: ``server.maxUploadSize`` (MB) of the config."""
    return int(st.get_option("server.maxUploadSize")) * 1024 * 1024


def save_target() -> str:
    """Where uploaded data is saved: the source database itself, or the embedded SQLite
    database when the source is a folder (files are never overwritten by an upload). While
    this session tries an upload ("Use for this session"), the source the session read before
    it: the temporary folder of the upload is never a save target."""
    source = base_source()
    return source if is_url(source) else default_url()


def keep_snapshots_setting() -> int:
    """How many snapshots a database keeps: ``keep_snapshots`` of the ``[proofboard]`` section
    of secrets.toml, else ``$PROOFBOARD_KEEP_SNAPSHOTS``, else 5. A value that is not a whole
    number of 0 or more raises :class:`DataSourceError` saying so."""
    try:
        value = st.secrets.get("proofboard", {}).get("keep_snapshots")
    except Exception:
        value = None
    return keep_snapshots(value)


def base_source() -> str:
    """The source this session reads, leaving out an upload it only tries."""
    if session_upload():
        return os.environ.get(ENV_DATA) or secret_source() or default_url()
    return configured_source()


def save_upload(
    tables: dict[str, pl.DataFrame],
    *,
    progress: Progress | None = None,
    actor: str = LOCAL_ACTOR,
    what: str = "uploaded files",
) -> str:
    """Replace the community in :func:`save_target` with ``tables`` in one transaction (old
    contract tables not among them are kept as a snapshot, with the rest of the previous
    community; milestones added on the Growth page are kept), record it in the audit log,
    then make this session read it and reload every page. Returns the target URL."""
    target = save_target()
    write_database(
        tables,
        target,
        drop=TABLE_NAMES,
        progress=progress,
        replace=Replace(actor, "save", f"{what}:", keep=keep_snapshots_setting()),
    )
    if target != configured_source():
        use_for_session(target)
    else:
        data_changed()
    return target


def record_export(name: str, *, actor: str) -> None:
    """Record a download of member-level data in the audit log of the store (a failure is
    logged, not shown: the file has been handed over already)."""
    try:
        record_audit(
            store_url(),
            actor=actor,
            action="export",
            detail=name,
        )
    except (ProofboardError, OSError) as exc:
        logging.getLogger(__name__).warning(
            "Could not record the export of %s: %s", name, log_scrub.scrub(str(exc))
        )


def source_label(source: str) -> str:
    return mask_url(source) if "://" in source else source


def _ensure_default(source: str) -> None:
    if source != default_url() or not needs_demo():
        return
    with st.status("First run: creating the demo community…", expanded=True) as status:
        bar = st.progress(0.0, text="Starting")

        def progress(step: str, fraction: float) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=step)

        ensure_default_database(progress=progress)
        status.update(label="Demo community created", state="complete", expanded=False)


@st.cache_resource(show_spinner="Loading and checking the community data…", max_entries=4)
def _load(source: str, as_of: datetime | None, engine: str | None = None) -> Loaded:
    label = source_label(source)
    try:
        opened = open_source(source)
    except ProofboardError as exc:
        return Loaded(label, None, None, str(exc))
    try:
        community = load_community(opened, as_of=as_of, engine=engine)
    except DataContractError as exc:
        return Loaded(label, None, exc.report, str(exc))
    except ProofboardError as exc:
        return Loaded(label, None, None, str(exc))
    return Loaded(label, community, community.report, None)


def end_of_day(day: date) -> datetime:
    """The last moment of a UTC day: an as-of date includes the whole day."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC) - timedelta(microseconds=1)


def load(as_of_day: date | None = None) -> Loaded:
    """Load the configured source as of the end of ``as_of_day`` (default: latest data)."""
    source = configured_source()
    _ensure_default(source)
    loaded = _load(
        source, None if as_of_day is None else end_of_day(as_of_day), configured_engine()
    )
    uploaded = session_upload()
    if uploaded:
        label = f"uploaded files {', '.join(uploaded)} (this browser session only, not saved)"
        loaded = replace(loaded, source_label=label)
    return loaded


Segments = tuple[tuple[str, tuple[str, ...]], ...]


def _as_of(as_of_day: date | None) -> datetime | None:
    return None if as_of_day is None else end_of_day(as_of_day)


def store_url(source: str | None = None) -> str:
    """Where milestones added in the dashboard, subscriptions and the delivery log are kept:
    ``$PROOFBOARD_STORE`` or ``store`` of the ``[proofboard]`` section of secrets.toml when set
    (the ``[store] url`` of ``proofboard deliver``'s configuration should say the same), else the
    source database itself, or a ``proofboard.db`` SQLite file inside a data folder (the rule
    ``proofboard deliver`` follows without ``[store]``)."""
    chosen = os.environ.get(ENV_STORE)
    if not chosen:
        try:
            chosen = st.secrets.get("proofboard", {}).get("store")
        except Exception:
            chosen = None
    return str(chosen) if chosen else store_url_for(source or configured_source())


def milestones_changed() -> None:
    """Forget the cached added milestones after an add, edit or delete."""
    _stored_milestones.clear()


def milestone_store() -> MilestoneStore:
    """The store of milestones added in the dashboard (created on first use)."""
    return MilestoneStore(store_url())


@st.cache_data(ttl=30, show_spinner=False)
def _stored_milestones(source: str) -> tuple[pl.DataFrame, int]:
    """The added milestones and a fingerprint of them for the cache keys (an edit must not be
    hidden behind a cached result). Read once per half minute rather than on every analysis
    call; edits made here clear it at once (:func:`milestones_changed`)."""
    url = store_url(source)
    empty = pl.DataFrame(schema=FRAME_SCHEMA)
    try:
        # Reading never creates anything: no file, no table until a milestone is added.
        db_file = sqlite_path(url)
        if db_file is not None and not db_file.is_file():
            return empty, 0
        engine = create_engine(url)
        try:
            exists = sa.inspect(engine).has_table(MilestoneStore.TABLE)
        finally:
            engine.dispose()
        if not exists:
            return empty, 0
        frame = MilestoneStore(url).frame()
    except (ProofboardError, ValueError, sa.exc.SQLAlchemyError):
        return empty, 0
    return frame, int(frame.hash_rows().sum()) if frame.height else 0


@st.cache_resource(show_spinner=False, max_entries=8)
def _segment(
    source: str, as_of: datetime | None, segments: Segments, stored: int, _extra: pl.DataFrame
) -> Community | None:
    community = _load(source, as_of, configured_engine()).community
    if community is None:
        return None
    if stored:
        community = community.with_extra_milestones(_extra)
    return community.filter_members(dict(segments))


@st.cache_resource(show_spinner=False, max_entries=64)
def _computed(
    name: str,
    source: str,
    as_of: datetime | None,
    segments: Segments,
    params: tuple[tuple[str, Any], ...],
    stored: int,
    _function: Callable[..., Any],
    _extra: pl.DataFrame,
    _inputs: dict[str, Any] | None = None,
    _progress: Progress | None = None,
) -> Any:
    community = _segment(source, as_of, segments, stored, _extra)
    assert community is not None, "compute() is only called once the data has loaded"
    reporting = {} if _progress is None else {"progress": _progress}
    return _function(community, **dict(params), **(_inputs or {}), **reporting)


def segmented(as_of_day: date | None, segments: dict[str, tuple[str, ...]]) -> Community | None:
    """The loaded community, with the milestones added in the dashboard, restricted to the chosen
    segments (cached per view)."""
    source = configured_source()
    extra, stored = _stored_milestones(source)
    return _segment(source, _as_of(as_of_day), tuple(sorted(segments.items())), stored, extra)


@st.cache_resource(show_spinner=False, max_entries=4)
def _pseudonyms(
    source: str,
    as_of: datetime | None,
    segments: Segments,
    stored: int,
    key_digest: str,
    _extra: pl.DataFrame,
    _key: str,
) -> pl.DataFrame:
    community = _segment(source, as_of, segments, stored, _extra)
    assert community is not None, "pseudonyms() is only called once the data has loaded"
    return pseudonym_table(community, key=_key)


def pseudonyms(
    as_of_day: date | None, segments: dict[str, tuple[str, ...]], key: str
) -> pl.DataFrame:
    """The members' keyed pseudonyms in the chosen view (:func:`pseudonym_table`: about 2 s at a
    million members), made once per view and key rather than on every rerun. The cache names
    the key by a digest and keeps a few tables only (a session without a configured key has a
    key of its own)."""
    source = configured_source()
    extra, stored = _stored_milestones(source)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return _pseudonyms(
        source, _as_of(as_of_day), tuple(sorted(segments.items())), stored, digest, extra, key
    )


def compute(
    name: str,
    function: Callable[..., Any],
    as_of_day: date | None,
    segments: dict[str, tuple[str, ...]],
    *,
    inputs: dict[str, Any] | None = None,
    progress: Progress | None = None,
    **params: Any,
) -> Any:
    """``function(community, **params)`` on the chosen view, cached: the same view and
    parameters are computed once per data source, not on every rerun. ``name`` identifies the
    analysis in the cache; ``params`` must be hashable.

    ``inputs`` are passed on too but are not part of the cache key: results this analysis
    builds on that are themselves fixed by the view and ``params`` (computed beforehand with
    ``compute``, so that a page can show which step is running). No Streamlit element may be
    drawn from inside ``function``: a cached call would replay it out of place.

    ``progress``, for analyses that report their steps (a ``progress`` argument taking the
    step's words and the fraction done): while ``function`` runs, it is called on the page's
    own thread with the latest step, so the page can draw it (see :func:`_with_progress`). A
    cached result returns at once, without calling it."""
    source = configured_source()
    extra, stored = _stored_milestones(source)
    key = (
        name,
        source,
        _as_of(as_of_day),
        tuple(sorted(segments.items())),
        tuple(sorted(params.items())),
        stored,
        function,
        extra,
        inputs,
    )
    if progress is None:
        return _computed(*key)
    # the analysis is named by the hashable part of its cache key, up to ``stored`` (the added
    # milestones are named by their version; ``inputs`` follow from the rest)
    return _with_progress(lambda report: _computed(*key, _progress=report), progress, key[:6])


class _Steps:
    """The latest step an analysis reported, handed from the thread computing it to the page's
    thread (which alone may draw)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: tuple[int, str, float] = (0, "", 0.0)

    def __call__(self, step: str, fraction: float) -> None:
        with self._lock:
            self._latest = (self._latest[0] + 1, step, fraction)

    def latest(self) -> tuple[int, str, float]:
        with self._lock:
            return self._latest


#: how often the page redraws the step of a running analysis (seconds)
PROGRESS_POLL = 0.25


#: the steps of the analyses running now, by name (see :func:`_with_progress`)
_RUNNING: dict[Any, tuple[_Steps, int]] = {}
_RUNNING_LOCK = threading.Lock()


def _with_progress(run: Callable[[Progress], Any], show: Progress, name: Any = None) -> Any:
    """``run(report)`` in a thread of its own while this (the page's) thread shows each new step
    ``report`` receives with ``show``; returns its result or raises its exception. The
    computation goes on when the page stops waiting (the visitor went to another page or changed
    a setting): its result is then cached for the next run, not thrown away.

    Calls with the same ``name`` while one runs share its steps: a second visitor asking for an
    analysis another's visit has started waits for that computation (Streamlit's cache computes
    a value once) and sees how far it got, instead of a box without steps."""
    with _RUNNING_LOCK:
        steps, waiting = _RUNNING.get(name, (_Steps(), 0))
        if name is not None:
            _RUNNING[name] = (steps, waiting + 1)
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["value"] = run(steps)
        except BaseException as exc:  # handed to the page's thread, which raises it
            outcome["error"] = exc
        finally:
            if name is not None:
                with _RUNNING_LOCK:
                    shared, left = _RUNNING[name]
                    if left > 1:
                        _RUNNING[name] = (shared, left - 1)
                    else:
                        del _RUNNING[name]

    worker = threading.Thread(target=work, name="proofboard-analysis", daemon=True)
    # the session's context: the caches and secrets the analysis reads belong to it
    add_script_run_ctx(worker, get_script_run_ctx())
    worker.start()
    while True:
        worker.join(PROGRESS_POLL)
        if not worker.is_alive():
            break
        version, step, fraction = steps.latest()
        if version:
            # drawn at every look, not only when the step changed: drawing is where Streamlit
            # stops a page's run that it has left behind (a visitor went to another page or
            # changed a setting, and the next run started at once), so such a run ends within a
            # look instead of waiting out a long step
            show(step, min(max(fraction, 0.0), 1.0))
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
