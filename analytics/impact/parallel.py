"""Independent per-item work on both cores, results in order."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def ordered_map(
    work: Callable[[T], R], items: Sequence[T], *, parallel: bool = True
) -> Iterator[R]:
    """``work`` on each item, yielded in the items' order. With ``parallel`` (and more than one
    core), two items run at a time in threads: the per-item work is polars, numpy and
    scikit-learn, which release the GIL, so the second core does the next item instead of
    idling. Only for work whose result does not depend on the order it runs in (no shared
    random generator)."""
    workers = min(2, os.cpu_count() or 1)
    if not parallel or workers < 2 or len(items) < 2:
        yield from (work(item) for item in items)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="impact") as pool:
        yield from pool.map(work, items)
