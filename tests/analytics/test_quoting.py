"""Titles in sentences: quoted once. A title that brings its own quotation marks (a testimonial
such as “I landed my first client here” — Maria) is not wrapped in a second pair."""

from __future__ import annotations

import pytest

from analytics.impact import ImpactSettings, ItemEffect
from analytics.vocabulary import quoted, signed_bound

TESTIMONIAL = "“I landed my first client here” — Maria, designer"


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        ("Welcome guide", "'Welcome guide'"),
        (TESTIMONIAL, TESTIMONIAL),  # starts with a typographic quote
        (
            "@growthwithsam: “this community will 10x you”",
            "@growthwithsam: “this community will 10x you”",
        ),
        ('"Straight" quotes', '"Straight" quotes'),
        ("'single'", "'single'"),
        ("„Deutsch“", "„Deutsch“"),
        ("«French»", "«French»"),
        ("It's fine", "'It's fine'"),  # an apostrophe inside is no quotation mark around it
        ("", "''"),
    ],
)
def test_quoted_adds_quotes_only_when_the_title_has_none(title: str, shown: str) -> None:
    assert quoted(title) == shown


def _effect(title: str, verdict: str = "helps", kind: str = "testimonial") -> ItemEffect:
    return ItemEffect(
        item_id="p1", kind=kind, title=title, n_exposed=100, n_control=900, effect=0.05,
        ci_low=0.01, ci_high=0.09, p_value=0.001, q_value=0.002, naive_effect=0.1,
        verdict=verdict, reason="",  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.mark.parametrize("kind", ["testimonial", "badge"])
def test_effect_sentences_do_not_double_quote_a_quoted_title(kind: str) -> None:
    sentence = _effect(TESTIMONIAL, kind=kind).sentence(ImpactSettings())
    assert TESTIMONIAL in sentence
    assert f"'{TESTIMONIAL}" not in sentence
    assert f"{TESTIMONIAL}'" not in sentence
    plain = _effect("Welcome guide", kind=kind).sentence(ImpactSettings())
    assert "'Welcome guide'" in plain
    missing = _effect(TESTIMONIAL, verdict="not_identifiable")
    assert f"No estimate for {TESTIMONIAL}:" in missing.sentence(ImpactSettings())


@pytest.mark.parametrize(
    ("effect", "low", "high", "said"),
    [
        (0.05, 0.01, 0.09, "were 5 points (+1 to +9) more likely to still be members"),
        (-0.012, -0.05, 0.03, "were 1 point (-5 to +3) less likely to still be members"),
        (0.002, -0.04, 0.04, "were about as likely (-4 to +4 points) to still be members"),
        # a bound that rounds to zero keeps its side of zero
        (0.06, -0.004, 0.11, "were 6 points (-0.4 to +11) more likely to still be members"),
        (0.06, 0.003, 0.11, "were 6 points (+0.3 to +11) more likely to still be members"),
        (0.002, -0.0004, 0.004, "were about as likely (0 to +0.4 points) to still be members"),
    ],
)
def test_effect_sentences_read_as_english(
    effect: float, low: float, high: float, said: str
) -> None:
    import dataclasses

    item = dataclasses.replace(
        _effect("Welcome guide", verdict="no_evidence"), effect=effect, ci_low=low, ci_high=high
    )
    sentence = item.sentence(ImpactSettings())
    assert said in sentence, sentence
    assert sentence.endswith("which could be chance.")


def test_alerts_do_not_double_quote_a_quoted_title() -> None:
    import dataclasses
    from datetime import UTC, datetime, timedelta

    from analytics.delivery.alerts import verdict_changes
    from analytics.impact import ImpactResult

    after = ImpactResult(
        settings=ImpactSettings(),
        items=(_effect(TESTIMONIAL),),
        kinds=(),
        population_size=1000,
        covariates=(),
    )
    before = dataclasses.replace(after, items=(_effect(TESTIMONIAL, verdict="no_evidence"),))
    now = datetime(2026, 11, 30, tzinfo=UTC)
    [alert] = verdict_changes(
        before, after, week="2026-W48", before_as_of=now - timedelta(days=7), after_as_of=now
    )
    assert alert.title.startswith(f"{TESTIMONIAL} now: helps")
    assert f"The verdict on {TESTIMONIAL} (testimonial)" in alert.text
    assert f"'{TESTIMONIAL}" not in alert.text + alert.title


@pytest.mark.parametrize(
    ("value", "said"),
    [(9.4, "+9"), (-5.2, "-5"), (0.3, "+0.3"), (-0.4, "-0.4"), (-0.04, "0"), (0.0, "0"),
     (0.5, "+0.5"), (-0.6, "-1"), (12.0, "+12")],
)  # fmt: skip
def test_interval_bounds_keep_their_side_of_zero(value: float, said: str) -> None:
    """Bounds in sentences are whole and signed, but never "-0" or "+0": one that would round
    to zero shows a decimal (the side of zero the interval reaches), and zero is "0"."""
    assert signed_bound(value) == said
