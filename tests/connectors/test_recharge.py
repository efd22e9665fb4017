"""The Shopify ReCharge connector end to end: ReCharge's webhooks (``X-Recharge-Hmac-Sha256``) through a
real server, the real worker and scheduler, and the ``recharge-api`` library with only the HTTP layer
of its ``requests`` transport stubbed."""

from __future__ import annotations

import hashlib
import hmac
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

from . import recharge_support as r
from .conftest import advance, charges, count, events, hand_off, messages, post, publish_dunning, recoveries
from .requests_support import RequestsHttp

PATH = "/api/connectors/shopify-recharge/webhook/{}"
FAILED, PAID = "charge/failed", "charge/paid"


@pytest.fixture
def recharge_http(monkeypatch) -> RequestsHttp:
    return RequestsHttp(label="ReCharge").install(monkeypatch)


@pytest.fixture
def merchant(app, receiver):
    with app.app_context():
        issued = onboard(
            name="Acme Coffee", webhook_url=receiver.url, gateway="test", brand_name="Acme Coffee"
        )
        accounts.set_up(db.session.get(Client, issued.client_id), "shopify-recharge", r.CREDENTIALS)
    return issued


def send(server, merchant, raw: bytes, topic: str = FAILED, headers: dict | None = None):
    return post(
        server, PATH.format(merchant.client_id), raw, r.signed(raw, topic) if headers is None else headers
    )


def reads_failure(http: RequestsHttp, method: int = r.OLD_METHOD) -> RequestsHttp:
    """What processing a charge/failed asks ReCharge: the token's scopes, the charge's address."""
    return http.reply(200, r.token_information()).reply(200, r.address(method))


def test_a_failed_charge_is_watched_and_closed_when_recharge_reports_it_paid(
    app, server, merchant, recharge_http, receiver
):
    reads_failure(recharge_http)
    answer = send(server, merchant, r.charge_failed())
    assert answer.status_code == 200 and answer.json() == {"received": True}
    assert recharge_http.requests == []  # the answer came before any work
    run_jobs(app)

    (recovery,) = recoveries(app)
    assert (recovery.source, recovery.source_ref, recovery.source_customer) == (
        "shopify-recharge",
        str(r.CHARGE),
        str(r.CUSTOMER),
    )
    assert recovery.payment_method_token == r.token_of(r.OLD_METHOD)
    assert (recovery.amount, recovery.currency) == (4900, "USD")
    assert recovery.original_decline_code == "customer_needs_to_update_card"
    assert recovery.customer_email == "ada@example.com"
    assert recovery.customer_country == "GB"  # the charge's billing address: the customer's clock
    assert recovery.idempotency_key == f"shopify-recharge:{r.CHARGE}"
    # ReCharge's retries are the store's setting: the hand-off starts off, Revtain charges nothing
    assert recovery.status == "queued" and recovery.strategy_used == "platform_retry" and charges(app) == []
    assert recharge_http.calls() == [("GET", "/token_information"), ("GET", f"/addresses/{r.ADDRESS}")]
    for sent in recharge_http.requests:
        assert sent.host == "api.rechargeapps.com" and sent.headers["X-Recharge-Access-Token"] == r.API_TOKEN
        assert sent.headers["X-Recharge-Version"] == "2021-11" and sent.timeout == (10, 60)

    # ReCharge's own retry goes through: charge/paid closes the recovery (the body says it all)
    send(server, merchant, r.charge_paid(), PAID)
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "succeeded" and recovery.strategy_used == "paid_elsewhere"
    (hook,) = receiver.wait_for(1)
    assert hook.json["event"] == "recovery.success" and hook.json["strategyUsed"] == "paid_elsewhere"
    assert count(app, OrganicSuccess) == 1
    assert [e.outcome for e in events(app)] == ["recovery_queued", "closed_paid_elsewhere"]
    assert json.loads(events(app)[0].body)["charge"]["id"] == r.CHARGE  # kept raw
    assert len(recharge_http.requests) == 2
    recharge_http.assert_done()


def test_with_the_hand_off_revtain_processes_the_charge_through_recharge(
    app, server, merchant, recharge_http, receiver
):
    hand_off(app, merchant.client_id, "shopify-recharge")
    reads_failure(recharge_http)
    recharge_http.reply(200, r.token_information()).reply(200, r.processed())
    send(server, merchant, r.charge_failed())
    run_jobs(app)
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "succeeded" and recovery.gateway_transaction_id == r.STRIPE_CHARGE
    process = recharge_http.requests[-1]
    assert (process.method, process.url) == ("POST", f"{r.API}/charges/{r.CHARGE}/process")
    assert process.headers["X-Recharge-Access-Token"] == r.API_TOKEN
    (hook,) = receiver.wait_for(1)
    assert (
        hook.json["event"] == "recovery.success" and hook.json["gatewayTransactionToken"] == r.STRIPE_CHARGE
    )
    assert hook.json["amount"] == 4900 and hook.json["idempotencyKey"] == f"shopify-recharge:{r.CHARGE}"
    (attempt,) = charges(app)
    assert (attempt.gateway, attempt.outcome) == ("platform:shopify-recharge", "approved")
    recharge_http.assert_done()


