"""Member columns that must never become segments: personal data, and values unique per member.

A segment's values go into the sidebar, the page's link and every export's subtitle. An e-mail
address, a name, a phone number or an IP address must not go there, and neither must a column
whose value differs for every member (it names the member as surely as the id does). Such
columns stay in the data (the pseudonym switch hides names on the Engagement page) but are not
offered as segments.

A column is taken as personal data when its header says so (``email``, ``name``, ``phone``,
``ip``...) or when most of its values look like e-mail addresses, phone numbers or IP addresses.
"""

from __future__ import annotations

import re

import polars as pl

#: Header words (compared without case, spaces, dashes or underscores) that name personal data.
PERSONAL_HEADERS: dict[str, str] = {
    "email": "e-mail addresses", "emailaddress": "e-mail addresses", "mail": "e-mail addresses",
    "useremail": "e-mail addresses", "contactemail": "e-mail addresses",
    "name": "names", "fullname": "names", "firstname": "names", "lastname": "names",
    "surname": "names", "givenname": "names", "familyname": "names", "displayname": "names",
    "username": "names", "nickname": "names", "handle": "names", "login": "names",
    "phone": "phone numbers", "phonenumber": "phone numbers", "mobile": "phone numbers",
    "mobilephone": "phone numbers", "cell": "phone numbers", "telephone": "phone numbers",
    "tel": "phone numbers",
    "ip": "IP addresses", "ipaddress": "IP addresses", "lastip": "IP addresses",
    "signupip": "IP addresses", "address": "postal addresses", "streetaddress": "postal addresses",
    "birthdate": "dates of birth", "dateofbirth": "dates of birth", "dob": "dates of birth",
}  # fmt: skip

_EMAIL = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
_IPV4 = r"^(\d{1,3}\.){3}\d{1,3}$"
_IPV6 = r"^[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){2,7}$"
_PHONE = r"^\+?[\d\s().\-/]{7,20}$"
_VALUE_PATTERNS = (
    (_EMAIL, "e-mail addresses"),
    (_IPV4, "IP addresses"),
    (_IPV6, "IP addresses"),
    (_PHONE, "phone numbers"),
)
#: Share of a column's values that must match a pattern for the column to count as personal.
PATTERN_SHARE = 0.5
#: A column unique per member is refused as a segment only from this many members on (in a
#: handful of members every attribute is unique by chance).
UNIQUE_MIN_MEMBERS = 20


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def personal_reason(name: str, values: pl.Series) -> str | None:
    """Why the member column ``name`` with ``values`` must not be a segment, in words
    (``"looks like e-mail addresses"``), or ``None`` when it may be one."""
    by_header = PERSONAL_HEADERS.get(_norm(name))
    if by_header is not None:
        return f"its name says it holds {by_header}"
    text = values.cast(pl.String).drop_nulls().str.strip_chars()
    text = text.filter(text != "")
    if text.is_empty():
        return None
    sample = text.head(1_000)
    for pattern, what in _VALUE_PATTERNS:
        matches = sample.str.contains(pattern)
        if what == "phone numbers":
            # at least 7 digits, and not a date: plain small numbers and dates are not phones
            matches = (
                matches
                & (sample.str.count_matches(r"\d") >= 7)
                & ~sample.str.contains(r"^\d{4}-\d{2}-\d{2}")
            )
        share = matches.cast(pl.Int64).sum() / max(matches.len(), 1)
        if share >= PATTERN_SHARE:
            return f"its values look like {what}"
    if text.len() >= UNIQUE_MIN_MEMBERS and text.n_unique() == text.len():
        return "every member has a value of their own"
    return None


def not_segments(members: pl.DataFrame, columns: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Of the member attribute ``columns``, those never offered as segments, with the reason."""
    reasons = {c: personal_reason(c, members[c]) for c in columns}
    return {c: r for c, r in reasons.items() if r is not None}
