"""Seeded synthetic community with planted, known effects.

The generator simulates an online community over a period of days: signups with a trend, a
weekday and time-of-day pattern, milestone announcements (some of which really lift signups),
members with a latent engagement that drives both their activity and their lifetime, social-proof
content they come across during their visits (each view is also an activity row; a few items
truly change retention) and badges (which do not, but look as if they did). The ground truth is
returned next to the tables so that analyses can be checked for finding what was planted and
nothing else.

Modules: ``signups`` and ``milestones`` (whole community), ``members``, ``exposures``,
``lifetime`` and ``activity`` (per member, drawn in blocks of members), ``tables`` (contract
tables), ``truth`` (what was planted), ``generate`` (in memory or block by block) and ``stream``
(written to Parquet block by block).
"""

from analytics.demo.generate import BLOCK_MEMBERS, DemoBlocks, generate_demo, iter_demo_blocks
from analytics.demo.model import DEMO_VERSION, DemoCommunity
from analytics.demo.stream import write_demo_stream

__all__ = [
    "BLOCK_MEMBERS",
    "DEMO_VERSION",
    "DemoBlocks",
    "DemoCommunity",
    "generate_demo",
    "iter_demo_blocks",
    "write_demo_stream",
]
