"""The embedded default store: a SQLite database under ``data/`` filled with the demo community.

Also the one way demo data is written anywhere (``proofboard demo``), so the CLI, the dashboard
and the tests create it identically.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from analytics.demo import generate_demo, write_demo_stream
from analytics.io import is_url, truth_path_for, write_json, write_tables
from analytics.io.write import FileFormat, database_tables

Progress = Callable[[str, float], None]

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT / "data"
#: an environment variable that moves the embedded database elsewhere (the test session points
#: it at a temporary file, so running the tests never writes into ``data/``; the CLI and the
#: dashboard servers the tests start inherit it)
ENV_DATABASE = "PROOFBOARD_EMBEDDED_DATABASE"
DEFAULT_DATABASE = Path(os.environ.get(ENV_DATABASE) or DATA_DIR / "proofboard.db")
DEFAULT_DEMO_MEMBERS = 10_000
DEFAULT_DEMO_SEED = 7


def default_database() -> Path:
    """Where the embedded database lives (looked up at call time, so tests can move it)."""
    return DEFAULT_DATABASE


def default_url(path: Path | None = None) -> str:
    """SQLAlchemy URL of the embedded database (or of ``path``)."""
    return f"sqlite:///{path or default_database()}"


def store_url_for(source: str | Path) -> str:
    """Where the dashboard keeps what it adds (milestones, subscriptions, the delivery log) for
    a data source: the source database itself, or a ``proofboard.db`` SQLite file inside a data
    folder."""
    source = str(source)
    if is_url(source):
        return source
    return default_url(Path(source) / "proofboard.db")


def write_demo(
    target: str | Path,
    *,
    members: int = DEFAULT_DEMO_MEMBERS,
    seed: int = DEFAULT_DEMO_SEED,
    file_format: FileFormat = "parquet",
    activity_scale: float = 1.0,
    progress: Progress | None = None,
) -> tuple[dict[str, int], Path]:
    """Generate the demo community and write it to a folder or database, with ``truth.json``
    beside it. Returns the rows written per table and where the truth was written.

    A Parquet folder is written block by block (:func:`analytics.demo.write_demo_stream`), so
    memory does not grow with the number of members; CSV folders and databases get the tables
    built in memory. The tables are the same either way.
    """
    truth = truth_path_for(target)
    if not is_url(str(target)) and file_format == "parquet":
        written = write_demo_stream(
            target,
            members=members,
            seed=seed,
            activity_scale=activity_scale,
            progress=progress,
        )
        return dict(written["summary"]["rows"]), truth

    def generating(step: str, fraction: float) -> None:
        if progress:
            progress(step, 0.6 * fraction)

    def writing(step: str, fraction: float) -> None:
        if progress:
            progress(step, 0.6 + 0.4 * fraction)

    demo = generate_demo(
        members=members, seed=seed, activity_scale=activity_scale, progress=generating
    )
    write_tables(demo.tables, target, file_format=file_format, progress=writing)
    write_json(demo.truth, truth)
    return {name: frame.height for name, frame in demo.tables.items()}, truth


def build_default_database(
    path: Path | None = None,
    *,
    members: int = DEFAULT_DEMO_MEMBERS,
    seed: int = DEFAULT_DEMO_SEED,
    progress: Progress | None = None,
) -> None:
    """(Re)build the embedded database with the demo community.

    It is built in a temporary file and moved into place only when complete, so an interrupted
    build never leaves a half-written database behind and an existing one stays until replaced.
    """
    path = path or default_database()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        write_demo(default_url(tmp), members=members, seed=seed, progress=progress)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def needs_demo(path: Path | None = None) -> bool:
    """Whether the embedded database lacks a community: the file is missing, or it holds only
    the app's own tables (an audit log, subscriptions, added milestones written before the
    first page asked for the data)."""
    path = path or default_database()
    return not path.is_file() or "members" not in database_tables(default_url(path))


def ensure_default_database(path: Path | None = None, *, progress: Progress | None = None) -> bool:
    """Create the embedded database with the demo community when it has none; returns whether
    it was created. A file that holds only the app's own tables keeps them: the demo tables are
    written beside them in one transaction."""
    path = path or default_database()
    if not needs_demo(path):
        return False
    if path.is_file():
        write_demo(default_url(path), progress=progress)
    else:
        build_default_database(path, progress=progress)
    return True
