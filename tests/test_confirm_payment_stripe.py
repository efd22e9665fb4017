"""Confirm this payment (3-D Secure) for a Stripe client: the page makes a PaymentIntent for the
recovery that Stripe.js confirms in the browser (running the issuer's challenge); the server
settles only when Stripe says that PaymentIntent succeeded. The real ``stripe`` library runs; only
its HTTP layer is stubbed (Stripe.js cannot run here: there is no network)."""

from __future__ import annotations

import pytest
import stripe

from revtain.cardupdate.authentication import STRATEGY
from tests.gateways.stubs import StripeSession, stripe_intent
from tests.support.card_update import (
    DOMAIN,
    csp_of,
    csrf_of,
    generate,
    link_row,
    page_path,
    recovery_row,
    script_nonces,
)
from tests.support.jobs import run_jobs
from tests.test_card_update_stripe import CUSTOMER, OLD_TOKEN, PUBLISHABLE_KEY, onboard_stripe

START = "2026-03-16T12:00:00+00:00"
HOST = {"Host": DOMAIN}
PI = "pi_3RtQCdLkdIwHu7ix3DsConfirm"
PM = OLD_TOKEN.split("|")[0]


@pytest.fixture
def app(make_app):
    return make_app(FROZEN_NOW=START)


@pytest.fixture
def stripe_http(monkeypatch):
    session = StripeSession()
    real = stripe.RequestsClient
    monkeypatch.setattr(stripe, "RequestsClient",
                        lambda timeout=None, **kw: real(session=session, timeout=timeout))
    yield session
    session.assert_done()


@pytest.fixture
def merchant(app, runner, receiver):
    return onboard_stripe(app, runner, receiver, publishable_key=PUBLISHABLE_KEY)


@pytest.fixture
def headers(merchant):
    return {"X-API-KEY": merchant.api_key}


def intent(tx: str, **fields) -> dict:
    """The PaymentIntent the page makes for recovery ``tx`` (€49.00)."""
    return stripe_intent(**{
        "id": PI, "amount": 4900, "currency": "eur", "customer": CUSTOMER, "payment_method": PM,
        "client_secret": f"{PI}_secret_fixtureOnlyNotARealSecret",
        "metadata": {"revtain_attempt": f"{tx}:authenticated"}, **fields})


def blocked(client, headers) -> str:
    r = client.post("/api/recovery/execute", headers=headers, json={
        "paymentMethodToken": OLD_TOKEN, "amount": 4900, "currency": "EUR",
        "originalDeclineCode": "authentication_required", "customerEmail": "jo@example.com"})
    assert r.status_code == 403, r.get_data()
    return r.get_json()["transactionId"]


def test_stripe_js_confirms_a_payment_intent_made_for_the_recovery(app, client, headers, stripe_http,
                                                                   receiver):
    tx = blocked(client, headers)
    link = generate(client, headers, OLD_TOKEN)
    link_id = link_row(app, link).id
    stripe_http.reply(200, intent(tx, status="requires_confirmation", latest_charge=None))
    r = client.get(page_path(link), headers=HOST)
    html = r.get_data(as_text=True)
    assert r.status_code == 200, html

    (sent,) = stripe_http.requests
    assert (sent.method, sent.path) == ("POST", "/v1/payment_intents")
    assert sent.form == {
        "amount": "4900", "currency": "eur", "payment_method": PM, "customer": CUSTOMER,
        "payment_method_types[0]": "card", "metadata[revtain_attempt]": f"{tx}:authenticated",
    }
    assert "confirm" not in sent.form  # the browser confirms it, with the customer present
    assert sent.headers["Idempotency-Key"] == f"revtain-confirm-{link_id}"
    assert "<h1>Confirm your payment</h1>" in html and "€49.00" in html
    assert f'data-client-secret="{PI}_secret_fixtureOnlyNotARealSecret"' in html
    assert f'data-payment-method="{PM}"' in html and f'data-publishable-key="{PUBLISHABLE_KEY}"' in html
    csp = csp_of(r)
    assert "https://js.stripe.com" in csp["script-src"] and "https://hooks.stripe.com" in csp["frame-src"]
    (nonce,) = script_nonces(html)
    assert f"'nonce-{nonce}'" in csp["script-src"]

    # the browser posts the PaymentIntent Stripe.js confirmed; Stripe says it succeeded
    stripe_http.reply(200, intent(tx, status="succeeded"))
    done = client.post(page_path(link), headers=HOST, data={"csrf": csrf_of(html), "payment_intent": PI})
    receipt = done.get_data(as_text=True)
    assert done.status_code == 200 and "Payment received" in receipt and PI in receipt
    retrieve = stripe_http.requests[1]
    assert (retrieve.method, retrieve.path) == ("GET", f"/v1/payment_intents/{PI}")

    recovery = recovery_row(app, tx)
    assert (recovery.status, recovery.gateway_transaction_id) == ("succeeded", PI)
    run_jobs(app)
    events = {h.json["event"]: h.json for h in receiver.wait_for(2)}
    assert events["recovery.success"]["trigger"] == STRATEGY
    assert events["recovery.success"]["gatewayTransactionToken"] == PI
    assert client.get(page_path(link), headers=HOST).status_code == 410


@pytest.mark.parametrize("posted, answer", [
    (PI, {"status": "requires_action"}),  # the challenge was not completed
    (PI, {"status": "succeeded", "metadata": {"revtain_attempt": "someone-else:authenticated"}}),
    (PI, {"status": "succeeded", "amount": 100}),
    ("pi_not valid", None),  # never sent to Stripe
])
def test_a_payment_intent_that_is_not_this_recoverys_success_settles_nothing(
    app, client, headers, stripe_http, posted, answer,
):
    tx = blocked(client, headers)
    link = generate(client, headers, OLD_TOKEN)
    stripe_http.reply(200, intent(tx, status="requires_confirmation"))
    html = client.get(page_path(link), headers=HOST).get_data(as_text=True)
    if answer is not None:
        stripe_http.reply(200, intent(tx, **answer))
    stripe_http.reply(200, intent(tx, status="requires_confirmation"))  # the page again
    r = client.post(page_path(link), headers=HOST, data={"csrf": csrf_of(html), "payment_intent": posted})
    assert r.status_code == 400 and "wasn&#39;t confirmed" in r.get_data(as_text=True)
    assert recovery_row(app, tx).status == "awaiting_card"
    assert link_row(app, link).used_at is None  # the customer may try again
