"""``data.compute(progress=...)``: a long analysis runs beside the page, which shows each step
it reports; a cached result returns without any; its errors reach the page."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

#: what each analysis below was called with, across the app's runs (same process)
CALLS: list[str] = []


def _script(fail: bool) -> None:
    import threading
    import time

    import streamlit as st

    from dashboard import data
    from tests.dashboard.test_data_progress import CALLS

    def slow(community, *, n, progress):  # type: ignore[no-untyped-def]
        CALLS.append(f"{community.members.height} members")
        for k in range(3):
            progress(f"step {k}", (k + 1) / 3)
            time.sleep(0.6)
        if fail:
            raise ValueError("this analysis cannot answer: too few members")
        return n * 2

    shown = st.session_state.setdefault("shown", [])
    # the threads the steps were shown on: only the page's own may draw
    threads = st.session_state.setdefault("threads", set())
    try:
        value = data.compute(
            "progress_test_fail" if fail else "progress_test", slow, None, {}, n=21,
            progress=lambda step, done: (
                shown.append((step, done)), threads.add(threading.current_thread().name)
            ),
        )  # fmt: skip
    except ValueError as exc:
        st.error(str(exc))
    else:
        st.markdown(f"value {value}")


@pytest.fixture
def on_small(small_folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROOFBOARD_DATA", str(small_folder))
    CALLS.clear()
    return small_folder


def test_each_step_is_shown_on_the_page_thread_and_a_cached_result_shows_none(
    on_small: Path,
) -> None:
    at = AppTest.from_function(_script, args=(False,), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [m.value for m in at.markdown] == ["value 42"]
    assert len(CALLS) == 1
    assert CALLS[0].endswith("members")
    shown = at.session_state["shown"]
    reported = [(f"step {k}", (k + 1) / 3) for k in range(3)]
    # every step the page saw was reported, in order (shown again at each look of the page
    # while it lasts; a step may be passed over when the next one comes before the page looks
    # again: each here lasts more than twice as long)
    assert shown
    assert all(step in reported for step in shown)
    distinct = [s for k, s in enumerate(shown) if k == 0 or s != shown[k - 1]]
    assert [reported.index(s) for s in distinct] == sorted({reported.index(s) for s in shown})
    assert shown[0] == reported[0]
    assert at.session_state["threads"]
    assert "proofboard-analysis" not in at.session_state["threads"]

    at.run()  # the same view again: the cached result, not computed again, no steps shown
    assert [m.value for m in at.markdown] == ["value 42"]
    assert len(CALLS) == 1
    assert at.session_state["shown"] == shown


def test_an_analysis_that_cannot_answer_says_why_on_the_page(on_small: Path) -> None:
    at = AppTest.from_function(_script, args=(True,), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == ["this analysis cannot answer: too few members"]
    assert not at.markdown
    assert at.session_state["shown"][0] == ("step 0", 1 / 3)


class _Left(Exception):
    """Stands in for Streamlit stopping a page's run it has left behind (the visitor went
    elsewhere and the next run started)."""


def test_a_run_left_behind_ends_at_the_next_look_and_the_analysis_still_ends() -> None:
    from dashboard.data import _with_progress

    started, ended = threading.Event(), threading.Event()

    def analysis(report):  # type: ignore[no-untyped-def]
        started.set()
        report("one long step", 0.1)
        time.sleep(3.0)  # a long step that reports nothing more
        ended.set()
        return "result"

    looks: list[str] = []

    def show(step: str, done: float) -> None:
        looks.append(step)
        if len(looks) == 2:  # the visitor leaves during the long step
            raise _Left

    with pytest.raises(_Left):
        _with_progress(analysis, show)
    # the page's run ended while the step ran (it is drawn at each look, not only when the step
    # changes: that is where Streamlit stops a run it has left behind) ...
    assert started.is_set()
    assert not ended.is_set()
    assert looks == ["one long step", "one long step"]
    # ... and the analysis ran on to its end (inside the cache, its result is kept)
    assert ended.wait(timeout=30)


def test_a_second_visitor_sees_the_steps_of_the_analysis_a_first_one_started() -> None:
    from dashboard.data import _RUNNING, _with_progress

    # stands in for Streamlit's cache: one computation per value, the others wait for it
    lock = threading.Lock()
    cached: dict[str, str] = {}
    computed: list[int] = []

    def cached_analysis(report):  # type: ignore[no-untyped-def]
        with lock:
            if "value" not in cached:
                computed.append(1)
                for k in range(3):
                    report(f"step {k}", (k + 1) / 3)
                    time.sleep(0.6)
                cached["value"] = "result"
            return cached["value"]

    seen: dict[str, list[str]] = {"first": [], "second": []}
    results: dict[str, str] = {}

    def visit(who: str) -> None:
        results[who] = _with_progress(
            cached_analysis, lambda step, _done: seen[who].append(step), "the same analysis"
        )

    first = threading.Thread(target=visit, args=("first",))
    first.start()
    time.sleep(0.4)  # the second visitor comes while the first one's analysis runs
    second = threading.Thread(target=visit, args=("second",))
    second.start()
    first.join(30)
    second.join(30)
    assert results == {"first": "result", "second": "result"}
    assert computed == [1]
    # the second visitor's page showed the steps of the computation it waited for
    assert "step 2" in seen["first"]
    assert "step 2" in seen["second"]
    assert "step 0" not in seen["second"] or seen["second"].index("step 0") == 0
    # nothing is left registered once both have their result
    assert "the same analysis" not in _RUNNING
