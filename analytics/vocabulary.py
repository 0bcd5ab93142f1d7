"""The words a person reads for Proofboard's codes, column and feature names: one place, so every
table, export, chart and summary says the same thing.

Codes stay codes where a machine reads them (JSON of the command line, Parquet); everything a
person reads goes through :func:`words` and :func:`label`.
"""

from __future__ import annotations

import re

#: verdicts and other stored codes, in words
CODES: dict[str, str] = {
    "helps": "helps",
    "hurts": "hurts",
    "no_evidence": "no evidence either way",
    "not_identifiable": "cannot be estimated",
    "lift": "lift",
    "drop": "drop",
    "not_estimable": "cannot be estimated",
    "explicit": "left explicitly",
    "silent": "went silent",
    "case_study": "case study",
    "ugc": "member content",
    "model": "the model",
    "baseline": "recency alone",
    "starttls": "STARTTLS",
    "per_item": "per item (Holm)",
    "fdr": "false discovery rate (Benjamini–Hochberg)",
}

#: feature and covariate names, in words (as column names and as values of a "feature" column)
FEATURES: dict[str, str] = {
    # risk features
    "days_since_last": "days since last activity",
    "days_since_last_proof": "days since last proof seen",
    "activities_28d": "activities in the last 28 days",
    "trend_pct": "activity trend (% change)",
    "tenure_days": "days since joining",
    "baseline_risk": "risk from recency alone",
    # impact covariates
    "log_activity": "early activity (log count)",
    "active_day_share": "share of early days active",
    "days_since_activity": "days since last early activity",
    "join_years": "join time (years)",
    "join_years_sq": "join time (years, squared)",
    "log_other_proof_seen": "other proof items seen early (log count)",
    "log_other_items_seen": "different other proof items seen early (log count)",
}

#: other column names, in words (values in such columns, e.g. a data-quality report naming a
#: contract column, stay as they are: they name what to fix)
LABELS: dict[str, str] = {
    **FEATURES,
    "item_id": "item id",
    "milestone_id": "milestone id",
    "member_id": "member",
    "n_exposed": "exposed",
    "n_control": "comparison members",
    "naive_effect": "naive difference",
    "ci_low": "95 % CI low",
    "ci_high": "95 % CI high",
    "p_value": "p",
    "q_value": "q",
    "holm_p": "Holm-adjusted p",
    "adjusted_p": "adjusted p used for the verdict",
    "error_control": "error controlled",
    "announced_at": "announced at",
    "crossed_on": "crossed on",
    "joined_at": "joined at",
    "occurred_at": "occurred at",
    "period_start": "period starting",
    "known_from": "known with data as of",
    "previous_known_from": "period before known with data as of",
    "average_known_from": "4-week average known with data as of",
    "expected_signups": "expected signups",
    "observed_signups": "observed signups",
}

_PREFIXES = {"log_": "early {} (log count)", "days_since_last_": "days since last {}"}
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


def is_code(text: str) -> bool:
    """Whether a text looks like a stored code (``snake_case``) rather than words."""
    return bool(_SNAKE.match(text))


def label(name: str) -> str:
    """A column, feature or covariate name in words (``days_since_last`` → "days since last
    activity"); unknown snake_case names get their underscores as spaces."""
    if name in LABELS:
        return LABELS[name]
    for prefix, pattern in _PREFIXES.items():
        if name.startswith(prefix):
            return pattern.format(name.removeprefix(prefix).replace("_", " "))
    return name.replace("_", " ") if is_code(name) else name


def words(value: str) -> str:
    """A stored code in words (``no_evidence`` → "no evidence either way"); a known feature or
    covariate name as its label; other text (titles, member ids) as it is."""
    if value in CODES:
        return CODES[value]
    if value in FEATURES or any(value.startswith(p) and is_code(value) for p in _PREFIXES):
        return label(value)
    return value


#: straight and typographic quotation marks (English, German, French, single and double)
QUOTE_MARKS = frozenset("'\"‘’‚‛“”„‟«»‹›「」『』")


def quoted(title: str) -> str:
    """A title (proof item, milestone) as a sentence quotes it: in single quotes, unless it
    already starts or ends with a quotation mark of its own (straight or typographic), which
    would otherwise read as doubled quotes ('“I landed my first client here” — Maria')."""
    text = str(title)
    stripped = text.strip()
    if stripped and (stripped[0] in QUOTE_MARKS or stripped[-1] in QUOTE_MARKS):
        return text
    return f"'{text}'"


def span_words(days: int) -> str:
    """A span of days as said before "before day N": "week" for 7, else "N days"."""
    return "week" if days == 7 else f"{days} days"


def signed_bound(value: float) -> str:
    """An interval's bound (points or %) as a sentence gives it: whole and signed ("+9",
    "-5"), with one decimal where it would round to zero ("-0.4", "+0.3": "-0" or "+0" hides
    which side of zero the interval reaches), "0" when it is zero."""
    if round(value) != 0:
        return f"{value:+.0f}"
    if round(value, 1) == 0:
        return "0"
    return f"{value:+.1f}"
