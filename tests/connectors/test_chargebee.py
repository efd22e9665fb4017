"""The Chargebee connector end to end: Chargebee's webhooks (basic auth) through a real server, the
real worker and scheduler, and the ``chargebee`` library with only its HTTP transport stubbed."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest

from revtain.connectors import accounts
from revtain.connectors.accounts import ConnectorSetupError
from revtain.extensions import db
from revtain.gateways.platforms import for_platform
from revtain.gateways.platforms.chargebee import HAND_OFF_COMMENT
from revtain.models import Client, ConnectorEvent, OrganicSuccess, Recovery
from revtain.onboarding import onboard
from tests.support.jobs import run_jobs, sweep

from . import chargebee_support as c
from .conftest import advance, charges, count, events, messages, post, publish_dunning, recoveries

PATH = "/api/connectors/chargebee/webhook/{}"
RETRY_TXN = "txn_AzyfjvVPNSe7M2Qx"


@pytest.fixture
def chargebee_http(monkeypatch) -> c.ChargebeeHttp:
    return c.ChargebeeHttp().install(monkeypatch)


@pytest.fixture
def merchant(app, receiver):
    with app.app_context():
        issued = onboard(name="Acme Inc", webhook_url=receiver.url, gateway="test", brand_name="Acme Cloud")
        accounts.set_up(db.session.get(Client, issued.client_id), "chargebee", c.CREDENTIALS)
    return issued


def send(server, merchant, body: bytes, headers: dict | None = None):
    return post(server, PATH.format(merchant.client_id), body, c.basic_auth() if headers is None else headers)


def stops_dunning(http: c.ChargebeeHttp) -> c.ChargebeeHttp:
    return http.reply(200, c.dunning_stopped())


def collects(http: c.ChargebeeHttp) -> c.ChargebeeHttp:
    return http.reply(200, c.collected())


def declines(http: c.ChargebeeHttp, decline_code: str = "insufficient_funds") -> c.ChargebeeHttp:
    """``collect_payment`` refused with Chargebee's payment error, then the failed transaction."""
    txn = c.failed_transaction(decline_code)
    txn["id"], txn["date"] = RETRY_TXN, int(time.time())
    return http.reply(400, c.fixture("payment_error")).reply(200, c.payments_for_invoice(txn))


def test_a_failed_payment_is_taken_over_and_collected_through_chargebee(app, server, merchant, chargebee_http,
                                                                        receiver):
    stops_dunning(chargebee_http)
    r = send(server, merchant, c.payment_failed())
    assert r.status_code == 200 and r.json() == {"received": True}
    assert chargebee_http.requests == []  # the answer came before any work
    run_jobs(app)

    (recovery,) = recoveries(app)
    assert (recovery.source, recovery.source_ref, recovery.source_customer) == (
        "chargebee", c.INVOICE, c.CUSTOMER)
    assert recovery.payment_method_token == c.OLD_SOURCE
    assert (recovery.amount, recovery.currency, recovery.original_decline_code) == (4900, "USD",
                                                                                   "insufficient_funds")
    assert recovery.customer_email == "ada@example.com"
    assert recovery.status == "queued" and recovery.idempotency_key == f"chargebee:{c.INVOICE}"
    (stop,) = chargebee_http.requests
    assert (stop.method, stop.host, stop.path) == ("POST", f"{c.SITE}.chargebee.com",
                                                   f"/invoices/{c.INVOICE}/stop_dunning")
    assert stop.form == {"comment": HAND_OFF_COMMENT}
    assert stop.basic_user == c.API_KEY

    # the smart retry, on the payday window: Chargebee collects the invoice with the payment source
    collects(chargebee_http)
    advance(app, days=5)
    sweep(app)
    pay = chargebee_http.requests[1]
    assert (pay.method, pay.path) == ("POST", f"/invoices/{c.INVOICE}/collect_payment")
    assert pay.form == {"payment_source_id": c.OLD_SOURCE, "amount": "4900", "payment_initiator": "merchant"}
    assert pay.headers["chargebee-idempotency-key"] == f"{recovery.id}-1"
    assert pay.headers["content-type"] == "application/x-www-form-urlencoded"
    assert pay.basic_user == c.API_KEY
    chargebee_http.assert_done()

    sweep(app)
    (hook,) = receiver.wait_for(1)
    assert hook.json["event"] == "recovery.success"
    assert hook.json["revtainTransactionId"] == recovery.id
    assert hook.json["gatewayTransactionToken"] == c.PAYING_TXN
    assert hook.json["amount"] == 4900 and hook.json["idempotencyKey"] == f"chargebee:{c.INVOICE}"
    (attempt,) = charges(app)
    assert (attempt.gateway, attempt.outcome) == ("platform:chargebee", "approved")
    (stored,) = events(app)
    assert (stored.status, stored.outcome, stored.kind) == ("processed", "recovery_queued", "payment_failed")
    assert json.loads(stored.body)["id"] == "ev_AzyfjvVPNRs9x1Ks"  # kept raw


