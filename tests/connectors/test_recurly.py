"""The Recurly connector end to end: Recurly's signed JSON notifications through a real server, the
real worker and scheduler, and the ``recurly`` library with only its HTTPS connection stubbed.

Recurly's retries are a setting of the merchant's Recurly site (no API stops them for one invoice),
so the hand-off is off by default: Revtain starts a recovery that follows Recurly's retries (its
dunning runs), charges nothing itself, and closes it when Recurly reports the payment. A merchant
who had Recurly's retries switched off turns the hand-off on, and Revtain collects the invoice
through Recurly (``collect_invoice``) on its own schedule. Collecting (``RecurlyClient.charge``) and
reconciliation (``lookup``) are also tested through the SDK alone at the end of this module.
"""

from __future__ import annotations

import base64
import http.client
import json
import time

import pytest

from revtain.connectors import accounts
from revtain.connectors import recurly as connector
from revtain.connectors.accounts import ConnectorSetupError
from revtain.connectors.base import Unauthorized
from revtain.extensions import db
from revtain.gateways.base import ChargeRequest
from revtain.gateways.platforms import PlatformUnavailable, for_platform
from revtain.gateways.platforms.recurly import RecurlyClient, minor_units
from revtain.models import Client, ConnectorEvent, OrganicSuccess, Recovery
from revtain.onboarding import onboard
from tests.support.jobs import run_jobs, sweep

from . import recurly_support as s
from .conftest import advance, charges, count, events, messages, post, publish_dunning, recoveries
from .recurly_support import RecurlyAPI

PATH = "/api/connectors/recurly/webhook/{}"
TOKEN = f"{s.BILLING_INFO}|{s.ACCOUNT}"
NEW_TOKEN = f"{s.NEW_BILLING_INFO}|{s.ACCOUNT}"
BASIC = "Basic " + base64.b64encode(f"{s.API_KEY}:".encode()).decode()
CREDENTIALS = {"api_key": s.API_KEY, "webhook_secret": s.WEBHOOK_SECRET, "subdomain": s.SUBDOMAIN}


@pytest.fixture
def recurly_api(monkeypatch) -> RecurlyAPI:
    return RecurlyAPI().install(monkeypatch)


@pytest.fixture
def merchant(app, receiver):
    with app.app_context():
        issued = onboard(name="Acme Inc", webhook_url=receiver.url, gateway="test", brand_name="Acme Cloud")
        accounts.set_up(db.session.get(Client, issued.client_id), "recurly", CREDENTIALS)
    return issued


@pytest.fixture
def handed_off(app, merchant):
    """The merchant had Recurly's retries switched off and turned the hand-off on (off by default)."""
    with app.app_context():
        accounts.set_hand_off(accounts.get(merchant.client_id, "recurly"), True)
    return merchant


def send(server, merchant, body: bytes, headers: dict | None = None):
    return post(server, PATH.format(merchant.client_id), body, s.signed(body) if headers is None else headers)


def reads_failure(api: RecurlyAPI, *, invoice_state: str = "past_due",
                  billing_info: str = s.BILLING_INFO) -> RecurlyAPI:
    """What processing a failed payment asks Recurly: the transaction, its invoice, the account."""
    return (api.reply(200, s.fixture("transaction_declined"))
            .reply(200, s.invoice(invoice_state))
            .reply(200, s.account(billing_info)))


def reads_new_card(api: RecurlyAPI, billing_info: str = s.BILLING_INFO) -> RecurlyAPI:
    """The account after its billing info was updated: in place (the same id, a new card), or on a
    Wallet site a new billing info made primary."""
    return api.reply(200, s.account(billing_info, card_type="MasterCard", first_six="555555",
                                    last_four="4444"))


# -- the flow --------------------------------------------------------------------------------------


