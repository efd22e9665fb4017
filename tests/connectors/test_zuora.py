"""The Zuora connector end to end: Zuora's callouts (Basic auth) through a real server, the real worker
and scheduler, and Zuora's REST API reached through ``requests`` with only its HTTP layer stubbed."""

from __future__ import annotations

import json

import pytest
import requests

from revtain.connectors import accounts
from revtain.connectors.accounts import ConnectorSetupError
from revtain.extensions import db
from revtain.gateways.platforms import for_platform
from revtain.models import Client, ConnectorEvent, OrganicSuccess, Recovery
from revtain.onboarding import onboard
from tests.support.jobs import run_jobs, sweep

from . import zuora_support as z
from .conftest import advance, charges, count, events, hand_off, messages, post, publish_dunning, recoveries
from .requests_support import RequestsHttp

PATH = "/api/connectors/zuora/webhook/{}"
API = z.BASE_URL


@pytest.fixture
def zuora_http(monkeypatch) -> RequestsHttp:
    return RequestsHttp(label="Zuora").install(monkeypatch)


@pytest.fixture
def merchant(app, receiver):
    with app.app_context():
        issued = onboard(name="Acme Inc", webhook_url=receiver.url, gateway="test", brand_name="Acme Cloud")
        accounts.set_up(db.session.get(Client, issued.client_id), "zuora", z.CREDENTIALS)
    return issued


def send(server, merchant, body: bytes, headers: dict | None = None):
    return post(server, PATH.format(merchant.client_id), body, z.basic_auth() if headers is None else headers)


def reads_failure(
    http: RequestsHttp,
    *,
    default_method: str = z.OLD_METHOD,
    code: str = "insufficient_funds",
    network: str = "51",
) -> RequestsHttp:
    """What processing a Payment.Failure asks Zuora: sign in, the payment, its parts, the invoice, the
    account."""
    http.reply(200, z.signed_in()).reply(
        200, z.fixture("payment_declined", gatewayResponseCode=code, networkResponseCode=network)
    )
    return http.reply(200, z.parts()).reply(200, z.invoice()).reply(200, z.account(default_method))


def test_a_declined_payment_is_watched_and_closed_when_zuora_collects_it(
    app, server, merchant, zuora_http, receiver
):
    reads_failure(zuora_http)
    r = send(server, merchant, z.payment_failure())
    assert r.status_code == 200 and r.json() == {"received": True}
    assert zuora_http.requests == []  # the answer came before any work
    run_jobs(app)

    (recovery,) = recoveries(app)
    assert (recovery.source, recovery.source_ref, recovery.source_customer) == ("zuora", z.INVOICE, z.ACCOUNT)
    assert recovery.payment_method_token == z.token_of(z.OLD_METHOD)
    assert (recovery.amount, recovery.currency, recovery.original_decline_code) == (
        4900,
        "USD",
        "insufficient_funds",
    )
    assert recovery.customer_email == "ada@example.com" and recovery.idempotency_key == f"zuora:{z.INVOICE}"
    # Zuora's retries are the merchant's setting: the hand-off starts off, Revtain charges nothing
    assert recovery.status == "queued" and recovery.strategy_used == "platform_retry"
    assert recovery.next_attempt_at is None and charges(app) == []
    sign_in = zuora_http.requests[0]
    assert (sign_in.method, sign_in.url) == ("POST", f"{API}/oauth/token")
    assert sign_in.form == {
        "client_id": z.CLIENT_ID,
        "client_secret": z.CLIENT_SECRET,
        "grant_type": "client_credentials",
    }
    assert zuora_http.calls()[1:] == [
        ("GET", f"/v1/payments/{z.DECLINED_PAYMENT}"),
        ("GET", f"/v1/payments/{z.DECLINED_PAYMENT}/parts"),
        ("GET", f"/v1/invoices/{z.INVOICE}"),
        ("GET", f"/v1/accounts/{z.ACCOUNT}"),
    ]
    assert all(r.headers["Authorization"] == f"Bearer {z.ACCESS_TOKEN}" for r in zuora_http.requests[1:])
    assert all(r.timeout == (10, 60) for r in zuora_http.requests)

    # Zuora's payment run collects it: its Payment Processed callout closes the recovery
    zuora_http.reply(200, z.signed_in()).reply(200, z.succeeded_payment()).reply(200, z.parts())
    send(server, merchant, z.payment_success())
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "succeeded" and recovery.strategy_used == "paid_elsewhere"
    (hook,) = receiver.wait_for(1)
    assert hook.json["event"] == "recovery.success" and hook.json["strategyUsed"] == "paid_elsewhere"
    assert count(app, OrganicSuccess) == 1
    assert [e.outcome for e in events(app)] == ["recovery_queued", "closed_paid_elsewhere"]
    assert json.loads(events(app)[0].body) == {
        "event": "Payment.Failure",
        "paymentId": z.DECLINED_PAYMENT,
        "accountId": z.ACCOUNT,
    }  # kept raw
    zuora_http.assert_done()