def test_a_soft_decline_is_collected_at_once_and_a_new_decline_is_queued(app, server, merchant,
                                                                         chargebee_http):
    stops_dunning(chargebee_http)
    declines(chargebee_http, "insufficient_funds")
    send(server, merchant, c.payment_failed(decline_code="do_not_honor"))
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "queued" and recovery.last_decline_code == "insufficient_funds"
    (attempt,) = charges(app)
    assert (attempt.outcome, attempt.decline_code, attempt.advice_code, attempt.network_code) == (
        "declined", "insufficient_funds", "try_again_later", "51")
    assert attempt.gateway_transaction_id == RETRY_TXN
    stop, pay, failed = chargebee_http.requests
    assert stop.path == f"/invoices/{c.INVOICE}/stop_dunning"
    assert pay.path == f"/invoices/{c.INVOICE}/collect_payment"
    assert (failed.method, failed.path, failed.query) == (
        "GET", f"/invoices/{c.INVOICE}/payments", {"limit": "1"})
    chargebee_http.assert_done()


def test_a_decline_is_not_read_off_the_failure_that_started_the_recovery(app, server, merchant,
                                                                        chargebee_http):
    stops_dunning(chargebee_http)
    chargebee_http.reply(400, c.fixture("payment_error"))
    chargebee_http.reply(200, c.payments_for_invoice(c.failed_transaction("stolen_card")))  # days old
    send(server, merchant, c.payment_failed(decline_code="do_not_honor"))
    run_jobs(app)
    (attempt,) = charges(app)
    assert (attempt.outcome, attempt.decline_code, attempt.gateway_transaction_id) == (
        "declined", "payment_processing_failed", None)
    chargebee_http.assert_done()


def test_the_same_event_three_times_charges_and_emails_once(app, server, merchant, chargebee_http, receiver):
    publish_dunning(app, merchant.client_id)
    stops_dunning(chargebee_http)
    declines(chargebee_http, "insufficient_funds")
    body = c.payment_failed(decline_code="do_not_honor")
    answers = [send(server, merchant, body) for _ in range(3)]
    assert [a.json() for a in answers] == [{"received": True}, {"received": True, "duplicate": True},
                                           {"received": True, "duplicate": True}]
    run_jobs(app)
    # another failure of the same invoice under a new event id (someone pressed Collect Now)
    send(server, merchant, c.payment_failed(event_id="ev_AzyfjvVPNSb4T2Oz"))
    sweep(app)
    sweep(app)
    assert len(recoveries(app)) == 1 and len(charges(app)) == 1
    assert [m.status for m in messages(app)] == ["sent"]
    assert [e.outcome for e in events(app)] == ["recovery_queued", "duplicate_invoice"]
    chargebee_http.assert_done()


