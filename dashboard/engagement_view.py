"""What the Engagement page shows of members: real ids, or pseudonyms for a wider audience.

Kept apart from the page so the tests can check the exact tables and export bytes the page
offers (AppTest cannot read a download button's bytes).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from analytics.community import Community
from analytics.engagement import identifying_columns, pseudonymise, pseudonyms


@dataclass(frozen=True)
class MemberView:
    """How member columns are shown: with ids, or under pseudonyms (names and ids hidden)."""

    anonymous: bool
    names: pl.DataFrame | None
    hidden: tuple[str, ...]

    @classmethod
    def build(cls, community: Community, *, anonymous: bool, salt: str) -> MemberView:
        hidden = tuple(identifying_columns(community))
        if not anonymous:
            return cls(False, None, hidden)
        return cls(True, pseudonyms(community.members["member_id"], salt=salt), hidden)

    def show(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The frame as the page shows and exports it."""
        if not self.anonymous or self.names is None:
            return frame
        return pseudonymise(frame, self.names, hidden=self.hidden)