def test_a_declined_processing_is_queued_with_recharges_reason(app, server, merchant, recharge_http):
    hand_off(app, merchant.client_id, "shopify-recharge")
    reads_failure(recharge_http)
    recharge_http.reply(200, r.token_information()).reply(200, r.declined())
    send(server, merchant, r.charge_failed())
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "queued" and recovery.last_decline_code == "card_declined"
    (attempt,) = charges(app)
    assert (attempt.outcome, attempt.decline_code) == ("declined", "card_declined")
    recharge_http.assert_done()


def test_a_charge_recharge_will_not_process_is_read_back(app, server, merchant, recharge_http):
    """A 422 (the charge paid meanwhile by an earlier try whose answer was lost): the charge says so."""
    hand_off(app, merchant.client_id, "shopify-recharge")
    reads_failure(recharge_http)
    recharge_http.reply(200, r.token_information()).reply(422, r.unprocessable())
    recharge_http.reply(200, {"charge": r.paid_charge()})
    send(server, merchant, r.charge_failed())
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "succeeded"
    assert recharge_http.calls()[-2:] == [
        ("POST", f"/charges/{r.CHARGE}/process"),
        ("GET", f"/charges/{r.CHARGE}"),
    ]
    recharge_http.assert_done()


def test_the_same_webhook_again_charges_and_emails_once(app, server, merchant, recharge_http, receiver):
    publish_dunning(app, merchant.client_id)
    reads_failure(recharge_http)
    raw = r.charge_failed()
    answers = [send(server, merchant, raw) for _ in range(3)]  # ReCharge's retries of one webhook
    assert [a.json() for a in answers] == [
        {"received": True},
        {"received": True, "duplicate": True},
        {"received": True, "duplicate": True},
    ]
    run_jobs(app)
    # ReCharge's own retry of the charge fails again: a new webhook for the same charge joins it
    reads_failure(recharge_http)
    send(server, merchant, r.charge_failed(charge_attempts=2, updated_at="2026-03-17T04:00:04+00:00"))
    sweep(app)
    assert len(recoveries(app)) == 1 and charges(app) == []
    assert [m.status for m in messages(app)] == ["sent"]
    assert [e.outcome for e in events(app)] == ["recovery_queued", "duplicate_invoice"]
    recharge_http.assert_done()


def test_success_before_failure_starts_nothing(app, server, merchant, recharge_http, receiver):
    publish_dunning(app, merchant.client_id)
    send(server, merchant, r.charge_paid(), PAID)
    run_jobs(app)
    reads_failure(recharge_http)
    send(server, merchant, r.charge_failed())  # the failure, delivered late
    run_jobs(app)
    assert recoveries(app) == [] and charges(app) == [] and messages(app) == []
    assert [e.outcome for e in events(app)] == ["organic_success", "already_paid"]
    assert count(app, OrganicSuccess) == 1 and receiver.requests == []
    recharge_http.assert_done()


def test_a_card_update_that_overtook_the_failure_is_the_card_charged(app, server, merchant, recharge_http):
    hand_off(app, merchant.client_id, "shopify-recharge")
    recharge_http.reply(200, r.token_information()).reply(200, r.fixture("payment_methods"))
    send(server, merchant, r.payment_method_updated(), "customer/payment_method_updated")
    run_jobs(app)
    # the failure (12:00:02) arrives after the card update (12:10): the new card is the one charged
    reads_failure(recharge_http)
    recharge_http.reply(200, r.token_information()).reply(200, r.processed())
    send(server, merchant, r.charge_failed())
    run_jobs(app)
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "succeeded" and recovery.payment_method_token == r.token_of(r.NEW_METHOD)
    assert [e.outcome for e in events(app)] == ["no_open_recovery", "recovery_recovered"]
    methods = recharge_http.requests[1]
    assert (methods.path, methods.query) == ("/payment_methods", {"customer_id": str(r.CUSTOMER)})
    recharge_http.assert_done()


