"""The Braintree subscriptions connector end to end: notifications made and signed by the
``braintree`` library's own helper, posted form-encoded to a real server, the real worker and
scheduler, and the ``braintree`` library with only its HTTP layer stubbed.

Braintree's retries are its retry logic, a Control Panel setting with no API, so the hand-off is off
by default; the tests that charge through Braintree turn it on (``handed_off``), as a merchant does
once Braintree's retries are off."""

from __future__ import annotations

import base64
import json

import pytest
import requests as real_requests
from braintree.util.crypto import Crypto

from revtain.connectors import accounts
from revtain.connectors import braintree as connector
from revtain.connectors.accounts import ConnectorSetupError
from revtain.extensions import db
from revtain.models import Client, ConnectorEvent, OrganicSuccess, Recovery
from revtain.onboarding import onboard
from tests.gateways.stubs import BraintreeHttp
from tests.support.jobs import run_jobs, sweep

from . import braintree_support as s
from .conftest import advance, charges, count, events, messages, post, publish_dunning, recoveries

PATH = "/api/connectors/braintree/webhook/{}"
MARCH_REF = f"{s.SUBSCRIPTION}:{s.MARCH[0]}"
TRANSACTIONS = f"{s.BASE}/transactions"


@pytest.fixture
def braintree_http(monkeypatch):
    """Every Braintree client the app builds talks to this stub (only ``Http.http_do`` replaced)."""
    stub = BraintreeHttp().install(monkeypatch)
    yield stub
    stub.assert_done()


@pytest.fixture
def merchant(app, receiver, braintree_http):
    with app.app_context():
        issued = onboard(name="Acme Inc", webhook_url=receiver.url, gateway="test", brand_name="Acme Cloud")
        accounts.set_up(db.session.get(Client, issued.client_id), "braintree", dict(s.CREDENTIALS))
    return issued


@pytest.fixture
def handed_off(app, merchant):
    """The merchant turned Braintree's retry logic off and the hand-off on (off by default)."""
    with app.app_context():
        accounts.set_hand_off(accounts.get(merchant.client_id, "braintree"), True)
    return merchant


def send(server, merchant, fields: dict[str, str]):
    body, headers = s.form(fields)
    return post(server, PATH.format(merchant.client_id), body, headers)


def failure(kind: str = "subscription_charged_unsuccessfully", **kwargs) -> dict[str, str]:
    return s.sample(kind, **kwargs)


def collects(http: BraintreeHttp, tx_id: str = s.COLLECTED) -> BraintreeHttp:
    """A charge: the subscription is read (still past due), then ``retry_charge`` is approved."""
    return (http.reply(200, s.march_failure())
            .reply(201, s.paid(tx_id, "2026-03-21T12:00:01Z", source="api")))


def assert_retry_charge(sent, amount: str = "49.00") -> None:
    assert (sent.method, sent.path) == ("POST", TRANSACTIONS)
    assert sent.xml.tag == "transaction"
    assert sent.xml.findtext("subscription_id") == s.SUBSCRIPTION
    assert sent.xml.findtext("amount") == amount
    assert sent.xml.findtext("type") == "sale"
    assert sent.xml.findtext("options/submit_for_settlement") == "true"
    assert sent.xml.find("payment_method_token") is None  # the subscription's own card