def test_with_the_hand_off_revtain_collects_the_invoice_through_zuora(
    app, server, merchant, zuora_http, receiver
):
    hand_off(app, merchant.client_id, "zuora")
    reads_failure(zuora_http)
    send(server, merchant, z.payment_failure())
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "queued" and recovery.next_attempt_at is not None
    assert len(zuora_http.requests) == 5  # nothing asked of Zuora to stop: its retries are a setting

    # the smart retry, on the payday window: a new electronic payment applied to the invoice
    zuora_http.reply(200, z.signed_in()).reply(200, z.processed_payment())
    advance(app, days=5)
    sweep(app)
    pay = zuora_http.requests[6]
    assert (pay.method, pay.url) == ("POST", f"{API}/v1/payments")
    assert pay.json == {
        "accountId": z.ACCOUNT,
        "amount": 49.0,
        "currency": "USD",
        "effectiveDate": pay.json["effectiveDate"],
        "paymentMethodId": z.OLD_METHOD,
        "type": "Electronic",
        "invoices": [{"invoiceId": z.INVOICE, "amount": 49.0}],
        "comment": "Revtain recovery",
    }
    assert pay.headers["Idempotency-Key"] == f"{recovery.id}-1"
    assert pay.headers["Authorization"] == f"Bearer {z.ACCESS_TOKEN}"
    assert pay.headers["Content-Type"] == "application/json"
    zuora_http.assert_done()

    sweep(app)
    (hook,) = receiver.wait_for(1)
    assert (
        hook.json["event"] == "recovery.success" and hook.json["gatewayTransactionToken"] == z.RETRY_PAYMENT
    )
    assert hook.json["amount"] == 4900 and hook.json["idempotencyKey"] == f"zuora:{z.INVOICE}"
    (attempt,) = charges(app)
    assert (attempt.gateway, attempt.outcome) == ("platform:zuora", "approved")


def test_an_amount_is_kept_exact_in_the_smallest_unit(app, server, merchant, zuora_http):
    zuora_http.reply(200, z.signed_in()).reply(200, z.declined_payment()).reply(200, z.parts())
    zuora_http.reply(200, z.invoice(balance=19.99, amount=19.99, currency="EUR")).reply(200, z.account())
    send(server, merchant, z.payment_failure())
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert (recovery.amount, recovery.currency) == (1999, "EUR")

    # an amount finer than the currency's smallest unit is refused, never rounded
    zuora_http.reply(200, z.signed_in()).reply(200, z.declined_payment(id="8ad0887e8e4b5a0a018e4c11b2a3f00d"))
    zuora_http.reply(200, z.parts(invoice="8ad09be48db5aba7018e3f0e1c5af00d"))
    zuora_http.reply(200, z.invoice(id="8ad09be48db5aba7018e3f0e1c5af00d", balance=10.005))
    send(server, merchant, z.payment_failure(payment="8ad0887e8e4b5a0a018e4c11b2a3f00d"))
    run_jobs(app)
    assert len(recoveries(app)) == 1
    assert events(app)[1].status == "failed" and "finer than the currency" in events(app)[1].error
    zuora_http.assert_done()