def test_a_failed_payment_is_followed_and_closed_when_recurly_collects(app, server, merchant, recurly_api,
                                                                      receiver):
    reads_failure(recurly_api)
    r = send(server, merchant, s.payment_failed())
    assert r.status_code == 200 and r.json() == {"received": True}
    assert recurly_api.requests == []  # the answer came before any work
    run_jobs(app)

    (recovery,) = recoveries(app)
    assert (recovery.source, recovery.source_ref, recovery.source_customer) == ("recurly", s.INVOICE,
                                                                               s.ACCOUNT)
    assert recovery.payment_method_token == TOKEN
    assert (recovery.amount, recovery.currency, recovery.original_decline_code) == (4900, "USD",
                                                                                   "insufficient_funds")
    assert recovery.customer_email == "dana@example.com"
    assert recovery.idempotency_key == f"recurly:{s.INVOICE}"
    assert (recovery.status, recovery.strategy_used, recovery.next_attempt_at) == ("queued", "platform_retry",
                                                                                  None)
    transaction, invoice, account = recurly_api.requests
    assert [(q.method, q.path) for q in recurly_api.requests] == [
        ("GET", f"/transactions/uuid-{s.FAILED_UUID}"), ("GET", f"/invoices/{s.INVOICE}"),
        ("GET", f"/accounts/{s.ACCOUNT}")]
    for sent in (transaction, invoice, account):
        assert (sent.host, sent.port, sent.body) == ("v3.recurly.com", 443, None)
        assert sent.headers["Authorization"] == BASIC
        assert sent.headers["Accept"] == f"application/vnd.recurly.{s.API_VERSION}"

    # Recurly retries on its own schedule: Revtain asks nothing and charges nothing meanwhile.
    advance(app, days=5)
    sweep(app)
    assert len(recurly_api.requests) == 3 and charges(app) == []

    recurly_api.reply(200, s.fixture("transaction_succeeded"))
    assert send(server, merchant, s.payment_succeeded()).json() == {"received": True}
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert (recovery.status, recovery.strategy_used) == ("succeeded", "paid_elsewhere")
    assert recovery.gateway_transaction_id == s.PAID_TRANSACTION
    assert recurly_api.requests[3].path == f"/transactions/uuid-{s.PAID_UUID}"
    (hook,) = receiver.wait_for(1)
    assert hook.json["event"] == "recovery.success" and hook.json["strategyUsed"] == "paid_elsewhere"
    assert hook.json["revtainTransactionId"] == recovery.id and hook.json["amount"] == 4900
    assert hook.json["idempotencyKey"] == f"recurly:{s.INVOICE}"
    assert count(app, OrganicSuccess) == 1 and charges(app) == []
    failed, paid = events(app)
    assert (failed.event_type, failed.kind, failed.outcome) == ("payment.failed", "payment_failed",
                                                                "recovery_queued")
    assert (paid.event_type, paid.kind, paid.outcome) == ("payment.succeeded", "payment_succeeded",
                                                          "closed_paid_elsewhere")
    assert json.loads(failed.body)["id"] == "rafhdbbf41mc"  # kept raw
    recurly_api.assert_done()


def test_the_same_event_three_times_starts_one_recovery_and_sends_one_email(app, server, merchant,
                                                                            recurly_api):
    publish_dunning(app, merchant.client_id)
    reads_failure(recurly_api)
    body = s.payment_failed()
    answers = [send(server, merchant, body) for _ in range(3)]
    assert [a.json() for a in answers] == [{"received": True}, {"received": True, "duplicate": True},
                                           {"received": True, "duplicate": True}]
    run_jobs(app)
    # Recurly's own next retry fails too: a new notification for a new transaction of the invoice.
    reads_failure(recurly_api)
    send(server, merchant, s.payment_failed(event_id="rafm3p7t1c2w", uuid="8e2d4c6a0b1f4e3d9c8b7a6f5e4d3c2b"))
    sweep(app)
    sweep(app)
    assert len(recoveries(app)) == 1 and charges(app) == []
    assert [m.status for m in messages(app)] == ["sent"]
    assert [e.outcome for e in events(app)] == ["recovery_queued", "duplicate_invoice"]
    recurly_api.assert_done()


@pytest.mark.parametrize(("invoice_state", "outcome"), [
    ("paid", "nothing_due"),  # the invoice as Recurly shows it by then
    ("past_due", "already_paid"),  # a stale read: the stored success still wins
])
def test_success_before_failure_starts_nothing(app, server, merchant, recurly_api, receiver, invoice_state,
                                               outcome):
    recurly_api.reply(200, s.fixture("transaction_succeeded"))
    send(server, merchant, s.payment_succeeded())
    run_jobs(app)
    reads_failure(recurly_api, invoice_state=invoice_state)  # the failure, delivered late
    send(server, merchant, s.payment_failed())
    run_jobs(app)
    assert recoveries(app) == [] and charges(app) == []
    assert [e.outcome for e in events(app)] == ["organic_success", outcome]
    assert count(app, OrganicSuccess) == 1
    assert receiver.requests == []
    recurly_api.assert_done()


