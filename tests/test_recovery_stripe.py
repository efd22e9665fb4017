"""The recovery services on a Stripe client, through the real ``stripe`` library with only its
HTTP layer stubbed: what merchants on Stripe actually run."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import stripe
from sqlalchemy import select

from revtain.due_rows import claim
from revtain.extensions import db
from revtain.models import Attempt, Client, Recovery
from revtain.models.recovery import QUEUED
from revtain.onboarding import onboard
from revtain.recovery import cascade
from revtain.recovery.retry import run_scheduled_attempt
from tests.gateways.stubs import StripeSession, stripe_intent, stripe_json
from tests.support.jobs import sweep

START = "2026-03-16T12:00:00+00:00"  # a Monday
TOKEN = "pm_1RtQ7fLkdIwHu7ixVisa0001|cus_SpQ4fixture0001"


@pytest.fixture
def app(make_app):
    return make_app(FROZEN_NOW=START)


@pytest.fixture
def stripe_http(monkeypatch) -> StripeSession:
    """Every Stripe client the app builds talks to this stub instead of api.stripe.com."""
    session = StripeSession()
    real = stripe.RequestsClient
    monkeypatch.setattr(stripe, "RequestsClient", lambda timeout=None, **kw: real(session=session,
                                                                                 timeout=timeout))
    return session


@pytest.fixture
def merchant(app, receiver):
    with app.app_context():
        return onboard(name="Stripe Co", webhook_url=receiver.url, gateway="stripe",
                       gateway_credentials={"secret_key": "sk_test_" + "a" * 24},
                       timezone="America/New_York")


def execute(client, headers, **body):
    body = {"paymentMethodToken": TOKEN, "amount": 5000, **body}
    return client.post("/api/recovery/execute", json=body, headers=headers)


def advance(app, **delta) -> None:
    app.extensions["revtain.clock"].advance(timedelta(**delta))


def test_success_charges_off_session_with_the_attempt_key(app, client, headers, stripe_http, receiver):
    stripe_http.reply(200, stripe_intent())
    r = execute(client, headers, originalDeclineCode="do_not_honor")
    assert r.status_code == 200 and r.get_json()["success"] is True
    (sent,) = stripe_http.requests
    tx = r.get_json()["transactionId"]
    assert sent.path == "/v1/payment_intents" and sent.headers["Idempotency-Key"] == f"{tx}-1"
    assert sent.form["off_session"] == "true" and sent.form["amount"] == "5000"
    sweep(app)
    (hook,) = receiver.wait_for(1)
    assert hook.json["gatewayTransactionToken"] == "pi_3RtQ8sLkdIwHu7ix1aBcDeFg"


def test_a_stripe_decline_is_queued_on_a_payday_in_the_customers_time_zone(
    app, client, headers, stripe_http
):
    stripe_http.reply(402, stripe_json("card_declined_insufficient_funds"))
    r = execute(client, headers, originalDeclineCode="do_not_honor")
    assert r.status_code == 202
    body = r.get_json()
    # floor: a day after the failure (Tue 17th); first payday window after it: Friday 20th, 10:00
    # in New York (EDT, UTC-4)
    assert body["nextRetryAt"] == "2026-03-20T14:00:00.000Z"
    with app.app_context():
        (attempt,) = db.session.execute(select(Attempt)).scalars().all()
        assert (attempt.decline_code, attempt.advice_code, attempt.network_code) == (
            "insufficient_funds", "try_again_later", "51")


def test_a_lost_answer_is_reconciled_not_charged_again(app, client, headers, stripe_http, receiver):
    stripe_http.fail(requests.exceptions.ReadTimeout("read timed out"))
    r = execute(client, headers, originalDeclineCode="do_not_honor", idempotencyKey="inv_7")
    assert r.status_code == 202
    body = r.get_json()
    assert body["status"] == "unknown" and body["recommendedAction"] == "monitor"
    status = client.get(f"/api/recovery/status/{body['transactionId']}", headers=headers).get_json()
    assert status["status"] == "unknown" and status["pending"] is False

    # reconciliation: the customer's PaymentIntents show the charge went through
    attempt_key = f"{body['transactionId']}-1"
    stripe_http.reply(200, {"object": "list", "has_more": False, "url": "/v1/payment_intents",
                            "data": [stripe_intent(metadata={"revtain_attempt": attempt_key})]})
    advance(app, seconds=60)
    sweep(app)
    sweep(app)
    lookups = [r for r in stripe_http.requests if r.method == "GET"]
    creates = [r for r in stripe_http.requests if r.method == "POST"]
    assert len(lookups) == 1 and len(creates) == 1  # looked up, never charged twice
    (hook,) = receiver.wait_for(1)
    assert hook.json["event"] == "recovery.success" and hook.json["trigger"] == "reconciliation"
    status = client.get(f"/api/recovery/status/{body['transactionId']}", headers=headers).get_json()
    assert status["status"] == "succeeded"


def test_a_retry_job_that_died_after_charging_sends_the_same_key_and_records_one_charge(
    app, client, headers, stripe_http
):
    stripe_http.reply(402, stripe_json("card_declined_insufficient_funds"))
    tx = execute(client, headers, originalDeclineCode="do_not_honor").get_json()["transactionId"]
    advance(app, days=5)
    stripe_http.reply(200, stripe_intent()).reply(200, stripe_intent())
    with app.app_context():
        # first run: charges, then the worker dies before recording anything
        assert claim(Recovery, tx, "next_attempt_at", Recovery.status == QUEUED)
        recovery = db.session.get(Recovery, tx)
        recovery.scheduled_retries += 1
        cascade.run(db.session.get(Client, recovery.client_id), recovery, "smart_retry",
                    recovery.created_at)
        db.session.rollback()
    advance(app, seconds=app.config["CLAIM_LEASE_SECONDS"])
    with app.app_context():
        assert run_scheduled_attempt(tx) == "succeeded"
        assert run_scheduled_attempt(tx) == "skipped"  # and a duplicate job does nothing
        attempts = db.session.execute(select(Attempt).order_by(Attempt.seq)).scalars().all()
    retries = [r for r in stripe_http.requests if r.method == "POST"][1:]
    assert len(retries) == 2
    assert retries[0].headers["Idempotency-Key"] == retries[1].headers["Idempotency-Key"] == f"{tx}-2"
    assert [a.outcome for a in attempts] == ["declined", "approved"]  # one charge recorded
    stripe_http.assert_done()


def test_a_decline_cascades_to_the_backup_gateway_account(app, client, receiver, stripe_http):
    """A second Stripe account (another MID) as backup: its own key, the same saved card."""
    with app.app_context():
        merchant = onboard(name="Two MIDs", webhook_url=receiver.url, gateway="stripe",
                           gateway_credentials={"secret_key": "sk_test_" + "a" * 24},
                           backup_gateways=[("stripe", {"secret_key": "sk_test_" + "b" * 24})])
    stripe_http.reply(402, stripe_json("card_declined_insufficient_funds")).reply(200, stripe_intent())
    r = execute(client, {"X-API-KEY": merchant.api_key}, originalDeclineCode="do_not_honor")
    body = r.get_json()
    assert body["success"] is True
    assert body["strategyUsed"] == "backup_gateway" and body["gatewaysAttempted"] == 2
    primary, backup = stripe_http.requests
    assert primary.headers["Authorization"] == "Bearer sk_test_" + "a" * 24
    assert backup.headers["Authorization"] == "Bearer sk_test_" + "b" * 24
    assert primary.headers["Idempotency-Key"] != backup.headers["Idempotency-Key"]
    with app.app_context():
        gateways = [a.gateway for a in db.session.execute(select(Attempt).order_by(Attempt.seq)).scalars()]
    assert gateways == ["stripe", "stripe@backup1"]
