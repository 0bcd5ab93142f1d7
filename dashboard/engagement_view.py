"""What the Engagement page shows of members: real ids, or pseudonyms for a wider audience.

Kept apart from the page so the tests can check the exact tables and export bytes the page
offers (AppTest cannot read a download button's bytes).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from analytics.community import Community
from analytics.engagement import identifying_columns, pseudonymise
from analytics.privacy import keyed_pseudonyms


@dataclass(frozen=True)
class MemberView:
    """How member columns are shown: with ids, or under pseudonyms (names and ids hidden)."""

    anonymous: bool
    names: pl.DataFrame | None
    hidden: tuple[str, ...]

    @classmethod
    def build(
        cls,
        community: Community,
        *,
        anonymous: bool,
        key: str,
        names: pl.DataFrame | None = None,
    ) -> MemberView:
        """Keyed pseudonyms (:func:`analytics.privacy.keyed_pseudonyms`) when ``anonymous``:
        the same key gives a member the same pseudonym in every session. ``names``: the
        pseudonyms already made with ``key`` (:func:`pseudonym_table`, cached by the page)."""
        hidden = tuple(identifying_columns(community))
        if not anonymous:
            return cls(False, None, hidden)
        return cls(
            True, names if names is not None else pseudonym_table(community, key=key), hidden
        )

    def show(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The frame as the page shows and exports it."""
        if not self.anonymous or self.names is None:
            return frame
        return pseudonymise(frame, self.names, hidden=self.hidden)


def pseudonym_table(community: Community, *, key: str) -> pl.DataFrame:
    """Every member's keyed pseudonym (``member_id``, ``pseudonym``)."""
    return keyed_pseudonyms(community.members["member_id"], key=key)
