"""Confirm this payment (3-D Secure) on the Revtain Test Gateway: an ``authentication_required``
decline is blocked for the merchant's retries; the card-update link asks the customer to confirm
the payment through the test bank's challenge, which settles the recovery."""

from __future__ import annotations

import re

import pytest

from revtain.cardupdate.authentication import STRATEGY, TEST_CHALLENGE_CODE
from revtain.onboarding import onboard
from tests.support.card_update import csrf_of, generate, page_path, publish_dunning, recovery_row
from tests.support.jobs import run_jobs

START = "2026-03-16T12:00:00+00:00"


@pytest.fixture
def app(make_app):
    return make_app(FROZEN_NOW=START)


@pytest.fixture
def merchant(app, receiver):
    with app.app_context():
        issued = onboard(name="Acme Inc", webhook_url=receiver.url, brand_name="Acme Cloud")
    publish_dunning(app, issued.client_id)
    return issued


def blocked_for_authentication(client, headers, **body) -> str:
    r = client.post("/api/recovery/execute", headers=headers, json={
        "paymentMethodToken": "pm_needs_3ds", "amount": 4900, "currency": "EUR",
        "originalDeclineCode": "authentication_required", "customerEmail": "jo@example.com",
        "description": "Pro plan, March 2026", **body})
    assert r.status_code == 403 and r.get_json()["declineCode"] == "authentication_required", r.get_data()
    return r.get_json()["transactionId"]


def confirm_path(link) -> str:
    return page_path(link) + "/confirm"


def test_the_customer_confirms_the_payment_and_the_recovery_succeeds(app, client, headers, receiver):
    tx = blocked_for_authentication(client, headers)
    link = generate(client, headers, "pm_needs_3ds")

    intro = client.get(page_path(link))
    html = intro.get_data(as_text=True)
    assert intro.status_code == 200 and "<h1>Confirm your payment</h1>" in html
    assert "€49.00" in html and "Pro plan, March 2026" in html and "3-D Secure" in html
    assert f'action="{confirm_path(link)}"' in html
    assert f'href="{page_path(link)}?card=1"' in html  # another card instead
    assert "script-src" not in intro.headers["Content-Security-Policy"]  # no script at all

    challenge = client.post(confirm_path(link), data={"csrf": csrf_of(html), "step": "start"})
    page = challenge.get_data(as_text=True)
    assert challenge.status_code == 200 and "Revtain Test Bank" in page
    assert 'autocomplete="one-time-code"' in page and "Acme Cloud" in page

    wrong = client.post(confirm_path(link),
                        data={"csrf": csrf_of(page), "step": "challenge", "code": "000000"})
    wrong_html = wrong.get_data(as_text=True)
    assert wrong.status_code == 400 and "That code isn&#39;t right" in wrong_html
    assert re.search(r'id="code"[^>]*value="000000"', wrong_html)  # what was typed stays
    assert recovery_row(app, tx).status == "awaiting_card"

    done = client.post(confirm_path(link), data={
        "csrf": csrf_of(page), "step": "challenge", "code": TEST_CHALLENGE_CODE})
    receipt = done.get_data(as_text=True)
    assert done.status_code == 200 and "Payment received" in receipt and "€49.00" in receipt
    assert "Pro plan, March 2026" in receipt and "rtg_3ds_" in receipt

    recovery = recovery_row(app, tx)
    assert recovery.status == "succeeded" and recovery.gateway_transaction_id.startswith("rtg_3ds_")
    status = client.get(f"/api/recovery/status/{tx}", headers=headers).get_json()
    assert status["status"] == "succeeded" and status["recovered"] is True
    run_jobs(app)
    (success,) = [h.json for h in receiver.wait_for(2) if h.json["event"] == "recovery.success"]
    assert success["revtainTransactionId"] == tx and success["trigger"] == STRATEGY
    assert success["gatewayTransactionToken"] == recovery.gateway_transaction_id

    # the link is used up: the page and a replayed confirmation say so
    assert client.get(page_path(link)).status_code == 410
    replay = client.post(confirm_path(link), data={
        "csrf": csrf_of(page), "step": "challenge", "code": TEST_CHALLENGE_CODE})
    assert replay.status_code == 410


def test_cancelling_the_challenge_makes_no_payment(app, client, headers):
    tx = blocked_for_authentication(client, headers, customerLocale="es")
    link = generate(client, headers, "pm_needs_3ds")
    html = client.get(page_path(link)).get_data(as_text=True)
    assert "<h1>Confirma tu pago</h1>" in html and "49,00\u00a0€" in html
    r = client.post(confirm_path(link), data={"csrf": csrf_of(html), "step": "cancel"})
    assert r.status_code == 200 and "Has cancelado la confirmación" in r.get_data(as_text=True)
    assert recovery_row(app, tx).status == "awaiting_card"
    assert client.get(page_path(link)).status_code == 200  # the link still works


@pytest.mark.parametrize("data, status", [
    ({"step": "start"}, 400),  # no CSRF token
    ({"step": "jump", "csrf": None}, 400),
])
def test_a_bad_confirmation_post_is_a_400(client, headers, data, status):
    blocked_for_authentication(client, headers)
    link = generate(client, headers, "pm_needs_3ds")
    html = client.get(page_path(link)).get_data(as_text=True)
    form = {k: (csrf_of(html) if v is None else v) for k, v in data.items()}
    assert client.post(confirm_path(link), data=form).status_code == status


def test_a_recovery_that_needs_a_new_card_has_no_confirmation_page(client, headers):
    r = client.post("/api/recovery/execute", headers=headers, json={
        "paymentMethodToken": "pm_old_card", "amount": 4900, "originalDeclineCode": "expired_card"})
    assert r.status_code == 202
    link = generate(client, headers, "pm_old_card")
    assert client.get(confirm_path(link)).status_code == 404
    assert "<h1>Update your payment method</h1>" in client.get(page_path(link)).get_data(as_text=True)
