"""Scale: Proofboard's analyses as whole processes at 1 M (and 10 M) members, side by side.

    .venv/bin/python benchmarks/bench_scale.py cohort --data DIR        # vs DuckDB SQL
    .venv/bin/python benchmarks/bench_scale.py cli --data DIR           # every CLI analysis
    .venv/bin/python benchmarks/bench_scale.py engines --data DIR       # --json equal per engine
    .venv/bin/python benchmarks/bench_scale.py postgres --data DIR      # pushdown, own RSS
    .venv/bin/python benchmarks/bench_scale.py dashboard --data DIR     # pages in Chromium

DIR is a Parquet folder written by ``proofboard demo`` (the figures in docs/benchmarks.md use
``--members 1000000 --activity-scale 2.158``: 48.6 M activity rows). Each measurement is a
separate process run under GNU time: wall seconds and peak resident memory of that process.
The DuckDB reference computes the same cohort matrix (same cells, checked) as one SQL query in a
process of its own. Speed is never asserted here: the script prints figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
PROOFBOARD = str(Path(PYTHON).with_name("proofboard"))

DUCKDB_COHORTS = """
import json, sys, duckdb
folder, period = sys.argv[1], sys.argv[2]
step = (30 if period == "month" else 7) * 86_400_000_000
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute("SET TimeZone = 'UTC'")
rows = con.execute(f'''
WITH m AS (SELECT member_id, joined_at, CAST(date_trunc('{period}', joined_at) AS DATE) AS cohort
           FROM read_parquet('{folder}/members.parquet')),
lim AS (SELECT max(t) AS as_of FROM (SELECT max(joined_at) AS t FROM m UNION ALL
        SELECT max(occurred_at) FROM read_parquet('{folder}/activity.parquet'))),
sizes AS (SELECT cohort, count(*) AS size,
          (epoch_us((SELECT as_of FROM lim)) - epoch_us(max(joined_at))) // {step} AS complete
          FROM m GROUP BY cohort),
cells AS (SELECT cohort, k, count(*) AS retained FROM (
          SELECT DISTINCT a.member_id, m.cohort,
                 (epoch_us(a.occurred_at) - epoch_us(m.joined_at)) // {step} AS k
          FROM read_parquet('{folder}/activity.parquet') a JOIN m USING (member_id)
          WHERE a.occurred_at >= m.joined_at) GROUP BY cohort, k)
SELECT s.cohort, s.size, c.k, c.retained FROM sizes s JOIN cells c USING (cohort)
WHERE c.k < s.complete ORDER BY s.cohort, c.k''').fetchall()
print(json.dumps([[str(r[0]), r[1], r[2], r[3]] for r in rows]))
"""


def measure(command: list[str], *, env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run ``command`` as a process of its own: wall seconds, peak RSS (GiB) and stdout."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as stats:
        start = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", stats.name, *command],
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            check=False,
        )
        wall = time.perf_counter() - start
        peak_kib = float(stats.read().strip().splitlines()[-1])
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return wall, peak_kib / 1024 / 1024, done.stdout


def row(label: str, wall: float, peak: float, note: str = "") -> None:
    print(f"| {label} | {wall:.1f} s | {peak:.2f} GiB | {note} |", flush=True)


def cohort(folder: Path, repeats: int) -> None:
    print("| cohort matrix, whole process | wall | peak RSS | |\n| --- | --- | --- | --- |")
    for period in ("month", "week"):
        ours, duck = [], []
        for _ in range(repeats):
            cmd = [PROOFBOARD, "retention", "--data", str(folder), "--period", period, "--json"]
            ours.append(measure(cmd))
            duck.append(measure([PYTHON, "-c", DUCKDB_COHORTS, str(folder), period]))
        best_ours = min(ours, key=lambda r: r[0])
        best_duck = min(duck, key=lambda r: r[0])
        matrix = json.loads(best_ours[2])
        cells = {
            (c["cohort"], k): round(share, 12)
            for c in matrix["cohorts"]
            for k, share in enumerate(c["retention"])
            if share is not None
        }
        reference = {
            (c, k): round(retained / size, 12) for c, size, k, retained in json.loads(best_duck[2])
        }
        same = "identical cells" if cells == reference else "CELLS DIFFER"
        ratio = best_ours[0] / best_duck[0]
        row(f"Proofboard `retention --period {period}`", best_ours[0], best_ours[1],
            f"{ratio:.2f}× DuckDB; {same} ({len(cells)})")  # fmt: skip
        row(f"DuckDB SQL, {period}", best_duck[0], best_duck[1], f"best of {repeats}")


def cli(folder: Path, out: Path, engine: str | None) -> None:
    extra = ["--engine", engine] if engine else []
    commands = {
        "retention --period month": ["retention", "--period", "month", "--json"],
        "effects": ["effects", "--json"],
        "milestones": ["milestones", "--json"],
        "risk": ["risk", "--json"],
        "report --out review.html": ["report", "--out", str(out / "review.html")],
    }
    print(f"| CLI at {folder.name} ({engine or 'default engine'}) | wall | peak RSS | |")
    print("| --- | --- | --- | --- |")
    for label, args in commands.items():
        wall, peak, _ = measure([PROOFBOARD, args[0], "--data", str(folder), *extra, *args[1:]])
        row(f"`{label}`", wall, peak)


def engines(folder: Path, names: list[str]) -> None:
    """Every --json output per engine, compared with the default (polars streaming)."""
    commands = {
        "retention": ["retention", "--period", "week", "--json"],
        "effects": ["effects", "--json"],
        "milestones": ["milestones", "--json"],
        "risk": ["risk", "--json"],
    }
    print(
        "| output | engine | wall | peak RSS | equal to polars |\n| --- | --- | --- | --- | --- |"
    )
    for label, args in commands.items():
        base = [PROOFBOARD, args[0], "--data", str(folder), *args[1:]]
        _, _, expected = measure(base)
        for engine in names:
            wall, peak, found = measure([*base, "--engine", engine])
            same = _close(json.loads(found), json.loads(expected))
            print(f"| {label} | {engine} | {wall:.1f} s | {peak:.2f} GiB | {same} |", flush=True)


def _close(a: object, b: object, tol: float = 1e-9) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], tol) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y, tol) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= tol * max(1.0, abs(a), abs(b))
    return a == b


def postgres(folder: Path, port: int) -> None:
    """The folder copied into a throwaway PostgreSQL (with pg_stat_statements), then the cohort
    matrix and the Engagement figures computed there: Proofboard's own peak RSS, and the most
    rows any statement sent back."""
    import shutil

    import polars as pl
    import psycopg

    pg_bin = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))[-1].parent
    base = Path(tempfile.mkdtemp(prefix="proofboard-bench-pg-"))
    shutil.chown(base, user="postgres")
    run_as = ["runuser", "-u", "postgres", "--"]
    data = base / "data"
    subprocess.run([*run_as, str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "-A",
                    "trust", "-E", "UTF8", "--no-locale", "--no-sync"], check=True,
                   capture_output=True)  # fmt: skip
    options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off "
               "-c shared_preload_libraries=pg_stat_statements -c shared_buffers=1GB "
               "-c work_mem=256MB -c max_parallel_workers_per_gather=2")  # fmt: skip
    subprocess.run([*run_as, str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(base / "log"),
                    "-w", "-o", options, "start"], check=True, capture_output=True)  # fmt: skip
    dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    try:
        start = time.perf_counter()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pg_stat_statements")
            for table in ("members", "activity", "proof_items", "exposures", "milestones"):
                frame = pl.scan_parquet(folder / f"{table}.parquet")
                schema = frame.collect_schema()
                columns = ", ".join(
                    f'"{n}" {"timestamptz" if isinstance(t, pl.Datetime) else "text"}'
                    for n, t in schema.items()
                )
                conn.execute(f'CREATE TABLE "{table}" ({columns})')
                names = ", ".join(f'"{n}"' for n in schema)
                with conn.cursor().copy(f'COPY "{table}" ({names}) FROM STDIN (FORMAT csv)') as cp:
                    for batch in frame.collect_batches(chunk_size=500_000):
                        cp.write(batch.write_csv(include_header=False))
            conn.execute("ANALYZE")
        print(f"Copied {folder.name} into PostgreSQL in {time.perf_counter() - start:.0f} s\n")
        print("| in PostgreSQL | wall | Proofboard peak RSS | most rows one statement returned |")
        print("| --- | --- | --- | --- |")
        with psycopg.connect(dsn, autocommit=True) as conn:
            activity_rows = conn.execute("SELECT count(*) FROM activity").fetchone()[0]  # type: ignore[index]
        for label, command in {
            "`retention --period month`": [PROOFBOARD, "retention", "--data", url, "--period",
                                           "month", "--json"],
            "Engagement figures (active members, activity by kind, lifecycle, 90 days)": [
                PYTHON, "-c", ENGAGEMENT, url],
        }.items():  # fmt: skip
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("SELECT pg_stat_statements_reset()")
            wall, peak, _ = measure(command)
            with psycopg.connect(dsn, autocommit=True) as conn:
                most = conn.execute(
                    "SELECT coalesce(max(rows), 0) FROM pg_stat_statements "
                    "WHERE query !~* 'pg_stat_statements|pg_catalog|information_schema'"
                ).fetchone()[0]  # type: ignore[index]
            print(f"| {label} | {wall:.1f} s | {peak:.2f} GiB | {most:,} of {activity_rows:,} "
                  "activity rows |", flush=True)  # fmt: skip
    finally:
        subprocess.run([*run_as, str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                        "stop"], check=False, capture_output=True)  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


ENGAGEMENT = """
import sys
from datetime import timedelta
from analytics.community import load_community
from analytics.engagement import active_members, activity_by_kind
from analytics.io import open_source
from analytics.lifecycle import lifecycle
c = load_community(open_source(sys.argv[1]))
last = c.as_of.date()
first = last - timedelta(days=89)
active_members(c, first=first, last=last)
activity_by_kind(c, first=first, last=last)
lifecycle(c, first_week=first)
"""

PAGES = ("", "review", "growth", "retention", "engagement", "impact", "data")


def dashboard(folder: Path, port: int, pages: tuple[str, ...] = PAGES) -> None:
    """Each page's first visit and a warm revisit in headless Chromium, from navigation until
    the page has drawn everything (the share link is drawn last). ``pages`` are paths after the
    server's address, with a query if wanted (``engagement?tab=Churn+risk`` opens that tab)."""
    import importlib.util
    import signal
    import urllib.request

    from playwright.sync_api import sync_playwright

    # started in the folder of the code this run imports: before a1c7d55 the server ran
    # ``python -m dashboard.server`` without -P, importing its working folder's packages before
    # PYTHONPATH, so PYTHONPATH=<an older checkout> measured the current folder's analyses
    found = importlib.util.find_spec("dashboard")
    assert found is not None
    assert found.origin is not None
    code = Path(found.origin).resolve().parents[1]
    server = subprocess.Popen(
        [PROOFBOARD, "dashboard", "--data", str(folder), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        cwd=code,
    )
    print(f"Dashboard code from {code}")
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{base}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        print(f"Server ready {time.perf_counter() - started:.1f} s after its start\n")
        print(
            "| page | first visit | warm revisit | reload (a new session) |\n"
            "| --- | --- | --- | --- |"
        )
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--headless", "--no-sandbox", "--disable-gpu",
                      "--disable-background-networking", "--disable-component-update",
                      "--disable-sync", "--no-first-run"],
            )  # fmt: skip
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            first: list[float] = []  # by position: a page may be listed twice
            for path in pages:  # a new session per page: navigation from the address bar
                start = time.perf_counter()
                page.goto(f"{base}/{path}", wait_until="domcontentloaded")
                _drawn(page)
                first.append(time.perf_counter() - start)
            for path, first_visit in zip(pages, first, strict=True):
                # a warm revisit: from another page, back to this one as a user does (its
                # link in the sidebar, same session; the session keeps a page's open tab)
                page_path, _, tab = path.partition("?tab=")
                away = (pages[0] if path != pages[0] else pages[-1]).partition("?")[0]
                _navigate(page, base, away)
                if tab:  # the tab was opened in this session: its page opens on it again
                    _navigate(page, base, path)
                    _navigate(page, base, away)
                start = time.perf_counter()
                _navigate(page, base, page_path)
                warm = time.perf_counter() - start
                if tab:
                    selected = page.locator('[role="tab"][aria-selected="true"]').first
                    assert selected.inner_text() == tab.replace("+", " "), "the tab was not kept"
                # the same page in a new session: the browser loads the app anew
                start = time.perf_counter()
                page.goto(f"{base}/{path}", wait_until="domcontentloaded")
                _drawn(page)
                reload = time.perf_counter() - start
                name = path or "overview"
                print(
                    f"| {name} | {first_visit:.1f} s | {warm:.1f} s | {reload:.1f} s |", flush=True
                )
            tabs = [path for path in pages if "?tab=" in path]
            if tabs:
                # a tab opened again as a user does: its page open on another tab (same
                # session), then a click on the tab; the tab's results are cached by then
                print("\n| tab, clicked in the session | warm |\n| --- | --- |")
            for path in tabs:
                page_path, tab = path.split("?tab=")
                _navigate(page, base, page_path)
                target = page.get_by_role("tab", name=tab.replace("+", " ")).first
                if target.get_attribute("aria-selected") == "true":
                    # the session kept the tab open: another tab first, or the click would
                    # start no rerun and the figure would be the wait's 3 s timeout
                    _click_tab(page, page.locator('[role="tab"][aria-selected="false"]').first)
                start = time.perf_counter()
                _click_tab(page, target)
                print(f"| {path} | {time.perf_counter() - start:.1f} s |", flush=True)
            browser.close()
        rss = _rss_gib(server.pid)
        print(f"\nServer peak RSS: {rss:.2f} GiB")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _drawn(page: Any) -> None:
    """Wait until the page has drawn everything: its share link (drawn last) is visible and
    the script has finished."""
    page.get_by_text("Copy link to this view").first.wait_for(state="visible", timeout=900_000)
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=900_000)