def test_billing_info_updated_before_the_failure_is_the_billing_info_followed(app, server, merchant,
                                                                              recurly_api):
    publish_dunning(app, merchant.client_id)
    reads_new_card(recurly_api, s.NEW_BILLING_INFO)  # a Wallet site: a new billing info, made primary
    send(server, merchant, s.billing_info_updated())  # ten minutes after the failure, delivered first
    run_jobs(app)
    reads_failure(recurly_api, billing_info=s.NEW_BILLING_INFO)
    send(server, merchant, s.payment_failed())
    run_jobs(app)
    sweep(app)
    (recovery,) = recoveries(app)
    assert recovery.payment_method_token == NEW_TOKEN and recovery.status == "queued"
    assert charges(app) == [] and len(messages(app)) <= 1
    assert [e.outcome for e in events(app)] == ["no_open_recovery", "recovery_queued"]
    card = events(app)[0]
    assert (card.event_type, card.kind, card.payment_method_token) == ("billing_info.updated", "card_updated",
                                                                      NEW_TOKEN)
    recurly_api.assert_done()


def test_billing_info_updated_later_tells_the_merchant_and_leaves_the_retry_to_recurly(app, server, merchant,
                                                                                     recurly_api, receiver):
    reads_failure(recurly_api)
    send(server, merchant, s.payment_failed())
    run_jobs(app)
    reads_new_card(recurly_api)  # updated in place: the same billing info id, a new card behind it
    send(server, merchant, s.billing_info_updated())
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert (recovery.status, recovery.payment_method_token) == ("queued", TOKEN)
    assert charges(app) == []
    (updated,) = receiver.wait_for(1)
    assert updated.json["event"] == "card.updated"
    assert updated.json["oldPaymentMethodToken"] == updated.json["newPaymentMethodToken"] == TOKEN
    # Recurly retries at once with the new billing info, and it goes through.
    recurly_api.reply(200, s.fixture("transaction_succeeded"))
    send(server, merchant, s.payment_succeeded())
    run_jobs(app)
    assert recoveries(app)[0].status == "succeeded"
    assert [e.outcome for e in events(app)] == ["recovery_queued", "card_updated_platform_retries",
                                                "closed_paid_elsewhere"]
    assert sorted(h.json["event"] for h in receiver.wait_for(2)) == ["card.updated", "recovery.success"]
    recurly_api.assert_done()


# -- the hand-off: a setting of the merchant's Recurly site, off until they turn it on -----------------


def test_the_hand_off_is_off_by_default_and_set_up_says_what_to_switch_off_in_recurly(app, merchant,
                                                                                      recurly_api):
    with app.app_context():
        assert accounts.get(merchant.client_id, "recurly").stop_platform_retries is False
        assert accounts.default_hand_off("recurly") is False
        shown = accounts.instructions(merchant.client_id, "recurly")
    assert shown.hand_off_by_setting == connector.HAND_OFF_BY_SETTING
    for words in ("ask Recurly support to turn off automatic retries", "Configuration → Dunning Management",
                  "leave the invoice past due", "Until Recurly confirms its retries are off"):
        assert words in shown.hand_off_by_setting
    assert "The hand-off is off until you turn it on" in shown.setup


def test_the_merchant_may_turn_the_hand_off_on_and_off_and_recurly_is_asked_nothing(app, merchant,
                                                                                   recurly_api):
    with app.app_context():
        client = db.session.get(Client, merchant.client_id)
        account = accounts.set_up(client, "recurly", CREDENTIALS, stop_platform_retries=True)
        assert account.stop_platform_retries is True
        account = accounts.set_hand_off(accounts.get(merchant.client_id, "recurly"), False)
        assert account.stop_platform_retries is False
        assert accounts.set_hand_off(account, True).stop_platform_retries is True
        accounts.set_up(client, "recurly", CREDENTIALS)  # saved again without saying: the choice stays
        assert accounts.get(merchant.client_id, "recurly").stop_platform_retries is True
    # Nothing to call: the merchant switched Recurly's retries off in Recurly.
    assert for_platform("recurly", json.dumps(CREDENTIALS)).stop_retries(s.INVOICE) is None
    assert recurly_api.requests == []


