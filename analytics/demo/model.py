"""Types shared by the demo generator: the public result and the internal records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

DEMO_VERSION = "2.1.0"  # 2: views happen during visits; 2.1: the trials' truth at time zero

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_US_PER_DAY = 86_400_000_000
_TIMESTAMP = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class DemoCommunity:
    """A generated community: its tables, the planted truth and the end of the period.

    Attributes
    ----------
    tables : dict of str to polars.DataFrame
        ``"members"``, ``"activity"``, ``"proof_items"``, ``"exposures"`` and
        ``"milestones"``, following the project's data contract.
    truth : dict
        JSON-serialisable description of everything that was planted (timestamps as ISO 8601
        strings ending in ``"Z"``).
    as_of : datetime
        Aware UTC datetime at the end of the simulated period; every timestamp is before it.
    """

    tables: dict[str, pl.DataFrame]
    truth: dict[str, Any]
    as_of: datetime


@dataclass(frozen=True)
class _Item:
    """A proof item and how members come across it (days relative to the start)."""

    item_id: str
    kind: str
    title: str
    published: float
    hazard_ratio: float = 1.0
    view_rate: float = 0.0  # view rate per day at engagement 1, at publication (steady tenure)
    decay_days: float = 1.0  # the rate decays as exp(-age / decay_days)
    rule: str | None = None  # badges only


@dataclass(frozen=True)
class _Milestone:
    """A milestone announcement (days relative to the start)."""

    title: str
    channel: str
    day: float
    kind: str  # "round_number" or "other"
    value: int | None = None
    uplift: float = 0.0
    spurt: bool = False
    reactivation: float = 1.0  # activity multiplier of active members in the window
    hour_of_day: int = 15  # of the announcement (UTC)
    spurt_interval: tuple[float, float] | None = None  # realised growth spurt (days)
    expected_window: float = 0.0  # expected signups in the window given the past
    expected_window_without: float = 0.0  # the same without this announcement's uplift


@dataclass(frozen=True)
class _Members:
    """Member-level arrays, indexed in order of joining."""

    join: FloatArray
    engagement: FloatArray
    channel: npt.NDArray[np.int8]
    plan: npt.NDArray[np.int8]
    country: npt.NDArray[np.int8]


@dataclass(frozen=True)
class _Activity:
    """Activity rows, sorted by member and time."""

    member: npt.NDArray[np.int32]
    time: FloatArray
    kind: npt.NDArray[np.uint8]


@dataclass(frozen=True)
class _Exposures:
    """Exposure rows (views and earned badges), sorted by member and time."""

    member: npt.NDArray[np.int32]
    item: npt.NDArray[np.int16]  # index into content items followed by badges
    time: FloatArray
