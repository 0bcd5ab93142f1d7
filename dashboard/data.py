"""Where the dashboard gets its data, and the caching around it.

The source is, in order: ``$PROOFBOARD_DATA`` (set by ``proofboard dashboard --data``), the
``data`` key of the ``[proofboard]`` section of ``.streamlit/secrets.toml``, or the embedded
SQLite database under ``data/`` (created with the demo community when missing).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
import streamlit as st

from analytics.community import Community, load_community
from analytics.embedded import default_database, default_url, ensure_default_database
from analytics.errors import DataContractError, ProofboardError
from analytics.io import create_engine, mask_url, open_source, sqlite_path
from analytics.io.milestone_store import FRAME_SCHEMA, MilestoneStore
from analytics.quality import QualityReport

ENV_DATA = "PROOFBOARD_DATA"


@dataclass(frozen=True)
class Loaded:
    """The outcome of loading a source: a community, or the reason there is none."""

    source_label: str
    community: Community | None
    report: QualityReport | None
    error: str | None


def configured_source() -> str:
    """The data source this dashboard runs on (a folder path or a SQLAlchemy URL)."""
    env = os.environ.get(ENV_DATA)
    if env:
        return env
    try:
        secret = st.secrets.get("proofboard", {}).get("data")
    except (FileNotFoundError, KeyError, AttributeError):
        secret = None
    except Exception:
        secret = None
    return str(secret) if secret else default_url()


def source_label(source: str) -> str:
    return mask_url(source) if "://" in source else source


def _ensure_default(source: str) -> None:
    if source != default_url() or default_database().is_file():
        return
    with st.status("First run: creating the demo community…", expanded=True) as status:
        bar = st.progress(0.0, text="Starting")

        def progress(step: str, fraction: float) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=step)

        ensure_default_database(progress=progress)
        status.update(label="Demo community created", state="complete", expanded=False)


@st.cache_resource(show_spinner="Loading and checking the community data…", max_entries=4)
def _load(source: str, as_of: datetime | None) -> Loaded:
    label = source_label(source)
    try:
        opened = open_source(source)
    except ProofboardError as exc:
        return Loaded(label, None, None, str(exc))
    try:
        community = load_community(opened, as_of=as_of)
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
    return _load(source, None if as_of_day is None else end_of_day(as_of_day))


Segments = tuple[tuple[str, tuple[str, ...]], ...]


def _as_of(as_of_day: date | None) -> datetime | None:
    return None if as_of_day is None else end_of_day(as_of_day)


def store_url(source: str | None = None) -> str:
    """Where milestones added in the dashboard are kept: the source database itself, or a
    ``proofboard.db`` SQLite file inside a data folder."""
    source = source or configured_source()
    if "://" in source:
        return source
    return default_url(Path(source) / "proofboard.db")


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
    community = _load(source, as_of).community
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
) -> Any:
    community = _segment(source, as_of, segments, stored, _extra)
    assert community is not None, "compute() is only called once the data has loaded"
    return _function(community, **dict(params), **(_inputs or {}))


def segmented(as_of_day: date | None, segments: dict[str, tuple[str, ...]]) -> Community | None:
    """The loaded community, with the milestones added in the dashboard, restricted to the chosen
    segments (cached per view)."""
    source = configured_source()
    extra, stored = _stored_milestones(source)
    return _segment(source, _as_of(as_of_day), tuple(sorted(segments.items())), stored, extra)


def compute(
    name: str,
    function: Callable[..., Any],
    as_of_day: date | None,
    segments: dict[str, tuple[str, ...]],
    *,
    inputs: dict[str, Any] | None = None,
    **params: Any,
) -> Any:
    """``function(community, **params)`` on the chosen view, cached: the same view and
    parameters are computed once per data source, not on every rerun. ``name`` identifies the
    analysis in the cache; ``params`` must be hashable.

    ``inputs`` are passed on too but are not part of the cache key: results this analysis
    builds on that are themselves fixed by the view and ``params`` (computed beforehand with
    ``compute``, so that a page can show which step is running). No Streamlit element may be
    drawn from inside ``function``: a cached call would replay it out of place."""
    source = configured_source()
    extra, stored = _stored_milestones(source)
    return _computed(
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