@pytest.mark.usefixtures("handed_off")
def test_a_failed_subscription_is_taken_over_and_collected_through_braintree(app, server, merchant,
                                                                             braintree_http, receiver):
    s.reads_failure(braintree_http, s.march_failure("2001"))
    r = send(server, merchant, failure())
    assert r.status_code == 200 and r.json() == {"received": True}
    assert braintree_http.requests == []  # the answer came before any work
    run_jobs(app)

    (recovery,) = recoveries(app)
    assert (recovery.source, recovery.source_ref, recovery.source_customer) == ("braintree", MARCH_REF,
                                                                                s.CUSTOMER)
    assert recovery.payment_method_token == f"{s.OLD_CARD}|{s.CUSTOMER}"
    assert (recovery.amount, recovery.currency, recovery.original_decline_code) == (4900, "USD",
                                                                                   "insufficient_funds")
    assert recovery.customer_email == s.EMAIL
    assert recovery.status == "queued" and recovery.idempotency_key == f"braintree:{MARCH_REF}"
    # What processing read; the hand-off calls nothing (Braintree has no API for its retries).
    assert [(r.method, r.path) for r in braintree_http.requests] == [
        ("GET", f"{s.BASE}/subscriptions/{s.SUBSCRIPTION}"),
        ("GET", f"{s.BASE}/merchant_accounts/{s.MERCHANT_ACCOUNT}"),
        ("GET", f"{s.BASE}/payment_methods/any/{s.OLD_CARD}"),
        ("GET", f"{s.BASE}/customers/{s.CUSTOMER}"),
    ]
    expected = "Basic " + base64.b64encode(f"{s.PUBLIC_KEY}:{s.PRIVATE_KEY}".encode()).decode()
    assert braintree_http.requests[0].headers["Authorization"] == expected

    # the smart retry: Braintree retries the subscription's charge with the card it holds
    collects(braintree_http)
    advance(app, days=5)
    sweep(app)
    find, charge = braintree_http.requests[4:]
    assert find.path == f"{s.BASE}/subscriptions/{s.SUBSCRIPTION}"
    assert_retry_charge(charge)
    sweep(app)
    (hook,) = receiver.wait_for(1)
    assert hook.json["event"] == "recovery.success"
    assert hook.json["revtainTransactionId"] == recovery.id
    assert hook.json["gatewayTransactionToken"] == s.COLLECTED
    assert hook.json["amount"] == 4900 and hook.json["idempotencyKey"] == f"braintree:{MARCH_REF}"
    (attempt,) = charges(app)
    assert (attempt.gateway, attempt.outcome) == ("platform:braintree", "approved")
    (stored,) = events(app)
    assert (stored.status, stored.outcome, stored.kind) == ("processed", "recovery_queued", "payment_failed")
    assert stored.event_type == "subscription_charged_unsuccessfully"
    assert stored.occurred_at.replace(tzinfo=None) == s.FAILED_AT.replace(tzinfo=None)
    assert "bt_payload=" in stored.body  # kept raw


@pytest.mark.usefixtures("handed_off")
def test_a_soft_decline_is_charged_at_once_and_a_new_decline_is_queued(app, server, merchant,
                                                                       braintree_http):
    s.reads_failure(braintree_http, s.march_failure("2000"))
    braintree_http.reply(200, s.march_failure("2000"))
    braintree_http.reply(422, s.retry_charge_declined(
        s.declined("d3c1m4r9", "2026-03-16T12:00:01Z", code="2001", source="api")))
    send(server, merchant, failure())
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "queued" and recovery.last_decline_code == "insufficient_funds"
    (attempt,) = charges(app)
    assert (attempt.outcome, attempt.network_code, attempt.gateway_transaction_id) == ("declined", "51",
                                                                                       "d3c1m4r9")
    assert_retry_charge(braintree_http.requests[-1])