def collected(recurly_api: RecurlyAPI, tx: dict | None = None) -> RecurlyAPI:
    """``collect_invoice`` answered with the invoice, paid."""
    body = s.invoice("paid")
    if tx is not None:
        body["transactions"][-1].update(tx)
    return recurly_api.reply(200, body)


def assert_collect(sent, recovery_id: str, attempt: int, billing_info: str = s.BILLING_INFO) -> None:
    assert (sent.method, sent.path, sent.host) == ("PUT", f"/invoices/{s.INVOICE}/collect", "v3.recurly.com")
    assert sent.json == {"billing_info_id": billing_info}
    assert sent.headers["Idempotency-Key"] == f"{recovery_id}-{attempt}"
    assert sent.headers["Authorization"] == BASIC
    assert sent.headers["Content-Type"] == "application/json"


@pytest.mark.usefixtures("handed_off")
def test_with_the_hand_off_on_a_failed_payment_is_taken_over_and_collected_through_recurly(
        app, server, merchant, recurly_api, receiver):
    reads_failure(recurly_api)
    r = send(server, merchant, s.payment_failed())
    assert r.status_code == 200 and r.json() == {"received": True}
    run_jobs(app)

    (recovery,) = recoveries(app)
    assert (recovery.source, recovery.source_ref, recovery.source_customer) == ("recurly", s.INVOICE,
                                                                               s.ACCOUNT)
    assert recovery.payment_method_token == TOKEN
    assert (recovery.amount, recovery.currency, recovery.original_decline_code) == (4900, "USD",
                                                                                   "insufficient_funds")
    assert recovery.status == "queued" and recovery.strategy_used != "platform_retry"
    assert recovery.next_attempt_at is not None  # Revtain's own smart retry, not Recurly's
    (stored,) = events(app)
    assert (stored.status, stored.outcome, stored.error) == ("processed", "recovery_queued", None)
    # What processing read; the hand-off asked Recurly nothing (no API for its retries).
    assert [(q.method, q.path) for q in recurly_api.requests] == [
        ("GET", f"/transactions/uuid-{s.FAILED_UUID}"), ("GET", f"/invoices/{s.INVOICE}"),
        ("GET", f"/accounts/{s.ACCOUNT}")]

    # the smart retry: Recurly collects the invoice on the billing info, with the attempt's key
    collected(recurly_api)
    advance(app, days=5)
    sweep(app)
    assert len(recurly_api.requests) == 4
    assert_collect(recurly_api.requests[3], recovery.id, 1)
    sweep(app)
    (hook,) = receiver.wait_for(1)
    assert hook.json["event"] == "recovery.success"
    assert hook.json["revtainTransactionId"] == recovery.id
    assert hook.json["gatewayTransactionToken"] == s.PAID_TRANSACTION
    assert hook.json["amount"] == 4900 and hook.json["idempotencyKey"] == f"recurly:{s.INVOICE}"
    (attempt,) = charges(app)
    assert (attempt.gateway, attempt.outcome) == ("platform:recurly", "approved")
    assert (attempt.payment_method_token, attempt.gateway_transaction_id) == (TOKEN, s.PAID_TRANSACTION)

    # Recurly then reports the payment Revtain collected: not an organic success, nothing more.
    recurly_api.reply(200, s.fixture("transaction_succeeded"))
    send(server, merchant, s.payment_succeeded())
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert (recovery.status, recovery.gateway_transaction_id) == ("succeeded", s.PAID_TRANSACTION)
    assert [e.outcome for e in events(app)] == ["recovery_queued", "already_recovered"]
    assert count(app, OrganicSuccess) == 0 and len(charges(app)) == 1
    assert [h.json["event"] for h in receiver.events()] == ["recovery.success"]  # no second one
    recurly_api.assert_done()


@pytest.mark.usefixtures("handed_off")
def test_with_the_hand_off_on_a_soft_decline_is_collected_at_once_and_a_new_decline_is_queued(
        app, server, merchant, recurly_api):
    recurly_api.reply(200, s.fixture("transaction_declined", status_code="declined"))
    recurly_api.reply(200, s.invoice()).reply(200, s.account())
    recurly_api.reply(422, s.fixture("transaction_error"))  # the collection: insufficient funds now
    send(server, merchant, s.payment_failed())
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.original_decline_code == "declined"
    assert (recovery.status, recovery.last_decline_code) == ("queued", "insufficient_funds")
    assert recovery.next_attempt_at is not None
    (attempt,) = charges(app)
    assert (attempt.gateway, attempt.outcome, attempt.decline_code) == ("platform:recurly", "declined",
                                                                       "insufficient_funds")
    assert attempt.gateway_transaction_id == "ohq3r8v2d6xk"
    assert_collect(recurly_api.requests[3], recovery.id, 1)
    (stored,) = events(app)
    assert stored.status == "processed" and stored.error is None
    recurly_api.assert_done()


