"""The pure engine: decline catalogue, retry ladder and the ``ai`` estimate."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from revtain.engine.declines import classify
from revtain.engine.scoring import Counts, assess, part_of_day


@pytest.mark.parametrize(
    ("code", "handling", "action"),
    [
        ("insufficient_funds", "queue", "retry_later"),
        ("expired_card", "queue", "request_card_update"),
        ("do_not_honor", "attempt", "retry_later"),
        (" Do_Not_Honor ", "attempt", "retry_later"),
        ("gateway_timeout", "attempt", "monitor"),
        ("fraudulent", "block", "manual_review"),
        ("stolen_card", "block", "manual_review"),
        ("authentication_required", "block", "request_card_update"),
        ("something_new", "attempt", "monitor"),
        (None, "attempt", "retry_later"),
        ("", "attempt", "retry_later"),
    ],
)
def test_classify(code, handling, action):
    decline = classify(code)
    assert decline.handling == handling and decline.recommended_action == action
    assert decline.reason and decline.plain_english


def test_do_not_honor_reason_is_the_documented_text():
    assert classify("do_not_honor").reason == (
        "The issuer returned a soft decline. A later retry, or a card update, may succeed."
    )


def test_no_history_is_said_honestly():
    a = assess("soft", "do_not_honor", "afternoon", Counts(), Counts())
    assert a.data_source == "global" and a.confidence == 0
    assert a.score == 45.0
    assert "No recorded outcomes yet" in a.reasoning


def test_estimate_learns_and_blends():
    merchant = Counts(successes=30, failures=10)
    everyone = Counts(successes=100, failures=42)
    a = assess("soft", "do_not_honor", "afternoon", merchant, everyone)
    assert a.reasoning == 'Analysed 142 similar "do_not_honor" declines during afternoon hours.'
    assert a.data_source == "blended"
    assert a.score == round(100 * (4.5 + 100) / (4.5 + 100 + 5.5 + 42), 1)
    assert a.confidence == round(100 * 142 / 192)
    only_mine = assess("soft", "do_not_honor", "morning", merchant, merchant)
    assert only_mine.data_source == "merchant"


@pytest.mark.parametrize(("hour", "part"), [(0, "night"), (5, "night"), (6, "morning"),
                                            (12, "afternoon"), (17, "afternoon"), (18, "evening")])
def test_part_of_day(hour, part):
    assert part_of_day(datetime(2026, 1, 1, hour, tzinfo=UTC)) == part