@pytest.mark.usefixtures("handed_off")
def test_the_same_notification_three_times_and_braintree_reporting_it_again_charge_and_email_once(
        app, server, merchant, braintree_http, receiver):
    publish_dunning(app, merchant.client_id)
    s.reads_failure(braintree_http, s.march_failure("2000"))
    braintree_http.reply(200, s.march_failure("2000"))
    braintree_http.reply(422, s.retry_charge_declined(
        s.declined("d3c1m4r9", "2026-03-16T12:00:01Z", code="2001", source="api")))
    fields = failure()
    answers = [send(server, merchant, fields) for _ in range(3)]
    assert [a.json() for a in answers] == [{"received": True}, {"received": True, "duplicate": True},
                                           {"received": True, "duplicate": True}]
    run_jobs(app)
    # Braintree reports the same failure again: went past due, and its own retry three days later.
    again = s.subscription(s.declined("r3t2f4il", "2026-03-19T09:21:40Z"),
                           s.declined("d3c1m4r9", "2026-03-16T12:00:01Z", source="api"),
                           s.declined(s.DECLINED_MARCH, "2026-03-16T09:20:04Z", code="2000"),
                           s.paid(s.PAID_FEBRUARY, "2026-02-16T09:18:51Z", s.FEBRUARY), balance="49.00")
    s.reads_failure(braintree_http, again)
    s.reads_failure(braintree_http, again)
    send(server, merchant, failure("subscription_went_past_due", at=s.FAILED_AT.replace(second=5)))
    send(server, merchant, failure(at=s.FAILED_AT.replace(day=19)))
    sweep(app)
    sweep(app)
    assert len(recoveries(app)) == 1 and len(charges(app)) == 1
    assert [m.status for m in messages(app)] == ["sent"]
    outcomes = sorted(e.outcome for e in events(app))
    assert outcomes == ["duplicate_invoice", "duplicate_invoice", "recovery_queued"]
    assert {e.invoice_ref for e in events(app)} == {MARCH_REF}


def test_success_before_failure_starts_nothing(app, server, merchant, braintree_http, receiver):
    publish_dunning(app, merchant.client_id)
    braintree_http.reply(200, s.march_paid())
    send(server, merchant, s.sample("subscription_charged_successfully", at=s.FAILED_AT.replace(day=19)))
    run_jobs(app)
    s.reads_failure(braintree_http, s.march_paid())  # the failure, delivered late
    send(server, merchant, failure())
    run_jobs(app)
    assert recoveries(app) == [] and charges(app) == [] and messages(app) == []
    assert {e.event_type: (e.outcome, e.invoice_ref) for e in events(app)} == {
        "subscription_charged_successfully": ("organic_success", MARCH_REF),
        "subscription_charged_unsuccessfully": ("nothing_due", MARCH_REF),
    }
    assert count(app, OrganicSuccess) == 1
    assert receiver.requests == []


@pytest.mark.usefixtures("handed_off")
def test_a_later_cycles_failure_starts_a_new_recovery(app, server, merchant, braintree_http, receiver):
    s.reads_failure(braintree_http, s.march_failure("2001"))
    send(server, merchant, failure())
    run_jobs(app)
    braintree_http.reply(200, s.march_paid())  # the customer paid March another way
    send(server, merchant, s.sample("subscription_charged_successfully", at=s.FAILED_AT.replace(day=19)))
    run_jobs(app)
    (march,) = recoveries(app)
    assert march.status == "succeeded" and march.strategy_used == "paid_elsewhere"

    april = s.subscription(s.declined("d3c1a4r1", "2026-04-16T09:20:11Z", s.APRIL),
                           s.paid(s.RETRIED_MARCH, "2026-03-19T09:21:40Z"),
                           s.declined(s.DECLINED_MARCH, "2026-03-16T09:20:04Z"),
                           s.paid(s.PAID_FEBRUARY, "2026-02-16T09:18:51Z", s.FEBRUARY),
                           period=s.APRIL, paid_through=s.MARCH[1])
    s.reads_failure(braintree_http, april)
    advance(app, days=31)
    send(server, merchant, failure(at=s.FAILED_AT.replace(month=4)))
    run_jobs(app)
    march, new = recoveries(app)
    assert new.source_ref == f"{s.SUBSCRIPTION}:{s.APRIL[0]}" and new.status == "queued"
    assert new.idempotency_key != march.idempotency_key