@pytest.mark.usefixtures("handed_off")
def test_with_the_hand_off_on_updated_billing_info_is_collected_at_once(app, server, merchant, recurly_api,
                                                                        receiver):
    reads_failure(recurly_api)
    send(server, merchant, s.payment_failed())
    run_jobs(app)
    reads_new_card(recurly_api, s.NEW_BILLING_INFO)  # a Wallet site: a new billing info, made primary
    collected(recurly_api)
    send(server, merchant, s.billing_info_updated())
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert (recovery.status, recovery.payment_method_token) == ("succeeded", NEW_TOKEN)
    assert_collect(recurly_api.requests[-1], recovery.id, 1, billing_info=s.NEW_BILLING_INFO)
    assert [e.outcome for e in events(app)] == ["recovery_queued", "retried_recovered"]
    assert sorted(h.json["event"] for h in receiver.wait_for(2)) == ["card.updated", "recovery.success"]
    recurly_api.assert_done()


# -- what is refused -------------------------------------------------------------------------------


def _ms(seconds_from_now: float) -> int:
    return round((time.time() + seconds_from_now) * 1000)


@pytest.mark.parametrize(("headers", "why"), [
    (lambda body: s.signed(body, secret="f" * 32), "wrong secret"),
    (lambda body: {"Content-Type": "application/json"}, "no signature"),
    (lambda body: s.signed(body, timestamp_ms=_ms(-600)), "ten minutes old: a replay"),
    (lambda body: s.signed(body, timestamp_ms=_ms(+600)), "ten minutes ahead"),
    (lambda body: s.signed(s.payment_failed(event_id="other")), "another body's signature"),
    (lambda body: {"recurly-signature": str(_ms(0))}, "a timestamp, no signature"),
    (lambda body: {"recurly-signature": "soon," + s.signature(body, s.WEBHOOK_SECRET, _ms(0))}, "garbled"),
    (lambda body: {"recurly-signature": f"t={_ms(0) // 1000},v1=deadbeef"}, "Stripe's format"),
    (lambda body: {"recurly-signature": f"{_ms(0)},é"}, "not hex"),
])
def test_unsigned_or_wrongly_signed_is_401_and_stores_nothing(app, server, merchant, recurly_api, headers,
                                                              why):
    body = s.payment_failed()
    r = send(server, merchant, body, headers(body))
    assert r.status_code == 401, why
    assert r.json()["error"] == "Unauthorized" and r.json()["message"].startswith("recurly-signature")
    assert count(app, ConnectorEvent) == 0 and count(app, Recovery) == 0
    assert recurly_api.requests == []


def test_any_listed_signature_may_match(app, server, merchant, recurly_api):
    body = s.notification("account", "created", event_id="r3oplsj3zo7a", account_code=s.ACCOUNT_CODE)
    # During a key regeneration Recurly signs with the previous key as well; ours comes second.
    r = send(server, merchant, body, s.signed(body, also=("a" * 32,)))
    assert r.status_code == 200 and r.json() == {"received": True, "ignored": True}
    assert events(app)[0].event_type == "account.created"


@pytest.mark.parametrize("body", [b"<?xml version=\"1.0\"?><failed_payment_notification/>",
                                  b"[1, 2]", b'{"object_type": "payment", "event_type": "failed"}',
                                  b'{"id": "rafhdbbf41mc", "object_type": "payment"}', b"\xff\xfe"])
def test_a_signed_body_recurly_would_not_send_is_400(app, server, merchant, body):
    r = send(server, merchant, body)
    assert r.status_code == 400 and r.json()["error"] == "Validation failed."
    assert count(app, ConnectorEvent) == 0


def test_an_unknown_client_is_404(app, server, merchant):
    body = s.payment_failed()
    r = post(server, PATH.format("00000000-0000-4000-8000-000000000000"), body, s.signed(body))
    assert r.status_code == 404 and count(app, ConnectorEvent) == 0