def test_success_before_failure_starts_nothing(app, server, merchant, chargebee_http, receiver):
    publish_dunning(app, merchant.client_id)
    send(server, merchant, c.payment_succeeded())
    run_jobs(app)
    send(server, merchant, c.payment_failed())  # the failure, delivered late
    run_jobs(app)
    assert recoveries(app) == [] and charges(app) == [] and messages(app) == []
    assert [e.outcome for e in events(app)] == ["organic_success", "already_paid"]
    assert count(app, OrganicSuccess) == 1
    assert receiver.requests == []
    chargebee_http.assert_done()
    assert chargebee_http.requests == []  # the events carried all it took


def test_a_card_update_that_overtook_the_failure_is_the_card_charged(app, server, merchant, chargebee_http,
                                                                    receiver):
    publish_dunning(app, merchant.client_id)
    send(server, merchant, c.payment_source_updated())
    run_jobs(app)
    stops_dunning(chargebee_http)
    collects(chargebee_http)
    send(server, merchant, c.payment_failed(decline_code="do_not_honor"))
    run_jobs(app)
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "succeeded" and recovery.payment_method_token == c.NEW_SOURCE
    assert len(charges(app)) == 1
    pay = chargebee_http.requests[1]
    assert pay.path == f"/invoices/{c.INVOICE}/collect_payment"
    assert pay.form["payment_source_id"] == c.NEW_SOURCE
    assert [e.outcome for e in events(app)] == ["no_open_recovery", "recovery_recovered"]
    assert [m for m in messages(app) if m.status == "sent"] == []
    chargebee_http.assert_done()


def test_a_card_added_later_retries_the_open_recovery_and_fires_card_updated(app, server, merchant,
                                                                            chargebee_http, receiver):
    publish_dunning(app, merchant.client_id)
    stops_dunning(chargebee_http)
    send(server, merchant, c.payment_failed())
    run_jobs(app)
    # payment_source_added carrying only the customer: the payment source is read from Chargebee
    chargebee_http.reply(200, {"payment_source": c.fixture("payment_source_new")})
    collects(chargebee_http)
    added = c.payment_source_updated(event_type="payment_source_added", with_source=False)
    send(server, merchant, added)
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "succeeded" and recovery.payment_method_token == c.NEW_SOURCE
    updated, success = sorted((h.json for h in receiver.wait_for(2)), key=lambda j: j["event"])
    assert updated["event"] == "card.updated"
    assert updated["oldPaymentMethodToken"] == c.OLD_SOURCE
    assert updated["newPaymentMethodToken"] == c.NEW_SOURCE
    assert success["event"] == "recovery.success" and success["trigger"] == "card_updated"
    read, pay = chargebee_http.requests[1:]
    assert (read.method, read.path) == ("GET", f"/payment_sources/{c.NEW_SOURCE}")
    assert pay.form["payment_source_id"] == c.NEW_SOURCE
    assert [e.outcome for e in events(app)] == ["recovery_queued", "retried_recovered"]
    chargebee_http.assert_done()