def test_without_hand_off_revtain_charges_nothing_and_closes_on_the_successful_charge(app, server, merchant,
                                                                                     braintree_http,
                                                                                     receiver):
    with app.app_context():  # the default: Braintree's retry logic stays in charge
        assert accounts.get(merchant.client_id, "braintree").stop_platform_retries is False
    s.reads_failure(braintree_http, s.march_failure("2000"))
    send(server, merchant, failure())
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "queued" and recovery.strategy_used == "platform_retry"
    assert recovery.next_attempt_at is None and charges(app) == []

    braintree_http.reply(200, s.march_paid())  # Braintree's own retry paid it
    send(server, merchant, s.sample("subscription_charged_successfully", at=s.FAILED_AT.replace(day=19)))
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "succeeded" and recovery.strategy_used == "paid_elsewhere"
    assert recovery.gateway_transaction_id == s.RETRIED_MARCH
    (hook,) = receiver.wait_for(1)
    assert hook.json["event"] == "recovery.success" and hook.json["strategyUsed"] == "paid_elsewhere"
    assert count(app, OrganicSuccess) == 1
    assert not [r for r in braintree_http.requests if r.path == TRANSACTIONS]  # no retry_charge


def test_an_unreachable_braintree_is_tried_again_later(app, server, merchant, braintree_http):
    braintree_http.fail(real_requests.exceptions.ConnectionError("connection refused"))
    send(server, merchant, failure())
    run_jobs(app)
    (stored,) = events(app)
    assert stored.status == "received" and "Braintree" in stored.error and recoveries(app) == []
    s.reads_failure(braintree_http, s.march_failure("2001"))
    advance(app, seconds=31)
    sweep(app)
    (stored,) = events(app)
    assert stored.status == "processed" and len(recoveries(app)) == 1


def _forged_payload(xml: bytes) -> dict[str, str]:
    """A payload signed with the merchant's real keys that is not a notification."""
    payload = base64.encodebytes(xml).decode()
    return {"bt_signature": f"{s.PUBLIC_KEY}|{Crypto.sha1_hmac_hash(s.PRIVATE_KEY, payload)}",
            "bt_payload": payload}


def _tampered() -> dict[str, str]:
    fields = failure()
    payload = base64.decodebytes(fields["bt_payload"].encode()).replace(b"unsuccessfully", b"successfully")
    return {**fields, "bt_payload": base64.encodebytes(payload).decode()}


@pytest.mark.parametrize(("fields", "why"), [
    (lambda: failure(private_key="anotherprivatekey0123456789abcd"), "signed with another private key"),
    (lambda: failure(public_key="anotherpublic01"), "signed with another key pair's public key"),
    (lambda: {"bt_payload": failure()["bt_payload"]}, "no signature"),
    (lambda: {**failure(), "bt_signature": ""}, "an empty signature"),
    (lambda: {"bt_signature": failure()["bt_signature"]}, "a signature of nothing"),
    (_tampered, "a payload changed after signing"),
])
def test_unsigned_or_wrongly_signed_is_401_and_stores_nothing(app, server, merchant, fields, why):
    r = send(server, merchant, fields())
    assert r.status_code == 401, why
    assert r.json()["error"] == "Unauthorized"
    assert count(app, ConnectorEvent) == 0 and count(app, Recovery) == 0


@pytest.mark.parametrize(("body", "content_type"), [
    (json.dumps({"kind": "subscription_charged_unsuccessfully"}).encode(), "application/json"),
    (b"", "application/x-www-form-urlencoded"),
    (b"kind=subscription_went_past_due&subscription=acme", "application/x-www-form-urlencoded"),
    ("bt_payload=\u00e9t\u00e9".encode(), "application/x-www-form-urlencoded"),
])
def test_a_body_that_is_not_a_braintree_notification_is_400(app, server, merchant, body, content_type):
    r = post(server, PATH.format(merchant.client_id), body, {"Content-Type": content_type})
    assert r.status_code == 400 and r.json()["error"] == "Validation failed."
    assert count(app, ConnectorEvent) == 0


