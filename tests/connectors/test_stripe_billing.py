"""The Stripe Billing connector end to end: Stripe's signed webhooks through a real server, the
real worker and scheduler, and the ``stripe`` library with only ``requests`` stubbed."""

from __future__ import annotations

import json

import pytest
import stripe

from revtain.connectors import accounts
from revtain.extensions import db
from revtain.models import Client, ConnectorEvent, OrganicSuccess, Recovery
from revtain.onboarding import onboard
from tests.gateways.stubs import StripeSession
from tests.support.jobs import run_jobs, sweep

from . import stripe_support as s
from .conftest import advance, charges, count, events, messages, post, publish_dunning, recoveries

PATH = "/api/connectors/stripe-billing/webhook/{}"


@pytest.fixture
def stripe_http(monkeypatch) -> StripeSession:
    session = StripeSession()
    real = stripe.RequestsClient
    monkeypatch.setattr(stripe, "RequestsClient",
                        lambda timeout=None, **kw: real(session=session, timeout=timeout))
    return session


@pytest.fixture
def merchant(app, receiver):
    with app.app_context():
        issued = onboard(name="Acme Inc", webhook_url=receiver.url, gateway="test", brand_name="Acme Cloud")
        accounts.set_up(db.session.get(Client, issued.client_id), "stripe-billing",
                        {"secret_key": s.SECRET_KEY, "webhook_secret": s.WEBHOOK_SECRET})
    return issued


def send(server, merchant, body: bytes, headers: dict | None = None):
    return post(server, PATH.format(merchant.client_id), body, s.signed(body) if headers is None else headers)


def reads_failed_invoice(http: StripeSession, decline_code: str = "insufficient_funds") -> StripeSession:
    """What processing a failure asks Stripe: the invoice's payments (with the intent expanded). The
    network's code matches the decline (51 is insufficient funds; 05 a plain do not honour)."""
    intent = s.failed_intent(decline_code)
    network = "51" if decline_code == "insufficient_funds" else "05"
    intent["last_payment_error"]["network_decline_code"] = network
    return http.reply(200, s.invoice_payments(s.invoice_payment(intent)))


def stops_retries(http: StripeSession) -> StripeSession:
    return http.reply(200, s.fixture("invoice_open", auto_advance=False))


def collects(http: StripeSession) -> StripeSession:
    return (http.reply(200, s.paid_invoice())
            .reply(200, s.invoice_payments(s.invoice_payment(s.PAYING_INTENT, "paid"))))


def test_a_failed_invoice_is_taken_over_and_collected_through_stripe(app, server, merchant, stripe_http,
                                                                     receiver):
    reads_failed_invoice(stripe_http)
    stops_retries(stripe_http)
    r = send(server, merchant, s.payment_failed())
    assert r.status_code == 200 and r.json() == {"received": True}
    assert len(stripe_http.requests) == 0  # the answer came before any work
    run_jobs(app)

    (recovery,) = recoveries(app)
    assert (recovery.source, recovery.source_ref, recovery.source_customer) == (
        "stripe-billing", s.INVOICE, s.CUSTOMER)
    assert recovery.payment_method_token == f"{s.OLD_PM}|{s.CUSTOMER}"
    assert (recovery.amount, recovery.currency, recovery.original_decline_code) == (4900, "USD",
                                                                                   "insufficient_funds")
    assert recovery.status == "queued" and recovery.idempotency_key == f"stripe-billing:{s.INVOICE}"
    read, stop = stripe_http.requests
    assert (read.method, read.path) == ("GET", "/v1/invoice_payments")
    assert read.query == {"invoice": s.INVOICE, "expand[0]": "data.payment.payment_intent", "limit": "10"}
    assert (stop.method, stop.path, stop.form) == ("POST", f"/v1/invoices/{s.INVOICE}",
                                                   {"auto_advance": "false"})
    assert stop.headers["Authorization"] == f"Bearer {s.SECRET_KEY}"

    # the smart retry, on the payday window: Stripe collects the invoice with the card it failed on
    collects(stripe_http)
    advance(app, days=5)
    sweep(app)
    pay, paid = stripe_http.requests[2:]
    assert (pay.method, pay.path) == ("POST", f"/v1/invoices/{s.INVOICE}/pay")
    assert pay.form == {"payment_method": s.OLD_PM, "off_session": "true"}
    assert pay.headers["Idempotency-Key"] == f"{recovery.id}-1"
    assert paid.query == {"invoice": s.INVOICE, "status": "paid", "limit": "1"}
    stripe_http.assert_done()

    sweep(app)
    (hook,) = receiver.wait_for(1)
    assert hook.json["event"] == "recovery.success"
    assert hook.json["revtainTransactionId"] == recovery.id
    assert hook.json["gatewayTransactionToken"] == s.PAYING_INTENT
    assert hook.json["amount"] == 4900 and hook.json["idempotencyKey"] == f"stripe-billing:{s.INVOICE}"
    (attempt,) = charges(app)
    assert (attempt.gateway, attempt.outcome) == ("platform:stripe-billing", "approved")
    (stored,) = events(app)
    assert (stored.status, stored.outcome, stored.kind) == ("processed", "recovery_queued", "payment_failed")
    assert json.loads(stored.body)["id"] == "evt_1SbQx4Failed0001"  # kept raw