def test_a_soft_decline_is_collected_at_once_and_a_new_decline_is_queued(app, server, merchant, zuora_http):
    hand_off(app, merchant.client_id, "zuora")
    reads_failure(zuora_http, code="do_not_honor", network="05")
    zuora_http.reply(200, z.signed_in()).reply(200, z.declined_answer())
    send(server, merchant, z.payment_failure())
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "queued" and recovery.last_decline_code == "insufficient_funds"
    (attempt,) = charges(app)
    assert (attempt.outcome, attempt.decline_code) == ("declined", "insufficient_funds")
    assert zuora_http.calls()[-1] == ("POST", "/v1/payments")
    zuora_http.assert_done()


def test_the_same_callout_again_charges_and_emails_once(app, server, merchant, zuora_http, receiver):
    publish_dunning(app, merchant.client_id)
    reads_failure(zuora_http)
    answers = [send(server, merchant, z.payment_failure()) for _ in range(3)]  # Zuora's callout retries
    assert [a.json() for a in answers] == [
        {"received": True},
        {"received": True, "duplicate": True},
        {"received": True, "duplicate": True},
    ]
    run_jobs(app)
    # a later declined payment of the same invoice (the next payment run) joins the recovery
    reads_failure(zuora_http)
    zuora_http.requests.clear()
    send(server, merchant, z.payment_failure(payment="8ad0887e8e4b5a0a018e4c11b2a3aaaa"))
    sweep(app)
    assert len(recoveries(app)) == 1 and charges(app) == []
    assert [m.status for m in messages(app)] == ["sent"]
    assert [e.outcome for e in events(app)] == ["recovery_queued", "duplicate_invoice"]
    zuora_http.assert_done()


def test_success_before_failure_starts_nothing(app, server, merchant, zuora_http, receiver):
    publish_dunning(app, merchant.client_id)
    zuora_http.reply(200, z.signed_in()).reply(200, z.succeeded_payment()).reply(200, z.parts())
    send(server, merchant, z.payment_success())
    run_jobs(app)
    # the decline, delivered late: Zuora's invoice shows nothing due any more
    zuora_http.reply(200, z.signed_in()).reply(200, z.declined_payment()).reply(200, z.parts())
    zuora_http.reply(200, z.paid_invoice()).reply(200, z.account())
    send(server, merchant, z.payment_failure())
    run_jobs(app)
    assert recoveries(app) == [] and charges(app) == [] and messages(app) == []
    assert [e.outcome for e in events(app)] == ["organic_success", "nothing_due"]
    assert count(app, OrganicSuccess) == 1 and receiver.requests == []
    zuora_http.assert_done()


def test_a_card_update_that_overtook_the_failure_is_the_card_charged(app, server, merchant, zuora_http):
    hand_off(app, merchant.client_id, "zuora")
    zuora_http.reply(200, z.signed_in()).reply(200, z.account(z.NEW_METHOD)).reply(
        200, z.fixture("payment_method_new")
    )
    send(server, merchant, z.method_updated())
    run_jobs(app)
    # the decline arrives after: Zuora's account already collects with the new card
    reads_failure(zuora_http, default_method=z.NEW_METHOD, code="do_not_honor", network="05")
    zuora_http.reply(200, z.signed_in()).reply(200, z.processed_payment(method=z.NEW_METHOD))
    send(server, merchant, z.payment_failure())
    run_jobs(app)
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "succeeded" and recovery.payment_method_token == z.token_of(z.NEW_METHOD)
    assert zuora_http.requests[-1].json["paymentMethodId"] == z.NEW_METHOD
    assert [e.outcome for e in events(app)] == ["no_open_recovery", "recovery_recovered"]
    assert (events(app)[0].kind, events(app)[0].payment_method_token) == (
        "card_updated",
        z.token_of(z.NEW_METHOD),
    )
    zuora_http.assert_done()