@pytest.mark.parametrize("xml", [b"<nope/>", b"not xml at all", b"<notification><kind/></notification>"])
def test_a_signed_payload_that_is_not_a_notification_is_400(app, server, merchant, xml):
    r = send(server, merchant, _forged_payload(xml))
    assert r.status_code == 400 and r.json()["error"] == "Validation failed."
    assert count(app, ConnectorEvent) == 0


def test_other_notifications_are_acknowledged_and_ignored(app, server, merchant, braintree_http):
    r = send(server, merchant, s.sample("check", ""))
    assert r.status_code == 200 and r.json() == {"received": True, "ignored": True}
    r = send(server, merchant, s.sample("subscription_canceled"))
    assert r.status_code == 200 and r.json() == {"received": True, "ignored": True}
    assert [e.status for e in events(app)] == ["ignored", "ignored"]
    run_jobs(app)
    assert braintree_http.requests == []


def test_unknown_clients_are_404(app, server, merchant):
    body, headers = s.form(failure())
    r = post(server, PATH.format("00000000-0000-4000-8000-000000000000"), body, headers)
    assert r.status_code == 404 and count(app, ConnectorEvent) == 0


@pytest.mark.parametrize(("credentials", "message"), [
    ({**s.CREDENTIALS, "environment": "live"}, "sandbox or production"),
    ({**s.CREDENTIALS, "private_key": ""}, "needs Private key"),
    ({"merchant_id": s.MERCHANT_ID}, "needs Public key, Private key, Environment"),
])
def test_set_up_checks_the_credentials(app, merchant, credentials, message):
    with app.app_context(), pytest.raises(ConnectorSetupError, match=message):
        accounts.set_up(db.session.get(Client, merchant.client_id), "braintree", credentials)


def test_set_up_tells_the_merchant_where_to_paste_the_url_and_to_turn_braintree_retries_off(app, merchant):
    with app.app_context():
        shown = accounts.instructions(merchant.client_id, "braintree")
    assert shown.url == f"http://revtain.test/api/connectors/braintree/webhook/{merchant.client_id}"
    for words in ("API → Webhooks", "Subscription Charged Unsuccessfully", "Subscription Went Past Due",
                  "Subscription Charged Successfully", "The hand-off is off until you turn it on", "no API"):
        assert words in shown.setup
    assert shown.hand_off_by_setting == connector.HAND_OFF_BY_SETTING
    for words in ("Settings → Processing → Recurring Billing → Retry Logic", "turn automatic retries off",
                  "leave subscriptions Past Due", "no API"):
        assert words in shown.hand_off_by_setting


def test_the_hand_off_is_off_by_default_and_the_merchant_may_turn_it_on(app, merchant, braintree_http):
    with app.app_context():
        assert accounts.get(merchant.client_id, "braintree").stop_platform_retries is False
        client = db.session.get(Client, merchant.client_id)
        account = accounts.set_up(client, "braintree", dict(s.CREDENTIALS), stop_platform_retries=True)
        assert account.stop_platform_retries is True
        assert accounts.set_hand_off(account, False).stop_platform_retries is False
    assert braintree_http.requests == []


# -- the platform client: collecting, re-runs and reconciliation ------------------------------------------


@pytest.fixture
def client(braintree_http):
    from revtain.gateways.platforms import for_platform

    return for_platform("braintree", json.dumps(s.CREDENTIALS))


def charge_request(token: str = f"{s.OLD_CARD}|{s.CUSTOMER}", amount: int = 4900):
    from revtain.gateways.base import ChargeRequest

    return ChargeRequest(token=token, amount=amount, currency="USD", idempotency_key="01JRECOVERY-2",
                         invoice_ref=MARCH_REF)


