"""Server-side time of the Engagement page and each of its tabs, in-process (Streamlit AppTest).

Usage: .venv/bin/python benchmarks/bench_tabs.py DATA_FOLDER

One session opens the Overview (which loads the data), then the Engagement page and its tabs in
turn; a second session does the same with the caches warm. Prints one line per step and the
load average, so that figures from a busy machine say so.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")


def _timed(label: str, run: Callable[[], AppTest]) -> None:
    start = time.perf_counter()
    at = run()
    elapsed = time.perf_counter() - start
    if at.exception:
        raise SystemExit(f"{label}: {[e.value for e in at.exception]}")
    print(f"| {label} | {elapsed:.1f} s |", flush=True)


def main() -> None:
    os.environ["PROOFBOARD_DATA"] = sys.argv[1]
    print(f"load average before: {os.getloadavg()}")
    print("| step | time |\n| --- | --- |")
    for session in ("first session", "second session (warm)"):
        at = AppTest.from_file(APP, default_timeout=1800)
        _timed(f"{session}: Overview", at.run)
        _timed(f"{session}: Engagement (Activity)", at.switch_page("app_pages/engagement.py").run)
        for tab in ("Leaderboards", "Churn risk", "Activity"):
            at.session_state["tab"] = tab
            _timed(f"{session}: Engagement {tab} tab", at.run)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
