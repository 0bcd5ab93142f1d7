"""Browser tests: a real ``streamlit run`` on a free port, driven by Playwright in Debian's
chromium. Skipped where chromium is missing, unless PROOFBOARD_REQUIRE_BROWSER is set (CI)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        if os.environ.get("PROOFBOARD_REQUIRE_BROWSER"):
            pytest.fail("chromium is missing (apt-get install chromium chromium-driver)")
        pytest.skip("Debian chromium not installed")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_app(
    source: Path | str,
    *,
    port: int | None = None,
    env: dict[str, str] | None = None,
    args: Sequence[str] = (),
) -> Iterator[str]:
    """``streamlit run`` (through :mod:`dashboard.server`) on ``source`` on a free port (or
    ``port``); yields its address and stops exactly that process afterwards. ``env`` and
    ``args`` add to the server's environment and command line (e.g. ``--secrets.files``)."""
    port = port or _free_port()
    env = {
        **os.environ,
        "PROOFBOARD_DATA": str(source),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        **(env or {}),
    }
    process = subprocess.Popen(
        # as `proofboard dashboard` starts it: Streamlit's command line after the analyses'
        # imports (dashboard/server.py)
        [sys.executable, "-m", "dashboard.server", "run", str(REPO / "dashboard" / "app.py"),
         "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", *args],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"streamlit did not start:\n{output}")
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def app_url(demo_folder: Path) -> Iterator[str]:
    """The dashboard served on the demo community; stopped after the module's tests."""
    with serve_app(demo_folder) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield instance
        instance.close()