def test_other_notifications_are_acknowledged_and_ignored(app, server, merchant, recurly_api):
    body = s.notification("subscription", "renewed", event_id="rafq0w2e4r6t", uuid="5c2e" * 8)
    assert send(server, merchant, body).json() == {"received": True, "ignored": True}
    (stored,) = events(app)
    assert (stored.status, stored.event_type) == ("ignored", "subscription.renewed")
    run_jobs(app)
    assert recurly_api.requests == []


@pytest.mark.parametrize("trouble", [
    ConnectionRefusedError(111, "Connection refused"),
    TimeoutError("timed out"),
    http.client.RemoteDisconnected("Remote end closed connection without response"),
    http.client.BadStatusLine("HTTP/1.1 ???"),
    (503, b"<html><body>Service Unavailable</body></html>", {"Content-Type": "text/html"}),
    (429, {"error": {"type": "rate_limited", "message": "You have made too many API requests in the last "
                                                         "5 minutes."}}, {}),
])
def test_an_unreachable_recurly_is_tried_again_later(app, server, merchant, recurly_api, trouble):
    if isinstance(trouble, BaseException):
        recurly_api.fail(trouble)
    else:
        recurly_api.reply(*trouble)
    send(server, merchant, s.payment_failed())
    run_jobs(app)
    (stored,) = events(app)
    assert stored.status == "received" and stored.error.startswith("Recurly: reading the failed transaction")
    assert s.API_KEY not in stored.error and recoveries(app) == []
    reads_failure(recurly_api)
    advance(app, seconds=31)
    sweep(app)
    (stored,) = events(app)
    assert stored.status == "processed" and len(recoveries(app)) == 1
    recurly_api.assert_done()


def test_a_transaction_recurly_does_not_know_fails_the_event(app, server, merchant, recurly_api):
    recurly_api.reply(404, {"error": {"type": "not_found",
                                      "message": f"Couldn't find Transaction with uuid = {s.FAILED_UUID}"}})
    send(server, merchant, s.payment_failed())
    run_jobs(app)
    (stored,) = events(app)
    assert stored.status == "failed" and stored.error.endswith("found nothing (not_found, HTTP 404)")
    recurly_api.assert_done()


# -- the module's own rules -------------------------------------------------------------------------


def test_the_signature_rules_at_the_edges():
    body = s.payment_failed()
    now = 1_773_662_402_000
    header = s.signed(body, timestamp_ms=now - connector.TOLERANCE_MS)["recurly-signature"]
    connector.verify(s.WEBHOOK_SECRET, header, body, now_ms=now)  # exactly five minutes: still fine
    with pytest.raises(Unauthorized, match="more than 5 minutes"):
        connector.verify(s.WEBHOOK_SECRET, header, body, now_ms=now + 1)
    spaced = header.replace(",", " , ")
    connector.verify(s.WEBHOOK_SECRET, spaced, body, now_ms=now)
    with pytest.raises(Unauthorized, match="no signature matches"):
        connector.verify(s.WEBHOOK_SECRET, header.upper(), body, now_ms=now)  # lowercase hex, as signed


def test_the_legacy_names_mean_the_same_events():
    assert all(connector.handled(name) for name in (
        "payment.failed", "failed_payment", "billing_info.updated", "billing_info_updated_notification",
        "payment.succeeded", "successful_payment"))
    assert not connector.handled("account.created") and not connector.handled("new_dunning_event")
    inbound = connector.parse({}, json.dumps({"id": "x1", "event_type": "failed_payment",
                                              "uuid": s.FAILED_UUID}).encode())
    assert inbound.event_type == "failed_payment" and connector.handled(inbound.event_type)


def test_credentials_are_checked_and_tidied(app, merchant):
    check = connector.check_credentials
    cleaned = check({"api_key": s.API_KEY, "webhook_secret": s.WEBHOOK_SECRET,
                     "subdomain": " https://Acme-Cloud.recurly.com/ ", "region": "EU", "extra": "dropped"})
    assert cleaned == {"api_key": s.API_KEY, "webhook_secret": s.WEBHOOK_SECRET, "subdomain": "acme-cloud",
                       "region": "eu"}
    with pytest.raises(ValueError, match="Webhook secret key"):
        check({"api_key": s.API_KEY, "subdomain": "acme"})
    with pytest.raises(ValueError, match="us or eu"):
        check({"api_key": s.API_KEY, "webhook_secret": "k", "subdomain": "acme", "region": "ap"})
    with pytest.raises(ValueError, match=r"xxx\.recurly\.com"):
        check({"api_key": s.API_KEY, "webhook_secret": "k", "subdomain": "acme cloud"})
    with app.app_context(), pytest.raises(ConnectorSetupError, match="private API key"):
        accounts.set_up(db.session.get(Client, merchant.client_id), "recurly",
                        {"api_key": "not a key", "webhook_secret": "k", "subdomain": "acme"})