def test_a_soft_decline_is_collected_at_once_and_a_new_decline_is_queued(app, server, merchant, stripe_http):
    reads_failed_invoice(stripe_http, "do_not_honor")
    stops_retries(stripe_http)
    stripe_http.reply(402, s.card_declined("insufficient_funds"))
    send(server, merchant, s.payment_failed())
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "queued" and recovery.last_decline_code == "insufficient_funds"
    (attempt,) = charges(app)
    assert (attempt.decline_code, attempt.advice_code, attempt.network_code) == (
        "insufficient_funds", "try_again_later", "51")
    stripe_http.assert_done()


def test_the_same_event_three_times_charges_and_emails_once(app, server, merchant, stripe_http, receiver):
    publish_dunning(app, merchant.client_id)
    reads_failed_invoice(stripe_http, "do_not_honor")
    stops_retries(stripe_http)
    stripe_http.reply(402, s.card_declined("insufficient_funds"))
    body = s.payment_failed()
    answers = [send(server, merchant, body) for _ in range(3)]
    assert [a.json() for a in answers] == [{"received": True}, {"received": True, "duplicate": True},
                                           {"received": True, "duplicate": True}]
    run_jobs(app)
    # a second delivery of the same failure with a new event id (Stripe retried the invoice itself)
    reads_failed_invoice(stripe_http, "insufficient_funds")
    send(server, merchant, s.payment_failed(event_id="evt_1SbQx9Failed0002"))
    sweep(app)
    sweep(app)
    assert len(recoveries(app)) == 1 and len(charges(app)) == 1
    assert [m.status for m in messages(app)] == ["sent"]
    assert [e.outcome for e in events(app)] == ["recovery_queued", "duplicate_invoice"]
    stripe_http.assert_done()


def test_success_before_failure_starts_nothing(app, server, merchant, stripe_http, receiver):
    stripe_http.reply(200, s.invoice_payments(s.invoice_payment(s.PAYING_INTENT, "paid")))
    succeeded = s.event("payment_intent.succeeded", s.fixture("payment_intent_succeeded"),
                        event_id="evt_3SbR11Paid0001", created=s.FAILED_AT + 3600)
    send(server, merchant, succeeded)
    run_jobs(app)
    reads_failed_invoice(stripe_http)  # the failure, delivered late
    send(server, merchant, s.payment_failed())
    run_jobs(app)
    assert recoveries(app) == [] and charges(app) == []
    assert [e.outcome for e in events(app)] == ["organic_success", "already_paid"]
    assert count(app, OrganicSuccess) == 1
    assert receiver.requests == []
    stripe_http.assert_done()