def test_a_new_card_is_set_on_the_subscription_without_proration_before_the_retry(client, braintree_http):
    moved = s.subscription(s.declined(s.DECLINED_MARCH, "2026-03-16T09:20:04Z"), card=s.NEW_CARD)
    braintree_http.reply(200, s.subscription(s.declined(s.DECLINED_MARCH, "2026-03-16T09:20:04Z")))
    braintree_http.reply(200, moved)
    braintree_http.reply(201, s.paid(s.COLLECTED, "2026-03-18T10:00:00Z", card=s.NEW_CARD, source="api"))
    result = client.charge(charge_request(f"{s.NEW_CARD}|{s.CUSTOMER}"))
    assert (result.outcome, result.transaction_id) == ("approved", s.COLLECTED)
    _, update, retry = braintree_http.requests
    assert (update.method, update.path) == ("PUT", f"{s.BASE}/subscriptions/{s.SUBSCRIPTION}")
    assert update.xml.findtext("payment_method_token") == s.NEW_CARD
    assert update.xml.findtext("options/prorate_charges") == "false"
    assert_retry_charge(retry)


def test_when_braintree_retries_on_the_card_change_that_charge_is_the_answer(client, braintree_http):
    retried = s.subscription(s.paid("pr0r4t3d", "2026-03-18T10:00:00Z", card=s.NEW_CARD),
                             s.declined(s.DECLINED_MARCH, "2026-03-16T09:20:04Z"),
                             s.paid(s.PAID_FEBRUARY, "2026-02-16T09:18:51Z", s.FEBRUARY),
                             status="Active", balance="0.00", card=s.NEW_CARD)
    braintree_http.reply(200, s.march_failure()).reply(200, retried)
    result = client.charge(charge_request(f"{s.NEW_CARD}|{s.CUSTOMER}"))
    assert (result.outcome, result.transaction_id) == ("approved", "pr0r4t3d")
    assert len(braintree_http.requests) == 2  # no retry_charge after it


def test_a_rerun_after_the_charge_went_through_answers_with_it_and_charges_nothing(client, braintree_http):
    braintree_http.reply(200, s.march_paid(s.COLLECTED, source="api"))
    result = client.charge(charge_request())
    assert (result.outcome, result.transaction_id) == ("approved", s.COLLECTED)
    assert [r.method for r in braintree_http.requests] == ["GET"]


def test_never_more_than_the_subscription_owes_now(client, braintree_http):
    braintree_http.reply(200, s.subscription(s.declined(s.DECLINED_MARCH, "2026-03-16T09:20:04Z"),
                                             balance="20.00"))
    braintree_http.reply(201, s.paid(s.COLLECTED, "2026-03-18T10:00:00Z", amount="20.00", source="api"))
    assert client.charge(charge_request(amount=4900)).approved
    assert_retry_charge(braintree_http.requests[1], amount="20.00")


def test_a_canceled_subscription_is_not_charged(client, braintree_http):
    braintree_http.reply(200, s.subscription(status="Canceled", balance="49.00"))
    result = client.charge(charge_request())
    assert (result.outcome, result.decline_code) == ("error", "subscription_canceled")


def test_braintree_unreachable_before_the_charge_is_unknown_and_looked_up_later(client, braintree_http):
    braintree_http.fail(real_requests.exceptions.ReadTimeout("read timed out"))
    result = client.charge(charge_request())
    assert (result.outcome, result.decline_code) == ("unknown", "gateway_timeout")


@pytest.mark.parametrize(("found", "expected"), [
    (lambda: s.march_failure(), None),
    (lambda: s.march_paid(s.COLLECTED, source="api"), ("approved", s.COLLECTED)),
    (lambda: s.subscription(status="Expired", balance="0.00"), ("error", None)),
    (lambda: s.subscription(s.paid("4uth0r1z", "2026-03-18T10:00:00Z", status="authorizing")),
     ("unknown", "4uth0r1z")),
])
def test_lookup_reads_the_subscription(client, braintree_http, found, expected):
    braintree_http.reply(200, found())
    result = client.lookup(charge_request())
    assert (None if result is None else (result.outcome, result.transaction_id)) == expected


def test_stop_retries_calls_nothing(client, braintree_http):
    assert client.stop_retries(MARCH_REF) is None
    assert braintree_http.requests == []