@pytest.mark.parametrize(("amount", "currency", "minor"), [
    (49.0, "USD", 4900), (49.99, "USD", 4999), (0.07, "EUR", 7), (5000.0, "JPY", 5000),
    (12.345, "KWD", 12345), ("19.90", "GBP", 1990), (None, "USD", 0), (1234567.89, "USD", 123456789),
])
def test_amounts_become_the_smallest_unit_exactly(amount, currency, minor):
    assert minor_units(amount, currency) == minor


@pytest.mark.parametrize(("amount", "currency"), [(19.999, "USD"), (0.5, "JPY"), (1e-05, "EUR"),
                                                  (float("nan"), "USD"), (True, "USD"), ("ten", "USD")])
def test_amounts_finer_than_the_currency_are_refused_not_rounded(amount, currency):
    with pytest.raises(ValueError):
        minor_units(amount, currency)


# -- collecting through Recurly and reconciliation (the SDK, HTTP stubbed) ---------------------------


def _client(**kwargs) -> RecurlyClient:
    return RecurlyClient(s.API_KEY, **kwargs)


def _attempt(**overrides) -> ChargeRequest:
    return ChargeRequest(**{"token": TOKEN, "amount": 4900, "currency": "USD",
                            "idempotency_key": "01JQ3ZK8Y6VQ2M0R5T7W9XBCDE-2", "invoice_ref": s.INVOICE,
                            **overrides})


def test_collecting_goes_through_recurly_on_the_billing_info_with_the_attempts_key(recurly_api):
    recurly_api.reply(200, s.invoice("paid"))
    result = _client().charge(_attempt())
    assert (result.outcome, result.transaction_id) == ("approved", s.PAID_TRANSACTION)
    (collect,) = recurly_api.requests
    assert (collect.method, collect.path, collect.host) == ("PUT", f"/invoices/{s.INVOICE}/collect",
                                                            "v3.recurly.com")
    assert collect.json == {"billing_info_id": s.BILLING_INFO}
    assert collect.headers["Idempotency-Key"] == "01JQ3ZK8Y6VQ2M0R5T7W9XBCDE-2"
    assert collect.headers["Authorization"] == BASIC
    assert collect.headers["Accept"] == f"application/vnd.recurly.{s.API_VERSION}"
    assert collect.headers["Content-Type"] == "application/json"
    assert collect.headers["User-Agent"].startswith("Recurly/")
    recurly_api.assert_done()


def _three_ds() -> dict:
    body = s.fixture("transaction_error")
    body["error"]["transaction_error"].update(code="three_d_secure_action_required", decline_code=None,
                                              category="three_d_secure",
                                              three_d_secure_action_token_id="1S5gWYD2vT8qJwFzl3k9mA")
    return body


def _error(status: int, kind: str, message: str) -> tuple[int, dict]:
    return status, {"error": {"type": kind, "message": message}}