def test_the_hand_off_reaches_chargebee_before_any_charge(app, server, merchant, chargebee_http):
    chargebee_http.reply(503, {"message": "Sorry, the server is currently unable to handle the request",
                               "type": "operation_failed", "api_error_code": "internal_temporary_error"})
    send(server, merchant, c.payment_failed(decline_code="do_not_honor"))
    run_jobs(app)
    (stored,) = events(app)
    assert stored.status == "received" and "internal_temporary_error" in stored.error
    assert recoveries(app) == [] and charges(app) == []  # Chargebee still dunning: nothing charged

    stops_dunning(chargebee_http)
    collects(chargebee_http)
    advance(app, seconds=31)
    sweep(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "succeeded"
    assert [(r.method, r.path) for r in chargebee_http.requests] == [
        ("POST", f"/invoices/{c.INVOICE}/stop_dunning"),
        ("POST", f"/invoices/{c.INVOICE}/stop_dunning"),
        ("POST", f"/invoices/{c.INVOICE}/collect_payment"),
    ]
    chargebee_http.assert_done()


def test_an_invoice_chargebee_no_longer_duns_is_still_taken_over(app, server, merchant, chargebee_http):
    chargebee_http.reply(400, c.invalid_state())  # stop_dunning: the dunning is already over
    collects(chargebee_http)
    send(server, merchant, c.payment_failed(decline_code="do_not_honor"))
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "succeeded"
    chargebee_http.assert_done()


def test_without_hand_off_revtain_watches_and_closes_on_the_platforms_payment(app, server, merchant,
                                                                             chargebee_http, receiver):
    with app.app_context():
        accounts.set_hand_off(accounts.get(merchant.client_id, "chargebee"), False)
    send(server, merchant, c.payment_failed(decline_code="do_not_honor"))
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "queued" and recovery.strategy_used == "platform_retry"
    assert recovery.next_attempt_at is None and charges(app) == []

    send(server, merchant, c.payment_succeeded(occurred_at=c.FAILED_AT + 7200))
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "succeeded" and recovery.strategy_used == "paid_elsewhere"
    (hook,) = receiver.wait_for(1)
    assert hook.json["event"] == "recovery.success" and hook.json["strategyUsed"] == "paid_elsewhere"
    assert count(app, OrganicSuccess) == 1
    assert chargebee_http.requests == []  # no stop_dunning, no collect_payment: Chargebee retried alone
    chargebee_http.assert_done()


def test_a_lost_answer_is_reconciled_from_the_invoice(app, server, merchant, chargebee_http, receiver):
    stops_dunning(chargebee_http)
    chargebee_http.fail(httpx.ReadTimeout("timed out"))
    send(server, merchant, c.payment_failed(decline_code="do_not_honor"))
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "unknown" and charges(app)[0].outcome == "unknown"

    chargebee_http.reply(200, {"invoice": c.paid_invoice()})
    advance(app, seconds=61)
    sweep(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "succeeded" and recovery.gateway_transaction_id == c.PAYING_TXN
    read = chargebee_http.requests[-1]
    assert (read.method, read.path) == ("GET", f"/invoices/{c.INVOICE}")
    assert len([r for r in chargebee_http.requests if r.path.endswith("/collect_payment")]) == 1
    chargebee_http.assert_done()


def _auth(user: str, password: str) -> dict[str, str]:
    return c.basic_auth(user, password)


@pytest.mark.parametrize(("headers", "why"), [
    (_auth(c.WEBHOOK_USER, "wrong-password-123"), "wrong password"),
    (_auth("someone", c.WEBHOOK_PASSWORD), "wrong username"),
    ({"Content-Type": "application/json"}, "no Authorization header"),
    ({"Content-Type": "application/json", "Authorization": "Bearer " + c.WEBHOOK_PASSWORD}, "not basic"),
    ({"Content-Type": "application/json", "Authorization": "Basic !!not-base64!!"}, "garbage"),
    ({"Content-Type": "application/json",
      "Authorization": "Basic " + base64.b64encode(c.WEBHOOK_PASSWORD.encode()).decode()}, "no colon"),
])
def test_wrong_or_missing_basic_auth_is_401_and_stores_nothing(app, server, merchant, chargebee_http, headers,
                                                               why):
    r = send(server, merchant, c.payment_failed(), headers)
    assert r.status_code == 401, why
    assert r.json()["error"] == "Unauthorized"
    assert c.WEBHOOK_PASSWORD not in r.text
    assert count(app, ConnectorEvent) == 0 and count(app, Recovery) == 0
    assert chargebee_http.requests == []


@pytest.mark.parametrize(("body", "why"), [
    (b"event_type=payment_failed&id=ev_1", "form-encoded, not JSON"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b'["ev_AzyfjvVPNRs9x1Ks"]', "JSON, not an event"),
    (b'{"id": "ev_AzyfjvVPNRs9x1Ks", "event_type": "payment_failed"}', "no content"),
    (json.dumps({**json.loads(c.payment_failed()), "api_version": "v1"}).encode(), "API version v1"),
])
def test_a_body_that_is_not_a_chargebee_event_is_400(app, server, merchant, body, why):
    r = send(server, merchant, body)
    assert r.status_code == 400, why
    assert r.json()["error"] == "Validation failed."
    assert count(app, ConnectorEvent) == 0


def test_another_clients_password_does_not_open_this_clients_webhook(app, server, merchant, receiver):
    with app.app_context():
        other = onboard(name="Other Inc", webhook_url=receiver.url, gateway="test")
        accounts.set_up(db.session.get(Client, other.client_id), "chargebee",
                        {**c.CREDENTIALS, "webhook_password": "an0ther-clients-Pa55word"})
    r = post(server, PATH.format(other.client_id), c.payment_failed(), c.basic_auth())
    assert r.status_code == 401
    r = post(server, PATH.format("00000000-0000-4000-8000-000000000000"), c.payment_failed(), c.basic_auth())
    assert r.status_code == 404
    assert count(app, ConnectorEvent) == 0


def test_other_event_types_are_acknowledged_and_ignored(app, server, merchant, chargebee_http):
    content = {"subscription": c.fixture("subscription"), "customer": c.fixture("customer")}
    body = c.event("subscription_renewed", content, event_id="ev_AzyfjvVPNOther01")
    r = send(server, merchant, body)
    assert r.status_code == 200 and r.json() == {"received": True, "ignored": True}
    (stored,) = events(app)
    assert stored.status == "ignored"
    run_jobs(app)
    assert chargebee_http.requests == []


def test_an_unreachable_chargebee_is_tried_again_later(app, server, merchant, chargebee_http):
    # a failure without the customer: the customer (email, primary payment source) is read from Chargebee
    chargebee_http.fail(httpx.ConnectError("connection refused"))
    send(server, merchant, c.payment_failed(with_customer=False))
    run_jobs(app)
    (stored,) = events(app)
    assert stored.status == "received" and "Chargebee" in stored.error and recoveries(app) == []
    assert c.API_KEY not in stored.error

    chargebee_http.reply(200, {"customer": c.fixture("customer")})
    stops_dunning(chargebee_http)
    advance(app, seconds=31)
    sweep(app)
    (stored,) = events(app)
    assert stored.status == "processed" and len(recoveries(app)) == 1
    assert recoveries(app)[0].customer_email == "ada@example.com"
    read = chargebee_http.requests[1]
    assert (read.method, read.path) == ("GET", f"/customers/{c.CUSTOMER}")
    chargebee_http.assert_done()


def test_set_up_checks_the_credentials_and_the_client_never_shows_the_key(app, merchant):
    with app.app_context():
        client = db.session.get(Client, merchant.client_id)
        for bad, why in [({"site": "acme.evil.com/x"}, "site"), ({"webhook_password": "short"}, "password"),
                         ({"webhook_username": "a:b"}, "username"), ({"api_key": ""}, "API key")]:
            with pytest.raises(ConnectorSetupError):
                accounts.set_up(client, "chargebee", {**c.CREDENTIALS, **bad})
            assert why
        account = accounts.set_up(client, "chargebee", {**c.CREDENTIALS, "site": "https://Acme-Test.chargebee.com/"})
        stored = accounts.credentials_of(account)
        assert stored["site"] == c.SITE
        assert c.API_KEY not in account.credentials_encrypted
        platform = for_platform("chargebee", json.dumps(stored))
        assert c.API_KEY not in repr(platform) and c.API_KEY not in str(platform)
        setup = accounts.instructions(client.id, "chargebee")
        assert setup.url.endswith(f"/api/connectors/chargebee/webhook/{client.id}")
        assert "Settings → Configure Chargebee → Webhooks" in setup.setup and "payment_failed" in setup.setup
