"""Member attributes: signup channel, plan, country and the latent engagement."""

from __future__ import annotations

import numpy as np

from analytics.demo.model import FloatArray, _Members

# --- members -------------------------------------------------------------------------------
_CHANNELS = ("organic", "search", "referral", "ads", "social")
_CHANNEL_P = (0.34, 0.24, 0.14, 0.18, 0.10)
_CHANNEL_SHIFT = (0.10, 0.0, 0.35, -0.35, -0.15)  # on log engagement
_PLANS = ("free", "pro")
_PRO_P_BY_CHANNEL = (0.10, 0.09, 0.16, 0.06, 0.07)
_PRO_SHIFT = 0.45
_COUNTRIES = ("US", "GB", "DE", "FR", "IN", "BR", "CA", "NL")
_COUNTRY_P = (0.36, 0.12, 0.10, 0.07, 0.14, 0.09, 0.07, 0.05)
_ENGAGEMENT_MU = -0.25
_ENGAGEMENT_SIGMA = 0.8


def _draw_member_attributes(join: FloatArray, rng: np.random.Generator) -> _Members:
    """Signup attributes and latent engagement (lognormal, shifted by channel and plan)."""
    n = len(join)
    channel = rng.choice(len(_CHANNELS), size=n, p=_CHANNEL_P).astype(np.int8)
    plan = (rng.random(n) < np.asarray(_PRO_P_BY_CHANNEL)[channel]).astype(np.int8)
    country = rng.choice(len(_COUNTRIES), size=n, p=_COUNTRY_P).astype(np.int8)
    log_engagement = (
        _ENGAGEMENT_MU
        + np.asarray(_CHANNEL_SHIFT)[channel]
        + _PRO_SHIFT * plan
        + _ENGAGEMENT_SIGMA * rng.standard_normal(n)
    )
    return _Members(
        join=join, engagement=np.exp(log_engagement), channel=channel, plan=plan, country=country
    )
