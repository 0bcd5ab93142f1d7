"""Writing a demo community to Parquet block by block, so its size is not bounded by memory."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from analytics.demo.generate import BLOCK_MEMBERS, Progress, iter_demo_blocks
from analytics.io import truth_path_for, write_json, write_parquet_stream


def write_demo_stream(
    folder: str | Path,
    *,
    members: int = 5000,
    seed: int = 7,
    start: date = date(2024, 11, 1),
    days: int = 730,
    activity_scale: float = 1.0,
    block_members: int = BLOCK_MEMBERS,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Generate a demo community block by block into ``folder/<table>.parquet`` and
    ``folder/truth.json``.

    The tables are those of :func:`analytics.demo.generate_demo` with the same arguments, but
    only one block of members is in memory at a time (see
    :func:`analytics.io.write_parquet_stream`: all tables are replaced together, and only when
    every block was written).

    Parameters
    ----------
    folder : str or pathlib.Path
        Folder to write to (created when missing).
    members, seed, start, days, activity_scale, block_members
        As for :func:`analytics.demo.generate_demo`.
    progress : callable, optional
        Called as ``progress(step_description, fraction_done)``.

    Returns
    -------
    dict
        The truth, as written to ``truth.json``.

    Raises
    ------
    ValueError
        If an argument is out of range.
    """
    blocks = iter_demo_blocks(
        members=members,
        seed=seed,
        start=start,
        days=days,
        activity_scale=activity_scale,
        block_members=block_members,
        progress=progress,
    )
    write_parquet_stream(blocks, Path(folder), tables=blocks.tables)
    write_json(blocks.truth, truth_path_for(folder))
    if progress is not None:
        progress("Done", 1.0)
    return blocks.truth