def test_a_card_changed_later_retries_the_open_recovery_and_fires_card_updated(
    app, server, merchant, zuora_http, receiver
):
    hand_off(app, merchant.client_id, "zuora")
    reads_failure(zuora_http)
    send(server, merchant, z.payment_failure())
    run_jobs(app)
    zuora_http.reply(200, z.signed_in()).reply(200, z.account(z.NEW_METHOD)).reply(
        200, z.fixture("payment_method_new")
    )
    zuora_http.reply(200, z.signed_in()).reply(200, z.processed_payment(method=z.NEW_METHOD))
    send(server, merchant, z.method_updated())
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "succeeded" and recovery.payment_method_token == z.token_of(z.NEW_METHOD)
    updated, success = sorted((h.json for h in receiver.wait_for(2)), key=lambda j: j["event"])
    assert updated["event"] == "card.updated"
    assert updated["oldPaymentMethodToken"] == z.token_of(z.OLD_METHOD)
    assert updated["newPaymentMethodToken"] == z.token_of(z.NEW_METHOD)
    assert success["event"] == "recovery.success" and success["trigger"] == "card_updated"
    assert zuora_http.requests[-1].json["paymentMethodId"] == z.NEW_METHOD
    assert [e.outcome for e in events(app)] == ["recovery_queued", "retried_recovered"]
    zuora_http.assert_done()


def test_a_lost_answer_is_reconciled_from_the_invoice_never_by_paying_again(
    app, server, merchant, zuora_http
):
    hand_off(app, merchant.client_id, "zuora")
    reads_failure(zuora_http, code="do_not_honor", network="05")
    zuora_http.reply(200, z.signed_in()).fail(requests.ReadTimeout("read timed out"))
    send(server, merchant, z.payment_failure())
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "unknown" and charges(app)[0].outcome == "unknown"

    zuora_http.reply(200, z.signed_in()).reply(200, z.paid_invoice())
    advance(app, seconds=61)
    sweep(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "succeeded"
    assert zuora_http.calls()[-1] == ("GET", f"/v1/invoices/{z.INVOICE}")
    assert zuora_http.calls().count(("POST", "/v1/payments")) == 1
    zuora_http.assert_done()


def test_without_preemptive_authentication_zuora_gets_a_basic_challenge_first(app, server, merchant):
    r = send(server, merchant, z.payment_failure(), z.zuora_headers())  # Zuora's first try: no Authorization
    assert r.status_code == 401 and r.json()["error"] == "Unauthorized"
    assert r.headers["WWW-Authenticate"].startswith('Basic realm="Revtain connectors"')
    assert count(app, ConnectorEvent) == 0
    r = send(server, merchant, z.payment_failure())  # then with it
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        (z.basic_auth(z.WEBHOOK_USER, "wrong-password-123"), "wrong password"),
        (z.basic_auth("someone", z.WEBHOOK_PASSWORD), "wrong username"),
        ({**z.zuora_headers(), "Authorization": f"Bearer {z.WEBHOOK_PASSWORD}"}, "not basic"),
        ({**z.zuora_headers(), "Authorization": "Basic !!not-base64!!"}, "garbage"),
    ],
)
def test_a_wrong_pair_is_401_and_stores_nothing(app, server, merchant, zuora_http, headers, why):
    r = send(server, merchant, z.payment_failure(), headers)
    assert r.status_code == 401, why
    assert z.WEBHOOK_PASSWORD not in r.text
    assert count(app, ConnectorEvent) == 0 and count(app, Recovery) == 0
    assert zuora_http.requests == []