@pytest.mark.parametrize(("answers", "outcome", "code"), [
    ([(422, s.fixture("transaction_error"))], "declined", "insufficient_funds"),
    ([(422, _three_ds())], "declined", "authentication_required"),
    # Refused because an earlier try whose answer was lost paid it: the invoice says so.
    ([_error(422, "invalid_transition", "Invoice is not collectible"), (200, s.invoice("paid"))],
     "approved", None),
    ([_error(422, "missing_feature", "Wallet is not enabled"), (200, s.invoice())], "error",
     "invalid_request"),
    ([_error(401, "unauthorized", "Unauthorized")], "error", "gateway_auth_error"),
    ([_error(403, "invalid_api_key", "The API key is not valid")], "error", "gateway_auth_error"),
    ([_error(429, "rate_limited", "Too many requests")], "error", "rate_limited"),
    ([_error(404, "not_found", f"Couldn't find Invoice with id = {s.INVOICE}")], "error", "invalid_request"),
    ([_error(500, "internal_server_error", "Something went wrong")], "unknown", "gateway_error"),
    ([(502, b"<html>Bad Gateway</html>")], "unknown", "gateway_error"),
    ([TimeoutError("timed out")], "unknown", "gateway_timeout"),
    ([ConnectionResetError(104, "Connection reset by peer")], "unknown", "gateway_timeout"),
    ([http.client.IncompleteRead(b"{")], "unknown", "gateway_timeout"),
    ([(200, b"{not json")], "unknown", "gateway_error"),
    ([(200, s.invoice("processing"))], "unknown", None),
])
def test_collection_answers_map_like_the_gateways(recurly_api, answers, outcome, code):
    for answer in answers:
        if isinstance(answer, BaseException):
            recurly_api.fail(answer)
        elif isinstance(answer[1], bytes):
            recurly_api.reply(answer[0], answer[1], {"Content-Type": "text/html"} if answer[0] >= 500 else {})
        else:
            recurly_api.reply(*answer)
    result = _client().charge(_attempt())
    assert (result.outcome, result.decline_code) == (outcome, code)
    assert s.API_KEY not in (result.message or "")
    recurly_api.assert_done()


def test_a_declined_collection_keeps_recurlys_transaction_and_message(recurly_api):
    recurly_api.reply(422, s.fixture("transaction_error"))
    result = _client().charge(_attempt())
    assert result.transaction_id == "ohq3r8v2d6xk"
    assert result.message.startswith("The transaction was declined due to insufficient funds")


def test_nothing_is_collected_without_an_invoice(recurly_api):
    result = _client().charge(_attempt(invoice_ref=None))
    assert (result.outcome, result.decline_code) == ("error", "invalid_request")
    assert recurly_api.requests == []


@pytest.mark.parametrize(("answer", "expected"), [
    ((200, s.invoice("paid")), ("approved", s.PAID_TRANSACTION)),
    ((200, s.invoice("past_due")), None),  # still due: nothing was collected
    ((200, s.invoice("pending")), None),
    ((200, s.invoice("processing")), ("unknown", "ohpzxqzl7q5b")),  # the newest transaction
    ((200, s.invoice("failed")), ("error", None)),
    ((503, {"error": {"type": "service_unavailable", "message": "Down for maintenance"}}), ("unknown", None)),
])
def test_reconciliation_reads_the_invoice(recurly_api, answer, expected):
    recurly_api.reply(*answer)
    result = _client().lookup(_attempt())
    assert (None if result is None else (result.outcome, result.transaction_id)) == expected
    (read,) = recurly_api.requests
    assert (read.method, read.path) == ("GET", f"/invoices/{s.INVOICE}")
    recurly_api.assert_done()


def test_an_eu_site_is_asked_at_recurlys_eu_host(recurly_api):
    credentials = json.dumps({"api_key": s.API_KEY, "webhook_secret": s.WEBHOOK_SECRET, "region": "eu"})
    recurly_api.reply(200, s.fixture("transaction_succeeded"))
    fact = for_platform("recurly", credentials).succeeded_payment(s.PAID_UUID)
    assert (fact.amount, fact.currency, fact.transaction_ref) == (4900, "USD", s.PAID_TRANSACTION)
    assert recurly_api.requests[0].host == "v3.eu.recurly.com"


def test_a_yen_invoice_is_read_in_yen(recurly_api):
    recurly_api.reply(200, s.fixture("transaction_declined", currency="JPY", amount=5000.0))
    recurly_api.reply(200, {**s.invoice(), "currency": "JPY", "total": 5000.0, "balance": 5000.0})
    recurly_api.reply(200, s.account())
    fact = _client().failed_payment(s.FAILED_UUID)
    assert (fact.amount, fact.currency) == (5000, "JPY")


def test_the_api_key_is_never_shown(recurly_api):
    client = _client()
    assert s.API_KEY not in repr(client) and s.API_KEY not in str(vars(client))
    recurly_api.reply(401, {"error": {"type": "unauthorized", "message": "Unauthorized"}})
    with pytest.raises(PlatformUnavailable) as failed:
        client.failed_payment(s.FAILED_UUID)
    assert s.API_KEY not in str(failed.value)
    with pytest.raises(ValueError) as refused:
        RecurlyClient("key with spaces " + s.API_KEY)
    assert s.API_KEY not in str(refused.value)