def test_a_card_update_that_overtook_the_failure_is_the_card_charged(app, server, merchant, stripe_http,
                                                                    receiver):
    attached = s.event("payment_method.attached", s.fixture("payment_method_new"),
                       event_id="evt_1SbR02Attached01", created=s.FAILED_AT + 600)
    send(server, merchant, attached)
    run_jobs(app)
    reads_failed_invoice(stripe_http, "do_not_honor")
    stops_retries(stripe_http)
    collects(stripe_http)
    send(server, merchant, s.payment_failed())
    run_jobs(app)
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "succeeded" and recovery.payment_method_token == f"{s.NEW_PM}|{s.CUSTOMER}"
    (attempt,) = charges(app)
    assert attempt.payment_method_token == f"{s.NEW_PM}|{s.CUSTOMER}"
    pay = stripe_http.requests[2]
    assert pay.path == f"/v1/invoices/{s.INVOICE}/pay" and pay.form["payment_method"] == s.NEW_PM
    assert [e.outcome for e in events(app)] == ["no_open_recovery", "recovery_recovered"]
    stripe_http.assert_done()


def test_a_card_attached_later_retries_the_open_recovery_and_fires_card_updated(app, server, merchant,
                                                                               stripe_http, receiver):
    publish_dunning(app, merchant.client_id)
    reads_failed_invoice(stripe_http)
    stops_retries(stripe_http)
    send(server, merchant, s.payment_failed())
    run_jobs(app)
    collects(stripe_http)
    attached = s.event("payment_method.attached", s.fixture("payment_method_new"),
                       event_id="evt_1SbR02Attached01", created=s.FAILED_AT + 600)
    send(server, merchant, attached)
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "succeeded"
    updated, success = sorted((h.json for h in receiver.wait_for(2)), key=lambda j: j["event"])
    assert updated["event"] == "card.updated"
    assert updated["oldPaymentMethodToken"] == f"{s.OLD_PM}|{s.CUSTOMER}"
    assert updated["newPaymentMethodToken"] == f"{s.NEW_PM}|{s.CUSTOMER}"
    assert success["event"] == "recovery.success" and success["trigger"] == "card_updated"
    assert stripe_http.requests[2].form["payment_method"] == s.NEW_PM
    stripe_http.assert_done()


def test_without_hand_off_revtain_watches_and_closes_on_the_platforms_payment(app, server, merchant,
                                                                             stripe_http, receiver):
    with app.app_context():
        accounts.set_hand_off(accounts.get(merchant.client_id, "stripe-billing"), False)
    reads_failed_invoice(stripe_http, "do_not_honor")
    send(server, merchant, s.payment_failed())
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "queued" and recovery.strategy_used == "platform_retry"
    assert recovery.next_attempt_at is None and charges(app) == []
    status = json.loads(send_status(app, merchant, recovery.id))
    assert status["pending"] is True and status["nextRetryAt"] is None

    paid = s.event("invoice.paid", s.paid_invoice(), event_id="evt_1SbR12Paid0002",
                   created=s.FAILED_AT + 7200)
    send(server, merchant, paid)
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "succeeded" and recovery.strategy_used == "paid_elsewhere"
    (hook,) = receiver.wait_for(1)
    assert hook.json["event"] == "recovery.success" and hook.json["strategyUsed"] == "paid_elsewhere"
    assert count(app, OrganicSuccess) == 1
    stripe_http.assert_done()  # no stop, no pay: Stripe kept retrying alone


def send_status(app, merchant, transaction_id: str) -> str:
    client = app.test_client()
    return client.get(f"/api/recovery/status/{transaction_id}",
                      headers={"X-API-KEY": merchant.api_key}).get_data(as_text=True)


@pytest.mark.parametrize(("headers", "why"), [
    (lambda body: s.signed(body, secret="whsec_" + "x" * 32), "wrong secret"),
    (lambda body: {"Content-Type": "application/json"}, "no signature"),
    (lambda body: s.signed(body, timestamp=int(__import__("time").time()) - 600), "ten minutes old"),
    (lambda body: s.signed(body, timestamp=int(__import__("time").time()) + 600), "ten minutes ahead"),
    (lambda body: {**s.signed(body), "Stripe-Signature": "t=1,v1=deadbeef"}, "garbage"),
])
def test_unsigned_or_wrongly_signed_is_401_and_stores_nothing(app, server, merchant, stripe_http, headers,
                                                              why):
    body = s.payment_failed()
    r = send(server, merchant, body, headers(body))
    assert r.status_code == 401, why
    assert r.json()["error"] == "Unauthorized"
    assert count(app, ConnectorEvent) == 0 and count(app, Recovery) == 0


