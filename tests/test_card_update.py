"""Card-update links and the branded page on the merchant's domain (contract 3.5-3.6)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import text

from revtain.extensions import db
from revtain.onboarding import onboard
from tests.support.jobs import run_jobs

START = "2026-03-16T12:00:00+00:00"
DOMAIN = "pay.acme.example"


@pytest.fixture
def app(make_app):
    return make_app(FROZEN_NOW=START)


@pytest.fixture
def merchant(app, receiver):
    with app.app_context():
        return onboard(name="Acme Inc", webhook_url=receiver.url, card_update_domain=DOMAIN,
                       brand_name="Acme Cloud", brand_primary_color="#0f766e",
                       brand_logo_url="https://acme.example/logo.png")


@pytest.fixture
def verified(app, runner, merchant):
    result = runner.invoke(args=["domains", "verify", merchant.client_id, "--force"])
    assert result.exit_code == 0, result.output
    return merchant


def generate(client, headers, token="pm_old_card"):
    r = client.post("/api/recovery/update-card/generate", json={"paymentMethodToken": token},
                    headers=headers)
    assert r.status_code == 201, r.get_data()
    return r.get_json()


def page_path(link) -> str:
    return f"/api/recovery/update-card/{link['token']}"


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)


def test_generate_answers_201_with_a_72_hour_link_on_the_main_host(client, headers):
    link = generate(client, headers)
    assert list(link) == ["url", "token", "expiresAt"]
    assert len(link["token"]) >= 32
    assert link["url"] == f"http://revtain.test/api/recovery/update-card/{link['token']}"
    assert link["expiresAt"] == "2026-03-19T12:00:00.000Z"


def test_links_use_the_verified_card_update_domain(client, headers, verified):
    link = generate(client, headers)
    assert link["url"] == f"https://{DOMAIN}/api/recovery/update-card/{link['token']}"


def test_the_page_is_branded_and_locked_down(client, headers, verified):
    link = generate(client, headers)
    r = client.get(page_path(link), headers={"Host": DOMAIN})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Acme Cloud" in html and "--brand: #0f766e" in html
    assert 'src="https://acme.example/logo.png"' in html
    assert 'autocomplete="cc-number"' in html and 'for="number"' in html
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    # the only script is our own static file, allowed by the response's nonce (no inline, no hosts)
    (script_src,) = [d for d in csp.split("; ") if d.startswith("script-src")]
    nonce = re.fullmatch(r"script-src 'nonce-([A-Za-z0-9_-]+)'", script_src).group(1)
    assert re.findall(r"<script[^>]*>", html) == [
        f'<script src="/static/cardupdate/card-page.js" nonce="{nonce}" defer>']
    assert r.headers["Referrer-Policy"] == "no-referrer" and r.headers["Cache-Control"] == "no-store"
    assert "Revtain" not in html  # white-labelled


@pytest.mark.parametrize("host", ["evil.example", "pay.other.example"])
def test_other_hosts_get_a_404(client, headers, verified, host):
    link = generate(client, headers)
    assert client.get(page_path(link), headers={"Host": host}).status_code == 404


def test_an_unverified_domain_is_not_served(client, headers, merchant):
    link = generate(client, headers)
    assert client.get(page_path(link), headers={"Host": DOMAIN}).status_code == 404
    assert client.get(page_path(link), headers={"Host": "revtain.test"}).status_code == 200


def test_another_clients_domain_does_not_serve_this_clients_links(app, client, headers, verified,
                                                                    receiver):
    with app.app_context():
        other = onboard(name="Other", webhook_url=receiver.url, card_update_domain="pay.other.example")
    from revtain.cardupdate.domains import verify
    from revtain.models import Client

    with app.app_context():
        verify(db.session.get(Client, other.client_id), force=True)
    link = generate(client, headers)
    assert client.get(page_path(link), headers={"Host": "pay.other.example"}).status_code == 404


def test_customer_updates_the_card_and_the_open_recovery_is_retried_at_once(
    app, client, headers, verified, receiver
):
    queued = client.post("/api/recovery/execute", headers=headers, json={
        "paymentMethodToken": "pm_old_card", "amount": 4900, "originalDeclineCode": "expired_card",
        "customerEmail": "jo@example.com"}).get_json()
    assert queued["status"] == "queued"
    link = generate(client, headers)
    form = client.get(page_path(link), headers={"Host": DOMAIN}).get_data(as_text=True)
    r = client.post(page_path(link), headers={"Host": DOMAIN}, data={
        "csrf": csrf_of(form), "number": "4111 1111 1111 1111", "expiry": "12/30", "cvc": "123"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Visa •••• 1111" in html and "went through" in html and "$49.00" in html

    run_jobs(app)
    updated, success = receiver.wait_for_each("card.updated", "recovery.success")
    assert updated.json["event"] == "card.updated"
    assert updated.json["oldPaymentMethodToken"] == "pm_old_card"
    assert updated.json["newPaymentMethodToken"].startswith("tok_test_")
    assert updated.json["customerEmail"] == "jo@example.com"
    assert success.json["event"] == "recovery.success" and success.json["trigger"] == "card_updated"
    status = client.get(f"/api/recovery/status/{queued['transactionId']}", headers=headers).get_json()
    assert status["status"] == "succeeded"

    # single use: the page and a replayed post both get a friendly 410
    assert client.get(page_path(link), headers={"Host": DOMAIN}).status_code == 410
    replay = client.post(page_path(link), headers={"Host": DOMAIN}, data={
        "csrf": csrf_of(form), "number": "4111 1111 1111 1111", "expiry": "12/30", "cvc": "123"})
    assert replay.status_code == 410 and "already been used" in replay.get_data(as_text=True)
    with app.app_context():
        dump = " ".join(str(r) for t in ("card_update_links", "recoveries", "attempts", "webhook_events")
                        for r in db.session.execute(text(f"SELECT * FROM {t}")).all())
    assert "4111111111111111" not in dump and "4111 1111" not in dump  # never stored


def test_an_expired_link_is_410(app, client, headers):
    link = generate(client, headers)
    app.extensions["revtain.clock"].advance(timedelta(hours=72, seconds=1))
    r = client.get(page_path(link))
    assert r.status_code == 410 and "expired" in r.get_data(as_text=True)


@pytest.mark.parametrize(
    ("number", "expiry", "cvc", "message"),
    [("4111 1111 1111 1112", "12/30", "123", "doesn&#39;t look right"),
     ("4242 4242 4242 4242", "12/30", "123", "use one of the test cards"),
     ("4111 1111 1111 1111", "01/26", "123", "expired"),
     ("4111 1111 1111 1111", "13/30", "123", "MM/YY"),
     ("3782 822463 10005", "12/30", "123", "security code")],
)
def test_bad_card_input_is_explained_and_the_link_stays_usable(client, headers, number, expiry, cvc,
                                                                message):
    link = generate(client, headers)
    form = client.get(page_path(link)).get_data(as_text=True)
    r = client.post(page_path(link), data={"csrf": csrf_of(form), "number": number, "expiry": expiry,
                                           "cvc": cvc})
    assert r.status_code == 400 and message in r.get_data(as_text=True)
    assert client.get(page_path(link)).status_code == 200


def test_a_post_without_the_form_token_changes_nothing(client, headers):
    link = generate(client, headers)
    r = client.post(page_path(link), data={"number": "4111111111111111", "expiry": "12/30", "cvc": "1"})
    assert r.status_code == 400
    assert client.get(page_path(link)).status_code == 200


def test_unknown_tokens_are_404(client):
    assert client.get("/api/recovery/update-card/" + "x" * 43).status_code == 404


def test_domain_verification_checks_dns(runner, merchant):
    result = runner.invoke(args=["domains", "verify", merchant.client_id])
    assert result.exit_code != 0 and "CNAME" in result.output


def test_a_new_card_recharges_every_open_recovery_of_the_customer(app, client, headers, verified, receiver):
    """Issue 10: the expired card waits for a new one; the new card pays it and the customer's other
    open recovery (queued on another card) at once. The page's own charge is customer-initiated."""
    from sqlalchemy import select

    from revtain.models import Attempt

    def report(token, code, amount):
        return client.post("/api/recovery/execute", headers=headers, json={
            "paymentMethodToken": token, "amount": amount, "originalDeclineCode": code,
            "customerEmail": "jo@example.com"}).get_json()

    waiting = report("pm_old_card", "expired_card", 4900)
    queued = report("test_decline_insufficient_funds", "insufficient_funds", 1500)
    assert waiting["recoveryState"] == "awaiting_card" and queued["recoveryState"] == "queued"
    link = generate(client, headers)
    form = client.get(page_path(link), headers={"Host": DOMAIN}).get_data(as_text=True)
    r = client.post(page_path(link), headers={"Host": DOMAIN}, data={
        "csrf": csrf_of(form), "number": "4111 1111 1111 1111", "expiry": "12/30", "cvc": "123"})
    assert r.status_code == 200 and "went through" in r.get_data(as_text=True)
    for tx in (waiting["transactionId"], queued["transactionId"]):
        status = client.get(f"/api/recovery/status/{tx}", headers=headers).get_json()
        assert status["status"] == "succeeded" and status["recoveryState"] == "succeeded"
    with app.app_context():
        charges = db.session.execute(select(Attempt).order_by(Attempt.created_at, Attempt.id)).scalars().all()
        by_recovery = {a.recovery_id: a for a in charges if a.outcome == "approved"}
        assert by_recovery[waiting["transactionId"]].initiator == "customer"
        assert by_recovery[queued["transactionId"]].payment_method_token.startswith("tok_test_")
        assert all(a.payment_method_token != "pm_old_card" for a in charges)  # the expired card: never