def test_a_card_changed_later_retries_the_open_recovery_and_fires_card_updated(
    app, server, merchant, recharge_http, receiver
):
    hand_off(app, merchant.client_id, "shopify-recharge")
    reads_failure(recharge_http)
    recharge_http.reply(200, r.token_information()).reply(200, r.declined())
    send(server, merchant, r.charge_failed())
    run_jobs(app)
    assert recoveries(app)[0].status == "queued"
    recharge_http.reply(200, r.token_information()).reply(200, r.fixture("payment_methods"))
    recharge_http.reply(200, r.token_information()).reply(200, r.processed())
    send(
        server,
        merchant,
        r.payment_method_updated("2026-03-16T12:20:00+00:00"),
        "customer/payment_method_updated",
    )
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "succeeded" and recovery.payment_method_token == r.token_of(r.NEW_METHOD)
    updated, success = sorted((h.json for h in receiver.wait_for(2)), key=lambda j: j["event"])
    assert updated["event"] == "card.updated"
    assert updated["oldPaymentMethodToken"] == r.token_of(r.OLD_METHOD)
    assert updated["newPaymentMethodToken"] == r.token_of(r.NEW_METHOD)
    assert success["event"] == "recovery.success" and success["trigger"] == "card_updated"
    assert [e.outcome for e in events(app)] == ["recovery_queued", "retried_recovered"]
    recharge_http.assert_done()


def test_failure_count_exceeded_recovers_the_subscriptions_failed_charge(
    app, server, merchant, recharge_http
):
    recharge_http.reply(200, r.token_information()).reply(200, r.charges(r.charge(charge_attempts=7)))
    recharge_http.reply(200, r.address())
    send(server, merchant, r.failure_count_exceeded(), "subscription/payment_failure_count_exceeded")
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert (recovery.source_ref, recovery.amount, recovery.status) == (str(r.CHARGE), 4900, "queued")
    listed = recharge_http.requests[1]
    assert listed.path == "/charges"
    assert listed.query == {"purchase_item_id": str(r.SUBSCRIPTION), "status": "error", "sort_by": "id-desc"}
    recharge_http.assert_done()