def test_a_signed_body_that_is_not_json_is_400(app, server, merchant):
    body = b"event=invoice.payment_failed"
    r = send(server, merchant, body)
    assert r.status_code == 400 and r.json()["error"] == "Validation failed."
    assert count(app, ConnectorEvent) == 0


@pytest.mark.parametrize("path", [
    "/api/connectors/stripe-billing/webhook/00000000-0000-4000-8000-000000000000",
    "/api/connectors/stripe-billing/webhook/not-a-uuid",
    "/api/connectors/zuora/webhook/{client}",
    "/api/connectors/chargebee/webhook/{client}",  # a known platform this client has not set up
])
def test_unknown_clients_and_connectors_are_404(app, server, merchant, path):
    body = s.payment_failed()
    r = post(server, path.format(client=merchant.client_id), body, s.signed(body))
    assert r.status_code == 404 and r.json()["error"].endswith("not found.")
    assert count(app, ConnectorEvent) == 0


def test_other_event_types_are_acknowledged_and_ignored(app, server, merchant, stripe_http):
    body = s.event("customer.updated", {"id": s.CUSTOMER, "object": "customer"}, event_id="evt_1Other")
    r = send(server, merchant, body)
    assert r.status_code == 200 and r.json() == {"received": True, "ignored": True}
    (stored,) = events(app)
    assert stored.status == "ignored"
    run_jobs(app)
    assert stripe_http.requests == []


def test_an_unreachable_stripe_is_tried_again_later(app, server, merchant, stripe_http):
    import requests as real_requests

    stripe_http.fail(real_requests.exceptions.ConnectionError("connection refused"))
    send(server, merchant, s.payment_failed())
    run_jobs(app)
    (stored,) = events(app)
    assert stored.status == "received" and "Stripe" in stored.error and recoveries(app) == []
    reads_failed_invoice(stripe_http)
    stops_retries(stripe_http)
    advance(app, seconds=31)
    sweep(app)
    (stored,) = events(app)
    assert stored.status == "processed" and len(recoveries(app)) == 1
    stripe_http.assert_done()


def test_a_recovery_started_without_the_hand_off_stays_stripes_when_the_hand_off_is_turned_on(
    app, server, merchant, stripe_http, receiver
):
    """Stripe was never told to stop retrying that invoice: charging it now would retry the card
    from both sides. The hand-off applies to invoices that fail after it is turned on."""
    with app.app_context():
        accounts.set_hand_off(accounts.get(merchant.client_id, "stripe-billing"), False)
    reads_failed_invoice(stripe_http, "do_not_honor")
    send(server, merchant, s.payment_failed())
    run_jobs(app)
    with app.app_context():
        accounts.set_hand_off(accounts.get(merchant.client_id, "stripe-billing"), True)
    attached = s.event("payment_method.attached", s.fixture("payment_method_new"),
                       event_id="evt_1SbR02Attached01", created=s.FAILED_AT + 600)
    send(server, merchant, attached)
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.strategy_used == "platform_retry" and charges(app) == []
    assert recovery.payment_method_token == f"{s.NEW_PM}|{s.CUSTOMER}"
    assert [e.outcome for e in events(app)] == ["recovery_queued", "card_updated_platform_retries"]
    stripe_http.assert_done()  # no stop, no pay


def test_the_platforms_network_advice_on_the_failure_is_honoured(app, server, merchant, stripe_http,
                                                                 receiver):
    """Stripe reports Mastercard's advice 03 (do not try again) on the failed invoice's payment: the
    connector passes it on, so the card is never charged and the recovery waits for a new card."""
    intent = s.failed_intent("insufficient_funds")
    intent["last_payment_error"]["network_advice_code"] = "03"
    intent["last_payment_error"]["network_decline_code"] = "51"
    stripe_http.reply(200, s.invoice_payments(s.invoice_payment(intent)))
    stops_retries(stripe_http)
    send(server, merchant, s.payment_failed())
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "awaiting_card"
    assert recovery.judgement["first"]["never_reason"] == "advice_code:03"
    advance(app, days=30)
    sweep(app)
    assert charges(app) == []
    stripe_http.assert_done()
