"""Seeded synthetic community with planted, known effects.

The generator simulates an online community over a period of days: signups with a trend, a
weekday and time-of-day pattern, milestone announcements (some of which really lift signups),
members with a latent engagement that drives both their activity and their lifetime, social-proof
content they are exposed to (a few items truly change retention) and badges (which do not, but
look as if they did). The ground truth is returned next to the tables so that analyses can be
checked for finding what was planted and nothing else.

Modules: ``signups`` and ``milestones`` (whole community), ``members``, ``exposures``,
``lifetime`` and ``activity`` (per member), ``tables`` (contract tables), ``truth`` (what was
planted) and ``generate`` (the entry point).
"""

from analytics.demo.generate import generate_demo
from analytics.demo.model import DEMO_VERSION, DemoCommunity

__all__ = ["DEMO_VERSION", "DemoCommunity", "generate_demo"]
