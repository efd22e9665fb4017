"""Properties (issue 10): whatever source a network signal comes from (the merchant's reported
first failure, a gateway's answer, a connector's event), no attempt ever breaks a card-network rule,
and no card that is waiting for new credentials is ever charged.

The engine-level property judges every source with ``engine.judgement.judge``; the end-to-end one
drives the real services on the test gateway (executes carrying first-failure signals, tokens whose
answers carry advice and network codes, scheduled retries, a later card for the same customer) and
checks every recorded attempt against rules recomputed here from the raw values.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from revtain.engine.judgement import judge
from revtain.engine.network_rules import PastAttempt, verdict
from revtain.extensions import db
from revtain.gateways.platforms import DECLINE_GATEWAYS
from revtain.models import Attempt, Recovery
from revtain.models.recovery import PROCESSING, QUEUED, UNKNOWN
from revtain.onboarding import onboard
from revtain.recovery.retry import run_scheduled_attempt

START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
# The published rules, written out here independently of the code under test.
CATEGORY_1 = {"03", "04", "07", "12", "15", "41", "43", "46", "57", "62", "78", "93", "R0", "R1", "R3"}
NEVER_ADVICE = {"01", "03", "21", "do_not_try_again"}
ADVICE_FLOOR_HOURS = {"24": 1, "25": 24, "26": 48, "27": 96, "28": 144, "29": 192, "30": 240}
BLOCK_CODES = {"lost_card", "stolen_card", "pickup_card", "fraudulent", "restricted_card",
               "authentication_required", "do_not_try_again"}
NEW_CREDENTIALS = {"expired_card", "lost_card", "stolen_card", "pickup_card", "incorrect_number",
                   "authentication_required", "do_not_try_again"}
_serial = itertools.count()

codes = st.sampled_from(["insufficient_funds", "do_not_honor", "try_again_later", "card_declined",
                         "expired_card", "lost_card", "stolen_card", "incorrect_number",
                         "generic_decline", "fraudulent"])
advice_codes = st.sampled_from([None, "02", "24", "25", "26", "27", "28", "29", "30", "01", "03", "21"])
network_codes = st.sampled_from([None, "05", "51", "54", "61", "91", "04", "14", "41", "43", "46", "R0"])
networks = st.sampled_from([None, "visa", "mastercard", "amex", "discover", "jcb"])
sources = st.sampled_from([None, "stripe", "braintree", "network",
                           *sorted({DECLINE_GATEWAYS.get(p, p) for p in DECLINE_GATEWAYS})])


# -- the judgement, from any source -------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(code=codes, advice=advice_codes, network_code=network_codes, network=networks, source=sources)
def test_every_source_is_judged_by_the_network_rules(code, advice, network_code, network, source):
    judged = judge(code, gateway=source, network_code=network_code, advice_code=advice, network=network)
    never = advice in NEVER_ADVICE or network_code in CATEGORY_1
    if never:
        assert not judged.retryable and judged.never_reason
    if code in BLOCK_CODES:
        assert not judged.retryable
    if advice in ADVICE_FLOOR_HOURS:
        assert judged.retry_after_hours == ADVICE_FLOOR_HOURS[advice]
    if code == "fraudulent":
        assert judged.action == "block"  # only fraud never charges again
    elif code in NEW_CREDENTIALS:
        assert judged.action == "new_credentials"  # waits for a new card
    # Whatever was judged, the card-network rules read the same verdict from the stored value.
    at = START
    stored = PastAttempt(at=at, outcome="declined", decline_code=judged.code,
                         network_code=judged.network_code, advice_code=judged.advice_code,
                         never_reason=judged.never_reason or "")
    later = verdict(network or "unknown", (stored,), at + timedelta(minutes=1))
    assert later.never == bool(judged.never_reason)
    if judged.retry_after_hours and not later.never:
        assert later.not_before >= at + timedelta(hours=judged.retry_after_hours)


# -- end to end ---------------------------------------------------------------------------------------


@pytest.fixture
def app(make_app):
    return make_app(FROZEN_NOW=START.isoformat(), TEST_GATEWAY_RETRY_LADDER=[],
                    EXECUTE_RATE_LIMIT="100000 per minute")


campaigns = st.fixed_dictionaries({
    # the merchant's first failure and its signals
    "original": codes | st.none(),
    "first_advice": advice_codes,
    "first_network_code": network_codes,
    "card_network": networks,
    # what the gateway answers on this card
    "answer": codes,
    "answer_advice": advice_codes,
    "answer_network_code": network_codes,
    "gaps": st.lists(st.integers(0, 24 * 10), max_size=2),
    "new_card_after": st.none() | st.integers(1, 24 * 15),  # hours: a later execute with a new card
})


def _first_never(c) -> bool:
    return (c["first_advice"] in NEVER_ADVICE or c["first_network_code"] in CATEGORY_1
            or c["original"] in BLOCK_CODES)


def _answer_never(a: Attempt) -> bool:
    return (a.advice_code in NEVER_ADVICE or a.network_code in CATEGORY_1
            or a.decline_code in BLOCK_CODES)


@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(campaign=campaigns)
def test_no_attempt_breaks_a_network_rule_and_no_card_awaiting_credentials_is_charged(app, campaign):
    clock = app.extensions["revtain.clock"]
    clock.freeze(START)
    client = app.test_client()
    token = f"test_decline_{campaign['answer']}"
    if campaign["answer_advice"]:
        token += f"+advice:{campaign['answer_advice']}"
    if campaign["answer_network_code"]:
        token += f"+network:{campaign['answer_network_code']}"
    with app.app_context():
        merchant = onboard(name=f"Signals {next(_serial)}", webhook_url=None)
    headers = {"X-API-KEY": merchant.api_key}

    def execute(amount: int, card: str = token) -> None:
        body = {"paymentMethodToken": card, "amount": amount, "customerEmail": "jo@example.com"}
        for field, key in (("originalDeclineCode", "original"), ("merchantAdviceCode", "first_advice"),
                           ("networkDeclineCode", "first_network_code"), ("cardNetwork", "card_network")):
            if campaign[key] and card == token:
                body[field] = campaign[key]
        assert client.post("/api/recovery/execute", json=body, headers=headers).status_code < 500

    def run_due_until(limit: datetime) -> None:
        for _ in range(200):
            with app.app_context():
                due = db.session.execute(
                    select(func.min(Recovery.next_attempt_at)).where(
                        Recovery.client_id == merchant.client_id,
                        Recovery.status.in_((QUEUED, PROCESSING, UNKNOWN)),
                    )
                ).scalar()
                if due is None or due > limit:
                    return
                clock.freeze(max(due, clock.now()))
                ids = db.session.execute(
                    select(Recovery.id).where(Recovery.client_id == merchant.client_id,
                                              Recovery.status.in_((QUEUED, PROCESSING, UNKNOWN)),
                                              Recovery.next_attempt_at <= clock.now())
                ).scalars().all()
            for rid in ids:
                with app.app_context():
                    run_scheduled_attempt(rid)
        raise AssertionError("campaign did not settle")

    execute(5000)
    for n, gap in enumerate(campaign["gaps"], start=1):
        target = clock.now() + timedelta(hours=gap)
        run_due_until(target)
        clock.freeze(max(target, clock.now()))
        execute(5000 + n)
    if campaign["new_card_after"] is not None:
        target = START + timedelta(hours=campaign["new_card_after"])
        run_due_until(target)
        clock.freeze(max(target, clock.now()))
        execute(9000, card="pm_new_card")  # approved: it recharges the customer's open recoveries
    run_due_until(START + timedelta(days=60))

    with app.app_context():
        attempts = db.session.execute(
            select(Attempt).where(Attempt.client_id == merchant.client_id)
            .order_by(Attempt.created_at, Attempt.seq)
        ).scalars().all()
        recoveries = db.session.execute(
            select(Recovery).where(Recovery.client_id == merchant.client_id)
        ).scalars().all()
        reported = [(r.created_at, r.reported_token) for r in recoveries]

    on_card = [a for a in attempts if a.payment_method_token == token]
    first_never = _first_never(campaign)
    for a in on_card:
        earlier_reports = [at for at, card in reported if card == token and at <= a.created_at]
        # the first failure's signals hold for every later attempt on the card
        assert not (first_never and earlier_reports), "charged after a never-retry first failure"
        floor = ADVICE_FLOOR_HOURS.get(campaign["first_advice"] or "")
        if floor:
            assert all(a.created_at >= at + timedelta(hours=floor) for at in earlier_reports), \
                "first failure's advice floor broken"
        for earlier in on_card:
            if earlier.created_at >= a.created_at or earlier.id == a.id:
                continue
            assert not _answer_never(earlier), "charged after a never-retry answer"
            hours = ADVICE_FLOOR_HOURS.get(earlier.advice_code or "")
            if hours:
                assert a.created_at >= earlier.created_at + timedelta(hours=hours), "advice floor broken"
        # budgets over every attempt on the card, the reported failures included
        times = [x.created_at for x in on_card if x.created_at <= a.created_at and x.outcome != "error"]
        times += earlier_reports
        in_24h = sum(1 for t in times if t > a.created_at - timedelta(hours=24))
        in_30d = sum(1 for t in times if t > a.created_at - timedelta(days=30))
        if campaign["card_network"] in (None, "mastercard"):
            assert in_24h <= 10 and in_30d <= 35, "Mastercard budget broken"
        if campaign["card_network"] != "mastercard":
            assert in_30d <= 20, "Visa budget broken"
    # no card waiting for new credentials is charged by the recovery that waits
    for r in recoveries:
        own = [a for a in attempts if a.recovery_id == r.id]
        if campaign["original"] in NEW_CREDENTIALS and r.reported_token == token:
            assert all(a.payment_method_token != token for a in own), "charged a card awaiting a new one"
        for i, a in enumerate(own):
            if a.decline_code in NEW_CREDENTIALS or a.action == "new_credentials":
                later = own[i + 1:]
                assert all(x.payment_method_token != a.payment_method_token for x in later), \
                    "charged a card awaiting new credentials again"
