"""What the server does after a visitor leaves the Weekly review in the middle of preparing it.

    .venv/bin/python benchmarks/bench_leave.py --data DIR [--leave-after 1] [--revisit-after 45]

Starts the dashboard's Streamlit server on ``--data`` with a thread inside the server process
that records, every ``--every`` seconds, which threads run Proofboard code and where (the
innermost frames under dashboard/ and analytics/). One headless Debian Chromium opens the
Weekly review, closes the page ``--leave-after`` seconds after "Preparing the review" shows,
and opens it again ``--revisit-after`` seconds later in a new context (a new session). Prints
the timeline relative to the leave: until when a script thread ran and what it was doing, and
whether the revisit computed the social-proof effects again or took them from the cache.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboard" / "app.py"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip

#: Run inside the server process: sample the stacks, then hand over to Streamlit's CLI.
WATCHER = """
import json, os, sys, threading, time, traceback
log, every, root = sys.argv[1], float(sys.argv[2]), sys.argv[3]
ours = (os.path.join(root, "dashboard") + os.sep, os.path.join(root, "analytics") + os.sep)

def watch():
    with open(log, "w", buffering=1) as out:
        while True:
            names = {t.ident: t.name for t in threading.enumerate()}
            busy = {}
            for ident, frame in sys._current_frames().items():
                stack = [f for f in traceback.extract_stack(frame) if f.filename.startswith(ours)]
                if stack:
                    busy[f"{names.get(ident, ident)}#{ident}"] = [
                        f"{os.path.basename(f.filename)}:{f.lineno}:{f.name}" for f in stack
                    ]
            out.write(json.dumps({"t": time.time(), "busy": busy}) + "\\n")
            time.sleep(every)

threading.Thread(target=watch, daemon=True, name="watcher").start()
from streamlit.web import cli
sys.argv = ["streamlit", "run", *sys.argv[4:]]
sys.exit(cli.main())
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _visits(base: str, leave_after: float, revisit_after: float) -> dict[str, float]:
    from playwright.async_api import async_playwright

    marks: dict[str, float] = {}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = await browser.new_context()
        page = await context.new_page()
        marks["visit"] = time.time()
        await page.goto(f"{base}/review")
        await page.get_by_text("Preparing the review").first.wait_for(timeout=120_000)
        marks["preparing"] = time.time()
        await asyncio.sleep(leave_after)
        await context.close()
        marks["left"] = time.time()
        await asyncio.sleep(revisit_after)
        context = await browser.new_context()
        page = await context.new_page()
        marks["revisit"] = time.time()
        await page.goto(f"{base}/review")
        await page.get_by_text("Copy link to this view").first.wait_for(timeout=600_000)
        marks["revisit_finished"] = time.time()
        await context.close()
        await browser.close()
    return marks


def _script_threads(sample: dict[str, object]) -> dict[str, list[str]]:
    busy = sample["busy"]
    assert isinstance(busy, dict)
    return {name: frames for name, frames in busy.items() if "ScriptRunner" in name}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the data source (a folder or URL)")
    parser.add_argument("--leave-after", type=float, default=1.0, metavar="S")
    parser.add_argument("--revisit-after", type=float, default=45.0, metavar="S")
    parser.add_argument("--every", type=float, default=0.5, metavar="S", help="sampling period")
    args = parser.parse_args()

    port = _free_port()
    log = Path(tempfile.mkdtemp(prefix="bench-leave-")) / "stacks.jsonl"
    env = {
        **os.environ,
        "PROOFBOARD_DATA": args.data,
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    command = [
        sys.executable, "-c", WATCHER, str(log), str(args.every), str(ROOT), str(APP),
        "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
    ]  # fmt: skip
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{base}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise SystemExit("the dashboard server did not start within 120 s")
        marks = asyncio.run(_visits(base, args.leave_after, args.revisit_after))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)

    samples = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    left, revisit = marks["left"], marks["revisit"]
    print(f"source {args.data}; left {marks['left'] - marks['preparing']:.1f} s after "
          f"'Preparing the review' showed; revisit {args.revisit_after:.0f} s later\n")  # fmt: skip
    print("time after leaving | script thread: innermost Proofboard frames")
    last_alive = None
    previous = None
    for sample in samples:
        t = sample["t"] - left
        if not -3 <= t <= revisit - left:
            continue
        threads = _script_threads(sample)
        if t > 0 and threads:
            last_alive = t
        shown = "; ".join(" > ".join(f[-3:]) for f in threads.values()) or "(none)"
        if shown != previous:
            print(f"{t:+7.1f} s | {shown}")
            previous = shown
    again = any(
        "estimate_effects" in " ".join(" ".join(f) for f in _script_threads(s).values())
        for s in samples
        if s["t"] >= revisit
    )
    print()
    print(
        "A script thread ran until "
        + (f"{last_alive:+.1f} s after leaving" if last_alive is not None else "the leave")
        + "."
    )
    print(f"The revisit {'estimated the effects AGAIN' if again else 'reused the cached effects'}"
          f" and finished in {marks['revisit_finished'] - revisit:.1f} s.")  # fmt: skip


if __name__ == "__main__":
    main()
