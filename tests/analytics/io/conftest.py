"""Fixtures for the io tests: one local Apache Spark session for the whole test session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest


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