def _watch_reruns(page: Any) -> None:
    """Note in the page (``window.__proofboardRan``) when the script next starts running."""
    page.evaluate(
        """() => {
            window.__proofboardRan = false;
            const app = document.querySelector('[data-test-script-state]');
            new MutationObserver(() => {
                if (app.getAttribute('data-test-script-state') === 'running') {
                    window.__proofboardRan = true;
                }
            }).observe(app, {attributes: true});
        }"""
    )


def _click_tab(page: Any, tab: Any) -> None:
    """Click ``tab`` and wait until the rerun the click starts, however short, has drawn the
    page (a poll for the running state can miss a short rerun and then waits its whole 3 s)."""
    _watch_reruns(page)
    tab.click()
    with contextlib.suppress(Exception):
        page.wait_for_function("() => window.__proofboardRan", timeout=3_000)
    _drawn(page)


def _navigate(page: Any, base: str, path: str) -> None:
    """Open ``path`` in the same session through its sidebar link (reload when it has a query
    or no link), and wait until it is drawn."""
    link = page.locator(f'[data-testid="stSidebarNavLink"][href="{base}/{path}"]')
    if "?" in path or link.count() == 0:
        page.goto(f"{base}/{path}", wait_until="domcontentloaded")
    else:
        link.first.click()
        # the rerun starts a moment after the click (or has already finished: no wait then)
        with contextlib.suppress(Exception):
            page.wait_for_selector('[data-test-script-state="running"]', timeout=3_000)
    _drawn(page)


def _rss_gib(pid: int) -> float:
    """Peak RSS of a process and its children (VmHWM), in GiB."""
    total = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if int(fields.get("PPid", "0").strip() or 0) == pid or status.parent.name == str(pid):
            total += int(fields.get("VmHWM", "0 kB").split()[0])
    return total / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("section", choices=["cohort", "cli", "engines", "dashboard", "postgres"])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--engine", help="for cli: the engine (default: the source's)")
    parser.add_argument("--engines", default="duckdb", help="for engines: comma-separated")
    parser.add_argument(
        "--pages",
        help="for dashboard: comma-separated paths in visiting order ('' is the Overview; "
        "'engagement?tab=Churn+risk' opens a tab); default: every page",
    )
    args = parser.parse_args()
    if args.section == "cohort":
        cohort(args.data, args.repeats)
    elif args.section == "cli":
        with tempfile.TemporaryDirectory() as out:
            cli(args.data, Path(out), args.engine)
    elif args.section == "dashboard":
        pages = PAGES if args.pages is None else tuple(args.pages.split(","))
        dashboard(args.data, args.port, pages)
    elif args.section == "postgres":
        postgres(args.data, args.port)
    else:
        engines(args.data, args.engines.split(","))


if __name__ == "__main__":
    main()