def test_another_clients_pair_unknown_clients_and_connectors_not_set_up(app, server, merchant, receiver):
    with app.app_context():
        other = onboard(name="Other Inc", webhook_url=receiver.url, gateway="test")
        accounts.set_up(
            db.session.get(Client, other.client_id),
            "zuora",
            {**z.CREDENTIALS, "webhook_password": "an0ther-clients-Pa55word"},
        )
        third = onboard(name="Third Inc", webhook_url=receiver.url, gateway="test")
    assert post(server, PATH.format(other.client_id), z.payment_failure(), z.basic_auth()).status_code == 401
    r = post(server, PATH.format("00000000-0000-4000-8000-000000000000"), z.payment_failure(), z.basic_auth())
    assert r.status_code == 404 and r.json() == {"error": "Client not found."}
    r = post(server, PATH.format(third.client_id), z.payment_failure(), z.basic_auth())
    assert r.status_code == 404 and r.json() == {"error": "Connector not found."}
    assert count(app, ConnectorEvent) == 0


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"paymentId=8ad0887e8e4b5a0a018e4c11b2a3712f", "form-encoded, not JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'["Payment.Failure"]', "JSON, not a callout"),
        (b'{"paymentId": "8ad0887e8e4b5a0a018e4c11b2a3712f"}', "no event"),
        (
            b'{"event": "Payment.Failure", "paymentId": "{{Payment.Id}}"}',
            "a merge field Zuora left unrendered",
        ),
    ],
)
def test_a_body_that_is_not_a_revtain_callout_is_400(app, server, merchant, body, why):
    r = send(server, merchant, body)
    assert r.status_code == 400, why
    assert r.json()["error"] == "Validation failed."
    assert count(app, ConnectorEvent) == 0


def test_other_events_are_acknowledged_and_ignored(app, server, merchant, zuora_http):
    r = send(server, merchant, z.callout("Invoice.Posted", invoiceId=z.INVOICE))
    assert r.status_code == 200 and r.json() == {"received": True, "ignored": True}
    (stored,) = events(app)
    assert stored.status == "ignored"
    run_jobs(app)
    assert zuora_http.requests == []


def test_an_unreachable_zuora_is_tried_again_later(app, server, merchant, zuora_http):
    zuora_http.fail(requests.ConnectionError("connection refused"))
    send(server, merchant, z.payment_failure())
    run_jobs(app)
    (stored,) = events(app)
    assert stored.status == "received" and "Zuora" in stored.error and recoveries(app) == []
    assert z.CLIENT_SECRET not in stored.error and z.CLIENT_ID not in stored.error

    zuora_http.reply(200, z.signed_in()).reply(
        503, {"success": False, "reasons": [{"code": 50000060, "message": "Internal error."}]}
    )
    advance(app, seconds=31)
    sweep(app)
    assert events(app)[0].status == "received" and "50000060" in events(app)[0].error

    reads_failure(zuora_http)
    advance(app, seconds=121)
    sweep(app)
    assert events(app)[0].status == "processed" and len(recoveries(app)) == 1
    zuora_http.assert_done()


def test_set_up_checks_the_credentials_and_the_client_never_shows_them(app, merchant):
    with app.app_context():
        client = db.session.get(Client, merchant.client_id)
        for bad, why in [
            ({"base_url": "https://rest.zuora.com.evil.example"}, "not a Zuora host"),
            ({"base_url": "http://rest.zuora.com"}, "not https"),
            ({"base_url": "https://rest.zuora.com/v1?x=1"}, "a path"),
            ({"webhook_password": "short"}, "password"),
            ({"client_secret": ""}, "secret"),
            ({"card_update_url": "http://billing.acme.example/card"}, "card page not https"),
        ]:
            with pytest.raises(ConnectorSetupError):
                accounts.set_up(client, "zuora", {**z.CREDENTIALS, **bad})
            assert why
        account = accounts.set_up(client, "zuora", {**z.CREDENTIALS, "base_url": "https://REST.zuora.com/"})
        stored = accounts.credentials_of(account)
        assert stored["base_url"] == "https://rest.zuora.com"
        assert z.CLIENT_SECRET not in account.credentials_encrypted
        platform = for_platform("zuora", json.dumps(stored))
        assert z.CLIENT_SECRET not in repr(platform) and z.CLIENT_ID not in repr(platform)
        setup = accounts.instructions(client.id, "zuora")
        assert setup.url.endswith(f"/api/connectors/zuora/webhook/{client.id}")
        assert "Payment.Failure" in setup.setup and "{{Payment.Id}}" in setup.setup
        assert (
            account.stop_platform_retries is False
            and "Configurable Payment Retry" in setup.hand_off_by_setting
        )