def test_a_lost_answer_is_reconciled_from_the_charge_never_by_processing_again(
    app, server, merchant, recharge_http
):
    hand_off(app, merchant.client_id, "shopify-recharge")
    reads_failure(recharge_http)
    recharge_http.reply(200, r.token_information()).fail(requests.ReadTimeout("read timed out"))
    send(server, merchant, r.charge_failed())
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "unknown" and charges(app)[0].outcome == "unknown"

    recharge_http.reply(200, r.token_information()).reply(200, {"charge": r.paid_charge()})
    advance(app, seconds=61)
    sweep(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "succeeded" and recovery.gateway_transaction_id == r.STRIPE_CHARGE
    assert recharge_http.calls()[-1] == ("GET", f"/charges/{r.CHARGE}")
    assert recharge_http.calls().count(("POST", f"/charges/{r.CHARGE}/process")) == 1
    recharge_http.assert_done()


def test_a_paid_charge_resent_under_the_failed_topic_starts_nothing(app, server, merchant, recharge_http):
    """The topic header is outside the hash: the body's own status decides."""
    send(server, merchant, r.charge_paid(), FAILED)
    run_jobs(app)
    assert recoveries(app) == []
    assert (events(app)[0].status, events(app)[0].outcome) == ("ignored", "the charge is success, not failed")
    assert recharge_http.requests == []  # nothing was read: the body shows the charge paid


def _hmac_instead(raw: bytes) -> str:
    return hmac.new(r.CLIENT_SECRET.encode(), raw, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    "why",
    ["wrong secret", "missing", "an HMAC, not ReCharge's hash", "body altered", "secret after the body"],
)
def test_a_wrong_or_missing_signature_is_401_and_stores_nothing(app, server, merchant, recharge_http, why):
    raw = r.charge_failed()
    headers = r.signed(raw, FAILED)
    if why == "wrong secret":
        headers = r.signed(raw, FAILED, secret="rcsec_someone_elses_secret_00")
    elif why == "missing":
        del headers["X-Recharge-Hmac-Sha256"]
    elif why == "an HMAC, not ReCharge's hash":
        headers["X-Recharge-Hmac-Sha256"] = _hmac_instead(raw)
    elif why == "body altered":
        raw = raw.replace(b'"49.00"', b'"0.49"')
    else:
        headers["X-Recharge-Hmac-Sha256"] = hashlib.sha256(raw + r.CLIENT_SECRET.encode()).hexdigest()
    answer = send(server, merchant, raw, headers=headers)
    assert answer.status_code == 401, why
    assert answer.json()["error"] == "Unauthorized" and r.CLIENT_SECRET not in answer.text
    assert count(app, ConnectorEvent) == 0 and count(app, Recovery) == 0
    assert recharge_http.requests == []


def test_unknown_clients_and_connectors_not_set_up_are_404(app, server, merchant, receiver):
    with app.app_context():
        other = onboard(name="Other Inc", webhook_url=receiver.url, gateway="test")
    raw = r.charge_failed()
    answer = post(server, PATH.format("00000000-0000-4000-8000-000000000000"), raw, r.signed(raw, FAILED))
    assert answer.status_code == 404 and answer.json() == {"error": "Client not found."}
    answer = post(server, PATH.format(other.client_id), raw, r.signed(raw, FAILED))
    assert answer.status_code == 404 and answer.json() == {"error": "Connector not found."}
    assert count(app, ConnectorEvent) == 0


@pytest.mark.parametrize(
    ("raw", "topic", "why"),
    [
        (b"charge[id]=786943502", FAILED, "form-encoded, not JSON"),
        (b"\xff\xfe{}", FAILED, "not UTF-8"),
        (b'{"customer": {"id": 94016128}}', FAILED, "a customer under a charge topic"),
        (b'{"charge": {"status": "error"}}', FAILED, "no charge id"),
        (r.charge_failed(), "", "no topic"),
        (r.charge_failed(), "charge failed!", "not a topic"),
    ],
)
def test_a_signed_body_that_is_not_a_recharge_webhook_is_400(app, server, merchant, raw, topic, why):
    headers = r.signed(raw, topic)
    if not topic:
        del headers["X-Recharge-Topic"]
    answer = send(server, merchant, raw, headers=headers)
    assert answer.status_code == 400, why
    assert answer.json()["error"] == "Validation failed."
    assert count(app, ConnectorEvent) == 0


def test_other_topics_are_acknowledged_and_ignored(app, server, merchant, recharge_http):
    answer = send(server, merchant, r.failure_count_exceeded(), "subscription/updated")
    assert answer.status_code == 200 and answer.json() == {"received": True, "ignored": True}
    (stored,) = events(app)
    assert stored.status == "ignored"
    run_jobs(app)
    assert recharge_http.requests == []


def test_an_unreachable_recharge_is_tried_again_later(app, server, merchant, recharge_http):
    recharge_http.fail(requests.ConnectionError("connection refused"))
    send(server, merchant, r.charge_failed())
    run_jobs(app)
    (stored,) = events(app)
    assert stored.status == "received" and "ReCharge" in stored.error and recoveries(app) == []
    assert r.API_TOKEN not in stored.error

    recharge_http.reply(200, r.token_information()).reply(503, b"<html>Service Unavailable</html>")
    advance(app, seconds=31)
    sweep(app)
    assert events(app)[0].status == "received" and "HTTP 503" in events(app)[0].error

    reads_failure(recharge_http)
    advance(app, seconds=121)
    sweep(app)
    assert events(app)[0].status == "processed" and len(recoveries(app)) == 1
    recharge_http.assert_done()


def test_a_token_without_the_scope_fails_the_event_with_a_reason(app, server, merchant, recharge_http):
    scopes = r.token_information()
    scopes["token_information"]["scopes"] = ["read_orders"]
    recharge_http.reply(200, scopes)
    send(server, merchant, r.charge_failed())
    run_jobs(app)
    (stored,) = events(app)
    assert stored.status == "failed" and "read_customers" in stored.error
    recharge_http.assert_done()


def test_set_up_checks_the_credentials_and_the_client_never_shows_them(app, merchant):
    with app.app_context():
        client = db.session.get(Client, merchant.client_id)
        for bad, why in [
            ({"api_token": "short"}, "token"),
            ({"client_secret": "x y"}, "secret"),
            ({"client_secret": ""}, "no secret"),
        ]:
            with pytest.raises(ConnectorSetupError):
                accounts.set_up(client, "shopify-recharge", {**r.CREDENTIALS, **bad})
            assert why
        account = accounts.set_up(client, "shopify-recharge", r.CREDENTIALS)
        stored = accounts.credentials_of(account)
        assert (
            r.API_TOKEN not in account.credentials_encrypted
            and r.CLIENT_SECRET not in account.credentials_encrypted
        )
        platform = for_platform("shopify-recharge", json.dumps(stored))
        assert r.API_TOKEN not in repr(platform)
        setup = accounts.instructions(client.id, "shopify-recharge")
        assert setup.url.endswith(f"/api/connectors/shopify-recharge/webhook/{client.id}")
        assert "charge/failed" in setup.setup and "subscription/payment_failure_count_exceeded" in setup.setup
        assert account.stop_platform_retries is False and "Do nothing" in setup.hand_off_by_setting
