"""Shared fixtures: small hand-made communities, a demo community, a throwaway PostgreSQL."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"

# The embedded database of the test session: a temporary file, never data/proofboard.db. Set
# before any test module imports analytics.embedded (which reads it once), and inherited by the
# CLI runs and dashboard servers the tests start.
_SESSION_STORE = Path(tempfile.mkdtemp(prefix="proofboard-tests-"))
os.environ["PROOFBOARD_EMBEDDED_DATABASE"] = str(_SESSION_STORE / "proofboard.db")


def data_fingerprint() -> dict[str, tuple[int, int]]:
    """Every file under the repository's data/ folder with its size and modification time
    (nanoseconds): any write, creation or removal changes it."""
    folder = REPO / "data"
    if not folder.is_dir():
        return {}
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session", autouse=True)
def _data_folder_untouched() -> Iterator[None]:
    """The session's embedded database is the temporary one, and at the session's end nothing
    under data/ was created, changed or removed (else the session fails, naming the files)."""
    from analytics import embedded

    embedded.DEFAULT_DATABASE = Path(os.environ["PROOFBOARD_EMBEDDED_DATABASE"])
    before = data_fingerprint()
    yield
    after = data_fingerprint()
    shutil.rmtree(_SESSION_STORE, ignore_errors=True)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, (
        f"The tests changed files under {REPO / 'data'}: {', '.join(changed)}. Tests must use "
        "a temporary store (tmp_path, or the session's PROOFBOARD_EMBEDDED_DATABASE)."
    )


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator: tests that use randomness are repeatable."""
    return np.random.default_rng(20261124)


def write_csvs(folder: Path, tables: dict[str, str]) -> Path:
    """Write ``{"members": "member_id,joined_at\\n..."}`` as CSV files into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in tables.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


MINIMAL = {
    "members": "member_id,joined_at,channel\na,2024-01-01,ads\nb,2024-01-02,organic\n",
    "activity": "member_id,occurred_at,kind\na,2024-01-03,post\nb,2024-01-04,comment\n",
}


@pytest.fixture
def minimal_folder(tmp_path: Path) -> Path:
    """The smallest valid source: two members, two activity rows."""
    return write_csvs(tmp_path / "minimal", MINIMAL)


T0 = datetime(2024, 1, 1, tzinfo=UTC)


def small_community_tables() -> dict[str, pl.DataFrame]:
    """A hand-made community whose key figures can be counted by hand.

    Members m00..m59 join one per day from 2024-01-01 (channel alternates ads/organic). Member
    i is active on days 0..(i mod 10)*20 after joining, every 5 days; members with i mod 7 == 0
    leave explicitly on their last active day. Two milestones.
    """
    members, activity = [], []
    for i in range(60):
        joined = T0 + timedelta(days=i)
        life = (i % 10) * 20
        members.append(
            {
                "member_id": f"m{i:02d}",
                "joined_at": joined,
                "left_at": joined + timedelta(days=life) if i % 7 == 0 else None,
                "channel": "ads" if i % 2 else "organic",
            }
        )
        for day in range(0, life + 1, 5):
            activity.append(
                {
                    "member_id": f"m{i:02d}",
                    "occurred_at": joined + timedelta(days=day, hours=12),
                    "kind": "post" if day % 10 == 0 else "comment",
                }
            )
    ts = pl.Datetime("us", "UTC")
    return {
        "members": pl.DataFrame(
            members,
            schema={"member_id": pl.String, "joined_at": ts, "left_at": ts, "channel": pl.String},
        ),
        "activity": pl.DataFrame(
            activity, schema={"member_id": pl.String, "occurred_at": ts, "kind": pl.String}
        ),
        "milestones": pl.DataFrame(
            {
                "announced_at": [T0 + timedelta(days=20), T0 + timedelta(days=45)],
                "title": ["20 members!", "Our first event"],
            },
            schema={"announced_at": ts, "title": pl.String},
        ),
    }


@pytest.fixture
def small_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "small"
    folder.mkdir()
    for name, frame in small_community_tables().items():
        frame.write_parquet(folder / f"{name}.parquet")
    return folder


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo community (2,000 members) written once per test session."""
    from analytics.embedded import write_demo

    folder = tmp_path_factory.mktemp("demo")
    write_demo(folder, members=2_000, seed=11)
    return folder


# -- PostgreSQL ---------------------------------------------------------------------------------


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _postgres_cluster(extra_options: str = "") -> Iterator[str]:
    """Start a throwaway PostgreSQL cluster on loopback; yields the URL of its ``postgres``
    database and removes the cluster afterwards.

    Skipped where the server binaries are missing, unless PROOFBOARD_REQUIRE_POSTGRES is set
    (CI), where that is a failure.
    """
    pg_bin = _pg_bin()
    if pg_bin is None:
        if os.environ.get("PROOFBOARD_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL server binaries are missing (apt-get install postgresql)")
        pytest.skip("PostgreSQL server binaries not installed")
    base = Path(tempfile.mkdtemp(prefix="proofboard-pg-"))
    as_root = os.geteuid() == 0
    run_as = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        shutil.chown(base, user="postgres")
    port = _free_port()
    data, log = base / "data", base / "log"
    subprocess.run(
        [*run_as, str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
         "-E", "UTF8", "--no-locale", "--no-sync"],
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off {extra_options}"
    subprocess.run(
        [*run_as, str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-o", options,
         "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*run_as, str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            check=False, capture_output=True,
        )  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on loopback; yields the URL of its ``postgres`` database."""
    with _postgres_cluster() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_stats_url() -> Iterator[str]:
    """A throwaway PostgreSQL cluster that counts the rows every statement returns
    (``pg_stat_statements``); yields the URL of its ``postgres`` database. See
    :func:`tests.pg_stats.rows_returned`."""
    import sqlalchemy as sa

    with _postgres_cluster("-c shared_preload_libraries=pg_stat_statements") as url:
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
        engine.dispose()
        yield url


@contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the throwaway server, dropped afterwards; yields its URL."""
    import sqlalchemy as sa

    name = f"t_{os.getpid()}_{_free_port()}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database on the throwaway server for one test."""
    with throwaway_database(postgres_server) as url:
        yield url


# -- Apache Spark --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    """The process's local Spark session (``local[2]``, about 25 s to start), stopped at the end.

    Skipped where pyspark or a Java runtime is missing, unless PROOFBOARD_REQUIRE_SPARK is set
    (CI), where that is a failure.
    """
    required = bool(os.environ.get("PROOFBOARD_REQUIRE_SPARK"))
    try:
        import pyspark  # noqa: F401
    except ModuleNotFoundError:
        if required:
            pytest.fail("pyspark is missing (uv sync --extra spark)")
        pytest.skip("pyspark not installed")
    java_home = os.environ.get("JAVA_HOME")
    if not (shutil.which("java") or (java_home and os.path.isfile(f"{java_home}/bin/java"))):
        if required:
            pytest.fail("no Java runtime for Spark (apt-get install openjdk-17-jre-headless)")
        pytest.skip("no Java runtime for Spark")
    from analytics.io.backends.spark import spark_session, stop_session

    session = spark_session("local[2]")
    try:
        yield session
    finally:
        stop_session()
