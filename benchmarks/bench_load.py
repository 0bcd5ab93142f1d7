"""Concurrent sessions against one dashboard server: page-finish times, errors and server memory.

    .venv/bin/python benchmarks/bench_load.py                      # embedded demo store
    .venv/bin/python benchmarks/bench_load.py --data DIR --sessions 20 --rounds 1

One ``proofboard dashboard`` server; one headless Debian Chromium with ``--sessions`` browser
contexts (separate cookies, so separate Streamlit sessions) that all start at once and each
open every page ``--rounds`` times in the sidebar's order. A page has finished when its share
link ("Copy link to this view", drawn last) is visible. An error is a page that did not finish
within ``--page-timeout`` seconds, shows a Streamlit exception box, or raised a JavaScript
error. Prints p50 / p95 / max of the page-finish times, per page and over all, the error count
and the server's peak resident memory (the process and its children, VmHWM). The whole run is
bounded by ``--budget`` seconds: sessions still running then are stopped and counted as errors.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

PROOFBOARD = str(Path(sys.executable).with_name("proofboard"))
PAGES = ["", "review", "growth", "retention", "engagement", "impact", "data"]
FINISHED = "Copy link to this view"


@dataclass
class Result:
    finish: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tree_rss_kib(pid: int) -> int:
    """Current peak RSS (VmHWM) of ``pid`` and its direct children, in KiB."""
    total = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if status.parent.name == str(pid) or fields.get("PPid", "").strip() == str(pid):
            total += int(fields.get("VmHWM", "0 kB").split()[0])
    return total


async def _session(browser: object, base: str, n: int, rounds: int, timeout_s: float,
                   result: Result) -> None:  # fmt: skip
    context = await browser.new_context(viewport={"width": 1440, "height": 900})  # type: ignore[attr-defined]
    page = await context.new_page()
    js_errors: list[str] = []
    page.on("pageerror", lambda error: js_errors.append(str(error)))
    try:
        for _ in range(rounds):
            for path in PAGES:
                name = path or "overview"
                start = time.perf_counter()
                try:
                    await page.goto(f"{base}/{path}", wait_until="domcontentloaded")
                    await page.get_by_text(FINISHED).first.wait_for(
                        state="visible", timeout=timeout_s * 1000
                    )
                except Exception as error:  # every failure is a counted error
                    result.errors.append(f"session {n}, {name}: {type(error).__name__}")
                    continue
                result.finish.setdefault(name, []).append(time.perf_counter() - start)
                if await page.locator('[data-testid="stException"]').count():
                    result.errors.append(f"session {n}, {name}: exception shown")
                while js_errors:
                    result.errors.append(f"session {n}, {name}: JavaScript {js_errors.pop()}")
    finally:
        await context.close()


async def _run(base: str, sessions: int, rounds: int, timeout_s: float, budget_s: float,
               result: Result) -> None:  # fmt: skip
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        tasks = [
            asyncio.create_task(_session(browser, base, n, rounds, timeout_s, result))
            for n in range(sessions)
        ]
        done, pending = await asyncio.wait(tasks, timeout=budget_s)
        for task in pending:
            task.cancel()
        if pending:
            result.errors.append(f"{len(pending)} sessions still running after {budget_s:.0f} s")
        for task in done:
            if task.exception() is not None:
                result.errors.append(f"session failed: {task.exception()!r}")
        await browser.close()


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q * 100) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="the data source (default: the embedded demo store)")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=1, help="visits of every page per session")
    parser.add_argument("--page-timeout", type=float, default=120.0)
    parser.add_argument("--budget", type=float, default=300.0, help="seconds for the whole run")
    args = parser.parse_args()

    port = _free_port()
    command = [PROOFBOARD, "dashboard", "--port", str(port), "--host", "127.0.0.1"]
    if args.data:
        command += ["--data", args.data]
    server = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.wait(0.5):
            peak = max(peak, _tree_rss_kib(server.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    result = Result()
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{base}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise SystemExit("the dashboard server did not start within 120 s")
        sampler.start()
        start = time.perf_counter()
        asyncio.run(_run(base, args.sessions, args.rounds, args.page_timeout, args.budget, result))
        wall = time.perf_counter() - start
    finally:
        stop.set()
        peak = max(peak, _tree_rss_kib(server.pid))
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)

    every = [t for times in result.finish.values() for t in times]
    print(f"{args.sessions} concurrent sessions × {args.rounds} round(s) of {len(PAGES)} pages, "
          f"source: {args.data or 'embedded demo store'}; run took {wall:.0f} s\n")  # fmt: skip
    print("| page | visits finished | p50 | p95 | max |\n| --- | --- | --- | --- | --- |")
    for name in [p or "overview" for p in PAGES] + ["all pages"]:
        times = every if name == "all pages" else result.finish.get(name, [])
        if not times:
            print(f"| {name} | 0 | – | – | – |")
            continue
        print(f"| {name} | {len(times)} | {_quantile(times, 0.5):.1f} s | "
              f"{_quantile(times, 0.95):.1f} s | {max(times):.1f} s |")  # fmt: skip
    print(f"\nErrors: {len(result.errors)}")
    for error in result.errors[:20]:
        print(f"- {error}")
    print(f"Server peak RSS (with children): {peak / 1024 / 1024:.2f} GiB")


if __name__ == "__main__":
    main()
