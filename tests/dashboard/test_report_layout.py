"""The weekly review's PDF, printed by Chromium and read back: every page clean.

The layout facts a reader would notice are asserted on the printed file (pdfplumber reads each
glyph with its box): the page count, what each page holds and in which order, no two words drawn
over each other, no title cut off at the figure's edge, and no page left mostly blank.
"""

from __future__ import annotations

import io
import shutil
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest

from analytics.community import load_community
from analytics.io import open_source
from analytics.weekly import default_week, weekly_review
from dashboard import report

pdfplumber = pytest.importorskip("pdfplumber")

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="Debian's chromium is not installed"
)

#: the review's sections in reading order, each heading once
HEADINGS = (
    "Summary",
    "Key figures",
    "Key figures by week (blue: the reviewed week)",
    "Signups per day:",
    "Social-proof findings",
    "Effect of early exposure on still being a member 90 days later",
    "Milestones announced in the week",
    "How to read these figures",
)


@pytest.fixture(scope="module")
def printed(demo_folder: Path) -> tuple[bytes, str]:
    community = load_community(open_source(demo_folder))
    week = default_week(community)
    assert week is not None
    review = weekly_review(community, week=week)
    return report.review_file(review, "pdf"), week


def _pages(data: bytes) -> list[dict[str, Any]]:
    """Per page: its size, its text, its upright words with their boxes, and every glyph."""
    out = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            upright = page.filter(lambda o: o.get("object_type") != "char" or o.get("upright"))
            out.append(
                {
                    "width": float(page.width),
                    "height": float(page.height),
                    "text": " ".join((page.extract_text() or "").split()),
                    "words": upright.extract_words(keep_blank_chars=False, use_text_flow=False),
                    "chars": list(page.chars),
                }
            )
    return out


def test_the_pdf_has_few_pages_each_with_its_part_of_the_review(printed) -> None:  # type: ignore[no-untyped-def]
    data, week = printed
    pages = _pages(data)
    assert 2 <= len(pages) <= 4, len(pages)
    assert pages[0]["text"].startswith(f"Weekly review {week}")
    # every heading once, in reading order across the pages
    text = " ".join(p["text"] for p in pages)
    positions = [text.find(h) for h in HEADINGS]
    assert all(p >= 0 for p in positions), dict(zip(HEADINGS, positions, strict=True))
    assert positions == sorted(positions)
    assert all(text.count(h) == 1 for h in ("Summary", "How to read these figures"))
    # the unknown churn reads "not known yet", never 0
    assert "not known yet" in text


def test_no_page_is_mostly_blank(printed) -> None:  # type: ignore[no-untyped-def]
    pages = _pages(printed[0])
    for number, page in enumerate(pages, start=1):
        filled = max(c["bottom"] for c in page["chars"]) / page["height"]
        least = 0.2 if number == len(pages) else 0.55
        assert filled >= least, f"page {number} is filled only to {filled:.0%} of its height"


def test_no_words_are_drawn_over_each_other(printed) -> None:  # type: ignore[no-untyped-def]
    """The week labels of the key-figure panels and the 'not known yet' notes used to run into
    each other."""
    for number, page in enumerate(_pages(printed[0]), start=1):
        clashes = []
        for a, b in combinations(page["words"], 2):
            dx = min(a["x1"], b["x1"]) - max(a["x0"], b["x0"])
            dy = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
            if dx > 1.0 and dy > 1.0:  # more than a point of overlap both ways
                clashes.append((a["text"], b["text"]))
        assert clashes == [], f"page {number}: {clashes[:5]}"
    # each panel's week numbers stand apart (glyphs run together would read as one word)
    week = printed[1].rsplit("-W", 1)[-1]
    words = [w["text"] for p in _pages(printed[0]) for w in p["words"]]
    assert words.count(week) >= 5, [w for w in words if week in w]


def test_titles_are_whole_and_inside_the_page(printed) -> None:  # type: ignore[no-untyped-def]
    """The forest plot's axis title used to be cut at the figure's edge ("...vs compa")."""
    pages = _pages(printed[0])
    text = " ".join(p["text"] for p in pages)
    assert "Difference in retention, percentage points" in text
    assert "(exposed in the first 30 days vs comparable members)" in text
    for number, page in enumerate(pages, start=1):
        for c in page["chars"]:
            where = f"page {number}: {c['text']!r}"
            assert c["x0"] >= 0, where
            assert c["x1"] <= page["width"], where
            assert c["top"] >= 0, where
            assert c["bottom"] <= page["height"], where
